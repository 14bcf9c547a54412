//! SQLite: single incidents, organisations, users, tokens, sessions, sharing
//! groups and the audit log. Every write runs in an immediate transaction and
//! bumps the counter its readers watch.

use super::{bind_content, bump};
use crate::row::{
    INSERT_ARITY, INSERT_COLUMNS, INSERT_HEAD, coarse_columns, ids_json, ts_parse, ts_text,
};
use crate::{Counters, Org, Result, StoreError, UserChange, now_micros, truncate_micros};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sahelwatch_core::accounts::{ApiToken, NewUser, Session, SharingGroup, User};
use sahelwatch_core::audit::{AuditEntry, AuditRecord, GENESIS, chain_hash};
use sahelwatch_core::{GroupId, IncidentData, Marking, OrgId, Role, UserId};
use std::collections::BTreeMap;
use uuid::Uuid;

fn uuid(bytes: Vec<u8>) -> Result<Uuid> {
    Uuid::from_slice(&bytes)
        .map_err(|_| StoreError::Corrupt("a stored uuid is not 16 bytes".into()))
}

fn conflict(e: rusqlite::Error, what: &str) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(format!("{what} already exists"))
        }
        _ => StoreError::Sqlite(e),
    }
}

fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.map(|t| ts_parse(&t)).transpose()
}

pub fn counters(c: &mut Connection) -> Result<Counters> {
    let mut st = c.prepare_cached("SELECT name, value FROM counters")?;
    let mut rows = st.query([])?;
    let mut out = Counters::default();
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let v: i64 = r.get(1)?;
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

pub fn create_incident(
    c: &mut Connection,
    data: &IncidentData,
    marking: &Marking,
    coarse: (f64, f64),
) -> Result<(i64, Uuid)> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let seq = bump(&tx, "incidents")?;
    let uid = Uuid::now_v7();
    let now = ts_text(now_micros());
    let hash = data.content_hash(marking) as i64;
    let id = {
        let placeholders = (1..=INSERT_ARITY)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut st = tx.prepare(&format!(
            "INSERT INTO incidents ({INSERT_COLUMNS}) VALUES ({placeholders})"
        ))?;
        let (clat, clon) = coarse_columns(marking, coarse);
        st.raw_bind_parameter(1, &uid.as_bytes()[..])?;
        st.raw_bind_parameter(2, seq)?;
        st.raw_bind_parameter(3, marking.owner.0)?;
        st.raw_bind_parameter(4, marking.tlp.label())?;
        st.raw_bind_parameter(5, marking.sharing_group.map(|g| g.0))?;
        st.raw_bind_parameter(6, marking.author.map(|a| a.0))?;
        st.raw_bind_parameter(7, ids_json(&marking.recipients))?;
        st.raw_bind_parameter(8, marking.coarsen.label())?;
        st.raw_bind_parameter(9, clat)?;
        st.raw_bind_parameter(10, clon)?;
        st.raw_bind_parameter(11, &data.dataset)?;
        st.raw_bind_parameter(12, &data.external_id)?;
        let next = bind_content(&mut st, INSERT_HEAD + 1, data, hash)?;
        st.raw_bind_parameter(next, &now)?;
        st.raw_bind_parameter(next + 1, &now)?;
        st.raw_execute()?;
        tx.last_insert_rowid()
    };
    tx.commit()?;
    Ok((id, uid))
}

pub fn update_marking(
    c: &mut Connection,
    id: i64,
    marking: &Marking,
    coarse: (f64, f64),
) -> Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let seq = bump(&tx, "incidents")?;
    let (clat, clon) = coarse_columns(marking, coarse);
    tx.execute(
        "UPDATE incidents SET seq = ?1, tlp = ?2, sharing_group = ?3, author_user = ?4, recipients = ?5,
            coarsen = ?6, coarse_latitude = ?7, coarse_longitude = ?8, updated_at = ?9
         WHERE id = ?10",
        params![
            seq,
            marking.tlp.label(),
            marking.sharing_group.map(|g| g.0),
            marking.author.map(|a| a.0),
            ids_json(&marking.recipients),
            marking.coarsen.label(),
            clat,
            clon,
            ts_text(now_micros()),
            id
        ],
    )?;
    tx.commit()?;
    Ok(())
}

