-- 0012_users: the people who run the line (issue 11, the operator console)
-- and the record of what each did.
--   users: one row per login name; the password only as an argon2id hash
--   (wcs/core/password.h); a disabled user keeps the row, for the audit.
--   audit: every action that changes something, with who did it: a user
--   name, or "wcsctl:OS_USER" for the command line.
CREATE TABLE users (
    name          text PRIMARY KEY CHECK (name ~ '^[a-z0-9._-]{1,32}$'),
    role          text NOT NULL CHECK (role IN ('viewer', 'operator', 'supervisor', 'admin')),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    language      text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'zh')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    password_at   timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

CREATE TABLE audit (
    id     bigserial PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT now(),
    actor  text NOT NULL,   -- a user name, or wcsctl:OS_USER
    action text NOT NULL,   -- "user add", "user disable", "bag close", ...
    target text,            -- what it acted on: a user, a chute, a parcel
    detail text             -- what changed; never a secret
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_target ON audit (target, at);
