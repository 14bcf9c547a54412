-- Saved routes (issue 6): a route an organisation keeps for corridor briefs
-- (and, later, for convoys). Private to the organisation that saved it. The
-- plan document holds the request and the chosen route's legs on the road
-- network version `network_id`; a network replaced since then makes the
-- route stale, which the brief says rather than guessing. A name is unique
-- within an organisation; saving under a taken name replaces the route.

CREATE TABLE saved_routes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_org     INTEGER NOT NULL REFERENCES organisations(id),
    name          TEXT NOT NULL,
    network_id    INTEGER NOT NULL,
    network_name  TEXT NOT NULL,
    created_by    INTEGER REFERENCES users(id),
    created_at    TEXT NOT NULL,
    plan          TEXT NOT NULL,
    UNIQUE (owner_org, name)
);

-- A road network's id names one version of it (the app caches a loaded
-- network and each viewer's risk by that id, and a saved route is tied to
-- it), so ids must never be reused: with a plain INTEGER PRIMARY KEY,
-- replacing the newest network gave the new version the old one's id.
CREATE TABLE road_networks_v6 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    source      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    report      TEXT NOT NULL,
    data        BLOB NOT NULL
);
INSERT INTO road_networks_v6 (id, name, source, created_at, report, data)
    SELECT id, name, source, created_at, report, data FROM road_networks;
DROP TABLE road_networks;
ALTER TABLE road_networks_v6 RENAME TO road_networks;
