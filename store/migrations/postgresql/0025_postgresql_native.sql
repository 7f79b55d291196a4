-- PostgreSQL form of ../0025_postgresql_native.sql: PostgreSQL stops imitating SQLite.
--
-- The functions 0001 and 0009 created so that SQLite's SQL ran here unchanged
-- go: the store computes a local day with PostgreSQL's own AT TIME ZONE
-- (store/clock.py local_day_sql), days between two dates with date arithmetic
-- (store/clock.py days_between_sql), and reads a journaled key in Python.
DROP FUNCTION IF EXISTS json_extract(TEXT, TEXT);
DROP FUNCTION IF EXISTS local_day(TEXT);
DROP FUNCTION IF EXISTS julianday(TEXT);
