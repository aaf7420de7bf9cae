-- 0015_events_chute_state: a parcel's trace says in what state each chute of
-- its route's group was when it was decided (why it went to one and not the
-- others): the chute states the PLC reported (LOCU, events of kind system
-- with their chute) found by chute and time. Only those events are in the
-- index (the PLC reports a chute's state when it changes: few), so the
-- event writer's COPY does not notice it.
CREATE INDEX events_chute_state ON events (chute, at) WHERE kind = 'system' AND chute IS NOT NULL;
