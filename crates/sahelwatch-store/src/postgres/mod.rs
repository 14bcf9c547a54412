//! The PostgreSQL + PostGIS backend, for deployments where several
//! `sahelwatch serve` instances share one database.
//!
//! New incidents are loaded with binary `COPY`; every incident write
//! transaction first increments the `incidents` counter row, which holds a
//! row lock until commit and so serialises incident writers (see the crate
//! documentation for why readers rely on that). Each incident also gets a
//! PostGIS point (`geom`, GiST-indexed) for GIS tools.

use crate::row::{
    CONTENT_ARITY, DbIncident, DbIndexRow, DbMarking, INSERT_COLUMNS, INSERT_HEAD, SELECT_COLUMNS,
    coarse_columns,
};
use crate::{
    AlertFilter, AlertRecord, Backend, CaseRecord, CaseStepRecord, ConvoyRecord, Counters,
    Decision, DeliveryRecord, DeviceRecord, ImportJob, ImportMsg, ImportOutcome, ImportRecord,
    Intake, NewConvoy, NewRoadNetwork, NewSavedRoute, NewWebhook, Org, PositionRecord, ReportLink,
    ReportRecord, Result, RoadNetworkRecord, SavedRouteRecord, Store, StoreError, StoreStats,
    UserChange, WebhookRecord, refused_json, row,
};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::{StreamExt, pin_mut};
use rustc_hash::FxHashMap;
use sahelwatch_core::accounts::{ApiToken, NewUser, Session, SharingGroup, User};
use sahelwatch_core::audit::{AuditEntry, AuditRecord};
use sahelwatch_core::text::fold;
use sahelwatch_core::{GroupId, Incident, IncidentData, Marking, OrgId, Place, UserId};
use sahelwatch_ingest::RowIssue;
use sahelwatch_query::IndexRow;
use std::collections::{BTreeMap, HashMap, HashSet};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{Json, ToSql, Type};
use tokio_postgres::{NoTls, Row};
use uuid::Uuid;

mod accounts;
mod convoys;
mod reports;
mod roads;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Key of the advisory lock that serialises migrations across instances.
const MIGRATION_LOCK: i64 = 0x5a4e_4c57_0001;

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
    describe: String,
}

fn pool_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::PostgresPool(e.to_string())
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(cfg) => {
            let host = cfg
                .get_hosts()
                .first()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(s) => s.clone(),
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .unwrap_or_default();
            let port = cfg.get_ports().first().copied().unwrap_or(5432);
            format!(
                "postgres://{}@{}:{}/{}",
                cfg.get_user().unwrap_or(""),
                host,
                port,
                cfg.get_dbname().unwrap_or("")
            )
        }
        Err(_) => "postgres://(unparseable URL)".into(),
    }
}

impl PgStore {
    /// Connect, check PostGIS is available, and apply migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let cfg: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Open(format!("{}: {e}", redact(url))))?;
        let mgr = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr).max_size(16).build().map_err(pool_err)?;
        let store = PgStore {
            pool,
            describe: format!("PostgreSQL {}", redact(url)),
        };
        let mut client = store
            .pool
            .get()
            .await
            .map_err(|e| StoreError::Open(format!("{}: {e}", redact(url))))?;
        let postgis = client
            .query_opt(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'",
                &[],
            )
            .await?;
        if postgis.is_none() {
            return Err(StoreError::Open(
                "PostGIS is not installed on this PostgreSQL server (Debian: apt-get install postgresql-15-postgis-3)".into(),
            ));
        }
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let migrated = migrate(&mut client).await;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await?;
        migrated?;
        drop(client);
        Ok(store)
    }

    /// Apply migrations up to and including `version` only (for upgrade tests).
    pub async fn migrate_to(url: &str, version: i32) -> Result<()> {
        let (mut client, conn) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(conn);
        embedded::migrations::runner()
            .set_target(refinery::Target::Version(version))
            .run_async(&mut client)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(())
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_err)
    }
}

async fn migrate(client: &mut deadpool_postgres::Object) -> Result<()> {
    let has_history = client
        .query_one(
            "SELECT to_regclass('refinery_schema_history') IS NOT NULL",
            &[],
        )
        .await?
        .get::<_, bool>(0);
    if has_history {
        let found: i64 = client
            .query_one(
                "SELECT coalesce(max(version), 0)::bigint FROM refinery_schema_history",
                &[],
            )
            .await?
            .get(0);
        let known = embedded::migrations::runner()
            .get_migrations()
            .iter()
            .map(|m| m.version() as i64)
            .max()
            .unwrap_or(0);
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
    }
    let inner: &mut tokio_postgres::Client = client.as_mut();
    embedded::migrations::runner()
        .run_async(inner)
        .await
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(())
}

fn list(v: &[String]) -> Option<Json<&[String]>> {
    (!v.is_empty()).then_some(Json(v))
}

