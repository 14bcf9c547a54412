//! The conformance suite every backend must pass, and throw-away test
//! databases to run it on. `conformance_suite!(make)` expands to one
//! `#[tokio::test]` per check for a backend constructor `make`.
//!
//! PostgreSQL tests create a fresh database per test on the server named by
//! `SAHELWATCH_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and drop it afterwards. They fail, rather than skip, when the server is
//! unreachable: a green run must mean both backends were tested.

use crate::{ImportJob, ImportMsg, ImportRow, Store};
use chrono::{NaiveDate, TimeZone, Utc};
use rand::Rng;
use sahelwatch_core::{
    Actors, CountryCode, Fatalities, IncidentData, Inter, Location, Marking, OrgId, Place,
    Precision, SubEventType, Tlp,
};
use sahelwatch_ingest::RowIssue;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A database that exists for one test.
pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub location: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

/// Admin URL of the PostgreSQL server used by tests.
pub fn pg_admin_url() -> String {
    std::env::var("SAHELWATCH_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_dbname(url: &str, name: &str) -> String {
    match url.rfind('/') {
        Some(i) if i > "postgres://".len() => format!("{}/{}", &url[..i], name),
        _ => format!("{url}/{name}"),
    }
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let location = dir.path().join("test.db").display().to_string();
        let store = crate::open(&location).await.expect("open sqlite");
        TestDb {
            store,
            location,
            _dir: Some(dir),
            pg_name: None,
        }
    }

    /// An empty PostgreSQL database (PostGIS installed by the migrations).
    pub async fn postgres() -> TestDb {
        let (location, name) = Self::fresh_pg_database().await;
        let store = crate::open(&location).await.expect("open postgres");
        TestDb {
            store,
            location,
            _dir: None,
            pg_name: Some(name),
        }
    }

    /// Create an empty database and return (url, name) without opening a store.
    pub async fn fresh_pg_database() -> (String, String) {
        let admin = pg_admin_url();
        let name = format!("sw_test_{}", uuid::Uuid::new_v4().simple());
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed for these tests: {e}"));
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        (with_dbname(&admin, &name), name)
    }

    /// Wrap an already-created PostgreSQL database so it is dropped afterwards.
    pub fn adopt_pg(store: Arc<dyn Store>, location: String, name: String) -> TestDb {
        TestDb {
            store,
            location,
            _dir: None,
            pg_name: Some(name),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let admin = pg_admin_url();
            // Drop on a separate thread with its own runtime: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async move {
                        if let Ok((client, conn)) =
                            tokio_postgres::connect(&admin, tokio_postgres::NoTls).await
                        {
                            tokio::spawn(conn);
                            let _ = client
                                .batch_execute(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// A realistic incident with every field set, including non-ASCII text.
pub fn full_incident(external_id: &str) -> IncidentData {
    let mut original = BTreeMap::new();
    original.insert("data_id".to_string(), "10493511".to_string());
    IncidentData {
        dataset: Some("acled".into()),
        external_id: Some(external_id.into()),
        event_date: NaiveDate::from_ymd_opt(2025, 1, 18).expect("date"),
        event_date_end: Some(NaiveDate::from_ymd_opt(2025, 1, 19).expect("date")),
        time_precision: Precision::NEAR,
        sub_event_type: SubEventType::AbductionForcedDisappearance,
        disorder_type: Some(sahelwatch_core::DisorderType::PoliticalViolence),
        actors: Actors {
            actor1: Some("Islamic State (Sahel)".into()),
            assoc_actor_1: vec!["Fulani Ethnic Militia (Niger)".into()],
            inter1: Some(Inter::RebelGroups),
            actor2: Some("Civilians (Morocco)".into()),
            assoc_actor_2: vec![
                "Truck drivers (Morocco)".into(),
                "Labour Group (Morocco)".into(),
            ],
            inter2: Some(Inter::Civilians),
        },
        civilian_targeting: true,
        location: Location {
            country: CountryCode::parse("BF").expect("BF"),
            region: Some("Western Africa".into()),
            admin1: Some("Sahel".into()),
            admin2: Some("Séno".into()),
            admin3: Some("Dori".into()),
            place: Some("Route Dori–Téra".into()),
            latitude: 14.034101,
            longitude: -0.032612,
            geo_precision: Precision::NEAR,
        },
        fatalities: Fatalities {
            best: 0,
            low: Some(0),
            high: Some(2),
        },
        notes: "Quatre chauffeurs marocains enlevés sur l'axe Dori–Téra; \"EIGS\" soupçonné."
            .into(),
        sources: vec!["Le Faso".into(), "Hespress".into()],
        source_scale: Some("National-International".into()),
        tags: vec!["hostages=4".into()],
        source_timestamp: Some(1_737_500_000),
        original,
    }
}

/// A minimal incident: optional fields empty.
pub fn bare_incident(external_id: &str, day: u32) -> IncidentData {
    IncidentData {
        dataset: Some("acled".into()),
        external_id: Some(external_id.into()),
        event_date: NaiveDate::from_ymd_opt(2024, 3, day.clamp(1, 28)).expect("date"),
        event_date_end: None,
        time_precision: Precision::EXACT,
        sub_event_type: SubEventType::ArmedClash,
        disorder_type: None,
        actors: Actors {
            actor1: Some("JNIM: Jama'ah Nusrah al-Islam wal Muslimin".into()),
            ..Default::default()
        },
        civilian_targeting: false,
        location: Location {
            country: CountryCode::parse("ML").expect("ML"),
            region: None,
            admin1: None,
            admin2: None,
            admin3: None,
            place: None,
            latitude: 14.5,
            longitude: -4.2,
            geo_precision: Precision::EXACT,
        },
        fatalities: Fatalities {
            best: day,
            low: None,
            high: None,
        },
        notes: String::new(),
        sources: Vec::new(),
        source_scale: None,
        tags: Vec::new(),
        source_timestamp: None,
        original: BTreeMap::new(),
    }
}

pub fn job(owner: OrgId, tlp: Tlp, strict: bool) -> ImportJob {
    ImportJob {
        kind: "acled".into(),
        source: "test.csv".into(),
        detected: "ACLED current layout".into(),
        dataset: "acled".into(),
        marking: Marking::new(owner, tlp),
        strict,
        started_at: Utc
            .with_ymd_and_hms(2026, 11, 21, 12, 0, 0)
            .single()
            .expect("time"),
    }
}

/// Run an import of `rows` (in batches of 7) and finish it with `commit`.
pub async fn import(
    store: &Arc<dyn Store>,
    job: ImportJob,
    rows: Vec<IncidentData>,
    commit: bool,
) -> crate::Result<crate::ImportOutcome> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let n = rows.len() as u64;
    let marking = job.marking.clone();
    let rows: Vec<ImportRow> = rows
        .into_iter()
        .map(|d| {
            let exact = (d.location.latitude, d.location.longitude);
            ImportRow::new(d, marking.clone(), exact)
        })
        .collect();
    let feeder = tokio::spawn(async move {
        for chunk in rows.chunks(7) {
            if tx.send(ImportMsg::Rows(chunk.to_vec())).await.is_err() {
                return;
            }
        }
        let _ = tx
            .send(ImportMsg::Finish {
                commit,
                rows_read: n,
                refused: Vec::<RowIssue>::new(),
            })
            .await;
    });
    let out = store.import_incidents(job, rx).await;
    feeder.await.expect("feeder");
    out
}

pub async fn migrations_are_idempotent_and_orgs_unique(db: &TestDb) {
    let again = crate::open(&db.location)
        .await
        .expect("reopen applies no migration twice");
    let a = db.store.ensure_org("Sahel Watch NGO").await.expect("org");
    let b = again
        .ensure_org("Sahel Watch NGO")
        .await
        .expect("org again");
    assert_eq!(a, b);
    let c = db
        .store
        .ensure_org("Agence Nationale")
        .await
        .expect("org 2");
    assert_ne!(a.id, c.id);
    let names: Vec<String> = db
        .store
        .orgs()
        .await
        .expect("orgs")
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, vec!["Sahel Watch NGO", "Agence Nationale"]);
}

pub async fn incidents_round_trip_exactly(db: &TestDb) {
    let s = &db.store;
    let org = s.ensure_org("owner").await.expect("org");
    let rows = vec![full_incident("BFO1"), bare_incident("MLI2", 3)];
    let out = import(s, job(org.id, Tlp::Amber, false), rows.clone(), true)
        .await
        .expect("import");
    assert!(out.committed && out.import_id.is_some());
    assert_eq!((out.inserted, out.updated, out.unchanged), (2, 0, 0));
    let seq = s.incident_seq().await.expect("seq");
    let idx = s.index_changes(0, seq).await.expect("index rows");
    assert_eq!(idx.len(), 2);
    let ids: Vec<i64> = idx.iter().map(|r| r.id).collect();
    let back = s.incidents_by_ids(&ids).await.expect("by ids");
    for ((row_id, stored), row) in back.iter().zip(&idx) {
        assert_eq!(*row_id, row.id);
        assert_eq!(row.updated_micros, stored.updated_at.timestamp_micros());
        let want = rows
            .iter()
            .find(|r| r.external_id == stored.data.external_id)
            .expect("match");
        assert_eq!(&stored.data, want, "every field comes back as it went in");
        assert_eq!(stored.marking, Marking::new(org.id, Tlp::Amber));
        assert_eq!(row.marking, Marking::new(org.id, Tlp::Amber));
        assert_eq!(row.geo_precision, stored.data.location.geo_precision);
        assert_eq!(
            row.on_road,
            sahelwatch_core::incident::tells_of_road(&stored.data.notes),
            "the database finds the road cues the domain finds: {:?}",
            stored.data.notes
        );
        assert_eq!(
            (row.coarse_latitude, row.coarse_longitude),
            (
                stored.data.location.latitude,
                stored.data.location.longitude
            )
        );
        let (rid, by_uid) = s
            .incident_by_uid(stored.id)
            .await
            .expect("by uid")
            .expect("found");
        assert_eq!(rid, row.id);
        assert_eq!(&by_uid, stored);
        if let (Some(ds), Some(ext)) = (&stored.data.dataset, &stored.data.external_id) {
            let by_key = s.incident_ids_by_key(ds, ext).await.expect("by key");
            assert!(by_key.contains(&row.id), "{ds}/{ext} names row {}", row.id);
        }
    }
    assert!(
        s.incident_ids_by_key("acled", "no-such-id")
            .await
            .expect("by key")
            .is_empty()
    );
    let full = idx
        .iter()
        .find(|r| r.event_date == NaiveDate::from_ymd_opt(2025, 1, 18).expect("d"))
        .expect("full");
    assert_eq!(
        full.actors.len(),
        5,
        "main and associated actors are all indexed"
    );
    assert_eq!(full.admin1.as_deref(), Some("Sahel"));
    assert!(
        s.incident_by_uid(uuid::Uuid::new_v4())
            .await
            .expect("lookup")
            .is_none()
    );
}

pub async fn reimport_is_idempotent_and_updates_only_changes(db: &TestDb) {
    let s = &db.store;
    let org = s.ensure_org("owner").await.expect("org");
    let rows: Vec<IncidentData> = (1..=20)
        .map(|i| bare_incident(&format!("MLI{i}"), i))
        .collect();
    import(s, job(org.id, Tlp::Clear, false), rows.clone(), true)
        .await
        .expect("first");
    let seq1 = s.incident_seq().await.expect("seq");
    let out = import(s, job(org.id, Tlp::Clear, false), rows.clone(), true)
        .await
        .expect("second");
    assert_eq!((out.inserted, out.updated, out.unchanged), (0, 0, 20));
    let seq2 = s.incident_seq().await.expect("seq");
    assert!(
        s.index_changes(seq1, seq2)
            .await
            .expect("changes")
            .is_empty(),
        "an unchanged re-import writes no row"
    );
    let mut changed = rows.clone();
    changed[4].fatalities.best = 99;
    let out = import(s, job(org.id, Tlp::Clear, false), changed, true)
        .await
        .expect("third");
    assert_eq!((out.inserted, out.updated, out.unchanged), (0, 1, 19));
    let seq3 = s.incident_seq().await.expect("seq");
    let delta = s.index_changes(seq2, seq3).await.expect("changes");
    assert_eq!(delta.len(), 1);
    assert_eq!(delta[0].fatalities, 99);
    // The same rows under a different marking are a change (of marking).
    let out = import(s, job(org.id, Tlp::Green, false), rows.clone(), true)
        .await
        .expect("fourth");
    assert_eq!(out.updated, 20);
    // Another organisation importing the same dataset gets its own copies.
    let other = s.ensure_org("other").await.expect("org");
    let out = import(s, job(other.id, Tlp::Clear, false), rows, true)
        .await
        .expect("fifth");
    assert_eq!(out.inserted, 20);
    assert_eq!(s.stats().await.expect("stats").incidents, 40);
}

pub async fn refused_and_interrupted_imports_leave_nothing(db: &TestDb) {
    let s = &db.store;
    let org = s.ensure_org("owner").await.expect("org");
    let before = s.incident_seq().await.expect("seq");
    let out = import(
        s,
        job(org.id, Tlp::Clear, true),
        vec![bare_incident("A1", 1), bare_incident("A2", 2)],
        false,
    )
    .await
    .expect("refused import returns");
    assert!(!out.committed && out.import_id.is_none());
    assert_eq!(s.stats().await.expect("stats").incidents, 0);
    assert_eq!(
        s.incident_seq().await.expect("seq"),
        before,
        "a rolled-back import does not move the counter"
    );

    // The sender disappears mid-import (a crash, Ctrl-C): nothing is written.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(ImportMsg::Rows(vec![ImportRow::new(
        bare_incident("B1", 1),
        Marking::new(org.id, Tlp::Clear),
        (14.5, -4.2),
    )]))
    .await
    .expect("send");
    drop(tx);
    let err = s
        .import_incidents(job(org.id, Tlp::Clear, false), rx)
        .await
        .expect_err("interrupted");
    assert!(matches!(err, crate::StoreError::ImportInterrupted), "{err}");
    let stats = s.stats().await.expect("stats");
    assert_eq!((stats.incidents, stats.imports), (0, 0));
    assert_eq!(s.incident_seq().await.expect("seq"), before);
}

