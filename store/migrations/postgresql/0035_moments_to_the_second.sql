-- Moments are timestamptz here: the store writes them to the second from this version
-- (store/clock.py); the column does not change (../0035_moments_to_the_second.sql).
-- The repeat check's own index goes, as on SQLite (the planner, with its statistics,
-- takes cases_by_petitioner or cases_by_unit). events_by_case stays (case_id, id): a
-- btree here does not end with the row's id.
DROP INDEX IF EXISTS cases_by_petitioner_matter;