fn json_list(id: i64, r: &Row, i: usize) -> Result<Vec<String>> {
    let v: Option<Json<Vec<String>>> = r
        .try_get(i)
        .map_err(|e| StoreError::Corrupt(format!("incident row {id}: column {i}: {e}")))?;
    Ok(v.map(|j| j.0).unwrap_or_default())
}

fn to_i32(v: u32, what: &str) -> Result<i32> {
    i32::try_from(v)
        .map_err(|_| StoreError::Internal(format!("{what} {v} does not fit a 32-bit integer")))
}

/// The marking columns: owner and TLP at `owner`/`tlp`, then sharing group,
/// author, recipients, coarsen, coarse latitude and longitude from `rest`.
fn read_marking(id: i64, r: &Row, owner: usize, tlp: usize, rest: usize) -> Result<DbMarking> {
    let recipients: Option<Json<Vec<i64>>> = r
        .try_get(rest + 2)
        .map_err(|e| StoreError::Corrupt(format!("incident row {id}: recipients: {e}")))?;
    Ok(DbMarking {
        owner_org: r.get(owner),
        tlp: r.get(tlp),
        sharing_group: r.get(rest),
        author_user: r.get(rest + 1),
        recipients: recipients.map(|j| j.0).unwrap_or_default(),
        coarsen: r.get(rest + 3),
        coarse_latitude: r.get(rest + 4),
        coarse_longitude: r.get(rest + 5),
    })
}

fn read_incident(r: &Row) -> Result<Incident> {
    let id: i64 = r.get(0);
    let original: Option<Json<BTreeMap<String, String>>> = r.get(35);
    DbIncident {
        id,
        uid: r.get(1),
        dataset: r.get(4),
        external_id: r.get(5),
        event_date: r.get(6),
        event_date_end: r.get(7),
        time_precision: r.get::<_, i16>(8) as i64,
        sub_event_type: r.get(9),
        disorder_type: r.get(10),
        actor1: r.get(11),
        assoc_actor_1: json_list(id, r, 12)?,
        inter1: r.get::<_, Option<i16>>(13).map(i64::from),
        actor2: r.get(14),
        assoc_actor_2: json_list(id, r, 15)?,
        inter2: r.get::<_, Option<i16>>(16).map(i64::from),
        civilian_targeting: r.get(17),
        country: r.get(18),
        region: r.get(19),
        admin1: r.get(20),
        admin2: r.get(21),
        admin3: r.get(22),
        location: r.get(23),
        latitude: r.get(24),
        longitude: r.get(25),
        geo_precision: r.get::<_, i16>(26) as i64,
        fatalities: r.get::<_, i32>(27) as i64,
        fatalities_low: r.get::<_, Option<i32>>(28).map(i64::from),
        fatalities_high: r.get::<_, Option<i32>>(29).map(i64::from),
        notes: r.get(30),
        sources: json_list(id, r, 31)?,
        source_scale: r.get(32),
        tags: json_list(id, r, 33)?,
        source_timestamp: r.get(34),
        original: original.map(|j| j.0).unwrap_or_default(),
        created_at: r.get(36),
        updated_at: r.get(37),
        marking: read_marking(id, r, 2, 3, 38)?,
    }
    .into_incident()
}

fn read_index_row(r: &Row) -> Result<IndexRow> {
    let id: i64 = r.get(0);
    DbIndexRow {
        id,
        deleted: r.get(1),
        marking: read_marking(id, r, 2, 3, 16)?,
        dataset: r.get(4),
        event_date: r.get(5),
        sub_event_type: r.get(6),
        latitude: r.get(7),
        longitude: r.get(8),
        country: r.get(9),
        admin1: r.get(10),
        actor1: r.get(11),
        actor2: r.get(12),
        assoc_actor_1: json_list(id, r, 13)?,
        assoc_actor_2: json_list(id, r, 14)?,
        fatalities: r.get::<_, i32>(15) as i64,
        updated_at: r.get(22),
        geo_precision: r.get::<_, i16>(23) as i64,
        on_road: r.get(24),
    }
    .into_index_row()
}

/// Column types of [`INSERT_COLUMNS`], for binary COPY.
pub(crate) const INSERT_TYPES: [Type; 46] = [
    Type::UUID,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::JSONB,
    Type::TEXT,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::TEXT,
    Type::TEXT,
    Type::DATE,
    Type::DATE,
    Type::INT2,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::JSONB,
    Type::INT2,
    Type::TEXT,
    Type::JSONB,
    Type::INT2,
    Type::BOOL,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::INT2,
    Type::INT4,
    Type::INT4,
    Type::INT4,
    Type::TEXT,
    Type::JSONB,
    Type::TEXT,
    Type::JSONB,
    Type::INT8,
    Type::JSONB,
    Type::INT8,
    Type::TIMESTAMPTZ,
    Type::TIMESTAMPTZ,
];

/// The marking columns of one row, owned, for binding.
struct MarkingColumns {
    tlp: &'static str,
    group: Option<i64>,
    author: Option<i64>,
    recipients: Option<Json<Vec<i64>>>,
    coarsen: &'static str,
    coarse: (Option<f64>, Option<f64>),
}