pub async fn lookups_by_ids_keep_order_and_skip_missing(db: &TestDb) {
    let s = &db.store;
    let org = s.ensure_org("owner").await.expect("org");
    let rows: Vec<IncidentData> = (1..=5)
        .map(|i| bare_incident(&format!("X{i}"), i))
        .collect();
    import(s, job(org.id, Tlp::Clear, false), rows, true)
        .await
        .expect("import");
    let seq = s.incident_seq().await.expect("seq");
    let mut ids: Vec<i64> = s
        .index_changes(0, seq)
        .await
        .expect("rows")
        .iter()
        .map(|r| r.id)
        .collect();
    ids.sort();
    let want = vec![ids[3], 999_999, ids[0], ids[4]];
    let got: Vec<Option<String>> = s
        .incidents_by_ids(&want)
        .await
        .expect("by ids")
        .into_iter()
        .map(|(_, i)| i.data.external_id)
        .collect();
    assert_eq!(got.len(), 3);
    let by_row: Vec<Option<String>> = {
        let mut v = Vec::new();
        for id in [ids[3], ids[0], ids[4]] {
            v.push(
                s.incidents_by_ids(&[id]).await.expect("one")[0]
                    .1
                    .data
                    .external_id
                    .clone(),
            );
        }
        v
    };
    assert_eq!(got, by_row);
    assert!(s.incidents_by_ids(&[]).await.expect("empty").is_empty());
}

