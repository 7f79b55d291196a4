-- Today's figures of /stats and the dashboard, as on SQLite (../0036_open_cases_by_unit.sql).
CREATE INDEX IF NOT EXISTS cases_open_by_unit ON cases (unit, category, kind, confidential, queue_rank, queue_due)
    WHERE queue_rank IS NOT NULL;
