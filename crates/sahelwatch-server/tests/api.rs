//! The HTTP API on real data (the UCDP GED sample and GeoNames), on both
//! storage backends. Filters are checked against an independent computation:
//! plain SQL on the same database (and, for radius searches, a haversine
//! written here, not the one the server uses).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sahelwatch_app::{App, ImportOptions, NoProgress};
use sahelwatch_core::Tlp;
use sahelwatch_ingest::IncidentFormat;
use sahelwatch_server::{AppState, router, router_and_doc};
use sahelwatch_store::conformance::TestDb;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

fn starter(name: &str) -> Box<dyn Read + Send> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/starter")
        .join(name);
    Box::new(flate2::read::GzDecoder::new(
        std::fs::File::open(path).expect("starter file"),
    ))
}

fn fixture(name: &str) -> Box<dyn Read + Send> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../sahelwatch-app/tests/fixtures")
        .join(name);
    Box::new(std::fs::File::open(path).expect("fixture"))
}

/// These tests run with the public API on: anonymous callers see TLP:CLEAR.
fn public_state(env: &Env) -> AppState {
    AppState {
        public_api: true,
        ..AppState::new(Arc::clone(&env.app))
    }
}

struct Env {
    db: TestDb,
    app: Arc<App>,
}

/// A database with the UCDP sample (CLEAR), the Sahel gazetteer, and a few
/// ACLED incidents of a second organisation marked AMBER.
async fn loaded(db: TestDb) -> Env {
    let app = Arc::new(App::new(db.store.clone()));
    let public = app.ensure_org("Public datasets").await.unwrap();
    let agency = app.ensure_org("Agence de sécurité").await.unwrap();
    for name in [
        "geonames_cities500_sahel_region.tsv.gz",
        "geonames_NE_dump_2014-12.txt.gz",
    ] {
        let r = app
            .import_gazetteer(name, starter(name), None, true, Arc::new(NoProgress))
            .await
            .unwrap();
        assert!(r.outcome.committed);
    }
    let clear = ImportOptions {
        marking: sahelwatch_core::Marking::new(public.id, Tlp::Clear),
        strict: true,
    };
    let r = app
        .import_incidents(
            IncidentFormat::Ucdp,
            "ucdp",
            starter("ucdp_ged_23_1_sample.csv.gz"),
            None,
            &clear,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(r.outcome.inserted, 1000);
    let amber = ImportOptions {
        marking: sahelwatch_core::Marking::new(agency.id, Tlp::Amber),
        strict: true,
    };
    let r = app
        .import_incidents(
            IncidentFormat::Acled,
            "acled",
            fixture("acled_current_sahel.csv"),
            None,
            &amber,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(r.outcome.inserted, 3);
    Env { db, app }
}

async fn get(env: &Env, uri: &str) -> (StatusCode, Value) {
    let (status, _, body) = get_raw(env, uri).await;
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    (status, json)
}

async fn get_raw(env: &Env, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let app = router(public_state(env));
    let resp = app
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, ctype, body)
}

/// Every page of a listing, following cursors, as external ids in order.
async fn all_pages(env: &Env, query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let uri = match &cursor {
            None => format!("/api/v1/incidents?limit=7&{}", query.replace(' ', "%20")),
            Some(c) => format!(
                "/api/v1/incidents?limit=7&{}&cursor={c}",
                query.replace(' ', "%20")
            ),
        };
        let (status, body) = get(env, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        for item in body["items"].as_array().unwrap() {
            out.push(item["external_id"].as_str().unwrap().to_string());
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
    panic!("paging did not end");
}

/// The independent computation: external ids from plain SQL, newest first.
async fn sql(env: &Env, where_clause: &str) -> Vec<String> {
    let sql = format!(
        "SELECT external_id FROM incidents WHERE tlp = 'CLEAR' AND NOT deleted AND ({where_clause}) \
         ORDER BY event_date DESC, id DESC"
    );
    if env.db.location.starts_with("postgres") {
        let (client, conn) = tokio_postgres::connect(&env.db.location, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .query(&sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect()
    } else {
        let c = rusqlite::Connection::open(&env.db.location).unwrap();
        let mut st = c.prepare(&sql).unwrap();
        st.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

/// All (external id, lat, lon, date) of CLEAR incidents, for checks SQL cannot express portably.
async fn sql_points(env: &Env) -> Vec<(String, f64, f64)> {
    let q = "SELECT external_id, latitude, longitude FROM incidents WHERE tlp = 'CLEAR' AND NOT deleted \
             ORDER BY event_date DESC, id DESC";
    if env.db.location.starts_with("postgres") {
        let (client, conn) = tokio_postgres::connect(&env.db.location, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .query(q, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    } else {
        let c = rusqlite::Connection::open(&env.db.location).unwrap();
        let mut st = c.prepare(q).unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

/// Haversine distance in km on a sphere of radius 6371.0088 km, written
/// independently of the server's implementation.
fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0088 * a.sqrt().asin()
}

async fn filters_match_an_independent_sql_computation(env: Env) {
    let cases: &[(&str, &str)] = &[
        ("", "1 = 1"),
        ("country=ML,BF,NE", "country IN ('ML', 'BF', 'NE')"),
        (
            "country=Syria&from=2013-01-01&to=2013-12-31",
            "country = 'SY' AND event_date BETWEEN '2013-01-01' AND '2013-12-31'",
        ),
        (
            "bbox=35,32,38,37",
            "longitude BETWEEN 35 AND 38 AND latitude BETWEEN 32 AND 37",
        ),
        (
            "event_type=Violence against civilians",
            "event_type = 'Violence against civilians'",
        ),
        (
            "sub_event_type=Armed clash&min_fatalities=25",
            "sub_event_type = 'Armed clash' AND fatalities >= 25",
        ),
        (
            "actor=taliban",
            "lower(actor1) LIKE '%taliban%' OR lower(actor2) LIKE '%taliban%'",
        ),
        (
            "admin1=idlib governorate",
            "lower(admin1) = 'idlib governorate'",
        ),
        ("q=rebels", "lower(notes) LIKE '%rebels%'"),
        (
            "dataset=ucdp-ged&from=2020-01-01",
            "dataset = 'ucdp-ged' AND event_date >= '2020-01-01'",
        ),
    ];
    for (query, where_clause) in cases {
        let api = all_pages(&env, query).await;
        let want = sql(&env, where_clause).await;
        assert_eq!(api, want, "?{query}");
    }
    // Something must have matched, or the comparison proves little.
    assert!(sql(&env, "country IN ('ML', 'BF', 'NE')").await.len() >= 10);
    // Radius search: haversine written here, over every CLEAR incident.
    for (lat, lon, r) in [
        (36.2, 37.1, 100.0),
        (34.5, 69.2, 250.0),
        (14.03, -0.03, 800.0),
    ] {
        let api = all_pages(&env, &format!("near={lat},{lon}&radius_km={r}")).await;
        let want: Vec<String> = sql_points(&env)
            .await
            .into_iter()
            .filter(|(_, la, lo)| haversine_km(lat, lon, *la, *lo) <= r)
            .map(|(id, _, _)| id)
            .collect();
        assert_eq!(api, want, "near={lat},{lon} radius {r}");
        assert!(!want.is_empty());
    }
    // Counts agree with the listings.
    let (_, counts) = get(&env, "/api/v1/incidents/counts?by=country&country=ML,BF,NE").await;
    let total: u64 = counts["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, counts["count"].as_u64().unwrap());
    assert_eq!(
        total as usize,
        sql(&env, "country IN ('ML', 'BF', 'NE')").await.len()
    );
    // Sorting by fatalities follows the same SQL order.
    let api = all_pages(&env, "country=AF&sort=-fatalities").await;
    let want = {
        let q = "SELECT external_id FROM incidents WHERE tlp = 'CLEAR' AND country = 'AF' ORDER BY fatalities DESC, id DESC";
        let mut v = Vec::new();
        if env.db.location.starts_with("postgres") {
            let (client, conn) = tokio_postgres::connect(&env.db.location, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            v = client
                .query(q, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect();
        } else {
            let c = rusqlite::Connection::open(&env.db.location).unwrap();
            let mut st = c.prepare(q).unwrap();
            v.extend(
                st.query_map([], |r| r.get::<_, String>(0))
                    .unwrap()
                    .map(Result::unwrap),
            );
        }
        v
    };
    assert_eq!(api, want);
}

async fn near_takes_a_place_name_and_says_which(env: Env) {
    let (status, body) = get(&env, "/api/v1/incidents?near=Dori&radius_km=400").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["near_place"]["place_id"], 2361082,
        "Dori, Burkina Faso: the most important Dori"
    );
    assert!(
        body["near_place"]["name"]
            .as_str()
            .unwrap()
            .starts_with("Dori")
    );
    let (status, body) = get(&env, "/api/v1/incidents?near=Nowhereville").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["details"][0]["parameter"], "near");
}

async fn anonymous_callers_see_clear_only_on_every_path(env: Env) {
    // The AMBER incidents are in Burkina Faso, Niger and Mali in 2025.
    let (_, list) = get(&env, "/api/v1/incidents?from=2025-01-01&count=true").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    assert_eq!(list["total"], 0);
    let (_, counts) = get(&env, "/api/v1/incidents/counts?by=year&from=2025-01-01").await;
    assert_eq!(counts["count"], 0);
    assert_eq!(counts["groups"].as_array().unwrap().len(), 0);
    let (_, counts) = get(&env, "/api/v1/incidents/counts").await;
    assert_eq!(counts["count"], 1000, "only the CLEAR UCDP sample");
    let (_, _, csv) = get_raw(&env, "/api/v1/incidents/export?format=csv&from=2025-01-01").await;
    assert_eq!(
        String::from_utf8(csv).unwrap().lines().count(),
        1,
        "header only"
    );
    let (_, _, geo) = get_raw(&env, "/api/v1/incidents/export?format=geojson").await;
    let fc: geojson::FeatureCollection = String::from_utf8(geo)
        .unwrap()
        .parse::<geojson::GeoJson>()
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(fc.features.len(), 1000);
    // The AMBER incident's own id answers exactly like an unknown id.
    let seq = env.db.store.incident_seq().await.unwrap();
    let amber_ids: Vec<i64> = env
        .db
        .store
        .index_changes(0, seq)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.marking.tlp == Tlp::Amber)
        .map(|r| r.id)
        .collect();
    assert_eq!(amber_ids.len(), 3);
    let amber = env.db.store.incidents_by_ids(&amber_ids).await.unwrap();
    let (s1, b1) = get(&env, &format!("/api/v1/incidents/{}", amber[0].1.id)).await;
    let (s2, b2) = get(&env, &format!("/api/v1/incidents/{}", uuid::Uuid::new_v4())).await;
    assert_eq!((s1, &b1), (s2, &b2));
    assert_eq!(s1, StatusCode::NOT_FOUND);
    // And a visible one is there, with its original UCDP fields.
    let (_, page) = get(&env, "/api/v1/incidents?limit=1").await;
    let id = page["items"][0]["id"].as_str().unwrap();
    assert!(
        page["items"][0].get("original").is_none(),
        "listings leave originals out"
    );
    let (s, one) = get(&env, &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(one["original"]["relid"].is_string());
    assert_eq!(one["tlp"], "CLEAR");
    assert_eq!(one["owner_org"]["name"], "Public datasets");
}

async fn geojson_output_is_valid(env: Env) {
    let (status, ctype, body) = get_raw(&env, "/api/v1/incidents?country=ML&format=geojson").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "application/geo+json");
    let gj: geojson::GeoJson = String::from_utf8(body).unwrap().parse().unwrap();
    let fc: geojson::FeatureCollection = gj.try_into().unwrap();
    assert_eq!(fc.features.len(), 7);
    let f = &fc.features[0];
    let props = f.properties.as_ref().unwrap();
    assert_eq!(props["location"]["country"], "ML");
    match &f.geometry.as_ref().unwrap().value {
        geojson::GeometryValue::Point { coordinates } => {
            assert_eq!(
                coordinates[0],
                props["location"]["longitude"].as_f64().unwrap()
            );
        }
        other => panic!("{other:?}"),
    }
    // The map's points: every match (not a page), the same positions as the
    // full GeoJSON export (so the same coarsening), and only six properties.
    let (geo, points) = (
        export_features(&env, "geojson").await,
        export_features(&env, "points").await,
    );
    assert_eq!(points.len(), 12);
    assert_eq!(geo.len(), points.len());
    for (g, p) in geo.iter().zip(&points) {
        assert_eq!(g["id"], p["properties"]["id"]);
        assert_eq!(g["geometry"], p["geometry"]);
        let keys: BTreeSet<&str> = p["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "event_date",
                "event_type",
                "fatalities",
                "id",
                "sub_event_type",
                "tlp"
            ])
        );
        assert_eq!(
            p["properties"]["fatalities"],
            g["properties"]["fatalities"]["best"]
        );
        assert_eq!(p["properties"]["tlp"], "CLEAR");
    }
}

/// The features of an export of the Sahel's incidents in `fmt`.
async fn export_features(env: &Env, fmt: &str) -> Vec<Value> {
    let uri = format!("/api/v1/incidents/export?country=ML,BF,NE&format={fmt}");
    let (status, ctype, body) = get_raw(env, &uri).await;
    assert_eq!(status, StatusCode::OK, "{fmt}");
    assert_eq!(ctype, "application/geo+json", "{fmt}");
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["features"].as_array().unwrap().clone()
}

async fn errors_are_json_with_stable_codes(env: Env) {
    let (s, b) = get(
        &env,
        "/api/v1/incidents?bbox=1,2,3&limit=0&country=Atlantis",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["code"], "invalid_query_parameter");
    assert_eq!(b["type"], "invalid_request");
    let params: Vec<&str> = b["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["parameter"].as_str().unwrap())
        .collect();
    assert_eq!(params, vec!["bbox", "country", "limit"]);
    let (s, b) = get(&env, "/api/v1/incidents?contry=BF").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `contry`"),
        "{b}"
    );
    let (s, b) = get(&env, "/api/v1/incidents?cursor=garbage").await;
    assert_eq!(
        (s, b["details"][0]["parameter"].as_str()),
        (StatusCode::BAD_REQUEST, Some("cursor"))
    );
    let (s, b) = get(&env, "/api/v1/incidents/not-a-uuid").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("incident_not_found"))
    );
    let (s, b) = get(&env, "/api/v1/nothing-here").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("route_not_found"))
    );
    let (s, b) = get(&env, "/api/v1/incidents/counts?by=colour").await;
    assert_eq!(
        (s, b["details"][0]["parameter"].as_str()),
        (StatusCode::BAD_REQUEST, Some("by"))
    );
    let (s, b) = get(&env, "/api/v1/incidents/export?format=xlsx").await;
    assert_eq!(
        (s, b["details"][0]["parameter"].as_str()),
        (StatusCode::BAD_REQUEST, Some("format"))
    );
    let resp = router(public_state(&env))
        .oneshot(
            Request::delete("/api/v1/incidents")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["code"], "method_not_allowed");
}

async fn places_search_is_accent_insensitive_and_ranked(env: Env) {
    let (s, b) = get(&env, "/api/v1/places?q=tera").await;
    assert_eq!(s, StatusCode::OK);
    let items = b["items"].as_array().unwrap();
    assert_eq!(items[0]["id"], 2438855);
    assert_eq!(items[0]["name"], "Téra");
    assert_eq!(items[0]["display_name"], "Téra, Tillabéri, Niger");
    assert!(
        items.iter().any(|p| p["country"] != "NE"),
        "Tera elsewhere: {b}"
    );
    let (_, b) = get(&env, "/api/v1/places?q=TÉRA&country=NE").await;
    let items = b["items"].as_array().unwrap();
    assert!(items.len() >= 4);
    assert!(items.iter().all(|p| p["country"] == "NE"));
    let (s, b) = get(&env, "/api/v1/places?q=").await;
    assert_eq!(
        (s, b["details"][0]["parameter"].as_str()),
        (StatusCode::BAD_REQUEST, Some("q"))
    );
}

async fn openapi_document_matches_the_routes(env: Env) {
    let (s, doc) = get(&env, "/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    let paths: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let want: BTreeSet<String> = [
        "/api/v1/alerts",
        "/api/v1/alerts/stream",
        "/api/v1/alerts/{id}/ack",
        "/api/v1/convoys",
        "/api/v1/convoys/{id}",
        "/api/v1/convoys/{id}/end",
        "/api/v1/convoys/{id}/track",
        "/api/v1/positions",
        "/api/v1/positions/stats",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{id}",
        "/api/v1/analytics/approach",
        "/api/v1/analytics/brief",
        "/api/v1/analytics/change",
        "/api/v1/analytics/hotspots",
        "/api/v1/analytics/trend",
        "/api/v1/audit",
        "/api/v1/cases",
        "/api/v1/cases/{id}",
        "/api/v1/cases/{id}/steps",
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/basemap/admin1",
        "/api/v1/basemap/towns",
        "/api/v1/health",
        "/api/v1/incidents",
        "/api/v1/incidents/counts",
        "/api/v1/incidents/export",
        "/api/v1/incidents/{id}",
        "/api/v1/incidents/{id}/marking",
        "/api/v1/incidents/{id}/reports",
        "/api/v1/me",
        "/api/v1/me/password",
        "/api/v1/organisations",
        "/api/v1/places",
        "/api/v1/roads",
        "/api/v1/routes",
        "/api/v1/routes/saved",
        "/api/v1/routes/saved/{id}",
        "/api/v1/routes/saved/{id}/brief",
        "/api/v1/reports",
        "/api/v1/reports/extract",
        "/api/v1/reports/{id}",
        "/api/v1/reports/{id}/candidates",
        "/api/v1/reports/{id}/incident",
        "/api/v1/reports/{id}/links",
        "/api/v1/sharing-groups",
        "/api/v1/sharing-groups/{id}/members/{org}",
        "/api/v1/stix/bundle",
        "/api/v1/stream",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/users",
        "/api/v1/users/{id}",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(paths, want);
    // Every documented path is routed (answers something other than route_not_found).
    let (_, generated) = router_and_doc(public_state(&env));
    for p in generated.paths.paths.keys() {
        let uri = p.replace("{id}", &uuid::Uuid::new_v4().to_string());
        let uri = if uri.ends_with("/places") {
            format!("{uri}?q=x")
        } else if uri.ends_with("/stream") {
            format!("{uri}?follow=false")
        } else {
            uri
        };
        let (_, b) = get(&env, &uri).await;
        assert_ne!(b["code"], "route_not_found", "{p}");
    }
    let (s, health) = get(&env, "/api/v1/health").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(health["status"], "ok");
}

macro_rules! on_both_backends {
    ($($name:ident),+) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name(super::loaded(super::TestDb::sqlite().await).await).await }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name(super::loaded(super::TestDb::postgres().await).await).await }
            )+
        }
    };
}

