-- Graded warnings (预警分级, store/supervision.py): the notices sent when a
-- case entered 警告, 严重警告 or 超期, one row per case, stage, deadline and
-- level, inserted in the transaction that queues the notices, so a restarted
-- sweep never tells a level twice and never forgets one. An extension or a
-- transfer makes a new deadline, and the levels count again.
CREATE TABLE warning_notices (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    stage      TEXT NOT NULL,   -- accept | answer | review | rereview
    due        TEXT NOT NULL,   -- the deadline it is about
    level      TEXT NOT NULL,   -- warning | serious | overdue
    recipients TEXT NOT NULL DEFAULT '[]',
    sent_at    TEXT NOT NULL,
    UNIQUE (case_id, stage, due, level)
);

-- Supervision orders (督办): a leader above the case's unit (or an admin)
-- orders progress to be reported by a day, with an instruction (批示). The
-- handler's /progress sets progress_at; a newer order on the same case closes
-- the older one.
CREATE TABLE supervisions (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    leader_id   INTEGER NOT NULL,   -- who ordered it (督办领导)
    instruction TEXT NOT NULL,      -- 批示
    due         TEXT NOT NULL,      -- progress to be reported by this day
    created_at  TEXT NOT NULL,
    progress_at TEXT,               -- the last progress report on this order
    closed_at   TEXT,               -- replaced by a newer order
    reason      TEXT                -- NULL: ordered by a leader; transfers | repeats: lifted by itself (提级督办)
);
CREATE INDEX supervisions_by_case ON supervisions (case_id, closed_at);

-- No progress by the due day: a reminder to the handler, then the next level
-- up; one row per order and step, in the sweep's transaction with its notices.
CREATE TABLE supervision_marks (
    id             INTEGER PRIMARY KEY,
    supervision_id INTEGER NOT NULL REFERENCES supervisions (id),
    level          TEXT NOT NULL,   -- remind | escalate
    recipients     TEXT NOT NULL DEFAULT '[]',
    sent_at        TEXT NOT NULL,
    UNIQUE (supervision_id, level)
);
