-- Reports (issue 4): what sources say, graded, with their marking; their
-- links to incidents (confirmed or rejected by an analyst); kidnap cases and
-- their steps. Claims and extraction are JSON documents written and read by
-- the domain layer (sahelwatch-core::report, sahelwatch-extract).

INSERT INTO counters (name, value) VALUES ('reports', 0);

CREATE TABLE reports (
    id             INTEGER PRIMARY KEY,
    uid            BLOB NOT NULL UNIQUE,
    owner_org      INTEGER NOT NULL REFERENCES organisations(id),
    tlp            TEXT NOT NULL,
    sharing_group  INTEGER REFERENCES sharing_groups(id),
    author_user    INTEGER REFERENCES users(id),
    recipients     TEXT,
    source         TEXT NOT NULL,
    title          TEXT,
    published      TEXT NOT NULL,
    lang           TEXT NOT NULL,
    reliability    TEXT NOT NULL,
    credibility    INTEGER NOT NULL,
    body           TEXT NOT NULL,
    claims         TEXT NOT NULL,
    extraction     TEXT,
    unlocated      INTEGER NOT NULL,
    filed_at       TEXT NOT NULL
);

CREATE TABLE report_links (
    report_id    INTEGER NOT NULL REFERENCES reports(id),
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    status       TEXT NOT NULL,
    score        REAL NOT NULL,
    decided_by   INTEGER REFERENCES users(id),
    decided_at   TEXT NOT NULL,
    PRIMARY KEY (report_id, incident_id)
);
CREATE INDEX report_links_incident ON report_links (incident_id);

CREATE TABLE kidnap_cases (
    id             INTEGER PRIMARY KEY,
    uid            BLOB NOT NULL UNIQUE,
    owner_org      INTEGER NOT NULL REFERENCES organisations(id),
    tlp            TEXT NOT NULL,
    sharing_group  INTEGER REFERENCES sharing_groups(id),
    author_user    INTEGER REFERENCES users(id),
    recipients     TEXT,
    incident_id    INTEGER REFERENCES incidents(id),
    report_id      INTEGER NOT NULL REFERENCES reports(id),
    abducted_on    TEXT NOT NULL,
    details        TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX kidnap_cases_incident ON kidnap_cases (incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE case_steps (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES kidnap_cases(id),
    report_id   INTEGER NOT NULL REFERENCES reports(id),
    kind        TEXT NOT NULL,
    on_date     TEXT NOT NULL,
    note        TEXT,
    added_by    INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX case_steps_report ON case_steps (case_id, report_id, kind);
