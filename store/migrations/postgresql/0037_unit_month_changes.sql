-- What changed, by the month a case was submitted in and its unit (store/trend_memo.py), as on
-- SQLite (../0037_unit_month_changes.sql): it replaces 0033's count by month alone.
DROP TRIGGER IF EXISTS case_month_inserted ON cases;
DROP TRIGGER IF EXISTS case_month_changed ON cases;
DROP FUNCTION IF EXISTS case_month_changed();
DROP TABLE IF EXISTS case_month_changes;

CREATE TABLE IF NOT EXISTS unit_month_changes (
    month   TEXT NOT NULL,  -- YYYY-MM of submitted_at (UTC)
    unit    TEXT NOT NULL,
    changes BIGINT NOT NULL,
    PRIMARY KEY (month, unit)
);

-- Once per month, unit and transaction, as 0033 did per month: a counter row updated again in the
-- same transaction leaves one more version behind that PostgreSQL walks on every later update of it.
-- The later changes are remembered in a setting local to the transaction (named by a digest: a
-- setting's name takes letters, digits and underscores only).
CREATE OR REPLACE FUNCTION unit_month_mark(in_month text, of_unit text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    setting text := 'petition.changed_' || md5(in_month || '/' || of_unit);
BEGIN
    IF current_setting(setting, true) IS DISTINCT FROM 'y' THEN
        PERFORM set_config(setting, 'y', true);
        INSERT INTO unit_month_changes (month, unit, changes) VALUES (in_month, of_unit, 1)
            ON CONFLICT (month, unit) DO UPDATE SET changes = unit_month_changes.changes + 1;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION unit_month_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;  -- the month, YYYY-MM
BEGIN
    IF TG_TABLE_NAME = 'events' THEN
        PERFORM unit_month_mark(to_char(c.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM'), c.unit)
            FROM cases c WHERE c.id = NEW.case_id;
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM unit_month_mark(to_char(NEW.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM'), NEW.unit);
    ELSE
        changed := to_char(LEAST(OLD.submitted_at, NEW.submitted_at) AT TIME ZONE 'UTC', 'YYYY-MM');
        PERFORM unit_month_mark(changed, OLD.unit);
        IF NEW.unit IS DISTINCT FROM OLD.unit THEN
            PERFORM unit_month_mark(changed, NEW.unit);
        END IF;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS unit_month_inserted ON cases;
CREATE TRIGGER unit_month_inserted AFTER INSERT ON cases FOR EACH ROW EXECUTE FUNCTION unit_month_changed();
DROP TRIGGER IF EXISTS unit_month_changed ON cases;
CREATE TRIGGER unit_month_changed
AFTER UPDATE OF submitted_at, unit, category, kind, confidential, status, first_answer_at, accept_due, imported,
    decided_at, answer_due, rating, repeat_count, lead_id, served_on, channel, review_due, rereview_due,
    clock_stopped_on ON cases
FOR EACH ROW
WHEN ((OLD.submitted_at, OLD.unit, OLD.category, OLD.kind, OLD.confidential, OLD.status, OLD.first_answer_at,
       OLD.accept_due, OLD.imported, OLD.decided_at, OLD.answer_due, OLD.rating, OLD.repeat_count, OLD.lead_id,
       OLD.served_on, OLD.channel, OLD.review_due, OLD.rereview_due, OLD.clock_stopped_on)
  IS DISTINCT FROM (NEW.submitted_at, NEW.unit, NEW.category, NEW.kind, NEW.confidential, NEW.status,
                    NEW.first_answer_at, NEW.accept_due, NEW.imported, NEW.decided_at, NEW.answer_due, NEW.rating,
                    NEW.repeat_count, NEW.lead_id, NEW.served_on, NEW.channel, NEW.review_due, NEW.rereview_due,
                    NEW.clock_stopped_on))
    EXECUTE FUNCTION unit_month_changed();
DROP TRIGGER IF EXISTS unit_month_followed_up ON events;
CREATE TRIGGER unit_month_followed_up AFTER INSERT ON events FOR EACH ROW
WHEN (NEW.action IN ('followup', 'redo'))
    EXECUTE FUNCTION unit_month_changed();

-- The unit beside the date in the two indexes a unit's month counted again reads (as on SQLite).
DROP INDEX IF EXISTS cases_by_decided;
CREATE INDEX cases_by_decided ON cases (decided_at, unit);
DROP INDEX IF EXISTS cases_by_answer_due;
CREATE INDEX cases_by_answer_due ON cases (status, answer_due, unit);

-- A case's follow-ups and redos, each from an index of its own (as on SQLite).
CREATE INDEX IF NOT EXISTS events_followed_up ON events (case_id) WHERE action = 'followup';
CREATE INDEX IF NOT EXISTS events_redone ON events (case_id) WHERE action = 'redo';
