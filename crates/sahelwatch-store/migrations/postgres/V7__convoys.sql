-- Convoys (issue 7): registered convoys with their marking, the tracker
-- devices of their vehicles, stored positions, alerts with their
-- acknowledgement, and webhooks with one delivery row per alert (written in
-- the alert's transaction, so no alert is lost between the database and a
-- webhook). Times are Unix milliseconds, as devices send them. Spec and
-- state are JSON documents of the domain layer (sahelwatch-tracking).

CREATE TABLE convoys (
    id             BIGSERIAL PRIMARY KEY,
    uid            UUID NOT NULL UNIQUE,
    owner_org      BIGINT NOT NULL REFERENCES organisations(id),
    tlp            TEXT NOT NULL,
    sharing_group  BIGINT REFERENCES sharing_groups(id),
    author_user    BIGINT REFERENCES users(id),
    recipients     JSONB,
    name           TEXT NOT NULL,
    created_ms     BIGINT NOT NULL,
    ended_ms       BIGINT,
    spec           JSONB NOT NULL,
    state          JSONB NOT NULL
);

-- A device belongs to at most one active convoy; ending a convoy releases it.
CREATE TABLE convoy_devices (
    device       TEXT PRIMARY KEY,
    convoy_id    BIGINT NOT NULL REFERENCES convoys(id),
    vehicle      INTEGER NOT NULL,
    secret_hash  TEXT NOT NULL
);

CREATE TABLE positions (
    id           BIGSERIAL PRIMARY KEY,
    convoy_id    BIGINT NOT NULL REFERENCES convoys(id),
    vehicle      INTEGER NOT NULL,
    time_ms      BIGINT NOT NULL,
    received_ms  BIGINT NOT NULL,
    longitude    DOUBLE PRECISION NOT NULL,
    latitude     DOUBLE PRECISION NOT NULL,
    speed_kmh    DOUBLE PRECISION,
    bearing      DOUBLE PRECISION,
    altitude     DOUBLE PRECISION,
    accuracy     DOUBLE PRECISION,
    battery      DOUBLE PRECISION,
    sos          BOOLEAN NOT NULL,
    outcome      TEXT NOT NULL,
    source       TEXT NOT NULL
);
CREATE INDEX positions_convoy_time ON positions (convoy_id, time_ms);

CREATE TABLE convoy_alerts (
    id          BIGSERIAL PRIMARY KEY,
    convoy_id   BIGINT NOT NULL REFERENCES convoys(id),
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    vehicle     INTEGER,
    at_ms       BIGINT NOT NULL,
    message     TEXT NOT NULL,
    data        JSONB NOT NULL,
    created_ms  BIGINT NOT NULL,
    acked_by    BIGINT REFERENCES users(id),
    acked_ms    BIGINT,
    ack_note    TEXT
);
CREATE INDEX convoy_alerts_convoy ON convoy_alerts (convoy_id, id);

CREATE TABLE webhooks (
    id            BIGSERIAL PRIMARY KEY,
    uid           UUID NOT NULL UNIQUE,
    owner_org     BIGINT NOT NULL REFERENCES organisations(id),
    url           TEXT NOT NULL,
    secret        TEXT NOT NULL,
    min_severity  TEXT NOT NULL,
    created_by    BIGINT REFERENCES users(id),
    created_ms    BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id            BIGSERIAL PRIMARY KEY,
    webhook_id    BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    alert_id      BIGINT NOT NULL REFERENCES convoy_alerts(id),
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    next_ms       BIGINT NOT NULL,
    last_code     INTEGER,
    last_error    TEXT,
    delivered_ms  BIGINT,
    UNIQUE (webhook_id, alert_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_ms);
