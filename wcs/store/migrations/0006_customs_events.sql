-- 0006_customs_events: the customs broker's decision feed (docs/customs.md
-- "Decision feed"). A page of events, their effect on parcels.customs_status
-- and the feed's cursor are written in one transaction
-- (wcs_customs_feed_store), so the stored cursor is always that of the last
-- stored event: a restart neither loses nor repeats one.
CREATE TABLE customs_events (
    cursor        text PRIMARY KEY,         -- the broker's cursor of the event (opaque)
    parcel_id     text NOT NULL,            -- as the broker sent it; may match no parcel
    type          text NOT NULL,            -- released | held | rejected | duty_due (kept as sent)
    reason        text,
    duty_value    bigint,                   -- duty_due: minor units
    duty_currency char(3),
    at            text,                     -- the broker's RFC 3339 time, as sent
    stored_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customs_events_parcel ON customs_events (parcel_id);

-- Where the feed of each broker stands: the cursor of its last stored event.
CREATE TABLE customs_feed_cursor (
    broker text PRIMARY KEY,
    cursor text NOT NULL
);
