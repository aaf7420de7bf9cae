-- 0021_tracking_publish_bounded: tracking_publish() moved every pending
-- event in one statement. With several lines sorting at full rate the
-- pending rows of a few seconds took minutes to number, every line's
-- refresher queued on the feed's row behind it, and a wcsd stopping waited
-- for its refresher (bench/run-lines.sh). Now a call moves at most p_max
-- events, oldest first (the caller calls again while it gets a full
-- batch), and a caller that need not wait (the refreshers: one publisher
-- numbers for everyone) skips a feed another is numbering.
DROP FUNCTION tracking_publish();

-- taken: pending events consumed (p_max: there may be more); moved: the
-- events numbered into the feed (a parcel's arrival only once).
CREATE FUNCTION tracking_publish(p_max integer, p_wait boolean,
                                 OUT last_cursor bigint, OUT taken bigint, OUT moved bigint)
LANGUAGE plpgsql AS $$
DECLARE
    last bigint;
BEGIN
    taken := 0;
    moved := 0;
    IF p_wait THEN
        SELECT last_seq INTO last FROM tracking_feed FOR UPDATE;
    ELSE
        SELECT last_seq INTO last FROM tracking_feed FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            SELECT last_seq INTO last_cursor FROM tracking_feed;
            RETURN;
        END IF;
    END IF;
    WITH m AS (DELETE FROM tracking_pending WHERE id IN
                 (SELECT id FROM tracking_pending ORDER BY id LIMIT p_max) RETURNING *),
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
        SELECT * FROM named WHERE event <> 'arrived'),
    ins AS (
        INSERT INTO tracking_events (seq, event, code, parcel, at, location, chute, route, bag_id,
                                     dispatch, reason)
        SELECT last + row_number() OVER (ORDER BY k.id), k.event, k.code, k.name, k.at,
               k.location, k.chute, coalesce(k.route, cr.route), k.bag_id, k.dispatch, k.reason
        FROM kept k LEFT JOIN chute_route cr ON k.event = 'sorted' AND cr.chute = k.chute
        RETURNING 1)
    SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM ins) INTO taken, moved;
    IF moved > 0 THEN
        UPDATE tracking_feed SET last_seq = last + moved;
    END IF;
    last_cursor := last + moved;
END $$;
