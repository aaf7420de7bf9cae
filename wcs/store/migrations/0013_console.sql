-- 0013_console: what the operator console keeps (issue 11).
-- The line's alarms, as wcsd raised, cleared and users acknowledged them:
-- the list survives a restart. id is wcsd's own (random, 16 hex).
CREATE TABLE alarms (
    id         text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{16}$'),
    node       text NOT NULL,
    kind       text NOT NULL,
    subject    text NOT NULL DEFAULT '',
    severity   text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    text       text NOT NULL DEFAULT '',
    raised_at  timestamptz NOT NULL,
    cleared_at timestamptz,
    acked_by   text,
    acked_at   timestamptz,
    version    integer NOT NULL DEFAULT 0
);
CREATE INDEX alarms_open ON alarms (node) WHERE cleared_at IS NULL;
CREATE INDEX alarms_cleared ON alarms (cleared_at);

-- Chutes an operator disabled (the PLC's own states come with LOCU): a held
-- chute takes no parcels until an operator enables it, across restarts.
CREATE TABLE chute_holds (
    chute   text PRIMARY KEY,
    held_by text NOT NULL,
    held_at timestamptz NOT NULL DEFAULT now()
);

-- The audit and a chute's history read operator events by time; they are
-- few, so this index costs the event writer nothing it would notice.
CREATE INDEX events_operator_at ON events (at) WHERE kind = 'operator';
