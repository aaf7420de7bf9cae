-- 0018_dispatch_carrier: the carrier a dispatch leaves with (the airline,
-- the railway, the trucking company), as the operator names it when opening
-- the dispatch; printed on its delivery bill and in its pre-advice export.
ALTER TABLE dispatches ADD COLUMN carrier text NOT NULL DEFAULT '';
