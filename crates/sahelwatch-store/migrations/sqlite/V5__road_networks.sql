-- Road networks (issue 6): what `import roads` built, as one document per
-- network (the graph and its contraction order, gzip-compressed, written and
-- read by sahelwatch-routing through the app). A name is unique; importing
-- under a taken name replaces the network in one transaction.

CREATE TABLE road_networks (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    source      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    report      TEXT NOT NULL,
    data        BLOB NOT NULL
);
