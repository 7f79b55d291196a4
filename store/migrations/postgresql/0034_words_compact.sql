-- People's words stay text here (SQLite keeps them compactly: ../0034_words_compact.sql,
-- store/words.py). SQL that works on the text reads it through words(column), which
-- SQLite's connections define to unpack a stored value; here it is the text itself
-- (a plain SQL function, inlined by the planner).
CREATE OR REPLACE FUNCTION words(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT value';