pub async fn text_search_ignores_case_and_accents(db: &TestDb) {
    let s = &db.store;
    let org = s.ensure_org("owner").await.expect("org");
    let mut a = bare_incident("T1", 1);
    a.notes = "Attaque près de Téra, deux VDP tués.".into();
    let mut b = bare_incident("T2", 2);
    b.notes = "Convoy ambushed near TERA bridge.".into();
    let mut c = bare_incident("T3", 3);
    c.notes = "Nothing relevant.".into();
    import(s, job(org.id, Tlp::Clear, false), vec![a, b, c], true)
        .await
        .expect("import");
    let seq = s.incident_seq().await.expect("seq");
    let rows = s.index_changes(0, seq).await.expect("rows");
    let hits = s.ids_with_text("tera", None).await.expect("search");
    assert_eq!(hits.len(), 2);
    let only_first = vec![rows.iter().map(|r| r.id).min().expect("id")];
    let within = s
        .ids_with_text("tera", Some(only_first.clone()))
        .await
        .expect("within");
    assert!(within.len() <= 1 && within.iter().all(|id| only_first.contains(id)));
    assert!(
        s.ids_with_text("pres de tera", None)
            .await
            .expect("phrase")
            .len()
            == 1
    );
}

fn place(id: i64, name: &str, pop: i64) -> Place {
    Place {
        id,
        name: name.into(),
        ascii_name: sahelwatch_core::text::fold(name),
        alternate_names: vec![name.to_uppercase(), "Тера".into()],
        latitude: 14.00776,
        longitude: 0.75306,
        feature_class: "P".into(),
        feature_code: "PPLA2".into(),
        country: CountryCode::parse("NE"),
        admin1_code: "09".into(),
        admin2_code: String::new(),
        population: pop,
        elevation: Some(248),
        timezone: "Africa/Niamey".into(),
        modified: NaiveDate::from_ymd_opt(2013, 10, 6),
    }
}

fn gazetteer_job() -> ImportJob {
    ImportJob {
        kind: "gazetteer".into(),
        dataset: "geonames".into(),
        ..job(OrgId(0), Tlp::Clear, false)
    }
}

pub async fn places_import_is_idempotent_and_round_trips(db: &TestDb) {
    let s = &db.store;
    let places = vec![place(2438855, "Téra", 21095), place(2438856, "Téra", 0)];
    let out = s
        .import_places(gazetteer_job(), places.clone(), 2, vec![])
        .await
        .expect("import");
    assert_eq!((out.inserted, out.updated, out.unchanged), (2, 0, 0));
    let seq1 = s.places_seq().await.expect("seq");
    let out = s
        .import_places(gazetteer_job(), places.clone(), 2, vec![])
        .await
        .expect("again");
    assert_eq!((out.inserted, out.updated, out.unchanged), (0, 0, 2));
    let mut changed = places.clone();
    changed[1].population = 500;
    let out = s
        .import_places(gazetteer_job(), changed.clone(), 2, vec![])
        .await
        .expect("changed");
    assert_eq!((out.inserted, out.updated, out.unchanged), (0, 1, 1));
    assert!(s.places_seq().await.expect("seq") > seq1);
    assert_eq!(s.places().await.expect("places"), changed);
    // An older record of the same place (an older dump) does not overwrite a newer one.
    let mut older = changed.clone();
    older[0].population = 1;
    older[0].modified = NaiveDate::from_ymd_opt(2010, 1, 1);
    let out = s
        .import_places(gazetteer_job(), older, 2, vec![])
        .await
        .expect("older");
    assert_eq!((out.inserted, out.updated, out.unchanged), (0, 0, 2));
    assert_eq!(s.places().await.expect("places"), changed);
    let log = s.imports(10).await.expect("imports");
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].kind, "gazetteer");
    assert_eq!(log[0].owner_org, None);
}

