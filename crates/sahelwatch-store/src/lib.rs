//! Storage for sahelwatch: the [`Store`] trait and its two backends,
//! [`sqlite`] (the default: one file, nothing to install) and [`postgres`]
//! (PostgreSQL with PostGIS, for several instances sharing one database).
//!
//! Both backends pass the same conformance suite (`conformance` feature).
//! Schemas are versioned migrations (refinery) applied on open, so a database
//! created by an older sahelwatch opens in a newer one.
//!
//! Invariants every backend keeps:
//! - An import is one transaction: it commits entirely or leaves nothing,
//!   whether it is refused (strict mode), fails or is interrupted.
//! - Every write transaction on incidents first increments the `incidents`
//!   counter and stamps every row it writes with the new value (`seq`).
//!   Writers are serialised by that increment, so "all rows with seq <= the
//!   committed counter" is a consistent, complete view: readers (the query
//!   index) catch up with [`Store::index_changes`].
//! - Rows are never removed: a deletion sets `deleted` and bumps `seq`, so
//!   the deletion reaches every index too.
//!
//! This crate decides nothing about visibility: it returns what it is asked
//! for, and its callers apply the viewer's rules before anything leaves.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sahelwatch_core::accounts::{ApiToken, NewUser, Session, SharingGroup, User};
use sahelwatch_core::audit::{AuditEntry, AuditRecord};
use sahelwatch_core::report::{CaseDetails, CaseStepKind, Claims, Credibility, Reliability};
use sahelwatch_core::{GroupId, Incident, IncidentData, Marking, OrgId, Place, Role, Tlp, UserId};
use sahelwatch_ingest::RowIssue;
use sahelwatch_query::IndexRow;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod postgres;
mod row;
pub mod sqlite;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("SQLite connection pool: {0}")]
    SqlitePool(#[from] r2d2::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL connection pool: {0}")]
    PostgresPool(String),
    #[error("cannot open the database: {0}")]
    Open(String),
    #[error("schema migration failed: {0}")]
    Migration(String),
    #[error(
        "the database schema is at version {found}, newer than this sahelwatch knows ({known}); upgrade sahelwatch"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("stored data could not be read back: {0}")]
    Corrupt(String),
    #[error("the import was interrupted before it finished; nothing was written")]
    ImportInterrupted,
    /// A unique name is taken (a username, a sharing group's name).
    #[error("{0}")]
    Conflict(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which backend a store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Org {
    pub id: OrgId,
    pub uid: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Who imports what, and how.
#[derive(Debug, Clone)]
pub struct ImportJob {
    /// `acled`, `ucdp` or `gazetteer`.
    pub kind: String,
    /// Where the rows came from (a file name).
    pub source: String,
    /// What the reader detected ("ACLED current layout, HXL hashtag row skipped").
    pub detected: String,
    /// Dataset incidents are stored under (`acled`, `ucdp-ged`).
    pub dataset: String,
    /// Owner, TLP and the rest of the marking every imported row gets.
    pub marking: Marking,
    pub strict: bool,
    pub started_at: DateTime<Utc>,
}

/// An incident to import, with its marking, its coarse position and its
/// content hash already computed. Computing them on the reader side lets that
/// work run on another core than the database writes.
#[derive(Debug, Clone)]
pub struct ImportRow {
    data: IncidentData,
    marking: Marking,
    coarse: (f64, f64),
    hash: i64,
}

impl ImportRow {
    /// `coarse` is where viewers outside the owner organisation will see it.
    pub fn new(data: IncidentData, marking: Marking, coarse: (f64, f64)) -> ImportRow {
        let content = data.content_hash(&marking);
        let mut bytes = content.to_le_bytes().to_vec();
        bytes.extend_from_slice(&coarse.0.to_le_bytes());
        bytes.extend_from_slice(&coarse.1.to_le_bytes());
        let hash = xxhash_rust::xxh3::xxh3_64(&bytes) as i64;
        ImportRow {
            data,
            marking,
            coarse,
            hash,
        }
    }

    pub fn data(&self) -> &IncidentData {
        &self.data
    }

    pub fn marking(&self) -> &Marking {
        &self.marking
    }

    pub fn into_data(self) -> IncidentData {
        self.data
    }

    pub fn coarse(&self) -> (f64, f64) {
        self.coarse
    }

    /// The content hash. Every row of an import belongs to the job's owner:
    /// the owner is part of the key rows are upserted on.
    pub(crate) fn hash_for(&self, job: &ImportJob) -> Result<i64> {
        if self.marking.owner == job.marking.owner {
            Ok(self.hash)
        } else {
            Err(StoreError::Internal(
                "an import row belongs to another organisation than its import".into(),
            ))
        }
    }
}

/// The change counters (see the crate documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub incidents: i64,
    pub places: i64,
    /// Users, tokens, sessions, sharing groups: bumped by every change.
    pub access: i64,
    pub audit: i64,
}

/// Fields of a user that can change.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub display_name: Option<String>,
}

