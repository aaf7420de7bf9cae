-- 0022_noreads: the parcels no scanner or camera could read, for video
-- coding (issue 14, docs/camera.md "Video coding").
--
-- wcsd records one row when a line decides a parcel a no-read (its first
-- no-read decision: a parcel that comes round unkeyed is not recorded
-- again), with the images its cameras took of it (names of entries of the
-- line's no-read archive, cameras.noread_dir). An operator keys its code
-- in (state keyed) or marks it unreadable; keyed_seq orders the keys so
-- the line's wcsd fetches the new ones after a NOTIFY on wcs_noreads, and
-- gives the parcel its destination when it comes round (REQ_ after
-- RECIRC__). resolved_at is when that happened. A pending row an hour old
-- is expired (its parcel left the loop long ago; its tracking number may
-- come back on another parcel): wcsd marks it so, and it cannot be keyed.
CREATE TABLE noreads (
    id          bigserial PRIMARY KEY,
    node        text NOT NULL,                 -- the line (its wcsd's node)
    tracking    text NOT NULL,                 -- the PLC's tracking number
    location    text NOT NULL,                 -- the scan point
    at          timestamptz NOT NULL,          -- the no-read decision
    cause       text NOT NULL,                 -- why, of the most telling frame
    images      text[] NOT NULL DEFAULT '{}',  -- archive entry names, oldest first
    cameras     text[] NOT NULL DEFAULT '{}',  -- the camera of each image
    state       text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'keyed', 'unreadable', 'expired')),
    code        text,                          -- the code keyed in
    keyed_by    text,
    keyed_at    timestamptz,
    keyed_seq   bigint,
    resolved_at timestamptz,                   -- came round and got its destination
    resolved_to text,                          -- ... that destination
    CHECK ((state IN ('pending', 'expired')) = (keyed_at IS NULL)),
    CHECK ((state = 'keyed') = (code IS NOT NULL))
);

-- A tracking number is a parcel's while it is on the line; one open
-- no-read per parcel (a tracking number comes back on other parcels later).
CREATE UNIQUE INDEX noreads_open ON noreads (node, tracking) WHERE state = 'pending';
CREATE INDEX noreads_queue ON noreads (state, at);
CREATE INDEX noreads_parcel ON noreads (node, tracking, at);
CREATE INDEX noreads_keyed ON noreads (keyed_seq) WHERE keyed_seq IS NOT NULL;
CREATE SEQUENCE noreads_keyed_seq;
