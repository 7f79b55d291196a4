-- People's words kept compactly (store/words.py): the columns that hold what
-- petitioners and officers write are declared WORDS TEXT, which the store's
-- SQLite connections read through store.words.unpack (GB 18030, deflated when
-- shorter; rows written before stay UTF-8 text and read as before). The
-- affinity stays TEXT and no row is touched: only the declared type in the
-- schema's text changes, SQLite's documented way for a change that leaves the
-- stored content alone (https://www.sqlite.org/lang_altertable.html, "making
-- other kinds of table schema changes"). The migration runner raises the
-- schema version after it, so every connection reads the new declarations.
-- PostgreSQL keeps text (postgresql/0034_words_compact.sql: words() only).
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(replace(replace(sql,
    'subject          TEXT NOT NULL,', 'subject          WORDS TEXT NOT NULL,'),
    'details          TEXT NOT NULL,', 'details          WORDS TEXT NOT NULL,'),
    'desired_outcome  TEXT,', 'desired_outcome  WORDS TEXT,')
WHERE type = 'table' AND name = 'cases' AND sql NOT LIKE '%WORDS TEXT%';
UPDATE sqlite_schema
SET sql = replace(replace(sql,
    'body         TEXT,', 'body         WORDS TEXT,'),
    'data         TEXT NOT NULL DEFAULT ''{}'',', 'data         WORDS TEXT NOT NULL DEFAULT ''{}'',')
WHERE type = 'table' AND name = 'events' AND sql NOT LIKE '%WORDS TEXT%';
PRAGMA writable_schema = OFF;
