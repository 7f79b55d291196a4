-- Nothing changes on SQLite: the migration of this number concerns PostgreSQL only
-- (postgresql/0030_cases_vacuumed.sql: how often and how fully autovacuum passes over
-- cases, so that the queue's count reads its index alone). SQLite has no visibility
-- map: its covering indexes never visit the table. The two folders are numbered in step.
SELECT 1;
