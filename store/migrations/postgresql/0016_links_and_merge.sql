-- Linked and merged cases (关联案件, store/links.py).

-- /link: two related matters, shown on both cards. One row per pair, the
-- lower case id first, so a pair is stored once whichever way it was linked.
CREATE TABLE case_links (
    low_id     BIGINT NOT NULL REFERENCES cases (id),
    high_id    BIGINT NOT NULL REFERENCES cases (id),
    linked_by  BIGINT NOT NULL,   -- the staff member's Telegram id
    linked_at  TEXT NOT NULL,
    PRIMARY KEY (low_id, high_id),
    CHECK (low_id < high_id)
);
CREATE INDEX case_links_by_high ON case_links (high_id);

-- /merge: a duplicate closed as merged (status 'merged') points at the case
-- it joined; its petitioner follows that case (sees it in /mycases, gets its
-- notices). Merging the main case later moves its duplicates along.
ALTER TABLE cases ADD COLUMN merged_into BIGINT REFERENCES cases (id);
CREATE INDEX cases_by_merged_into ON cases (merged_into) WHERE merged_into IS NOT NULL;

-- petition-bot import (store/ledger_import.py): a case made from a row of the
-- office's existing ledger. Its answer dates before the import are unknown,
-- so the timely-acceptance rate counts it only once answered in the bot (or
-- while it still waits for acceptance).
ALTER TABLE cases ADD COLUMN imported BIGINT NOT NULL DEFAULT 0;
-- A re-import finds a row already imported by its external number and received date.
CREATE INDEX cases_by_external_ref ON cases (external_ref, received_on) WHERE external_ref IS NOT NULL;