on_both_backends!(
    filters_match_an_independent_sql_computation,
    near_takes_a_place_name_and_says_which,
    anonymous_callers_see_clear_only_on_every_path,
    geojson_output_is_valid,
    errors_are_json_with_stable_codes,
    places_search_is_accent_insensitive_and_ranked,
    openapi_document_matches_the_routes
);

/// A GET with headers, through a state with the public API off.
async fn get_with(env: &Env, uri: &str, headers: &[(&str, &str)]) -> axum::response::Response {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    router(AppState::new(Arc::clone(&env.app)))
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body_of(r: axum::response::Response) -> Vec<u8> {
    r.into_body().collect().await.unwrap().to_bytes().to_vec()
}

/// The web interface's files come from the binary with the right types,
/// caching and policy; nothing outside them is served; the base map's
/// layers need a signed-in caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_interface_files_and_base_map() {
    let env = loaded(TestDb::sqlite().await).await;
    let page = get_with(&env, "/", &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    let h = page.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    let html = String::from_utf8(body_of(page).await).unwrap();
    assert!(html.contains("/ui/app/main.js") && html.contains("maplibre-gl.css"));

    let js = get_with(&env, "/ui/app/main.js", &[]).await;
    assert_eq!(js.status(), StatusCode::OK);
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(js.headers()["cache-control"], "no-cache");
    let etag = js.headers()["etag"].to_str().unwrap().to_string();
    let again = get_with(&env, "/ui/app/main.js", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // The worker is a module next to MapLibre, immutable, and compressed on request.
    let worker = get_with(
        &env,
        "/ui/vendor/maplibre-gl-6.17.0/maplibre-gl-worker.mjs",
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(worker.status(), StatusCode::OK);
    assert_eq!(
        worker.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(worker.headers()["content-encoding"], "gzip");
    assert!(
        worker.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );

    for bad in [
        "/ui/nothing.js",
        "/ui/../Cargo.toml",
        "/ui/..%2F..%2FCargo.toml",
        "/ui/%2e%2e/src/lib.rs",
        "/ui/",
    ] {
        let r = get_with(&env, bad, &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
        let b: Value = serde_json::from_slice(&body_of(r).await).unwrap();
        assert_eq!(b["code"], "route_not_found", "{bad}");
    }

    // Base map layers: signed-in callers only.
    assert_eq!(
        get_with(&env, "/api/v1/basemap/admin1", &[]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let org = env.app.ensure_org("Public datasets").await.unwrap();
    let user = env
        .app
        .store()
        .create_user(sahelwatch_core::accounts::NewUser {
            org: org.id,
            username: "viewer".into(),
            display_name: "viewer".into(),
            role: sahelwatch_core::Role::Viewer,
            superadmin: false,
            password_hash: None,
        })
        .await
        .unwrap();
    let token = env.app.issue_token(&user, "t", None).await.unwrap().token;
    let auth = format!("Bearer {token}");
    let gz = get_with(
        &env,
        "/api/v1/basemap/admin1",
        &[("authorization", &auth), ("accept-encoding", "gzip, br")],
    )
    .await;
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let plain = get_with(&env, "/api/v1/basemap/admin1", &[("authorization", &auth)]).await;
    assert_eq!(plain.headers()["content-type"], "application/geo+json");
    assert!(plain.headers().get("content-encoding").is_none());
    let fc: Value = serde_json::from_slice(&body_of(plain).await).unwrap();
    assert_eq!(fc["features"].as_array().unwrap().len(), 325);

    let towns = get_with(
        &env,
        "/api/v1/basemap/towns?min_population=100000",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(towns.status(), StatusCode::OK);
    let fc: Value = serde_json::from_slice(&body_of(towns).await).unwrap();
    let pops: Vec<i64> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["population"].as_i64().unwrap())
        .collect();
    assert!(pops.len() > 20 && pops.iter().all(|p| *p >= 100_000));
    assert!(pops.windows(2).all(|w| w[0] >= w[1]), "largest first");
    let names: Vec<&str> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Niamey") && names.contains(&"Bamako"),
        "{names:?}"
    );
    let bad = get_with(
        &env,
        "/api/v1/basemap/towns?min_population=lots",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let b: Value = serde_json::from_slice(&body_of(bad).await).unwrap();
    assert_eq!(b["details"][0]["parameter"], "min_population");
}
