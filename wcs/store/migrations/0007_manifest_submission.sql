-- 0007_manifest_submission: what the broker answered to a dispatch's
-- manifest (docs/bags.md "Manifest submission"). Closing a dispatch writes
-- dispatches.manifest_json and a customs_outbox row of kind 'manifest'
-- (payload_ref = the manifest id) in one transaction; the customs worker
-- sends it (POST /v1/manifests) and records the answer here, setting
-- dispatches.status to 'submitted' when the broker has received it.
ALTER TABLE dispatches
    ADD COLUMN manifest_ref     text,      -- the broker's reference, when received
    ADD COLUMN manifest_unknown jsonb,     -- unknown_parcels of the answer: parcels with no accepted declaration
    ADD COLUMN manifest_error   text,      -- final refusal (non-retryable 4xx): the broker's error, as text
    ADD COLUMN manifest_at      timestamptz; -- when the answer was stored
