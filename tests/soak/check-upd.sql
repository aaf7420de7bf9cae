-- check-upd.sql - every UPD_ the WCS acknowledged (the line emulator's
-- journal, loaded into soak_journal) is stored exactly once as a
-- confirmation, however often it was sent (resends, duplicates, restarts,
-- outages, a database failover). Part of the soak's check (check.sql) and
-- the failover test's (tests/ha/failover.sh). Prints one line: "check ok:
-- ..." or "CHECK FAILED: ...".
WITH acked AS (
    SELECT line->>'ack' AS tracking, line->>'event' AS event, line->>'location' AS location,
           count(*) AS n
    FROM soak_journal WHERE line ? 'ack' GROUP BY 1, 2, 3),
stored AS (
    SELECT substring(detail FROM '^tracking ([0-9]+) ') AS tracking, reason AS event, location,
           count(*) AS n
    FROM events WHERE kind = 'confirm' AND reason <> 'DUPLIC__' GROUP BY 1, 2, 3),
diff AS (
    SELECT tracking, event, location, coalesce(a.n, 0) AS acked, coalesce(s.n, 0) AS stored
    FROM acked a FULL JOIN stored s USING (tracking, event, location)
    WHERE coalesce(a.n, 0) <> coalesce(s.n, 0))
SELECT CASE WHEN (SELECT count(*) FROM diff) = 0
            THEN 'check ok: every acknowledged UPD_ stored exactly once: '
                 || (SELECT sum(n) FROM acked) || ' UPD_ ('
                 || (SELECT count(*) FROM soak_journal
                     WHERE line ? 'ack' AND (line->>'duplicate')::boolean)
                 || ' first acknowledged DUPLIC__)'
            ELSE 'CHECK FAILED: UPD_ stored not exactly once: '
                 || (SELECT string_agg(tracking || ' ' || event || ' at ' || location
                                       || ': acked ' || acked || ', stored ' || stored, '; ')
                     FROM (SELECT * FROM diff ORDER BY tracking LIMIT 10) d)
       END;
