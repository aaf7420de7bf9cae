-- 0019_partitioned_logs: the two growing logs, events and telegrams, as
-- native PostgreSQL partitions (docs/data-model.md "Partitions and
-- retention"), one a day, so old days go whole (a DROP, not a DELETE) and
-- a lookup by parcel reads small indexes.
--
-- Partitioned by id, not by time: wcsd's ids are time-based (milliseconds
-- since the epoch << 20 | counter << 8 | node: event_ids.c), so a day's ids
-- are one range, and the primary key stays (id) alone: ON CONFLICT (id)
-- keeps a re-sent batch from being stored twice, as before. Ids below
-- 2^60 are the short-lived tools' (events_local_id_seq, migration 0002):
-- they have a partition of their own, kept. A row no day's partition takes
-- (an id from a day not prepared) goes to the default partition;
-- wcs_log_partitions_ensure() moves such rows into their day's partition
-- when it makes it.

-- The first id of a time (its millisecond, counter 0, node 0).
CREATE FUNCTION wcs_id_of_time(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT (floor(extract(epoch FROM t) * 1000)::bigint) << 20
$$;

-- Day d's partition of log (events or telegrams), made if missing: rows of
-- that day waiting in the default partition are moved into it first.
CREATE FUNCTION wcs_log_partition_make(log text, d date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    name text := log || '_' || to_char(d, 'YYYYMMDD');
    lo bigint := wcs_id_of_time(d::timestamp AT TIME ZONE 'UTC');
    hi bigint := wcs_id_of_time((d + 1)::timestamp AT TIME ZONE 'UTC');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   name, log);
    EXECUTE format('WITH m AS (DELETE FROM %I WHERE id >= %s AND id < %s RETURNING *)'
                   ' INSERT INTO %I SELECT * FROM m', log || '_default', lo, hi, name);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
                   log, name, lo, hi);
    RETURN true;
END $$;

-- The days from days_back before today to days_ahead after it (UTC), for
-- both logs; returns the partitions made. wcsd runs it at start and every
-- hour.
CREATE FUNCTION wcs_log_partitions_ensure(days_back integer, days_ahead integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    d date;
    made integer := 0;
BEGIN
    FOR d IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date - days_back,
                                    (now() AT TIME ZONE 'UTC')::date + days_ahead,
                                    interval '1 day')::date LOOP
        made := made + wcs_log_partition_make('events', d)::integer
                     + wcs_log_partition_make('telegrams', d)::integer;
    END LOOP;
    RETURN made;
END $$;

-- Drops the days' partitions older than keep_days (whole days before
-- today minus keep_days, UTC) of both logs; returns their names.
CREATE FUNCTION wcs_log_partitions_drop(keep_days integer) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    p record;
    cut bigint := wcs_id_of_time(((now() AT TIME ZONE 'UTC')::date - keep_days)::timestamp
                                 AT TIME ZONE 'UTC');
BEGIN
    FOR p IN SELECT c.relname, parent.relname AS log,
                    (regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                  'TO \(''?(-?[0-9]+)''?\)'))[1]::bigint AS upper
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             JOIN pg_class parent ON parent.oid = i.inhparent
             WHERE parent.relname IN ('events', 'telegrams')
               AND c.relname ~ '^(events|telegrams)_[0-9]{8}$'
             ORDER BY c.relname LOOP
        IF p.upper <= cut THEN
            EXECUTE format('DROP TABLE %I', p.relname);
            RETURN NEXT p.relname;
        END IF;
    END LOOP;
END $$;

-- events: the same columns, partitioned; the rows moved over.
ALTER TABLE events RENAME TO events_unpartitioned;
ALTER INDEX events_pkey RENAME TO events_unpartitioned_pkey;
CREATE TABLE events (LIKE events_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE (id);
ALTER TABLE events ADD PRIMARY KEY (id);
CREATE TABLE events_local PARTITION OF events FOR VALUES FROM (MINVALUE) TO (1152921504606846976);
CREATE TABLE events_default PARTITION OF events DEFAULT;
DROP INDEX events_parcel, events_sorted_chute, events_operator_at, events_tracking,
    events_chute_state;
CREATE INDEX events_parcel ON events (parcel_code);
CREATE INDEX events_sorted_chute ON events (chute) WHERE kind = 'confirm' AND reason = 'SORTED__';
CREATE INDEX events_operator_at ON events (at) WHERE kind = 'operator';
CREATE INDEX events_tracking ON events ((substring(detail from '^tracking ([0-9]+)')))
    WHERE parcel_code IS NULL AND detail LIKE 'tracking %';
CREATE INDEX events_chute_state ON events (chute, at) WHERE kind = 'system' AND chute IS NOT NULL;

-- telegrams likewise.
ALTER TABLE telegrams RENAME TO telegrams_unpartitioned;
ALTER INDEX telegrams_pkey RENAME TO telegrams_unpartitioned_pkey;
CREATE TABLE telegrams (LIKE telegrams_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (id);
ALTER TABLE telegrams ADD PRIMARY KEY (id);
CREATE TABLE telegrams_local PARTITION OF telegrams
    FOR VALUES FROM (MINVALUE) TO (1152921504606846976);
CREATE TABLE telegrams_default PARTITION OF telegrams DEFAULT;
DROP INDEX telegrams_plc_at;
CREATE INDEX telegrams_plc_at ON telegrams (plc, at);

-- The days the existing rows' ids belong to, and the week ahead; then the
-- rows.
DO $$
DECLARE
    first date := (to_timestamp((least(
        (SELECT min(id) FROM events_unpartitioned WHERE id >= 1152921504606846976),
        (SELECT min(id) FROM telegrams_unpartitioned WHERE id >= 1152921504606846976),
        wcs_id_of_time(now())) >> 20) / 1000.0) AT TIME ZONE 'UTC')::date;
BEGIN
    PERFORM wcs_log_partitions_ensure(
        greatest(((now() AT TIME ZONE 'UTC')::date - first), 1), 7);
END $$;
INSERT INTO events SELECT * FROM events_unpartitioned;
INSERT INTO telegrams SELECT * FROM telegrams_unpartitioned;
DROP TABLE events_unpartitioned;
DROP TABLE telegrams_unpartitioned;

-- The tracking trigger (0016) on the partitioned table: per statement, with
-- the statement's new rows, whichever partitions they went to.
CREATE TRIGGER tracking_events AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tracking_from_events();
