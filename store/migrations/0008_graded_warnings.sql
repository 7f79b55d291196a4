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
