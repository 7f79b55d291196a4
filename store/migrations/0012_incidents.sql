-- The group-incident plan (群体性事件处置预案, store/incidents.py): incidents
-- opened from a collective petition, a dispute of the screening register, a
-- leader's declaration or a drill (演练); the steps of their checklists
-- ticked; their level changes; and their own hash-chained, append-only
-- journal (a drill has no case, so the case journal cannot hold it).
CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY,
    source_kind TEXT NOT NULL,              -- case | dispute | drill
    source_ref  TEXT,                       -- the case number or dispute reference; NULL for a drill
    case_id     INTEGER REFERENCES cases (id),
    alert_id    INTEGER REFERENCES alerts (id),  -- the collective-petition alert that opened it
    unit        TEXT,                       -- where it happens (NULL: a drill for the whole organisation)
    confidential INTEGER NOT NULL DEFAULT 0, -- from a confidential case: recused leaders never see it
    level       INTEGER NOT NULL,
    people      INTEGER NOT NULL,
    is_drill    INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'open',  -- open | closed
    opened_at   TEXT NOT NULL,
    opened_by   INTEGER,                    -- NULL: opened by itself (an alert)
    closed_at   TEXT,
    closed_by   INTEGER,
    summary     TEXT,
    updated_at  TEXT NOT NULL
);
-- One incident per collective-petition alert, and one open incident per source.
CREATE UNIQUE INDEX incidents_one_per_alert ON incidents (alert_id) WHERE alert_id IS NOT NULL;
CREATE UNIQUE INDEX incidents_one_open_per_source ON incidents (source_kind, source_ref)
    WHERE status = 'open' AND source_ref IS NOT NULL;
CREATE INDEX incidents_by_status ON incidents (status, is_drill, opened_at);

CREATE TABLE incident_ticks (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    level       INTEGER NOT NULL,
    step        INTEGER NOT NULL,           -- 1-based place in the level's checklist
    text        TEXT NOT NULL,              -- the step as it read when ticked
    done_by     INTEGER NOT NULL,
    done_at     TEXT NOT NULL,
    note        TEXT,
    PRIMARY KEY (incident_id, level, step)
);

CREATE TABLE incident_level_changes (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    from_level  INTEGER NOT NULL,
    to_level    INTEGER NOT NULL,
    people      INTEGER NOT NULL,
    changed_at  TEXT NOT NULL,
    changed_by  INTEGER                     -- NULL: by itself (more people joined)
);
CREATE INDEX incident_level_changes_by_incident ON incident_level_changes (incident_id, id);

CREATE TABLE incident_events (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at          TEXT NOT NULL,
    actor_id    INTEGER,
    actor_role  TEXT NOT NULL,              -- officer | leader | admin | system
    action      TEXT NOT NULL,              -- open | tick | level | close
    body        TEXT,
    data        TEXT NOT NULL DEFAULT '{}',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX incident_events_by_incident ON incident_events (incident_id, id);

CREATE TRIGGER incident_events_append_only_update BEFORE UPDATE ON incident_events
BEGIN
    SELECT RAISE(ABORT, 'the incident journal is append-only');
END;

CREATE TRIGGER incident_events_append_only_delete BEFORE DELETE ON incident_events
BEGIN
    SELECT RAISE(ABORT, 'the incident journal is append-only');
END;