/// Messages from the reader side of an import to the store.
#[derive(Debug)]
pub enum ImportMsg {
    Rows(Vec<ImportRow>),
    /// Everything has been sent. With `commit: false` the store rolls back.
    Finish {
        commit: bool,
        rows_read: u64,
        refused: Vec<RowIssue>,
    },
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    /// Id of the import record, when committed.
    pub import_id: Option<i64>,
    pub committed: bool,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// A committed import, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRecord {
    pub id: i64,
    pub kind: String,
    pub source: String,
    pub detected: String,
    pub owner_org: Option<OrgId>,
    pub tlp: Option<Tlp>,
    pub strict: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub rows_read: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub refused: u64,
    pub refused_rows: serde_json::Value,
}

/// Microsecond precision, as both backends store timestamps: a value must
/// read back equal to what was hashed or compared.
pub fn now_micros() -> DateTime<Utc> {
    truncate_micros(Utc::now())
}

pub fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}

/// Refused rows kept in the import record (the full list goes to the caller).
pub const REFUSED_ROWS_KEPT: usize = 1000;

/// A stored report. `uid` is chosen by the caller; `id` is the row id
/// (ignored when creating).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRecord {
    pub id: i64,
    pub uid: Uuid,
    /// Reports are never coarsened: their text names the place anyway.
    pub marking: Marking,
    pub source: String,
    pub title: Option<String>,
    pub published: NaiveDate,
    pub lang: String,
    pub reliability: Reliability,
    pub credibility: Credibility,
    pub body: String,
    pub claims: Claims,
    /// What the extraction found (absent for structured-only reports).
    pub extraction: Option<serde_json::Value>,
    pub unlocated: bool,
    pub filed_at: DateTime<Utc>,
}

/// A road network to store (see `Store::put_road_network`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewRoadNetwork {
    pub name: String,
    /// What it was built from (file names).
    pub source: String,
    pub created_at: DateTime<Utc>,
    /// The import report.
    pub report: serde_json::Value,
    /// The network document (opaque to the store).
    pub data: Vec<u8>,
}

/// A stored road network, without its document.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadNetworkRecord {
    pub id: i64,
    pub name: String,
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub report: serde_json::Value,
    /// Size of the stored document.
    pub size_bytes: i64,
}

/// A route to save for an organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSavedRoute {
    pub owner_org: OrgId,
    pub name: String,
    /// The road network version it was planned on.
    pub network_id: i64,
    pub network_name: String,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    /// The request and the chosen route (opaque to the store).
    pub plan: serde_json::Value,
}

/// A saved route.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedRouteRecord {
    pub id: i64,
    pub owner_org: OrgId,
    pub name: String,
    pub network_id: i64,
    pub network_name: String,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub plan: serde_json::Value,
}

/// A convoy to register, with its devices. Times of the tracking tables are
/// Unix milliseconds, as devices send them.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConvoy {
    pub uid: Uuid,
    pub marking: Marking,
    pub name: String,
    pub created_ms: i64,
    /// The registration: route, vehicles, schedule, interval, escort,
    /// geofences, thresholds (opaque to the store).
    pub spec: serde_json::Value,
    /// The alert engine's first state (opaque).
    pub state: serde_json::Value,
    pub devices: Vec<DeviceRecord>,
}

/// A registered convoy.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvoyRecord {
    pub id: i64,
    pub uid: Uuid,
    pub marking: Marking,
    pub name: String,
    pub created_ms: i64,
    /// When it was ended (its devices are then released).
    pub ended_ms: Option<i64>,
    pub spec: serde_json::Value,
    /// The alert engine's state as last saved with an intake.
    pub state: serde_json::Value,
}

