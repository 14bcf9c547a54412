//! Routes over HTTP on the real Burkina Faso road lines (read in place from
//! the shared data folder, never copied), with two organisations:
//! - Ouagadougou to Dori without incidents: fastest = safest, no exposure;
//! - SYNTHETIC AMBER incidents of one organisation on the main road: its
//!   users get a riskier fastest route, a safer route that leaves the
//!   main road, and a profile naming those incidents; the other
//!   organisation's answer is exactly as if they did not exist;
//! - avoided areas, bad input named by field, SQLite and PostgreSQL;
//! - a saved route's corridor brief: its recent incidents, trend and
//!   alternatives for the organisation that saved it, nothing of another
//!   organisation's AMBER incidents in anyone else's brief, stale after the
//!   network is imported again.

mod common;

use common::{TestUser, get, import_bf_roads, import_region_gazetteer, send, user};
use sahelwatch_app::App;
use sahelwatch_core::Role;
use sahelwatch_server::AppState;
use sahelwatch_store::conformance::TestDb;
use serde_json::{Value, json};
use std::sync::Arc;

struct World {
    _db: TestDb,
    state: AppState,
    owner: TestUser,
    other: TestUser,
    reader: TestUser,
}

async fn world(db: TestDb) -> World {
    let app = Arc::new(App::new(db.store.clone()));
    let agency = app.ensure_org("agency").await.unwrap();
    let ngo = app.ensure_org("ngo").await.unwrap();
    import_region_gazetteer(&app).await;
    import_bf_roads(&app).await;
    let nets = app.road_networks().await.unwrap();
    assert_eq!(
        (&nets[0].report["nodes"], &nets[0].report["segments"]),
        (&json!(833), &json!(1157)),
        "{:?}",
        nets[0].report
    );
    let owner = user(&app, agency.id, "owner", Role::Analyst).await;
    let other = user(&app, ngo.id, "other", Role::Analyst).await;
    let reader = user(&app, agency.id, "reader", Role::Viewer).await;
    World {
        state: AppState::new(app),
        _db: db,
        owner,
        other,
        reader,
    }
}

/// A SYNTHETIC AMBER incident of `who`'s organisation.
async fn incident(w: &World, who: &TestUser, date: &str, lon: f64, lat: f64, deaths: u32) {
    let body = json!({
        "incident": {
            "event_date": date,
            "time_precision": 1,
            "sub_event_type": "Remote explosive/landmine/IED",
            "fatalities": {"best": deaths},
            "notes": "SYNTHETIC test incident: a vehicle struck by an IED on the road.",
            "location": {"country": "BF", "latitude": lat, "longitude": lon, "geo_precision": 1}
        },
        "marking": {"tlp": "AMBER"}
    });
    let auth = format!("Bearer {}", who.token);
    let r = send(
        &w.state,
        "POST",
        "/api/v1/incidents",
        &[("authorization", &auth)],
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
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

async fn route(w: &World, who: &TestUser, body: Value) -> (u16, Value) {
    call(w, who, "POST", "/api/v1/routes", Some(body)).await
}

async fn ok(w: &World, who: &TestUser, body: Value) -> Value {
    let (s, v) = route(w, who, body.clone()).await;
    assert_eq!(s, 200, "{body}: {v}");
    v
}

/// Routes without their ids: what two callers are compared on.
fn summary(v: &Value) -> Vec<(String, f64, f64, f64)> {
    v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["label"].as_str().unwrap().to_string(),
                r["distance_km"].as_f64().unwrap(),
                r["duration_s"].as_f64().unwrap(),
                r["exposure"].as_f64().unwrap(),
            )
        })
        .collect()
}

