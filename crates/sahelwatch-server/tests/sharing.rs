//! Sharing out and in over HTTP, on real data (the UCDP GED sample, CLEAR,
//! and ACLED rows of an agency, AMBER): STIX bundles out and back in without
//! loss, refused bundles that change nothing, the TAXII 2.1 protocol, and the
//! live stream. Which items each organisation receives on these paths is
//! checked on random worlds in `access.rs`; here it is the protocols.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Resp, TestUser, get, send, send_bytes, user};
use http_body_util::BodyExt;
use sahelwatch_app::{App, ImportOptions, NoProgress};
use sahelwatch_core::{Marking, Role, Tlp};
use sahelwatch_ingest::IncidentFormat;
use sahelwatch_server::{AppState, router};
use sahelwatch_store::conformance::TestDb;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const TAXII: &str = "application/taxii+json;version=2.1";

fn open(dir: &str, name: &str) -> Box<dyn Read + Send> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(dir)
        .join(name);
    let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if name.ends_with(".gz") {
        Box::new(flate2::read::GzDecoder::new(f))
    } else {
        Box::new(f)
    }
}

struct Env {
    _db: TestDb,
    app: Arc<App>,
    state: AppState,
    /// An analyst of the agency that owns the AMBER rows.
    agency: TestUser,
    /// An analyst and a viewer of a partner organisation.
    partner: TestUser,
    partner_viewer: TestUser,
}

async fn loaded(db: TestDb) -> Env {
    let app = Arc::new(App::new(db.store.clone()));
    let public = app.ensure_org("Public datasets").await.unwrap();
    let agency_org = app.ensure_org("Agence de sécurité").await.unwrap();
    let partner_org = app.ensure_org("ONG partenaire").await.unwrap();
    let r = app
        .import_gazetteer(
            "cities",
            open(
                "../../data/starter",
                "geonames_cities500_sahel_region.tsv.gz",
            ),
            None,
            true,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert!(r.outcome.committed);
    for (format, dir, file, org, tlp, n) in [
        (
            IncidentFormat::Ucdp,
            "../../data/starter",
            "ucdp_ged_23_1_sample.csv.gz",
            public.id,
            Tlp::Clear,
            1000,
        ),
        (
            IncidentFormat::Acled,
            "../sahelwatch-app/tests/fixtures",
            "acled_current_sahel.csv",
            agency_org.id,
            Tlp::Amber,
            3,
        ),
    ] {
        let opts = ImportOptions {
            marking: Marking::new(org, tlp),
            strict: true,
        };
        let r = app
            .import_incidents(
                format,
                file,
                open(dir, file),
                None,
                &opts,
                Arc::new(NoProgress),
            )
            .await
            .unwrap();
        assert_eq!(r.outcome.inserted, n);
    }
    let agency = user(&app, agency_org.id, "agency", Role::Analyst).await;
    let partner = user(&app, partner_org.id, "partner", Role::Analyst).await;
    let partner_viewer = user(&app, partner_org.id, "partner-viewer", Role::Viewer).await;
    let state = AppState::new(Arc::clone(&app));
    Env {
        _db: db,
        app,
        state,
        agency,
        partner,
        partner_viewer,
    }
}

async fn post(state: &AppState, u: Option<&TestUser>, uri: &str, media: &str, body: &[u8]) -> Resp {
    let auth = u.map(|u| format!("Bearer {}", u.token));
    let mut headers = vec![("content-type", media), ("accept", TAXII)];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    send_bytes(state, "POST", uri, &headers, body.to_vec()).await
}

async fn taxii(state: &AppState, u: Option<&TestUser>, uri: &str, accept: &str) -> Resp {
    let auth = u.map(|u| format!("Bearer {}", u.token));
    let mut headers: Vec<(&str, &str)> = vec![("accept", accept)];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    send(state, "GET", uri, &headers, None).await
}

fn collection() -> String {
    format!(
        "/taxii2/api/collections/{}",
        *sahelwatch_app::taxii::COLLECTION_ID
    )
}

/// Every stored incident (any organisation), by (owner, dataset, external id).
type Stored = (
    Tlp,
    sahelwatch_core::IncidentData,
    chrono::DateTime<chrono::Utc>,
);

async fn everything(app: &App) -> BTreeMap<(i64, String, String), Stored> {
    // Row ids may have gaps (PostgreSQL sequences skip on upserts).
    let n = app.store().stats().await.unwrap().incidents as i64;
    let ids: Vec<i64> = (1..=n * 3 + 100).collect();
    app.store()
        .incidents_by_ids(&ids)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, i)| {
            let key = (
                i.marking.owner.0,
                i.data.dataset.clone().unwrap_or_default(),
                i.data.external_id.clone().unwrap_or_default(),
            );
            (key, (i.marking.tlp, i.data, i.updated_at))
        })
        .collect()
}

