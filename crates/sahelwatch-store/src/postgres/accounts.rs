//! PostgreSQL: single incidents, organisations, users, tokens, sessions,
//! sharing groups and the audit log. Writes bump the counter their readers
//! watch, in the same transaction (which also serialises audit appends).

use super::{Content, INSERT_TYPES, PgStore};
use crate::row::{INSERT_COLUMNS, coarse_columns};
use crate::{Counters, Org, Result, StoreError, UserChange, now_micros, truncate_micros};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use sahelwatch_core::accounts::{ApiToken, NewUser, Session, SharingGroup, User};
use sahelwatch_core::audit::{AuditEntry, AuditRecord, GENESIS, chain_hash};
use sahelwatch_core::{GroupId, IncidentData, Marking, OrgId, Role, UserId};
use std::collections::BTreeMap;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

fn conflict(e: tokio_postgres::Error, what: &str) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::Conflict(format!("{what} already exists"))
    } else {
        StoreError::Postgres(e)
    }
}

async fn bump(c: &impl GenericClient, name: &str) -> Result<i64> {
    Ok(c.query_one(
        "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value",
        &[&name],
    )
    .await?
    .get(0))
}

fn recipients_json(m: &Marking) -> Option<Json<Vec<i64>>> {
    (!m.recipients.is_empty()).then(|| Json(m.recipients.iter().map(|u| u.0).collect()))
}

const USER_COLUMNS: &str = "id, uid, org_id, username, display_name, role, superadmin, disabled, created_at, password_hash";

fn read_user(r: &Row) -> Result<(User, Option<String>)> {
    let role: String = r.get(5);
    Ok((
        User {
            id: UserId(r.get(0)),
            uid: r.get(1),
            org: OrgId(r.get(2)),
            username: r.get(3),
            display_name: r.get(4),
            role: role.parse::<Role>().map_err(StoreError::Corrupt)?,
            superadmin: r.get(6),
            disabled: r.get(7),
            created_at: r.get(8),
        },
        r.get(9),
    ))
}

const TOKEN_COLUMNS: &str = "id, uid, user_id, name, prefix, created_at, expires_at, revoked_at";

fn read_token(r: &Row) -> ApiToken {
    ApiToken {
        id: r.get(0),
        uid: r.get(1),
        user: UserId(r.get(2)),
        name: r.get(3),
        prefix: r.get(4),
        created_at: r.get(5),
        expires_at: r.get(6),
        revoked_at: r.get(7),
    }
}

impl PgStore {
    pub(super) async fn counters_(&self) -> Result<Counters> {
        let c = self.client().await?;
        let mut out = Counters::default();
        for r in c.query("SELECT name, value FROM counters", &[]).await? {
            let name: String = r.get(0);
            let v: i64 = r.get(1);
            match name.as_str() {
                "incidents" => out.incidents = v,
                "places" => out.places = v,
                "access" => out.access = v,
                "audit" => out.audit = v,
                _ => {}
            }
        }
        Ok(out)
    }

    pub(super) async fn create_incident_(
        &self,
        data: &IncidentData,
        m: &Marking,
        coarse: (f64, f64),
    ) -> Result<(i64, Uuid)> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let seq = bump(&tx, "incidents").await?;
        let uid = Uuid::now_v7();
        let now = now_micros();
        let hash = data.content_hash(m) as i64;
        let content = Content::new(data, hash)?;
        let (clat, clon) = coarse_columns(m, coarse);
        let (owner, tlp, group, author, recipients, coarsen) = (
            m.owner.0,
            m.tlp.label(),
            m.sharing_group.map(|g| g.0),
            m.author.map(|a| a.0),
            recipients_json(m),
            m.coarsen.label(),
        );
        let mut values: Vec<&(dyn ToSql + Sync)> = vec![
            &uid,
            &seq,
            &owner,
            &tlp,
            &group,
            &author,
            &recipients,
            &coarsen,
            &clat,
            &clon,
            &data.dataset,
            &data.external_id,
        ];
        values.extend_from_slice(&content.values());
        values.push(&now);
        values.push(&now);
        let placeholders = (1..=values.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let stmt = tx
            .prepare_typed(
                &format!(
                    "INSERT INTO incidents ({INSERT_COLUMNS}) VALUES ({placeholders}) RETURNING id"
                ),
                &INSERT_TYPES,
            )
            .await?;
        let id: i64 = tx.query_one(&stmt, &values).await?.get(0);
        tx.commit().await?;
        Ok((id, uid))
    }

