-- 0001_core: parcels and their identifiers, pre-advice, customs status,
-- sort-plan versions (chutes, routes, rules, special destinations), the
-- append-only event log, bags and dispatches.

CREATE SEQUENCE parcel_rev_seq;

-- One row per physical parcel, keyed by the code it was pre-advised under.
-- rev moves forward on every change so wcsd can fetch "what changed since".
CREATE TABLE parcels (
    id                bigserial PRIMARY KEY,
    code              text NOT NULL UNIQUE,
    service           text NOT NULL,
    recipient_country char(2) NOT NULL,
    postal_code       text,
    recipient_name    text,
    recipient_city    text,
    recipient_address text,
    recipient_phone   text,
    weight_g          integer CHECK (weight_g >= 0),
    length_mm         integer CHECK (length_mm >= 0),
    width_mm          integer CHECK (width_mm >= 0),
    height_mm         integer CHECK (height_mm >= 0),
    declared_value    bigint CHECK (declared_value >= 0),   -- minor units of currency
    currency          char(3),
    item_description  text,
    hs_code           text,
    customs_status    text NOT NULL DEFAULT 'none'
                      CHECK (customs_status IN ('none', 'pending', 'released', 'held', 'blocked')),
    rev               bigint NOT NULL DEFAULT nextval('parcel_rev_seq'),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parcels_rev ON parcels (rev);

-- Every identifier a parcel carries (S10, Cainiao LP/AP, Russian Post 14-digit),
-- including the one in parcels.code. A code belongs to one parcel only.
-- Codes are upper-case letters and digits only (every parcel-code format is),
-- which also lets lists of codes travel space-separated.
CREATE TABLE parcel_ids (
    code      text PRIMARY KEY CHECK (code ~ '^[0-9A-Z]{1,32}$'),
    parcel_id bigint NOT NULL REFERENCES parcels (id) ON DELETE CASCADE,
    kind      text NOT NULL                 -- s10 | cainiao | rupost | unknown
);
CREATE INDEX parcel_ids_parcel ON parcel_ids (parcel_id);

-- Sort plans are versioned; exactly one version is active at a time.
CREATE TABLE sortplan_versions (
    version      serial PRIMARY KEY,
    source_name  text NOT NULL,
    source_text  text NOT NULL,
    sha256       text NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    active       boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX sortplan_one_active ON sortplan_versions (active) WHERE active;

-- seq in the plan tables is the row's position in the plan: loading in seq
-- order rebuilds the same chute, route and rule indices.
CREATE TABLE chutes (
    version     integer NOT NULL REFERENCES sortplan_versions ON DELETE CASCADE,
    seq         integer NOT NULL,
    chute       text NOT NULL,
    description text NOT NULL DEFAULT '',
    PRIMARY KEY (version, chute)
);

CREATE TABLE routes (
    version     integer NOT NULL REFERENCES sortplan_versions ON DELETE CASCADE,
    seq         integer NOT NULL,
    route       text NOT NULL,
    mode        text NOT NULL,              -- air | rail | road | river
    crossing    text NOT NULL DEFAULT '',   -- border crossing, e.g. Manzhouli-Zabaykalsk
    chutes      text[] NOT NULL,            -- the route's chute group
    fallback    text,                       -- route used when the whole group is unavailable
    description text NOT NULL DEFAULT '',
    PRIMARY KEY (version, route)
);

CREATE TABLE sortplan_rules (
    version      integer NOT NULL REFERENCES sortplan_versions ON DELETE CASCADE,
    seq          integer NOT NULL,
    line         integer NOT NULL,          -- line in the source file, for messages (0 none)
    route        text NOT NULL,
    prefix_from  integer NOT NULL CHECK (prefix_from BETWEEN 0 AND 999),
    prefix_to    integer NOT NULL CHECK (prefix_to BETWEEN prefix_from AND 999),
    services     text[] NOT NULL,           -- empty = any service
    weight_min_g integer NOT NULL DEFAULT 0,
    weight_max_g integer,                   -- NULL = no upper bound
    priority     integer NOT NULL DEFAULT 0,
    description  text NOT NULL DEFAULT '',
    PRIMARY KEY (version, seq)
);

-- Special destinations (no-read, multi-read, unknown, customs hold, ...).
CREATE TABLE sortplan_specials (
    version integer NOT NULL REFERENCES sortplan_versions ON DELETE CASCADE,
    seq     integer NOT NULL,
    special text NOT NULL,
    chutes  text[] NOT NULL,
    PRIMARY KEY (version, special)
);

-- Plan parameters as written (limits such as max_weight_g, recirc_limit;
-- default_exit).
CREATE TABLE sortplan_params (
    version integer NOT NULL REFERENCES sortplan_versions ON DELETE CASCADE,
    seq     integer NOT NULL,
    name    text NOT NULL,
    value   text NOT NULL,
    PRIMARY KEY (version, name)
);

-- Append-only log of everything that happened to parcels: scans, decisions,
-- confirmations, operator actions. id is assigned by the producer so a
-- re-sent batch cannot be stored twice.
CREATE TABLE events (
    id          bigint PRIMARY KEY,
    at          timestamptz NOT NULL,
    kind        text NOT NULL,
    parcel_code text,
    location    text,
    chute       text,
    reason      text,
    source      text,
    detail      text
);
CREATE INDEX events_parcel ON events (parcel_code);

CREATE TABLE dispatches (
    id              bigserial PRIMARY KEY,
    manifest_id     text NOT NULL UNIQUE,
    route           text NOT NULL,
    transport       text NOT NULL,
    border_crossing text NOT NULL DEFAULT '',
    departure       timestamptz,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'submitted')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz
);

CREATE TABLE bags (
    id          bigserial PRIMARY KEY,
    bag_id      text UNIQUE,                -- UPU receptacle id (29 chars), set on close
    chute       text NOT NULL,
    route       text,
    dispatch_id bigint REFERENCES dispatches (id),
    weight_g    integer,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'dispatched')),
    opened_at   timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz
);

CREATE TABLE bag_parcels (
    bag       bigint NOT NULL REFERENCES bags (id) ON DELETE CASCADE,
    parcel_id bigint NOT NULL REFERENCES parcels (id),
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bag, parcel_id)
);
