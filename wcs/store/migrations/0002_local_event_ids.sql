-- 0002_local_event_ids: ids for events written by short-lived processes
-- (wcsctl, operator tools). wcsd assigns time-based ids (ms << 20 | counter,
-- far above 2^60); these processes take ids from this sequence instead, which
-- stays far below that range, so the two never collide.
CREATE SEQUENCE events_local_id_seq MAXVALUE 1099511627775;
