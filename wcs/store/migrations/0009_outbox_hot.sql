-- 0009_outbox_hot: cheaper claims and finishes of customs outbox batches
-- (docs/customs.md "Submission", docs/benchmarks.md "Customs submission").
-- A claim sets batch_key, the lease and attempts on up to 500 rows; with
-- batch_key indexed every one of those updates was a new row version with
-- new entries in every index. Without that index, and with room left on each
-- page for the claimed version (fillfactor), the claim is a HOT update: no
-- index is touched. Batches are found through the rows' ids and parcel ids
-- (the primary key and customs_outbox_one_open), or, for the rare look for
-- an old batch, by a scan of the open rows, which it did already.
-- A finished batch's rows are deleted (wcs_customs_finish): its outcome is
-- kept on the declaration or the dispatch, and a delete adds no index entry.
DROP INDEX customs_outbox_batch;
ALTER TABLE customs_outbox SET (fillfactor = 30);

