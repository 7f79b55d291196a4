-- Fewer bytes per case (issue #22). New journal events keep their hash as
-- 32 bytes in `digest` instead of two 64-character hex texts: `hash` and
-- `prev_hash` stay empty on those rows (the previous hash is the previous
-- row's), and `data` is stored without spaces. Rows written before keep
-- their hex text: no stored event is rewritten, and the chain runs on over
-- both (store/journal.py computes every hash over the same canonical form).
-- A nullable column without a default rewrites no row.
ALTER TABLE events ADD COLUMN digest BYTEA;
