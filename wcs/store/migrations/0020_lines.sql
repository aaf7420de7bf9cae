-- 0020_lines: several lines on one database, and an active and a standby
-- wcsd per line (issue 13, docs/ha.md).
--
-- A line is a wcsd node: its config's node (the sender id in its telegrams,
-- e.g. WCS01) names it, and its events.node_id is the number in the low
-- bits of the ids it assigns. One row per line holds its lease: the wcsd
-- that holds it is the line's active one (it answers the PLCs and writes
-- the line's events); any other wcsd with the same node waits as standby
-- and takes the lease when it lapses. token is the fencing token: it grows
-- by one at every change of holder, the active's event writer proves it in
-- every write batch (wcs_lease_fence), and a batch of a holder whose token
-- is no longer the row's is refused. Times come from the database's clock
-- (clock_timestamp), the one clock every node shares.
CREATE TABLE wcs_lines (
    node             text PRIMARY KEY,
    node_id          integer NOT NULL UNIQUE CHECK (node_id BETWEEN 0 AND 255),
    holder           text,               -- host:pid of the active wcsd, NULL before the first
    token            bigint NOT NULL DEFAULT 0,
    expires_at       timestamptz,        -- the lease lapses then unless renewed
    active_since     timestamptz,
    takeovers        integer NOT NULL DEFAULT 0,
    last_takeover_at timestamptz,
    last_takeover_from text,             -- the holder before it
    standby          text,               -- host:pid of the wcsd waiting, NULL when none
    standby_seen_at  timestamptz
);

-- A bag is a line's chute's: the line named, NULL for the bags of a
-- database with one line (and those closed before lines were named).
ALTER TABLE bags ADD COLUMN line text;

-- Chute holds are a line's: chute names repeat from line to line.
ALTER TABLE chute_holds ADD COLUMN node text NOT NULL DEFAULT '';
ALTER TABLE chute_holds DROP CONSTRAINT chute_holds_pkey;
ALTER TABLE chute_holds ADD PRIMARY KEY (node, chute);

-- Takes node's lease for holder when it is free (never held, released,
-- lapsed, or held by p_gone: a holder the caller knows is dead, a process
-- of its own machine that no longer runs) and returns the new token; returns 0 when another holder's lease
-- runs (the caller then is the standby, recorded as such). A node_id that
-- differs from the line's, or that another line uses, is refused: two
-- lines must never assign the same ids.
CREATE FUNCTION wcs_lease_acquire(p_node text, p_node_id integer, p_holder text, p_lease_ms integer,
                                  p_gone text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    l wcs_lines%ROWTYPE;
    other text;
BEGIN
    SELECT node INTO other FROM wcs_lines WHERE node_id = p_node_id AND node <> p_node;
    IF FOUND THEN
        RAISE EXCEPTION 'events.node_id % is line %''s: every line needs its own', p_node_id, other
            USING ERRCODE = 'WL001';
    END IF;
    INSERT INTO wcs_lines (node, node_id) VALUES (p_node, p_node_id) ON CONFLICT (node) DO NOTHING;
    -- FOR UPDATE waits for the event writer batches that proved the old
    -- token (FOR KEY SHARE): they commit before the lease changes hands.
    SELECT * INTO l FROM wcs_lines WHERE node = p_node FOR UPDATE;
    IF l.node_id <> p_node_id THEN
        RAISE EXCEPTION 'line % writes ids with events.node_id %, not %', p_node, l.node_id, p_node_id
            USING ERRCODE = 'WL001';
    END IF;
    IF l.holder IS NOT NULL AND l.holder <> p_holder AND l.expires_at > clock_timestamp()
       AND l.holder IS DISTINCT FROM p_gone THEN
        UPDATE wcs_lines SET standby = p_holder, standby_seen_at = clock_timestamp()
         WHERE node = p_node;
        RETURN 0;
    END IF;
    UPDATE wcs_lines
       SET holder = p_holder, token = l.token + 1,
           expires_at = clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0),
           active_since = clock_timestamp(),
           takeovers = l.takeovers + CASE WHEN l.holder IS NOT NULL AND l.holder <> p_holder THEN 1 ELSE 0 END,
           last_takeover_at = CASE WHEN l.holder IS NOT NULL AND l.holder <> p_holder
                                   THEN clock_timestamp() ELSE l.last_takeover_at END,
           last_takeover_from = CASE WHEN l.holder IS NOT NULL AND l.holder <> p_holder
                                     THEN l.holder ELSE l.last_takeover_from END,
           standby = CASE WHEN l.standby = p_holder THEN NULL ELSE l.standby END
     WHERE node = p_node;
    PERFORM pg_notify('wcs_lines', p_node);
    RETURN l.token + 1;
END $$;

-- Extends the lease of the holder of p_token; false when the token is no
-- longer the line's (another wcsd took over: the caller must stop at once).
-- Also says whether a standby waits (seen within two lease times).
CREATE FUNCTION wcs_lease_renew(p_node text, p_token bigint, p_lease_ms integer,
                                OUT held boolean, OUT standby_waiting boolean)
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE wcs_lines SET expires_at = clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0)
     WHERE node = p_node AND token = p_token
    RETURNING true, standby IS NOT NULL
              AND standby_seen_at > clock_timestamp() - make_interval(secs => 2 * p_lease_ms / 1000.0)
      INTO held, standby_waiting;
    held := coalesce(held, false);
    standby_waiting := coalesce(standby_waiting, false);
END $$;

-- A clean stop hands the lease on at once: the standby need not wait for it
-- to lapse.
CREATE FUNCTION wcs_lease_release(p_node text, p_token bigint) RETURNS void LANGUAGE sql AS $$
    UPDATE wcs_lines SET expires_at = clock_timestamp() WHERE node = p_node AND token = p_token;
    SELECT pg_notify('wcs_lines', p_node);
$$;

-- The fence, in every write batch of a line's event writer: passes for the
-- current token and locks the line's row (FOR KEY SHARE) until the batch
-- commits, so a takeover (FOR UPDATE) comes strictly after it; a stale
-- token aborts the batch with SQLSTATE WF001.
CREATE FUNCTION wcs_lease_fence(p_node text, p_token bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM wcs_lines WHERE node = p_node AND token = p_token FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'line %: fencing token % is stale: another wcsd holds the lease', p_node, p_token
            USING ERRCODE = 'WF001';
    END IF;
END $$;
