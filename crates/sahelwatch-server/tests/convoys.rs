//! Convoys over HTTP and the OsmAnd protocol, on the real Burkina Faso road
//! lines, with two organisations, on SQLite and PostgreSQL:
//! - the agency registers a convoy on its saved route Ouagadougou-Dori; its
//!   SYNTHETIC AMBER incident on the road makes a high-risk stretch there;
//! - the NGO registers a convoy on the same road as GeoJSON: it cannot see
//!   the incident, so its road carries no risk and it is never warned;
//! - positions by OsmAnd and JSON: accepted, duplicate, late, skewed,
//!   refused (named), unknown device and wrong secret (counted);
//! - alerts: high-risk stretch, SOS, a fresh incident ahead, loss of
//!   contact; each reaches its own organisation's list, stream and webhook
//!   only; acknowledgement once, by an operator, not by a viewer;
//! - the webhook is signed (HMAC-SHA256) and retried after a failure;
//! - the track comes back as GeoJSON; another organisation gets 404.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{TestUser, import_bf_roads, import_region_gazetteer, send, user};
use http_body_util::BodyExt;
use sahelwatch_app::App;
use sahelwatch_app::tracker::{TrackingOptions, sign};
use sahelwatch_core::Role;
use sahelwatch_server::{AppState, osmand_router};
use sahelwatch_store::conformance::TestDb;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

struct World {
    _db: TestDb,
    state: AppState,
    analyst: TestUser,
    operator: TestUser,
    viewer: TestUser,
    ngo: TestUser,
}

async fn world(db: TestDb) -> World {
    let app = Arc::new(App::new(db.store.clone()));
    let agency = app.ensure_org("agency").await.unwrap();
    let ngo = app.ensure_org("ngo").await.unwrap();
    import_region_gazetteer(&app).await;
    import_bf_roads(&app).await;
    World {
        analyst: user(&app, agency.id, "analyst", Role::Analyst).await,
        operator: user(&app, agency.id, "operator", Role::Operator).await,
        viewer: user(&app, agency.id, "viewer", Role::Viewer).await,
        ngo: user(&app, ngo.id, "ngo-operator", Role::Operator).await,
        state: AppState::new(app),
        _db: db,
    }
}

async fn call(
    w: &World,
    who: &TestUser,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (u16, Value) {
    common::call(&w.state, who, method, uri, body).await
}

/// An OsmAnd request as the Traccar Client sends it.
async fn osmand(w: &World, method: &str, query: &str) -> (u16, String) {
    let req = Request::builder()
        .method(method)
        .uri(format!("/?{query}"))
        .body(Body::empty())
        .unwrap();
    let resp = osmand_router(w.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn fix(device: &str, key: &str, p: [f64; 2], t: i64, extra: &str) -> String {
    format!(
        "id={device}&key={key}&lat={}&lon={}&timestamp={t}&speed=20&bearing=45&altitude=300&accuracy=8&batt=77{extra}",
        p[1], p[0]
    )
}

/// A SYNTHETIC AMBER IED of the agency at `p`.
async fn incident(w: &World, p: [f64; 2], date: &str) {
    let body = json!({
        "incident": {
            "event_date": date,
            "time_precision": 1,
            "sub_event_type": "Remote explosive/landmine/IED",
            "fatalities": {"best": 3},
            "notes": "SYNTHETIC test incident: a vehicle struck by an IED on the road.",
            "location": {"country": "BF", "latitude": p[1], "longitude": p[0], "geo_precision": 1}
        },
        "marking": {"tlp": "AMBER"}
    });
    let (s, v) = call(w, &w.analyst, "POST", "/api/v1/incidents", Some(body)).await;
    assert_eq!(s, 201, "{v}");
}

/// Reads server-sent events from a stream for `wait`, returning the
/// alert events' data.
async fn alert_events(state: AppState, token: String, wait: Duration) -> Vec<Value> {
    let req = Request::builder()
        .uri("/api/v1/alerts/stream")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = sahelwatch_server::router(state).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, body.frame()).await {
        if let Ok(d) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&d));
        }
    }
    text.split("\n\n")
        .filter(|e| e.contains("event: alert"))
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

