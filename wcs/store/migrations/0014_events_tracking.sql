-- 0014_events_tracking: a parcel no scanner could read has no code; on the
-- line it is its PLC tracking number, which its decision and confirmation
-- events name first in their detail ("tracking 0000000123 ..."). This
-- index finds those code-less events by tracking number, so an operator
-- can follow a parcel from the no-read chute back to its story (the
-- console's trace of a tracking number). Only code-less events are in it
-- (a few in a hundred): the event writer's COPY does not notice it.
CREATE INDEX events_tracking ON events ((substring(detail from '^tracking ([0-9]+)')))
    WHERE parcel_code IS NULL AND detail LIKE 'tracking %';
