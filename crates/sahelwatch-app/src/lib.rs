//! The use cases of sahelwatch, shared by the HTTP server and the CLI:
//! importing files, answering incident and place queries, exporting, and
//! loading the bundled starter data.
//!
//! [`App`] holds a store and two derived in-memory views of it, the incident
//! index and the gazetteer. Before answering, it brings them up to date with
//! the store's committed change counters, so a write made by any process
//! (another server instance, a CLI import) is visible to the next query.
//!
//! Every read goes through a [`Viewer`]; nothing here returns an item the
//! viewer may not see, whatever the path (list, get, count, export).
//!
//! This crate knows nothing of HTTP or terminals.

mod admin;
pub mod analytics;
mod audit;
pub mod auth;
pub mod cases;
pub mod convoys;
pub mod corridor;
mod error;
mod export;
pub mod fusion;
mod import;
mod query;
pub mod reports;
pub mod roads;
mod search;
pub mod stix;
mod stream;
pub mod taxii;
pub mod tracker;
mod views;

pub use admin::{GroupInfo, MarkingInput, NewUserInput, OrgInfo, UserUpdate};
pub use audit::AuditVerification;
pub use auth::{LoginResult, NewToken};
pub use error::AppError;
pub use export::{EXPORT_CHUNK, ExportFormat, ExportState};
pub use import::{ImportOptions, ImportReport, NoProgress, Progress, StarterReport};
pub use query::{IncidentQuery, ParamError, RawIncidentQuery, ResolvedNear};
pub use search::AggregateView;
pub use stix::StixImport;
pub use stream::{STREAM_BATCH, StreamBatch, StreamPosition};
pub use views::{GroupView, IncidentPage, IncidentView, OrgRef, PlaceView, geojson_feature};

use sahelwatch_core::{Gazetteer, Incident, OrgId, Viewer};
use sahelwatch_query::Snapshot;
use sahelwatch_store::{Org, Store};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// Name of the organisation that owns what the CLI imports when no other is named.
pub const DEFAULT_ORG: &str = "sahelwatch";

struct GazetteerState {
    seq: i64,
    gazetteer: Arc<Gazetteer>,
}

/// The application: a store plus its derived in-memory views.
pub struct App {
    store: Arc<dyn Store>,
    index: RwLock<Arc<Snapshot>>,
    index_refresh: tokio::sync::Mutex<()>,
    gazetteer: RwLock<Arc<GazetteerState>>,
    gazetteer_refresh: tokio::sync::Mutex<()>,
    orgs: RwLock<Arc<HashMap<OrgId, Org>>>,
    principals: std::sync::Mutex<auth::PrincipalCache>,
    login_limiter: auth::RateLimiter,
    taxii_statuses: std::sync::Mutex<taxii::StatusLog>,
    /// The sequence number of the latest index, for live-stream subscribers.
    index_updates: tokio::sync::watch::Sender<i64>,
    /// The actor dictionary of report extraction.
    actors: Arc<sahelwatch_extract::actors::ActorDictionary>,
    /// The place index of report extraction, with the gazetteer it was built from.
    #[allow(clippy::type_complexity)]
    place_index:
        std::sync::Mutex<Option<(Arc<Gazetteer>, Arc<sahelwatch_extract::places::PlaceIndex>)>>,
    /// The loaded road network and the viewers' risk on it.
    roads: roads::RoadsState,
    /// Live tracking, once started (`start_tracking`).
    tracking: std::sync::OnceLock<tracker::Handle>,
    /// Webhooks may reach loopback and private addresses.
    webhooks_allow_private: std::sync::atomic::AtomicBool,
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|e| e.into_inner()) = value;
}

impl App {
    pub fn new(store: Arc<dyn Store>) -> App {
        App {
            store,
            index: RwLock::new(Arc::new(Snapshot::default())),
            index_refresh: tokio::sync::Mutex::new(()),
            gazetteer: RwLock::new(Arc::new(GazetteerState {
                seq: 0,
                gazetteer: Arc::new(Gazetteer::default()),
            })),
            gazetteer_refresh: tokio::sync::Mutex::new(()),
            orgs: RwLock::new(Arc::new(HashMap::new())),
            principals: std::sync::Mutex::new(auth::PrincipalCache::default()),
            login_limiter: auth::RateLimiter::default(),
            taxii_statuses: Default::default(),
            index_updates: tokio::sync::watch::Sender::new(0),
            actors: Arc::new(sahelwatch_extract::actors::ActorDictionary::builtin()),
            place_index: std::sync::Mutex::new(None),
            roads: roads::RoadsState::default(),
            tracking: std::sync::OnceLock::new(),
            webhooks_allow_private: Default::default(),
        }
    }

