-- Approvals (签发, store/approvals.py): an officer's draft of an act named in
-- [approvals] waits here for the nearest leader up the unit tree; only an
-- approved act reaches the petitioner. One draft at a time per case.
CREATE TABLE pending_acts (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    action      TEXT NOT NULL,              -- decline | extend | decide
    params      TEXT NOT NULL,              -- JSON: body, decision, days
    drafted_by  INTEGER NOT NULL,
    drafted_at  TEXT NOT NULL,
    approvers   TEXT NOT NULL,              -- JSON: the leaders who may approve it
    outcome     TEXT,                       -- approved | returned | withdrawn; NULL while it waits
    decided_by  INTEGER,
    decided_at  TEXT
);
CREATE UNIQUE INDEX pending_acts_waiting ON pending_acts (case_id) WHERE outcome IS NULL;
