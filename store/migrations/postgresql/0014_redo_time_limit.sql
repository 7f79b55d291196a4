-- 重办 (/redo, store/supervision.py): the handling time limit in days when it
-- is not the statutory handle_days, i.e. after a redo (redo_days, plus an
-- extension granted after it). Graded warnings measure the share used against
-- it. NULL: handle_days plus extended_days. Cleared when a case is accepted.
ALTER TABLE cases ADD COLUMN handle_limit INTEGER;