    /// Let webhooks reach loopback and private addresses (a receiver on the
    /// same machine or network); off by default, so that a webhook cannot
    /// be used to probe the server's network.
    pub fn set_webhooks_allow_private(&self, allow: bool) {
        self.webhooks_allow_private
            .store(allow, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn webhooks_allow_private(&self) -> bool {
        self.webhooks_allow_private
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The incident index, brought up to date with the store first.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, AppError> {
        let current = self.store.incident_seq().await?;
        let snap = read(&self.index);
        if snap.seq() >= current {
            return Ok(snap);
        }
        let _one_refresher = self.index_refresh.lock().await;
        let snap = read(&self.index);
        if snap.seq() >= current {
            return Ok(snap);
        }
        let started = std::time::Instant::now();
        let changes = self.store.index_changes(snap.seq(), current).await?;
        let n = changes.len();
        let next = if snap.seq() == 0 {
            Snapshot::build(changes, current)
        } else {
            snap.apply(changes, current)
        };
        let next = Arc::new(next);
        write(&self.index, Arc::clone(&next));
        self.index_updates.send_replace(current);
        tracing::debug!(
            rows = n,
            seq = current,
            ms = started.elapsed().as_millis() as u64,
            "incident index refreshed"
        );
        Ok(next)
    }

    /// The gazetteer, brought up to date with the store first.
    pub async fn gazetteer(&self) -> Result<Arc<Gazetteer>, AppError> {
        let current = self.store.places_seq().await?;
        let state = read(&self.gazetteer);
        if state.seq >= current {
            return Ok(Arc::clone(&state.gazetteer));
        }
        let _one_refresher = self.gazetteer_refresh.lock().await;
        let state = read(&self.gazetteer);
        if state.seq >= current {
            return Ok(Arc::clone(&state.gazetteer));
        }
        let places = self.store.places().await?;
        let gazetteer = Arc::new(Gazetteer::new(places));
        write(
            &self.gazetteer,
            Arc::new(GazetteerState {
                seq: current,
                gazetteer: Arc::clone(&gazetteer),
            }),
        );
        Ok(gazetteer)
    }

    /// The organisation that owns an incident.
    pub async fn owner(&self, inc: &Incident) -> Result<Org, AppError> {
        self.org(inc.marking.owner).await?.ok_or_else(|| {
            AppError::Internal(format!("incident {} has no owner organisation", inc.id))
        })
    }

    /// The organisation an id refers to (cached; reloaded on a miss).
    pub async fn org(&self, id: OrgId) -> Result<Option<Org>, AppError> {
        if let Some(o) = read(&self.orgs).get(&id) {
            return Ok(Some(o.clone()));
        }
        let all: HashMap<OrgId, Org> = self
            .store
            .orgs()
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        let found = all.get(&id).cloned();
        write(&self.orgs, Arc::new(all));
        Ok(found)
    }

    /// The organisation of this name, created if missing.
    pub async fn ensure_org(&self, name: &str) -> Result<Org, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::BadRequest(vec![ParamError::new(
                "org",
                name,
                "an organisation name is 1 to 200 characters",
            )]));
        }
        Ok(self.store.ensure_org(name).await?)
    }

    /// One incident by public id, if the viewer may see it. An incident the
    /// viewer may not see is reported exactly like one that does not exist.
    pub async fn incident(&self, viewer: &Viewer, id: Uuid) -> Result<Option<Incident>, AppError> {
        Ok(self
            .incident_with_row(viewer, id)
            .await?
            .map(|(_, inc)| inc))
    }

    pub(crate) async fn incident_with_row(
        &self,
        viewer: &Viewer,
        id: Uuid,
    ) -> Result<Option<(i64, Incident)>, AppError> {
        match self.store.incident_by_uid(id).await? {
            Some((row, inc)) if viewer.can_see(&inc.marking) => Ok(Some((row, inc))),
            _ => Ok(None),
        }
    }

    /// One incident as `viewer` sees it, with its original fields; the read is
    /// audited under `path` when it is not TLP:CLEAR.
    pub async fn incident_view(
        &self,
        viewer: &Viewer,
        id: Uuid,
        path: &str,
    ) -> Result<Option<IncidentView>, AppError> {
        let Some(inc) = self.incident(viewer, id).await? else {
            return Ok(None);
        };
        self.audit_read(viewer, "read", path, [(inc.id, inc.marking.tlp)])
            .await?;
        Ok(self.views(viewer, vec![inc], true).await?.pop())
    }

    /// Render incidents as `viewer` may see them: owner organisations
    /// resolved, locations coarsened outside the owner organisation.
    pub async fn views(
        &self,
        viewer: &Viewer,
        incidents: Vec<Incident>,
        with_original: bool,
    ) -> Result<Vec<IncidentView>, AppError> {
        let groups = self.group_names().await?;
        let mut out = Vec::with_capacity(incidents.len());
        for inc in incidents {
            let org = self.org(inc.marking.owner).await?;
            out.push(IncidentView::new(
                inc,
                org.as_ref(),
                viewer,
                &groups,
                with_original,
            ));
        }
        Ok(out)
    }
}
