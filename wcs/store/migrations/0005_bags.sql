-- 0005_bags: what bag closing and dispatching need beyond 0001's bags,
-- bag_parcels and dispatches (docs/bags.md).
--
-- A bag's receptacle id (UPU S9 / CN 35) carries the destination office of
-- exchange, a dispatch number and a serial inside it: kept as columns so the
-- next bag's numbers are found without parsing ids.
ALTER TABLE bags
    ADD COLUMN dest_office  text,                        -- e.g. RUMOWA
    ADD COLUMN category     char(1),                     -- A air, C surface
    ADD COLUMN upu_dispatch integer,                     -- receptacle id positions 17-20
    ADD COLUMN serial       integer,                     -- receptacle id positions 21-23
    ADD COLUMN upu_year     integer,                     -- the year of the series (position 16: last digit)
    ADD COLUMN weighed      boolean NOT NULL DEFAULT false; -- weight from a scale, not pre-advice

-- departure_text keeps the departure exactly as the operator gave it, so the
-- manifest repeats it byte for byte (the broker spec shows a local offset);
-- manifest_json is the POST /v1/manifests body, written when the dispatch is
-- closed, for the customs outbox to send.
ALTER TABLE dispatches
    ADD COLUMN departure_text text,
    ADD COLUMN manifest_json  text;

-- Which confirm events (SORTED__ into a chute) a bag consumed. A sorted
-- parcel belongs to the chute's next bag exactly when its confirm event is
-- not here, which neither clocks nor late (spooled) event batches can break.
CREATE TABLE bag_events (
    event_id bigint PRIMARY KEY,
    bag      bigint NOT NULL REFERENCES bags (id) ON DELETE CASCADE
);
CREATE INDEX bag_events_bag ON bag_events (bag);

-- The UPU dispatch numbers in use per destination office, mail category and
-- year: bags closed while a series is open share its number and take
-- consecutive serials; closing a dispatch closes the series of its bags.
CREATE TABLE receptacle_series (
    dest_office text NOT NULL,
    category    char(1) NOT NULL,
    year        integer NOT NULL,
    dispatch_no integer NOT NULL CHECK (dispatch_no BETWEEN 1 AND 9999),
    next_serial integer NOT NULL DEFAULT 1,
    closed      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (dest_office, category, year, dispatch_no)
);

-- Finding a chute's sorted parcels without scanning the whole event log.
CREATE INDEX events_sorted_chute ON events (chute) WHERE kind = 'confirm' AND reason = 'SORTED__';
