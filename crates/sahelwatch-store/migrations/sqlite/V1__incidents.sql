-- Organisations own everything that is stored.
CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY,
    uid         BLOB NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

-- Change counters. Every write transaction on a table family increments its
-- counter first and stamps the rows it writes with the new value; readers
-- catch up by asking for rows with seq above what they have seen.
CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('incidents', 0);

-- No CHECK constraints here: every value is validated by the domain layer
-- before it is written, and on SQLite the checks cost about 30% of import
-- time. The PostgreSQL schema keeps them.
CREATE TABLE incidents (
    id                  INTEGER PRIMARY KEY,
    uid                 BLOB NOT NULL,
    seq                 INTEGER NOT NULL,
    deleted             INTEGER NOT NULL DEFAULT 0,
    owner_org           INTEGER NOT NULL REFERENCES organisations(id),
    tlp                 TEXT NOT NULL,
    dataset             TEXT,
    external_id         TEXT,
    event_date          TEXT NOT NULL,
    event_date_end      TEXT,
    time_precision      INTEGER NOT NULL,
    event_type          TEXT NOT NULL,
    sub_event_type      TEXT NOT NULL,
    disorder_type       TEXT,
    actor1              TEXT,
    assoc_actor_1       TEXT,
    inter1              INTEGER,
    actor2              TEXT,
    assoc_actor_2       TEXT,
    inter2              INTEGER,
    civilian_targeting  INTEGER NOT NULL,
    country             TEXT NOT NULL,
    region              TEXT,
    admin1              TEXT,
    admin2              TEXT,
    admin3              TEXT,
    location            TEXT,
    latitude            REAL NOT NULL,
    longitude           REAL NOT NULL,
    geo_precision       INTEGER NOT NULL,
    fatalities          INTEGER NOT NULL,
    fatalities_low      INTEGER,
    fatalities_high     INTEGER,
    notes               TEXT NOT NULL,
    sources             TEXT,
    source_scale        TEXT,
    tags                TEXT,
    source_timestamp    INTEGER,
    original            TEXT,
    row_hash            INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX incidents_uid ON incidents (uid);
-- Re-importing a dataset upserts on (owner, dataset, external id).
CREATE UNIQUE INDEX incidents_source ON incidents (owner_org, dataset, external_id) WHERE dataset IS NOT NULL;
CREATE INDEX incidents_seq ON incidents (seq);