/// A bundle exported by one organisation and imported by another comes back
/// field for field, with its TLP; importing it again changes nothing.
async fn stix_round_trip_keeps_every_field(env: Env) {
    let r = get(
        &env.state,
        Some(&env.agency.token),
        "/api/v1/incidents/export?format=stix",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["content-type"],
        "application/stix+json;version=2.1"
    );
    let bundle = r.json();
    let incidents = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "incident")
        .count();
    assert_eq!(
        incidents, 1003,
        "the agency sees the sample and its own rows"
    );

    let before = everything(&env.app).await;
    let r = post(
        &env.state,
        Some(&env.partner),
        "/api/v1/stix/bundle",
        "application/stix+json",
        &r.body,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let out = r.json();
    assert_eq!(
        (out["incidents"].as_u64(), out["inserted"].as_u64()),
        (Some(1003), Some(1003))
    );

    let after = everything(&env.app).await;
    assert_eq!(after.len(), before.len() + 1003);
    let partner_org = env.partner.principal.org.0;
    let agency_org = env.agency.principal.org.0;
    for ((owner, ds, ext), (tlp, data, _)) in &before {
        if *owner == partner_org {
            continue;
        }
        let (ptlp, pdata, _) = after
            .get(&(partner_org, ds.clone(), ext.clone()))
            .unwrap_or_else(|| panic!("{ds}/{ext} was not imported"));
        assert_eq!(ptlp, tlp, "{ds}/{ext}: TLP");
        assert_eq!(pdata, data, "{ds}/{ext}: every field comes back");
        if *owner == agency_org {
            assert_eq!(*tlp, Tlp::Amber);
        }
    }

    // Again, now that the agency also sees the partner's CLEAR copies (which
    // carry the same dataset keys): nothing changes.
    let r = get(
        &env.state,
        Some(&env.agency.token),
        "/api/v1/incidents/export?format=stix",
    )
    .await;
    let stored = everything(&env.app).await;
    let again = post(
        &env.state,
        Some(&env.partner),
        "/api/v1/stix/bundle",
        "application/json",
        &r.body,
    )
    .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["incidents"], 2003);
    assert_eq!(again.json()["unchanged"], 2003);
    assert!(
        everything(&env.app).await == stored,
        "not a field, not a time changed"
    );
}

