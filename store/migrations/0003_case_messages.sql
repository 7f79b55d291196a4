-- Which Telegram message belongs to which case, so that replying to it
-- (Telegram's "reply") reaches the other side of the case.
--   incoming = 0: a message the bot sent (case card, relayed text, notice);
--   incoming = 1: a user's message already relayed (a redelivered update
--                 finds it here and is not relayed twice).
CREATE TABLE case_messages (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    incoming   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
) WITHOUT ROWID;
