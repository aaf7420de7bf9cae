-- 0010_customs_alarms: what the customs worker needs an operator for
-- (docs/customs.md "Alarms"). The worker is a process without an HTTP
-- server, so it keeps its alarms here, where `wcsctl customs problems`
-- (kind worker) and `wcsctl status` read them:
--   config - the broker's answers show a configuration fault (a redirect,
--            404, 405, an answer that is not the broker's, the token
--            refused): the worker stopped, its declarations stay pending;
--   answer - a batch was given back after its tries because the broker's
--            answers could not be used (results for other parcels, not
--            JSON, too large): nothing of it was stored.
-- One row per (broker, kind, ref); raising it again counts and updates it,
-- clearing keeps the row (cleared_at) as a record. ref names what the alarm
-- is about: an endpoint ("POST /v1/declarations") or a batch ("batch
-- 1a2b3c4d", the first 8 characters of its Idempotency-Key, as the log
-- names it; "manifest HRB-...").
CREATE TABLE customs_alarms (
    broker      text NOT NULL,                 -- the worker's broker name (--broker-name)
    kind        text NOT NULL CHECK (kind IN ('config', 'answer')),
    ref         text NOT NULL,
    owner       text NOT NULL,                 -- the worker that raised it last (host:pid)
    http_status integer,                       -- the broker's status, NULL when none
    text        text NOT NULL,                 -- for the operator; never a secret
    first_at    timestamptz NOT NULL DEFAULT now(),
    last_at     timestamptz NOT NULL DEFAULT now(),
    count       integer NOT NULL DEFAULT 1,    -- times raised since first_at
    cleared_at  timestamptz,                   -- NULL while open
    PRIMARY KEY (broker, kind, ref)
);