/// Malformed bundles, unknown markings, oversized bodies, wrong media types
/// and callers who may not write: a clear 4xx, and nothing stored.
async fn bad_bundles_are_refused_and_change_nothing(env: Env) {
    let good = get(
        &env.state,
        Some(&env.agency.token),
        "/api/v1/incidents/export?format=stix&country=BF",
    )
    .await;
    let good = good.json();
    let incident = good["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "incident")
        .unwrap()
        .clone();
    let with = |objects: Vec<Value>| {
        json!({"type": "bundle", "id": "bundle--6b4a3b1c-9a43-4a5e-8f3f-1b6c9c1a2b3d", "objects": objects}).to_string()
    };
    let mut unknown_marking = incident.clone();
    unknown_marking["object_marking_refs"] =
        json!(["marking-definition--0a8c2d0e-5b0d-4d3a-9c1e-2f1a3b4c5d6e"]);
    let mut bad_date = incident.clone();
    bad_date["id"] = json!("incident--0b8c2d0e-5b0d-4d3a-9c1e-2f1a3b4c5d6e");
    let ext = sahelwatch_app::stix::EXTENSION_ID.as_str();
    bad_date["extensions"][ext]["incident"]["event_date"] = json!("2025-02-30");
    let mut no_ext = incident.clone();
    no_ext.as_object_mut().unwrap().remove("extensions");
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("not JSON", "application/json", b"{\"type\": \"bundle\", \"objects\": [".to_vec(), 400, "not valid JSON"),
        ("not a bundle", "application/json", b"{\"type\": \"indicator\"}".to_vec(), 400, "expected a STIX bundle"),
        ("no objects", "application/json", b"{\"type\": \"bundle\"}".to_vec(), 400, "array of STIX objects"),
        ("unknown marking", "application/json", with(vec![unknown_marking]).into_bytes(), 400, "unknown marking definition 'marking-definition--0a8c2d0e"),
        ("one bad among good", "application/json", with(vec![incident.clone(), bad_date]).into_bytes(), 400, "objects[1]"),
        ("no extension", "application/json", with(vec![no_ext]).into_bytes(), 400, "lacks the sahelwatch extension"),
        ("custom marking definition", "application/json", with(vec![json!({"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--1b8c2d0e-5b0d-4d3a-9c1e-2f1a3b4c5d6e", "created": "2025-01-01T00:00:00Z", "name": "secret"})]).into_bytes(), 400, "only the TLP marking definitions"),
        ("wrong media type", "text/plain", with(vec![incident.clone()]).into_bytes(), 415, "Content-Type"),
        ("oversized", "application/json", vec![b' '; (64 << 20) + 1], 413, "larger than 64 MiB"),
    ];
    let seq = env.app.store().incident_seq().await.unwrap();
    for (what, media, body, status, says) in cases {
        let r = post(
            &env.state,
            Some(&env.partner),
            "/api/v1/stix/bundle",
            media,
            &body,
        )
        .await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text());
        assert!(r.text().contains(says), "{what}: {}", r.text());
        assert_eq!(
            env.app.store().incident_seq().await.unwrap(),
            seq,
            "{what} changed nothing"
        );
    }
    // Viewers may not import; anonymous callers are asked to authenticate.
    let body = with(vec![incident.clone()]);
    let r = post(
        &env.state,
        Some(&env.partner_viewer),
        "/api/v1/stix/bundle",
        "application/json",
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = post(
        &env.state,
        None,
        "/api/v1/stix/bundle",
        "application/json",
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(env.app.store().incident_seq().await.unwrap(), seq);
    // And the good bundle goes in.
    let r = post(
        &env.state,
        Some(&env.partner),
        "/api/v1/stix/bundle",
        "application/json",
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["inserted"], 1);
}

/// Discovery, API root, collections, paging, filters, errors, POST and
/// status, as the TAXII 2.1 specification has them.
async fn taxii_speaks_the_protocol(env: Env) {
    let s = &env.state;
    let p = Some(&env.partner);
    // Discovery and API root.
    let r = taxii(s, p, "/taxii2/", TAXII).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], TAXII);
    assert_eq!(r.json()["api_roots"][0], "/taxii2/api/");
    let r = taxii(s, p, "/taxii2/api/", TAXII).await;
    assert_eq!(r.json()["versions"][0], TAXII);
    // Authentication and content negotiation, with TAXII error bodies.
    let r = taxii(s, None, "/taxii2/", TAXII).await;
    assert_eq!(r.status, 401);
    assert!(r.headers.contains_key("www-authenticate"));
    assert_eq!(r.json()["http_status"], "401");
    let r = taxii(s, p, "/taxii2/", "application/json").await;
    assert_eq!(r.status, 406);
    // Collections: one, readable by all, writable by analysts.
    let r = taxii(s, p, "/taxii2/api/collections/", TAXII).await;
    let c = &r.json()["collections"][0];
    assert_eq!(
        (c["can_read"].as_bool(), c["can_write"].as_bool()),
        (Some(true), Some(true))
    );
    let r = taxii(
        s,
        Some(&env.partner_viewer),
        &format!("{}/", collection()),
        TAXII,
    )
    .await;
    assert_eq!(r.json()["can_write"], false);
    let r = taxii(
        s,
        p,
        "/taxii2/api/collections/6b4a3b1c-9a43-4a5e-8f3f-1b6c9c1a2b3d/objects/",
        TAXII,
    )
    .await;
    assert_eq!(r.status, 404);
    // Bad parameters.
    for q in [
        "limit=0",
        "limit=x",
        "next=garbage",
        "added_after=yesterday",
        "match[type]=",
        "colour=red",
    ] {
        let r = taxii(s, p, &format!("{}/objects/?{q}", collection()), TAXII).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert_eq!(r.json()["http_status"], "400", "{q}");
    }
    // match[type]: only what was asked for.
    let r = taxii(
        s,
        p,
        &format!("{}/objects/?match[type]=location&limit=50", collection()),
        TAXII,
    )
    .await;
    let objects = r.json()["objects"].as_array().unwrap().clone();
    assert_eq!(objects.len(), 50);
    assert!(objects.iter().all(|o| o["type"] == "location"));
    assert_eq!(r.json()["more"], true);
    // added_after: strictly after the last object of the first page.
    let r = taxii(
        s,
        p,
        &format!("{}/objects/?match[type]=incident&limit=10", collection()),
        TAXII,
    )
    .await;
    let last = r.headers["x-taxii-date-added-last"]
        .to_str()
        .unwrap()
        .to_string();
    let first = r.headers["x-taxii-date-added-first"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(first <= last);
    // The sample was one import (one commit time); the agency's three AMBER
    // rows came later, and only the agency sees them.
    let r = taxii(
        s,
        Some(&env.agency),
        &format!(
            "{}/manifest/?match[type]=incident&limit=5000&added_after={last}",
            collection()
        ),
        TAXII,
    )
    .await;
    let later = r.json()["objects"].as_array().unwrap().clone();
    assert_eq!(later.len(), 3);
    let r = taxii(
        s,
        p,
        &format!(
            "{}/manifest/?match[type]=incident&limit=5000&added_after={last}",
            collection()
        ),
        TAXII,
    )
    .await;
    assert_eq!(r.json()["objects"], Value::Null, "{}", r.text());
    assert_eq!(r.json()["more"], false);
    assert!(
        later
            .iter()
            .all(|m| m["date_added"].as_str().unwrap() > last.as_str())
    );
    // POST an envelope: the incident is stored, derived objects are reported
    // as not stored, and the status can be fetched by its poster only.
    let bundle = get(
        s,
        Some(&env.agency.token),
        "/api/v1/incidents/export?format=stix&country=BF",
    )
    .await
    .json();
    let objects: Vec<Value> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "incident" || o["type"] == "location")
        .take(2)
        .cloned()
        .collect();
    assert_eq!(objects[0]["type"], "incident");
    let envelope = json!({ "objects": objects }).to_string();
    let r = post(
        s,
        Some(&env.partner_viewer),
        &format!("{}/objects/", collection()),
        TAXII,
        envelope.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = post(
        s,
        p,
        &format!("{}/objects/", collection()),
        TAXII,
        envelope.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let status = r.json();
    assert_eq!(status["status"], "complete");
    assert_eq!(
        (
            status["success_count"].as_u64(),
            status["failure_count"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let id = status["id"].as_str().unwrap();
    let r = taxii(s, p, &format!("/taxii2/api/status/{id}/"), TAXII).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), status);
    let r = taxii(
        s,
        Some(&env.agency),
        &format!("/taxii2/api/status/{id}/"),
        TAXII,
    )
    .await;
    assert_eq!(r.status, 404, "another organisation's status is not found");
    // A bad envelope: TAXII error, nothing stored.
    let seq = env.app.store().incident_seq().await.unwrap();
    let r = post(
        s,
        p,
        &format!("{}/objects/", collection()),
        TAXII,
        b"{\"objects\": [{\"type\": \"incident\"}]}",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["http_status"], "400");
    assert_eq!(env.app.store().incident_seq().await.unwrap(), seq);
    // Versions and match[version].
    let iid = objects[0]["id"].as_str().unwrap();
    let r = taxii(
        s,
        p,
        &format!("{}/objects/{iid}/versions/", collection()),
        TAXII,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(!r.json()["versions"].as_array().unwrap().is_empty());
    let r = taxii(
        s,
        p,
        &format!("{}/objects/{iid}/?match[version]=all", collection()),
        TAXII,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.json()["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["id"] == iid)
    );
}

/// Parse server-sent events into (event, id, data).
fn events(text: &str) -> Vec<(String, String, String)> {
    text.split("\n\n")
        .filter_map(|block| {
            let (mut e, mut id, mut data) = (String::new(), String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    e = v.trim().into();
                } else if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().into();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            (!e.is_empty()).then_some((e, id, data))
        })
        .collect()
}

/// The live stream resumes from an event id, filters like the search, shows
/// each subscriber only what it may see, and ends when the credential goes.
async fn stream_resumes_filters_and_ends(env: Env) {
    let s = &env.state;
    let r = get(s, Some(&env.partner.token), "/api/v1/stream?follow=false").await;
    let ev = events(&r.text());
    assert_eq!(ev[0].0, "ready");
    assert_eq!(
        ev.last().unwrap(),
        &("end".to_string(), String::new(), "caught up".to_string())
    );
    let from = ev[0].1.clone();
    // New writes: one AMBER incident of the agency, one CLEAR.
    let template = get(
        s,
        Some(&env.agency.token),
        "/api/v1/incidents?country=BF&limit=1",
    )
    .await
    .json()["items"][0]
        .clone();
    let mut data = template.clone();
    for k in [
        "id",
        "event_type",
        "country_name",
        "owner_org",
        "tlp",
        "coarsen",
        "created_at",
        "updated_at",
        "dataset",
        "external_id",
    ] {
        data.as_object_mut().unwrap().remove(k);
    }
    for tlp in ["AMBER", "CLEAR"] {
        data["notes"] = json!(format!("stream test {tlp}"));
        let auth = format!("Bearer {}", env.agency.token);
        let body = json!({"incident": data, "marking": {"tlp": tlp}}).to_string();
        let r = send(
            s,
            "POST",
            "/api/v1/incidents",
            &[("authorization", auth.as_str())],
            Some(&body),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let notes = |token: &str, query: String| {
        let token = token.to_string();
        async move {
            let r = get(s, Some(&token), &query).await;
            assert_eq!(r.status, 200, "{}", r.text());
            events(&r.text())
                .into_iter()
                .filter(|e| e.0 == "incident")
                .map(|e| {
                    serde_json::from_str::<Value>(&e.2).unwrap()["notes"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect::<Vec<_>>()
        }
    };
    let after = format!("/api/v1/stream?follow=false&last_event_id={from}");
    assert_eq!(
        notes(&env.agency.token, after.clone()).await,
        ["stream test AMBER", "stream test CLEAR"]
    );
    assert_eq!(
        notes(&env.partner.token, after.clone()).await,
        ["stream test CLEAR"]
    );
    assert!(
        notes(&env.partner.token, format!("{after}&country=ML"))
            .await
            .is_empty()
    );
    // Last-Event-ID header, as browsers send it on reconnection.
    let auth = format!("Bearer {}", env.partner.token);
    let r = send(
        s,
        "GET",
        "/api/v1/stream?follow=false",
        &[
            ("authorization", auth.as_str()),
            ("last-event-id", from.as_str()),
        ],
        None,
    )
    .await;
    assert_eq!(
        events(&r.text())
            .iter()
            .filter(|e| e.0 == "incident")
            .count(),
        1
    );
    // Bad parameters.
    for q in ["last_event_id=yesterday", "follow=maybe", "country=XX"] {
        let r = get(s, Some(&env.partner.token), &format!("/api/v1/stream?{q}")).await;
        assert_eq!(r.status, 400, "{q}");
    }
    // A followed stream ends when its token is revoked.
    let req = Request::builder()
        .uri("/api/v1/stream")
        .header("authorization", &auth)
        .body(Body::empty())
        .unwrap();
    let resp = router(s.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let mut seen = String::new();
    let tokens = get(s, Some(&env.partner.token), "/api/v1/tokens")
        .await
        .json();
    let tid = tokens["items"][0]["id"].as_str().unwrap().to_string();
    let r = send(
        s,
        "DELETE",
        &format!("/api/v1/tokens/{tid}"),
        &[("authorization", auth.as_str())],
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let ended = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                seen.push_str(&String::from_utf8_lossy(&data));
                if seen.contains("event: end") {
                    return true;
                }
            }
        }
        false
    })
    .await;
    assert_eq!(ended, Ok(true), "{seen}");
    assert!(seen.contains("no longer valid"), "{seen}");
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
    stix_round_trip_keeps_every_field,
    bad_bundles_are_refused_and_change_nothing,
    taxii_speaks_the_protocol,
    stream_resumes_filters_and_ends
);