/// A tracker device of an active convoy's vehicle. `convoy` is ignored when
/// registering.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRecord {
    pub device: String,
    pub convoy: i64,
    /// Index of the vehicle in the convoy.
    pub vehicle: i32,
    /// SHA-256 of the device secret, hex.
    pub secret_hash: String,
}

/// A stored position.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionRecord {
    pub convoy: i64,
    pub vehicle: i32,
    pub time_ms: i64,
    pub received_ms: i64,
    pub longitude: f64,
    pub latitude: f64,
    pub speed_kmh: Option<f64>,
    pub bearing: Option<f64>,
    pub altitude: Option<f64>,
    pub accuracy: Option<f64>,
    pub battery: Option<f64>,
    pub sos: bool,
    /// How the alert engine took it: `accepted`, `skewed` or `late`.
    pub outcome: String,
    /// `osmand`, `json` or `mqtt`.
    pub source: String,
}

/// An alert to store, with the webhooks it is to be delivered to.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub convoy: i64,
    pub kind: String,
    pub severity: String,
    pub vehicle: Option<i32>,
    pub at_ms: i64,
    pub message: String,
    pub data: serde_json::Value,
    pub created_ms: i64,
    pub webhooks: Vec<i64>,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub id: i64,
    pub convoy: i64,
    pub kind: String,
    pub severity: String,
    pub vehicle: Option<i32>,
    pub at_ms: i64,
    pub message: String,
    pub data: serde_json::Value,
    pub created_ms: i64,
    pub acked_by: Option<UserId>,
    pub acked_ms: Option<i64>,
    pub ack_note: Option<String>,
}

/// What one intake writes, in one transaction: positions, alerts (with
/// their webhook deliveries) and the engine states of the convoys touched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Intake {
    pub positions: Vec<PositionRecord>,
    pub alerts: Vec<NewAlert>,
    pub states: Vec<(i64, serde_json::Value)>,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertFilter {
    /// Only these convoys (`None`: all).
    pub convoys: Option<Vec<i64>>,
    /// Only ids greater than this.
    pub after: i64,
    pub unacknowledged: bool,
    pub limit: usize,
}

/// A webhook to register.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    pub uid: Uuid,
    pub owner_org: OrgId,
    pub url: String,
    /// The HMAC key (kept: it signs every delivery).
    pub secret: String,
    /// Lowest severity delivered.
    pub min_severity: String,
    pub created_by: Option<UserId>,
    pub created_ms: i64,
}

/// A registered webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRecord {
    pub id: i64,
    pub uid: Uuid,
    pub owner_org: OrgId,
    pub url: String,
    pub secret: String,
    pub min_severity: String,
    pub created_by: Option<UserId>,
    pub created_ms: i64,
}

/// One alert's delivery to one webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub id: i64,
    pub webhook: i64,
    pub alert: i64,
    /// `pending`, `delivered` or `failed` (gave up).
    pub status: String,
    pub attempts: i32,
    /// When the next attempt is due (pending only).
    pub next_ms: i64,
    pub last_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_ms: Option<i64>,
}

/// An analyst's decision on a report and an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkStatus {
    /// The report tells of this incident: it corroborates it.
    Confirmed,
    /// It does not: the pair is no longer proposed.
    Rejected,
}

impl LinkStatus {
    pub fn label(self) -> &'static str {
        match self {
            LinkStatus::Confirmed => "confirmed",
            LinkStatus::Rejected => "rejected",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<LinkStatus> {
        match s {
            "confirmed" => Ok(LinkStatus::Confirmed),
            "rejected" => Ok(LinkStatus::Rejected),
            _ => Err(StoreError::Corrupt(format!("link status '{s}'"))),
        }
    }
}

/// A report-incident decision; one per pair (a new decision replaces it).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportLink {
    pub report: i64,
    pub incident: i64,
    pub status: LinkStatus,
    /// The match score when decided.
    pub score: f64,
    pub decided_by: Option<UserId>,
    pub decided_at: DateTime<Utc>,
}

