-- The confirmation queue's tiers, found in order whatever the query planner guesses.
--
-- A tier query says `confirmation = ?` and orders by the tier's key. Without ANALYZE
-- statistics SQLite guesses that an equality on any index leading with `confirmation`
-- (orders_status_cash, orders_by_confirmation) finds a handful of rows, takes it and sorts
-- the whole tier: 190 ms for the no-answer tier at a million orders (benchmarks/bench_core.py).
-- These lead with that equality, then the tier's order, so the first 50 are read in order
-- with or without statistics: 0.1 to 0.5 ms. They supersede the six queue_* indexes of 0001.
CREATE INDEX queue_tier_callbacks ON orders (confirmation, callback_at, id)
    WHERE confirmation = 'call_later';
CREATE INDEX queue_tier_new ON orders (confirmation, created_at, id)
    WHERE confirmation = 'new';
CREATE INDEX queue_tier_no_answer ON orders (confirmation, attempts, last_attempt_at, id)
    WHERE confirmation = 'no_answer';
CREATE INDEX queue_tier_callbacks_mine ON orders (confirmation, assigned_to, callback_at, id)
    WHERE confirmation = 'call_later';
CREATE INDEX queue_tier_new_mine ON orders (confirmation, assigned_to, created_at, id)
    WHERE confirmation = 'new';
CREATE INDEX queue_tier_no_answer_mine
    ON orders (confirmation, assigned_to, attempts, last_attempt_at, id)
    WHERE confirmation = 'no_answer';
