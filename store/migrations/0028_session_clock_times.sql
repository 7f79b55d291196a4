-- Nothing changes on SQLite: the migration of this number concerns PostgreSQL only
-- (postgresql/0028_session_clock_times.sql: a reception session's start_time and
-- end_time become PostgreSQL's time). SQLite keeps a clock time as 'HH:MM', which
-- sorts as it should. The two folders are numbered in step.
SELECT 1;
