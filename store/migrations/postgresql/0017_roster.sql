-- The employee roster (HR's list of employees, store/roster.py) and the
-- Telegram accounts verified as one of them by a shared contact.

-- One row per employee number (upper case, no spaces). The phone and the
-- ID-card tail are sealed (store/vault.py); the phone's keyed hash finds an
-- entry by a shared contact. A re-import updates rows and marks people
-- missing from the file as left: rows are never deleted.
CREATE TABLE roster (
    employee_no   TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    unit          TEXT NOT NULL,            -- a unit id of the organisation file
    phone_tag     TEXT,                     -- keyed hash of the phone in E.164 form
    phone_sealed  TEXT,
    id_tail_sealed TEXT,
    status        TEXT NOT NULL,            -- active | left | retired
    updated_at    TEXT NOT NULL
);
CREATE INDEX roster_by_phone ON roster (phone_tag);

-- A Telegram account (keyed hash of its id) verified as an employee. One
-- account per employee: verifying again from another account moves it.
CREATE TABLE verified_accounts (
    telegram_hid  BIGINT PRIMARY KEY,
    employee_no   TEXT NOT NULL UNIQUE REFERENCES roster (employee_no),
    verified_at   TEXT NOT NULL
);

-- The employee a case's petitioner was verified as when filing (store/verified.py);
-- never set for a confidential case. The staff card shows 已核验 from it.
ALTER TABLE cases ADD COLUMN employee_no TEXT;
ALTER TABLE cases ADD COLUMN employee_unit TEXT;

-- What happened to the roster and to verifications, hash-chained like the
-- cases' journal (petition-bot verify-journal checks it).
CREATE TABLE roster_journal (
    id          BIGINT PRIMARY KEY,
    at          TEXT NOT NULL,
    action      TEXT NOT NULL,              -- import | verify | unverify
    employee_no TEXT,
    data        TEXT NOT NULL,              -- JSON, nothing in clear that the roster seals
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

CREATE FUNCTION roster_journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the roster journal is append-only';
END;
$$;
CREATE TRIGGER roster_journal_append_only_update BEFORE UPDATE ON roster_journal
    FOR EACH ROW EXECUTE FUNCTION roster_journal_append_only();
CREATE TRIGGER roster_journal_append_only_delete BEFORE DELETE ON roster_journal
    FOR EACH ROW EXECUTE FUNCTION roster_journal_append_only();

-- Staff managed in chat (store/staffing.py): an administrator's additions,
-- changes and removals over the organisation file's [[staff]], which seeds
-- only people not in this table. A row without a role is a removal.
CREATE TABLE staff_members (
    telegram_id  BIGINT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT,
    units        TEXT NOT NULL DEFAULT '[]',
    categories   TEXT NOT NULL DEFAULT '[]',
    recuse_units TEXT NOT NULL DEFAULT '[]',
    updated_at   TEXT NOT NULL,
    updated_by   BIGINT NOT NULL
);

-- Someone an administrator picked with Telegram's user picker, until a role is chosen.
CREATE TABLE staff_candidates (
    telegram_id  BIGINT PRIMARY KEY,
    name         TEXT NOT NULL,
    proposed_at  TEXT NOT NULL
);

-- Every change to the staff made in chat, hash-chained (petition-bot verify-journal).
CREATE TABLE staff_journal (
    id          BIGINT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_id    BIGINT NOT NULL,
    action      TEXT NOT NULL,              -- add | change | remove
    telegram_id BIGINT NOT NULL,
    data        TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

CREATE FUNCTION staff_journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the staff journal is append-only';
END;
$$;
CREATE TRIGGER staff_journal_append_only_update BEFORE UPDATE ON staff_journal
    FOR EACH ROW EXECUTE FUNCTION staff_journal_append_only();
CREATE TRIGGER staff_journal_append_only_delete BEFORE DELETE ON staff_journal
    FOR EACH ROW EXECUTE FUNCTION staff_journal_append_only();
