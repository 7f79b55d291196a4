-- Placeholder on the reception branch only: 0002-0004 are reserved for other
-- branches. Drop this file when merging; 0005_reception follows them.
SELECT 1;
