-- PostgreSQL form of ../0026_postgresql_dates.sql: moments and days in PostgreSQL's own types.
--
-- Until now every moment was the text of store/clock.py iso() (UTC, with
-- microseconds) and every day a 'YYYY-MM-DD' text, as in SQLite. Here they
-- become timestamptz and date: the server compares, indexes and counts days
-- on them natively (store/clock.py local_day_sql and days_between_sql), and
-- 8 bytes (4 for a day) replace 32 (10). store/pg.py loads both back as the
-- texts SQLite holds, so the services, the journal's canonical form and its
-- hash chain see what they saw: verify-journal passes after this migration
-- (tests/test_postgresql_native.py).
--
-- Not converted: reception_bookings.reminded_day (a moment or the marker
-- 'skipped') and reception_sessions.start_time / end_time (the clock times a
-- leader typed; the session's moments are starts_at and ends_at).
-- tests/test_pg_schema.py lists the converted columns (MOMENTS, DAYS).
ALTER TABLE alerts
    ALTER COLUMN created_at TYPE timestamptz USING CAST(created_at AS timestamptz),
    ALTER COLUMN updated_at TYPE timestamptz USING CAST(updated_at AS timestamptz),
    ALTER COLUMN acknowledged_at TYPE timestamptz USING CAST(acknowledged_at AS timestamptz);
ALTER TABLE attachments
    ALTER COLUMN added_at TYPE timestamptz USING CAST(added_at AS timestamptz);
ALTER TABLE case_cohandlers
    ALTER COLUMN added_at TYPE timestamptz USING CAST(added_at AS timestamptz);
ALTER TABLE case_links
    ALTER COLUMN linked_at TYPE timestamptz USING CAST(linked_at AS timestamptz);
ALTER TABLE case_messages
    ALTER COLUMN created_at TYPE timestamptz USING CAST(created_at AS timestamptz);
ALTER TABLE case_petitioners
    ALTER COLUMN claimed_at TYPE timestamptz USING CAST(claimed_at AS timestamptz);
ALTER TABLE cases
    ALTER COLUMN submitted_at TYPE timestamptz USING CAST(submitted_at AS timestamptz),
    ALTER COLUMN accepted_at TYPE timestamptz USING CAST(accepted_at AS timestamptz),
    ALTER COLUMN decided_at TYPE timestamptz USING CAST(decided_at AS timestamptz),
    ALTER COLUMN closed_at TYPE timestamptz USING CAST(closed_at AS timestamptz),
    ALTER COLUMN accept_due TYPE date USING CAST(accept_due AS date),
    ALTER COLUMN answer_due TYPE date USING CAST(answer_due AS date),
    ALTER COLUMN updated_at TYPE timestamptz USING CAST(updated_at AS timestamptz),
    ALTER COLUMN rating_due TYPE date USING CAST(rating_due AS date),
    ALTER COLUMN rated_at TYPE timestamptz USING CAST(rated_at AS timestamptz),
    ALTER COLUMN review_request_due TYPE date USING CAST(review_request_due AS date),
    ALTER COLUMN review_due TYPE date USING CAST(review_due AS date),
    ALTER COLUMN reviewed_at TYPE timestamptz USING CAST(reviewed_at AS timestamptz),
    ALTER COLUMN rereview_request_due TYPE date USING CAST(rereview_request_due AS date),
    ALTER COLUMN rereview_due TYPE date USING CAST(rereview_due AS date),
    ALTER COLUMN rereviewed_at TYPE timestamptz USING CAST(rereviewed_at AS timestamptz),
    ALTER COLUMN received_on TYPE date USING CAST(received_on AS date),
    ALTER COLUMN served_on TYPE date USING CAST(served_on AS date),
    ALTER COLUMN queue_due TYPE date USING CAST(queue_due AS date),
    ALTER COLUMN rank_next_on TYPE date USING CAST(rank_next_on AS date),
    ALTER COLUMN clock_stopped_on TYPE date USING CAST(clock_stopped_on AS date);
ALTER TABLE claim_codes
    ALTER COLUMN created_at TYPE timestamptz USING CAST(created_at AS timestamptz),
    ALTER COLUMN expires_on TYPE date USING CAST(expires_on AS date),
    ALTER COLUMN used_at TYPE timestamptz USING CAST(used_at AS timestamptz);
ALTER TABLE claim_failures
    ALTER COLUMN day TYPE date USING CAST(day AS date);
ALTER TABLE contact_tasks
    ALTER COLUMN created_at TYPE timestamptz USING CAST(created_at AS timestamptz),
    ALTER COLUMN due_on TYPE date USING CAST(due_on AS date),
    ALTER COLUMN done_at TYPE timestamptz USING CAST(done_at AS timestamptz),
    ALTER COLUMN superseded_at TYPE timestamptz USING CAST(superseded_at AS timestamptz);
ALTER TABLE conversations
    ALTER COLUMN updated_at TYPE timestamptz USING CAST(updated_at AS timestamptz);
ALTER TABLE dispute_notes
    ALTER COLUMN day TYPE date USING CAST(day AS date),
    ALTER COLUMN at TYPE timestamptz USING CAST(at AS timestamptz);
ALTER TABLE disputes
    ALTER COLUMN found_day TYPE date USING CAST(found_day AS date),
    ALTER COLUMN created_at TYPE timestamptz USING CAST(created_at AS timestamptz),
    ALTER COLUMN updated_at TYPE timestamptz USING CAST(updated_at AS timestamptz),
    ALTER COLUMN resolved_day TYPE date USING CAST(resolved_day AS date);
ALTER TABLE events
    ALTER COLUMN at TYPE timestamptz USING CAST(at AS timestamptz);
ALTER TABLE hearings
    ALTER COLUMN held_on TYPE date USING CAST(held_on AS date),
    ALTER COLUMN scheduled_at TYPE timestamptz USING CAST(scheduled_at AS timestamptz),
    ALTER COLUMN stopped_on TYPE date USING CAST(stopped_on AS date),
    ALTER COLUMN ended_on TYPE date USING CAST(ended_on AS date),
    ALTER COLUMN due_before TYPE date USING CAST(due_before AS date),
    ALTER COLUMN due_after TYPE date USING CAST(due_after AS date);
ALTER TABLE identities
    ALTER COLUMN created_at TYPE timestamptz USING CAST(created_at AS timestamptz);
ALTER TABLE incident_events
    ALTER COLUMN at TYPE timestamptz USING CAST(at AS timestamptz);
ALTER TABLE incident_level_changes
    ALTER COLUMN changed_at TYPE timestamptz USING CAST(changed_at AS timestamptz);
ALTER TABLE incident_ticks
    ALTER COLUMN done_at TYPE timestamptz USING CAST(done_at AS timestamptz);
ALTER TABLE incidents
    ALTER COLUMN opened_at TYPE timestamptz USING CAST(opened_at AS timestamptz),
    ALTER COLUMN closed_at TYPE timestamptz USING CAST(closed_at AS timestamptz),
    ALTER COLUMN updated_at TYPE timestamptz USING CAST(updated_at AS timestamptz);
ALTER TABLE outbox
    ALTER COLUMN created_at TYPE timestamptz USING CAST(created_at AS timestamptz),
    ALTER COLUMN due_at TYPE timestamptz USING CAST(due_at AS timestamptz),
    ALTER COLUMN sent_at TYPE timestamptz USING CAST(sent_at AS timestamptz),
    ALTER COLUMN failed_at TYPE timestamptz USING CAST(failed_at AS timestamptz),
    ALTER COLUMN skipped_at TYPE timestamptz USING CAST(skipped_at AS timestamptz);
ALTER TABLE pending_acts
    ALTER COLUMN drafted_at TYPE timestamptz USING CAST(drafted_at AS timestamptz),
    ALTER COLUMN decided_at TYPE timestamptz USING CAST(decided_at AS timestamptz);
-- The vault's data steps 1 and 4 wrote the markers 'vault-1' and 'vault-4' here
-- until now (nothing reads them): those rows were written at an upgrade, so
-- they take the moment of this one.
ALTER TABLE people
    ALTER COLUMN updated_at TYPE timestamptz
        USING CASE WHEN updated_at LIKE 'vault-%' THEN now() ELSE CAST(updated_at AS timestamptz) END;
ALTER TABLE petitioners
    ALTER COLUMN created_at TYPE timestamptz USING CAST(created_at AS timestamptz),
    ALTER COLUMN updated_at TYPE timestamptz USING CAST(updated_at AS timestamptz);
ALTER TABLE reception_bookings
    ALTER COLUMN created_at TYPE timestamptz USING CAST(created_at AS timestamptz),
    ALTER COLUMN promoted_at TYPE timestamptz USING CAST(promoted_at AS timestamptz),
    ALTER COLUMN cancelled_at TYPE timestamptz USING CAST(cancelled_at AS timestamptz),
    ALTER COLUMN outcome_at TYPE timestamptz USING CAST(outcome_at AS timestamptz);
ALTER TABLE reception_sessions
    ALTER COLUMN day TYPE date USING CAST(day AS date),
    ALTER COLUMN starts_at TYPE timestamptz USING CAST(starts_at AS timestamptz),
    ALTER COLUMN ends_at TYPE timestamptz USING CAST(ends_at AS timestamptz),
    ALTER COLUMN cancelled_at TYPE timestamptz USING CAST(cancelled_at AS timestamptz),
    ALTER COLUMN created_at TYPE timestamptz USING CAST(created_at AS timestamptz),
    ALTER COLUMN updated_at TYPE timestamptz USING CAST(updated_at AS timestamptz);
ALTER TABLE reminders
    ALTER COLUMN due TYPE date USING CAST(due AS date),
    ALTER COLUMN sent_at TYPE timestamptz USING CAST(sent_at AS timestamptz);
ALTER TABLE review_drafts
    ALTER COLUMN updated_at TYPE timestamptz USING CAST(updated_at AS timestamptz);
ALTER TABLE review_studies
    ALTER COLUMN studied_on TYPE date USING CAST(studied_on AS date);
ALTER TABLE roster
    ALTER COLUMN updated_at TYPE timestamptz USING CAST(updated_at AS timestamptz);
ALTER TABLE roster_journal
    ALTER COLUMN at TYPE timestamptz USING CAST(at AS timestamptz);
ALTER TABLE screening_journal
    ALTER COLUMN at TYPE timestamptz USING CAST(at AS timestamptz);
ALTER TABLE screening_notices
    ALTER COLUMN sent_at TYPE timestamptz USING CAST(sent_at AS timestamptz);
ALTER TABLE screening_reports
    ALTER COLUMN filed_at TYPE timestamptz USING CAST(filed_at AS timestamptz);
ALTER TABLE staff_candidates
    ALTER COLUMN proposed_at TYPE timestamptz USING CAST(proposed_at AS timestamptz);
ALTER TABLE staff_journal
    ALTER COLUMN at TYPE timestamptz USING CAST(at AS timestamptz);
ALTER TABLE staff_members
    ALTER COLUMN updated_at TYPE timestamptz USING CAST(updated_at AS timestamptz);
ALTER TABLE supervision_marks
    ALTER COLUMN sent_at TYPE timestamptz USING CAST(sent_at AS timestamptz);
ALTER TABLE supervisions
    ALTER COLUMN due TYPE date USING CAST(due AS date),
    ALTER COLUMN created_at TYPE timestamptz USING CAST(created_at AS timestamptz),
    ALTER COLUMN progress_at TYPE timestamptz USING CAST(progress_at AS timestamptz),
    ALTER COLUMN closed_at TYPE timestamptz USING CAST(closed_at AS timestamptz);
ALTER TABLE sweep_marks
    ALTER COLUMN done_at TYPE timestamptz USING CAST(done_at AS timestamptz);
ALTER TABLE users
    ALTER COLUMN updated_at TYPE timestamptz USING CAST(updated_at AS timestamptz);
ALTER TABLE verified_accounts
    ALTER COLUMN verified_at TYPE timestamptz USING CAST(verified_at AS timestamptz);
ALTER TABLE warning_notices
    ALTER COLUMN due TYPE date USING CAST(due AS date),
    ALTER COLUMN sent_at TYPE timestamptz USING CAST(sent_at AS timestamptz);
-- The rewritten tables lost their column statistics: the planner gets them back now.
ANALYZE cases;
ANALYZE events;
ANALYZE outbox;
