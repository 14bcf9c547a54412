-- Saved routes (issue 6): a route an organisation keeps for corridor briefs
-- (and, later, for convoys). Private to the organisation that saved it. The
-- plan document holds the request and the chosen route's legs on the road
-- network version `network_id`; a network replaced since then makes the
-- route stale, which the brief says rather than guessing. A name is unique
-- within an organisation; saving under a taken name replaces the route.

CREATE TABLE saved_routes (
    id            BIGSERIAL PRIMARY KEY,
    owner_org     BIGINT NOT NULL REFERENCES organisations(id),
    name          TEXT NOT NULL,
    network_id    BIGINT NOT NULL,
    network_name  TEXT NOT NULL,
    created_by    BIGINT REFERENCES users(id),
    created_at    TIMESTAMPTZ NOT NULL,
    plan          JSONB NOT NULL,
    UNIQUE (owner_org, name)
);
