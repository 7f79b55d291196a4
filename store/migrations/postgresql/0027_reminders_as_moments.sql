-- PostgreSQL form of ../0027_reminders_as_moments.sql: a booking's reminders
-- hold a moment, sent or passed over ('skipped' becomes the moment the slot
-- was taken), and the two columns become timestamptz like every other moment
-- (0026; tests/test_pg_schema.py MOMENTS). store/pg.py reads them back as the
-- texts SQLite holds.
UPDATE reception_bookings SET reminded_day = COALESCE(promoted_at, created_at)::text
    WHERE reminded_day = 'skipped';
UPDATE reception_bookings SET reminded_hours = COALESCE(promoted_at, created_at)::text
    WHERE reminded_hours = 'skipped';
ALTER TABLE reception_bookings
    ALTER COLUMN reminded_day TYPE timestamptz USING CAST(reminded_day AS timestamptz),
    ALTER COLUMN reminded_hours TYPE timestamptz USING CAST(reminded_hours AS timestamptz);
