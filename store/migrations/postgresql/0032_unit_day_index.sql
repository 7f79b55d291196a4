-- cases_indicators (migration 0005; SQLite: ../0032_unit_day_index.sql, the
-- same) held seven columns so that a query of the benchmark's own could count
-- from the index alone; no query of the store does
-- that. Every one that uses it (25 distinct queries traced from the suite and
-- explained on a million cases: bench.sqltrace, bench.index_usage) finds a
-- unit's cases received in a period by the first two columns, then reads the
-- rows. Those two remain, under a name that says what they are: 101 bytes a case
-- fewer (docs/benchmarks.md). Written to run twice alike.
DROP INDEX IF EXISTS cases_indicators;
CREATE INDEX IF NOT EXISTS cases_by_unit_day ON cases (unit, submitted_at);