impl MarkingColumns {
    fn new(m: &sahelwatch_core::Marking, coarse: (f64, f64)) -> MarkingColumns {
        MarkingColumns {
            tlp: m.tlp.label(),
            group: m.sharing_group.map(|g| g.0),
            author: m.author.map(|a| a.0),
            recipients: (!m.recipients.is_empty())
                .then(|| Json(m.recipients.iter().map(|u| u.0).collect())),
            coarsen: m.coarsen.label(),
            coarse: coarse_columns(m, coarse),
        }
    }
}

/// The content values of an incident, owned, in [`INSERT_COLUMNS`] order from `event_date`.
pub(crate) struct Content<'a> {
    event_date: NaiveDate,
    event_date_end: Option<NaiveDate>,
    time_precision: i16,
    event_type: &'static str,
    sub_event_type: &'static str,
    disorder_type: Option<&'static str>,
    assoc1: Option<Json<&'a [String]>>,
    inter1: Option<i16>,
    assoc2: Option<Json<&'a [String]>>,
    inter2: Option<i16>,
    country: &'a str,
    geo_precision: i16,
    fatalities: i32,
    low: Option<i32>,
    high: Option<i32>,
    sources: Option<Json<&'a [String]>>,
    tags: Option<Json<&'a [String]>>,
    original: Option<Json<&'a BTreeMap<String, String>>>,
    hash: i64,
    d: &'a IncidentData,
}

impl<'a> Content<'a> {
    pub(crate) fn new(d: &'a IncidentData, hash: i64) -> Result<Self> {
        Ok(Content {
            event_date: d.event_date,
            event_date_end: d.event_date_end,
            time_precision: d.time_precision.get() as i16,
            event_type: d.event_type().label(),
            sub_event_type: d.sub_event_type.label(),
            disorder_type: d.disorder_type.map(|x| x.label()),
            assoc1: list(&d.actors.assoc_actor_1),
            inter1: d.actors.inter1.map(|x| x.code() as i16),
            assoc2: list(&d.actors.assoc_actor_2),
            inter2: d.actors.inter2.map(|x| x.code() as i16),
            country: d.location.country.as_str(),
            geo_precision: d.location.geo_precision.get() as i16,
            fatalities: to_i32(d.fatalities.best, "fatalities")?,
            low: d
                .fatalities
                .low
                .map(|v| to_i32(v, "fatalities_low"))
                .transpose()?,
            high: d
                .fatalities
                .high
                .map(|v| to_i32(v, "fatalities_high"))
                .transpose()?,
            sources: list(&d.sources),
            tags: list(&d.tags),
            original: (!d.original.is_empty()).then_some(Json(&d.original)),
            hash,
            d,
        })
    }

    pub(crate) fn values(&self) -> [&(dyn ToSql + Sync); 32] {
        let d = self.d;
        let l = &d.location;
        [
            &self.event_date,
            &self.event_date_end,
            &self.time_precision,
            &self.event_type,
            &self.sub_event_type,
            &self.disorder_type,
            &d.actors.actor1,
            &self.assoc1,
            &self.inter1,
            &d.actors.actor2,
            &self.assoc2,
            &self.inter2,
            &d.civilian_targeting,
            &self.country,
            &l.region,
            &l.admin1,
            &l.admin2,
            &l.admin3,
            &l.place,
            &l.latitude,
            &l.longitude,
            &self.geo_precision,
            &self.fatalities,
            &self.low,
            &self.high,
            &d.notes,
            &self.sources,
            &d.source_scale,
            &self.tags,
            &d.source_timestamp,
            &self.original,
            &self.hash,
        ]
    }
}

async fn record_import(
    tx: &deadpool_postgres::Transaction<'_>,
    job: &ImportJob,
    rows_read: u64,
    out: &ImportOutcome,
    refused: &[RowIssue],
) -> Result<i64> {
    let gazetteer = job.kind == "gazetteer";
    let row = tx
        .query_one(
            "INSERT INTO imports (kind, source, detected, owner_org, tlp, strict, started_at, finished_at, rows_read,
                inserted, updated, unchanged, refused, refused_rows)
             VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8, $9, $10, $11, $12, $13) RETURNING id",
            &[
                &job.kind,
                &job.source,
                &job.detected,
                &(!gazetteer).then_some(job.marking.owner.0),
                &(!gazetteer).then_some(job.marking.tlp.label()),
                &job.strict,
                &job.started_at,
                &(rows_read as i64),
                &(out.inserted as i64),
                &(out.updated as i64),
                &(out.unchanged as i64),
                &(refused.len() as i64),
                &Json(refused_json(refused)),
            ],
        )
        .await?;
    Ok(row.get(0))
}