pub fn delete_incident(c: &mut Connection, id: i64) -> Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let seq = bump(&tx, "incidents")?;
    tx.execute(
        "UPDATE incidents SET deleted = 1, seq = ?1, updated_at = ?2 WHERE id = ?3",
        params![seq, ts_text(now_micros()), id],
    )?;
    tx.commit()?;
    Ok(())
}

pub fn create_org(c: &mut Connection, name: &str) -> Result<Org> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    bump(&tx, "access")?;
    let uid = Uuid::now_v7();
    let now = now_micros();
    tx.execute(
        "INSERT INTO organisations (uid, name, created_at) VALUES (?1, ?2, ?3)",
        params![&uid.as_bytes()[..], name, ts_text(now)],
    )
    .map_err(|e| conflict(e, &format!("an organisation named '{name}'")))?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(Org {
        id: OrgId(id),
        uid,
        name: name.to_string(),
        created_at: now,
    })
}

const USER_COLUMNS: &str = "id, uid, org_id, username, display_name, role, superadmin, disabled, created_at, password_hash";

fn read_user(r: &rusqlite::Row<'_>) -> Result<(User, Option<String>)> {
    let role: String = r.get(5)?;
    Ok((
        User {
            id: UserId(r.get(0)?),
            uid: uuid(r.get(1)?)?,
            org: OrgId(r.get(2)?),
            username: r.get(3)?,
            display_name: r.get(4)?,
            role: role.parse::<Role>().map_err(StoreError::Corrupt)?,
            superadmin: r.get(6)?,
            disabled: r.get(7)?,
            created_at: ts_parse(&r.get::<_, String>(8)?)?,
        },
        r.get(9)?,
    ))
}

pub fn create_user(c: &mut Connection, u: NewUser) -> Result<User> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    bump(&tx, "access")?;
    let uid = Uuid::now_v7();
    let now = now_micros();
    tx.execute(
        "INSERT INTO users (uid, org_id, username, display_name, role, superadmin, password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            &uid.as_bytes()[..],
            u.org.0,
            u.username,
            u.display_name,
            u.role.label(),
            u.superadmin,
            u.password_hash,
            ts_text(now)
        ],
    )
    .map_err(|e| conflict(e, &format!("a user named '{}'", u.username)))?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
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

pub fn user_where(
    c: &mut Connection,
    clause: &str,
    param: &dyn rusqlite::ToSql,
) -> Result<Option<(User, Option<String>)>> {
    let mut st = c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE {clause}"))?;
    let mut rows = st.query([param])?;
    match rows.next()? {
        Some(r) => Ok(Some(read_user(r)?)),
        None => Ok(None),
    }
}

pub fn users(c: &mut Connection, org: Option<OrgId>) -> Result<Vec<User>> {
    let mut st = c.prepare(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE ?1 IS NULL OR org_id = ?1 ORDER BY id"
    ))?;
    let mut rows = st.query([org.map(|o| o.0)])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read_user(r)?.0);
    }
    Ok(out)
}

pub fn update_user(c: &mut Connection, id: UserId, ch: UserChange) -> Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    bump(&tx, "access")?;
    tx.execute(
        "UPDATE users SET role = coalesce(?1, role), disabled = coalesce(?2, disabled),
            display_name = coalesce(?3, display_name) WHERE id = ?4",
        params![
            ch.role.map(|r| r.label()),
            ch.disabled,
            ch.display_name,
            id.0
        ],
    )?;
    tx.commit()?;
    Ok(())
}