async fn ouagadougou_to_dori(w: World) {
    let q = json!({"from": "Ouagadougou", "to": "Dori", "mode": "fastest", "depart": "2025-06-01"});
    // Without incidents: one route, no exposure, the same for everyone.
    let base = ok(&w, &w.owner, q.clone()).await;
    assert_eq!(base["network"], "bf");
    assert!(
        base["from"]["name"]
            .as_str()
            .unwrap()
            .starts_with("Ouagadougou")
    );
    assert!(
        base["to"]["name"]
            .as_str()
            .unwrap()
            .contains("Burkina Faso"),
        "{}",
        base["to"]
    );
    let r0 = &base["routes"][0];
    let km = r0["distance_km"].as_f64().unwrap();
    assert!(
        (250.0..340.0).contains(&km),
        "Ouagadougou-Dori by road is about 260-300 km: {km}"
    );
    assert_eq!(r0["exposure"], 0.0);
    assert_eq!(
        base["routes"].as_array().unwrap().len(),
        1,
        "no alternative differs in exposure"
    );
    assert_eq!(summary(&base), summary(&ok(&w, &w.other, q.clone()).await));

    // SYNTHETIC: five recent IED/ambush incidents on the middle of that road,
    // AMBER (the agency only).
    let line = r0["geometry"].as_array().unwrap();
    let auth = format!("Bearer {}", w.owner.token);
    for k in 0..5 {
        let p = &line[line.len() * (3 + k) / 10];
        let body = json!({
            "incident": {
                "event_date": format!("2025-05-{:02}", 20 + k),
                "time_precision": 1,
                "sub_event_type": "Remote explosive/landmine/IED",
                "fatalities": {"best": 3},
                "notes": "SYNTHETIC test incident: convoy struck by an IED on the road.",
                "location": {"country": "BF", "latitude": p[1], "longitude": p[0], "geo_precision": 1}
            },
            "marking": {"tlp": "AMBER"}
        });
        let r = send(
            &w.state,
            "POST",
            "/api/v1/incidents",
            &[("authorization", &auth)],
            Some(&body.to_string()),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }

    // The other organisation sees nothing of them, by any number.
    let other = ok(&w, &w.other, q.clone()).await;
    assert_eq!(summary(&other), summary(&base));
    assert_eq!(other["risk_incidents"], base["risk_incidents"]);

    // The agency: the fastest route is now exposed, its profile names the
    // incidents, and a safer alternative leaves the main road.
    let owner = ok(&w, &w.owner, q.clone()).await;
    eprintln!(
        "without incidents: {:?}\nwith them: {:?}",
        summary(&base),
        summary(&owner)
    );
    let fast = &owner["routes"][0];
    assert_eq!(
        fast["distance_km"], r0["distance_km"],
        "the fastest road is the same road"
    );
    assert!(
        fast["exposure"].as_f64().unwrap() > 1.0,
        "{}",
        fast["exposure"]
    );
    let high: Vec<&Value> = fast["profile"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["level"] == "high")
        .collect();
    assert!(!high.is_empty());
    let named: usize = high
        .iter()
        .map(|s| s["incidents"].as_array().unwrap().len())
        .sum();
    assert!(named >= 5, "the five incidents are named: {high:?}");
    assert!(
        high.iter()
            .flat_map(|s| s["incidents"].as_array().unwrap())
            .all(|i| i["sub_event_type"] == "Remote explosive/landmine/IED")
    );
    let routes = owner["routes"].as_array().unwrap();
    assert!(
        (2..=6).contains(&routes.len()),
        "alternatives: {}",
        summary(&owner).len()
    );
    let safest = routes
        .iter()
        .min_by(|a, b| {
            a["exposure"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["exposure"].as_f64().unwrap())
        })
        .unwrap();
    assert!(
        safest["exposure"].as_f64().unwrap() < 0.5 * fast["exposure"].as_f64().unwrap(),
        "{}",
        summary(&owner).len()
    );
    assert!(safest["duration_s"].as_f64().unwrap() > fast["duration_s"].as_f64().unwrap());
    // Alternatives form a Pareto set: slower ones are less exposed.
    let s = summary(&owner);
    for pair in s[1..].windows(2) {
        assert!(pair[0].2 <= pair[1].2 && pair[1].3 <= pair[0].3, "{s:?}");
    }
    // Least exposure as the requested mode gives that safest route first.
    let mut sq = q.clone();
    sq["mode"] = json!("safest");
    let safe = ok(&w, &w.owner, sq).await;
    assert_eq!(safe["routes"][0]["label"], "safest");
    assert!(
        safe["routes"][0]["exposure"].as_f64().unwrap()
            <= safest["exposure"].as_f64().unwrap() + 1e-9
    );
    // Departing before the incidents: no risk from them.
    let mut early = q.clone();
    early["depart"] = json!("2025-05-01");
    assert_eq!(summary(&ok(&w, &w.owner, early).await), summary(&base));

    // Avoiding a box around Kaya (on the main road) forces another road;
    // avoiding a box around Dori makes it unreachable.
    let kaya = json!({"type": "Polygon", "coordinates": [[[-1.2, 13.0], [-0.9, 13.0], [-0.9, 13.2], [-1.2, 13.2], [-1.2, 13.0]]]});
    let mut aq = q.clone();
    aq["avoid"] = kaya;
    aq["alternatives"] = json!(false);
    let around = ok(&w, &w.other, aq).await;
    assert_eq!(around["avoided_areas"], 1);
    let g = around["routes"][0]["geometry"].as_array().unwrap();
    assert!(g.iter().all(|p| !(p[0].as_f64().unwrap() > -1.2
        && p[0].as_f64().unwrap() < -0.9
        && p[1].as_f64().unwrap() > 13.0
        && p[1].as_f64().unwrap() < 13.2)));
    assert!(around["routes"][0]["distance_km"].as_f64().unwrap() > km);
    let mut dq = q.clone();
    dq["avoid"] = json!({"type": "Polygon", "coordinates": [[[-0.3, 13.8], [0.3, 13.8], [0.3, 14.3], [-0.3, 14.3], [-0.3, 13.8]]]});
    let (s, e) = route(&w, &w.other, dq).await;
    assert_eq!(
        (s, e["details"][0]["parameter"].as_str()),
        (400, Some("to")),
        "{e}"
    );

    // Bad input is named.
    for (body, field) in [
        (json!({"to": "Dori"}), "from"),
        (json!({"from": "Ouagadougou", "to": "Nowhereville"}), "to"),
        (
            json!({"from": "Ouagadougou", "to": "Dori", "mode": "scenic"}),
            "mode",
        ),
        (
            json!({"from": "Ouagadougou", "to": "Dori", "tradeoff": 2}),
            "tradeoff",
        ),
        (
            json!({"from": "Ouagadougou", "to": "Dori", "depart": "tomorrow"}),
            "depart",
        ),
        (
            json!({"from": "Ouagadougou", "to": "Dori", "avoid": {"type": "Point", "coordinates": [0, 0]}}),
            "avoid",
        ),
        (
            json!({"from": "Ouagadougou", "to": "Dori", "network": "mali"}),
            "network",
        ),
        (json!({"from": "48.85,2.35", "to": "Dori"}), "from"),
        (json!({"from": "95,2", "to": "Dori"}), "from"),
    ] {
        let (s, e) = route(&w, &w.owner, body.clone()).await;
        assert_eq!(
            (s, e["details"][0]["parameter"].as_str()),
            (400, Some(field)),
            "{body}: {e}"
        );
    }
    let (s, _) = route(
        &w,
        &w.owner,
        json!({"from": "a", "to": "b", "colour": "red"}),
    )
    .await;
    assert_eq!(s, 400, "unknown fields are refused");
    let r = send(
        &w.state,
        "POST",
        "/api/v1/routes",
        &[],
        Some(&q.to_string()),
    )
    .await;
    assert_eq!(r.status, 401);
    let nets = get(&w.state, Some(&w.other.token), "/api/v1/roads")
        .await
        .json();
    assert_eq!(nets[0]["name"], "bf");
    assert_eq!(nets[0]["report"]["segments"], 1157);
}

async fn corridor_brief(w: World) {
    let save = |name: &str, choose: usize| {
        json!({"name": name, "choose": choose,
               "route": {"from": "Ouagadougou", "to": "Dori", "mode": "fastest", "depart": "2025-06-01"}})
    };
    let (s, saved) = call(
        &w,
        &w.owner,
        "POST",
        "/api/v1/routes/saved",
        Some(save("Ouaga-Dori", 0)),
    )
    .await;
    assert_eq!(s, 201, "{saved}");
    assert_eq!(
        (saved["label"].as_str(), saved["network"].as_str()),
        (Some("fastest"), Some("bf"))
    );
    let id = saved["id"].as_i64().unwrap();
    let brief_uri =
        format!("/api/v1/routes/saved/{id}/brief?depart=2025-06-01&days=90&buffer_km=10");
    let (s, empty) = call(&w, &w.owner, "GET", &brief_uri, None).await;
    assert_eq!(s, 200, "{empty}");
    assert_eq!(empty["recent_incidents"], 0);
    assert_eq!(empty["current"]["distance_km"], saved["distance_km"]);
    assert_eq!(empty["current"]["exposure"], 0.0);

    // SYNTHETIC AMBER incidents of the agency: three recent ones on the
    // road (one 4 km off it), one in the 90 days before, one far away.
    let line = empty["current"]["geometry"].as_array().unwrap().clone();
    let at = |f: f64| {
        let p = &line[((line.len() - 1) as f64 * f) as usize];
        (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())
    };
    let (x, y) = at(0.5);
    incident(&w, &w.owner, "2025-05-20", x, y, 4).await;
    let (x, y) = at(0.55);
    incident(&w, &w.owner, "2025-05-25", x, y + 0.036, 0).await;
    let (x, y) = at(0.8);
    incident(&w, &w.owner, "2025-04-10", x, y, 2).await;
    let (x, y) = at(0.3);
    incident(&w, &w.owner, "2025-02-01", x, y, 1).await;
    incident(&w, &w.owner, "2025-05-21", x + 1.5, y - 1.0, 9).await;

    let (s, b) = call(&w, &w.owner, "GET", &brief_uri, None).await;
    assert_eq!(s, 200, "{b}");
    eprintln!("brief summary: {}", b["summary"]);
    assert_eq!(b["recent_incidents"], 3, "{}", b["incidents"]);
    let listed = b["incidents"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["event_date"], "2025-05-25", "newest first");
    assert!(
        (1.0..=4.5).contains(&listed[0]["distance_km"].as_f64().unwrap()),
        "{}",
        listed[0]
    );
    let km = saved["distance_km"].as_f64().unwrap();
    assert!(
        listed
            .iter()
            .all(|i| (0.0..=km).contains(&i["at_km"].as_f64().unwrap()))
    );
    let ch = &b["trend"]["change"];
    assert_eq!(
        (
            ch["current_totals"]["count"].as_u64(),
            ch["previous_totals"]["count"].as_u64()
        ),
        (Some(3), Some(1))
    );
    assert_eq!(ch["current_totals"]["fatalities"], 6);
    let monthly: u64 = b["trend"]["monthly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["incidents"].as_u64().unwrap())
        .sum();
    assert_eq!(monthly, 4, "the far incident is outside the corridor");
    let sections = b["trend"]["sections"].as_array().unwrap();
    let recent: u64 = sections.iter().map(|s| s["recent"].as_u64().unwrap()).sum();
    assert_eq!(recent, 3);
    assert!(sections.iter().any(|s| s["direction"] == "up"));
    assert!(b["current"]["exposure"].as_f64().unwrap() > 0.0);
    assert!(
        b["current"]["profile"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["level"] == "high")
    );
    let alts = b["alternatives"].as_array().unwrap();
    assert!(
        alts.len() >= 2,
        "the fastest and a safer route planned now: {alts:?}"
    );
    assert!(
        alts.iter()
            .any(|a| a["shared_pct"].as_f64().unwrap() > 99.0),
        "the fastest is the saved road"
    );
    assert!(
        alts.iter()
            .any(|a| a["exposure"].as_f64().unwrap() < b["current"]["exposure"].as_f64().unwrap()),
        "a less exposed route is offered"
    );
    assert!(b["summary"].as_array().unwrap().len() >= 3);

    // A reader of the agency may read briefs, not save routes.
    let (s, rb) = call(&w, &w.reader, "GET", &brief_uri, None).await;
    assert_eq!((s, &rb["recent_incidents"]), (200, &json!(3)));
    let (s, _) = call(
        &w,
        &w.reader,
        "POST",
        "/api/v1/routes/saved",
        Some(save("Mine", 0)),
    )
    .await;
    assert_eq!(s, 403);

    // The NGO: the agency's route does not exist for it; its own route on
    // the same road shows nothing of the AMBER incidents, by any number.
    let (s, _) = call(&w, &w.other, "GET", &brief_uri, None).await;
    assert_eq!(s, 404);
    let (_, list) = call(&w, &w.other, "GET", "/api/v1/routes/saved", None).await;
    assert_eq!(list, json!([]));
    let (s, ngo) = call(
        &w,
        &w.other,
        "POST",
        "/api/v1/routes/saved",
        Some(save("Ouaga-Dori", 0)),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(ngo["distance_km"], saved["distance_km"]);
    let ngo_uri = format!("/api/v1/routes/saved/{}/brief?depart=2025-06-01", ngo["id"]);
    let (s, nb) = call(&w, &w.other, "GET", &ngo_uri, None).await;
    assert_eq!(s, 200);
    assert_eq!(nb["recent_incidents"], 0);
    assert!(
        nb["summary"][0]
            .as_str()
            .unwrap()
            .contains(" 0 km of it is at high risk"),
        "{}",
        nb["summary"]
    );
    assert_eq!(nb["incidents"], json!([]));
    assert_eq!(nb["current"]["exposure"], 0.0);
    assert_eq!(nb["trend"]["change"]["previous_totals"]["count"], 0);
    assert!(
        nb["trend"]["monthly"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["incidents"] == 0)
    );
    assert!(
        nb["alternatives"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["exposure"] == 0.0)
    );
    let text = nb.to_string();
    for l in listed {
        assert!(
            !text.contains(l["id"].as_str().unwrap()),
            "no AMBER id in the NGO's brief"
        );
    }

    // Bad input, named.
    for (uri, field) in [
        (
            format!("/api/v1/routes/saved/{id}/brief?buffer_km=0"),
            "buffer_km",
        ),
        (format!("/api/v1/routes/saved/{id}/brief?days=abc"), "days"),
        (format!("/api/v1/routes/saved/{id}/brief?days=9999"), "days"),
        (
            format!("/api/v1/routes/saved/{id}/brief?depart=yesterday"),
            "depart",
        ),
    ] {
        let (s, e) = call(&w, &w.owner, "GET", &uri, None).await;
        assert_eq!(
            (s, e["details"][0]["parameter"].as_str()),
            (400, Some(field)),
            "{uri}: {e}"
        );
    }
    let (s, _) = call(
        &w,
        &w.owner,
        "GET",
        &format!("/api/v1/routes/saved/{id}/brief?colour=red"),
        None,
    )
    .await;
    assert_eq!(s, 400, "unknown parameters are refused");
    let (s, _) = call(&w, &w.owner, "GET", "/api/v1/routes/saved/abc/brief", None).await;
    assert_eq!(s, 404);
    for (body, field) in [
        (
            json!({"route": {"from": "Ouagadougou", "to": "Dori"}}),
            "name",
        ),
        (json!({"name": "x"}), "route"),
        (json!({"name": "x", "route": {"to": "Dori"}}), "from"),
        (save("x", 9), "choose"),
    ] {
        let (s, e) = call(
            &w,
            &w.owner,
            "POST",
            "/api/v1/routes/saved",
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (s, e["details"][0]["parameter"].as_str()),
            (400, Some(field)),
            "{body}: {e}"
        );
    }

    // Saving an alternative; deleting; a stale route after a new import.
    let (s, alt) = call(
        &w,
        &w.owner,
        "POST",
        "/api/v1/routes/saved",
        Some(save("Ouaga-Dori safer", 1)),
    )
    .await;
    assert_eq!(s, 201, "{alt}");
    assert_ne!(alt["label"], "fastest");
    assert!(alt["distance_km"].as_f64().unwrap() > km);
    let (_, list) = call(&w, &w.owner, "GET", "/api/v1/routes/saved", None).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ouaga-Dori", "Ouaga-Dori safer"]);
    let (s, _) = call(
        &w,
        &w.other,
        "DELETE",
        &format!("/api/v1/routes/saved/{}", alt["id"]),
        None,
    )
    .await;
    assert_eq!(s, 404, "another organisation cannot delete it");
    let (s, _) = call(
        &w,
        &w.owner,
        "DELETE",
        &format!("/api/v1/routes/saved/{}", alt["id"]),
        None,
    )
    .await;
    assert_eq!(s, 204);
    import_bf_roads(&w.state.app).await;
    let (s, e) = call(&w, &w.owner, "GET", &brief_uri, None).await;
    assert_eq!(s, 409, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("imported again"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_corridor_brief() {
    corridor_brief(world(TestDb::sqlite().await).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_corridor_brief() {
    corridor_brief(world(TestDb::postgres().await).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ouagadougou_to_dori() {
    ouagadougou_to_dori(world(TestDb::sqlite().await).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ouagadougou_to_dori() {
    ouagadougou_to_dori(world(TestDb::postgres().await).await).await;
}
