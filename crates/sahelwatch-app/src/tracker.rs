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

use crate::auth::secret_hash;
use crate::convoys::{AlertView, ConvoySpec, ms_time, parse_severity, read_spec};
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
/// How often the tracker reads the organisations' viewers and the webhooks again.
const RELOAD_EVERY: Duration = Duration::from_secs(30);
/// How soon after an unknown device it looks for new devices.
const UNKNOWN_RELOAD: Duration = Duration::from_secs(1);
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
    /// `duplicate`, `refused` (with the reason), or `not_accepted` (an
    /// unknown device or a wrong secret, told apart only in the counts).
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
    /// The marking of the incident it tells of (a fresh incident ahead):
    /// only who may see that incident too may receive it.
    pub incident: Option<Marking>,
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
}

pub(crate) struct Handle {
    jobs: mpsc::Sender<Job>,
    /// Convoys or webhooks changed: reload before the next batch.
    reload: std::sync::atomic::AtomicBool,
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

/// The host and port of a webhook URL: `http://` only.
fn webhook_host(url: &str) -> Result<(String, u16), String> {
    if url.len() > 2000 {
        return Err("is longer than 2000 characters".into());
    }
    let u = reqwest::Url::parse(url).map_err(|e| format!("is not a URL: {e}"))?;
    if u.scheme() != "http" {
        return Err(
            "an http:// URL is needed (put a TLS proxy in front of an https endpoint)".into(),
        );
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("credentials in the URL are not taken; the signature authenticates".into());
    }
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok((host, u.port_or_known_default().unwrap_or(80)))
}

/// Addresses a webhook may not reach unless the deployment allows it:
/// loopback, private, link-local (cloud metadata), unspecified, multicast.
fn private_address(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(a) => {
            a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_multicast()
                || a.is_broadcast()
                || a.octets()[0] == 0
                || (a.octets()[0] == 100 && (64..128).contains(&a.octets()[1]))
        }
        std::net::IpAddr::V6(a) => {
            a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (a.segments()[0] & 0xfe00) == 0xfc00
                || (a.segments()[0] & 0xffc0) == 0xfe80
                || a.to_ipv4_mapped()
                    .is_some_and(|v4| private_address(v4.into()))
        }
    }
}

/// Checks a webhook URL as given: `http://`, and no private address
/// unless the deployment allows them (`webhooks_allow_private`).
pub(crate) fn check_webhook_url(url: &str, allow_private: bool) -> Result<(), String> {
    let (host, _) = webhook_host(url)?;
    if !allow_private
        && (host.eq_ignore_ascii_case("localhost")
            || host.parse::<std::net::IpAddr>().is_ok_and(private_address))
    {
        return Err(
            "a loopback, private or link-local address is not allowed (webhooks_allow_private)"
                .into(),
        );
    }
    Ok(())
}

