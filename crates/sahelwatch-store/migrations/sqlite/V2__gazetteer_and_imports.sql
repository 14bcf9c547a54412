INSERT INTO counters (name, value) VALUES ('places', 0);

-- GeoNames features (id = geonameid).
CREATE TABLE places (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    ascii_name       TEXT NOT NULL,
    alternate_names  TEXT NOT NULL,
    latitude         REAL NOT NULL,
    longitude        REAL NOT NULL,
    feature_class    TEXT NOT NULL,
    feature_code     TEXT NOT NULL,
    country          TEXT,
    admin1_code      TEXT NOT NULL,
    admin2_code      TEXT NOT NULL,
    population       INTEGER NOT NULL,
    elevation        INTEGER,
    timezone         TEXT NOT NULL,
    modified         TEXT,
    seq              INTEGER NOT NULL
);

-- One row per committed import. Rolled-back imports leave no trace here,
-- as they leave none anywhere else.
CREATE TABLE imports (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    source        TEXT NOT NULL,
    detected      TEXT NOT NULL,
    owner_org     INTEGER REFERENCES organisations(id),
    tlp           TEXT,
    strict        INTEGER NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT NOT NULL,
    rows_read     INTEGER NOT NULL,
    inserted      INTEGER NOT NULL,
    updated       INTEGER NOT NULL,
    unchanged     INTEGER NOT NULL,
    refused       INTEGER NOT NULL,
    refused_rows  TEXT NOT NULL
);
