//! The embedded SQLite backend: one file, WAL mode, a small connection pool.
//!
//! Writers take the database lock at the start of their transaction
//! (`BEGIN IMMEDIATE`); readers never wait for them (WAL). Blocking calls run
//! on tokio's blocking thread pool.

use crate::row::{
    self, CONTENT_ARITY, DbIncident, DbIndexRow, DbMarking, INSERT_ARITY, INSERT_COLUMNS,
    INSERT_HEAD, SELECT_COLUMNS, coarse_columns, date_parse, ids_from_json, ids_json,
    list_from_json, list_json, map_from_json, map_json, ts_parse, ts_text,
};
use crate::{
    AlertFilter, AlertRecord, Backend, CaseRecord, CaseStepRecord, ConvoyRecord, Counters,
    Decision, DeliveryRecord, DeviceRecord, ImportJob, ImportMsg, ImportOutcome, ImportRecord,
    Intake, NewConvoy, NewRoadNetwork, NewSavedRoute, NewWebhook, Org, PositionRecord, ReportLink,
    ReportRecord, Result, RoadNetworkRecord, SavedRouteRecord, Store, StoreError, StoreStats,
    UserChange, WebhookRecord, refused_json,
};
use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use rustc_hash::FxHashMap;
use sahelwatch_core::accounts::{ApiToken, NewUser, Session, SharingGroup, User};
use sahelwatch_core::audit::{AuditEntry, AuditRecord};
use sahelwatch_core::text::fold;
use sahelwatch_core::{GroupId, Incident, IncidentData, Marking, OrgId, Place, UserId};
use sahelwatch_ingest::RowIssue;
use sahelwatch_query::IndexRow;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use uuid::Uuid;

mod accounts;
mod convoys;
mod reports;
mod roads;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// The SQLite store.
pub struct SqliteStore {
    pool: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
}

/// Per-connection settings. `page_size` only affects a new database file
/// (16 KiB pages make bulk imports about 10% faster than the 4 KiB default).
const PRAGMAS: &str = "PRAGMA busy_timeout = 60000;
    PRAGMA page_size = 16384;
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA foreign_keys = ON;
    PRAGMA cache_size = -32768;
    PRAGMA temp_store = MEMORY;";

/// Turn off SQLite's global memory statistics. They take a global mutex on
/// every allocation; sahelwatch never reads them. Must run before the first
/// connection opens, hence once per process.
fn disable_memstatus() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is called before any other SQLite use in this
        // process (the Once runs before the first connection is opened) and with
        // the argument type SQLITE_CONFIG_MEMSTATUS expects (an int).
        unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            );
        }
    });
}

impl SqliteStore {
    /// Open (creating if needed) the database file and apply migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        disable_memstatus();
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            return Err(StoreError::Open(format!(
                "the directory {} does not exist",
                parent.display()
            )));
        }
        let manager = SqliteConnectionManager::file(&path).with_init(|c| c.execute_batch(PRAGMAS));
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .connection_timeout(std::time::Duration::from_secs(60))
            .build(manager)
            .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
        let store = SqliteStore { pool, path };
        store.blocking(migrate).await?;
        Ok(store)
    }

    /// Apply migrations up to and including `version` only (used to build an
    /// old-schema database in upgrade tests).
    pub fn migrate_to(path: &Path, version: i32) -> Result<()> {
        let mut c = Connection::open(path)?;
        c.execute_batch(PRAGMAS)?;
        embedded::migrations::runner()
            .set_target(refinery::Target::Version(version))
            .run(&mut c)
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(())
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = pool.get()?;
            f(&mut c)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("blocking task failed: {e}")))?
    }
}

/// Newest migration version this build knows.
fn known_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| m.version() as i64)
        .max()
        .unwrap_or(0)
}

fn migrate(c: &mut Connection) -> Result<()> {
    let has_history: bool = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'refinery_schema_history'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)?;
    if has_history {
        let found: i64 = c.query_row(
            "SELECT coalesce(max(version), 0) FROM refinery_schema_history",
            [],
            |r| r.get(0),
        )?;
        let known = known_version();
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
    }
    embedded::migrations::runner()
        .run(c)
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(())
}

/// Increment a change counter inside a write transaction and return the new value.
pub(crate) fn bump(tx: &Transaction<'_>, name: &str) -> Result<i64> {
    Ok(tx.query_row(
        "UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value",
        [name],
        |r| r.get(0),
    )?)
}

