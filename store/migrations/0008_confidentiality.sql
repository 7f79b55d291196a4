-- Confidentiality that holds (issue 11): islands, scope at send time, the vault.

-- A confidential case is an island: no repeat link from it, none to it (the
-- count of earlier petitions stays, it names no case).
UPDATE cases SET repeat_of = NULL WHERE confidential = 1;
UPDATE cases SET repeat_of = NULL WHERE repeat_of IN (SELECT number FROM cases WHERE confidential = 1);

-- A notice whose recipient lost scope before it was sent (recused, moved, no
-- longer staff) is skipped at send time, with the reason.
ALTER TABLE outbox ADD COLUMN skipped_at TEXT;
ALTER TABLE outbox ADD COLUMN skip_reason TEXT;
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL AND failed_at IS NULL AND skipped_at IS NULL;

-- The vault (store/vault.py). The key is never in the database: a key file
-- (0600) or PETITION_SECRET_KEY. Every value here is AES-GCM ciphertext,
-- base64 text. Encrypting rows written before this migration needs the key,
-- which SQL cannot have: Services.open does that once, in Python, after the
-- migrations (the 'vault_version' row of meta says it is done).

-- A confidential reporter's identity per case (Telegram id, names, username,
-- phone): read only by /reveal, for the identity custodian.
CREATE TABLE identities (
    case_id    INTEGER PRIMARY KEY REFERENCES cases (id),
    sealed     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Keyed hashes of Telegram ids (HMAC-SHA256 under the key, as a negative
-- integer no Telegram chat id can be) and the id they stand for, sealed: the
-- outbox sender opens it at send time.
CREATE TABLE people (
    hid        INTEGER PRIMARY KEY,
    sealed     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- PTB's conversation keys hold chat and user ids: stored as a keyed hash
-- (``key``) with the key itself sealed here; drafts and prompts are keyed by
-- the keyed hash of the person's id, and a draft's data is sealed.
ALTER TABLE conversations ADD COLUMN sealed_key TEXT;
