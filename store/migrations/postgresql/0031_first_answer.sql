-- The moment of each case's first answer (受理, 不予受理 or 处理意见: its first
-- accept, decline or decide event; SQLite: ../0031_first_answer.sql, the same
-- but for the column's type), which 及时受理率 compares with the acceptance
-- deadline (store/indicators.py). Each indicator query looked it up in the
-- journal for every case it counted: at a million cases a leader's dashboard
-- (a month and twelve trend months) took two seconds (docs/benchmarks.md). Set
-- by the transaction that journals the answer (store.context.StoreContext.event);
-- filled here from the journal, whose partial index served only that look-up
-- and goes. The rows rewritten are vacuumed by autovacuum (migration 0030), or
-- by the administrator after upgrading a large database (docs/deployment.md).
ALTER TABLE cases ADD COLUMN first_answer_at timestamptz;
UPDATE cases SET first_answer_at = f.at
FROM (SELECT case_id, min(at) AS at FROM events
      WHERE action IN ('accept', 'decline', 'decide') GROUP BY case_id) f
WHERE cases.id = f.case_id;
DROP INDEX events_first_answer;
ANALYZE cases;
