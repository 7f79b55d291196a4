-- Moments to the second, and two indexes fewer or smaller (issue #22, bytes per case).
-- From this version the store writes a moment as 2026-11-20T02:00:00Z (store/clock.py,
-- iso): twenty characters where 2026-11-20T02:00:00.123456+00:00 took thirty-two.
--
-- Texts of the two forms compare in the order of their moments but within one second:
-- 2026-10-31T16:00:00.25+00:00 sorts below 2026-10-31T16:00:00Z, so a case submitted in
-- the first second of a month (Beijing time) would count in the month before. The
-- cases' moments, which the indicators and the desk count by period, are therefore
-- rewritten here to the new form (to the second, as the store now writes them): one
-- pass over the table, 50 s with the rest of 0035 at a million cases; the trend's remembered
-- months count the change (case_month_changed) and are computed afresh. The journals
-- are append-only and keep their text (store/journal.py hashes every moment in the
-- older form); no query compares their moments with a bound.
UPDATE cases SET
    submitted_at = CASE WHEN submitted_at LIKE '%+00:00' THEN substr(submitted_at, 1, 19) || 'Z' ELSE submitted_at END,
    accepted_at = CASE WHEN accepted_at LIKE '%+00:00' THEN substr(accepted_at, 1, 19) || 'Z' ELSE accepted_at END,
    decided_at = CASE WHEN decided_at LIKE '%+00:00' THEN substr(decided_at, 1, 19) || 'Z' ELSE decided_at END,
    closed_at = CASE WHEN closed_at LIKE '%+00:00' THEN substr(closed_at, 1, 19) || 'Z' ELSE closed_at END,
    updated_at = CASE WHEN updated_at LIKE '%+00:00' THEN substr(updated_at, 1, 19) || 'Z' ELSE updated_at END,
    rated_at = CASE WHEN rated_at LIKE '%+00:00' THEN substr(rated_at, 1, 19) || 'Z' ELSE rated_at END,
    reviewed_at = CASE WHEN reviewed_at LIKE '%+00:00' THEN substr(reviewed_at, 1, 19) || 'Z' ELSE reviewed_at END,
    rereviewed_at = CASE WHEN rereviewed_at LIKE '%+00:00' THEN substr(rereviewed_at, 1, 19) || 'Z'
                         ELSE rereviewed_at END,
    first_answer_at = CASE WHEN first_answer_at LIKE '%+00:00' THEN substr(first_answer_at, 1, 19) || 'Z'
                           ELSE first_answer_at END
WHERE submitted_at LIKE '%+00:00' OR accepted_at LIKE '%+00:00' OR decided_at LIKE '%+00:00'
   OR closed_at LIKE '%+00:00' OR updated_at LIKE '%+00:00' OR rated_at LIKE '%+00:00'
   OR reviewed_at LIKE '%+00:00' OR rereviewed_at LIKE '%+00:00' OR first_answer_at LIKE '%+00:00';
--
-- The repeat check (the same person, category and unit since a day) had an index of its
-- own, 67 bytes a case at a million. Without it SQLite reads the unit's cases of the
-- category since that day (cases_by_unit), as it already did when the person's phone
-- is known: at a million cases a thousand-odd index entries, under a millisecond, once
-- per submission (docs/benchmarks.md). A person's own cases keep cases_by_petitioner.
DROP INDEX IF EXISTS cases_by_petitioner_matter;
-- A case's events in the order they were journaled: an entry of an index on a rowid
-- table ends with the rowid, which id is, so (case_id) alone is in that order.
DROP INDEX IF EXISTS events_by_case;
CREATE INDEX events_by_case ON events (case_id);
