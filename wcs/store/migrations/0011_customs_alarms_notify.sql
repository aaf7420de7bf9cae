-- 0011_customs_alarms_notify: wcsd shows how many of the customs worker's
-- alarms are open (/metrics wcs_customs_alarms_open, /v1/status), counted by
-- its refresher thread when this channel says they changed.
CREATE FUNCTION wcs_customs_alarms_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wcs_customs_alarms', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER customs_alarms_notify AFTER INSERT OR UPDATE OR DELETE ON customs_alarms
    FOR EACH STATEMENT EXECUTE FUNCTION wcs_customs_alarms_notify();
