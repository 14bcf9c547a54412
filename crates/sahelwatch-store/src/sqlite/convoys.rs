//! SQLite: convoys, their devices, positions, alerts and webhooks.

use super::reports::marking;
use crate::row::ids_json;
use crate::{
    AlertFilter, AlertRecord, ConvoyRecord, DeliveryRecord, DeviceRecord, Intake, NewConvoy,
    NewWebhook, PositionRecord, Result, StoreError, WebhookRecord,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params, params_from_iter};
use sahelwatch_core::{OrgId, UserId};
use uuid::Uuid;

fn corrupt(what: &str, id: i64, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what} row {id}: {e}"))
}

fn json(what: &str, id: i64, s: String) -> Result<serde_json::Value> {
    serde_json::from_str(&s).map_err(|e| corrupt(what, id, e))
}

const CONVOY_COLUMNS: &str = "id, uid, owner_org, tlp, sharing_group, author_user, recipients, \
    name, created_ms, ended_ms, spec, state";

fn read_convoy(r: &Row) -> Result<ConvoyRecord> {
    let id: i64 = r.get(0)?;
    let uid: Vec<u8> = r.get(1)?;
    Ok(ConvoyRecord {
        id,
        uid: Uuid::from_slice(&uid).map_err(|e| corrupt("convoy uid", id, e))?,
        marking: marking(r, id, 2)?,
        name: r.get(7)?,
        created_ms: r.get(8)?,
        ended_ms: r.get(9)?,
        spec: json("convoy spec", id, r.get(10)?)?,
        state: json("convoy state", id, r.get(11)?)?,
    })
}

pub(super) fn create(c: &mut Connection, n: &NewConvoy) -> Result<ConvoyRecord> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for d in &n.devices {
        let taken: Option<i64> = tx
            .query_row(
                "SELECT convoy_id FROM convoy_devices WHERE device = ?1",
                params![d.device],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "device '{}' is already tracking an active convoy",
                d.device
            )));
        }
    }
    let m = &n.marking;
    tx.execute(
        "INSERT INTO convoys (uid, owner_org, tlp, sharing_group, author_user, recipients, name, \
         created_ms, spec, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            n.uid.as_bytes().to_vec(),
            m.owner.0,
            m.tlp.label(),
            m.sharing_group.map(|g| g.0),
            m.author.map(|u| u.0),
            ids_json(&m.recipients),
            n.name,
            n.created_ms,
            n.spec.to_string(),
            n.state.to_string()
        ],
    )?;
    let id = tx.last_insert_rowid();
    for d in &n.devices {
        tx.execute(
            "INSERT INTO convoy_devices (device, convoy_id, vehicle, secret_hash) VALUES (?1, ?2, ?3, ?4)",
            params![d.device, id, d.vehicle, d.secret_hash],
        )?;
    }
    let rec = tx.query_row(
        &format!("SELECT {CONVOY_COLUMNS} FROM convoys WHERE id = ?1"),
        params![id],
        |r| Ok(read_convoy(r)),
    )??;
    tx.commit()?;
    Ok(rec)
}

pub(super) fn convoys_where(
    c: &Connection,
    cond: &str,
    p: &[&dyn rusqlite::ToSql],
) -> Result<Vec<ConvoyRecord>> {
    let mut st = c.prepare(&format!(
        "SELECT {CONVOY_COLUMNS} FROM convoys WHERE {cond} ORDER BY id DESC"
    ))?;
    let mut rows = st.query(p)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read_convoy(r)?);
    }
    Ok(out)
}

pub(super) fn end(c: &mut Connection, id: i64, at_ms: i64) -> Result<bool> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n = tx.execute(
        "UPDATE convoys SET ended_ms = ?2 WHERE id = ?1 AND ended_ms IS NULL",
        params![id, at_ms],
    )?;
    tx.execute(
        "DELETE FROM convoy_devices WHERE convoy_id = ?1",
        params![id],
    )?;
    tx.commit()?;
    Ok(n > 0)
}

