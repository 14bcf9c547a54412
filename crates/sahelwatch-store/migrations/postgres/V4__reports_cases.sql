-- Reports (issue 4): what sources say, graded, with their marking; their
-- links to incidents (confirmed or rejected by an analyst); kidnap cases and
-- their steps. Claims and extraction are JSON documents written and read by
-- the domain layer (sahelwatch-core::report, sahelwatch-extract).

INSERT INTO counters (name, value) VALUES ('reports', 0);

CREATE TABLE reports (
    id             BIGSERIAL PRIMARY KEY,
    uid            UUID NOT NULL UNIQUE,
    owner_org      BIGINT NOT NULL REFERENCES organisations(id),
    tlp            TEXT NOT NULL CHECK (tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
    sharing_group  BIGINT REFERENCES sharing_groups(id),
    author_user    BIGINT REFERENCES users(id),
    recipients     JSONB,
    source         TEXT NOT NULL,
    title          TEXT,
    published      DATE NOT NULL,
    lang           TEXT NOT NULL,
    reliability    TEXT NOT NULL CHECK (reliability IN ('A', 'B', 'C', 'D', 'E', 'F')),
    credibility    SMALLINT NOT NULL CHECK (credibility BETWEEN 1 AND 6),
    body           TEXT NOT NULL,
    claims         JSONB NOT NULL,
    extraction     JSONB,
    unlocated      BOOLEAN NOT NULL,
    filed_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE report_links (
    report_id    BIGINT NOT NULL REFERENCES reports(id),
    incident_id  BIGINT NOT NULL REFERENCES incidents(id),
    status       TEXT NOT NULL CHECK (status IN ('confirmed', 'rejected')),
    score        DOUBLE PRECISION NOT NULL,
    decided_by   BIGINT REFERENCES users(id),
    decided_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (report_id, incident_id)
);
CREATE INDEX report_links_incident ON report_links (incident_id);

CREATE TABLE kidnap_cases (
    id             BIGSERIAL PRIMARY KEY,
    uid            UUID NOT NULL UNIQUE,
    owner_org      BIGINT NOT NULL REFERENCES organisations(id),
    tlp            TEXT NOT NULL CHECK (tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
    sharing_group  BIGINT REFERENCES sharing_groups(id),
    author_user    BIGINT REFERENCES users(id),
    recipients     JSONB,
    incident_id    BIGINT REFERENCES incidents(id),
    report_id      BIGINT NOT NULL REFERENCES reports(id),
    abducted_on    DATE NOT NULL,
    details        JSONB NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX kidnap_cases_incident ON kidnap_cases (incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE case_steps (
    id          BIGSERIAL PRIMARY KEY,
    case_id     BIGINT NOT NULL REFERENCES kidnap_cases(id),
    report_id   BIGINT NOT NULL REFERENCES reports(id),
    kind        TEXT NOT NULL,
    on_date     DATE NOT NULL,
    note        TEXT,
    added_by    BIGINT REFERENCES users(id),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX case_steps_report ON case_steps (case_id, report_id, kind);
