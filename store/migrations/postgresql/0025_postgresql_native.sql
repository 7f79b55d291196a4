-- PostgreSQL form of ../0025_postgresql_native.sql: PostgreSQL stops imitating SQLite.
--
-- The functions 0001 and 0009 created so that SQLite's SQL ran here unchanged
-- go: the store computes a local day with PostgreSQL's own AT TIME ZONE
-- (store/clock.py local_day_sql), days between two dates with date arithmetic
-- (store/clock.py days_between_sql), and reads a journaled key in Python.
DROP FUNCTION IF EXISTS json_extract(TEXT, TEXT);
DROP FUNCTION IF EXISTS local_day(TEXT);
DROP FUNCTION IF EXISTS julianday(TEXT);

-- Flags are boolean here (SQLite keeps INTEGER 0/1): the store's SQL tests
-- them as `flag` and `NOT flag` and binds Python's bool, which both take.
-- Every flag keeps its value (0 false, anything else true). No index or
-- trigger compares one with 0 or 1; the indexes that hold one as a key
-- (cases_by_rank, incidents_by_status) are rebuilt by the ALTER itself.
-- tests/test_pg_schema.py lists these columns (BOOLEAN_FLAGS).
ALTER TABLE cases
    ALTER COLUMN confidential DROP DEFAULT,
    ALTER COLUMN confidential TYPE boolean USING confidential <> 0,
    ALTER COLUMN confidential SET DEFAULT false,
    ALTER COLUMN final DROP DEFAULT,
    ALTER COLUMN final TYPE boolean USING final <> 0,
    ALTER COLUMN final SET DEFAULT false,
    ALTER COLUMN imported DROP DEFAULT,
    ALTER COLUMN imported TYPE boolean USING imported <> 0,
    ALTER COLUMN imported SET DEFAULT false;
ALTER TABLE events
    ALTER COLUMN public DROP DEFAULT,
    ALTER COLUMN public TYPE boolean USING public <> 0,
    ALTER COLUMN public SET DEFAULT true;
ALTER TABLE case_messages
    ALTER COLUMN incoming DROP DEFAULT,
    ALTER COLUMN incoming TYPE boolean USING incoming <> 0,
    ALTER COLUMN incoming SET DEFAULT false;
ALTER TABLE incidents
    ALTER COLUMN confidential DROP DEFAULT,
    ALTER COLUMN confidential TYPE boolean USING confidential <> 0,
    ALTER COLUMN confidential SET DEFAULT false,
    ALTER COLUMN is_drill DROP DEFAULT,
    ALTER COLUMN is_drill TYPE boolean USING is_drill <> 0,
    ALTER COLUMN is_drill SET DEFAULT false;
ALTER TABLE petitioners
    ALTER COLUMN confidential DROP DEFAULT,
    ALTER COLUMN confidential TYPE boolean USING confidential <> 0,
    ALTER COLUMN confidential SET DEFAULT false;
ALTER TABLE screening_reports
    ALTER COLUMN nil DROP DEFAULT,
    ALTER COLUMN nil TYPE boolean USING nil <> 0,
    ALTER COLUMN nil SET DEFAULT false;
-- The rewritten tables lost their column statistics: the planner gets them back now, not at
-- autovacuum's next visit (on a million cases it chose bitmap scans over the indexes until then).
-- Index-only scans wait for the visibility map, which the next VACUUM (autovacuum) rebuilds.
ANALYZE cases;
ANALYZE events;
