-- One ledger for every letter, visit and call (store/ledger.py).

-- How the case came in: telegram (every case before this migration), letter
-- 来信, visit 来访, call 来电, online 网上 (another platform), transfer 转交办.
ALTER TABLE cases ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram';
-- The transferring body's reference number (转交办).
ALTER TABLE cases ADD COLUMN external_ref TEXT;
-- The local date the office received the matter; its deadlines count from it.
-- NULL for cases that arrived in the chat (received when submitted).
ALTER TABLE cases ADD COLUMN received_on TEXT;
-- The staff member who registered the case on the petitioner's behalf.
ALTER TABLE cases ADD COLUMN registered_by INTEGER;
-- The number of people behind a joint letter or a collective visit is the
-- existing ``people`` column (collective detection reads it).

-- The register of petitioners: one record per person. A person is the same
-- across channels by phone or employee number (or their Telegram id, once
-- they claim a case). A confidential reporter's record holds nothing in
-- clear (only ``sealed``) and is never searched.
CREATE TABLE petitioners (
    id           INTEGER PRIMARY KEY,
    telegram_hid INTEGER,          -- keyed hash of the Telegram id, once known (store/vault.py)
    name         TEXT,
    phone        TEXT,             -- digits only
    employee_no  TEXT,             -- upper case, no spaces
    unit         TEXT,             -- the unit they work in, as told (free text)
    confidential INTEGER NOT NULL DEFAULT 0,
    sealed       TEXT,             -- a confidential reporter's details, sealed
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX petitioners_by_phone ON petitioners (phone);
CREATE INDEX petitioners_by_employee ON petitioners (employee_no);
CREATE INDEX petitioners_by_name ON petitioners (name);
CREATE INDEX petitioners_by_telegram ON petitioners (telegram_hid);

-- Who petitions in a case: the petitioner, or up to five representatives (Art. 20).
CREATE TABLE case_petitioners (
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    petitioner_id INTEGER NOT NULL REFERENCES petitioners (id),
    role          TEXT NOT NULL,    -- petitioner | representative
    claimed_at    TEXT,             -- notices go to their chat from then on
    PRIMARY KEY (case_id, petitioner_id)
);
CREATE INDEX case_petitioners_by_person ON case_petitioners (petitioner_id, case_id);

-- Claim codes: one per named person of a registered case, stored as a keyed
-- hash; binds the case once, within 90 days.
CREATE TABLE claim_codes (
    code_hash     TEXT PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    petitioner_id INTEGER NOT NULL REFERENCES petitioners (id),
    created_at    TEXT NOT NULL,
    expires_on    TEXT NOT NULL,    -- local date: the last day it binds
    used_at       TEXT,
    used_by       INTEGER           -- keyed hash of the claimant's Telegram id
);
CREATE INDEX claim_codes_by_case ON claim_codes (case_id);

-- Wrong claim codes per person and local day (the limit survives restarts).
CREATE TABLE claim_failures (
    user_hid INTEGER NOT NULL,
    day      TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_hid, day)
);

-- A notice for a petitioner without Telegram becomes a task for the staff
-- handling the case: tell them by phone, letter or in person. The notice's
-- own kind, event and parameters are kept, so its text renders like the
-- chat message would.
CREATE TABLE contact_tasks (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    petitioner_id INTEGER NOT NULL REFERENCES petitioners (id),
    kind          TEXT NOT NULL,
    event_id      INTEGER REFERENCES events (id),
    params        TEXT NOT NULL DEFAULT '{}',
    created_at    TEXT NOT NULL,
    due_on        TEXT NOT NULL,    -- local date
    reminded      TEXT,             -- last reminder level sent: due | overdue
    done_at       TEXT,
    done_by       INTEGER,
    done_how      TEXT,             -- phone | letter | in_person
    superseded_at TEXT              -- the petitioner claimed the case: told in chat instead
);
CREATE INDEX contact_tasks_by_case ON contact_tasks (case_id, id);
CREATE INDEX contact_tasks_open ON contact_tasks (due_on, id) WHERE done_at IS NULL AND superseded_at IS NULL;
