-- 0017_customs_brokers: several customs brokers (docs/customs.md "Broker
-- profiles"). Each declaration and each outbox row belongs to one broker,
-- named as the config names it ("default": the customs: keys' broker); a
-- worker takes its own broker's rows only. The import chooses a parcel's
-- broker (by service or planned route); a dispatch's manifest goes to the
-- broker most of its parcels were declared to.
ALTER TABLE declarations ADD COLUMN broker text NOT NULL DEFAULT 'default';
ALTER TABLE customs_outbox ADD COLUMN broker text NOT NULL DEFAULT 'default';
-- A worker claims its broker's open rows only: found without reading the
-- other brokers' (broker never changes, so claims stay HOT updates).
CREATE INDEX customs_outbox_broker_open ON customs_outbox (broker, id) WHERE done_at IS NULL;

-- Each broker numbers its own decision feed: an event is its broker's
-- cursor, so two brokers' event 7 are two events. The broker is the
-- feed's key (customs_feed_cursor.broker, the worker's broker name).
ALTER TABLE customs_events ADD COLUMN broker text NOT NULL DEFAULT 'default';
ALTER TABLE customs_events DROP CONSTRAINT customs_events_pkey;
ALTER TABLE customs_events ADD PRIMARY KEY (broker, cursor);
