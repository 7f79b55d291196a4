-- 复查 / 复核 (store/review.py, issue #24): the collective study behind an
-- opinion, and the hearing (听证) that stops the review clock.
--
-- clock_stopped_on: the day a hearing was scheduled while the case is under
-- review or re-review; while it is set the case runs against no deadline
-- (current_deadline and CURRENT_DUE_SQL), so no reminder, warning or
-- escalation counts the hearing's days. When the hearing is held or
-- cancelled it is cleared and review_due / rereview_due move by the days
-- stopped (Organization.resumed_due).
ALTER TABLE cases ADD COLUMN clock_stopped_on TEXT;

-- One row per hearing; at most one not yet held or cancelled per case.
CREATE TABLE hearings (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    level         INTEGER NOT NULL,             -- 1 复查, 2 复核
    held_on       TEXT NOT NULL,                -- the day of the hearing
    place         TEXT NOT NULL,
    note          TEXT,
    scheduled_by  INTEGER NOT NULL,
    scheduled_at  TEXT NOT NULL,
    stopped_on    TEXT NOT NULL,                -- the clock stood still from this day
    ended         TEXT,                         -- held | cancelled; NULL while it is pending
    ended_on      TEXT,
    ended_by      INTEGER,
    days          INTEGER,                      -- the days stopped, counted as the limit counts
    due_before    TEXT,
    due_after     TEXT
);
CREATE UNIQUE INDEX hearings_pending ON hearings (case_id) WHERE ended IS NULL;

-- 集体研究: who studied each 复查 / 复核 opinion, and when (names as they were then).
CREATE TABLE review_studies (
    event_id      INTEGER PRIMARY KEY REFERENCES events (id),
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    level         INTEGER NOT NULL,
    studied_on    TEXT NOT NULL,
    participants  TEXT NOT NULL                 -- JSON: [{"id", "name", "leader"}]
);
CREATE INDEX review_studies_by_case ON review_studies (case_id);

-- An opinion written in the chat waits here while its reviewer picks who studied it.
CREATE TABLE review_drafts (
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    reviewer_id   INTEGER NOT NULL,
    level         INTEGER NOT NULL,
    decision      TEXT NOT NULL,
    body          TEXT NOT NULL,
    participants  TEXT NOT NULL,                -- JSON: staff ids
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (case_id, reviewer_id)
);
