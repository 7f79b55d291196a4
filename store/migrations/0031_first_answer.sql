-- The moment of each case's first answer (受理, 不予受理 or 处理意见: its first
-- accept, decline or decide event), which 及时受理率 compares with the
-- acceptance deadline (store/indicators.py). Each indicator query looked it up
-- in the journal for every case it counted, once per figure that named it: at
-- a million cases a month's figures took 215 ms, 71 without the look-ups, and a
-- leader's dashboard (a month and twelve trend months) two seconds
-- (docs/benchmarks.md). Set by the transaction that journals the answer
-- (store.context.StoreContext.event); filled here from the journal, whose
-- partial index served only that look-up and goes.
ALTER TABLE cases ADD COLUMN first_answer_at TEXT;
UPDATE cases SET first_answer_at = (
    SELECT min(e.at) FROM events e
    WHERE e.case_id = cases.id AND e.action IN ('accept', 'decline', 'decide'))
WHERE id IN (SELECT case_id FROM events WHERE action IN ('accept', 'decline', 'decide'));
DROP INDEX events_first_answer;
