-- Accounts, sharing and audit (TLP 2.0 sharing model).

INSERT INTO counters (name, value) VALUES ('access', 0), ('audit', 0);

CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    uid            UUID NOT NULL UNIQUE,
    org_id         BIGINT NOT NULL REFERENCES organisations(id),
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'analyst', 'admin')),
    superadmin     BOOLEAN NOT NULL DEFAULT false,
    password_hash  TEXT,
    disabled       BOOLEAN NOT NULL DEFAULT false,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE api_tokens (
    id          BIGSERIAL PRIMARY KEY,
    uid         UUID NOT NULL UNIQUE,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE sessions (
    id          BIGSERIAL PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    csrf_token  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked     BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE sharing_groups (
    id          BIGSERIAL PRIMARY KEY,
    uid         UUID NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    owner_org   BIGINT NOT NULL REFERENCES organisations(id),
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE sharing_group_members (
    group_id  BIGINT NOT NULL REFERENCES sharing_groups(id),
    org_id    BIGINT NOT NULL REFERENCES organisations(id),
    PRIMARY KEY (group_id, org_id)
);

ALTER TABLE incidents ADD COLUMN sharing_group BIGINT REFERENCES sharing_groups(id);
ALTER TABLE incidents ADD COLUMN author_user BIGINT REFERENCES users(id);
ALTER TABLE incidents ADD COLUMN recipients JSONB;
ALTER TABLE incidents ADD COLUMN coarsen TEXT NOT NULL DEFAULT 'exact'
    CHECK (coarsen IN ('exact', '10km', 'admin2', 'admin1'));
ALTER TABLE incidents ADD COLUMN coarse_latitude DOUBLE PRECISION;
ALTER TABLE incidents ADD COLUMN coarse_longitude DOUBLE PRECISION;

CREATE TABLE audit_log (
    id         BIGSERIAL PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    user_id    BIGINT,
    org_id     BIGINT,
    action     TEXT NOT NULL,
    path       TEXT NOT NULL,
    items      JSONB NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);
