CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE organisations (
    id          BIGSERIAL PRIMARY KEY,
    uid         UUID NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

-- Change counters: a writer increments its counter first, which locks the
-- counter row until commit. Writers are thus serialised and the committed
-- counter value is a high-water mark readers can trust.
CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('incidents', 0);

CREATE TABLE incidents (
    id                  BIGSERIAL PRIMARY KEY,
    uid                 UUID NOT NULL,
    seq                 BIGINT NOT NULL,
    deleted             BOOLEAN NOT NULL DEFAULT false,
    owner_org           BIGINT NOT NULL REFERENCES organisations(id),
    tlp                 TEXT NOT NULL CHECK (tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
    dataset             TEXT,
    external_id         TEXT,
    event_date          DATE NOT NULL,
    event_date_end      DATE,
    time_precision      SMALLINT NOT NULL CHECK (time_precision BETWEEN 1 AND 3),
    event_type          TEXT NOT NULL,
    sub_event_type      TEXT NOT NULL,
    disorder_type       TEXT,
    actor1              TEXT,
    assoc_actor_1       JSONB,
    inter1              SMALLINT,
    actor2              TEXT,
    assoc_actor_2       JSONB,
    inter2              SMALLINT,
    civilian_targeting  BOOLEAN NOT NULL,
    country             TEXT NOT NULL,
    region              TEXT,
    admin1              TEXT,
    admin2              TEXT,
    admin3              TEXT,
    location            TEXT,
    latitude            DOUBLE PRECISION NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude           DOUBLE PRECISION NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    geo_precision       SMALLINT NOT NULL CHECK (geo_precision BETWEEN 1 AND 3),
    -- For GIS tools (QGIS, PostGIS queries); sahelwatch itself filters in memory.
    geom                geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(longitude, latitude), 4326)) STORED,
    fatalities          INTEGER NOT NULL,
    fatalities_low      INTEGER,
    fatalities_high     INTEGER,
    notes               TEXT NOT NULL,
    sources             JSONB,
    source_scale        TEXT,
    tags                JSONB,
    source_timestamp    BIGINT,
    original            JSONB,
    row_hash            BIGINT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX incidents_uid ON incidents (uid);
CREATE UNIQUE INDEX incidents_source ON incidents (owner_org, dataset, external_id) WHERE dataset IS NOT NULL;
CREATE INDEX incidents_seq ON incidents (seq);
CREATE INDEX incidents_geom ON incidents USING gist (geom);
