-- Lead and co-handling units (主办 / 协办, store/supervision.py): /cohandle
-- names a unit that works on a case with its lead unit (cases.unit). The
-- co-handling unit's staff may read the case, add internal notes and report
-- progress, and are reminded with it; the lead unit alone answers and decides.
-- One row per case and unit; removing a co-handling unit deletes its row (the
-- journal keeps both steps). cases.cohandlers repeats the units as a JSON list,
-- written in the same transaction, so every loaded case carries them for the
-- Python form of scope (the SQL form reads this table).
CREATE TABLE case_cohandlers (
    case_id  BIGINT NOT NULL REFERENCES cases (id),
    unit     TEXT NOT NULL,
    note     TEXT,             -- what the co-handling unit is asked to do
    added_by BIGINT,           -- who named it
    added_at TEXT NOT NULL,
    PRIMARY KEY (case_id, unit)
);
CREATE INDEX case_cohandlers_by_unit ON case_cohandlers (unit, case_id);
ALTER TABLE cases ADD COLUMN cohandlers TEXT NOT NULL DEFAULT '[]';
