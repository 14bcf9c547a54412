//! Live tracking: positions from devices (OsmAnd HTTP, JSON batches, MQTT)
//! go through one writer task that authenticates each device, runs the
//! alert engine (`sahelwatch-tracking`), and writes positions, alerts,
//! webhook deliveries and engine states in one transaction per batch
//! before anything is acknowledged. Alerts are then published to the live
//! stream; webhook deliveries are sent by their own task, signed, retried
//! with backoff.
//!
//! Batching is group commit: positions that arrive while a batch is being
//! written wait for the next one, so one transaction carries many devices'
//! positions under load and one position when idle.
//!
//! The engine's state lives in memory and in the convoy's row. It is
//! written with a batch that raised alerts for the convoy, and otherwise at
//! most every [`STATE_EVERY_MS`] (writing a few kilobytes of state per
//! position was most of the database's work); loading a convoy replays the
//! positions stored since its state was saved, so a restarted server (or
//! another instance) carries on exactly where the last committed position
//! left it.

use crate::convoys::{
    AlertView, ConvoySpec, marking_of, ms_time, parse_severity, read_spec, secret_hash,
};
use crate::{App, AppError, ParamError};
use chrono::{DateTime, Utc};
use sahelwatch_core::{Marking, Viewer};
use sahelwatch_store::{
    AlertRecord, ConvoyRecord, DeliveryRecord, DeviceRecord, Intake, NewAlert, PositionRecord,
    WebhookRecord,
};
use sahelwatch_tracking::{Fix, FixOutcome, IncidentNear, Input, Severity, State, step};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot};
use utoipa::ToSchema;

/// How often, at most, a convoy's engine state is saved when nothing is raised.
pub const STATE_EVERY_MS: i64 = 5_000;
/// Most positions written in one transaction.
const MAX_BATCH: usize = 2_000;
/// Most positions in one JSON request.
pub const MAX_JSON_POSITIONS: usize = 1_000;
/// Webhook attempts before a delivery is given up.
pub const WEBHOOK_ATTEMPTS: i32 = 8;

/// How a position arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Osmand,
    Json,
    Mqtt,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Source::Osmand => "osmand",
            Source::Json => "json",
            Source::Mqtt => "mqtt",
        }
    }
}

/// A position as a device sent it, parsed but not yet checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DevicePosition {
    pub device: String,
    pub secret: Option<String>,
    /// Device time (ms); `None`: the time it was received.
    pub time_ms: Option<i64>,
    pub latitude: f64,
    pub longitude: f64,
    pub speed_kmh: Option<f64>,
    pub bearing: Option<f64>,
    pub altitude: Option<f64>,
    pub accuracy: Option<f64>,
    pub battery: Option<f64>,
    pub sos: bool,
}

/// What became of one position.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PositionResult {
    pub device: String,
    /// `accepted`, `skewed` (used at the time received: the device clock is
    /// ahead), `late` (stored for the track, older than the last),
    /// `duplicate`, `refused`, `unknown_device` or `bad_secret`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Alerts this position raised.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<i64>,
}

impl PositionResult {
    fn new(device: &str, status: &str, message: Option<String>) -> PositionResult {
        PositionResult {
            device: device.to_string(),
            status: status.to_string(),
            message,
            alerts: Vec::new(),
        }
    }

    /// A position refused before the engine saw it (unreadable).
    pub fn refused(device: &str, message: String) -> PositionResult {
        PositionResult::new(device, "refused", Some(message))
    }

    /// Stored or already stored: the device may forget it.
    pub fn acknowledged(&self) -> bool {
        matches!(
            self.status.as_str(),
            "accepted" | "skewed" | "late" | "duplicate"
        )
    }
}

/// An alert on its way to the live stream, with the marking that decides
/// who may receive it.
#[derive(Debug, Clone)]
pub struct LiveAlert {
    pub marking: Marking,
    pub alert: AlertView,
    /// When the position (or tick) behind it was received.
    pub received: Instant,
}

/// Counts since the server started.
#[derive(Debug, Default)]
struct Stats {
    accepted: AtomicU64,
    late: AtomicU64,
    duplicate: AtomicU64,
    refused: AtomicU64,
    unknown_device: AtomicU64,
    bad_secret: AtomicU64,
    malformed: AtomicU64,
    alerts: AtomicU64,
}