pub async fn import_log_records_committed_imports(db: &TestDb) {
    let s = &db.store;
    let org = s.ensure_org("owner").await.expect("org");
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let refused = vec![RowIssue {
        line: 7,
        column: Some("latitude".into()),
        value: Some("95".into()),
        reason: "is outside -90..90".into(),
    }];
    tx.send(ImportMsg::Rows(vec![ImportRow::new(
        bare_incident("L1", 1),
        Marking::new(org.id, Tlp::Clear),
        (14.5, -4.2),
    )]))
    .await
    .expect("send");
    tx.send(ImportMsg::Finish {
        commit: true,
        rows_read: 2,
        refused,
    })
    .await
    .expect("send");
    let out = s
        .import_incidents(job(org.id, Tlp::Clear, false), rx)
        .await
        .expect("import");
    let log = s.imports(5).await.expect("log");
    assert_eq!(log.len(), 1);
    let r = &log[0];
    assert_eq!(Some(r.id), out.import_id);
    assert_eq!((r.rows_read, r.inserted, r.refused), (2, 1, 1));
    assert_eq!(r.refused_rows[0]["line"], 7);
    assert_eq!(r.refused_rows[0]["column"], "latitude");
    assert_eq!(r.owner_org, Some(org.id));
    assert_eq!(r.tlp, Some(Tlp::Clear));
}

pub async fn concurrent_imports_serialise_and_index_sees_all(db: &TestDb) {
    let s = &db.store;
    let org = s.ensure_org("owner").await.expect("org");
    let mut handles = Vec::new();
    for k in 0..4 {
        let s = Arc::clone(s);
        let mut j = job(org.id, Tlp::Clear, false);
        j.dataset = format!("ds{k}");
        let rows: Vec<IncidentData> = {
            let mut rng = rand::rng();
            (1..=30)
                .map(|i| {
                    let mut d = bare_incident(&format!("K{k}-{i}"), rng.random_range(1..28));
                    d.dataset = Some(format!("ds{k}"));
                    d
                })
                .collect()
        };
        handles.push(tokio::spawn(async move {
            import(&s, j, rows, true).await.expect("import")
        }));
    }
    for h in handles {
        assert_eq!(h.await.expect("join").inserted, 30);
    }
    let seq = s.incident_seq().await.expect("seq");
    assert_eq!(seq, 4, "each import took one sequence number");
    let mut seen = 0;
    for k in 0..seq {
        let part = s.index_changes(k, k + 1).await.expect("slice");
        assert_eq!(part.len(), 30, "each sequence number is exactly one import");
        seen += part.len();
    }
    assert_eq!(seen, 120);
}

pub async fn accounts_tokens_and_sessions(db: &TestDb) {
    use sahelwatch_core::accounts::NewUser;
    use sahelwatch_core::{Role, UserId};
    let s = &db.store;
    let before = s.counters().await.expect("counters").access;
    let org = s.create_org("Cellule Sahel").await.expect("org");
    let err = s
        .create_org("Cellule Sahel")
        .await
        .expect_err("duplicate org");
    assert!(matches!(err, crate::StoreError::Conflict(_)), "{err}");
    let new = |name: &str, role| NewUser {
        org: org.id,
        username: name.into(),
        display_name: format!("{name} (display)"),
        role,
        superadmin: false,
        password_hash: Some("$argon2id$fake".into()),
    };
    let awa = s
        .create_user(new("awa", Role::Analyst))
        .await
        .expect("user");
    assert!(matches!(
        s.create_user(new("awa", Role::Viewer)).await,
        Err(crate::StoreError::Conflict(_))
    ));
    let (u, hash) = s
        .user_by_username("awa")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!((u, hash.as_deref()), (awa.clone(), Some("$argon2id$fake")));
    assert_eq!(
        s.user_by_uid(awa.uid).await.expect("uid"),
        Some(awa.clone())
    );
    assert_eq!(s.user(awa.id).await.expect("id"), Some(awa.clone()));
    assert!(s.user(UserId(999_999)).await.expect("none").is_none());
    s.update_user(
        awa.id,
        crate::UserChange {
            role: Some(Role::Admin),
            disabled: Some(true),
            display_name: None,
        },
    )
    .await
    .expect("update");
    let u = s.user(awa.id).await.expect("id").expect("found");
    assert_eq!(
        (u.role, u.disabled, u.display_name.as_str()),
        (Role::Admin, true, "awa (display)")
    );
    assert_eq!(s.users(Some(org.id)).await.expect("users").len(), 1);
    // Tokens: stored by hash, listed, revoked.
    let expires = chrono::Utc::now() + chrono::Duration::days(30);
    let t = s
        .create_token(awa.id, "laptop", "h1", "sw_abcd", expires)
        .await
        .expect("token");
    assert_eq!(
        s.token_by_hash("h1").await.expect("by hash"),
        Some(t.clone())
    );
    assert_eq!(
        s.token_by_uid(t.uid).await.expect("by uid"),
        Some(t.clone())
    );
    assert!(s.token_by_hash("h2").await.expect("none").is_none());
    s.revoke_token(t.id).await.expect("revoke");
    let revoked = s
        .token_by_hash("h1")
        .await
        .expect("by hash")
        .expect("still listed");
    assert!(revoked.revoked_at.is_some() && !revoked.is_active(chrono::Utc::now()));
    assert_eq!(s.tokens(awa.id).await.expect("tokens").len(), 1);
    // Sessions: a new password ends them.
    let sess = s
        .create_session(awa.id, "sh", "csrf", expires)
        .await
        .expect("session");
    assert_eq!(
        s.session_by_hash("sh")
            .await
            .expect("session")
            .map(|x| x.csrf_token),
        Some("csrf".into())
    );
    s.set_password(awa.id, "$argon2id$new")
        .await
        .expect("password");
    assert!(
        s.session_by_hash("sh")
            .await
            .expect("session")
            .expect("kept")
            .revoked
    );
    assert_eq!(
        s.user_by_username("awa")
            .await
            .expect("u")
            .expect("u")
            .1
            .as_deref(),
        Some("$argon2id$new")
    );
    s.revoke_session(sess.id).await.expect("revoke session");
    assert!(
        s.counters().await.expect("counters").access > before,
        "account changes move the access counter"
    );
}