pub fn set_password(c: &mut Connection, id: UserId, hash: &str) -> Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    bump(&tx, "access")?;
    tx.execute(
        "UPDATE users SET password_hash = ?1 WHERE id = ?2",
        params![hash, id.0],
    )?;
    // A new password ends every browser session of the user.
    tx.execute("UPDATE sessions SET revoked = 1 WHERE user_id = ?1", [id.0])?;
    tx.commit()?;
    Ok(())
}

const TOKEN_COLUMNS: &str = "id, uid, user_id, name, prefix, created_at, expires_at, revoked_at";

fn read_token(r: &rusqlite::Row<'_>) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.get(0)?,
        uid: uuid(r.get(1)?)?,
        user: UserId(r.get(2)?),
        name: r.get(3)?,
        prefix: r.get(4)?,
        created_at: ts_parse(&r.get::<_, String>(5)?)?,
        expires_at: ts_parse(&r.get::<_, String>(6)?)?,
        revoked_at: opt_ts(r.get(7)?)?,
    })
}

pub fn create_token(
    c: &mut Connection,
    user: UserId,
    name: &str,
    hash: &str,
    prefix: &str,
    expires: DateTime<Utc>,
) -> Result<ApiToken> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    bump(&tx, "access")?;
    let uid = Uuid::now_v7();
    let now = now_micros();
    let expires = truncate_micros(expires);
    tx.execute(
        "INSERT INTO api_tokens (uid, user_id, name, token_hash, prefix, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            &uid.as_bytes()[..],
            user.0,
            name,
            hash,
            prefix,
            ts_text(now),
            ts_text(expires)
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
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

pub fn token_where(
    c: &mut Connection,
    clause: &str,
    param: &dyn rusqlite::ToSql,
) -> Result<Option<ApiToken>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE {clause}"
    ))?;
    let mut rows = st.query([param])?;
    match rows.next()? {
        Some(r) => Ok(Some(read_token(r)?)),
        None => Ok(None),
    }
}

pub fn tokens(c: &mut Connection, user: UserId) -> Result<Vec<ApiToken>> {
    let mut st = c.prepare(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = ?1 ORDER BY id"
    ))?;
    let mut rows = st.query([user.0])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read_token(r)?);
    }
    Ok(out)
}

pub fn revoke_token(c: &mut Connection, id: i64) -> Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    bump(&tx, "access")?;
    tx.execute(
        "UPDATE api_tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        params![ts_text(now_micros()), id],
    )?;
    tx.commit()?;
    Ok(())
}

pub fn create_session(
    c: &mut Connection,
    user: UserId,
    hash: &str,
    csrf: &str,
    expires: DateTime<Utc>,
) -> Result<Session> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = now_micros();
    let expires = truncate_micros(expires);
    tx.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![hash, user.0, csrf, ts_text(now), ts_text(expires)],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(Session {
        id,
        user,
        csrf_token: csrf.to_string(),
        created_at: now,
        expires_at: expires,
        revoked: false,
    })
}

pub fn session_by_hash(c: &mut Connection, hash: &str) -> Result<Option<Session>> {
    let mut st = c.prepare_cached(
        "SELECT id, user_id, csrf_token, created_at, expires_at, revoked FROM sessions WHERE token_hash = ?1",
    )?;
    let row = st
        .query_row([hash], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })
        .optional()?;
    row.map(|(id, user, csrf, created, expires, revoked)| {
        Ok(Session {
            id,
            user: UserId(user),
            csrf_token: csrf,
            created_at: ts_parse(&created)?,
            expires_at: ts_parse(&expires)?,
            revoked,
        })
    })
    .transpose()
}

pub fn revoke_session(c: &mut Connection, id: i64) -> Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    bump(&tx, "access")?;
    tx.execute("UPDATE sessions SET revoked = 1 WHERE id = ?1", [id])?;
    tx.commit()?;
    Ok(())
}

