-- The warning level each open case was last told of (issue #22): the daily
-- sweep (store/supervision.py, sweep_warnings) reads only the cases whose
-- stored rank (queue_rank, queue_due: migration 0021) is 警告 or higher and
-- differs from what was told, from a partial index that holds those alone.
-- Before, it read every case in warning and looked each up in warning_notices:
-- some 20,000 a day at a million cases, to find the few whose level rose.
--   told_rank  the rank last told (2 警告, 3 严重警告, 4 超期); NULL: none
--   told_due   the deadline it was told about (a new deadline counts again)
-- Set in the transaction that records the notice in warning_notices (which
-- stays the record of what was sent, to whom and when). The cases already told
-- of their current level are marked here from warning_notices; a case told
-- before it had a stored rank is marked by the first sweep that reads it.
ALTER TABLE cases ADD COLUMN told_rank INTEGER;
ALTER TABLE cases ADD COLUMN told_due TEXT;
UPDATE cases SET
    told_rank = (SELECT max(CASE w.level WHEN 'warning' THEN 2 WHEN 'serious' THEN 3 WHEN 'overdue' THEN 4 END)
                 FROM warning_notices w WHERE w.case_id = cases.id AND w.due = cases.queue_due),
    told_due = queue_due
WHERE queue_rank IS NOT NULL
  AND EXISTS (SELECT 1 FROM warning_notices w WHERE w.case_id = cases.id AND w.due = cases.queue_due);
-- The expression is store.supervision.UNTOLD, word for word: a query uses a
-- partial index only when its WHERE states the index's own. Keyed by the rank,
-- as cases_by_rank is, so that SQLite (without statistics) prefers the smaller.
CREATE INDEX cases_untold ON cases (queue_rank)
    WHERE queue_rank >= 2 AND (told_rank IS NULL OR told_due <> queue_due OR told_rank < queue_rank);