    pub(super) async fn update_marking_(
        &self,
        id: i64,
        m: &Marking,
        coarse: (f64, f64),
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let seq = bump(&tx, "incidents").await?;
        let (clat, clon) = coarse_columns(m, coarse);
        tx.execute(
            "UPDATE incidents SET seq = $1, tlp = $2, sharing_group = $3, author_user = $4, recipients = $5,
                coarsen = $6, coarse_latitude = $7, coarse_longitude = $8, updated_at = $9 WHERE id = $10",
            &[
                &seq,
                &m.tlp.label(),
                &m.sharing_group.map(|g| g.0),
                &m.author.map(|a| a.0),
                &recipients_json(m),
                &m.coarsen.label(),
                &clat,
                &clon,
                &now_micros(),
                &id,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn delete_incident_(&self, id: i64) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let seq = bump(&tx, "incidents").await?;
        tx.execute(
            "UPDATE incidents SET deleted = true, seq = $1, updated_at = $2 WHERE id = $3",
            &[&seq, &now_micros(), &id],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn create_org_(&self, name: &str) -> Result<Org> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump(&tx, "access").await?;
        let uid = Uuid::now_v7();
        let now = now_micros();
        let id: i64 = tx
            .query_one(
                "INSERT INTO organisations (uid, name, created_at) VALUES ($1, $2, $3) RETURNING id",
                &[&uid, &name, &now],
            )
            .await
            .map_err(|e| conflict(e, &format!("an organisation named '{name}'")))?
            .get(0);
        tx.commit().await?;
        Ok(Org {
            id: OrgId(id),
            uid,
            name: name.to_string(),
            created_at: now,
        })
    }

    pub(super) async fn create_user_(&self, u: NewUser) -> Result<User> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump(&tx, "access").await?;
        let uid = Uuid::now_v7();
        let now = now_micros();
        let id: i64 = tx
            .query_one(
                "INSERT INTO users (uid, org_id, username, display_name, role, superadmin, password_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[&uid, &u.org.0, &u.username, &u.display_name, &u.role.label(), &u.superadmin, &u.password_hash, &now],
            )
            .await
            .map_err(|e| conflict(e, &format!("a user named '{}'", u.username)))?
            .get(0);
        tx.commit().await?;
        Ok(User {
            id: UserId(id),
            uid,
            org: u.org,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            superadmin: u.superadmin,
            disabled: false,
            created_at: now,
        })
    }

    pub(super) async fn user_where(
        &self,
        clause: &str,
        param: &(dyn ToSql + Sync),
    ) -> Result<Option<(User, Option<String>)>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE {clause}"),
                &[param],
            )
            .await?;
        row.map(|r| read_user(&r)).transpose()
    }

