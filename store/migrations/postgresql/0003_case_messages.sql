-- PostgreSQL form of ../0003_case_messages.sql.
CREATE TABLE case_messages (
    chat_id    BIGINT NOT NULL,
    message_id BIGINT NOT NULL,
    case_id    BIGINT NOT NULL REFERENCES cases (id),
    incoming   BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
