-- Accounts, sharing and audit (TLP 2.0 sharing model).

INSERT INTO counters (name, value) VALUES ('access', 0), ('audit', 0);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    uid            BLOB NOT NULL UNIQUE,
    org_id         INTEGER NOT NULL REFERENCES organisations(id),
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL,
    superadmin     INTEGER NOT NULL DEFAULT 0,
    password_hash  TEXT,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL
);
CREATE INDEX users_org ON users (org_id);

-- Secrets are stored as SHA-256 hex digests only.
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    uid         BLOB NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sharing_groups (
    id          INTEGER PRIMARY KEY,
    uid         BLOB NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    owner_org   INTEGER NOT NULL REFERENCES organisations(id),
    created_at  TEXT NOT NULL
);

CREATE TABLE sharing_group_members (
    group_id  INTEGER NOT NULL REFERENCES sharing_groups(id),
    org_id    INTEGER NOT NULL REFERENCES organisations(id),
    PRIMARY KEY (group_id, org_id)
);

-- The rest of an incident's marking. recipients: JSON array of user ids (RED).
-- coarse_*: where viewers outside the owner organisation see it; NULL = exact.
ALTER TABLE incidents ADD COLUMN sharing_group INTEGER REFERENCES sharing_groups(id);
ALTER TABLE incidents ADD COLUMN author_user INTEGER REFERENCES users(id);
ALTER TABLE incidents ADD COLUMN recipients TEXT;
ALTER TABLE incidents ADD COLUMN coarsen TEXT NOT NULL DEFAULT 'exact';
ALTER TABLE incidents ADD COLUMN coarse_latitude REAL;
ALTER TABLE incidents ADD COLUMN coarse_longitude REAL;

-- Append-only, hash-chained (see sahelwatch-core/src/audit.rs).
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    user_id    INTEGER,
    org_id     INTEGER,
    action     TEXT NOT NULL,
    path       TEXT NOT NULL,
    items      TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);