pub(super) fn devices(c: &Connection) -> Result<Vec<DeviceRecord>> {
    let mut st = c.prepare(
        "SELECT device, convoy_id, vehicle, secret_hash FROM convoy_devices ORDER BY device",
    )?;
    let rows = st.query_map([], |r| {
        Ok(DeviceRecord {
            device: r.get(0)?,
            convoy: r.get(1)?,
            vehicle: r.get(2)?,
            secret_hash: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn record(c: &mut Connection, i: &Intake) -> Result<Vec<i64>> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO positions (convoy_id, vehicle, time_ms, received_ms, longitude, latitude, \
             speed_kmh, bearing, altitude, accuracy, battery, sos, outcome, source) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        for p in &i.positions {
            st.execute(params![
                p.convoy,
                p.vehicle,
                p.time_ms,
                p.received_ms,
                p.longitude,
                p.latitude,
                p.speed_kmh,
                p.bearing,
                p.altitude,
                p.accuracy,
                p.battery,
                p.sos,
                p.outcome,
                p.source
            ])?;
        }
    }
    let mut ids = Vec::with_capacity(i.alerts.len());
    for a in &i.alerts {
        tx.execute(
            "INSERT INTO convoy_alerts (convoy_id, kind, severity, vehicle, at_ms, message, data, \
             created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                a.convoy,
                a.kind,
                a.severity,
                a.vehicle,
                a.at_ms,
                a.message,
                a.data.to_string(),
                a.created_ms
            ],
        )?;
        let id = tx.last_insert_rowid();
        for w in &a.webhooks {
            tx.execute(
                // A webhook deleted meanwhile is skipped, not an error.
                "INSERT INTO webhook_deliveries (webhook_id, alert_id, status, attempts, next_ms) \
                 SELECT ?1, ?2, 'pending', 0, ?3 WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?1)",
                params![w, id, a.created_ms],
            )?;
        }
        ids.push(id);
    }
    for (convoy, state) in &i.states {
        tx.execute(
            "UPDATE convoys SET state = ?2 WHERE id = ?1",
            params![convoy, state.to_string()],
        )?;
    }
    tx.commit()?;
    Ok(ids)
}

const POSITION_COLUMNS: &str = "convoy_id, vehicle, time_ms, received_ms, longitude, latitude, \
    speed_kmh, bearing, altitude, accuracy, battery, sos, outcome, source";

fn read_position(r: &Row) -> rusqlite::Result<PositionRecord> {
    Ok(PositionRecord {
        convoy: r.get(0)?,
        vehicle: r.get(1)?,
        time_ms: r.get(2)?,
        received_ms: r.get(3)?,
        longitude: r.get(4)?,
        latitude: r.get(5)?,
        speed_kmh: r.get(6)?,
        bearing: r.get(7)?,
        altitude: r.get(8)?,
        accuracy: r.get(9)?,
        battery: r.get(10)?,
        sos: r.get(11)?,
        outcome: r.get(12)?,
        source: r.get(13)?,
    })
}

pub(super) fn positions(
    c: &Connection,
    convoy: i64,
    from_ms: i64,
    to_ms: i64,
    limit: usize,
) -> Result<Vec<PositionRecord>> {
    let mut st = c.prepare(&format!(
        "SELECT {POSITION_COLUMNS} FROM positions \
         WHERE convoy_id = ?1 AND time_ms >= ?2 AND time_ms < ?3 ORDER BY time_ms, id LIMIT ?4"
    ))?;
    let rows = st.query_map(params![convoy, from_ms, to_ms, limit as i64], read_position)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn positions_received(
    c: &Connection,
    convoy: i64,
    from_received_ms: i64,
) -> Result<Vec<PositionRecord>> {
    let mut st = c.prepare(&format!(
        "SELECT {POSITION_COLUMNS} FROM positions \
         WHERE convoy_id = ?1 AND received_ms >= ?2 ORDER BY id"
    ))?;
    let rows = st.query_map(params![convoy, from_received_ms], read_position)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const ALERT_COLUMNS: &str = "id, convoy_id, kind, severity, vehicle, at_ms, message, data, \
    created_ms, acked_by, acked_ms, ack_note";

fn read_alert(r: &Row) -> Result<AlertRecord> {
    let id: i64 = r.get(0)?;
    Ok(AlertRecord {
        id,
        convoy: r.get(1)?,
        kind: r.get(2)?,
        severity: r.get(3)?,
        vehicle: r.get(4)?,
        at_ms: r.get(5)?,
        message: r.get(6)?,
        data: json("alert data", id, r.get(7)?)?,
        created_ms: r.get(8)?,
        acked_by: r.get::<_, Option<i64>>(9)?.map(UserId),
        acked_ms: r.get(10)?,
        ack_note: r.get(11)?,
    })
}

pub(super) fn alerts(c: &Connection, f: &AlertFilter) -> Result<Vec<AlertRecord>> {
    let mut sql = format!("SELECT {ALERT_COLUMNS} FROM convoy_alerts WHERE id > ?1");
    let mut p: Vec<Value> = vec![Value::Integer(f.after)];
    if f.unacknowledged {
        sql.push_str(" AND acked_ms IS NULL");
    }
    if let Some(convoys) = &f.convoys {
        if convoys.is_empty() {
            return Ok(Vec::new());
        }
        // One parameter however many convoys (SQLite allows 32,766).
        sql.push_str(&format!(
            " AND convoy_id IN (SELECT value FROM json_each(?{}))",
            p.len() + 1
        ));
        p.push(Value::Text(
            serde_json::to_string(convoys).unwrap_or_else(|_| "[]".into()),
        ));
    }
    sql.push_str(&format!(" ORDER BY id LIMIT {}", f.limit));
    let mut st = c.prepare(&sql)?;
    let mut rows = st.query(params_from_iter(p))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read_alert(r)?);
    }
    Ok(out)
}

pub(super) fn alert(c: &Connection, id: i64) -> Result<Option<AlertRecord>> {
    c.query_row(
        &format!("SELECT {ALERT_COLUMNS} FROM convoy_alerts WHERE id = ?1"),
        params![id],
        |r| Ok(read_alert(r)),
    )
    .optional()?
    .transpose()
}

pub(super) fn ack(
    c: &Connection,
    id: i64,
    by: Option<UserId>,
    at_ms: i64,
    note: Option<&str>,
) -> Result<bool> {
    Ok(c.execute(
        "UPDATE convoy_alerts SET acked_by = ?2, acked_ms = ?3, ack_note = ?4 \
         WHERE id = ?1 AND acked_ms IS NULL",
        params![id, by.map(|u| u.0), at_ms, note],
    )? > 0)
}

const HOOK_COLUMNS: &str = "id, uid, owner_org, url, secret, min_severity, created_by, created_ms";

fn read_hook(r: &Row) -> Result<WebhookRecord> {
    let id: i64 = r.get(0)?;
    let uid: Vec<u8> = r.get(1)?;
    Ok(WebhookRecord {
        id,
        uid: Uuid::from_slice(&uid).map_err(|e| corrupt("webhook uid", id, e))?,
        owner_org: OrgId(r.get(2)?),
        url: r.get(3)?,
        secret: r.get(4)?,
        min_severity: r.get(5)?,
        created_by: r.get::<_, Option<i64>>(6)?.map(UserId),
        created_ms: r.get(7)?,
    })
}

pub(super) fn create_hook(c: &Connection, n: &NewWebhook) -> Result<WebhookRecord> {
    c.execute(
        "INSERT INTO webhooks (uid, owner_org, url, secret, min_severity, created_by, created_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            n.uid.as_bytes().to_vec(),
            n.owner_org.0,
            n.url,
            n.secret,
            n.min_severity,
            n.created_by.map(|u| u.0),
            n.created_ms
        ],
    )?;
    let id = c.last_insert_rowid();
    c.query_row(
        &format!("SELECT {HOOK_COLUMNS} FROM webhooks WHERE id = ?1"),
        params![id],
        |r| Ok(read_hook(r)),
    )?
}

pub(super) fn hooks(c: &Connection, org: Option<OrgId>) -> Result<Vec<WebhookRecord>> {
    let mut st = c.prepare(&format!(
        "SELECT {HOOK_COLUMNS} FROM webhooks WHERE ?1 IS NULL OR owner_org = ?1 ORDER BY id"
    ))?;
    let mut rows = st.query(params![org.map(|o| o.0)])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read_hook(r)?);
    }
    Ok(out)
}

