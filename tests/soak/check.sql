-- check.sql - the chaos soak's independent check (tests/soak/soak.sh): what
-- the WCS stored against the emulators' own records, loaded by soak.sh into
--   soak_journal  the line emulator's journal (wcs-linesim --journal): one
--                 {"parcel", "code", "final", "chute", "passes"} per parcel,
--                 one {"ack", "event", "location", "duplicate"} per UPD_ the
--                 WCS acknowledged
--   soak_record   the broker emulator's record of acceptances (--record):
--                 one {"parcel_id", "key", "broker_ref", "at"} each
--   soak_faults   the faults injected: kind, start and recovery (ms)
-- Prints the report; a line starting "CHECK FAILED" fails the soak.

-- Every parcel the line inducted ended in exactly one final state.
SELECT CASE WHEN count(*) FILTER (WHERE line->>'final' = '') = 0
            THEN 'check ok: every parcel final: '
            ELSE 'CHECK FAILED: parcels not final: ' END
       || count(*) || ' inducted, '
       || (SELECT string_agg(f || ' ' || n, ', ' ORDER BY f)
           FROM (SELECT coalesce(nullif(line->>'final', ''), 'unfinished') f, count(*) n
                 FROM soak_journal WHERE line ? 'parcel' GROUP BY 1) x)
FROM soak_journal WHERE line ? 'parcel';

-- Every UPD_ the WCS acknowledged is stored exactly once (check-upd.sql,
-- shared with tests/ha/failover.sh).
\ir check-upd.sql


-- Every declaration the broker accepted is accepted exactly once, and the
-- WCS knows every acceptance; nothing valid is left pending.
SELECT CASE WHEN dup = 0 AND missing = 0 AND unknown = 0 AND pending = 0
            THEN 'check ok: declarations accepted exactly once: '
            ELSE 'CHECK FAILED: declarations: ' END
       || accepted || ' accepted, ' || dup || ' accepted twice at the broker, '
       || missing || ' accepted here but not at the broker, ' || unknown
       || ' accepted at the broker but not here, ' || pending || ' still pending'
FROM (SELECT
        (SELECT count(*) FROM declarations WHERE status = 'accepted') AS accepted,
        (SELECT count(*) FROM (SELECT line->>'parcel_id' FROM soak_record
                               GROUP BY 1 HAVING count(*) > 1) d) AS dup,
        (SELECT count(*) FROM declarations d WHERE status = 'accepted' AND NOT EXISTS
            (SELECT 1 FROM soak_record r WHERE r.line->>'parcel_id' = d.parcel_id)) AS missing,
        (SELECT count(DISTINCT r.line->>'parcel_id') FROM soak_record r WHERE NOT EXISTS
            (SELECT 1 FROM declarations d
             WHERE d.parcel_id = r.line->>'parcel_id' AND d.status = 'accepted')) AS unknown,
        (SELECT count(*) FROM declarations WHERE status = 'pending') AS pending) x;

-- Every bag holds exactly the parcels confirmed SORTED__ into its chute (the
-- route chutes; special destinations are not bagged, codes without
-- pre-advice are not bagged).
WITH sorted AS (
    SELECT e.chute, pi.parcel_id
    FROM events e JOIN parcel_ids pi ON pi.code = e.parcel_code
    WHERE e.kind = 'confirm' AND e.reason = 'SORTED__' AND e.chute NOT LIKE 'SP-%'),
bagged AS (
    SELECT b.chute, bp.parcel_id FROM bags b JOIN bag_parcels bp ON bp.bag = b.id),
diff AS (
    (SELECT chute, parcel_id, 'confirmed sorted, not in a bag of its chute' AS what FROM sorted
     EXCEPT SELECT chute, parcel_id, 'confirmed sorted, not in a bag of its chute' FROM bagged)
    UNION ALL
    (SELECT chute, parcel_id, 'in a bag, not confirmed sorted into its chute' FROM bagged
     EXCEPT SELECT chute, parcel_id, 'in a bag, not confirmed sorted into its chute' FROM sorted))
SELECT CASE WHEN (SELECT count(*) FROM diff) = 0
            THEN 'check ok: bags hold exactly their SORTED__ confirmations: '
                 || (SELECT count(*) FROM bags) || ' bags, '
                 || (SELECT count(*) FROM bagged) || ' parcels'
            ELSE 'CHECK FAILED: bags: '
                 || (SELECT string_agg(chute || ' parcel ' || parcel_id || ': ' || what, '; ')
                     FROM (SELECT * FROM diff LIMIT 10) d)
       END;

-- Not a check: parcels the line sorted as decided on a code other than their
-- label's (a WCS scan of another parcel in the read window: correlation on a
-- dense line, and scans posted late while wcsd was down).
SELECT 'decided on a code not on the label: ' || count(*) || ' of '
       || (SELECT count(*) FROM soak_journal WHERE line->>'final' = 'SORTED')
       || ' sorted parcels, ' || count(*) FILTER (WHERE e.chute NOT LIKE 'SP-%')
       || ' of them into a route chute'
FROM soak_journal j
JOIN events e ON e.kind = 'confirm' AND e.reason = 'SORTED__'
             AND e.detail LIKE 'tracking ' || (j.line->>'parcel') || ' %'
WHERE j.line ? 'parcel' AND j.line->>'final' = 'SORTED'
  AND NOT EXISTS (SELECT 1 FROM parcel_ids a JOIN parcel_ids b ON a.parcel_id = b.parcel_id
                  WHERE a.code = j.line->>'code' AND b.code = e.parcel_code);

-- The report: faults by kind with their recovery, what was stored.
SELECT 'fault ' || kind || ': ' || count(*) || ' injected'
       || CASE WHEN count(*) FILTER (WHERE t1 < 0) > 0
               THEN ', ' || count(*) FILTER (WHERE t1 < 0) || ' NOT recovered' ELSE '' END
       || ', recovery ms min ' || min(t1 - t0) FILTER (WHERE t1 >= 0)
       || ' avg ' || round(avg(t1 - t0) FILTER (WHERE t1 >= 0))
       || ' max ' || max(t1 - t0) FILTER (WHERE t1 >= 0)
FROM soak_faults GROUP BY kind ORDER BY kind;
SELECT 'CHECK FAILED: ' || kind || ' at ' || t0 || ': the system did not recover'
FROM soak_faults WHERE t1 < 0;
SELECT 'stored: ' || (SELECT count(*) FROM events) || ' events ('
       || (SELECT string_agg(kind || ' ' || n, ', ' ORDER BY kind)
           FROM (SELECT kind, count(*) n FROM events GROUP BY kind) k) || '), '
       || (SELECT count(*) FROM telegrams) || ' telegrams ('
       || (SELECT count(*) FROM telegrams WHERE refused) || ' refused), '
       || (SELECT count(*) FROM declarations) || ' declarations';