    pub(super) async fn users_(&self, org: Option<OrgId>) -> Result<Vec<User>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE $1::bigint IS NULL OR org_id = $1 ORDER BY id"),
                &[&org.map(|o| o.0)],
            )
            .await?;
        rows.iter().map(|r| read_user(r).map(|u| u.0)).collect()
    }

    pub(super) async fn update_user_(&self, id: UserId, ch: UserChange) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump(&tx, "access").await?;
        tx.execute(
            "UPDATE users SET role = coalesce($1, role), disabled = coalesce($2, disabled),
                display_name = coalesce($3, display_name) WHERE id = $4",
            &[
                &ch.role.map(|r| r.label()),
                &ch.disabled,
                &ch.display_name,
                &id.0,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn set_password_(&self, id: UserId, hash: &str) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump(&tx, "access").await?;
        tx.execute(
            "UPDATE users SET password_hash = $1 WHERE id = $2",
            &[&hash, &id.0],
        )
        .await?;
        tx.execute(
            "UPDATE sessions SET revoked = true WHERE user_id = $1",
            &[&id.0],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn create_token_(
        &self,
        user: UserId,
        name: &str,
        hash: &str,
        prefix: &str,
        expires: DateTime<Utc>,
    ) -> Result<ApiToken> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump(&tx, "access").await?;
        let uid = Uuid::now_v7();
        let now = now_micros();
        let expires = truncate_micros(expires);
        let id: i64 = tx
            .query_one(
                "INSERT INTO api_tokens (uid, user_id, name, token_hash, prefix, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[&uid, &user.0, &name, &hash, &prefix, &now, &expires],
            )
            .await?
            .get(0);
        tx.commit().await?;
        Ok(ApiToken {
            id,
            uid,
            user,
            name: name.to_string(),
            prefix: prefix.to_string(),
            created_at: now,
            expires_at: expires,
            revoked_at: None,
        })
    }

    pub(super) async fn token_where(
        &self,
        clause: &str,
        param: &(dyn ToSql + Sync),
    ) -> Result<Option<ApiToken>> {
        let c = self.client().await?;
        Ok(c.query_opt(
            &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE {clause}"),
            &[param],
        )
        .await?
        .map(|r| read_token(&r)))
    }

    pub(super) async fn tokens_(&self, user: UserId) -> Result<Vec<ApiToken>> {
        let c = self.client().await?;
        Ok(c.query(
            &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id"),
            &[&user.0],
        )
        .await?
        .iter()
        .map(read_token)
        .collect())
    }

    pub(super) async fn revoke_token_(&self, id: i64) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump(&tx, "access").await?;
        tx.execute(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[&now_micros(), &id],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn create_session_(
        &self,
        user: UserId,
        hash: &str,
        csrf: &str,
        expires: DateTime<Utc>,
    ) -> Result<Session> {
        let c = self.client().await?;
        let now = now_micros();
        let expires = truncate_micros(expires);
        let id: i64 = c
            .query_one(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[&hash, &user.0, &csrf, &now, &expires],
            )
            .await?
            .get(0);
        Ok(Session {
            id,
            user,
            csrf_token: csrf.to_string(),
            created_at: now,
            expires_at: expires,
            revoked: false,
        })
    }

    pub(super) async fn session_by_hash_(&self, hash: &str) -> Result<Option<Session>> {
        let c = self.client().await?;
        Ok(c.query_opt(
            "SELECT id, user_id, csrf_token, created_at, expires_at, revoked FROM sessions WHERE token_hash = $1",
            &[&hash],
        )
        .await?
        .map(|r| Session {
            id: r.get(0),
            user: UserId(r.get(1)),
            csrf_token: r.get(2),
            created_at: r.get(3),
            expires_at: r.get(4),
            revoked: r.get(5),
        }))
    }

    pub(super) async fn revoke_session_(&self, id: i64) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump(&tx, "access").await?;
        tx.execute("UPDATE sessions SET revoked = true WHERE id = $1", &[&id])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn create_group_(&self, name: &str, owner: OrgId) -> Result<SharingGroup> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump(&tx, "access").await?;
        let uid = Uuid::now_v7();
        let now = now_micros();
        let id: i64 = tx
            .query_one(
                "INSERT INTO sharing_groups (uid, name, owner_org, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                &[&uid, &name, &owner.0, &now],
            )
            .await
            .map_err(|e| conflict(e, &format!("a sharing group named '{name}'")))?
            .get(0);
        tx.execute(
            "INSERT INTO sharing_group_members (group_id, org_id) VALUES ($1, $2)",
            &[&id, &owner.0],
        )
        .await?;
        tx.commit().await?;
        Ok(SharingGroup {
            id: GroupId(id),
            uid,
            name: name.to_string(),
            owner_org: owner,
            members: vec![owner],
            created_at: now,
        })
    }

    pub(super) async fn set_group_member_(
        &self,
        group: GroupId,
        org: OrgId,
        member: bool,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump(&tx, "access").await?;
        if member {
            tx.execute(
                "INSERT INTO sharing_group_members (group_id, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&group.0, &org.0],
            )
            .await?;
        } else {
            tx.execute(
                "DELETE FROM sharing_group_members WHERE group_id = $1 AND org_id = $2",
                &[&group.0, &org.0],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn groups_(&self) -> Result<Vec<SharingGroup>> {
        let c = self.client().await?;
        let mut members: BTreeMap<i64, Vec<OrgId>> = BTreeMap::new();
        for r in c
            .query(
                "SELECT group_id, org_id FROM sharing_group_members ORDER BY group_id, org_id",
                &[],
            )
            .await?
        {
            members.entry(r.get(0)).or_default().push(OrgId(r.get(1)));
        }
        Ok(c.query(
            "SELECT id, uid, name, owner_org, created_at FROM sharing_groups ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            let id: i64 = r.get(0);
            SharingGroup {
                id: GroupId(id),
                uid: r.get(1),
                name: r.get(2),
                owner_org: OrgId(r.get(3)),
                members: members.remove(&id).unwrap_or_default(),
                created_at: r.get(4),
            }
        })
        .collect())
    }

    pub(super) async fn append_audit_(&self, entries: Vec<AuditEntry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The counter row lock serialises appenders, so the chain stays linear.
        bump(&tx, "audit").await?;
        let mut prev: String = tx
            .query_opt("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1", &[])
            .await?
            .map(|r| r.get(0))
            .unwrap_or_else(|| GENESIS.to_string());
        let stmt = tx
            .prepare(
                "INSERT INTO audit_log (at, user_id, org_id, action, path, items, prev_hash, hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .await?;
        for mut e in entries {
            e.at = truncate_micros(e.at);
            let hash = chain_hash(&prev, &e);
            tx.execute(
                &stmt,
                &[
                    &e.at,
                    &e.user.map(|u| u.0),
                    &e.org.map(|o| o.0),
                    &e.action,
                    &e.path,
                    &Json(&e.items),
                    &prev,
                    &hash,
                ],
            )
            .await?;
            prev = hash;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn audit_(
        &self,
        org: Option<OrgId>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, at, user_id, org_id, action, path, items, prev_hash, hash FROM audit_log
                 WHERE id > $1 AND ($2::bigint IS NULL OR org_id = $2) ORDER BY id LIMIT $3",
                &[&after, &org.map(|o| o.0), &(limit as i64)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let items: Json<Vec<Uuid>> = r.get(6);
                AuditRecord {
                    id: r.get(0),
                    entry: AuditEntry {
                        at: r.get(1),
                        user: r.get::<_, Option<i64>>(2).map(UserId),
                        org: r.get::<_, Option<i64>>(3).map(OrgId),
                        action: r.get(4),
                        path: r.get(5),
                        items: items.0,
                    },
                    prev_hash: r.get(7),
                    hash: r.get(8),
                }
            })
            .collect())
    }
}
