-- Fewer bytes per case (issue #22). New journal events keep their hash as
-- 32 bytes in `digest` instead of two 64-character hex texts: `hash` and
-- `prev_hash` stay empty on those rows (the previous hash is the previous
-- row's), and `data` is stored without spaces. Rows written before keep
-- their hex text: no stored event is rewritten, and the chain runs on over
-- both (store/journal.py computes every hash over the same canonical form).
-- Adding a column rewrites no row in SQLite: the migration is instant at any size.
ALTER TABLE events ADD COLUMN digest BLOB;