/// Resolves a webhook's host before a delivery: a name that now points to
/// a private address is refused too.
async fn check_webhook_target(url: &str, allow_private: bool) -> Result<(), String> {
    check_webhook_url(url, allow_private)?;
    if allow_private {
        return Ok(());
    }
    let (host, port) = webhook_host(url)?;
    let addrs = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    for a in addrs {
        if private_address(a.ip()) {
            return Err(format!("{host} resolves to {}, a private address", a.ip()));
        }
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

/// An alert raised in a batch, with where it came from.
struct Raised {
    convoy: i64,
    alert: sahelwatch_tracking::Alert,
    /// The job and position that raised it (`usize::MAX`: the clock).
    job: usize,
    item: usize,
    received: Instant,
    incident: Option<Marking>,
}

/// Runs a clock input (a tick, a fresh incident) on a convoy, keeping its
/// state from before the batch and what it raised.
fn clock_step(
    c: &mut LiveConvoy,
    input: &Input,
    now: i64,
    at: Instant,
    incident: Option<&Marking>,
    before: &mut HashMap<i64, State>,
    raised: &mut Vec<Raised>,
) {
    let prev = c.state.clone();
    let s = step(&c.spec.engine, &mut c.state, input, now);
    if !s.alerts.is_empty() {
        before.entry(c.rec.id).or_insert(prev);
    }
    for a in s.alerts {
        raised.push(Raised {
            convoy: c.rec.id,
            alert: a,
            job: usize::MAX,
            item: 0,
            received: at,
            incident: incident.cloned(),
        });
    }
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
    /// When convoys, devices and webhooks were last reloaded.
    reloaded: Option<Instant>,
    /// A device was unknown in the last batch.
    unknown_seen: bool,
    /// When the organisations' viewers and the webhooks were last read.
    orgs_refreshed: Instant,
    /// The incident index sequence already looked at for fresh incidents.
    incident_seq: i64,
}

/// The answer to an unknown device and to a wrong secret alike: which of
/// the two it was would tell a stranger which device ids are in use.
fn not_accepted(device: &str) -> PositionResult {
    PositionResult::new(
        device,
        "not_accepted",
        Some(format!(
            "device '{device}' or its secret is not accepted (not registered to an active convoy, or a wrong secret)"
        )),
    )
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
            reloaded: None,
            unknown_seen: false,
            orgs_refreshed: Instant::now(),
            incident_seq: self.store.incident_seq().await?,
        };
        self.reload_live(&mut live).await?;
        let (tx, rx) = mpsc::channel(8_192);
        let (alerts, _) = broadcast::channel(4_096);
        let handle = Handle {
            jobs: tx.clone(),
            reload: Default::default(),
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
            h.reload.store(true, Ordering::Release);
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

    /// Brings the tracked convoys, devices and webhooks up to date with the
    /// store. A convoy already tracked keeps its state in memory; a new one
    /// is loaded with the positions stored since its state was saved
    /// replayed. Nothing changes unless all of it could be read.
    async fn reload_live(&self, live: &mut Live) -> Result<(), AppError> {
        let active: Vec<ConvoyRecord> = self
            .store
            .convoys()
            .await?
            .into_iter()
            .filter(|c| c.ended_ms.is_none())
            .collect();
        // One viewer per organisation, computed again each time (sharing
        // groups change).
        let mut viewers: HashMap<sahelwatch_core::OrgId, Viewer> = HashMap::new();
        let orgs = active
            .iter()
            .map(|c| c.marking.owner)
            .chain(live.hooks.iter().map(|h| h.rec.owner_org));
        for org in orgs.collect::<Vec<_>>() {
            if let std::collections::hash_map::Entry::Vacant(e) = viewers.entry(org) {
                e.insert(self.org_viewer(org).await?);
            }
        }
        let mut fresh: HashMap<i64, LiveConvoy> = HashMap::new();
        let mut replayed = Vec::new();
        for rec in &active {
            if live.convoys.contains_key(&rec.id) {
                continue;
            }
            let spec = read_spec(rec)?;
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
            let viewer = match viewers.get(&rec.marking.owner) {
                Some(v) => v.clone(),
                None => self.org_viewer(rec.marking.owner).await?,
            };
            fresh.insert(
                rec.id,
                LiveConvoy {
                    rec: rec.clone(),
                    spec,
                    state,
                    saved_ms: saved.saved_ms,
                    viewer,
                },
            );
        }
        // Save what was replayed, so that the stored state is current again.
        let now = now_ms();
        if !replayed.is_empty() {
            let mut intake = Intake::default();
            for id in &replayed {
                intake
                    .states
                    .push((*id, saved_state(&fresh[id].state, now)?));
            }
            self.store.record_intake(&intake).await?;
        }
        let devices = self
            .store
            .devices()
            .await?
            .into_iter()
            .map(|d| (d.device.clone(), d))
            .collect();
        let mut hooks = Vec::new();
        for rec in self.store.webhooks(None).await? {
            let viewer = match viewers.get(&rec.owner_org) {
                Some(v) => v.clone(),
                None => self.org_viewer(rec.owner_org).await?,
            };
            let min = parse_severity(&rec.min_severity).unwrap_or(Severity::Warning);
            hooks.push(Hook { rec, viewer, min });
        }
        // Everything was read: apply.
        let ids: std::collections::HashSet<i64> = active.iter().map(|c| c.id).collect();
        live.convoys.retain(|id, _| ids.contains(id));
        for c in live.convoys.values_mut() {
            if let Some(v) = viewers.get(&c.rec.marking.owner) {
                c.viewer = v.clone();
            }
        }
        for (id, mut c) in fresh {
            if replayed.contains(&id) {
                c.saved_ms = now;
            }
            live.convoys.insert(id, c);
        }
        live.devices = devices;
        live.hooks = hooks;
        live.reloaded = Some(Instant::now());
        live.orgs_refreshed = Instant::now();
        Ok(())
    }

    /// What each organisation may see, again, and the webhooks.
    async fn refresh_orgs(&self, live: &mut Live) -> Result<(), AppError> {
        let mut viewers: HashMap<sahelwatch_core::OrgId, Viewer> = HashMap::new();
        let hooks = self.store.webhooks(None).await?;
        let orgs: Vec<_> = live
            .convoys
            .values()
            .map(|c| c.rec.marking.owner)
            .chain(hooks.iter().map(|h| h.owner_org))
            .collect();
        for org in orgs {
            if let std::collections::hash_map::Entry::Vacant(e) = viewers.entry(org) {
                e.insert(self.org_viewer(org).await?);
            }
        }
        for c in live.convoys.values_mut() {
            if let Some(v) = viewers.get(&c.rec.marking.owner) {
                c.viewer = v.clone();
            }
        }
        live.hooks = hooks
            .into_iter()
            .filter_map(|rec| {
                let viewer = viewers.get(&rec.owner_org)?.clone();
                let min = parse_severity(&rec.min_severity).unwrap_or(Severity::Warning);
                Some(Hook { rec, viewer, min })
            })
            .collect();
        live.orgs_refreshed = Instant::now();
        Ok(())
    }

    async fn writer(self: Arc<Self>, mut live: Live, mut rx: mpsc::Receiver<Job>) {
        let Some(h) = self.tracking.get() else { return };
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
            // Reload when asked (a convoy or webhook changed here) and when
            // a device was unknown (registered on another instance; at most
            // once a second); every 30 s, only the organisations' viewers and
            // the webhooks (sharing groups change), which is cheap.
            let asked = h.reload.swap(false, Ordering::AcqRel);
            let since = live.reloaded.map_or(Duration::MAX, |t| t.elapsed());
            if asked || (live.unknown_seen && since >= UNKNOWN_RELOAD) {
                if let Err(e) = self.reload_live(&mut live).await {
                    tracing::error!(error = %e, "tracker: reloading convoys failed");
                    if asked {
                        h.reload.store(true, Ordering::Release);
                    }
                }
            } else if live.orgs_refreshed.elapsed() >= RELOAD_EVERY
                && let Err(e) = self.refresh_orgs(&mut live).await
            {
                tracing::error!(error = %e, "tracker: refreshing viewers failed");
            }
            live.unknown_seen = false;
            self.batch(&mut live, jobs).await;
        }
    }

    async fn batch(&self, live: &mut Live, jobs: Vec<Job>) {
        let Some(h) = self.tracking.get() else { return };
        let stats = &h.stats;
        let now = now_ms();
        let mut intake = Intake::default();
        // Convoy -> its state before this batch (restored if the write fails).
        let mut before: HashMap<i64, State> = HashMap::new();
        // Alerts of this batch: (convoy, alert, job index, item index, received).
        let mut raised: Vec<Raised> = Vec::new();
        // The incident sequence looked at, taken only once the batch commits.
        let mut incident_seq = None;
        let mut answers: Vec<(usize, Vec<PositionResult>)> = Vec::new();
        let mut replies = Vec::new();
        let mut ticked = false;
        for (j, job) in jobs.into_iter().enumerate() {
            match job {
                Job::Tick => ticked = true,
                Job::Positions {
                    source,
                    received,
                    items,
                    reply,
                } => {
                    let mut results = Vec::with_capacity(items.len());
                    for (k, p) in items.into_iter().enumerate() {
                        let Some(dev) = live.devices.get(&p.device).cloned() else {
                            live.unknown_seen = true;
                            stats.unknown_device.fetch_add(1, Ordering::Relaxed);
                            results.push(not_accepted(&p.device));
                            continue;
                        };
                        if p.secret.as_deref().map(secret_hash).as_deref()
                            != Some(dev.secret_hash.as_str())
                        {
                            stats.bad_secret.fetch_add(1, Ordering::Relaxed);
                            results.push(not_accepted(&p.device));
                            continue;
                        }
                        let Some(c) = live.convoys.get_mut(&dev.convoy) else {
                            stats.unknown_device.fetch_add(1, Ordering::Relaxed);
                            results.push(not_accepted(&p.device));
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
                            raised.push(Raised {
                                convoy: c.rec.id,
                                alert: a,
                                job: j,
                                item: k,
                                received,
                                incident: None,
                            });
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
                clock_step(
                    c,
                    &Input::Tick,
                    now,
                    tick_at,
                    None,
                    &mut before,
                    &mut raised,
                );
            }
            match self.fresh_incidents(live, now).await {
                Ok((seq, fresh)) => {
                    incident_seq = Some(seq);
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
                            let marking = Some(&row.marking);
                            clock_step(c, &input, now, tick_at, marking, &mut before, &mut raised);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "tracker: reading fresh incidents failed"),
            }
        }
        // Convoys stay for the whole batch (reloads happen between batches).
        raised.retain(|r| live.convoys.contains_key(&r.convoy));
        for r in &raised {
            let (c, a) = (&live.convoys[&r.convoy], &r.alert);
            intake.alerts.push(NewAlert {
                convoy: r.convoy,
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
                    .filter(|h| {
                        a.severity >= h.min
                            && h.viewer.can_see(&c.rec.marking)
                            && r.incident.as_ref().is_none_or(|m| h.viewer.can_see(m))
                    })
                    .map(|h| h.rec.id)
                    .collect(),
            });
        }
        // States: of the convoys with alerts, and of those not saved lately.
        for id in before.keys() {
            let Some(c) = live.convoys.get(id) else {
                continue;
            };
            if now - c.saved_ms >= STATE_EVERY_MS || raised.iter().any(|r| r.convoy == *id) {
                match saved_state(&c.state, now) {
                    Ok(v) => intake.states.push((*id, v)),
                    Err(e) => tracing::error!(error = %e, "tracker: state not saved"),
                }
            }
        }
        let written = if intake.positions.is_empty()
            && intake.alerts.is_empty()
            && intake.states.is_empty()
        {
            Ok(Vec::new())
        } else {
            self.store.record_intake(&intake).await
        };
        match written {
            Ok(ids) => {
                stats.alerts.fetch_add(ids.len() as u64, Ordering::Relaxed);
                if let Some(seq) = incident_seq {
                    live.incident_seq = seq;
                }
                for (id, _) in &intake.states {
                    if let Some(c) = live.convoys.get_mut(id) {
                        c.saved_ms = now;
                    }
                }
                for (r, id) in raised.into_iter().zip(ids) {
                    let Raised {
                        convoy,
                        alert: a,
                        job: j,
                        item: k,
                        received,
                        incident,
                    } = r;
                    if let Some((_, results)) = answers.iter_mut().find(|(jj, _)| *jj == j)
                        && let Some(r) = results.get_mut(k)
                    {
                        r.alerts.push(id);
                    }
                    let Some(c) = live.convoys.get(&convoy) else {
                        continue;
                    };
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
                        marking: c.rec.marking.clone(),
                        incident,
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
    ) -> Result<(i64, Vec<(sahelwatch_query::IndexRow, String)>), AppError> {
        let current = self.store.incident_seq().await?;
        if live.convoys.is_empty() || current <= live.incident_seq {
            return Ok((current.max(live.incident_seq), Vec::new()));
        }
        let rows = self.store.index_changes(live.incident_seq, current).await?;
        let horizon = live
            .convoys
            .values()
            .map(|c| c.spec.engine.thresholds.incident_hours)
            .fold(0.0, f64::max);
        let since_micros = (now as f64 - horizon * 3.6e6).max(0.0) as i64 * 1000;
        let fresh: Vec<_> = rows
            .into_iter()
            .filter(|r| !r.deleted && r.updated_micros >= since_micros)
            .collect();
        if fresh.is_empty() {
            return Ok((current, Vec::new()));
        }
        let ids: Vec<i64> = fresh.iter().map(|r| r.id).collect();
        let uids: HashMap<i64, String> = self
            .store
            .incidents_by_ids(&ids)
            .await?
            .into_iter()
            .map(|(id, inc)| (id, inc.id.to_string()))
            .collect();
        Ok((
            current,
            fresh
                .into_iter()
                .filter_map(|r| {
                    let uid = uids.get(&r.id)?.clone();
                    Some((r, uid))
                })
                .collect(),
        ))
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
        let visible = match &convoy {
            Some(c) => {
                viewer.can_see(&c.marking) && self.alert_incident_visible(&viewer, &alert).await?
            }
            None => false,
        };
        let Some(convoy) = convoy.filter(|_| visible) else {
            d.status = "failed".into();
            d.last_error = Some(
                "the convoy, or the incident the alert tells of, is not visible to the organisation"
                    .into(),
            );
            return Ok(self.store.update_delivery(&d).await?);
        };
        let body = webhook_body(self, &convoy, alert, &d).await?;
        if let Err(e) = check_webhook_target(&hook.url, self.webhooks_allow_private()).await {
            d.status = "failed".into();
            d.last_error = Some(e);
            return Ok(self.store.update_delivery(&d).await?);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_checked() {
        assert!(check_webhook_url("http://hooks.example.org/a?b=1", false).is_ok());
        assert_eq!(
            webhook_host("http://[::1]:9000/x").unwrap(),
            ("::1".to_string(), 9000)
        );
        for private in [
            "http://127.0.0.1:8080/",
            "http://localhost/",
            "http://10.1.2.3/",
            "http://192.168.0.9/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
        ] {
            let e = check_webhook_url(private, false).unwrap_err();
            assert!(e.contains("private"), "{private}: {e}");
            assert!(check_webhook_url(private, true).is_ok(), "{private}");
        }
        for bad in [
            "https://a.org/",
            "ftp://a.org/",
            "http://",
            "http://u:p@a.org/",
            "a.org",
        ] {
            assert!(check_webhook_url(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn osmand_requests_are_read_and_bad_ones_named() {
        let q = |s: &str| -> Vec<(String, String)> { pairs(s) };
        let p = parse_osmand(
            &q("id=trk-1&key=s3cret&lat=12.5&lon=-1.5&timestamp=1700000000&speed=10&batt=80&alarm=sos"),
            None,
        )
        .unwrap();
        assert_eq!(p.device, "trk-1");
        assert_eq!(p.secret.as_deref(), Some("s3cret"));
        assert_eq!(p.time_ms, Some(1_700_000_000_000));
        assert!((p.speed_kmh.unwrap() - 18.52).abs() < 1e-9);
        assert!(p.sos);
        let p = parse_osmand(
            &q("lat=1&lon=2&timestamp=2023-11-14T22:13:20Z"),
            Some(("trk-2".into(), "pw".into())),
        )
        .unwrap();
        assert_eq!(
            (p.device.as_str(), p.secret.as_deref()),
            ("trk-2", Some("pw"))
        );
        assert_eq!(p.time_ms, Some(1_700_000_000_000));
        let e = parse_osmand(&q("id=x&lat=abc&lon=2&timestamp=soon"), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lat") && e.contains("abc") && e.contains("timestamp"),
            "{e}"
        );
        let e = parse_osmand(&q("lat=1&lon=2"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("id"), "{e}");
    }

    fn pairs(s: &str) -> Vec<(String, String)> {
        s.split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}
