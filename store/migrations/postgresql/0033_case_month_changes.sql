-- What changed, by the month a case was submitted in (store/trend_memo.py; SQLite:
-- ../0033_case_month_changes.sql, the same). The dashboard's twelve trend months
-- count some 30,000 cases each at a million; a past month's figures change only
-- when a case that counts in it changes, and every such case was submitted in
-- that month or before. Each insert or change of a column the trend
-- figures read adds one to its case's month (UTC), so a month's figures
-- remembered with the sum of the changes up to it are current while that sum
-- is. The columns are trend_memo.WATCHED; tests/test_trend_memo.py checks they
-- are every column of cases the trend's SQL and the leaders' scopes read. No
-- case is ever deleted (a merge is a status; retention prunes sent notices only).
CREATE TABLE IF NOT EXISTS case_month_changes (
    month   TEXT PRIMARY KEY,  -- YYYY-MM of submitted_at (UTC)
    changes BIGINT NOT NULL
);

-- Once per month and transaction: a counter row updated again in the same transaction leaves one
-- more version behind that PostgreSQL walks on every later update of it (a copy of a million cases
-- in one transaction grew quadratic). A transaction's first change to a month is enough to make it
-- look changed to whoever reads after its commit; the later ones are remembered in a setting local
-- to the transaction.
CREATE OR REPLACE FUNCTION case_month_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moment timestamptz;
    changed text;  -- the month, YYYY-MM
BEGIN
    IF TG_OP = 'INSERT' THEN
        moment := NEW.submitted_at;
    ELSE
        moment := LEAST(OLD.submitted_at, NEW.submitted_at);
    END IF;
    changed := to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM');
    IF current_setting('petition.changed_' || replace(changed, '-', '_'), true) IS DISTINCT FROM 'y' THEN
        PERFORM set_config('petition.changed_' || replace(changed, '-', '_'), 'y', true);
        INSERT INTO case_month_changes (month, changes) VALUES (changed, 1)
            ON CONFLICT (month) DO UPDATE SET changes = case_month_changes.changes + 1;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS case_month_inserted ON cases;
CREATE TRIGGER case_month_inserted AFTER INSERT ON cases FOR EACH ROW EXECUTE FUNCTION case_month_changed();
DROP TRIGGER IF EXISTS case_month_changed ON cases;
CREATE TRIGGER case_month_changed
AFTER UPDATE OF submitted_at, unit, category, kind, confidential, status, first_answer_at, accept_due, imported,
    decided_at, answer_due, rating ON cases
FOR EACH ROW
WHEN ((OLD.submitted_at, OLD.unit, OLD.category, OLD.kind, OLD.confidential, OLD.status, OLD.first_answer_at,
       OLD.accept_due, OLD.imported, OLD.decided_at, OLD.answer_due, OLD.rating)
  IS DISTINCT FROM (NEW.submitted_at, NEW.unit, NEW.category, NEW.kind, NEW.confidential, NEW.status,
                    NEW.first_answer_at, NEW.accept_due, NEW.imported, NEW.decided_at, NEW.answer_due, NEW.rating))
    EXECUTE FUNCTION case_month_changed();