const PLACE_COLUMNS: &str = "id, name, ascii_name, alternate_names, latitude, longitude, feature_class, feature_code, \
    country, admin1_code, admin2_code, population, elevation, timezone, modified";

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    async fn ensure_org(&self, name: &str) -> Result<Org> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "WITH ins AS (
                    INSERT INTO organisations (uid, name, created_at) VALUES ($1, $2, now())
                    ON CONFLICT (name) DO NOTHING RETURNING id, uid, name, created_at)
                 SELECT id, uid, name, created_at FROM ins
                 UNION ALL SELECT id, uid, name, created_at FROM organisations WHERE name = $2
                 LIMIT 1",
                &[&Uuid::now_v7(), &name],
            )
            .await?;
        Ok(Org {
            id: OrgId(row.get(0)),
            uid: row.get(1),
            name: row.get(2),
            created_at: row.get(3),
        })
    }

    async fn orgs(&self) -> Result<Vec<Org>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, uid, name, created_at FROM organisations ORDER BY id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Org {
                id: OrgId(r.get(0)),
                uid: r.get(1),
                name: r.get(2),
                created_at: r.get(3),
            })
            .collect())
    }

    async fn import_incidents(
        &self,
        job: ImportJob,
        mut rx: tokio::sync::mpsc::Receiver<ImportMsg>,
    ) -> Result<ImportOutcome> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let seq: i64 = tx
            .query_one(
                "UPDATE counters SET value = value + 1 WHERE name = 'incidents' RETURNING value",
                &[],
            )
            .await?
            .get(0);
        let owner = job.marking.owner.0;
        // Row id -1 marks a row inserted by this import (COPY does not return ids).
        let mut existing: FxHashMap<String, (i64, i64)> = FxHashMap::default();
        for r in tx
            .query(
                "SELECT external_id, id, row_hash FROM incidents WHERE owner_org = $1 AND dataset = $2",
                &[&owner, &job.dataset],
            )
            .await?
        {
            existing.insert(r.get(0), (r.get(1), r.get(2)));
        }
        let content_cols: Vec<&str> = INSERT_COLUMNS
            .split(',')
            .map(str::trim)
            .skip(INSERT_HEAD)
            .take(CONTENT_ARITY)
            .collect();
        let sets = content_cols
            .iter()
            .enumerate()
            .map(|(k, c)| format!("{c} = ${}", k + 1))
            .collect::<Vec<_>>()
            .join(", ");
        let upd = tx
            .prepare(&format!(
                "UPDATE incidents SET {sets}, seq = $33, tlp = $34, sharing_group = $35, author_user = $36, \
                 recipients = $37, coarsen = $38, coarse_latitude = $39, coarse_longitude = $40, updated_at = $41, \
                 deleted = false WHERE id = $42"
            ))
            .await?;
        let copy_sql = format!("COPY incidents ({INSERT_COLUMNS}) FROM STDIN (FORMAT binary)");
        // Stamped once the counter row is locked: update times follow commit order.
        let now = crate::now_micros();
        let mut out = ImportOutcome::default();
        let finish = loop {
            match rx.recv().await {
                Some(ImportMsg::Rows(rows)) => {
                    let mut fresh: Vec<(IncidentData, i64, MarkingColumns)> = Vec::new();
                    for row in rows {
                        let hash = row.hash_for(&job)?;
                        let mc = MarkingColumns::new(row.marking(), row.coarse());
                        let d = row.into_data();
                        let key = d.external_id.clone().unwrap_or_default();
                        match existing.get(&key).copied() {
                            Some((_, h)) if h == hash => out.unchanged += 1,
                            Some((-1, _)) => {
                                return Err(StoreError::Internal(format!(
                                    "external id {key} appears twice in one import"
                                )));
                            }
                            Some((id, _)) => {
                                let content = Content::new(&d, hash)?;
                                let mut values: Vec<&(dyn ToSql + Sync)> =
                                    content.values().to_vec();
                                values.extend_from_slice(&[
                                    &seq,
                                    &mc.tlp,
                                    &mc.group,
                                    &mc.author,
                                    &mc.recipients,
                                    &mc.coarsen,
                                    &mc.coarse.0,
                                    &mc.coarse.1,
                                    &now,
                                    &id,
                                ]);
                                tx.execute(&upd, &values).await?;
                                existing.insert(key, (id, hash));
                                out.updated += 1;
                            }
                            None => {
                                existing.insert(key, (-1, hash));
                                fresh.push((d, hash, mc));
                            }
                        }
                    }
                    if !fresh.is_empty() {
                        let sink = tx.copy_in(&copy_sql).await?;
                        let writer = BinaryCopyInWriter::new(sink, &INSERT_TYPES);
                        pin_mut!(writer);
                        for (d, hash, mc) in &fresh {
                            let content = Content::new(d, *hash)?;
                            let uid = Uuid::now_v7();
                            let mut values: Vec<&(dyn ToSql + Sync)> = vec![
                                &uid,
                                &seq,
                                &owner,
                                &mc.tlp,
                                &mc.group,
                                &mc.author,
                                &mc.recipients,
                                &mc.coarsen,
                                &mc.coarse.0,
                                &mc.coarse.1,
                                &d.dataset,
                                &d.external_id,
                            ];
                            values.extend_from_slice(&content.values());
                            values.push(&now);
                            values.push(&now);
                            writer.as_mut().write(&values).await?;
                        }
                        writer.finish().await?;
                        out.inserted += fresh.len() as u64;
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
        let Some((commit, rows_read, refused)) = finish else {
            tx.rollback().await?;
            return Err(StoreError::ImportInterrupted);
        };
        if !commit {
            tx.rollback().await?;
            return Ok(ImportOutcome {
                import_id: None,
                committed: false,
                ..out
            });
        }
        let id = record_import(&tx, &job, rows_read, &out, &refused).await?;
        tx.commit().await?;
        Ok(ImportOutcome {
            import_id: Some(id),
            committed: true,
            ..out
        })
    }

    async fn incident_by_uid(&self, uid: Uuid) -> Result<Option<(i64, Incident)>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {SELECT_COLUMNS} FROM incidents WHERE uid = $1 AND NOT deleted"),
                &[&uid],
            )
            .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((r.get(0), read_incident(&r)?))),
        }
    }

    async fn incident_ids_by_key(&self, dataset: &str, external_id: &str) -> Result<Vec<i64>> {
        let c = self.client().await?;
        // One probe of the (owner_org, dataset, external_id) index per organisation.
        let rows = c
            .query(
                "SELECT i.id FROM organisations o JOIN incidents i ON i.owner_org = o.id \
                 AND i.dataset = $1 AND i.external_id = $2 WHERE NOT i.deleted ORDER BY i.id",
                &[&dataset, &external_id],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn incidents_by_ids(&self, ids: &[i64]) -> Result<Vec<(i64, Incident)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {SELECT_COLUMNS} FROM incidents WHERE NOT deleted AND id = ANY($1)"
                ),
                &[&ids],
            )
            .await?;
        let mut by_id: HashMap<i64, Incident> = HashMap::with_capacity(rows.len());
        for r in &rows {
            by_id.insert(r.get(0), read_incident(r)?);
        }
        Ok(ids
            .iter()
            .filter_map(|id| by_id.remove(id).map(|i| (*id, i)))
            .collect())
    }

    async fn incident_seq(&self) -> Result<i64> {
        let c = self.client().await?;
        Ok(
            c.query_one("SELECT value FROM counters WHERE name = 'incidents'", &[])
                .await?
                .get(0),
        )
    }

    async fn index_changes(&self, after: i64, upto: i64) -> Result<Vec<IndexRow>> {
        let c = self.client().await?;
        let stream = c
            .query_raw(
                &format!(
                    "SELECT {} FROM incidents WHERE seq > $1 AND seq <= $2",
                    row::index_columns()
                ),
                [&after as &(dyn ToSql + Sync), &upto],
            )
            .await?;
        pin_mut!(stream);
        let mut out = Vec::new();
        while let Some(r) = stream.next().await {
            out.push(read_index_row(&r?)?);
        }
        Ok(out)
    }

    async fn ids_with_text(&self, needle: &str, within: Option<Vec<i64>>) -> Result<HashSet<i64>> {
        let c = self.client().await?;
        let mut out = HashSet::new();
        let stream = match &within {
            Some(ids) => {
                c.query_raw(
                    "SELECT id, notes FROM incidents WHERE NOT deleted AND id = ANY($1)",
                    [ids as &(dyn ToSql + Sync)],
                )
                .await?
            }
            None => {
                c.query_raw(
                    "SELECT id, notes FROM incidents WHERE NOT deleted",
                    std::iter::empty::<&(dyn ToSql + Sync)>(),
                )
                .await?
            }
        };
        pin_mut!(stream);
        while let Some(r) = stream.next().await {
            let r = r?;
            let notes: &str = r.get(1);
            if fold(notes).contains(needle) {
                out.insert(r.get(0));
            }
        }
        Ok(out)
    }

    async fn import_places(
        &self,
        job: ImportJob,
        places: Vec<Place>,
        rows_read: u64,
        refused: Vec<RowIssue>,
    ) -> Result<ImportOutcome> {
        let mut out = ImportOutcome::default();
        if job.strict && !refused.is_empty() {
            return Ok(out);
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let seq: i64 = tx
            .query_one(
                "UPDATE counters SET value = value + 1 WHERE name = 'places' RETURNING value",
                &[],
            )
            .await?
            .get(0);
        tx.batch_execute("CREATE TEMP TABLE places_in (LIKE places) ON COMMIT DROP;")
            .await?;
        let types = [
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::FLOAT8,
            Type::FLOAT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::INT4,
            Type::TEXT,
            Type::DATE,
            Type::INT8,
        ];
        {
            let sink = tx
                .copy_in(&format!(
                    "COPY places_in ({PLACE_COLUMNS}, seq) FROM STDIN (FORMAT binary)"
                ))
                .await?;
            let writer = BinaryCopyInWriter::new(sink, &types);
            pin_mut!(writer);
            // A later line wins when a file repeats a GeoNames id, as the SQLite upsert does.
            let mut last: HashMap<i64, usize> = HashMap::with_capacity(places.len());
            for (i, p) in places.iter().enumerate() {
                last.insert(p.id, i);
            }
            for (i, p) in places.iter().enumerate() {
                if last.get(&p.id) != Some(&i) {
                    continue;
                }
                let alternates = p.alternate_names.join(",");
                let country = p.country.map(|c| c.to_string());
                writer
                    .as_mut()
                    .write(&[
                        &p.id,
                        &p.name,
                        &p.ascii_name,
                        &alternates,
                        &p.latitude,
                        &p.longitude,
                        &p.feature_class,
                        &p.feature_code,
                        &country,
                        &p.admin1_code,
                        &p.admin2_code,
                        &p.population,
                        &p.elevation,
                        &p.timezone,
                        &p.modified,
                        &seq,
                    ])
                    .await?;
            }
            writer.finish().await?;
        }
        let total: i64 = tx
            .query_one("SELECT count(*) FROM places_in", &[])
            .await?
            .get(0);
        let changed = tx
            .query(
                &format!(
                    "INSERT INTO places ({PLACE_COLUMNS}, seq) SELECT {PLACE_COLUMNS}, seq FROM places_in
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, ascii_name = excluded.ascii_name,
                        alternate_names = excluded.alternate_names, latitude = excluded.latitude,
                        longitude = excluded.longitude, feature_class = excluded.feature_class,
                        feature_code = excluded.feature_code, country = excluded.country,
                        admin1_code = excluded.admin1_code, admin2_code = excluded.admin2_code,
                        population = excluded.population, elevation = excluded.elevation,
                        timezone = excluded.timezone, modified = excluded.modified, seq = excluded.seq
                     WHERE (places.name, places.ascii_name, places.alternate_names, places.latitude, places.longitude,
                            places.feature_class, places.feature_code, places.country, places.admin1_code,
                            places.admin2_code, places.population, places.elevation, places.timezone, places.modified)
                        IS DISTINCT FROM (excluded.name, excluded.ascii_name, excluded.alternate_names,
                            excluded.latitude, excluded.longitude, excluded.feature_class, excluded.feature_code,
                            excluded.country, excluded.admin1_code, excluded.admin2_code, excluded.population,
                            excluded.elevation, excluded.timezone, excluded.modified)
                       AND (excluded.modified IS NULL OR places.modified IS NULL
                            OR excluded.modified >= places.modified)
                     RETURNING (xmax = 0)"
                ),
                &[],
            )
            .await?;
        out.inserted = changed.iter().filter(|r| r.get::<_, bool>(0)).count() as u64;
        out.updated = changed.len() as u64 - out.inserted;
        // Rows a file repeats count once as written and the rest as unchanged.
        out.unchanged = places.len() as u64 - out.inserted - out.updated;
        debug_assert!(total as u64 >= out.inserted + out.updated);
        let id = record_import(&tx, &job, rows_read, &out, &refused).await?;
        tx.commit().await?;
        Ok(ImportOutcome {
            import_id: Some(id),
            committed: true,
            ..out
        })
    }

    async fn places(&self) -> Result<Vec<Place>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {PLACE_COLUMNS} FROM places ORDER BY id"),
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(0);
                let alternates: String = r.get(3);
                let country: Option<String> = r.get(8);
                Ok(Place {
                    id,
                    name: r.get(1),
                    ascii_name: r.get(2),
                    alternate_names: alternates
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                    latitude: r.get(4),
                    longitude: r.get(5),
                    feature_class: r.get(6),
                    feature_code: r.get(7),
                    country: country.map(|c| row::country(id, &c)).transpose()?,
                    admin1_code: r.get(9),
                    admin2_code: r.get(10),
                    population: r.get(11),
                    elevation: r.get(12),
                    timezone: r.get(13),
                    modified: r.get(14),
                })
            })
            .collect()
    }

    async fn places_seq(&self) -> Result<i64> {
        let c = self.client().await?;
        Ok(
            c.query_one("SELECT value FROM counters WHERE name = 'places'", &[])
                .await?
                .get(0),
        )
    }

    async fn imports(&self, limit: usize) -> Result<Vec<ImportRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, kind, source, detected, owner_org, tlp, strict, started_at, finished_at, rows_read,
                        inserted, updated, unchanged, refused, refused_rows
                 FROM imports ORDER BY id DESC LIMIT $1",
                &[&(limit as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let tlp: Option<String> = r.get(5);
                let refused_rows: Json<serde_json::Value> = r.get(14);
                Ok(ImportRecord {
                    id: r.get(0),
                    kind: r.get(1),
                    source: r.get(2),
                    detected: r.get(3),
                    owner_org: r.get::<_, Option<i64>>(4).map(OrgId),
                    tlp: tlp.map(|t| row::tlp(0, &t)).transpose()?,
                    strict: r.get(6),
                    started_at: r.get::<_, DateTime<Utc>>(7),
                    finished_at: r.get::<_, DateTime<Utc>>(8),
                    rows_read: r.get::<_, i64>(9) as u64,
                    inserted: r.get::<_, i64>(10) as u64,
                    updated: r.get::<_, i64>(11) as u64,
                    unchanged: r.get::<_, i64>(12) as u64,
                    refused: r.get::<_, i64>(13) as u64,
                    refused_rows: refused_rows.0,
                })
            })
            .collect()
    }

    async fn stats(&self) -> Result<StoreStats> {
        let c = self.client().await?;
        let r = c
            .query_one(
                "SELECT (SELECT count(*) FROM incidents WHERE NOT deleted), (SELECT count(*) FROM places),
                        (SELECT count(*) FROM organisations), (SELECT count(*) FROM imports)",
                &[],
            )
            .await?;
        Ok(StoreStats {
            incidents: r.get::<_, i64>(0) as u64,
            places: r.get::<_, i64>(1) as u64,
            organisations: r.get::<_, i64>(2) as u64,
            imports: r.get::<_, i64>(3) as u64,
        })
    }

    async fn counters(&self) -> Result<Counters> {
        self.counters_().await
    }

    async fn create_incident(
        &self,
        data: &IncidentData,
        marking: &Marking,
        coarse: (f64, f64),
    ) -> Result<(i64, Uuid)> {
        self.create_incident_(data, marking, coarse).await
    }

    async fn update_marking(&self, id: i64, marking: &Marking, coarse: (f64, f64)) -> Result<()> {
        self.update_marking_(id, marking, coarse).await
    }

    async fn delete_incident(&self, id: i64) -> Result<()> {
        self.delete_incident_(id).await
    }

    async fn create_org(&self, name: &str) -> Result<Org> {
        self.create_org_(name).await
    }

    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.create_user_(user).await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<(User, Option<String>)>> {
        self.user_where("username = $1", &username).await
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        Ok(self.user_where("id = $1", &id.0).await?.map(|u| u.0))
    }

    async fn user_by_uid(&self, uid: Uuid) -> Result<Option<User>> {
        Ok(self.user_where("uid = $1", &uid).await?.map(|u| u.0))
    }

    async fn users(&self, org: Option<OrgId>) -> Result<Vec<User>> {
        self.users_(org).await
    }

    async fn update_user(&self, id: UserId, change: UserChange) -> Result<()> {
        self.update_user_(id, change).await
    }

    async fn set_password(&self, id: UserId, password_hash: &str) -> Result<()> {
        self.set_password_(id, password_hash).await
    }

    async fn create_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        prefix: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<ApiToken> {
        self.create_token_(user, name, token_hash, prefix, expires_at)
            .await
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        self.token_where("token_hash = $1", &token_hash).await
    }

    async fn token_by_uid(&self, uid: Uuid) -> Result<Option<ApiToken>> {
        self.token_where("uid = $1", &uid).await
    }

    async fn tokens(&self, user: UserId) -> Result<Vec<ApiToken>> {
        self.tokens_(user).await
    }

    async fn revoke_token(&self, id: i64) -> Result<()> {
        self.revoke_token_(id).await
    }

    async fn create_session(
        &self,
        user: UserId,
        token_hash: &str,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<Session> {
        self.create_session_(user, token_hash, csrf_token, expires_at)
            .await
    }

    async fn session_by_hash(&self, token_hash: &str) -> Result<Option<Session>> {
        self.session_by_hash_(token_hash).await
    }

    async fn revoke_session(&self, id: i64) -> Result<()> {
        self.revoke_session_(id).await
    }

    async fn create_group(&self, name: &str, owner: OrgId) -> Result<SharingGroup> {
        self.create_group_(name, owner).await
    }

    async fn set_group_member(&self, group: GroupId, org: OrgId, member: bool) -> Result<()> {
        self.set_group_member_(group, org, member).await
    }

    async fn groups(&self) -> Result<Vec<SharingGroup>> {
        self.groups_().await
    }

    async fn append_audit(&self, entries: Vec<AuditEntry>) -> Result<()> {
        self.append_audit_(entries).await
    }

    async fn audit(
        &self,
        org: Option<OrgId>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>> {
        self.audit_(org, after, limit).await
    }

    async fn put_road_network(&self, network: &NewRoadNetwork) -> Result<RoadNetworkRecord> {
        self.put_road_network_(network).await
    }

    async fn road_networks(&self) -> Result<Vec<RoadNetworkRecord>> {
        self.road_networks_().await
    }

    async fn road_network_data(&self, id: i64) -> Result<Option<Vec<u8>>> {
        self.road_network_data_(id).await
    }

    async fn put_saved_route(&self, route: &NewSavedRoute) -> Result<SavedRouteRecord> {
        self.put_saved_route_(route).await
    }

    async fn saved_routes(&self, org: OrgId) -> Result<Vec<SavedRouteRecord>> {
        self.saved_routes_(org, None).await
    }

    async fn saved_route(&self, org: OrgId, id: i64) -> Result<Option<SavedRouteRecord>> {
        Ok(self.saved_routes_(org, Some(id)).await?.pop())
    }

    async fn delete_saved_route(&self, org: OrgId, id: i64) -> Result<bool> {
        self.delete_saved_route_(org, id).await
    }

    async fn create_convoy(&self, convoy: &NewConvoy) -> Result<ConvoyRecord> {
        self.create_convoy_(convoy).await
    }

    async fn convoys(&self) -> Result<Vec<ConvoyRecord>> {
        self.convoys_where("TRUE", &[]).await
    }

    async fn convoy(&self, id: i64) -> Result<Option<ConvoyRecord>> {
        Ok(self.convoys_where("id = $1", &[&id]).await?.pop())
    }

    async fn convoy_by_uid(&self, uid: Uuid) -> Result<Option<ConvoyRecord>> {
        Ok(self.convoys_where("uid = $1", &[&uid]).await?.pop())
    }

    async fn end_convoy(&self, id: i64, at_ms: i64) -> Result<bool> {
        self.end_convoy_(id, at_ms).await
    }

    async fn devices(&self) -> Result<Vec<DeviceRecord>> {
        self.devices_().await
    }

    async fn record_intake(&self, intake: &Intake) -> Result<Vec<i64>> {
        self.record_intake_(intake).await
    }

    async fn positions(
        &self,
        convoy: i64,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<PositionRecord>> {
        self.positions_(convoy, from_ms, to_ms, limit).await
    }

    async fn positions_received(
        &self,
        convoy: i64,
        from_received_ms: i64,
    ) -> Result<Vec<PositionRecord>> {
        self.positions_received_(convoy, from_received_ms).await
    }

    async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertRecord>> {
        self.alerts_(filter).await
    }

    async fn alert(&self, id: i64) -> Result<Option<AlertRecord>> {
        self.alert_(id).await
    }

    async fn ack_alert(
        &self,
        id: i64,
        by: Option<UserId>,
        at_ms: i64,
        note: Option<&str>,
    ) -> Result<bool> {
        self.ack_alert_(id, by, at_ms, note).await
    }

    async fn create_webhook(&self, hook: &NewWebhook) -> Result<WebhookRecord> {
        self.create_webhook_(hook).await
    }

    async fn webhooks(&self, org: Option<OrgId>) -> Result<Vec<WebhookRecord>> {
        self.webhooks_(org).await
    }

    async fn delete_webhook(&self, org: OrgId, id: i64) -> Result<bool> {
        self.delete_webhook_(org, id).await
    }

    async fn due_deliveries(&self, now_ms: i64, limit: usize) -> Result<Vec<DeliveryRecord>> {
        self.due_deliveries_(now_ms, limit).await
    }

    async fn update_delivery(&self, d: &DeliveryRecord) -> Result<()> {
        self.update_delivery_(d).await
    }

    async fn deliveries(&self, webhook: i64, limit: usize) -> Result<Vec<DeliveryRecord>> {
        self.deliveries_(webhook, limit).await
    }

    async fn create_report(&self, report: &ReportRecord) -> Result<i64> {
        self.create_report_(report).await
    }

    async fn report_by_uid(&self, uid: Uuid) -> Result<Option<ReportRecord>> {
        Ok(self.reports_where("uid = $1", &[&uid]).await?.pop())
    }

    async fn reports_by_ids(&self, ids: &[i64]) -> Result<Vec<ReportRecord>> {
        self.reports_where("id = ANY($1) ORDER BY id", &[&ids])
            .await
    }

    async fn reports(&self, after: i64, limit: usize) -> Result<Vec<ReportRecord>> {
        self.reports_where("id > $1 ORDER BY id LIMIT $2", &[&after, &(limit as i64)])
            .await
    }

    async fn decide(&self, decision: Decision) -> Result<Option<i64>> {
        self.decide_(decision).await
    }

    async fn links(&self, report: Option<i64>, incident: Option<i64>) -> Result<Vec<ReportLink>> {
        self.links_(report, incident).await
    }

    async fn case_by_uid(&self, uid: Uuid) -> Result<Option<CaseRecord>> {
        Ok(self.cases_where("uid = $1", &[&uid]).await?.pop())
    }

    async fn case_by_incident(&self, incident: i64) -> Result<Option<CaseRecord>> {
        Ok(self
            .cases_where("incident_id = $1", &[&incident])
            .await?
            .pop())
    }

    async fn cases(&self, after: i64, limit: usize) -> Result<Vec<CaseRecord>> {
        self.cases_where("id > $1 ORDER BY id LIMIT $2", &[&after, &(limit as i64)])
            .await
    }

    async fn case_steps(&self, cases: &[i64]) -> Result<Vec<CaseStepRecord>> {
        self.case_steps_(cases).await
    }
}
