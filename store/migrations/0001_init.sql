-- The case store: cases, their append-only event journal, attachments,
-- the notification outbox, drafts/conversation state and user preferences.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- A secret for pseudonyms of confidential petitioners: without it a
-- pseudonym could be reversed by hashing every plausible Telegram id.
INSERT INTO meta (key, value) VALUES ('pseudonym_secret', lower(hex(randomblob(32))));

CREATE TABLE users (
    telegram_id  INTEGER PRIMARY KEY,
    language     TEXT,              -- chosen with /language; NULL follows Telegram
    tg_language  TEXT,              -- last language_code Telegram reported
    first_name   TEXT,
    username     TEXT,
    updated_at   TEXT NOT NULL
);

CREATE TABLE case_numbers (
    year     INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL
);

CREATE TABLE cases (
    id               INTEGER PRIMARY KEY,
    number           TEXT NOT NULL UNIQUE,
    submit_key       TEXT NOT NULL UNIQUE,   -- idempotency: one case per submitted draft
    petitioner_id    INTEGER NOT NULL,
    petitioner_name  TEXT,                   -- NULL when confidential
    petitioner_phone TEXT,                   -- NULL when confidential or not shared
    confidential     INTEGER NOT NULL DEFAULT 0,
    pseudonym        TEXT NOT NULL,
    category         TEXT NOT NULL,
    kind             TEXT NOT NULL,          -- suggestion | report | claim
    unit             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    details          TEXT NOT NULL,
    people           INTEGER,
    desired_outcome  TEXT,
    status           TEXT NOT NULL,
    assignee_id      INTEGER,
    decision         TEXT,                   -- support | explain | reject
    rating           TEXT,
    submitted_at     TEXT NOT NULL,
    accepted_at      TEXT,
    decided_at       TEXT,
    closed_at        TEXT,
    accept_due       TEXT NOT NULL,          -- local calendar date
    answer_due       TEXT,                   -- local calendar date, set on acceptance
    extended_days    INTEGER NOT NULL DEFAULT 0,
    language         TEXT,
    updated_at       TEXT NOT NULL
);
CREATE INDEX cases_by_petitioner ON cases (petitioner_id, id DESC);
CREATE INDEX cases_by_status ON cases (status, accept_due, answer_due);
CREATE INDEX cases_by_unit ON cases (unit, category, submitted_at);

-- The journal: append-only, each row chained to the previous by SHA-256.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases (id),
    at           TEXT NOT NULL,
    actor_id     INTEGER,
    actor_role   TEXT NOT NULL,              -- petitioner | officer | leader | admin | system
    action       TEXT NOT NULL,
    status_after TEXT NOT NULL,
    body         TEXT,
    data         TEXT NOT NULL DEFAULT '{}',
    public       INTEGER NOT NULL DEFAULT 1, -- on the petitioner's timeline
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX events_by_case ON events (case_id, id);

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event journal is append-only');
END;

CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event journal is append-only');
END;

CREATE TABLE attachments (
    id             INTEGER PRIMARY KEY,
    case_id        INTEGER NOT NULL REFERENCES cases (id),
    event_id       INTEGER REFERENCES events (id),
    kind           TEXT NOT NULL,            -- photo | document | voice | video | audio
    file_id        TEXT NOT NULL,
    file_unique_id TEXT,
    file_name      TEXT,
    mime_type      TEXT,
    size           INTEGER,
    added_at       TEXT NOT NULL
);
CREATE INDEX attachments_by_case ON attachments (case_id, id);

-- Notifications caused by a change, written in the change's transaction.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    case_id     INTEGER REFERENCES cases (id),
    event_id    INTEGER REFERENCES events (id),
    params      TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    progress    INTEGER NOT NULL DEFAULT 0,   -- messages of this item already sent
    sent_at     TEXT,
    failed_at   TEXT,
    last_error  TEXT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL AND failed_at IS NULL;

-- Conversation states (PTB persistence) and the drafts they carry.
CREATE TABLE conversations (
    name           TEXT NOT NULL,
    key            TEXT NOT NULL,
    state          TEXT,
    data           TEXT NOT NULL DEFAULT '{}',
    last_update_id INTEGER,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (name, key)
);
