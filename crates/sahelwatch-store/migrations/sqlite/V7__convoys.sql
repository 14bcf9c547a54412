-- Convoys (issue 7): registered convoys with their marking, the tracker
-- devices of their vehicles, stored positions, alerts with their
-- acknowledgement, and webhooks with one delivery row per alert (written in
-- the alert's transaction, so no alert is lost between the database and a
-- webhook). Times are Unix milliseconds, as devices send them. Spec and
-- state are JSON documents of the domain layer (sahelwatch-tracking).

CREATE TABLE convoys (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    uid            BLOB NOT NULL UNIQUE,
    owner_org      INTEGER NOT NULL REFERENCES organisations(id),
    tlp            TEXT NOT NULL,
    sharing_group  INTEGER REFERENCES sharing_groups(id),
    author_user    INTEGER REFERENCES users(id),
    recipients     TEXT,
    name           TEXT NOT NULL,
    created_ms     INTEGER NOT NULL,
    ended_ms       INTEGER,
    spec           TEXT NOT NULL,
    state          TEXT NOT NULL
);

-- A device belongs to at most one active convoy; ending a convoy releases it.
CREATE TABLE convoy_devices (
    device       TEXT PRIMARY KEY,
    convoy_id    INTEGER NOT NULL REFERENCES convoys(id),
    vehicle      INTEGER NOT NULL,
    secret_hash  TEXT NOT NULL
);

CREATE TABLE positions (
    id           INTEGER PRIMARY KEY,
    convoy_id    INTEGER NOT NULL REFERENCES convoys(id),
    vehicle      INTEGER NOT NULL,
    time_ms      INTEGER NOT NULL,
    received_ms  INTEGER NOT NULL,
    longitude    REAL NOT NULL,
    latitude     REAL NOT NULL,
    speed_kmh    REAL,
    bearing      REAL,
    altitude     REAL,
    accuracy     REAL,
    battery      REAL,
    sos          INTEGER NOT NULL,
    outcome      TEXT NOT NULL,
    source       TEXT NOT NULL
);
CREATE INDEX positions_convoy_time ON positions (convoy_id, time_ms);

CREATE TABLE convoy_alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    convoy_id   INTEGER NOT NULL REFERENCES convoys(id),
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    vehicle     INTEGER,
    at_ms       INTEGER NOT NULL,
    message     TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    acked_by    INTEGER REFERENCES users(id),
    acked_ms    INTEGER,
    ack_note    TEXT
);
CREATE INDEX convoy_alerts_convoy ON convoy_alerts (convoy_id, id);

CREATE TABLE webhooks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    uid           BLOB NOT NULL UNIQUE,
    owner_org     INTEGER NOT NULL REFERENCES organisations(id),
    url           TEXT NOT NULL,
    secret        TEXT NOT NULL,
    min_severity  TEXT NOT NULL,
    created_by    INTEGER REFERENCES users(id),
    created_ms    INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id    INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    alert_id      INTEGER NOT NULL REFERENCES convoy_alerts(id),
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    next_ms       INTEGER NOT NULL,
    last_code     INTEGER,
    last_error    TEXT,
    delivered_ms  INTEGER,
    UNIQUE (webhook_id, alert_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_ms);
