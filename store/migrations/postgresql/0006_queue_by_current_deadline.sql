-- PostgreSQL form of ../0006_queue_by_current_deadline.sql.
-- The officers' queue sorts by the deadline a case runs against now
-- (store.review.CURRENT_DUE_SQL), which for a case in review or re-review is
-- its review_due or rereview_due: the queue index holds those too, so a
-- queue is still read from this index alone.
DROP INDEX cases_queue;
CREATE INDEX cases_queue ON cases (status, unit, category, kind, answer_due, accept_due, review_due, rereview_due);
