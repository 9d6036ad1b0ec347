-- The six queue_* indexes of 0001 are superseded by the queue_tier_* ones of 0004, which
-- lead with the same `confirmation = ?` equality. Each was still filled on every write of an
-- open order and checked on every insert (a seed of a million orders evaluated its WHERE
-- clause six million times for nothing).
DROP INDEX IF EXISTS queue_callbacks;
DROP INDEX IF EXISTS queue_new;
DROP INDEX IF EXISTS queue_no_answer;
DROP INDEX IF EXISTS queue_callbacks_mine;
DROP INDEX IF EXISTS queue_new_mine;
DROP INDEX IF EXISTS queue_no_answer_mine;