pub(super) fn delete_hook(c: &mut Connection, org: OrgId, id: i64) -> Result<bool> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let owned: Option<i64> = tx
        .query_row(
            "SELECT id FROM webhooks WHERE id = ?1 AND owner_org = ?2",
            params![id, org.0],
            |r| r.get(0),
        )
        .optional()?;
    if owned.is_none() {
        return Ok(false);
    }
    tx.execute(
        "DELETE FROM webhook_deliveries WHERE webhook_id = ?1",
        params![id],
    )?;
    tx.execute("DELETE FROM webhooks WHERE id = ?1", params![id])?;
    tx.commit()?;
    Ok(true)
}

const DELIVERY_COLUMNS: &str =
    "id, webhook_id, alert_id, status, attempts, next_ms, last_code, last_error, delivered_ms";

fn read_delivery(r: &Row) -> rusqlite::Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: r.get(0)?,
        webhook: r.get(1)?,
        alert: r.get(2)?,
        status: r.get(3)?,
        attempts: r.get(4)?,
        next_ms: r.get(5)?,
        last_code: r.get(6)?,
        last_error: r.get(7)?,
        delivered_ms: r.get(8)?,
    })
}

pub(super) fn due(c: &Connection, now_ms: i64, limit: usize) -> Result<Vec<DeliveryRecord>> {
    let mut st = c.prepare(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
         WHERE status = 'pending' AND next_ms <= ?1 ORDER BY next_ms, id LIMIT ?2"
    ))?;
    let rows = st.query_map(params![now_ms, limit as i64], read_delivery)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn update_delivery(c: &Connection, d: &DeliveryRecord) -> Result<()> {
    c.execute(
        "UPDATE webhook_deliveries SET status = ?2, attempts = ?3, next_ms = ?4, last_code = ?5, \
         last_error = ?6, delivered_ms = ?7 WHERE id = ?1",
        params![
            d.id,
            d.status,
            d.attempts,
            d.next_ms,
            d.last_code,
            d.last_error,
            d.delivered_ms
        ],
    )?;
    Ok(())
}

pub(super) fn deliveries(
    c: &Connection,
    webhook: i64,
    limit: usize,
) -> Result<Vec<DeliveryRecord>> {
    let mut st = c.prepare(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ?1 \
         ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = st.query_map(params![webhook, limit as i64], read_delivery)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
