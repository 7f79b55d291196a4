-- 文号 (store/documents.py): each formal document is numbered when its step
-- is issued, per issuing unit and year (延油信字〔2026〕15号), and keeps that
-- number whenever it is made again (/document).
CREATE TABLE document_counters (
    unit  TEXT NOT NULL,
    year  BIGINT NOT NULL,
    last  BIGINT NOT NULL,
    PRIMARY KEY (unit, year)
);

CREATE TABLE issued_documents (
    event_id  BIGINT NOT NULL REFERENCES events (id),
    kind      TEXT NOT NULL,
    unit      TEXT NOT NULL,            -- the issuing unit then (a later transfer changes nothing)
    doc_no    TEXT NOT NULL,
    PRIMARY KEY (event_id, kind)
);
