-- 0016_tracking: the parcels' tracking events (docs/documents.md "Tracking
-- events"): each milestone of a parcel in the hub - arrived on the line,
-- sorted to its route, its bag closed, its dispatch closed, customs held or
-- released - as one row with an EMSEVT-style code where one fits.
--
-- Triggers write them from the rows the hub already writes (events,
-- bags, dispatches, customs_events), once per statement, so nothing else
-- has to remember them and nothing is written twice. They land in
-- tracking_pending as they come (the event writer's COPY pays for one
-- plain insert); tracking_publish(), off the line's path (wcsd's refresher
-- every 2 s, and each feed read), names each parcel by the registry's
-- code, keeps a parcel's first arrival only, adds the sorted chute's route,
-- and moves them into tracking_events, numbered (seq, the feed's cursor)
-- under a row lock held to its commit. Publishers therefore commit in seq order, and a
-- reader that sees seq N sees every seq below it: a feed read from a
-- cursor never skips a row a slower transaction was still writing, and
-- never repeats one.

CREATE TABLE tracking_pending (
    id       bigserial,             -- orders events of the same time (no index: read whole)
    event    text NOT NULL,         -- arrived | sorted | bag_closed | dispatched |
                                    -- customs_held | customs_released
    code     text,                  -- EMSEVT-style event code, NULL where none fits
    parcel   text NOT NULL,         -- the registry's code, or the code as read
    at       timestamptz NOT NULL,
    location text,                  -- scan point (arrived, sorted)
    chute    text,
    route    text,
    bag_id   text,                  -- receptacle id (S9)
    dispatch text,                  -- manifest id
    reason   text                   -- customs: the broker's reason
);

CREATE TABLE tracking_events (
    seq      bigint PRIMARY KEY,    -- the feed's cursor: 1, 2, 3... in publishing order
    event    text NOT NULL,
    code     text,
    parcel   text NOT NULL,
    at       timestamptz NOT NULL,
    location text,
    chute    text,
    route    text,
    bag_id   text,
    dispatch text,
    reason   text
);
CREATE INDEX tracking_events_parcel ON tracking_events (parcel);

-- The last seq published; its row lock orders the publishers.
CREATE TABLE tracking_feed (last_seq bigint NOT NULL);
INSERT INTO tracking_feed VALUES (0);

-- Parcels whose arrival is recorded: a recirculated parcel arrives once.
CREATE TABLE tracking_arrivals (parcel text PRIMARY KEY);

-- arrived: each decision of a parcel on the line (the PLC asked for it by
-- its code: publishing keeps the first); sorted: the sorter confirmed it
-- into a chute. As read: publishing does the rest in bulk.
CREATE FUNCTION tracking_from_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tracking_pending (event, code, parcel, at, location, chute)
    SELECT CASE n.kind WHEN 'decision' THEN 'arrived' ELSE 'sorted' END,
           CASE n.kind WHEN 'decision' THEN 'EMB' END, n.parcel_code, n.at, n.location,
           CASE n.kind WHEN 'confirm' THEN n.chute END
    FROM new_rows n
    WHERE n.parcel_code IS NOT NULL
      AND (n.kind = 'decision' OR (n.kind = 'confirm' AND n.reason = 'SORTED__'));
    RETURN NULL;
END $$;
CREATE TRIGGER tracking_events AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tracking_from_events();

-- bag_closed: each parcel of a bag when the bag gets its receptacle id.
CREATE FUNCTION tracking_from_bags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tracking_pending (event, parcel, at, chute, route, bag_id)
    SELECT 'bag_closed', p.code, coalesce(n.closed_at, now()), n.chute, n.route, n.bag_id
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    JOIN bag_parcels bp ON bp.bag = n.id JOIN parcels p ON p.id = bp.parcel_id
    WHERE n.bag_id IS NOT NULL AND o.bag_id IS NULL
    ORDER BY n.id, p.code;
    RETURN NULL;
END $$;
CREATE TRIGGER tracking_bags AFTER UPDATE ON bags
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tracking_from_bags();

-- dispatched: each parcel of each bag of a dispatch when it is closed (its
-- departure from the outward office of exchange: EMC).
CREATE FUNCTION tracking_from_dispatches() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tracking_pending (event, code, parcel, at, route, bag_id, dispatch)
    SELECT 'dispatched', 'EMC', p.code, coalesce(n.closed_at, now()), n.route, b.bag_id,
           n.manifest_id
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    JOIN bags b ON b.dispatch_id = n.id JOIN bag_parcels bp ON bp.bag = b.id
    JOIN parcels p ON p.id = bp.parcel_id
    WHERE n.status = 'closed' AND o.status = 'open'
    ORDER BY n.id, b.id, p.code;
    RETURN NULL;
END $$;
CREATE TRIGGER tracking_dispatches AFTER UPDATE ON dispatches
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tracking_from_dispatches();

-- customs_held / customs_released: the broker's decisions as stored.
CREATE FUNCTION tracking_from_customs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tracking_pending (event, code, parcel, at, reason)
    SELECT CASE n.type WHEN 'held' THEN 'customs_held' ELSE 'customs_released' END,
           CASE n.type WHEN 'held' THEN 'EME' ELSE 'EDC' END,
           n.parcel_id, n.stored_at, n.reason
    FROM new_rows n WHERE n.type IN ('held', 'released')
    ORDER BY n.stored_at, n.cursor;
    RETURN NULL;
END $$;
CREATE TRIGGER tracking_customs AFTER INSERT ON customs_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tracking_from_customs();

-- Moves what is pending into the feed, numbered in the order it was written
-- (a parcel's sort is written before its bag can be closed: causal, where
-- the times come from two clocks, wcsd's and the database's); returns the
-- last seq. The lock on tracking_feed's row, held to the caller's commit,
-- makes one publisher wait for the one before it to commit.
CREATE FUNCTION tracking_publish() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    last bigint;
    moved bigint;
BEGIN
    SELECT last_seq INTO last FROM tracking_feed FOR UPDATE;
    WITH m AS (DELETE FROM tracking_pending RETURNING *),
    named AS (
        SELECT m.*, coalesce(p.code, m.parcel) AS name FROM m
        LEFT JOIN parcel_ids pi ON pi.code = m.parcel LEFT JOIN parcels p ON p.id = pi.parcel_id),
    first AS (
        SELECT DISTINCT ON (name) * FROM named WHERE event = 'arrived' ORDER BY name, at, id),
    fresh AS (
        INSERT INTO tracking_arrivals (parcel) SELECT name FROM first
        ON CONFLICT DO NOTHING RETURNING parcel),
    chute_route AS (
        SELECT DISTINCT ON (c.chute) c.chute, r.route
        FROM routes r JOIN sortplan_versions v ON v.version = r.version AND v.active,
             unnest(r.chutes) AS c(chute)
        ORDER BY c.chute, r.seq),
    kept AS (
        SELECT f.* FROM first f JOIN fresh ON fresh.parcel = f.name
        UNION ALL
        SELECT * FROM named WHERE event <> 'arrived')
    INSERT INTO tracking_events (seq, event, code, parcel, at, location, chute, route, bag_id,
                                 dispatch, reason)
    SELECT last + row_number() OVER (ORDER BY k.id), k.event, k.code, k.name, k.at,
           k.location, k.chute, coalesce(k.route, cr.route), k.bag_id, k.dispatch, k.reason
    FROM kept k LEFT JOIN chute_route cr ON k.event = 'sorted' AND cr.chute = k.chute;
    GET DIAGNOSTICS moved = ROW_COUNT;
    IF moved > 0 THEN
        UPDATE tracking_feed SET last_seq = last + moved;
    END IF;
    RETURN last + moved;
END $$;
