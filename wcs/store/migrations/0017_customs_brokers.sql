-- 0017_customs_brokers: several customs brokers (docs/customs.md "Broker
-- profiles"). Each declaration and each outbox row belongs to one broker,
-- named as the config names it ("default": the customs: keys' broker); a
-- worker takes its own broker's rows only. The import chooses a parcel's
-- broker (by service or planned route); a dispatch's manifest goes to the
-- broker most of its parcels were declared to.
ALTER TABLE declarations ADD COLUMN broker text NOT NULL DEFAULT 'default';
ALTER TABLE customs_outbox ADD COLUMN broker text NOT NULL DEFAULT 'default';