fn read_incident(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Incident>> {
    let id: i64 = r.get(0)?;
    let uid: Vec<u8> = r.get(1)?;
    let decode = || -> Result<Incident> {
        let uid = Uuid::from_slice(&uid)
            .map_err(|_| StoreError::Corrupt(format!("incident row {id}: bad uid")))?;
        let db = DbIncident {
            id,
            uid,
            dataset: r.get(4)?,
            external_id: r.get(5)?,
            event_date: date_parse(&r.get::<_, String>(6)?)?,
            event_date_end: r
                .get::<_, Option<String>>(7)?
                .map(|s| date_parse(&s))
                .transpose()?,
            time_precision: r.get(8)?,
            sub_event_type: r.get(9)?,
            disorder_type: r.get(10)?,
            actor1: r.get(11)?,
            assoc_actor_1: list_from_json(id, "assoc_actor_1", r.get(12)?)?,
            inter1: r.get(13)?,
            actor2: r.get(14)?,
            assoc_actor_2: list_from_json(id, "assoc_actor_2", r.get(15)?)?,
            inter2: r.get(16)?,
            civilian_targeting: r.get(17)?,
            country: r.get(18)?,
            region: r.get(19)?,
            admin1: r.get(20)?,
            admin2: r.get(21)?,
            admin3: r.get(22)?,
            location: r.get(23)?,
            latitude: r.get(24)?,
            longitude: r.get(25)?,
            geo_precision: r.get(26)?,
            fatalities: r.get(27)?,
            fatalities_low: r.get(28)?,
            fatalities_high: r.get(29)?,
            notes: r.get(30)?,
            sources: list_from_json(id, "sources", r.get(31)?)?,
            source_scale: r.get(32)?,
            tags: list_from_json(id, "tags", r.get(33)?)?,
            source_timestamp: r.get(34)?,
            original: map_from_json(id, r.get(35)?)?,
            created_at: ts_parse(&r.get::<_, String>(36)?)?,
            updated_at: ts_parse(&r.get::<_, String>(37)?)?,
            marking: DbMarking {
                owner_org: r.get(2)?,
                tlp: r.get(3)?,
                sharing_group: r.get(38)?,
                author_user: r.get(39)?,
                recipients: ids_from_json(id, r.get(40)?)?,
                coarsen: r.get(41)?,
                coarse_latitude: r.get(42)?,
                coarse_longitude: r.get(43)?,
            },
        };
        db.into_incident()
    };
    Ok(decode())
}

fn read_index_row(r: &rusqlite::Row<'_>) -> Result<IndexRow> {
    let id: i64 = r.get(0)?;
    DbIndexRow {
        id,
        deleted: r.get(1)?,
        marking: DbMarking {
            owner_org: r.get(2)?,
            tlp: r.get(3)?,
            sharing_group: r.get(16)?,
            author_user: r.get(17)?,
            recipients: ids_from_json(id, r.get(18)?)?,
            coarsen: r.get(19)?,
            coarse_latitude: r.get(20)?,
            coarse_longitude: r.get(21)?,
        },
        dataset: r.get(4)?,
        event_date: date_parse(&r.get::<_, String>(5)?)?,
        sub_event_type: r.get(6)?,
        latitude: r.get(7)?,
        longitude: r.get(8)?,
        country: r.get(9)?,
        admin1: r.get(10)?,
        actor1: r.get(11)?,
        actor2: r.get(12)?,
        assoc_actor_1: list_from_json(id, "assoc_actor_1", r.get(13)?)?,
        assoc_actor_2: list_from_json(id, "assoc_actor_2", r.get(14)?)?,
        fatalities: r.get(15)?,
        updated_at: ts_parse(&r.get::<_, String>(22)?)?,
        geo_precision: r.get(23)?,
        on_road: r.get(24)?,
    }
    .into_index_row()
}

/// Bind the content columns of an incident (positions `offset+1..`) in [`INSERT_COLUMNS`] order,
/// starting at `event_date`. Returns the next free position.
pub(crate) fn bind_content(
    st: &mut rusqlite::Statement<'_>,
    at: usize,
    d: &IncidentData,
    hash: i64,
) -> rusqlite::Result<usize> {
    let l = &d.location;
    let a = &d.actors;
    let mut i = at;
    let mut b = |v: &dyn rusqlite::ToSql| -> rusqlite::Result<()> {
        st.raw_bind_parameter(i, v)?;
        i += 1;
        Ok(())
    };
    b(&d.event_date.to_string())?;
    b(&d.event_date_end.map(|e| e.to_string()))?;
    b(&d.time_precision.get())?;
    b(&d.event_type().label())?;
    b(&d.sub_event_type.label())?;
    b(&d.disorder_type.map(|x| x.label()))?;
    b(&a.actor1)?;
    b(&list_json(&a.assoc_actor_1))?;
    b(&a.inter1.map(|x| x.code()))?;
    b(&a.actor2)?;
    b(&list_json(&a.assoc_actor_2))?;
    b(&a.inter2.map(|x| x.code()))?;
    b(&d.civilian_targeting)?;
    b(&l.country.as_str())?;
    b(&l.region)?;
    b(&l.admin1)?;
    b(&l.admin2)?;
    b(&l.admin3)?;
    b(&l.place)?;
    b(&l.latitude)?;
    b(&l.longitude)?;
    b(&l.geo_precision.get())?;
    b(&d.fatalities.best)?;
    b(&d.fatalities.low)?;
    b(&d.fatalities.high)?;
    b(&d.notes)?;
    b(&list_json(&d.sources))?;
    b(&d.source_scale)?;
    b(&list_json(&d.tags))?;
    b(&d.source_timestamp)?;
    b(&map_json(&d.original))?;
    b(&hash)?;
    Ok(i)
}

fn import_incidents_blocking(
    c: &mut Connection,
    job: ImportJob,
    rx: tokio::sync::mpsc::Receiver<ImportMsg>,
) -> Result<ImportOutcome> {
    // The only foreign key of an incident is its owner, which the caller
    // resolved to an existing organisation: skip the per-row parent lookup.
    // The pragma cannot change inside a transaction, so set it around it.
    // A bulk import also gets a larger page cache (256 MiB instead of 32).
    c.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA cache_size = -262144;")?;
    let result = import_incidents_tx(c, job, rx);
    c.execute_batch("PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768;")?;
    result
}

fn import_incidents_tx(
    c: &mut Connection,
    job: ImportJob,
    mut rx: tokio::sync::mpsc::Receiver<ImportMsg>,
) -> Result<ImportOutcome> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let owner_exists: bool = tx.query_row(
        "SELECT count(*) FROM organisations WHERE id = ?1",
        [job.marking.owner.0],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if !owner_exists {
        return Err(StoreError::Internal(format!(
            "organisation {} does not exist",
            job.marking.owner.0
        )));
    }
    let seq = bump(&tx, "incidents")?;
    let owner = job.marking.owner.0;
    let mut existing: FxHashMap<String, (i64, i64)> = FxHashMap::default();
    {
        let mut st = tx.prepare(
            "SELECT external_id, id, row_hash FROM incidents WHERE owner_org = ?1 AND dataset = ?2",
        )?;
        let mut rows = st.query(params![owner, job.dataset])?;
        while let Some(r) = rows.next()? {
            existing.insert(r.get(0)?, (r.get(1)?, r.get(2)?));
        }
    }
    // Rows are stamped when the write lock is held, so the update times of
    // successive writes follow their commit order (TAXII added_after relies on it).
    let now = ts_text(crate::now_micros());
    let mut out = ImportOutcome::default();
    let finish = {
        let placeholders = (1..=INSERT_ARITY)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut ins = tx.prepare(&format!(
            "INSERT INTO incidents ({INSERT_COLUMNS}) VALUES ({placeholders})"
        ))?;
        // Same content columns as the insert, from event_date on; then the bookkeeping.
        let content_cols: Vec<&str> = INSERT_COLUMNS
            .split(',')
            .map(str::trim)
            .skip(INSERT_HEAD)
            .take(CONTENT_ARITY)
            .collect();
        let sets = content_cols
            .iter()
            .enumerate()
            .map(|(k, c)| format!("{c} = ?{}", k + 1))
            .collect::<Vec<_>>()
            .join(", ");
        let mut upd = tx.prepare(&format!(
            "UPDATE incidents SET {sets}, seq = ?33, tlp = ?34, sharing_group = ?35, author_user = ?36, \
             recipients = ?37, coarsen = ?38, coarse_latitude = ?39, coarse_longitude = ?40, updated_at = ?41, \
             deleted = 0 WHERE id = ?42"
        ))?;
        let mut waiting = std::time::Duration::ZERO;
        let started = std::time::Instant::now();
        let finish = loop {
            let t = std::time::Instant::now();
            let msg = rx.blocking_recv();
            waiting += t.elapsed();
            match msg {
                Some(ImportMsg::Rows(rows)) => {
                    for row in rows {
                        let hash = row.hash_for(&job)?;
                        let d = row.data();
                        let m = row.marking();
                        let tlp = m.tlp.label();
                        let group = m.sharing_group.map(|g| g.0);
                        let author = m.author.map(|a| a.0);
                        let recipients = ids_json(&m.recipients);
                        let coarsen = m.coarsen.label();
                        let key = d.external_id.as_deref().unwrap_or_default();
                        match existing.get(key) {
                            Some(&(_, h)) if h == hash => out.unchanged += 1,
                            Some(&(id, _)) => {
                                let next = bind_content(&mut upd, 1, d, hash)?;
                                debug_assert_eq!(next, 33);
                                let (clat, clon) = coarse_columns(m, row.coarse());
                                upd.raw_bind_parameter(33, seq)?;
                                upd.raw_bind_parameter(34, tlp)?;
                                upd.raw_bind_parameter(35, group)?;
                                upd.raw_bind_parameter(36, author)?;
                                upd.raw_bind_parameter(37, &recipients)?;
                                upd.raw_bind_parameter(38, coarsen)?;
                                upd.raw_bind_parameter(39, clat)?;
                                upd.raw_bind_parameter(40, clon)?;
                                upd.raw_bind_parameter(41, &now)?;
                                upd.raw_bind_parameter(42, id)?;
                                upd.raw_execute()?;
                                out.updated += 1;
                            }
                            None => {
                                let uid = Uuid::now_v7();
                                let (clat, clon) = coarse_columns(m, row.coarse());
                                ins.raw_bind_parameter(1, &uid.as_bytes()[..])?;
                                ins.raw_bind_parameter(2, seq)?;
                                ins.raw_bind_parameter(3, owner)?;
                                ins.raw_bind_parameter(4, tlp)?;
                                ins.raw_bind_parameter(5, group)?;
                                ins.raw_bind_parameter(6, author)?;
                                ins.raw_bind_parameter(7, &recipients)?;
                                ins.raw_bind_parameter(8, coarsen)?;
                                ins.raw_bind_parameter(9, clat)?;
                                ins.raw_bind_parameter(10, clon)?;
                                ins.raw_bind_parameter(11, &d.dataset)?;
                                ins.raw_bind_parameter(12, &d.external_id)?;
                                let next = bind_content(&mut ins, INSERT_HEAD + 1, d, hash)?;
                                ins.raw_bind_parameter(next, &now)?;
                                ins.raw_bind_parameter(next + 1, &now)?;
                                // A second row with the same key in one import (which the
                                // readers already refuse) fails on the unique index.
                                ins.raw_execute()?;
                                out.inserted += 1;
                            }
                        }
                    }
                }
                Some(ImportMsg::Finish {
                    commit,
                    rows_read,
                    refused,
                }) => break Some((commit, rows_read, refused)),
                None => break None,
            }
        };
        tracing::debug!(
            writing_ms = (started.elapsed() - waiting).as_millis() as u64,
            waiting_for_reader_ms = waiting.as_millis() as u64,
            "sqlite import writer"
        );
        finish
    };
    let Some((commit, rows_read, refused)) = finish else {
        // The sender went away without finishing: drop the transaction (rollback).
        return Err(StoreError::ImportInterrupted);
    };
    if !commit {
        return Ok(ImportOutcome {
            import_id: None,
            committed: false,
            ..out
        });
    }
    let id = record_import(&tx, &job, rows_read, &out, &refused)?;
    tx.commit()?;
    Ok(ImportOutcome {
        import_id: Some(id),
        committed: true,
        ..out
    })
}

fn record_import(
    tx: &Transaction<'_>,
    job: &ImportJob,
    rows_read: u64,
    out: &ImportOutcome,
    refused: &[RowIssue],
) -> Result<i64> {
    let gazetteer = job.kind == "gazetteer";
    tx.execute(
        "INSERT INTO imports (kind, source, detected, owner_org, tlp, strict, started_at, finished_at, rows_read,
            inserted, updated, unchanged, refused, refused_rows)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            job.kind,
            job.source,
            job.detected,
            (!gazetteer).then_some(job.marking.owner.0),
            (!gazetteer).then_some(job.marking.tlp.label()),
            job.strict,
            ts_text(job.started_at),
            ts_text(Utc::now()),
            rows_read as i64,
            out.inserted as i64,
            out.updated as i64,
            out.unchanged as i64,
            refused.len() as i64,
            refused_json(refused).to_string(),
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

fn read_place(r: &rusqlite::Row<'_>) -> Result<Place> {
    let id: i64 = r.get(0)?;
    let alternates: String = r.get(3)?;
    let country: Option<String> = r.get(8)?;
    Ok(Place {
        id,
        name: r.get(1)?,
        ascii_name: r.get(2)?,
        alternate_names: alternates
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        latitude: r.get(4)?,
        longitude: r.get(5)?,
        feature_class: r.get(6)?,
        feature_code: r.get(7)?,
        country: match country {
            None => None,
            Some(c) => Some(row::country(id, &c)?),
        },
        admin1_code: r.get(9)?,
        admin2_code: r.get(10)?,
        population: r.get(11)?,
        elevation: r.get(12)?,
        timezone: r.get(13)?,
        modified: r
            .get::<_, Option<String>>(14)?
            .map(|s| date_parse(&s))
            .transpose()?,
    })
}

const PLACE_COLUMNS: &str = "id, name, ascii_name, alternate_names, latitude, longitude, feature_class, feature_code, \
    country, admin1_code, admin2_code, population, elevation, timezone, modified";

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn describe(&self) -> String {
        format!("SQLite {}", self.path.display())
    }

    async fn ensure_org(&self, name: &str) -> Result<crate::Org> {
        let name = name.to_string();
        self.blocking(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found = tx
                .query_row(
                    "SELECT id, uid, name, created_at FROM organisations WHERE name = ?1",
                    [&name],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, Vec<u8>>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    },
                )
                .optional()?;
            let (id, uid, name, created) = match found {
                Some(f) => f,
                None => {
                    let uid = Uuid::now_v7();
                    let now = ts_text(Utc::now());
                    tx.execute(
                        "INSERT INTO organisations (uid, name, created_at) VALUES (?1, ?2, ?3)",
                        params![&uid.as_bytes()[..], name, now],
                    )?;
                    (tx.last_insert_rowid(), uid.as_bytes().to_vec(), name, now)
                }
            };
            tx.commit()?;
            Ok(Org {
                id: OrgId(id),
                uid: Uuid::from_slice(&uid)
                    .map_err(|_| StoreError::Corrupt("organisation uid".into()))?,
                name,
                created_at: ts_parse(&created)?,
            })
        })
        .await
    }

    async fn orgs(&self) -> Result<Vec<Org>> {
        self.blocking(|c| {
            let mut st =
                c.prepare("SELECT id, uid, name, created_at FROM organisations ORDER BY id")?;
            let mut rows = st.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let uid: Vec<u8> = r.get(1)?;
                out.push(Org {
                    id: OrgId(r.get(0)?),
                    uid: Uuid::from_slice(&uid)
                        .map_err(|_| StoreError::Corrupt("organisation uid".into()))?,
                    name: r.get(2)?,
                    created_at: ts_parse(&r.get::<_, String>(3)?)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn import_incidents(
        &self,
        job: ImportJob,
        rx: tokio::sync::mpsc::Receiver<ImportMsg>,
    ) -> Result<ImportOutcome> {
        self.blocking(move |c| import_incidents_blocking(c, job, rx))
            .await
    }

    async fn incident_by_uid(&self, uid: Uuid) -> Result<Option<(i64, Incident)>> {
        self.blocking(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {SELECT_COLUMNS} FROM incidents WHERE uid = ?1 AND deleted = 0"
            ))?;
            let found = st
                .query_row([&uid.as_bytes()[..]], |r| {
                    Ok((r.get::<_, i64>(0)?, read_incident(r)?))
                })
                .optional()?;
            match found {
                None => Ok(None),
                Some((id, inc)) => Ok(Some((id, inc?))),
            }
        })
        .await
    }

    async fn incident_ids_by_key(&self, dataset: &str, external_id: &str) -> Result<Vec<i64>> {
        let (dataset, external_id) = (dataset.to_string(), external_id.to_string());
        self.blocking(move |c| {
            // One probe of the (owner_org, dataset, external_id) index per organisation.
            let mut st = c.prepare_cached(
                "SELECT i.id FROM organisations o JOIN incidents i ON i.owner_org = o.id \
                 AND i.dataset = ?1 AND i.external_id = ?2 WHERE i.deleted = 0 ORDER BY i.id",
            )?;
            let ids = st
                .query_map([&dataset, &external_id], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ids)
        })
        .await
    }

    async fn incidents_by_ids(&self, ids: &[i64]) -> Result<Vec<(i64, Incident)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.to_vec();
        self.blocking(move |c| {
            let json = serde_json::to_string(&ids).unwrap_or_default();
            let mut st = c.prepare_cached(&format!(
                "SELECT {SELECT_COLUMNS} FROM incidents WHERE deleted = 0 AND id IN (SELECT value FROM json_each(?1))"
            ))?;
            let mut by_id: HashMap<i64, Incident> = HashMap::with_capacity(ids.len());
            let mut rows = st.query([json])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                by_id.insert(id, read_incident(r)??);
            }
            Ok(ids
            .iter()
            .filter_map(|id| by_id.remove(id).map(|i| (*id, i)))
            .collect())
        })
        .await
    }

    async fn incident_seq(&self) -> Result<i64> {
        self.blocking(|c| {
            Ok(c.query_row(
                "SELECT value FROM counters WHERE name = 'incidents'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn index_changes(&self, after: i64, upto: i64) -> Result<Vec<IndexRow>> {
        self.blocking(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {} FROM incidents WHERE seq > ?1 AND seq <= ?2",
                row::index_columns()
            ))?;
            let mut rows = st.query(params![after, upto])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(read_index_row(r)?);
            }
            Ok(out)
        })
        .await
    }

    async fn ids_with_text(&self, needle: &str, within: Option<Vec<i64>>) -> Result<HashSet<i64>> {
        let needle = needle.to_string();
        self.blocking(move |c| {
            let mut out = HashSet::new();
            let mut check = |id: i64, notes: &str| {
                if fold(notes).contains(&needle) {
                    out.insert(id);
                }
            };
            match within {
                Some(ids) => {
                    let json = serde_json::to_string(&ids).unwrap_or_default();
                    let mut st = c.prepare(
                        "SELECT id, notes FROM incidents WHERE deleted = 0 AND id IN (SELECT value FROM json_each(?1))",
                    )?;
                    let mut rows = st.query([json])?;
                    while let Some(r) = rows.next()? {
                        check(r.get(0)?, r.get_ref(1)?.as_str().unwrap_or(""));
                    }
                }
                None => {
                    let mut st = c.prepare("SELECT id, notes FROM incidents WHERE deleted = 0")?;
                    let mut rows = st.query([])?;
                    while let Some(r) = rows.next()? {
                        check(r.get(0)?, r.get_ref(1)?.as_str().unwrap_or(""));
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn import_places(
        &self,
        job: ImportJob,
        places: Vec<Place>,
        rows_read: u64,
        refused: Vec<RowIssue>,
    ) -> Result<ImportOutcome> {
        self.blocking(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut out = ImportOutcome::default();
            if job.strict && !refused.is_empty() {
                return Ok(out);
            }
            let seq = bump(&tx, "places")?;
            let existing: HashSet<i64> = {
                let mut st = tx.prepare("SELECT id FROM places")?;
                st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
            };
            {
                let mut st = tx.prepare(&format!(
                    "INSERT INTO places ({PLACE_COLUMNS}, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, ascii_name = excluded.ascii_name,
                        alternate_names = excluded.alternate_names, latitude = excluded.latitude,
                        longitude = excluded.longitude, feature_class = excluded.feature_class,
                        feature_code = excluded.feature_code, country = excluded.country,
                        admin1_code = excluded.admin1_code, admin2_code = excluded.admin2_code,
                        population = excluded.population, elevation = excluded.elevation,
                        timezone = excluded.timezone, modified = excluded.modified, seq = excluded.seq
                     WHERE (name, ascii_name, alternate_names, latitude, longitude, feature_class, feature_code,
                            country, admin1_code, admin2_code, population, elevation, timezone, modified)
                        IS NOT (excluded.name, excluded.ascii_name, excluded.alternate_names, excluded.latitude,
                            excluded.longitude, excluded.feature_class, excluded.feature_code, excluded.country,
                            excluded.admin1_code, excluded.admin2_code, excluded.population, excluded.elevation,
                            excluded.timezone, excluded.modified)
                       AND (excluded.modified IS NULL OR places.modified IS NULL
                            OR excluded.modified >= places.modified)"
                ))?;
                for p in &places {
                    let n = st.execute(params![
                        p.id,
                        p.name,
                        p.ascii_name,
                        p.alternate_names.join(","),
                        p.latitude,
                        p.longitude,
                        p.feature_class,
                        p.feature_code,
                        p.country.map(|c| c.to_string()),
                        p.admin1_code,
                        p.admin2_code,
                        p.population,
                        p.elevation,
                        p.timezone,
                        p.modified.map(|d| d.format("%Y-%m-%d").to_string()),
                        seq,
                    ])?;
                    match (existing.contains(&p.id), n) {
                        (false, _) => out.inserted += 1,
                        (true, 0) => out.unchanged += 1,
                        (true, _) => out.updated += 1,
                    }
                }
            }
            let id = record_import(&tx, &job, rows_read, &out, &refused)?;
            tx.commit()?;
            Ok(ImportOutcome { import_id: Some(id), committed: true, ..out })
        })
        .await
    }

    async fn places(&self) -> Result<Vec<Place>> {
        self.blocking(|c| {
            let mut st = c.prepare(&format!("SELECT {PLACE_COLUMNS} FROM places ORDER BY id"))?;
            let mut rows = st.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(read_place(r)?);
            }
            Ok(out)
        })
        .await
    }

    async fn places_seq(&self) -> Result<i64> {
        self.blocking(|c| {
            Ok(c.query_row(
                "SELECT value FROM counters WHERE name = 'places'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn imports(&self, limit: usize) -> Result<Vec<ImportRecord>> {
        self.blocking(move |c| {
            let mut st = c.prepare(
                "SELECT id, kind, source, detected, owner_org, tlp, strict, started_at, finished_at, rows_read,
                        inserted, updated, unchanged, refused, refused_rows
                 FROM imports ORDER BY id DESC LIMIT ?1",
            )?;
            let mut rows = st.query([limit as i64])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let tlp: Option<String> = r.get(5)?;
                let refused_rows: String = r.get(14)?;
                out.push(ImportRecord {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    source: r.get(2)?,
                    detected: r.get(3)?,
                    owner_org: r.get::<_, Option<i64>>(4)?.map(OrgId),
                    tlp: tlp.map(|t| row::tlp(0, &t)).transpose()?,
                    strict: r.get(6)?,
                    started_at: ts_parse(&r.get::<_, String>(7)?)?,
                    finished_at: ts_parse(&r.get::<_, String>(8)?)?,
                    rows_read: r.get::<_, i64>(9)? as u64,
                    inserted: r.get::<_, i64>(10)? as u64,
                    updated: r.get::<_, i64>(11)? as u64,
                    unchanged: r.get::<_, i64>(12)? as u64,
                    refused: r.get::<_, i64>(13)? as u64,
                    refused_rows: serde_json::from_str(&refused_rows).unwrap_or_default(),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn stats(&self) -> Result<StoreStats> {
        self.blocking(|c| {
            let n = |sql: &str| -> Result<u64> {
                Ok(c.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
            };
            Ok(StoreStats {
                incidents: n("SELECT count(*) FROM incidents WHERE deleted = 0")?,
                places: n("SELECT count(*) FROM places")?,
                organisations: n("SELECT count(*) FROM organisations")?,
                imports: n("SELECT count(*) FROM imports")?,
            })
        })
        .await
    }

    async fn counters(&self) -> Result<Counters> {
        self.blocking(accounts::counters).await
    }

    async fn create_incident(
        &self,
        data: &IncidentData,
        marking: &Marking,
        coarse: (f64, f64),
    ) -> Result<(i64, Uuid)> {
        let (data, marking) = (data.clone(), marking.clone());
        self.blocking(move |c| accounts::create_incident(c, &data, &marking, coarse))
            .await
    }

    async fn update_marking(&self, id: i64, marking: &Marking, coarse: (f64, f64)) -> Result<()> {
        let marking = marking.clone();
        self.blocking(move |c| accounts::update_marking(c, id, &marking, coarse))
            .await
    }

    async fn delete_incident(&self, id: i64) -> Result<()> {
        self.blocking(move |c| accounts::delete_incident(c, id))
            .await
    }

    async fn create_org(&self, name: &str) -> Result<Org> {
        let name = name.to_string();
        self.blocking(move |c| accounts::create_org(c, &name)).await
    }

    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.blocking(move |c| accounts::create_user(c, user)).await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<(User, Option<String>)>> {
        let username = username.to_string();
        self.blocking(move |c| accounts::user_where(c, "username = ?1", &username))
            .await
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        self.blocking(move |c| Ok(accounts::user_where(c, "id = ?1", &id.0)?.map(|u| u.0)))
            .await
    }

    async fn user_by_uid(&self, uid: Uuid) -> Result<Option<User>> {
        self.blocking(move |c| {
            Ok(accounts::user_where(c, "uid = ?1", &uid.as_bytes().to_vec())?.map(|u| u.0))
        })
        .await
    }

    async fn users(&self, org: Option<OrgId>) -> Result<Vec<User>> {
        self.blocking(move |c| accounts::users(c, org)).await
    }

    async fn update_user(&self, id: UserId, change: UserChange) -> Result<()> {
        self.blocking(move |c| accounts::update_user(c, id, change))
            .await
    }

    async fn set_password(&self, id: UserId, password_hash: &str) -> Result<()> {
        let hash = password_hash.to_string();
        self.blocking(move |c| accounts::set_password(c, id, &hash))
            .await
    }

    async fn create_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        prefix: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<ApiToken> {
        let (name, hash, prefix) = (name.to_string(), token_hash.to_string(), prefix.to_string());
        self.blocking(move |c| accounts::create_token(c, user, &name, &hash, &prefix, expires_at))
            .await
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let hash = token_hash.to_string();
        self.blocking(move |c| accounts::token_where(c, "token_hash = ?1", &hash))
            .await
    }

    async fn token_by_uid(&self, uid: Uuid) -> Result<Option<ApiToken>> {
        self.blocking(move |c| accounts::token_where(c, "uid = ?1", &uid.as_bytes().to_vec()))
            .await
    }

    async fn tokens(&self, user: UserId) -> Result<Vec<ApiToken>> {
        self.blocking(move |c| accounts::tokens(c, user)).await
    }

    async fn revoke_token(&self, id: i64) -> Result<()> {
        self.blocking(move |c| accounts::revoke_token(c, id)).await
    }

    async fn create_session(
        &self,
        user: UserId,
        token_hash: &str,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<Session> {
        let (hash, csrf) = (token_hash.to_string(), csrf_token.to_string());
        self.blocking(move |c| accounts::create_session(c, user, &hash, &csrf, expires_at))
            .await
    }

    async fn session_by_hash(&self, token_hash: &str) -> Result<Option<Session>> {
        let hash = token_hash.to_string();
        self.blocking(move |c| accounts::session_by_hash(c, &hash))
            .await
    }

    async fn revoke_session(&self, id: i64) -> Result<()> {
        self.blocking(move |c| accounts::revoke_session(c, id))
            .await
    }

    async fn create_group(&self, name: &str, owner: OrgId) -> Result<SharingGroup> {
        let name = name.to_string();
        self.blocking(move |c| accounts::create_group(c, &name, owner))
            .await
    }

    async fn set_group_member(&self, group: GroupId, org: OrgId, member: bool) -> Result<()> {
        self.blocking(move |c| accounts::set_group_member(c, group, org, member))
            .await
    }

    async fn groups(&self) -> Result<Vec<SharingGroup>> {
        self.blocking(accounts::groups).await
    }

    async fn append_audit(&self, entries: Vec<AuditEntry>) -> Result<()> {
        self.blocking(move |c| accounts::append_audit(c, entries))
            .await
    }

    async fn audit(
        &self,
        org: Option<OrgId>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>> {
        self.blocking(move |c| accounts::audit(c, org, after, limit))
            .await
    }

    async fn put_road_network(&self, network: &NewRoadNetwork) -> Result<RoadNetworkRecord> {
        let network = network.clone();
        self.blocking(move |c| roads::put(c, &network)).await
    }

    async fn road_networks(&self) -> Result<Vec<RoadNetworkRecord>> {
        self.blocking(|c| roads::list(c)).await
    }

    async fn road_network_data(&self, id: i64) -> Result<Option<Vec<u8>>> {
        self.blocking(move |c| roads::data(c, id)).await
    }

    async fn put_saved_route(&self, route: &NewSavedRoute) -> Result<SavedRouteRecord> {
        let route = route.clone();
        self.blocking(move |c| roads::put_route(c, &route)).await
    }

    async fn saved_routes(&self, org: OrgId) -> Result<Vec<SavedRouteRecord>> {
        self.blocking(move |c| roads::routes(c, org, None)).await
    }

    async fn saved_route(&self, org: OrgId, id: i64) -> Result<Option<SavedRouteRecord>> {
        self.blocking(move |c| Ok(roads::routes(c, org, Some(id))?.pop()))
            .await
    }

    async fn delete_saved_route(&self, org: OrgId, id: i64) -> Result<bool> {
        self.blocking(move |c| roads::delete_route(c, org, id))
            .await
    }

    async fn create_convoy(&self, convoy: &NewConvoy) -> Result<ConvoyRecord> {
        let convoy = convoy.clone();
        self.blocking(move |c| convoys::create(c, &convoy)).await
    }

    async fn convoys(&self) -> Result<Vec<ConvoyRecord>> {
        self.blocking(|c| convoys::convoys_where(c, "1 = 1", &[]))
            .await
    }

    async fn convoy(&self, id: i64) -> Result<Option<ConvoyRecord>> {
        self.blocking(move |c| Ok(convoys::convoys_where(c, "id = ?1", &[&id])?.pop()))
            .await
    }

    async fn convoy_by_uid(&self, uid: Uuid) -> Result<Option<ConvoyRecord>> {
        self.blocking(move |c| {
            Ok(convoys::convoys_where(c, "uid = ?1", &[&uid.as_bytes().to_vec()])?.pop())
        })
        .await
    }

    async fn end_convoy(&self, id: i64, at_ms: i64) -> Result<bool> {
        self.blocking(move |c| convoys::end(c, id, at_ms)).await
    }

    async fn devices(&self) -> Result<Vec<DeviceRecord>> {
        self.blocking(|c| convoys::devices(c)).await
    }

    async fn record_intake(&self, intake: &Intake) -> Result<Vec<i64>> {
        let intake = intake.clone();
        self.blocking(move |c| convoys::record(c, &intake)).await
    }

    async fn positions(
        &self,
        convoy: i64,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<PositionRecord>> {
        self.blocking(move |c| convoys::positions(c, convoy, from_ms, to_ms, limit))
            .await
    }

    async fn positions_received(
        &self,
        convoy: i64,
        from_received_ms: i64,
    ) -> Result<Vec<PositionRecord>> {
        self.blocking(move |c| convoys::positions_received(c, convoy, from_received_ms))
            .await
    }

    async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertRecord>> {
        let filter = filter.clone();
        self.blocking(move |c| convoys::alerts(c, &filter)).await
    }

    async fn alert(&self, id: i64) -> Result<Option<AlertRecord>> {
        self.blocking(move |c| convoys::alert(c, id)).await
    }

    async fn ack_alert(
        &self,
        id: i64,
        by: Option<UserId>,
        at_ms: i64,
        note: Option<&str>,
    ) -> Result<bool> {
        let note = note.map(str::to_string);
        self.blocking(move |c| convoys::ack(c, id, by, at_ms, note.as_deref()))
            .await
    }

    async fn create_webhook(&self, hook: &NewWebhook) -> Result<WebhookRecord> {
        let hook = hook.clone();
        self.blocking(move |c| convoys::create_hook(c, &hook)).await
    }

    async fn webhooks(&self, org: Option<OrgId>) -> Result<Vec<WebhookRecord>> {
        self.blocking(move |c| convoys::hooks(c, org)).await
    }

    async fn delete_webhook(&self, org: OrgId, id: i64) -> Result<bool> {
        self.blocking(move |c| convoys::delete_hook(c, org, id))
            .await
    }

    async fn due_deliveries(&self, now_ms: i64, limit: usize) -> Result<Vec<DeliveryRecord>> {
        self.blocking(move |c| convoys::due(c, now_ms, limit)).await
    }

    async fn update_delivery(&self, d: &DeliveryRecord) -> Result<()> {
        let d = d.clone();
        self.blocking(move |c| convoys::update_delivery(c, &d))
            .await
    }

    async fn deliveries(&self, webhook: i64, limit: usize) -> Result<Vec<DeliveryRecord>> {
        self.blocking(move |c| convoys::deliveries(c, webhook, limit))
            .await
    }

    async fn create_report(&self, report: &ReportRecord) -> Result<i64> {
        let report = report.clone();
        self.blocking(move |c| reports::create_report(c, &report))
            .await
    }

    async fn report_by_uid(&self, uid: Uuid) -> Result<Option<ReportRecord>> {
        self.blocking(move |c| {
            Ok(reports::reports_where(c, "uid = ?1", &[&uid.as_bytes().to_vec()])?.pop())
        })
        .await
    }

    async fn reports_by_ids(&self, ids: &[i64]) -> Result<Vec<ReportRecord>> {
        let ids = ids.to_vec();
        self.blocking(move |c| reports::reports_by_ids(c, &ids))
            .await
    }

    async fn reports(&self, after: i64, limit: usize) -> Result<Vec<ReportRecord>> {
        self.blocking(move |c| {
            reports::reports_where(
                c,
                "id > ?1 ORDER BY id LIMIT ?2",
                &[&after, &(limit as i64)],
            )
        })
        .await
    }

    async fn decide(&self, decision: Decision) -> Result<Option<i64>> {
        self.blocking(move |c| reports::decide(c, decision)).await
    }

    async fn links(&self, report: Option<i64>, incident: Option<i64>) -> Result<Vec<ReportLink>> {
        self.blocking(move |c| reports::links(c, report, incident))
            .await
    }

    async fn case_by_uid(&self, uid: Uuid) -> Result<Option<CaseRecord>> {
        self.blocking(move |c| reports::case_one(c, "uid = ?1", &[&uid.as_bytes().to_vec()]))
            .await
    }

    async fn case_by_incident(&self, incident: i64) -> Result<Option<CaseRecord>> {
        self.blocking(move |c| reports::case_one(c, "incident_id = ?1", &[&incident]))
            .await
    }

    async fn cases(&self, after: i64, limit: usize) -> Result<Vec<CaseRecord>> {
        self.blocking(move |c| {
            reports::cases_where(
                c,
                "id > ?1 ORDER BY id LIMIT ?2",
                &[&after, &(limit as i64)],
            )
        })
        .await
    }

    async fn case_steps(&self, cases: &[i64]) -> Result<Vec<CaseStepRecord>> {
        let cases = cases.to_vec();
        self.blocking(move |c| reports::case_steps(c, &cases)).await
    }
}
