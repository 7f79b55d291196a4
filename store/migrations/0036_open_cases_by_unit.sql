-- Today's figures of /stats and the dashboard (store/indicators.py, IndicatorService._now):
-- the open cases of each unit at each warning level and past their deadline. They were
-- read from cases_by_rank, in the queue's order, then sorted by unit: 33 ms of a leader's
-- view at a million cases (33,000 open). This index holds the same open cases in the
-- order the count groups them, with every column a viewer's scope names: 8 ms, and 1.5
-- bytes a case (docs/benchmarks.md).
CREATE INDEX IF NOT EXISTS cases_open_by_unit ON cases (unit, category, kind, confidential, queue_rank, queue_due)
    WHERE queue_rank IS NOT NULL;
