-- The system of record. Times are UTC ISO 8601 text ("2026-11-28T10:06:19Z"), money is
-- integer cents. Portable SQL where it costs nothing (the PostgreSQL step of DESIGN §3).

CREATE TABLE agents (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  TEXT NOT NULL
);

CREATE TABLE products (
    id           INTEGER PRIMARY KEY,
    sku          TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    price_cents  INTEGER NOT NULL DEFAULT 0 CHECK (price_cents >= 0),
    -- Cache of SUM(stock_movements.delta), kept in the same transaction as every movement.
    on_hand      INTEGER NOT NULL DEFAULT 0,
    low          INTEGER NOT NULL DEFAULT 0 CHECK (low >= 0),
    created_at   TEXT NOT NULL
);

CREATE TABLE orders (
    id                INTEGER PRIMARY KEY,
    ref               TEXT NOT NULL,
    source            TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    customer          TEXT NOT NULL,
    phone             TEXT NOT NULL,
    city              TEXT NOT NULL,
    address           TEXT NOT NULL,
    delivery          TEXT NOT NULL,
    note              TEXT,
    confirmation      TEXT NOT NULL DEFAULT 'new' CHECK (confirmation IN
                        ('new', 'no_answer', 'call_later', 'canceled', 'fake', 'confirmed')),
    shipping          TEXT CHECK (shipping IN ('created', 'fulfilled', 'shipped', 'package_issue',
                        'delivered', 'canceled', 'in_return', 'returned')),
    tracking          TEXT,
    sync              TEXT CHECK (sync IN ('pending', 'synced', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_attempt_at   TEXT,
    callback_at       TEXT,
    assigned_to       TEXT REFERENCES agents (name),
    claimed_by        TEXT,
    claim_expires_at  TEXT,
    duplicate_of      TEXT,
    total_cents       INTEGER NOT NULL DEFAULT 0,
    version           INTEGER NOT NULL DEFAULT 1,
    updated_at        TEXT NOT NULL,
    last_carrier_event_at TEXT,
    UNIQUE (source, ref),
    -- DESIGN §1: the shipping status is locked (NULL) until the order is confirmed.
    CHECK ((confirmation = 'confirmed') = (shipping IS NOT NULL)),
    CHECK (confirmation <> 'call_later' OR callback_at IS NOT NULL)
);

CREATE TABLE order_items (
    order_id     INTEGER NOT NULL REFERENCES orders (id),
    line         INTEGER NOT NULL,
    product_id   INTEGER NOT NULL REFERENCES products (id),
    qty          INTEGER NOT NULL CHECK (qty >= 1),
    price_cents  INTEGER NOT NULL CHECK (price_cents >= 0),
    PRIMARY KEY (order_id, line)
);

CREATE TABLE status_events (
    id                INTEGER PRIMARY KEY,
    order_id          INTEGER NOT NULL REFERENCES orders (id),
    kind              TEXT NOT NULL CHECK (kind IN ('confirmation', 'shipping')),
    from_status       TEXT,
    to_status         TEXT NOT NULL,
    actor             TEXT NOT NULL,
    source            TEXT NOT NULL CHECK (source IN ('manual', 'carrier', 'auto', 'forced')),
    note              TEXT,
    carrier_event_id  TEXT,
    -- A carrier event that the rules refused: recorded for the timeline, changed nothing.
    ignored           INTEGER NOT NULL DEFAULT 0 CHECK (ignored IN (0, 1)),
    at                TEXT NOT NULL
);

CREATE TABLE stock_movements (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL REFERENCES products (id),
    delta       INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('confirmed', 'returned', 'restock', 'adjust')),
    order_id    INTEGER REFERENCES orders (id),
    actor       TEXT NOT NULL,
    note        TEXT,
    at          TEXT NOT NULL
);

-- Parcel creation jobs, written in the confirming transaction and drained by the worker.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    order_id         INTEGER NOT NULL UNIQUE REFERENCES orders (id),
    carrier          TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    done_at          TEXT,
    created_at       TEXT NOT NULL
);

-- Small named values the services keep between runs (the round-robin cursor).
CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- Each (order, product, reason) moves stock at most once: a replay can never restock twice.
CREATE UNIQUE INDEX stock_once_per_order
    ON stock_movements (order_id, product_id, reason) WHERE order_id IS NOT NULL;
CREATE INDEX stock_ledger ON stock_movements (product_id, id);

CREATE INDEX status_events_by_order ON status_events (order_id, id);
CREATE UNIQUE INDEX carrier_event_once
    ON status_events (order_id, carrier_event_id) WHERE carrier_event_id IS NOT NULL;
CREATE INDEX order_items_by_product ON order_items (product_id);

CREATE INDEX orders_by_phone ON orders (phone);
CREATE INDEX orders_by_ref ON orders (ref);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL;

-- The confirmation queue, one partial index per tier, shared and per-agent (round robin).
-- Only open orders are in them, so they stay small however many orders are closed.
CREATE INDEX queue_callbacks ON orders (callback_at, id)
    WHERE confirmation = 'call_later';
CREATE INDEX queue_new ON orders (created_at, id)
    WHERE confirmation = 'new';
CREATE INDEX queue_no_answer ON orders (attempts, last_attempt_at, id)
    WHERE confirmation = 'no_answer';
CREATE INDEX queue_callbacks_mine ON orders (assigned_to, callback_at, id)
    WHERE confirmation = 'call_later';
CREATE INDEX queue_new_mine ON orders (assigned_to, created_at, id)
    WHERE confirmation = 'new';
CREATE INDEX queue_no_answer_mine ON orders (assigned_to, attempts, last_attempt_at, id)
    WHERE confirmation = 'no_answer';
CREATE INDEX queue_claims ON orders (claimed_by) WHERE claimed_by IS NOT NULL;

-- The shipping board: a keyset page per shipping status, newest first.
CREATE INDEX board_by_status ON orders (shipping, id) WHERE shipping IS NOT NULL;
CREATE INDEX orders_by_confirmation ON orders (confirmation, id);