/// Intake counts since the server started (refusals are not tied to an
/// organisation: an unknown device belongs to none).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntakeStats {
    pub running: bool,
    pub unknown_device: u64,
    pub bad_secret: u64,
    pub malformed: u64,
}

enum Job {
    Positions {
        source: Source,
        received: Instant,
        items: Vec<DevicePosition>,
        reply: oneshot::Sender<Result<Vec<PositionResult>, AppError>>,
    },
    Tick,
    Reload,
}

pub(crate) struct Handle {
    jobs: mpsc::Sender<Job>,
    alerts: broadcast::Sender<Arc<LiveAlert>>,
    stats: Arc<Stats>,
}

/// How the tracker runs.
#[derive(Debug, Clone)]
pub struct TrackingOptions {
    /// Clock tick: loss of contact and fresh incidents are noticed on ticks.
    pub tick: Duration,
    /// How often due webhook deliveries are looked for.
    pub webhook_poll: Duration,
    /// Delay before the first retry of a webhook delivery; each later one
    /// doubles, up to an hour.
    pub webhook_first_retry: Duration,
}

impl Default for TrackingOptions {
    fn default() -> Self {
        TrackingOptions {
            tick: Duration::from_secs(1),
            webhook_poll: Duration::from_millis(500),
            webhook_first_retry: Duration::from_secs(5),
        }
    }
}

pub(crate) fn check_webhook_url(url: &str) -> Result<(), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        "an http:// URL is needed (put a TLS proxy in front of an https endpoint)".to_string()
    })?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || url.len() > 2000 || url.chars().any(|c| c.is_whitespace()) {
        return Err("is not a URL".into());
    }
    Ok(())
}

fn num(field: &str, v: &str, errs: &mut Vec<ParamError>) -> Option<f64> {
    match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Some(x),
        _ => {
            errs.push(ParamError::new(field, v, "is not a number"));
            None
        }
    }
}

/// A device time: Unix seconds, Unix milliseconds (above 10^11) or RFC 3339.
fn device_time(field: &str, v: &str, errs: &mut Vec<ParamError>) -> Option<i64> {
    let v = v.trim();
    if let Ok(x) = v.parse::<f64>()
        && x.is_finite()
        && x > 0.0
    {
        return Some(if x > 1e11 {
            x as i64
        } else {
            (x * 1000.0) as i64
        });
    }
    match DateTime::parse_from_rfc3339(v) {
        Ok(t) => Some(t.timestamp_millis()),
        Err(_) => {
            errs.push(ParamError::new(
                field,
                v,
                "is not a time: Unix seconds, Unix milliseconds or RFC 3339",
            ));
            None
        }
    }
}

/// Parses an OsmAnd request as the Traccar Client sends it: `id`, `lat`,
/// `lon`, `timestamp`, `speed` (knots), `bearing`, `altitude`, `accuracy`,
/// `batt`, and `alarm` for SOS. The device secret is the `key` parameter
/// (put it in the app's server URL: `http://host:5055/?key=SECRET`), or the
/// password of HTTP Basic authentication. Other parameters are ignored, as
/// Traccar does.
pub fn parse_osmand(
    params: &[(String, String)],
    basic: Option<(String, String)>,
) -> Result<DevicePosition, AppError> {
    let mut errs = Vec::new();
    let mut p = DevicePosition::default();
    let (mut lat, mut lon) = (None, None);
    for (k, v) in params {
        match k.as_str() {
            "id" | "deviceid" => p.device = v.trim().to_string(),
            "key" => p.secret = Some(v.clone()),
            "lat" => lat = num("lat", v, &mut errs),
            "lon" => lon = num("lon", v, &mut errs),
            "timestamp" => p.time_ms = device_time("timestamp", v, &mut errs),
            "speed" => p.speed_kmh = num("speed", v, &mut errs).map(|kn| kn * 1.852),
            "bearing" | "heading" => p.bearing = num(k, v, &mut errs),
            "altitude" => p.altitude = num("altitude", v, &mut errs),
            "accuracy" => p.accuracy = num("accuracy", v, &mut errs),
            "batt" => p.battery = num("batt", v, &mut errs),
            "alarm" => p.sos = !v.is_empty() && v != "false" && v != "0",
            _ => {}
        }
    }
    if let Some((user, pass)) = basic {
        if p.device.is_empty() {
            p.device = user;
        }
        p.secret.get_or_insert(pass);
    }
    if p.device.is_empty() {
        errs.push(ParamError::new("id", "", "the device id is required"));
    }
    match (lat, lon) {
        (Some(a), Some(o)) => (p.latitude, p.longitude) = (a, o),
        _ if errs
            .iter()
            .any(|e| e.parameter == "lat" || e.parameter == "lon") => {}
        _ => errs.push(ParamError::new("lat", "", "lat and lon are required")),
    }
    if errs.is_empty() {
        Ok(p)
    } else {
        Err(AppError::BadRequest(errs))
    }
}

