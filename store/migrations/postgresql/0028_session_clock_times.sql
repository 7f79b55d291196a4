-- PostgreSQL form of ../0028_session_clock_times.sql: a reception session's
-- start_time and end_time (the clock times a leader gives, 'HH:MM' in the
-- session's day; its moments are starts_at and ends_at) become time, the last
-- temporal texts of the schema (0026 converted moments and days, 0027 the
-- booking reminders). store/pg.py reads a time back as the 'HH:MM' SQLite
-- holds (tests/test_pg_schema.py CLOCK_TIMES).
ALTER TABLE reception_sessions
    ALTER COLUMN start_time TYPE time USING CAST(start_time AS time),
    ALTER COLUMN end_time TYPE time USING CAST(end_time AS time);