/// A webhook receiver: records each request; answers 500 to the first.
async fn receiver() -> (String, Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>) {
    let got: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
    let g = Arc::clone(&got);
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap, body: String| {
        let g = Arc::clone(&g);
        async move {
            let mut v = g.lock().unwrap();
            v.push((headers, body));
            if v.len() == 1 {
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            } else {
                axum::http::StatusCode::OK
            }
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, got)
}

fn kinds(alerts: &[Value]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn convoy_tracking(db: TestDb) {
    let w = world(db).await;
    let now = chrono::Utc::now();
    let today = now.date_naive();

    // The agency's saved route, and its incident on the road a third of the way.
    let (s, saved) = call(
        &w,
        &w.analyst,
        "POST",
        "/api/v1/routes/saved",
        Some(json!({"name": "Ouaga-Dori", "route": {"from": "Ouagadougou", "to": "Dori", "mode": "fastest"}})),
    )
    .await;
    assert_eq!(s, 201, "{saved}");
    let (_, plan) = call(
        &w,
        &w.analyst,
        "POST",
        "/api/v1/routes",
        Some(json!({"from": "Ouagadougou", "to": "Dori", "mode": "fastest"})),
    )
    .await;
    let line: Vec<[f64; 2]> =
        serde_json::from_value(plan["routes"][0]["geometry"].clone()).unwrap();
    let at = |f: f64| line[((line.len() - 1) as f64 * f) as usize];
    incident(&w, at(0.33), &(today - chrono::Days::new(2)).to_string()).await;

    // The webhook receivers of this test listen on loopback.
    w.state.app.set_webhooks_allow_private(true);
    w.state
        .app
        .start_tracking(TrackingOptions {
            tick: Duration::from_millis(100),
            webhook_poll: Duration::from_millis(100),
            webhook_first_retry: Duration::from_millis(200),
        })
        .await
        .unwrap();
    let (hook_url, hook_got) = receiver().await;
    let (s, hook) = call(
        &w,
        &w.analyst,
        "POST",
        "/api/v1/webhooks",
        Some(json!({"url": hook_url, "min_severity": "critical"})),
    )
    .await;
    assert_eq!(s, 201, "{hook}");
    let hook_secret = hook["secret"].as_str().unwrap().to_string();
    let (ngo_hook_url, ngo_hook_got) = receiver().await;
    let (s, _) = call(
        &w,
        &w.ngo,
        "POST",
        "/api/v1/webhooks",
        Some(json!({"url": ngo_hook_url, "min_severity": "info"})),
    )
    .await;
    assert_eq!(s, 201);

    // Bad registrations are refused, each field named; nothing is stored.
    let (s, v) = call(
        &w,
        &w.operator,
        "POST",
        "/api/v1/convoys",
        Some(json!({"name": "", "route": {"saved": 999}, "vehicles": [{"name": "A", "device": "bad id!"}, {"name": "B", "device": "t", "secret": "short"}],
                    "interval_s": 0, "geofences": [{"name": "x", "center": [200, 0], "radius_m": 10}],
                    "thresholds": {"off_route_m": -1}})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let named: Vec<&str> = v["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["parameter"].as_str().unwrap())
        .collect();
    for f in [
        "name",
        "vehicles[0].device",
        "vehicles[1].secret",
        "interval_s",
        "geofences[0].center",
        "thresholds",
        "route.saved",
    ] {
        assert!(named.contains(&f), "{f} not named in {v}");
    }
    assert!(
        !v.to_string().contains("short"),
        "a secret is never echoed: {v}"
    );
    let (s, v) = call(
        &w,
        &w.viewer,
        "POST",
        "/api/v1/convoys",
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(s, 403, "{v}");

    // The agency's convoy on its saved route; the NGO's on the same road.
    let thresholds = json!({"high_risk": 0.2, "separation_km": 50});
    let (s, agency) = call(
        &w,
        &w.operator,
        "POST",
        "/api/v1/convoys",
        Some(json!({"name": "Dori run", "route": {"saved": saved["id"]},
                    "vehicles": [{"name": "Lead", "device": "ag-1"}, {"name": "Truck", "device": "ag-2", "secret": "truck-secret-0123456"}],
                    "interval_s": 3600, "escort": true, "thresholds": thresholds,
                    "geofences": [{"name": "Kaya checkpoint", "center": at(0.45), "radius_m": 2000}]})),
    )
    .await;
    assert_eq!(s, 201, "{agency}");
    assert_eq!(agency["tlp"], "AMBER");
    assert_eq!(agency["route_source"], "saved route 'Ouaga-Dori'");
    assert!(
        (agency["distance_km"].as_f64().unwrap() - saved["distance_km"].as_f64().unwrap()).abs()
            < 1.0
    );
    let lead_key = agency["vehicles"][0]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        agency["vehicles"][1].get("secret").is_none(),
        "a given secret is not shown"
    );
    let agency_id = agency["id"].as_str().unwrap().to_string();
    let (s, taken) = call(
        &w,
        &w.ngo,
        "POST",
        "/api/v1/convoys",
        Some(
            json!({"name": "dup", "route": {"geojson": {"type": "LineString", "coordinates": line}},
                    "vehicles": [{"name": "V", "device": "ag-1"}]}),
        ),
    )
    .await;
    assert_eq!(s, 409, "{taken}");
    let (s, ngo) = call(
        &w,
        &w.ngo,
        "POST",
        "/api/v1/convoys",
        Some(json!({"name": "NGO run", "route": {"geojson": {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": line}}},
                    "vehicles": [{"name": "Van", "device": "ngo-1"}], "interval_s": 1, "thresholds": thresholds})),
    )
    .await;
    assert_eq!(s, 201, "{ngo}");
    let ngo_key = ngo["vehicles"][0]["secret"].as_str().unwrap().to_string();
    let ngo_id = ngo["id"].as_str().unwrap().to_string();
    // A TLP:GREEN convoy of the agency, on the same road, without trackers
    // reporting yet: the NGO may see it, but not the agency's AMBER incidents
    // it will be warned of.
    let (s, green) = call(
        &w,
        &w.operator,
        "POST",
        "/api/v1/convoys",
        Some(json!({"name": "Shared run", "marking": {"tlp": "GREEN"},
                    "route": {"geojson": {"type": "LineString", "coordinates": line}},
                    "vehicles": [{"name": "Bus", "device": "ag-g1"}], "interval_s": 3600})),
    )
    .await;
    assert_eq!(s, 201, "{green}");
    let green_id = green["id"].as_str().unwrap().to_string();

    // Each organisation sees its own convoys and the shared one only.
    let (_, list) = call(&w, &w.ngo, "GET", "/api/v1/convoys", None).await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![green_id.as_str(), ngo_id.as_str()]);
    let (s, _) = call(
        &w,
        &w.ngo,
        "GET",
        &format!("/api/v1/convoys/{agency_id}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = call(
        &w,
        &w.ngo,
        "GET",
        &format!("/api/v1/convoys/{agency_id}/track"),
        None,
    )
    .await;
    assert_eq!(s, 404);

    let agency_stream = tokio::spawn(alert_events(
        w.state.clone(),
        w.viewer.token.clone(),
        Duration::from_secs(6),
    ));
    let ngo_stream = tokio::spawn(alert_events(
        w.state.clone(),
        w.ngo.token.clone(),
        Duration::from_secs(6),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Drive both along the road, through the incident's stretch.
    let t0 = now.timestamp() - 600;
    for (k, f) in [0.30, 0.31, 0.32, 0.33, 0.34].iter().enumerate() {
        let t = t0 + 60 * k as i64;
        let (s, b) = osmand(&w, "GET", &fix("ag-1", &lead_key, at(*f), t, "")).await;
        assert_eq!((s, b.as_str()), (200, ""), "lead at {f}");
        let (s, b) = osmand(
            &w,
            "POST",
            &fix("ag-2", "truck-secret-0123456", at(*f - 0.002), t, ""),
        )
        .await;
        assert_eq!((s, b.as_str()), (200, ""), "truck at {f}");
        let (s, b) = osmand(&w, "GET", &fix("ngo-1", &ngo_key, at(*f), t, "")).await;
        assert_eq!((s, b.as_str()), (200, ""), "van at {f}");
    }
    // The same position again, an older one, one from the future, bad ones.
    let last = t0 + 240;
    assert_eq!(
        osmand(&w, "GET", &fix("ag-1", &lead_key, at(0.34), last, ""))
            .await
            .0,
        200
    );
    assert_eq!(
        osmand(&w, "GET", &fix("ag-1", &lead_key, at(0.30), t0 - 60, ""))
            .await
            .0,
        200
    );
    let (s, b) = osmand(
        &w,
        "GET",
        &fix("ag-1", &lead_key, [-1.5, 95.0], last + 60, ""),
    )
    .await;
    assert_eq!(s, 200);
    assert!(b.starts_with("refused:") && b.contains("95"), "{b}");
    let (s, b) = osmand(&w, "GET", "id=ag-1&lat=12&lon=abc").await;
    assert_eq!(s, 400);
    assert!(b.contains("lon") && b.contains("abc"), "{b}");
    let (s, b) = osmand(
        &w,
        "GET",
        &fix("ag-1", "wrong-secret-000000", at(0.34), last + 60, ""),
    )
    .await;
    assert_eq!(s, 401, "{b}");
    let (s, b) = osmand(
        &w,
        "GET",
        &fix("nobody", "whatever-secret-00", at(0.34), last + 60, ""),
    )
    .await;
    assert_eq!(s, 401);
    assert!(b.contains("'nobody'"), "{b}");
    // SOS from the truck, by JSON, with a position from an hour ahead (skew).
    let r = send(
        &w.state,
        "POST",
        "/api/v1/positions",
        &[],
        Some(
            &json!({"positions": [
                {"device": "ag-2", "secret": "truck-secret-0123456", "time": (now.timestamp() + 1800) * 1000,
                 "lat": at(0.34)[1], "lon": at(0.34)[0], "sos": true, "battery": 15.5},
                {"device": "ag-2", "lat": 12.0},
                {"device": "ag-2", "secret": "truck-secret-0123456", "lat": 12.0, "lon": -1.5, "speed_kmh": 900}
            ]})
            .to_string(),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        (v["acknowledged"].as_u64(), v["refused"].as_u64()),
        (Some(1), Some(2)),
        "{v}"
    );
    assert_eq!(v["results"][0]["status"], "skewed", "{v}");
    assert!(
        v["results"][1]["message"]
            .as_str()
            .unwrap()
            .contains("positions[1]"),
        "{v}"
    );
    assert!(
        v["results"][2]["message"].as_str().unwrap().contains("900"),
        "{v}"
    );

    // A fresh incident ahead of the agency's convoy.
    incident(&w, at(0.8), &today.to_string()).await;
    // Loss of contact of the NGO's van (expected every second).
    tokio::time::sleep(Duration::from_millis(3_800)).await;

    let (_, mine) = call(&w, &w.viewer, "GET", "/api/v1/alerts", None).await;
    let mine = mine.as_array().unwrap().clone();
    let k = kinds(&mine);
    for want in ["high_risk", "sos", "incident_ahead"] {
        assert!(k.contains(&want.to_string()), "{want} not in {k:?}");
    }
    assert!(
        mine.iter()
            .all(|a| a["convoy"] == agency_id.as_str() || a["convoy"] == green_id.as_str())
    );
    // The shared convoy was warned of the incident ahead too (its owner may see it).
    assert!(
        mine.iter()
            .any(|a| a["convoy"] == green_id.as_str() && a["kind"] == "incident_ahead"),
        "{k:?}"
    );
    let high = mine.iter().find(|a| a["kind"] == "high_risk").unwrap();
    assert_eq!(high["vehicle"], "Lead");
    assert!(
        high["message"]
            .as_str()
            .unwrap()
            .contains("high-risk stretch"),
        "{high}"
    );
    let ahead = mine.iter().find(|a| a["kind"] == "incident_ahead").unwrap();
    assert!(
        ahead["message"].as_str().unwrap().contains("ahead"),
        "{ahead}"
    );

    let (_, theirs) = call(&w, &w.ngo, "GET", "/api/v1/alerts", None).await;
    let theirs = theirs.as_array().unwrap().clone();
    let tk = kinds(&theirs);
    assert!(tk.contains(&"lost_contact".to_string()), "{tk:?}");
    for never in ["high_risk", "incident_ahead", "sos"] {
        assert!(
            !tk.contains(&never.to_string()),
            "the NGO got {never}: {tk:?}"
        );
    }
    // None of it reaches the NGO, though it may see the shared convoy: the
    // alert tells of an incident it may not see.
    assert!(theirs.iter().all(|a| a["convoy"] == ngo_id.as_str()));
    let (s, _) = call(
        &w,
        &w.ngo,
        "GET",
        &format!("/api/v1/alerts?convoy={agency_id}"),
        None,
    )
    .await;
    assert_eq!(s, 404);

    // The streams carried the same, each to its own organisation.
    let seen = agency_stream.await.unwrap();
    assert!(
        kinds(&seen).contains(&"sos".to_string()),
        "{:?}",
        kinds(&seen)
    );
    assert!(
        seen.iter()
            .all(|a| a["convoy"] == agency_id.as_str() || a["convoy"] == green_id.as_str())
    );
    let seen = ngo_stream.await.unwrap();
    assert!(kinds(&seen).contains(&"lost_contact".to_string()));
    assert!(
        seen.iter().all(|a| a["convoy"] == ngo_id.as_str()),
        "{seen:?}"
    );

    // Acknowledgement: not by a viewer, once by an operator, then a conflict.
    let sos = mine.iter().find(|a| a["kind"] == "sos").unwrap();
    let uri = format!("/api/v1/alerts/{}/ack", sos["id"]);
    assert_eq!(call(&w, &w.viewer, "POST", &uri, None).await.0, 403);
    assert_eq!(call(&w, &w.ngo, "POST", &uri, None).await.0, 404);
    let (s, acked) = call(
        &w,
        &w.operator,
        "POST",
        &uri,
        Some(json!({"note": "escort sent"})),
    )
    .await;
    assert_eq!(s, 200, "{acked}");
    assert_eq!(acked["acknowledged"]["by"], "operator");
    assert_eq!(acked["acknowledged"]["note"], "escort sent");
    let (s, again) = call(&w, &w.analyst, "POST", &uri, None).await;
    assert_eq!(s, 409);
    assert!(
        again["message"].as_str().unwrap().contains("operator"),
        "{again}"
    );
    let (_, open) = call(
        &w,
        &w.viewer,
        "GET",
        "/api/v1/alerts?unacknowledged=true",
        None,
    )
    .await;
    assert!(open.as_array().unwrap().iter().all(|a| a["kind"] != "sos"));

    // The webhook: the critical SOS, refused once (500), then delivered, signed.
    let mut delivered = Vec::new();
    for _ in 0..50 {
        delivered = hook_got.lock().unwrap().clone();
        if delivered.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivered.len() >= 2, "{} webhook requests", delivered.len());
    for (h, body) in &delivered {
        let ts: i64 = h["x-sahelwatch-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            h["x-sahelwatch-signature"].to_str().unwrap(),
            format!("sha256={}", sign(&hook_secret, ts, body))
        );
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["alert"]["severity"], "critical");
        assert_eq!(v["alert"]["convoy"], agency_id.as_str());
    }
    let (_, hooks) = call(&w, &w.analyst, "GET", "/api/v1/webhooks", None).await;
    let d = &hooks[0]["deliveries"][0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("delivered"), Some(2)),
        "{hooks}"
    );
    assert!(hooks[0].get("secret").is_none());
    // The NGO's webhook got its own alerts only.
    let got = ngo_hook_got.lock().unwrap().clone();
    assert!(!got.is_empty());
    assert!(
        got.iter()
            .all(|(_, b)| b.contains(&ngo_id) && !b.contains(&agency_id))
    );

    // The track as GeoJSON: the lead's 5 positions and the late one, by time.
    let (s, track) = call(
        &w,
        &w.viewer,
        "GET",
        &format!("/api/v1/convoys/{agency_id}/track"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(track["type"], "FeatureCollection");
    let points: Vec<&Value> = track["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["geometry"]["type"] == "Point" && f["properties"]["vehicle"] == "Lead")
        .collect();
    assert_eq!(points.len(), 6, "{track}");
    assert_eq!(points[0]["properties"]["outcome"], "late");
    assert_eq!(points[1]["properties"]["battery"], 77.0);
    assert!(
        (points[1]["properties"]["speed_kmh"].as_f64().unwrap() - 37.04).abs() < 0.01,
        "knots"
    );
    let lines = track["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["geometry"]["type"] == "LineString")
        .count();
    assert_eq!(lines, 2);
    let window = format!(
        "/api/v1/convoys/{agency_id}/track?from={}&to={}",
        chrono::DateTime::from_timestamp(t0 + 60, 0)
            .unwrap()
            .to_rfc3339()
            .replace('+', "%2B"),
        chrono::DateTime::from_timestamp(t0 + 180, 0)
            .unwrap()
            .to_rfc3339()
            .replace('+', "%2B"),
    );
    let (s, part) = call(&w, &w.viewer, "GET", &window, None).await;
    assert_eq!(s, 200, "{part}");
    assert_eq!(part["positions"], 4, "2 vehicles x 2 minutes");
    let (s, bad) = call(
        &w,
        &w.viewer,
        "GET",
        &format!("/api/v1/convoys/{agency_id}/track?from=yesterday"),
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert!(bad.to_string().contains("from"), "{bad}");

    // Counted refusals, and the convoy view carries each vehicle's last position.
    let (_, stats) = call(&w, &w.viewer, "GET", "/api/v1/positions/stats", None).await;
    assert!(stats["unknown_device"].as_u64().unwrap() >= 1, "{stats}");
    assert!(stats["bad_secret"].as_u64().unwrap() >= 1, "{stats}");
    let (_, view) = call(
        &w,
        &w.viewer,
        "GET",
        &format!("/api/v1/convoys/{agency_id}"),
        None,
    )
    .await;
    assert!(view["vehicles"][0]["km"].as_f64().unwrap() > 50.0, "{view}");

    // Ending the convoy releases its devices: their positions are refused.
    assert_eq!(
        call(
            &w,
            &w.ngo,
            "POST",
            &format!("/api/v1/convoys/{agency_id}/end"),
            None
        )
        .await
        .0,
        404
    );
    let (s, ended) = call(
        &w,
        &w.operator,
        "POST",
        &format!("/api/v1/convoys/{agency_id}/end"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{ended}");
    assert!(ended["ended_at"].is_string());
    let (s, _) = osmand(
        &w,
        "GET",
        &fix("ag-1", &lead_key, at(0.35), now.timestamp(), ""),
    )
    .await;
    assert_eq!(s, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convoy_tracking_sqlite() {
    convoy_tracking(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convoy_tracking_postgres() {
    convoy_tracking(TestDb::postgres().await).await;
}

/// Positions over MQTT from the real broker (Mosquitto on 127.0.0.1:1883),
/// published with the real `mosquitto_pub` client: stored with source
/// `mqtt`; an unknown device, a wrong secret and a message that is not
/// JSON are refused and counted; each result comes back on the device's
/// result topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_over_mqtt() {
    let db = TestDb::sqlite().await;
    let app = Arc::new(App::new(db.store.clone()));
    let org = app.ensure_org("agency").await.unwrap();
    let op = user(&app, org.id, "operator", Role::Operator).await;
    let state = AppState::new(Arc::clone(&app));
    app.start_tracking(TrackingOptions {
        tick: Duration::from_millis(200),
        ..Default::default()
    })
    .await
    .unwrap();
    let auth = format!("Bearer {}", op.token);
    let body = json!({"name": "MQTT run", "interval_s": 3600,
        "route": {"geojson": {"type": "LineString", "coordinates": [[-1.52, 12.37], [-1.08, 13.09]]}},
        "vehicles": [{"name": "Lead", "device": "mq-1", "secret": "mqtt-secret-0123456"}]});
    let r = send(
        &state,
        "POST",
        "/api/v1/convoys",
        &[("authorization", &auth)],
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let convoy = r.json()["id"].as_str().unwrap().to_string();

    let prefix = format!("swtest{}", uuid::Uuid::new_v4().simple());
    let cfg =
        sahelwatch_server::mqtt::MqttConfig::parse("127.0.0.1:1883", &prefix, &prefix).unwrap();
    tokio::spawn(sahelwatch_server::mqtt::run(state.clone(), cfg));
    let results = std::process::Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-t",
            &format!("{prefix}/devices/+/result"),
            "-v",
            "-C",
            "5",
            "-W",
            "10",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("mosquitto_sub (apt-get install mosquitto-clients)");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let publish = |device: &str, msg: String| {
        let out = std::process::Command::new("mosquitto_pub")
            .args([
                "-h",
                "127.0.0.1",
                "-q",
                "1",
                "-t",
                &format!("{prefix}/devices/{device}/position"),
                "-m",
                &msg,
            ])
            .output()
            .expect("mosquitto_pub");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let t = chrono::Utc::now().timestamp() - 60;
    publish("mq-1", json!({"secret": "mqtt-secret-0123456", "time": t, "lat": 12.40, "lon": -1.50, "speed_kmh": 50.0, "battery": 64.0}).to_string());
    publish(
        "mq-1",
        json!({"secret": "mqtt-secret-0123456", "time": t + 30, "lat": 12.41, "lon": -1.49})
            .to_string(),
    );
    publish(
        "mq-1",
        json!({"secret": "wrong-secret-000000", "time": t + 40, "lat": 12.41, "lon": -1.49})
            .to_string(),
    );
    publish(
        "ghost",
        json!({"secret": "mqtt-secret-0123456", "lat": 12.41, "lon": -1.49}).to_string(),
    );
    publish("mq-1", "not json".to_string());

    let mut stored = Value::Null;
    for _ in 0..50 {
        let r = send(
            &state,
            "GET",
            &format!("/api/v1/convoys/{convoy}/track"),
            &[("authorization", &auth)],
            None,
        )
        .await;
        stored = r.json();
        if stored["positions"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored["positions"], 2, "{stored}");
    let point = stored["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["geometry"]["type"] == "Point")
        .unwrap();
    assert_eq!(point["properties"]["source"], "mqtt");
    assert_eq!(point["properties"]["battery"], 64.0);
    let r = send(
        &state,
        "GET",
        "/api/v1/positions/stats",
        &[("authorization", &auth)],
        None,
    )
    .await;
    let stats = r.json();
    assert_eq!(
        (
            stats["unknown_device"].as_u64(),
            stats["bad_secret"].as_u64(),
            stats["malformed"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{stats}"
    );
    let out = tokio::task::spawn_blocking(move || results.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r#""status":"accepted""#), "{text}");
    assert_eq!(
        text.matches(r#""status":"not_accepted""#).count(),
        2,
        "{text}"
    );
    assert!(
        text.contains(&format!("{prefix}/devices/ghost/result")),
        "{text}"
    );
    assert!(text.contains("not JSON"), "{text}");
}
