-- PostgreSQL form of ../0005_indexes_at_scale.sql.

-- Officers' queues: the open cases of their units and categories, with all
-- the queue filters on and sorts by, so a queue is read from this index alone
-- and only its one page of cases from the table (an officer of a whole
-- company waited 1.7 s at a million cases with cases_by_unit).
CREATE INDEX cases_queue ON cases (status, unit, category, kind, answer_due, accept_due);

-- The deadline sweep: cases awaiting an answer, by answer date.
CREATE INDEX cases_by_answer_due ON cases (status, answer_due);

-- Indicators per unit for a period (received, accepted and answered on time,
-- rated, satisfied), for the units a query names (a leader's subtree; the
-- whole tree for the top): read from this index alone, never from the cases.
CREATE INDEX cases_indicators ON cases (unit, submitted_at, accept_due, accepted_at, answer_due, decided_at, rating);
