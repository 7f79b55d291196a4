-- Fewer bytes per case (issue #22). New journal events keep their hash as
-- 32 bytes in `digest` instead of two 64-character hex texts: `hash` and
-- `prev_hash` stay empty on those rows (the previous hash is the previous
-- row's), and `data` is stored without spaces. Rows written before keep
-- their hex text: no stored event is rewritten, and the chain runs on over
-- both (store/journal.py computes every hash over the same canonical form).
-- Adding a column rewrites no row in SQLite (4.2 s for the whole migration at 100,000 cases, the index builds).
ALTER TABLE events ADD COLUMN digest BLOB;

-- Indexes no query needs any more, or wider than their queries (the evidence,
-- query by query, is in docs/benchmarks.md: `bench/index_usage.py` EXPLAINs
-- every statement the store runs in its tests against a 100,000-case database).
-- events_by_action (action, case_id, at): every look-up of events by action is
-- for one case, which events_by_case finds (a case has a handful of events);
-- only the indicators' first answer (min(at) of accept, decline, decide, for
-- each case they count) reads it for many cases: a partial index of those rows.
DROP INDEX events_by_action;
CREATE INDEX events_first_answer ON events (case_id) WHERE action IN ('accept', 'decline', 'decide');
-- cases_queue: the queue reads cases_by_rank (0021); what still filtered on
-- status and unit needs those two columns only. cases_by_status: no query
-- chose it (status alone is served by the first column of the index below).
DROP INDEX cases_queue;
DROP INDEX cases_by_status;
CREATE INDEX cases_by_status_unit ON cases (status, unit);
