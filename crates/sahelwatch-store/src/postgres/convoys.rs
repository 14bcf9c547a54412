//! PostgreSQL: convoys, their devices, positions, alerts and webhooks.

use super::PgStore;
use super::reports::{marking, recipients};
use crate::{
    AlertFilter, AlertRecord, ConvoyRecord, DeliveryRecord, DeviceRecord, Intake, NewConvoy,
    NewWebhook, PositionRecord, Result, StoreError, WebhookRecord,
};
use sahelwatch_core::{OrgId, UserId};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Json, ToSql};

const CONVOY_COLUMNS: &str = "id, uid, owner_org, tlp, sharing_group, author_user, recipients, \
    name, created_ms, ended_ms, spec, state";

fn read_convoy(r: &Row) -> Result<ConvoyRecord> {
    let id: i64 = r.get(0);
    let spec: Json<serde_json::Value> = r.get(10);
    let state: Json<serde_json::Value> = r.get(11);
    Ok(ConvoyRecord {
        id,
        uid: r.get(1),
        marking: marking(r, id, 2)?,
        name: r.get(7),
        created_ms: r.get(8),
        ended_ms: r.get(9),
        spec: spec.0,
        state: state.0,
    })
}

fn taken(device: &str) -> StoreError {
    StoreError::Conflict(format!(
        "device '{device}' is already tracking an active convoy"
    ))
}

const POSITION_COLUMNS: &str = "convoy_id, vehicle, time_ms, received_ms, longitude, latitude, \
    speed_kmh, bearing, altitude, accuracy, battery, sos, outcome, source";

fn read_position(r: &Row) -> PositionRecord {
    PositionRecord {
        convoy: r.get(0),
        vehicle: r.get(1),
        time_ms: r.get(2),
        received_ms: r.get(3),
        longitude: r.get(4),
        latitude: r.get(5),
        speed_kmh: r.get(6),
        bearing: r.get(7),
        altitude: r.get(8),
        accuracy: r.get(9),
        battery: r.get(10),
        sos: r.get(11),
        outcome: r.get(12),
        source: r.get(13),
    }
}

const ALERT_COLUMNS: &str = "id, convoy_id, kind, severity, vehicle, at_ms, message, data, \
    created_ms, acked_by, acked_ms, ack_note";

fn read_alert(r: &Row) -> AlertRecord {
    let data: Json<serde_json::Value> = r.get(7);
    AlertRecord {
        id: r.get(0),
        convoy: r.get(1),
        kind: r.get(2),
        severity: r.get(3),
        vehicle: r.get(4),
        at_ms: r.get(5),
        message: r.get(6),
        data: data.0,
        created_ms: r.get(8),
        acked_by: r.get::<_, Option<i64>>(9).map(UserId),
        acked_ms: r.get(10),
        ack_note: r.get(11),
    }
}

const HOOK_COLUMNS: &str = "id, uid, owner_org, url, secret, min_severity, created_by, created_ms";

fn read_hook(r: &Row) -> WebhookRecord {
    WebhookRecord {
        id: r.get(0),
        uid: r.get(1),
        owner_org: OrgId(r.get(2)),
        url: r.get(3),
        secret: r.get(4),
        min_severity: r.get(5),
        created_by: r.get::<_, Option<i64>>(6).map(UserId),
        created_ms: r.get(7),
    }
}

const DELIVERY_COLUMNS: &str =
    "id, webhook_id, alert_id, status, attempts, next_ms, last_code, last_error, delivered_ms";

fn read_delivery(r: &Row) -> DeliveryRecord {
    DeliveryRecord {
        id: r.get(0),
        webhook: r.get(1),
        alert: r.get(2),
        status: r.get(3),
        attempts: r.get(4),
        next_ms: r.get(5),
        last_code: r.get(6),
        last_error: r.get(7),
        delivered_ms: r.get(8),
    }
}

