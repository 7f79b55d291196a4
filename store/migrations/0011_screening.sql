-- Regular dispute screening (矛盾纠纷排查, store/screening.py).
--
-- screening_reports: one row per unit and period once the unit has filed:
-- a dispute found in the period (nil = 0) or the explicit nil report
-- 本期未发现矛盾纠纷 (nil = 1). No row: not filed.
CREATE TABLE screening_reports (
    id        INTEGER PRIMARY KEY,
    period    TEXT NOT NULL,      -- 2026-11 (monthly) or 2026-W45 (weekly)
    unit      TEXT NOT NULL,
    nil       INTEGER NOT NULL DEFAULT 0,
    filed_by  INTEGER NOT NULL,
    filed_at  TEXT NOT NULL,
    UNIQUE (period, unit)
);

-- A dispute found by a unit. It shows in every period from the one it was
-- found in (found_day) until the one it was resolved in (resolved_day):
-- open disputes carry over without being entered again.
CREATE TABLE disputes (
    id           INTEGER PRIMARY KEY,
    unit         TEXT NOT NULL,
    period       TEXT NOT NULL,   -- found in this period
    found_day    TEXT NOT NULL,   -- local date it was filed
    type         TEXT NOT NULL,   -- a [screening] type id
    subject      TEXT NOT NULL,
    people       INTEGER NOT NULL,
    risk         TEXT NOT NULL,   -- low | medium | high (低 / 中 / 高)
    status       TEXT NOT NULL,   -- screening | mediating | resolved | stable (排查中 / 调处中 / 已化解 / 稳控)
    responsible  TEXT NOT NULL,   -- the person responsible (包案人)
    next_step    TEXT NOT NULL,
    case_id      INTEGER REFERENCES cases (id),   -- the petition case it became or is linked to
    filed_by     INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    resolved_day TEXT,            -- local date it was marked 已化解
    submit_key   TEXT UNIQUE      -- the filing conversation's draft id: a resubmission returns the same dispute
);
CREATE INDEX disputes_by_unit ON disputes (unit, resolved_day);

-- Dated notes on a dispute: each update changes its status and adds one.
CREATE TABLE dispute_notes (
    id            INTEGER PRIMARY KEY,
    dispute_id    INTEGER NOT NULL REFERENCES disputes (id),
    day           TEXT NOT NULL,
    at            TEXT NOT NULL,
    actor_id      INTEGER NOT NULL,
    status_before TEXT,
    status_after  TEXT NOT NULL,
    text          TEXT NOT NULL
);
CREATE INDEX dispute_notes_by_dispute ON dispute_notes (dispute_id, id);

-- The request to file, the reminder and the word to the unit's leaders: one
-- row per period, unit and step, written in the sweep's transaction with its
-- outbox rows, so a rerun or a restart repeats nothing and misses nothing.
CREATE TABLE screening_notices (
    id         INTEGER PRIMARY KEY,
    period     TEXT NOT NULL,
    unit       TEXT NOT NULL,
    level      TEXT NOT NULL,   -- request | remind | escalate
    recipients TEXT NOT NULL DEFAULT '[]',
    sent_at    TEXT NOT NULL,
    UNIQUE (period, unit, level)
);

-- Every screening action, append-only with a hash chain of its own (the case
-- journal's rows each belong to a case; these belong to a unit and period).
CREATE TABLE screening_journal (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor_id   INTEGER,
    actor_role TEXT NOT NULL,
    action     TEXT NOT NULL,   -- file | nil | update | link | request | remind | escalate
    period     TEXT NOT NULL,
    unit       TEXT NOT NULL,
    dispute_id INTEGER,
    data       TEXT NOT NULL DEFAULT '{}',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE TRIGGER screening_journal_append_only_update BEFORE UPDATE ON screening_journal
BEGIN
    SELECT RAISE(ABORT, 'the screening journal is append-only');
END;
CREATE TRIGGER screening_journal_append_only_delete BEFORE DELETE ON screening_journal
BEGIN
    SELECT RAISE(ABORT, 'the screening journal is append-only');
END;