pub async fn sharing_groups_and_markings(db: &TestDb) {
    use sahelwatch_core::{Coarsen, GroupId, UserId};
    let s = &db.store;
    let a = s.create_org("Org A").await.expect("org");
    let b = s.create_org("Org B").await.expect("org");
    let g = s
        .create_group("Liptako-Gourma cell", a.id)
        .await
        .expect("group");
    assert_eq!(g.members, vec![a.id], "the owner is a member");
    assert!(matches!(
        s.create_group("Liptako-Gourma cell", b.id).await,
        Err(crate::StoreError::Conflict(_))
    ));
    s.set_group_member(g.id, b.id, true).await.expect("add");
    s.set_group_member(g.id, b.id, true)
        .await
        .expect("add twice is fine");
    let groups = s.groups().await.expect("groups");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].members, vec![a.id, b.id]);
    s.set_group_member(g.id, b.id, false).await.expect("remove");
    assert_eq!(s.groups().await.expect("groups")[0].members, vec![a.id]);
    // An incident with a full marking, then a new marking, then deleted.
    let marking = Marking {
        owner: a.id,
        tlp: Tlp::Red,
        sharing_group: Some(g.id),
        author: None,
        recipients: vec![UserId(7), UserId(9)],
        coarsen: Coarsen::Km10,
    };
    let data = full_incident("NEW1");
    let (id, uid) = s
        .create_incident(&data, &marking, (14.05, -0.05))
        .await
        .expect("create");
    let (rid, back) = s.incident_by_uid(uid).await.expect("get").expect("found");
    assert_eq!(rid, id);
    assert_eq!(back.marking, marking);
    assert_eq!(back.data, data);
    let seq = s.incident_seq().await.expect("seq");
    let row = s
        .index_changes(seq - 1, seq)
        .await
        .expect("index")
        .pop()
        .expect("row");
    assert_eq!((row.coarse_latitude, row.coarse_longitude), (14.05, -0.05));
    assert_eq!(row.marking, marking);
    let new_marking = Marking {
        tlp: Tlp::Amber,
        recipients: vec![],
        coarsen: Coarsen::Exact,
        sharing_group: Some(GroupId(g.id.0)),
        ..marking.clone()
    };
    s.update_marking(
        id,
        &new_marking,
        (data.location.latitude, data.location.longitude),
    )
    .await
    .expect("update");
    let seq2 = s.incident_seq().await.expect("seq");
    let row = s
        .index_changes(seq, seq2)
        .await
        .expect("index")
        .pop()
        .expect("row");
    assert_eq!(row.marking, new_marking);
    assert_eq!(
        (row.coarse_latitude, row.coarse_longitude),
        (data.location.latitude, data.location.longitude)
    );
    s.delete_incident(id).await.expect("delete");
    assert!(s.incident_by_uid(uid).await.expect("get").is_none());
    assert!(s.incidents_by_ids(&[id]).await.expect("ids").is_empty());
    let seq3 = s.incident_seq().await.expect("seq");
    assert!(s.index_changes(seq2, seq3).await.expect("index")[0].deleted);
}

pub async fn audit_chain_is_linear_and_verifiable(db: &TestDb) {
    use sahelwatch_core::UserId;
    use sahelwatch_core::audit::{AuditEntry, GENESIS, verify};
    let s = &db.store;
    let a = s.create_org("Audited A").await.expect("org");
    let b = s.create_org("Audited B").await.expect("org");
    let entry = |org: OrgId, i: u128| AuditEntry {
        at: chrono::Utc::now(),
        user: Some(UserId(1)),
        org: Some(org),
        action: "read".into(),
        path: "/api/v1/incidents".into(),
        items: vec![uuid::Uuid::from_u128(i)],
    };
    s.append_audit(vec![entry(a.id, 1), entry(b.id, 2)])
        .await
        .expect("append");
    // Concurrent appenders still make one chain.
    let mut handles = Vec::new();
    for k in 0..4u128 {
        let s = Arc::clone(s);
        let org = if k % 2 == 0 { a.id } else { b.id };
        handles.push(tokio::spawn(async move {
            s.append_audit(vec![entry(org, 10 + k)]).await
        }));
    }
    for h in handles {
        h.await.expect("join").expect("append");
    }
    let all = s.audit(None, 0, 100).await.expect("all");
    assert_eq!(all.len(), 6);
    assert_eq!(all[0].prev_hash, GENESIS);
    verify(GENESIS, &all).expect("the chain verifies after a round trip through the database");
    let only_a = s.audit(Some(a.id), 0, 100).await.expect("org a");
    assert_eq!(only_a.len(), 3);
    assert!(only_a.iter().all(|r| r.entry.org == Some(a.id)));
    let page = s.audit(None, all[2].id, 2).await.expect("page");
    assert_eq!(
        page.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![all[3].id, all[4].id]
    );
}

