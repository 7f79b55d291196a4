-- Leader reception days (领导接访日): published sessions and employees' bookings.

CREATE TABLE reception_sessions (
    id            INTEGER PRIMARY KEY,
    config_key    TEXT UNIQUE,            -- id of the organisation file's [[reception]] entry; NULL if published in chat
    publish_key   TEXT UNIQUE,            -- idempotency of a chat publication (the draft's id)
    leader_id     INTEGER NOT NULL,       -- Telegram id of the receiving leader
    leader_name   TEXT NOT NULL,
    created_by    INTEGER,                -- who published it (NULL: the organisation file)
    day           TEXT NOT NULL,          -- local calendar date, YYYY-MM-DD
    start_time    TEXT NOT NULL,          -- local time, HH:MM
    end_time      TEXT NOT NULL,          -- local time, HH:MM
    starts_at     TEXT NOT NULL,          -- the same moments in UTC, for comparisons
    ends_at       TEXT NOT NULL,
    place         TEXT,                   -- where (free text)
    unit          TEXT,                   -- the unit visited (下访), an organisation unit id
    slots         INTEGER NOT NULL CHECK (slots > 0),
    status        TEXT NOT NULL DEFAULT 'open',   -- open | cancelled
    cancel_reason TEXT,
    cancelled_at  TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK (place IS NOT NULL OR unit IS NOT NULL)
);
CREATE INDEX reception_sessions_by_time ON reception_sessions (status, starts_at);
CREATE INDEX reception_sessions_by_leader ON reception_sessions (leader_id, starts_at);

CREATE TABLE reception_bookings (
    id                INTEGER PRIMARY KEY,
    session_id        INTEGER NOT NULL REFERENCES reception_sessions (id),
    user_id           INTEGER NOT NULL,
    user_name         TEXT,
    topic             TEXT NOT NULL,
    case_id           INTEGER REFERENCES cases (id),   -- one of the employee's own cases, optional
    status            TEXT NOT NULL,      -- booked | waiting | cancelled
    booking_key       TEXT UNIQUE,        -- idempotency of a booking (the draft's id)
    created_at        TEXT NOT NULL,
    promoted_at       TEXT,               -- moved from the waitlist to a slot
    cancelled_at      TEXT,
    cancelled_by      TEXT,               -- employee | session
    outcome           TEXT,               -- recorded by the leader after the session
    outcome_at        TEXT,
    outcome_by        INTEGER,
    outcome_event_id  INTEGER REFERENCES events (id),
    -- Reminder state: set in the transaction that queues the reminder (or
    -- 'skipped' when its moment had passed at booking), so a restart neither
    -- misses a reminder nor sends it twice.
    reminded_day      TEXT,
    reminded_hours    TEXT
);
CREATE UNIQUE INDEX reception_one_active_booking
    ON reception_bookings (session_id, user_id) WHERE status IN ('booked', 'waiting');
CREATE INDEX reception_bookings_by_session ON reception_bookings (session_id, status, id);
CREATE INDEX reception_bookings_by_user ON reception_bookings (user_id, status);

-- The last line of defence against overbooking: whatever the code does, the
-- database refuses a booked row beyond the session's slots.
CREATE TRIGGER reception_capacity_insert BEFORE INSERT ON reception_bookings
WHEN NEW.status = 'booked' AND (
    SELECT count(*) FROM reception_bookings WHERE session_id = NEW.session_id AND status = 'booked'
) >= (SELECT slots FROM reception_sessions WHERE id = NEW.session_id)
BEGIN
    SELECT RAISE(ABORT, 'reception session is full');
END;

CREATE TRIGGER reception_capacity_update BEFORE UPDATE OF status ON reception_bookings
WHEN NEW.status = 'booked' AND OLD.status != 'booked' AND (
    SELECT count(*) FROM reception_bookings WHERE session_id = NEW.session_id AND status = 'booked'
) >= (SELECT slots FROM reception_sessions WHERE id = NEW.session_id)
BEGIN
    SELECT RAISE(ABORT, 'reception session is full');
END;