/// A kidnap case, opened by a report (row ids).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRecord {
    pub id: i64,
    pub uid: Uuid,
    pub marking: Marking,
    pub incident: Option<i64>,
    pub report: i64,
    pub abducted_on: NaiveDate,
    pub details: CaseDetails,
    pub created_at: DateTime<Utc>,
}

/// A step of a case, and the report it rests on (row ids).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseStepRecord {
    pub id: i64,
    pub case: i64,
    pub report: i64,
    pub kind: CaseStepKind,
    pub on_date: NaiveDate,
    pub note: Option<String>,
    pub added_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// What one decision writes, in one transaction: the link, and possibly a
/// case opened and a step added.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub links: Vec<ReportLink>,
    pub open_case: Option<CaseRecord>,
    /// Steps of an existing case (`case` set), or of the case opened here
    /// (`case` 0).
    pub steps: Vec<CaseStepRecord>,
}

/// Row counts, for start-up messages and health checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    pub incidents: u64,
    pub places: u64,
    pub organisations: u64,
    pub imports: u64,
}

/// The storage interface. Methods are async; the SQLite backend runs its
/// blocking calls on tokio's blocking pool.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Where the data lives (a file path, or a URL without its password).
    fn describe(&self) -> String;

    /// The organisation of this name, created if missing.
    async fn ensure_org(&self, name: &str) -> Result<Org>;

    async fn orgs(&self) -> Result<Vec<Org>>;

    /// Upsert incidents streamed through `rx`, on (owner, dataset, external
    /// id), in one transaction. Unchanged rows are not written.
    async fn import_incidents(
        &self,
        job: ImportJob,
        rx: tokio::sync::mpsc::Receiver<ImportMsg>,
    ) -> Result<ImportOutcome>;

    /// One incident by public id, with its row id. Deleted incidents are not returned.
    async fn incident_by_uid(&self, uid: Uuid) -> Result<Option<(i64, Incident)>>;

    /// Row ids of the live incidents keyed `(dataset, external_id)` in any
    /// organisation (each organisation has its own key space).
    async fn incident_ids_by_key(&self, dataset: &str, external_id: &str) -> Result<Vec<i64>>;

    /// Live incidents by row id, with their row ids, in the order given; ids
    /// that do not exist (or were deleted) are skipped.
    async fn incidents_by_ids(&self, ids: &[i64]) -> Result<Vec<(i64, Incident)>>;

    /// The committed incident change counter.
    async fn incident_seq(&self) -> Result<i64>;

    /// Index projections of incidents written with `after < seq <= upto`,
    /// deleted ones included (flagged).
    async fn index_changes(&self, after: i64, upto: i64) -> Result<Vec<IndexRow>>;

    /// Row ids of live incidents whose notes contain `needle` (already
    /// folded with [`sahelwatch_core::text::fold`]) after folding, optionally
    /// only among `within`.
    async fn ids_with_text(&self, needle: &str, within: Option<Vec<i64>>) -> Result<HashSet<i64>>;

    /// Upsert gazetteer places (by GeoNames id) in one transaction and record
    /// the import. A place already stored with a later GeoNames modification
    /// date is kept (counted unchanged): loading an old dump after a newer one
    /// does not roll places back.
    async fn import_places(
        &self,
        job: ImportJob,
        places: Vec<Place>,
        rows_read: u64,
        refused: Vec<RowIssue>,
    ) -> Result<ImportOutcome>;

    async fn places(&self) -> Result<Vec<Place>>;

    async fn places_seq(&self) -> Result<i64>;

    /// The most recent committed imports, newest first.
    async fn imports(&self, limit: usize) -> Result<Vec<ImportRecord>>;

    async fn stats(&self) -> Result<StoreStats>;

    /// Every change counter in one read.
    async fn counters(&self) -> Result<Counters>;

    // --- single incidents ---

    /// Store a new incident (created through the API). Returns its row id and public id.
    async fn create_incident(
        &self,
        data: &IncidentData,
        marking: &Marking,
        coarse: (f64, f64),
    ) -> Result<(i64, Uuid)>;

    /// Replace an incident's marking (owner stays).
    async fn update_marking(&self, id: i64, marking: &Marking, coarse: (f64, f64)) -> Result<()>;

    /// Flag an incident deleted.
    async fn delete_incident(&self, id: i64) -> Result<()>;

    // --- organisations and users ---

    /// A new organisation; a name that exists is a conflict.
    async fn create_org(&self, name: &str) -> Result<Org>;

    async fn create_user(&self, user: NewUser) -> Result<User>;

    /// A user and their password hash, by (lower-case) username.
    async fn user_by_username(&self, username: &str) -> Result<Option<(User, Option<String>)>>;

    async fn user(&self, id: UserId) -> Result<Option<User>>;

    async fn user_by_uid(&self, uid: Uuid) -> Result<Option<User>>;

    /// Users of one organisation, or of all.
    async fn users(&self, org: Option<OrgId>) -> Result<Vec<User>>;

    async fn update_user(&self, id: UserId, change: UserChange) -> Result<()>;

    async fn set_password(&self, id: UserId, password_hash: &str) -> Result<()>;

    // --- API tokens and sessions (secrets stored as SHA-256 hex) ---

    async fn create_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        prefix: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<ApiToken>;

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>>;

    async fn token_by_uid(&self, uid: Uuid) -> Result<Option<ApiToken>>;

    async fn tokens(&self, user: UserId) -> Result<Vec<ApiToken>>;

    async fn revoke_token(&self, id: i64) -> Result<()>;

    async fn create_session(
        &self,
        user: UserId,
        token_hash: &str,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<Session>;

    async fn session_by_hash(&self, token_hash: &str) -> Result<Option<Session>>;

    async fn revoke_session(&self, id: i64) -> Result<()>;

    // --- sharing groups ---

    /// A new group owned (and joined) by `owner`; a name that exists is a conflict.
    async fn create_group(&self, name: &str, owner: OrgId) -> Result<SharingGroup>;

    async fn set_group_member(&self, group: GroupId, org: OrgId, member: bool) -> Result<()>;

    /// Every group with its members.
    async fn groups(&self) -> Result<Vec<SharingGroup>>;

    // --- audit log ---

    /// Append entries to the hash chain, in order, in one transaction.
    async fn append_audit(&self, entries: Vec<AuditEntry>) -> Result<()>;

    /// Entries with id > `after`, oldest first, optionally of one organisation.
    async fn audit(&self, org: Option<OrgId>, after: i64, limit: usize)
    -> Result<Vec<AuditRecord>>;

    // --- reports, their links to incidents, kidnap cases ---

    /// Store a report; returns its row id.
    async fn create_report(&self, report: &ReportRecord) -> Result<i64>;

    async fn report_by_uid(&self, uid: Uuid) -> Result<Option<ReportRecord>>;

    /// Reports by row id; ids that do not exist are skipped.
    async fn reports_by_ids(&self, ids: &[i64]) -> Result<Vec<ReportRecord>>;

    /// Reports with row id > `after`, oldest first.
    async fn reports(&self, after: i64, limit: usize) -> Result<Vec<ReportRecord>>;

    /// Write a decision (links, a case opened, steps) in one transaction.
    /// Returns the row id of the case opened, if any.
    async fn decide(&self, decision: Decision) -> Result<Option<i64>>;

    /// Links of a report, or of an incident.
    async fn links(&self, report: Option<i64>, incident: Option<i64>) -> Result<Vec<ReportLink>>;

    async fn case_by_uid(&self, uid: Uuid) -> Result<Option<CaseRecord>>;

    async fn case_by_incident(&self, incident: i64) -> Result<Option<CaseRecord>>;

    /// Cases with row id > `after`, oldest first.
    async fn cases(&self, after: i64, limit: usize) -> Result<Vec<CaseRecord>>;

    /// Steps of these cases, by date then row id.
    async fn case_steps(&self, cases: &[i64]) -> Result<Vec<CaseStepRecord>>;

    // Road networks

    /// Stores a road network, replacing any of the same name, in one
    /// transaction; a new network gets a new id.
    async fn put_road_network(&self, network: &NewRoadNetwork) -> Result<RoadNetworkRecord>;
    /// Every stored road network, newest first.
    async fn road_networks(&self) -> Result<Vec<RoadNetworkRecord>>;
    /// The document of a road network.
    async fn road_network_data(&self, id: i64) -> Result<Option<Vec<u8>>>;

    // Saved routes

    /// Saves a route, replacing the organisation's route of the same name,
    /// in one transaction; a new route gets a new id.
    async fn put_saved_route(&self, route: &NewSavedRoute) -> Result<SavedRouteRecord>;
    /// An organisation's saved routes, by name.
    async fn saved_routes(&self, org: OrgId) -> Result<Vec<SavedRouteRecord>>;
    /// One of an organisation's saved routes (another's is `None`).
    async fn saved_route(&self, org: OrgId, id: i64) -> Result<Option<SavedRouteRecord>>;
    /// Deletes one of an organisation's saved routes; false if it had none.
    async fn delete_saved_route(&self, org: OrgId, id: i64) -> Result<bool>;

    // Convoys (times in Unix milliseconds)

    /// Registers a convoy and its devices in one transaction. A device id
    /// already used by an active convoy is a [`StoreError::Conflict`] naming it.
    async fn create_convoy(&self, convoy: &NewConvoy) -> Result<ConvoyRecord>;
    /// Every convoy, newest first (callers apply visibility).
    async fn convoys(&self) -> Result<Vec<ConvoyRecord>>;
    async fn convoy(&self, id: i64) -> Result<Option<ConvoyRecord>>;
    async fn convoy_by_uid(&self, uid: Uuid) -> Result<Option<ConvoyRecord>>;
    /// Ends an active convoy and releases its devices; false if it was not active.
    async fn end_convoy(&self, id: i64, at_ms: i64) -> Result<bool>;
    /// The devices of active convoys.
    async fn devices(&self) -> Result<Vec<DeviceRecord>>;
    /// Writes an intake in one transaction; returns the new alerts' ids, in order.
    async fn record_intake(&self, intake: &Intake) -> Result<Vec<i64>>;
    /// A convoy's positions with `from_ms <= time_ms < to_ms`, by time, at most `limit`.
    async fn positions(
        &self,
        convoy: i64,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<PositionRecord>>;
    /// A convoy's positions received at or after `from_received_ms`, in the
    /// order they were stored (to replay them into a saved engine state).
    async fn positions_received(
        &self,
        convoy: i64,
        from_received_ms: i64,
    ) -> Result<Vec<PositionRecord>>;
    /// Alerts by id, oldest first.
    async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertRecord>>;
    async fn alert(&self, id: i64) -> Result<Option<AlertRecord>>;
    /// Acknowledges an alert; false if it was already acknowledged.
    async fn ack_alert(
        &self,
        id: i64,
        by: Option<UserId>,
        at_ms: i64,
        note: Option<&str>,
    ) -> Result<bool>;

    // Webhooks

    async fn create_webhook(&self, hook: &NewWebhook) -> Result<WebhookRecord>;
    /// Webhooks of one organisation, or all.
    async fn webhooks(&self, org: Option<OrgId>) -> Result<Vec<WebhookRecord>>;
    /// Deletes one of an organisation's webhooks and its pending deliveries.
    async fn delete_webhook(&self, org: OrgId, id: i64) -> Result<bool>;
    /// Pending deliveries due at `now_ms`, oldest first.
    async fn due_deliveries(&self, now_ms: i64, limit: usize) -> Result<Vec<DeliveryRecord>>;
    /// Records an attempt (status, attempts, next, last code and error, delivered).
    async fn update_delivery(&self, d: &DeliveryRecord) -> Result<()>;
    /// A webhook's latest deliveries, newest first.
    async fn deliveries(&self, webhook: i64, limit: usize) -> Result<Vec<DeliveryRecord>>;
}

/// Open a store from a location: `postgres://...` or `postgresql://...` for
/// PostgreSQL, `sqlite://PATH` or a plain path for SQLite. Applies pending
/// migrations.
pub async fn open(location: &str) -> Result<Arc<dyn Store>> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::open(location).await?))
    } else {
        let path = location.strip_prefix("sqlite://").unwrap_or(location);
        Ok(Arc::new(sqlite::SqliteStore::open(path).await?))
    }
}

/// Refused rows as kept in an import record: at most [`REFUSED_ROWS_KEPT`].
pub(crate) fn refused_json(refused: &[RowIssue]) -> serde_json::Value {
    serde_json::to_value(&refused[..refused.len().min(REFUSED_ROWS_KEPT)]).unwrap_or_default()
}
