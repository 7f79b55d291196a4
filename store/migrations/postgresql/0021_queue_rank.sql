-- A queue that reads a page, not the whole scope (issue #22). Each open case
-- carries its graded-warning rank (0 normal … 4 超期, store/supervision.py)
-- and the deadline it runs against now, so /queue and /alerts read the first
-- page (and each next one) from cases_by_rank in the order people need,
-- instead of computing the level of every case in scope and sorting them.
--   queue_rank   the level's rank today; NULL when the case is not open
--   queue_due    the current deadline, '9999-12-31' when it has none
--   rank_next_on the day its rank next changes by the passing of days (the
--                sweep re-ranks the cases due that day); NULL: never by itself
-- Kept current by the store whenever a case changes (StoreContext publishes
-- CaseChanged) and by the sweep. rank_basis holds the thresholds and time
-- limits the ranks were computed with: when it is empty (here, after the
-- upgrade) or differs from the configuration, the sweep re-ranks every open
-- case, so this migration writes no case row and stays fast at any size.
ALTER TABLE cases ADD COLUMN queue_rank INTEGER;
ALTER TABLE cases ADD COLUMN queue_due TEXT;
ALTER TABLE cases ADD COLUMN rank_next_on TEXT;
-- The scope's columns ride along, so a queue's count is read from this index alone.
CREATE INDEX cases_by_rank ON cases (queue_rank DESC, queue_due, id, unit, category, kind, confidential, cohandlers)
    WHERE queue_rank IS NOT NULL;
CREATE INDEX cases_by_rank_day ON cases (rank_next_on) WHERE rank_next_on IS NOT NULL;
CREATE TABLE rank_basis (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    basis TEXT NOT NULL
);