/// A position in a JSON batch (and an MQTT message).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonPosition {
    pub device: String,
    pub secret: String,
    /// RFC 3339, or Unix seconds or milliseconds; absent: when received.
    #[schema(value_type = Option<String>)]
    pub time: Option<serde_json::Value>,
    pub lat: f64,
    pub lon: f64,
    pub speed_kmh: Option<f64>,
    pub bearing: Option<f64>,
    pub altitude: Option<f64>,
    pub accuracy: Option<f64>,
    pub battery: Option<f64>,
    #[serde(default)]
    pub sos: bool,
}

/// A JSON batch of positions.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonBatch {
    pub positions: Vec<serde_json::Value>,
}

/// One JSON position, or why it cannot be read (named by its index).
pub fn parse_json_position(
    at: &str,
    v: &serde_json::Value,
) -> Result<DevicePosition, (String, String)> {
    let device = v
        .get("device")
        .and_then(|d| d.as_str())
        .unwrap_or("")
        .to_string();
    let j: JsonPosition =
        serde_json::from_value(v.clone()).map_err(|e| (device.clone(), format!("{at}: {e}")))?;
    let mut errs = Vec::new();
    let time_ms = match &j.time {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(n)) => {
            device_time(&format!("{at}.time"), &n.to_string(), &mut errs)
        }
        Some(serde_json::Value::String(s)) => device_time(&format!("{at}.time"), s, &mut errs),
        Some(other) => {
            errs.push(ParamError::new(
                &format!("{at}.time"),
                &other.to_string(),
                "is not a time",
            ));
            None
        }
    };
    if let Some(e) = errs.first() {
        return Err((device, e.to_string()));
    }
    Ok(DevicePosition {
        device: j.device,
        secret: Some(j.secret),
        time_ms,
        latitude: j.lat,
        longitude: j.lon,
        speed_kmh: j.speed_kmh,
        bearing: j.bearing,
        altitude: j.altitude,
        accuracy: j.accuracy,
        battery: j.battery,
        sos: j.sos,
    })
}

/// An engine state as saved, with when.
#[derive(Serialize, Deserialize)]
struct Saved<S> {
    #[serde(flatten)]
    engine: S,
    /// The batch time it was saved at; positions received since are replayed.
    #[serde(default)]
    saved_ms: i64,
}

struct LiveConvoy {
    rec: ConvoyRecord,
    spec: ConvoySpec,
    state: State,
    saved_ms: i64,
    /// What the owner organisation may see (incidents it is warned of).
    viewer: Viewer,
}

struct Hook {
    rec: WebhookRecord,
    viewer: Viewer,
    min: Severity,
}

struct Live {
    convoys: HashMap<i64, LiveConvoy>,
    devices: HashMap<String, DeviceRecord>,
    hooks: Vec<Hook>,
    /// When devices were last reloaded because one was unknown.
    devices_checked: Option<Instant>,
    /// The incident index sequence already looked at for fresh incidents.
    incident_seq: i64,
}

/// An engine state as stored, saved at `now`.
fn saved_state(state: &State, now: i64) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(Saved {
        engine: state,
        saved_ms: now,
    })
    .map_err(crate::roads::internal)
}