pub async fn reports_links_and_cases_round_trip(db: &TestDb) {
    use crate::{CaseRecord, CaseStepRecord, Decision, LinkStatus, ReportLink, ReportRecord};
    use sahelwatch_core::report::{CaseDetails, CaseStepKind, ClaimedPlace, Claims};
    use sahelwatch_core::{GroupId, UserId};
    let s = &db.store;
    let a = s.create_org("Reporter A").await.expect("org");
    let g = s.create_group("Reports cell", a.id).await.expect("group");
    let day = |t: &str| t.parse::<chrono::NaiveDate>().expect("date");
    let claims = Claims {
        event_date: Some(day("2025-01-18")),
        date_earliest: Some(day("2025-01-17")),
        date_latest: Some(day("2025-01-18")),
        place: Some(ClaimedPlace {
            name: "Téra".into(),
            latitude: 14.0078,
            longitude: 0.7531,
            uncertainty_km: 5.0,
            country: sahelwatch_core::CountryCode::parse("NE"),
            admin1: Some("Tillabéri".into()),
            geonames_id: Some(2439376),
            segment: None,
        }),
        sub_event_type: Some(sahelwatch_core::SubEventType::AbductionForcedDisappearance),
        hostages: Some(2),
        hostage_nationality: Some("MA".into()),
        case_step: Some(CaseStepKind::Abducted),
        ransom_paid: Some(false),
        ..Default::default()
    };
    let mut report = ReportRecord {
        id: 0,
        uid: uuid::Uuid::now_v7(),
        marking: Marking {
            owner: a.id,
            tlp: Tlp::Amber,
            sharing_group: Some(GroupId(g.id.0)),
            author: None,
            recipients: vec![],
            coarsen: Default::default(),
        },
        source: "Actu Niger".into(),
        title: Some("Deux chauffeurs enlevés".into()),
        published: day("2025-01-19"),
        lang: "fr".into(),
        reliability: "C".parse().expect("grade"),
        credibility: "3".parse().expect("grade"),
        body: "Deux chauffeurs marocains ont été enlevés samedi près de Téra (ç, é, 😀).".into(),
        claims: claims.clone(),
        extraction: Some(serde_json::json!({"lang": "fr", "places": [{"span": {"start": 3}}]})),
        unlocated: false,
        filed_at: crate::now_micros(),
    };
    let before = s.counters().await.expect("counters");
    let rid = s.create_report(&report).await.expect("create");
    report.id = rid;
    assert_eq!(
        s.report_by_uid(report.uid).await.expect("get"),
        Some(report.clone())
    );
    // A RED report with recipients and no extraction.
    let red = ReportRecord {
        uid: uuid::Uuid::now_v7(),
        marking: Marking {
            tlp: Tlp::Red,
            sharing_group: None,
            recipients: vec![UserId(3)],
            ..report.marking.clone()
        },
        extraction: None,
        claims: Claims::default(),
        unlocated: true,
        ..report.clone()
    };
    let red_id = s.create_report(&red).await.expect("create");
    let all = s.reports(0, 10).await.expect("list");
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![rid, red_id]
    );
    assert_eq!(all[1].marking, red.marking);
    assert!(all[1].extraction.is_none() && all[1].unlocated);
    assert_eq!(s.reports(rid, 10).await.expect("page").len(), 1);
    assert_eq!(
        s.reports_by_ids(&[red_id, 999_999, rid])
            .await
            .expect("ids")
            .len(),
        2
    );
    assert!(
        s.report_by_uid(uuid::Uuid::now_v7())
            .await
            .expect("get")
            .is_none()
    );
    // An incident, a confirmed link, a case opened with its first step, in one decision.
    let (inc, _) = s
        .create_incident(
            &full_incident("CASE1"),
            &Marking::new(a.id, Tlp::Green),
            (0.0, 0.0),
        )
        .await
        .expect("incident");
    let now = crate::now_micros();
    let link = ReportLink {
        report: rid,
        incident: inc,
        status: LinkStatus::Confirmed,
        score: 0.93,
        decided_by: None,
        decided_at: now,
    };
    let case = CaseRecord {
        id: 0,
        uid: uuid::Uuid::now_v7(),
        marking: report.marking.clone(),
        incident: Some(inc),
        report: rid,
        abducted_on: day("2025-01-18"),
        details: CaseDetails::of(&claims),
        created_at: now,
    };
    let step = |case: i64, report: i64, kind, on: &str| CaseStepRecord {
        id: 0,
        case,
        report,
        kind,
        on_date: day(on),
        note: Some("note".into()),
        added_by: None,
        created_at: now,
    };
    let opened = s
        .decide(Decision {
            links: vec![link.clone()],
            open_case: Some(case.clone()),
            steps: vec![step(0, rid, CaseStepKind::Abducted, "2025-01-18")],
        })
        .await
        .expect("decide")
        .expect("a case was opened");
    assert!(s.counters().await.expect("counters") != before);
    assert_eq!(
        s.links(Some(rid), None).await.expect("links"),
        vec![link.clone()]
    );
    assert_eq!(s.links(None, Some(inc)).await.expect("links").len(), 1);
    assert!(s.links(Some(red_id), None).await.expect("links").is_empty());
    // A new decision on the same pair replaces it.
    let rejected = ReportLink {
        status: LinkStatus::Rejected,
        ..link.clone()
    };
    s.decide(Decision {
        links: vec![rejected.clone()],
        ..Default::default()
    })
    .await
    .expect("decide");
    assert_eq!(
        s.links(Some(rid), Some(inc)).await.expect("links"),
        vec![rejected]
    );
    let back = s.case_by_uid(case.uid).await.expect("case").expect("found");
    assert_eq!(
        back,
        CaseRecord {
            id: opened,
            ..case.clone()
        }
    );
    assert_eq!(
        s.case_by_incident(inc).await.expect("case").map(|c| c.id),
        Some(opened)
    );
    assert_eq!(s.cases(0, 10).await.expect("cases").len(), 1);
    // A second case on the same incident is a conflict, and writes nothing.
    let dup = s
        .decide(Decision {
            links: vec![link.clone()],
            open_case: Some(CaseRecord {
                uid: uuid::Uuid::now_v7(),
                ..case.clone()
            }),
            steps: vec![],
        })
        .await;
    assert!(
        matches!(dup, Err(crate::StoreError::Conflict(_))),
        "{dup:?}"
    );
    assert_eq!(
        s.links(Some(rid), Some(inc)).await.expect("links")[0].status,
        LinkStatus::Rejected
    );
    // Later steps, kept in date order.
    s.decide(Decision {
        steps: vec![
            step(opened, red_id, CaseStepKind::Released, "2025-06-01"),
            step(opened, red_id, CaseStepKind::ProofOfLife, "2025-03-01"),
        ],
        ..Default::default()
    })
    .await
    .expect("steps");
    let steps = s.case_steps(&[opened]).await.expect("steps");
    assert_eq!(
        steps.iter().map(|x| x.kind).collect::<Vec<_>>(),
        vec![
            CaseStepKind::Abducted,
            CaseStepKind::ProofOfLife,
            CaseStepKind::Released
        ]
    );
    assert_eq!(steps[0].report, rid);
    assert_eq!(steps[2].on_date, day("2025-06-01"));
    assert!(
        s.case_steps(&[opened + 1000])
            .await
            .expect("none")
            .is_empty()
    );
}

/// Expand to one test per conformance check for a backend.
/// Road networks: stored whole, listed newest first, replaced by name in
/// one transaction.
pub async fn road_networks_replace_by_name(db: &TestDb) {
    let s = &db.store;
    assert!(s.road_networks().await.expect("list").is_empty());
    let at = chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .unwrap();
    let net = |name: &str, data: Vec<u8>| crate::NewRoadNetwork {
        name: name.into(),
        source: "roads.geojson".into(),
        created_at: at,
        report: serde_json::json!({"segments": data.len()}),
        data,
    };
    let a = s
        .put_road_network(&net("bf", vec![1, 2, 3]))
        .await
        .expect("put");
    let b = s
        .put_road_network(&net("monaco", vec![0; 70_000]))
        .await
        .expect("put");
    assert_eq!((a.name.as_str(), a.size_bytes, a.created_at), ("bf", 3, at));
    assert_eq!(a.report["segments"], 3);
    let all = s.road_networks().await.expect("list");
    assert_eq!(
        all.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![b.id, a.id]
    );
    assert_eq!(
        s.road_network_data(b.id).await.expect("data"),
        Some(vec![0; 70_000])
    );
    let a2 = s
        .put_road_network(&net("bf", vec![9; 5]))
        .await
        .expect("replace");
    assert!(a2.id > b.id, "a replaced network gets a new id");
    let a3 = s
        .put_road_network(&net("bf", vec![9; 5]))
        .await
        .expect("replace the newest");
    assert!(a3.id > a2.id, "ids are never reused, even the newest's");
    assert_eq!(s.road_network_data(a2.id).await.expect("data"), None);
    let a2 = a3;
    assert_eq!(s.road_network_data(a.id).await.expect("data"), None);
    assert_eq!(
        s.road_network_data(a2.id).await.expect("data"),
        Some(vec![9; 5])
    );
    let names: Vec<String> = s
        .road_networks()
        .await
        .expect("list")
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, vec!["bf", "monaco"]);
}