impl PgStore {
    pub(super) async fn create_convoy_(&self, n: &NewConvoy) -> Result<ConvoyRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let devices: Vec<&str> = n.devices.iter().map(|d| d.device.as_str()).collect();
        if let Some(r) = tx
            .query_opt(
                "SELECT device FROM convoy_devices WHERE device = ANY($1) ORDER BY device LIMIT 1",
                &[&devices],
            )
            .await?
        {
            return Err(taken(r.get(0)));
        }
        let m = &n.marking;
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO convoys (uid, owner_org, tlp, sharing_group, author_user, \
                     recipients, name, created_ms, spec, state) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {CONVOY_COLUMNS}"
                ),
                &[
                    &n.uid,
                    &m.owner.0,
                    &m.tlp.label(),
                    &m.sharing_group.map(|g| g.0),
                    &m.author.map(|u| u.0),
                    &recipients(m),
                    &n.name,
                    &n.created_ms,
                    &Json(&n.spec),
                    &Json(&n.state),
                ],
            )
            .await?;
        let rec = read_convoy(&row)?;
        for d in &n.devices {
            tx.execute(
                "INSERT INTO convoy_devices (device, convoy_id, vehicle, secret_hash) \
                 VALUES ($1, $2, $3, $4)",
                &[&d.device, &rec.id, &d.vehicle, &d.secret_hash],
            )
            .await
            .map_err(|e| {
                if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                    taken(&d.device)
                } else {
                    StoreError::Postgres(e)
                }
            })?;
        }
        tx.commit().await?;
        Ok(rec)
    }

    pub(super) async fn convoys_where(
        &self,
        cond: &str,
        p: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<ConvoyRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {CONVOY_COLUMNS} FROM convoys WHERE {cond} ORDER BY id DESC"),
                p,
            )
            .await?;
        rows.iter().map(read_convoy).collect()
    }

    pub(super) async fn end_convoy_(&self, id: i64, at_ms: i64) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE convoys SET ended_ms = $2 WHERE id = $1 AND ended_ms IS NULL",
                &[&id, &at_ms],
            )
            .await?;
        tx.execute("DELETE FROM convoy_devices WHERE convoy_id = $1", &[&id])
            .await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    pub(super) async fn devices_(&self) -> Result<Vec<DeviceRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT device, convoy_id, vehicle, secret_hash FROM convoy_devices ORDER BY device",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| DeviceRecord {
                device: r.get(0),
                convoy: r.get(1),
                vehicle: r.get(2),
                secret_hash: r.get(3),
            })
            .collect())
    }

    pub(super) async fn record_intake_(&self, i: &Intake) -> Result<Vec<i64>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if !i.positions.is_empty() {
            let p = &i.positions;
            let col = |f: fn(&PositionRecord) -> Option<f64>| p.iter().map(f).collect::<Vec<_>>();
            let convoy: Vec<i64> = p.iter().map(|x| x.convoy).collect();
            let vehicle: Vec<i32> = p.iter().map(|x| x.vehicle).collect();
            let time: Vec<i64> = p.iter().map(|x| x.time_ms).collect();
            let received: Vec<i64> = p.iter().map(|x| x.received_ms).collect();
            let lon: Vec<f64> = p.iter().map(|x| x.longitude).collect();
            let lat: Vec<f64> = p.iter().map(|x| x.latitude).collect();
            let speed = col(|x| x.speed_kmh);
            let bearing = col(|x| x.bearing);
            let altitude = col(|x| x.altitude);
            let accuracy = col(|x| x.accuracy);
            let battery = col(|x| x.battery);
            let sos: Vec<bool> = p.iter().map(|x| x.sos).collect();
            let outcome: Vec<&str> = p.iter().map(|x| x.outcome.as_str()).collect();
            let source: Vec<&str> = p.iter().map(|x| x.source.as_str()).collect();
            tx.execute(
                &format!(
                    "INSERT INTO positions ({POSITION_COLUMNS}) SELECT * FROM UNNEST(\
                     $1::BIGINT[], $2::INTEGER[], $3::BIGINT[], $4::BIGINT[], \
                     $5::DOUBLE PRECISION[], $6::DOUBLE PRECISION[], $7::DOUBLE PRECISION[], \
                     $8::DOUBLE PRECISION[], $9::DOUBLE PRECISION[], $10::DOUBLE PRECISION[], \
                     $11::DOUBLE PRECISION[], $12::BOOLEAN[], $13::TEXT[], $14::TEXT[])"
                ),
                &[
                    &convoy, &vehicle, &time, &received, &lon, &lat, &speed, &bearing, &altitude,
                    &accuracy, &battery, &sos, &outcome, &source,
                ],
            )
            .await?;
        }
        let mut ids = Vec::with_capacity(i.alerts.len());
        for a in &i.alerts {
            let row = tx
                .query_one(
                    "INSERT INTO convoy_alerts (convoy_id, kind, severity, vehicle, at_ms, \
                     message, data, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     RETURNING id",
                    &[
                        &a.convoy,
                        &a.kind,
                        &a.severity,
                        &a.vehicle,
                        &a.at_ms,
                        &a.message,
                        &Json(&a.data),
                        &a.created_ms,
                    ],
                )
                .await?;
            let id: i64 = row.get(0);
            for w in &a.webhooks {
                tx.execute(
                    // A webhook deleted meanwhile is skipped, not an error.
                    "INSERT INTO webhook_deliveries (webhook_id, alert_id, status, attempts, \
                     next_ms) SELECT $1, $2, 'pending', 0, $3 \
                     WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = $1)",
                    &[w, &id, &a.created_ms],
                )
                .await?;
            }
            ids.push(id);
        }
        if !i.states.is_empty() {
            // One statement for every convoy touched (a round trip each was
            // most of a batch's time under load).
            let ids: Vec<i64> = i.states.iter().map(|(id, _)| *id).collect();
            let states: Vec<Json<&serde_json::Value>> =
                i.states.iter().map(|(_, s)| Json(s)).collect();
            tx.execute(
                "UPDATE convoys AS c SET state = v.state \
                 FROM UNNEST($1::BIGINT[], $2::JSONB[]) AS v(id, state) WHERE c.id = v.id",
                &[&ids, &states],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    pub(super) async fn positions_(
        &self,
        convoy: i64,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<PositionRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {POSITION_COLUMNS} FROM positions WHERE convoy_id = $1 \
                     AND time_ms >= $2 AND time_ms < $3 ORDER BY time_ms, id LIMIT $4"
                ),
                &[&convoy, &from_ms, &to_ms, &(limit as i64)],
            )
            .await?;
        Ok(rows.iter().map(read_position).collect())
    }

    pub(super) async fn positions_received_(
        &self,
        convoy: i64,
        from_received_ms: i64,
    ) -> Result<Vec<PositionRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {POSITION_COLUMNS} FROM positions WHERE convoy_id = $1 \
                     AND received_ms >= $2 ORDER BY id"
                ),
                &[&convoy, &from_received_ms],
            )
            .await?;
        Ok(rows.iter().map(read_position).collect())
    }

    pub(super) async fn alerts_(&self, f: &AlertFilter) -> Result<Vec<AlertRecord>> {
        if f.convoys.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {ALERT_COLUMNS} FROM convoy_alerts WHERE id > $1 \
                     AND ($2::BIGINT[] IS NULL OR convoy_id = ANY($2)) \
                     AND (NOT $3 OR acked_ms IS NULL) ORDER BY id LIMIT $4"
                ),
                &[&f.after, &f.convoys, &f.unacknowledged, &(f.limit as i64)],
            )
            .await?;
        Ok(rows.iter().map(read_alert).collect())
    }

    pub(super) async fn alert_(&self, id: i64) -> Result<Option<AlertRecord>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {ALERT_COLUMNS} FROM convoy_alerts WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(read_alert))
    }

    pub(super) async fn ack_alert_(
        &self,
        id: i64,
        by: Option<UserId>,
        at_ms: i64,
        note: Option<&str>,
    ) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE convoy_alerts SET acked_by = $2, acked_ms = $3, ack_note = $4 \
             WHERE id = $1 AND acked_ms IS NULL",
            &[&id, &by.map(|u| u.0), &at_ms, &note],
        )
        .await?
            > 0)
    }

    pub(super) async fn create_webhook_(&self, n: &NewWebhook) -> Result<WebhookRecord> {
        let c = self.client().await?;
        let row = c
            .query_one(
                &format!(
                    "INSERT INTO webhooks (uid, owner_org, url, secret, min_severity, created_by, \
                     created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {HOOK_COLUMNS}"
                ),
                &[
                    &n.uid,
                    &n.owner_org.0,
                    &n.url,
                    &n.secret,
                    &n.min_severity,
                    &n.created_by.map(|u| u.0),
                    &n.created_ms,
                ],
            )
            .await?;
        Ok(read_hook(&row))
    }

    pub(super) async fn webhooks_(&self, org: Option<OrgId>) -> Result<Vec<WebhookRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {HOOK_COLUMNS} FROM webhooks \
                     WHERE $1::BIGINT IS NULL OR owner_org = $1 ORDER BY id"
                ),
                &[&org.map(|o| o.0)],
            )
            .await?;
        Ok(rows.iter().map(read_hook).collect())
    }

    pub(super) async fn delete_webhook_(&self, org: OrgId, id: i64) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if tx
            .query_opt(
                "SELECT id FROM webhooks WHERE id = $1 AND owner_org = $2 FOR UPDATE",
                &[&id, &org.0],
            )
            .await?
            .is_none()
        {
            return Ok(false);
        }
        tx.execute(
            "DELETE FROM webhook_deliveries WHERE webhook_id = $1",
            &[&id],
        )
        .await?;
        tx.execute("DELETE FROM webhooks WHERE id = $1", &[&id])
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(super) async fn due_deliveries_(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
                     WHERE status = 'pending' AND next_ms <= $1 ORDER BY next_ms, id LIMIT $2"
                ),
                &[&now_ms, &(limit as i64)],
            )
            .await?;
        Ok(rows.iter().map(read_delivery).collect())
    }

    pub(super) async fn update_delivery_(&self, d: &DeliveryRecord) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE webhook_deliveries SET status = $2, attempts = $3, next_ms = $4, \
             last_code = $5, last_error = $6, delivered_ms = $7 WHERE id = $1",
            &[
                &d.id,
                &d.status,
                &d.attempts,
                &d.next_ms,
                &d.last_code,
                &d.last_error,
                &d.delivered_ms,
            ],
        )
        .await?;
        Ok(())
    }

    pub(super) async fn deliveries_(
        &self,
        webhook: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 \
                     ORDER BY id DESC LIMIT $2"
                ),
                &[&webhook, &(limit as i64)],
            )
            .await?;
        Ok(rows.iter().map(read_delivery).collect())
    }
}
