-- 0012_users: the people who run the line (issue 11, the operator console):
-- one row per login name; the password only as an argon2id hash
-- (wcs/core/password.h); a disabled user keeps the row, for the audit (what
-- each did is in events, kind operator, source the actor).
CREATE TABLE users (
    name          text PRIMARY KEY CHECK (name ~ '^[a-z0-9._-]{1,20}$'),
    role          text NOT NULL CHECK (role IN ('viewer', 'operator', 'supervisor', 'admin')),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    language      text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'zh')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    password_at   timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

-- A user disabled, deleted, given a new password or role: wcsd ends that
-- user's sessions (payload: the name).
CREATE FUNCTION wcs_users_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wcs_users', OLD.name);
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_notify AFTER UPDATE OF password_hash, role, disabled_at OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION wcs_users_notify();
