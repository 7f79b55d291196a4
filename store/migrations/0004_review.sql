-- Statutory clocks after the written opinion (review, re-review, rating),
-- repeat and collective petitions, the sweep's memory of what it has sent,
-- and alerts to leaders.

-- The petitioner's windows and the reviewers' deadlines: local calendar dates.
-- rate the written opinion by then
ALTER TABLE cases ADD COLUMN rating_due TEXT;
ALTER TABLE cases ADD COLUMN rated_at TEXT;
-- ask for review (复查) by then (Art. 35)
ALTER TABLE cases ADD COLUMN review_request_due TEXT;
-- review opinion due (Art. 35)
ALTER TABLE cases ADD COLUMN review_due TEXT;
ALTER TABLE cases ADD COLUMN reviewed_at TEXT;
-- support | explain | reject
ALTER TABLE cases ADD COLUMN review_decision TEXT;
-- ask for re-review (复核) by then (Art. 36)
ALTER TABLE cases ADD COLUMN rereview_request_due TEXT;
-- re-review opinion due (Art. 36)
ALTER TABLE cases ADD COLUMN rereview_due TEXT;
ALTER TABLE cases ADD COLUMN rereviewed_at TEXT;
ALTER TABLE cases ADD COLUMN rereview_decision TEXT;
-- 0 none, 1 review, 2 re-review
ALTER TABLE cases ADD COLUMN review_level INTEGER NOT NULL DEFAULT 0;
-- 不再受理 after re-review
ALTER TABLE cases ADD COLUMN final INTEGER NOT NULL DEFAULT 0;
-- Repeat petitions: the latest earlier case of the same petitioner, category and unit.
-- its case number
ALTER TABLE cases ADD COLUMN repeat_of TEXT;
-- earlier ones in the window
ALTER TABLE cases ADD COLUMN repeat_count INTEGER NOT NULL DEFAULT 0;
-- the collective alert the case belongs to
ALTER TABLE cases ADD COLUMN collective_alert INTEGER;

CREATE INDEX cases_by_petitioner_matter ON cases (petitioner_id, category, unit, submitted_at);
CREATE INDEX cases_by_decided ON cases (decided_at);
-- Indicators look up each case's first answer (accept, decline, decide).
CREATE INDEX events_by_action ON events (action, case_id, at);

-- What the deadline sweep has sent: one row per case, stage, deadline and
-- level, inserted in the transaction that queues the notifications, so a
-- restarted sweep never sends a reminder twice and never forgets one.
CREATE TABLE reminders (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    stage      TEXT NOT NULL,   -- accept | answer | review | rereview
    due        TEXT NOT NULL,   -- the deadline it is about (an extension makes a new one)
    level      TEXT NOT NULL,   -- before | due | escalate0 | escalate1
    recipients TEXT NOT NULL DEFAULT '[]',
    sent_at    TEXT NOT NULL,
    UNIQUE (case_id, stage, due, level)
);

-- Once-per-period jobs of the sweep (the weekly digest): key = job and period.
CREATE TABLE sweep_marks (
    key     TEXT PRIMARY KEY,
    done_at TEXT NOT NULL
);

-- Collective petitions (集体访): raised at once to the unit's leaders and
-- every leader above, listed by /alerts until a leader acknowledges.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,      -- collective
    reason          TEXT NOT NULL,      -- cluster (many petitioners) | declared (people involved)
    case_id         INTEGER NOT NULL REFERENCES cases (id),
    unit            TEXT NOT NULL,
    category        TEXT NOT NULL,
    people          INTEGER NOT NULL,   -- distinct petitioners, or people declared
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by INTEGER
);
CREATE INDEX alerts_open ON alerts (unit, category, created_at);
