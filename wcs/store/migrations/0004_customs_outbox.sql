-- 0004_customs_outbox: customs declarations and the outbox of work for the
-- broker (docs/customs.md "Submission"). A declaration and its outbox row are
-- written in one transaction (wcs_customs_declare), so work is never created
-- without being queued, nor queued without its data.
CREATE TABLE declarations (
    parcel_id  text PRIMARY KEY,
    body       json NOT NULL,            -- the DECLARATION as sent, text kept byte for byte
    status     text NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'accepted', 'rejected', 'invalid')),
    broker_ref text,                     -- set when accepted
    errors     jsonb,                    -- [{field, code, message}] when rejected or invalid
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per unit of work. A batch is the set of rows sharing batch_key: the
-- key is set when the rows are first claimed together and never changes, so a
-- batch retried (by the same or another worker) is the same request body
-- under the same Idempotency-Key. Rows of a batch are leased and finished
-- together.
CREATE TABLE customs_outbox (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('declaration', 'manifest')),
    payload_ref     text NOT NULL,       -- declarations.parcel_id (or a manifest id)
    batch_key       text,                -- NULL until first claimed
    attempts        integer NOT NULL DEFAULT 0,   -- claims so far
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_owner     text,
    lease_until     timestamptz,
    done_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customs_outbox_open ON customs_outbox (id) WHERE done_at IS NULL;
-- At most one open row per piece of work: two concurrent declarations of one
-- parcel queue it once, so no two batches can carry it.
CREATE UNIQUE INDEX customs_outbox_one_open ON customs_outbox (kind, payload_ref)
    WHERE done_at IS NULL;
CREATE INDEX customs_outbox_batch ON customs_outbox (batch_key) WHERE batch_key IS NOT NULL;
