-- The queue's count (store.supervision.queue_page) is an index-only scan of
-- cases_by_rank: it visits the table for every page the visibility map does
-- not call all-visible, and the open cases it counts are the rows that change
-- every day. Measured at a million cases (docs/benchmarks.md): after a plain
-- VACUUM, 2,481 pages kept dead item identifiers, because VACUUM skips the
-- index clean-up when under 2 % of the table's pages need it, and such a page
-- is never all-visible; the HQ officer's count then visited the table 4,872
-- times. With the clean-up always done, none. And autovacuum comes after 1 %
-- of the rows changed instead of 20 % (some 200,000 at a million cases: weeks
-- of an office's work), so the day's changes are vacuumed within the day.
ALTER TABLE cases SET (
    vacuum_index_cleanup = on,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02
);
