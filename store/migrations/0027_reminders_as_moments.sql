-- A booking's reminders (store/reception.py): reminded_day and reminded_hours
-- held the moment a reminder was sent, or the marker 'skipped' for one whose
-- moment had already passed when the slot was taken (or, for the day-before
-- one, when the two-hour one went first). Now each holds a moment either way:
-- when that reminder was settled, sent or passed over (which of the two, the
-- outbox's reception_reminder rows say). NULL still means "to send". A marker
-- becomes the moment the slot was taken: promoted from the waiting list, or
-- booked. On PostgreSQL (postgresql/0027_reminders_as_moments.sql) the two
-- columns then become timestamptz, as every other moment did in 0026.
UPDATE reception_bookings SET reminded_day = COALESCE(promoted_at, created_at)
    WHERE reminded_day = 'skipped';
UPDATE reception_bookings SET reminded_hours = COALESCE(promoted_at, created_at)
    WHERE reminded_hours = 'skipped';
