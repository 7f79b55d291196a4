-- Almost nothing changes on SQLite: the migration of this number concerns PostgreSQL
-- only (postgresql/0026_postgresql_dates.sql: moments become timestamptz and
-- days date there). SQLite has no such types: it keeps a moment as the text
-- of store/clock.py iso() and a day as 'YYYY-MM-DD', which sort as they should.
-- The two folders are numbered in step.
--
-- One thing both do: an older vault step (store/vault_steps.py) dated the
-- records of the people it sealed 'vault-1' or 'vault-4' instead of a moment;
-- they are dated now, so every updated_at is a moment on both backends.
UPDATE people SET updated_at = strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000+00:00'
    WHERE updated_at LIKE 'vault-%';
