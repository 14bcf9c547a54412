-- The peer table of the benchmarks: the SYNTHETIC ACLED CSV in PostGIS,
-- with a GiST index on the point and a date index (bench/run.sh, bench/analytics.sh).
CREATE EXTENSION postgis;
CREATE TABLE acled (
    event_id_cnty text PRIMARY KEY, event_date date NOT NULL, year int, time_precision int,
    disorder_type text, event_type text, sub_event_type text, actor1 text, assoc_actor_1 text,
    inter1 text, actor2 text, assoc_actor_2 text, inter2 text, interaction text, civilian_targeting text,
    iso int, region text, country text, admin1 text, admin2 text, admin3 text, location text,
    latitude double precision, longitude double precision, geo_precision int, source text,
    source_scale text, notes text, fatalities int, tags text, "timestamp" bigint,
    geom geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(longitude, latitude), 4326)) STORED
);
CREATE INDEX acled_geom ON acled USING gist (geom);
CREATE INDEX acled_date ON acled (event_date);
