INSERT INTO counters (name, value) VALUES ('places', 0);

CREATE TABLE places (
    id               BIGINT PRIMARY KEY,
    name             TEXT NOT NULL,
    ascii_name       TEXT NOT NULL,
    alternate_names  TEXT NOT NULL,
    latitude         DOUBLE PRECISION NOT NULL,
    longitude        DOUBLE PRECISION NOT NULL,
    feature_class    TEXT NOT NULL,
    feature_code     TEXT NOT NULL,
    country          TEXT,
    admin1_code      TEXT NOT NULL,
    admin2_code      TEXT NOT NULL,
    population       BIGINT NOT NULL,
    elevation        INTEGER,
    timezone         TEXT NOT NULL,
    modified         DATE,
    seq              BIGINT NOT NULL
);

CREATE TABLE imports (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT NOT NULL,
    source        TEXT NOT NULL,
    detected      TEXT NOT NULL,
    owner_org     BIGINT REFERENCES organisations(id),
    tlp           TEXT,
    strict        BOOLEAN NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ NOT NULL,
    rows_read     BIGINT NOT NULL,
    inserted      BIGINT NOT NULL,
    updated       BIGINT NOT NULL,
    unchanged     BIGINT NOT NULL,
    refused       BIGINT NOT NULL,
    refused_rows  JSONB NOT NULL
);
