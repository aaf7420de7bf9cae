-- 0003_telegrams: the telegram log. Every telegram exchanged with a sorter
-- PLC, in and out, with its arrival/send time (plc-telegrams spec: "every
-- telegram in and out is logged durably"). Written by wcsd's event writer in
-- the same transactions as the events; id is assigned by the producer (as
-- for events) so a re-sent batch cannot be stored twice. Empty text is ''.
CREATE TABLE telegrams (
    id        bigint PRIMARY KEY,
    at        timestamptz NOT NULL,
    plc       text NOT NULL,
    direction char(1) NOT NULL CHECK (direction IN ('i', 'o')),  -- i: from the PLC, o: to it
    type      text NOT NULL,             -- REQ_, RES_, ACK_, ...; '' when unreadable
    seq       integer NOT NULL,
    raw       text NOT NULL,             -- the telegram as it went over the link
    refused   boolean NOT NULL DEFAULT false  -- answered with ERR_
);
CREATE INDEX telegrams_plc_at ON telegrams (plc, at);