pub fn create_group(c: &mut Connection, name: &str, owner: OrgId) -> Result<SharingGroup> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    bump(&tx, "access")?;
    let uid = Uuid::now_v7();
    let now = now_micros();
    tx.execute(
        "INSERT INTO sharing_groups (uid, name, owner_org, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![&uid.as_bytes()[..], name, owner.0, ts_text(now)],
    )
    .map_err(|e| conflict(e, &format!("a sharing group named '{name}'")))?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO sharing_group_members (group_id, org_id) VALUES (?1, ?2)",
        params![id, owner.0],
    )?;
    tx.commit()?;
    Ok(SharingGroup {
        id: GroupId(id),
        uid,
        name: name.to_string(),
        owner_org: owner,
        members: vec![owner],
        created_at: now,
    })
}

pub fn set_group_member(
    c: &mut Connection,
    group: GroupId,
    org: OrgId,
    member: bool,
) -> Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    bump(&tx, "access")?;
    if member {
        tx.execute(
            "INSERT OR IGNORE INTO sharing_group_members (group_id, org_id) VALUES (?1, ?2)",
            params![group.0, org.0],
        )?;
    } else {
        tx.execute(
            "DELETE FROM sharing_group_members WHERE group_id = ?1 AND org_id = ?2",
            params![group.0, org.0],
        )?;
    }
    tx.commit()?;
    Ok(())
}

pub fn groups(c: &mut Connection) -> Result<Vec<SharingGroup>> {
    let mut members: BTreeMap<i64, Vec<OrgId>> = BTreeMap::new();
    {
        let mut st = c.prepare(
            "SELECT group_id, org_id FROM sharing_group_members ORDER BY group_id, org_id",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            members.entry(r.get(0)?).or_default().push(OrgId(r.get(1)?));
        }
    }
    let mut st =
        c.prepare("SELECT id, uid, name, owner_org, created_at FROM sharing_groups ORDER BY id")?;
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        out.push(SharingGroup {
            id: GroupId(id),
            uid: uuid(r.get(1)?)?,
            name: r.get(2)?,
            owner_org: OrgId(r.get(3)?),
            members: members.remove(&id).unwrap_or_default(),
            created_at: ts_parse(&r.get::<_, String>(4)?)?,
        });
    }
    Ok(out)
}

pub fn append_audit(c: &mut Connection, entries: Vec<AuditEntry>) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    bump(&tx, "audit")?;
    let mut prev: String = tx
        .query_row(
            "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| GENESIS.to_string());
    {
        let mut st = tx.prepare(
            "INSERT INTO audit_log (at, user_id, org_id, action, path, items, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for mut e in entries {
            e.at = truncate_micros(e.at);
            let hash = chain_hash(&prev, &e);
            st.execute(params![
                ts_text(e.at),
                e.user.map(|u| u.0),
                e.org.map(|o| o.0),
                e.action,
                e.path,
                serde_json::to_string(&e.items).unwrap_or_default(),
                prev,
                hash
            ])?;
            prev = hash;
        }
    }
    tx.commit()?;
    Ok(())
}

pub fn audit(
    c: &mut Connection,
    org: Option<OrgId>,
    after: i64,
    limit: usize,
) -> Result<Vec<AuditRecord>> {
    let mut st = c.prepare(
        "SELECT id, at, user_id, org_id, action, path, items, prev_hash, hash FROM audit_log
         WHERE id > ?1 AND (?2 IS NULL OR org_id = ?2) ORDER BY id LIMIT ?3",
    )?;
    let mut rows = st.query(params![after, org.map(|o| o.0), limit as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let items: String = r.get(6)?;
        out.push(AuditRecord {
            id: r.get(0)?,
            entry: AuditEntry {
                at: ts_parse(&r.get::<_, String>(1)?)?,
                user: r.get::<_, Option<i64>>(2)?.map(UserId),
                org: r.get::<_, Option<i64>>(3)?.map(OrgId),
                action: r.get(4)?,
                path: r.get(5)?,
                items: serde_json::from_str(&items)
                    .map_err(|_| StoreError::Corrupt("audit items".into()))?,
            },
            prev_hash: r.get(7)?,
            hash: r.get(8)?,
        });
    }
    Ok(out)
}
