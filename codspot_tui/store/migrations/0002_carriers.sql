-- Carriers: when to poll each parcel, what the carrier said in its own words, and how each
-- carrier is doing.

ALTER TABLE orders ADD COLUMN next_poll_at TEXT;
ALTER TABLE status_events ADD COLUMN raw_status TEXT;

-- Parcels in motion, by carrier, due first. Final parcels leave the index.
CREATE INDEX parcels_due ON orders (delivery, next_poll_at)
    WHERE next_poll_at IS NOT NULL AND shipping NOT IN ('delivered', 'returned');

CREATE TABLE carrier_health (
    carrier               TEXT PRIMARY KEY,
    last_success_at       TEXT,
    last_error            TEXT,
    last_error_at         TEXT,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    paused_until          TEXT
);

-- Raw statuses a carrier sent that no vocabulary table maps: surfaced, never guessed.
CREATE TABLE carrier_unmapped (
    carrier        TEXT NOT NULL,
    raw_status     TEXT NOT NULL,
    first_seen_at  TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    seen           INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (carrier, raw_status)
);

CREATE INDEX outbox_by_carrier ON outbox (carrier, done_at);
CREATE INDEX orders_unsynced ON orders (delivery, sync) WHERE sync IN ('pending', 'failed');