/// The snake_case name an enum serialises to.
fn label(v: impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl App {
    /// Starts the tracker: the writer task, the clock and the webhook
    /// sender. Idempotent.
    pub async fn start_tracking(self: &Arc<Self>, opts: TrackingOptions) -> Result<(), AppError> {
        if self.tracking.get().is_some() {
            return Ok(());
        }
        let mut live = Live {
            convoys: HashMap::new(),
            devices: HashMap::new(),
            hooks: Vec::new(),
            devices_checked: None,
            incident_seq: self.store.incident_seq().await?,
        };
        self.reload_live(&mut live).await?;
        let (tx, rx) = mpsc::channel(8_192);
        let (alerts, _) = broadcast::channel(4_096);
        let handle = Handle {
            jobs: tx.clone(),
            alerts,
            stats: Arc::new(Stats::default()),
        };
        if self.tracking.set(handle).is_err() {
            return Ok(());
        }
        let app = Arc::clone(self);
        tokio::spawn(async move { app.writer(live, rx).await });
        let tick = opts.tick;
        tokio::spawn(async move {
            let mut every = tokio::time::interval(tick);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                every.tick().await;
                if tx.send(Job::Tick).await.is_err() {
                    break;
                }
            }
        });
        let app = Arc::clone(self);
        tokio::spawn(async move { app.webhook_sender(opts).await });
        Ok(())
    }

    /// Tells the tracker that convoys or webhooks changed.
    pub(crate) fn tracker_reload(&self) {
        if let Some(h) = self.tracking.get() {
            let _ = h.jobs.try_send(Job::Reload);
        }
    }

    /// Live alerts (all of them: the receiver filters by visibility).
    pub fn alert_receiver(&self) -> Option<broadcast::Receiver<Arc<LiveAlert>>> {
        self.tracking.get().map(|h| h.alerts.subscribe())
    }

    pub fn intake_stats(&self) -> IntakeStats {
        match self.tracking.get() {
            Some(h) => IntakeStats {
                running: true,
                unknown_device: h.stats.unknown_device.load(Ordering::Relaxed),
                bad_secret: h.stats.bad_secret.load(Ordering::Relaxed),
                malformed: h.stats.malformed.load(Ordering::Relaxed),
            },
            None => IntakeStats {
                running: false,
                unknown_device: 0,
                bad_secret: 0,
                malformed: 0,
            },
        }
    }

    /// Counts a request that could not be read at all.
    pub fn count_malformed(&self) {
        if let Some(h) = self.tracking.get() {
            h.stats.malformed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes positions in; answers once what is to be kept is committed.
    pub async fn intake(
        &self,
        source: Source,
        items: Vec<DevicePosition>,
    ) -> Result<Vec<PositionResult>, AppError> {
        let h = self.tracking.get().ok_or_else(|| {
            AppError::Unavailable("position intake is not running on this instance".into())
        })?;
        let (reply, rx) = oneshot::channel();
        h.jobs
            .send(Job::Positions {
                source,
                received: Instant::now(),
                items,
                reply,
            })
            .await
            .map_err(|_| AppError::Unavailable("position intake stopped".into()))?;
        rx.await
            .map_err(|_| AppError::Unavailable("position intake stopped".into()))?
    }

    async fn reload_live(&self, live: &mut Live) -> Result<(), AppError> {
        let mut convoys = HashMap::new();
        let mut replayed = Vec::new();
        for rec in self.store.convoys().await? {
            if rec.ended_ms.is_some() {
                continue;
            }
            // A convoy already tracked here keeps its state in memory.
            if let Some(c) = live.convoys.remove(&rec.id) {
                convoys.insert(rec.id, c);
                continue;
            }
            let spec = read_spec(&rec)?;
            let saved: Saved<State> = serde_json::from_value(rec.state.clone()).map_err(|e| {
                AppError::Store(sahelwatch_store::StoreError::Corrupt(format!(
                    "convoy {} state: {e}",
                    rec.id
                )))
            })?;
            let mut state = saved.engine;
            let since = self
                .store
                .positions_received(rec.id, saved.saved_ms)
                .await?;
            for p in &since {
                let fix = Fix {
                    vehicle: p.vehicle as usize,
                    time_ms: p.time_ms,
                    position: [p.longitude, p.latitude],
                    speed_kmh: p.speed_kmh,
                    sos: p.sos,
                };
                step(&spec.engine, &mut state, &Input::Fix(fix), p.received_ms);
            }
            if !since.is_empty() {
                replayed.push(rec.id);
            }
            let viewer = self.org_viewer(rec.marking.owner).await?;
            convoys.insert(
                rec.id,
                LiveConvoy {
                    rec,
                    spec,
                    state,
                    saved_ms: saved.saved_ms,
                    viewer,
                },
            );
        }
        // Save what was replayed, so that the stored state is current again.
        if !replayed.is_empty() {
            let now = now_ms();
            let mut intake = Intake::default();
            for id in &replayed {
                let c = &convoys[id];
                intake.states.push((*id, saved_state(&c.state, now)?));
            }
            self.store.record_intake(&intake).await?;
            for id in replayed {
                if let Some(c) = convoys.get_mut(&id) {
                    c.saved_ms = now;
                }
            }
        }
        live.convoys = convoys;
        live.devices = self
            .store
            .devices()
            .await?
            .into_iter()
            .map(|d| (d.device.clone(), d))
            .collect();
        let mut hooks = Vec::new();
        for rec in self.store.webhooks(None).await? {
            let viewer = self.org_viewer(rec.owner_org).await?;
            let min = parse_severity(&rec.min_severity).unwrap_or(Severity::Warning);
            hooks.push(Hook { rec, viewer, min });
        }
        live.hooks = hooks;
        Ok(())
    }

    async fn writer(self: Arc<Self>, mut live: Live, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            let mut n = 0;
            while n < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => {
                        if let Job::Positions { items, .. } = &j {
                            n += items.len();
                        }
                        jobs.push(j)
                    }
                    Err(_) => break,
                }
            }
            if jobs.iter().any(|j| matches!(j, Job::Reload))
                && let Err(e) = self.reload_live(&mut live).await
            {
                tracing::error!(error = %e, "tracker: reloading convoys failed");
            }
            self.batch(&mut live, jobs).await;
        }
    }

    /// Devices reloaded from the store when one is unknown (registered by
    /// another instance), at most once a second.
    async fn find_device(&self, live: &mut Live, device: &str) -> Option<DeviceRecord> {
        if let Some(d) = live.devices.get(device) {
            return Some(d.clone());
        }
        if live
            .devices_checked
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return None;
        }
        live.devices_checked = Some(Instant::now());
        if self.reload_live(live).await.is_err() {
            return None;
        }
        live.devices.get(device).cloned()
    }

    async fn batch(&self, live: &mut Live, jobs: Vec<Job>) {
        let Some(h) = self.tracking.get() else { return };
        let stats = &h.stats;
        let now = now_ms();
        let mut intake = Intake::default();
        // Convoy -> its state before this batch (restored if the write fails).
        let mut before: HashMap<i64, State> = HashMap::new();
        // Alerts of this batch: (convoy, alert, job index, item index, received).
        let mut raised: Vec<(i64, sahelwatch_tracking::Alert, usize, usize, Instant)> = Vec::new();
        let mut answers: Vec<(usize, Vec<PositionResult>)> = Vec::new();
        let mut replies = Vec::new();
        let mut ticked = false;
        for (j, job) in jobs.into_iter().enumerate() {
            match job {
                Job::Reload => {}
                Job::Tick => ticked = true,
                Job::Positions {
                    source,
                    received,
                    items,
                    reply,
                } => {
                    let mut results = Vec::with_capacity(items.len());
                    for (k, p) in items.into_iter().enumerate() {
                        let Some(dev) = self.find_device(live, &p.device).await else {
                            stats.unknown_device.fetch_add(1, Ordering::Relaxed);
                            results.push(PositionResult::new(
                                &p.device,
                                "unknown_device",
                                Some(format!(
                                    "device '{}' is not registered to an active convoy",
                                    p.device
                                )),
                            ));
                            continue;
                        };
                        if p.secret.as_deref().map(secret_hash).as_deref()
                            != Some(dev.secret_hash.as_str())
                        {
                            stats.bad_secret.fetch_add(1, Ordering::Relaxed);
                            results.push(PositionResult::new(
                                &p.device,
                                "bad_secret",
                                Some(format!(
                                    "the secret of device '{}' is missing or wrong",
                                    p.device
                                )),
                            ));
                            continue;
                        }
                        let Some(c) = live.convoys.get_mut(&dev.convoy) else {
                            stats.unknown_device.fetch_add(1, Ordering::Relaxed);
                            results.push(PositionResult::new(
                                &p.device,
                                "unknown_device",
                                Some(format!("device '{}' has no active convoy", p.device)),
                            ));
                            continue;
                        };
                        before.entry(c.rec.id).or_insert_with(|| c.state.clone());
                        let fix = Fix {
                            vehicle: dev.vehicle as usize,
                            time_ms: p.time_ms.unwrap_or(now),
                            position: [p.longitude, p.latitude],
                            speed_kmh: p.speed_kmh,
                            sos: p.sos,
                        };
                        let s = step(&c.spec.engine, &mut c.state, &Input::Fix(fix), now);
                        let outcome = s.outcome.unwrap_or(FixOutcome::Duplicate);
                        let (status, message) = match &outcome {
                            FixOutcome::Accepted => ("accepted", None),
                            FixOutcome::Skewed { ahead_s } => (
                                "skewed",
                                Some(format!(
                                    "the device clock is {ahead_s:.0} s ahead: taken at the time received"
                                )),
                            ),
                            FixOutcome::Late { behind_s } => (
                                "late",
                                Some(format!(
                                    "{behind_s:.0} s older than the vehicle's last position: kept for the track only"
                                )),
                            ),
                            FixOutcome::Duplicate => ("duplicate", None),
                            FixOutcome::Refused { reason } => ("refused", Some(reason.clone())),
                        };
                        match status {
                            "accepted" | "skewed" => &stats.accepted,
                            "late" => &stats.late,
                            "duplicate" => &stats.duplicate,
                            _ => &stats.refused,
                        }
                        .fetch_add(1, Ordering::Relaxed);
                        if outcome.stored() {
                            let time_ms = match outcome {
                                FixOutcome::Skewed { .. } => now,
                                _ => fix.time_ms,
                            };
                            intake.positions.push(PositionRecord {
                                convoy: c.rec.id,
                                vehicle: dev.vehicle,
                                time_ms,
                                received_ms: now,
                                longitude: p.longitude,
                                latitude: p.latitude,
                                speed_kmh: p.speed_kmh,
                                bearing: p.bearing,
                                altitude: p.altitude,
                                accuracy: p.accuracy,
                                battery: p.battery,
                                sos: p.sos,
                                outcome: status.to_string(),
                                source: source.label().to_string(),
                            });
                        }
                        for a in s.alerts {
                            raised.push((c.rec.id, a, j, k, received));
                        }
                        results.push(PositionResult::new(&p.device, status, message));
                    }
                    answers.push((j, results));
                    replies.push((j, reply));
                }
            }
        }
        if ticked {
            let tick_at = Instant::now();
            for c in live.convoys.values_mut() {
                let prev = c.state.clone();
                let s = step(&c.spec.engine, &mut c.state, &Input::Tick, now);
                if !s.alerts.is_empty() {
                    before.entry(c.rec.id).or_insert(prev);
                }
                for a in s.alerts {
                    raised.push((c.rec.id, a, usize::MAX, 0, tick_at));
                }
            }
            match self.fresh_incidents(live, now).await {
                Ok(fresh) => {
                    for (row, inc) in fresh {
                        for c in live.convoys.values_mut() {
                            if !c.viewer.can_see(&row.marking) {
                                continue;
                            }
                            let position = if row.marking.owner == c.rec.marking.owner {
                                [row.longitude, row.latitude]
                            } else {
                                [row.coarse_longitude, row.coarse_latitude]
                            };
                            let input = Input::Incident(IncidentNear {
                                id: inc.clone(),
                                position,
                                time_ms: row.updated_micros / 1000,
                                kind: row.sub_event_type.to_string(),
                            });
                            let prev = c.state.clone();
                            let s = step(&c.spec.engine, &mut c.state, &input, now);
                            if !s.alerts.is_empty() {
                                before.entry(c.rec.id).or_insert(prev);
                            }
                            for a in s.alerts {
                                raised.push((c.rec.id, a, usize::MAX, 0, tick_at));
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "tracker: reading fresh incidents failed"),
            }
        }
        for (convoy, a, ..) in &raised {
            let c = &live.convoys[convoy];
            intake.alerts.push(NewAlert {
                convoy: *convoy,
                kind: label(a.kind),
                severity: label(a.severity),
                vehicle: a.vehicle.map(|v| v as i32),
                at_ms: a.at_ms,
                message: a.message.clone(),
                data: a.data.clone(),
                created_ms: now,
                webhooks: live
                    .hooks
                    .iter()
                    .filter(|h| a.severity >= h.min && h.viewer.can_see(&c.rec.marking))
                    .map(|h| h.rec.id)
                    .collect(),
            });
        }
        // States: of the convoys with alerts, and of those not saved lately.
        for id in before.keys() {
            let Some(c) = live.convoys.get(id) else {
                continue;
            };
            if now - c.saved_ms >= STATE_EVERY_MS || raised.iter().any(|r| r.0 == *id) {
                match saved_state(&c.state, now) {
                    Ok(v) => intake.states.push((*id, v)),
                    Err(e) => tracing::error!(error = %e, "tracker: state not saved"),
                }
            }
        }
        let written = if intake.positions.is_empty() && intake.alerts.is_empty() {
            Ok(Vec::new())
        } else {
            self.store.record_intake(&intake).await
        };
        match written {
            Ok(ids) => {
                stats.alerts.fetch_add(ids.len() as u64, Ordering::Relaxed);
                for (id, _) in &intake.states {
                    if let Some(c) = live.convoys.get_mut(id) {
                        c.saved_ms = now;
                    }
                }
                for ((convoy, a, j, k, received), id) in raised.into_iter().zip(ids) {
                    if let Some((_, results)) = answers.iter_mut().find(|(jj, _)| *jj == j)
                        && let Some(r) = results.get_mut(k)
                    {
                        r.alerts.push(id);
                    }
                    let c = &live.convoys[&convoy];
                    let view = AlertView {
                        id,
                        convoy: c.rec.uid,
                        convoy_name: c.rec.name.clone(),
                        kind: label(a.kind),
                        severity: label(a.severity),
                        vehicle: a
                            .vehicle
                            .and_then(|v| c.spec.engine.vehicles.get(v).cloned()),
                        at: ms_time(a.at_ms),
                        message: a.message,
                        data: a.data,
                        created_at: ms_time(now),
                        acknowledged: None,
                    };
                    let _ = h.alerts.send(Arc::new(LiveAlert {
                        marking: marking_of(&c.rec),
                        alert: view,
                        received,
                    }));
                }
                for (j, reply) in replies {
                    let results = answers
                        .iter_mut()
                        .find(|(jj, _)| *jj == j)
                        .map(|(_, r)| std::mem::take(r))
                        .unwrap_or_default();
                    let _ = reply.send(Ok(results));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "tracker: writing positions failed; nothing acknowledged");
                for (id, state) in before {
                    if let Some(c) = live.convoys.get_mut(&id) {
                        c.state = state;
                    }
                }
                for (_, reply) in replies {
                    let _ = reply.send(Err(AppError::Unavailable(
                        "the positions could not be stored; nothing was kept: send them again"
                            .into(),
                    )));
                }
            }
        }
    }

    /// Incidents written since the last look and at most 48 h ago (the
    /// engine applies each convoy's own window), with their public ids.
    async fn fresh_incidents(
        &self,
        live: &mut Live,
        now: i64,
    ) -> Result<Vec<(sahelwatch_query::IndexRow, String)>, AppError> {
        if live.convoys.is_empty() {
            live.incident_seq = self.store.incident_seq().await?;
            return Ok(Vec::new());
        }
        let current = self.store.incident_seq().await?;
        if current <= live.incident_seq {
            return Ok(Vec::new());
        }
        let rows = self.store.index_changes(live.incident_seq, current).await?;
        live.incident_seq = current;
        let horizon = live
            .convoys
            .values()
            .map(|c| c.spec.engine.thresholds.incident_hours)
            .fold(0.0, f64::max);
        let since_micros = (now as f64 - horizon * 3.6e6) as i64 * 1000;
        let fresh: Vec<_> = rows
            .into_iter()
            .filter(|r| !r.deleted && r.updated_micros >= since_micros)
            .collect();
        if fresh.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = fresh.iter().map(|r| r.id).collect();
        let uids: HashMap<i64, String> = self
            .store
            .incidents_by_ids(&ids)
            .await?
            .into_iter()
            .map(|(id, inc)| (id, inc.id.to_string()))
            .collect();
        Ok(fresh
            .into_iter()
            .filter_map(|r| {
                let uid = uids.get(&r.id)?.clone();
                Some((r, uid))
            })
            .collect())
    }

    async fn webhook_sender(self: Arc<Self>, opts: TrackingOptions) {
        let first_retry = opts.webhook_first_retry.as_millis() as i64;
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhooks: no HTTP client; deliveries stay pending");
                return;
            }
        };
        loop {
            tokio::time::sleep(opts.webhook_poll).await;
            let due = match self.store.due_deliveries(now_ms(), 50).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "webhooks: reading due deliveries failed");
                    continue;
                }
            };
            for d in due {
                if let Err(e) = self.deliver(&client, d, first_retry).await {
                    tracing::warn!(error = %e, "webhooks: recording a delivery failed");
                }
            }
        }
    }

    async fn deliver(
        &self,
        client: &reqwest::Client,
        mut d: DeliveryRecord,
        first_retry_ms: i64,
    ) -> Result<(), AppError> {
        let hook = self
            .store
            .webhooks(None)
            .await?
            .into_iter()
            .find(|w| w.id == d.webhook);
        let alert = self.store.alert(d.alert).await?;
        let (Some(hook), Some(alert)) = (hook, alert) else {
            d.status = "failed".into();
            d.last_error = Some("the webhook or the alert no longer exists".into());
            return Ok(self.store.update_delivery(&d).await?);
        };
        let convoy = self.store.convoy(alert.convoy).await?;
        let viewer = self.org_viewer(hook.owner_org).await?;
        let Some(convoy) = convoy.filter(|c| viewer.can_see(&c.marking)) else {
            d.status = "failed".into();
            d.last_error = Some("the convoy is no longer visible to the organisation".into());
            return Ok(self.store.update_delivery(&d).await?);
        };
        let body = webhook_body(self, &convoy, alert, &d).await?;
        let now = now_ms();
        let signature = sign(&hook.secret, now, &body);
        d.attempts += 1;
        let sent = client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("x-sahelwatch-delivery", d.id.to_string())
            .header("x-sahelwatch-timestamp", now.to_string())
            .header("x-sahelwatch-signature", format!("sha256={signature}"))
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                d.status = "delivered".into();
                d.last_code = Some(r.status().as_u16() as i32);
                d.last_error = None;
                d.delivered_ms = Some(now_ms());
            }
            other => {
                let (code, error) = match other {
                    Ok(r) => (
                        Some(r.status().as_u16() as i32),
                        format!("HTTP {}", r.status()),
                    ),
                    Err(e) => (None, e.to_string()),
                };
                d.last_code = code;
                d.last_error = Some(error);
                if d.attempts >= WEBHOOK_ATTEMPTS {
                    d.status = "failed".into();
                } else {
                    d.next_ms = now + retry_delay_ms(first_retry_ms, d.attempts);
                }
            }
        }
        Ok(self.store.update_delivery(&d).await?)
    }
}

/// Delay before attempt `attempts + 1` after `attempts` failed: the first
/// delay, then twice it, four times ... up to an hour.
pub fn retry_delay_ms(first_ms: i64, attempts: i32) -> i64 {
    (first_ms << (attempts - 1).clamp(0, 20)).min(3_600_000)
}

/// HMAC-SHA256 of `"{timestamp}.{body}"` with the webhook's secret, hex.
pub fn sign(secret: &str, timestamp_ms: i64, body: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(timestamp_ms.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn webhook_body(
    app: &App,
    convoy: &ConvoyRecord,
    alert: AlertRecord,
    d: &DeliveryRecord,
) -> Result<String, AppError> {
    let spec = read_spec(convoy)?;
    let view = app.alert_view(convoy, &spec, alert).await?;
    serde_json::to_string(&serde_json::json!({
        "delivery": d.id,
        "attempt": d.attempts + 1,
        "alert": view,
    }))
    .map_err(crate::roads::internal)
}