/// Convoys: devices unique among active convoys and released when one
/// ends; an intake writes positions, alerts, deliveries and states in one
/// transaction; alerts are acknowledged once; webhooks are per organisation.
pub async fn convoys_devices_intake_alerts_and_webhooks(db: &TestDb) {
    use crate::{
        AlertFilter, DeviceRecord, Intake, NewAlert, NewConvoy, NewWebhook, PositionRecord,
        StoreError,
    };
    let s = &db.store;
    let a = s.ensure_org("Convoys A").await.expect("org");
    let b = s.ensure_org("Convoys B").await.expect("org");
    let device = |d: &str, v: i32| DeviceRecord {
        device: d.into(),
        convoy: 0,
        vehicle: v,
        secret_hash: format!("hash-{d}"),
    };
    let convoy = |org: OrgId, name: &str, devices: Vec<DeviceRecord>| NewConvoy {
        uid: uuid::Uuid::new_v4(),
        marking: Marking::new(org, Tlp::Amber),
        name: name.into(),
        created_ms: 1_760_000_000_000,
        spec: serde_json::json!({"vehicles": devices.len()}),
        state: serde_json::json!({"started": 1}),
        devices,
    };
    let c1 = s
        .create_convoy(&convoy(
            a.id,
            "Dori run",
            vec![device("t-1", 0), device("t-2", 1)],
        ))
        .await
        .expect("create");
    assert_eq!(c1.marking, Marking::new(a.id, Tlp::Amber));
    assert_eq!(c1.ended_ms, None);
    assert_eq!(c1.spec, serde_json::json!({"vehicles": 2}));
    // A device in use by an active convoy is refused, naming it; nothing is written.
    let err = s
        .create_convoy(&convoy(
            b.id,
            "Kaya run",
            vec![device("t-3", 0), device("t-2", 1)],
        ))
        .await
        .expect_err("taken");
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("'t-2'")),
        "{err}"
    );
    assert_eq!(s.convoys().await.expect("list").len(), 1);
    let devices = s.devices().await.expect("devices");
    assert_eq!(
        devices
            .iter()
            .map(|d| (
                d.device.as_str(),
                d.convoy,
                d.vehicle,
                d.secret_hash.as_str()
            ))
            .collect::<Vec<_>>(),
        vec![("t-1", c1.id, 0, "hash-t-1"), ("t-2", c1.id, 1, "hash-t-2")]
    );
    assert_eq!(
        s.convoy_by_uid(c1.uid).await.expect("by uid").map(|c| c.id),
        Some(c1.id)
    );

    let hook_a = s
        .create_webhook(&NewWebhook {
            uid: uuid::Uuid::new_v4(),
            owner_org: a.id,
            url: "http://127.0.0.1:9/hook".into(),
            secret: "s3cret".into(),
            min_severity: "warning".into(),
            created_by: None,
            created_ms: 1,
        })
        .await
        .expect("hook");
    assert_eq!(s.webhooks(Some(b.id)).await.expect("hooks").len(), 0);
    assert_eq!(s.webhooks(None).await.expect("hooks"), vec![hook_a.clone()]);

    let pos = |t: i64, lon: f64| PositionRecord {
        convoy: c1.id,
        vehicle: 0,
        time_ms: t,
        received_ms: t + 5,
        longitude: lon,
        latitude: 12.5,
        speed_kmh: Some(60.0),
        bearing: None,
        altitude: Some(300.5),
        accuracy: None,
        battery: Some(81.0),
        sos: t == 3_000,
        outcome: "accepted".into(),
        source: "osmand".into(),
    };
    let alert = |kind: &str, webhooks: Vec<i64>| NewAlert {
        convoy: c1.id,
        kind: kind.into(),
        severity: "critical".into(),
        vehicle: Some(0),
        at_ms: 3_000,
        message: format!("{kind} from vehicle 0"),
        data: serde_json::json!({"kind": kind}),
        created_ms: 3_010,
        webhooks,
    };
    let ids = s
        .record_intake(&Intake {
            positions: vec![pos(2_000, -1.5), pos(1_000, -1.6), pos(3_000, -1.4)],
            alerts: vec![alert("sos", vec![hook_a.id]), alert("separated", vec![])],
            states: vec![(c1.id, serde_json::json!({"started": 2}))],
        })
        .await
        .expect("intake");
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1]);
    let track = s.positions(c1.id, 1_000, 3_000, 100).await.expect("track");
    assert_eq!(
        track,
        vec![pos(1_000, -1.6), pos(2_000, -1.5)],
        "by time, end excluded"
    );
    assert_eq!(
        s.positions(c1.id, 0, 10_000, 1).await.expect("limit").len(),
        1
    );
    // In the order stored, by when they were received.
    let since = s.positions_received(c1.id, 2_005).await.expect("received");
    assert_eq!(since, vec![pos(2_000, -1.5), pos(3_000, -1.4)]);
    assert_eq!(
        s.convoy(c1.id).await.expect("get").expect("some").state,
        serde_json::json!({"started": 2})
    );

    let all = AlertFilter {
        limit: 100,
        ..Default::default()
    };
    let listed = s.alerts(&all).await.expect("alerts");
    assert_eq!(listed.iter().map(|x| x.id).collect::<Vec<_>>(), ids);
    assert_eq!(listed[0].kind, "sos");
    assert_eq!(listed[0].data, serde_json::json!({"kind": "sos"}));
    assert_eq!(listed[0].vehicle, Some(0));
    let none = AlertFilter {
        convoys: Some(vec![]),
        ..all.clone()
    };
    assert!(s.alerts(&none).await.expect("none").is_empty());
    let after = AlertFilter {
        after: ids[0],
        convoys: Some(vec![c1.id]),
        ..all.clone()
    };
    assert_eq!(s.alerts(&after).await.expect("after").len(), 1);

    // Acknowledged once; the first acknowledgement stays.
    assert!(
        s.ack_alert(ids[0], None, 4_000, Some("called the driver"))
            .await
            .expect("ack")
    );
    assert!(
        !s.ack_alert(ids[0], None, 5_000, Some("again"))
            .await
            .expect("ack")
    );
    let acked = s.alert(ids[0]).await.expect("alert").expect("some");
    assert_eq!(
        (acked.acked_ms, acked.ack_note.as_deref()),
        (Some(4_000), Some("called the driver"))
    );
    let open = AlertFilter {
        unacknowledged: true,
        ..all.clone()
    };
    assert_eq!(
        s.alerts(&open)
            .await
            .expect("open")
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        vec![ids[1]]
    );

    // The delivery was written with the alert; attempts are recorded.
    let due = s.due_deliveries(3_010, 10).await.expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].webhook, due[0].alert, due[0].status.as_str()),
        (hook_a.id, ids[0], "pending")
    );
    assert!(
        s.due_deliveries(3_009, 10)
            .await
            .expect("not yet")
            .is_empty()
    );
    let mut d = due[0].clone();
    d.attempts = 1;
    d.next_ms = 60_000;
    d.last_code = Some(503);
    d.last_error = Some("HTTP 503".into());
    s.update_delivery(&d).await.expect("update");
    assert!(
        s.due_deliveries(59_999, 10)
            .await
            .expect("backoff")
            .is_empty()
    );
    assert_eq!(s.deliveries(hook_a.id, 10).await.expect("list"), vec![d]);

    // Another organisation cannot delete the webhook; its owner can.
    assert!(!s.delete_webhook(b.id, hook_a.id).await.expect("not theirs"));
    assert!(s.delete_webhook(a.id, hook_a.id).await.expect("delete"));
    assert!(s.webhooks(None).await.expect("hooks").is_empty());
    assert!(
        s.due_deliveries(i64::MAX, 10)
            .await
            .expect("gone")
            .is_empty()
    );
    // An alert for a webhook deleted meanwhile is stored; the delivery is skipped.
    let late = s
        .record_intake(&Intake {
            alerts: vec![alert("sos", vec![hook_a.id])],
            ..Default::default()
        })
        .await
        .expect("intake after a webhook was deleted");
    assert_eq!(late.len(), 1);
    assert!(
        s.due_deliveries(i64::MAX, 10)
            .await
            .expect("none")
            .is_empty()
    );

    // Ending releases the devices: another convoy may take them.
    assert!(s.end_convoy(c1.id, 9_000).await.expect("end"));
    assert!(!s.end_convoy(c1.id, 9_500).await.expect("ended"));
    assert!(s.devices().await.expect("devices").is_empty());
    let c2 = s
        .create_convoy(&convoy(b.id, "Kaya run", vec![device("t-2", 0)]))
        .await
        .expect("reuse");
    let listed: Vec<(i64, Option<i64>)> = s
        .convoys()
        .await
        .expect("list")
        .iter()
        .map(|c| (c.id, c.ended_ms))
        .collect();
    assert_eq!(listed, vec![(c2.id, None), (c1.id, Some(9_000))]);
}

/// Saved routes: private to their organisation, listed by name, replaced
/// by name within one organisation only, deleted by their owner only.
pub async fn saved_routes_are_private_and_replaced_by_name(db: &TestDb) {
    let s = &db.store;
    let a = s.ensure_org("Routes A").await.expect("org");
    let b = s.ensure_org("Routes B").await.expect("org");
    let at = chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .unwrap();
    let route = |org: OrgId, name: &str, km: f64| crate::NewSavedRoute {
        owner_org: org,
        name: name.into(),
        network_id: 7,
        network_name: "bf".into(),
        created_by: None,
        created_at: at,
        plan: serde_json::json!({"km": km, "legs": [[1, false, 0.0, 1.0]]}),
    };
    let dori = s
        .put_saved_route(&route(a.id, "Ouaga-Dori", 295.6))
        .await
        .expect("put");
    let kaya = s
        .put_saved_route(&route(a.id, "Kaya", 98.0))
        .await
        .expect("put");
    let other = s
        .put_saved_route(&route(b.id, "Ouaga-Dori", 310.0))
        .await
        .expect("same name, other org");
    assert_eq!(
        (dori.owner_org, dori.network_id, dori.created_at),
        (a.id, 7, at)
    );
    assert_eq!(dori.plan["km"], 295.6);
    let names = |v: Vec<crate::SavedRouteRecord>| v.into_iter().map(|r| r.name).collect::<Vec<_>>();
    assert_eq!(
        names(s.saved_routes(a.id).await.expect("list")),
        vec!["Kaya", "Ouaga-Dori"]
    );
    assert_eq!(
        s.saved_route(a.id, dori.id).await.expect("get"),
        Some(dori.clone())
    );
    assert_eq!(
        s.saved_route(b.id, dori.id).await.expect("get"),
        None,
        "another organisation's route is not found"
    );
    let dori2 = s
        .put_saved_route(&route(a.id, "Ouaga-Dori", 302.4))
        .await
        .expect("replace");
    assert!(dori2.id > other.id);
    let dori3 = s
        .put_saved_route(&route(a.id, "Ouaga-Dori", 302.4))
        .await
        .expect("replace the newest");
    assert!(dori3.id > dori2.id, "ids are never reused");
    assert_eq!(s.saved_route(a.id, dori2.id).await.expect("get"), None);
    assert_eq!(s.saved_route(a.id, dori.id).await.expect("get"), None);
    assert_eq!(s.saved_routes(a.id).await.expect("list").len(), 2);
    assert_eq!(
        s.saved_route(b.id, other.id)
            .await
            .expect("get")
            .map(|r| r.plan),
        Some(serde_json::json!({"km": 310.0, "legs": [[1, false, 0.0, 1.0]]})),
        "the other organisation's route of that name is untouched"
    );
    assert!(!s.delete_saved_route(b.id, kaya.id).await.expect("delete"));
    assert!(s.delete_saved_route(a.id, kaya.id).await.expect("delete"));
    assert!(!s.delete_saved_route(a.id, kaya.id).await.expect("delete"));
    assert_eq!(
        names(s.saved_routes(a.id).await.expect("list")),
        vec!["Ouaga-Dori"]
    );
}

#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@tests $make;
            migrations_are_idempotent_and_orgs_unique,
            incidents_round_trip_exactly,
            reimport_is_idempotent_and_updates_only_changes,
            refused_and_interrupted_imports_leave_nothing,
            lookups_by_ids_keep_order_and_skip_missing,
            text_search_ignores_case_and_accents,
            places_import_is_idempotent_and_round_trips,
            import_log_records_committed_imports,
            concurrent_imports_serialise_and_index_sees_all,
            accounts_tokens_and_sessions,
            sharing_groups_and_markings,
            audit_chain_is_linear_and_verifiable,
            reports_links_and_cases_round_trip,
            road_networks_replace_by_name,
            saved_routes_are_private_and_replaced_by_name,
            convoys_devices_intake_alerts_and_webhooks
        );
    };
    (@tests $make:expr; $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let db = $make.await;
                $crate::conformance::$name(&db).await;
            }
        )+
    };
}
