//! Reports filed over HTTP and fused into incidents, against the real
//! gazetteer of the starter data, with three organisations:
//! - two reports of one event both corroborate it, and its credibility
//!   follows their independent sources;
//! - two different events on one day in one town are told apart;
//! - a contradicting report shows as a second version, nothing overwritten;
//! - the full life cycle of a kidnap case (abduction, claim, proof of life,
//!   release) with status, days held, the reports behind each step, filters;
//! - what each organisation may see of reports, links, corroboration and
//!   cases; bad input refused by name and leaving nothing behind.

mod common;

use common::{Resp, TestUser, get, send, user};
use sahelwatch_app::{App, NoProgress};
use sahelwatch_core::Role;
use sahelwatch_server::AppState;
use sahelwatch_store::conformance::TestDb;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

async fn post(state: &AppState, who: &TestUser, uri: &str, body: Value) -> Resp {
    let h = format!("Bearer {}", who.token);
    send(
        state,
        "POST",
        uri,
        &[("authorization", &h)],
        Some(&body.to_string()),
    )
    .await
}

async fn gazetteer(app: &App) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/starter");
    for name in [
        "geonames_cities500_sahel_region.tsv.gz",
        "geonames_NE_dump_2014-12.txt.gz",
    ] {
        let r = flate2::read::GzDecoder::new(std::fs::File::open(dir.join(name)).unwrap());
        app.import_gazetteer(name, Box::new(r), None, true, Arc::new(NoProgress))
            .await
            .unwrap();
    }
}

fn incident(sub: &str, actor: &str, tlp: &str, note: &str) -> Value {
    json!({
        "incident": {
            "event_date": "2025-01-18", "time_precision": 1, "sub_event_type": sub,
            "actors": {"actor1": actor},
            "location": {"country": "NE", "admin1": "Tillaberi", "place": "Tera",
                         "latitude": 14.0078, "longitude": 0.7531, "geo_precision": 1},
            "fatalities": {"best": 0},
            "notes": note
        },
        "marking": {"tlp": tlp}
    })
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c["incident"]["id"].as_str().unwrap().to_string())
        .collect()
}

fn report_ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_fuse_into_incidents_and_kidnap_cases_follow_them_sqlite() {
    fusion_and_cases(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_fuse_into_incidents_and_kidnap_cases_follow_them_postgres() {
    fusion_and_cases(TestDb::postgres().await).await;
}

async fn fusion_and_cases(db: TestDb) {
    let app = Arc::new(App::new(db.store.clone()));
    gazetteer(&app).await;
    let ong = app.ensure_org("ONG Sahel").await.unwrap();
    let agency = app.ensure_org("Agence B").await.unwrap();
    let transport = app.ensure_org("Transporteur C").await.unwrap();
    let group = app
        .store()
        .create_group("Cellule Tillabéri", ong.id)
        .await
        .unwrap();
    app.store()
        .set_group_member(group.id, agency.id, true)
        .await
        .unwrap();
    let a = user(&app, ong.id, "a-analyst", Role::Analyst).await;
    let a_viewer = user(&app, ong.id, "a-viewer", Role::Viewer).await;
    let b = user(&app, agency.id, "b-analyst", Role::Analyst).await;
    let c = user(&app, transport.id, "c-analyst", Role::Analyst).await;
    let state = AppState::new(Arc::clone(&app));

    // Agency B's incidents at Téra on 2025-01-18: an abduction, an IED, and
    // a RED abduction only B's author sees.
    let mut made = Vec::new();
    for (sub, actor, tlp) in [
        (
            "Abduction/forced disappearance",
            "Islamic State (Sahel)",
            "CLEAR",
        ),
        (
            "Remote explosive/landmine/IED",
            "JNIM: Group for Support of Islam and Muslims",
            "CLEAR",
        ),
        (
            "Abduction/forced disappearance",
            "Islamic State (Sahel)",
            "RED",
        ),
    ] {
        let r = post(
            &state,
            &b,
            "/api/v1/incidents",
            incident(sub, actor, tlp, "Téra"),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        made.push(r.json()["id"].as_str().unwrap().to_string());
    }
    let (abduction, ied, red) = (made[0].clone(), made[1].clone(), made[2].clone());

    // 1. ONG files an English report, shared with its group.
    let text1 = "Gunmen kidnapped two Moroccan truck drivers near Téra, in Niger's Tillabéri region, on Saturday, security sources said.";
    let r = post(
        &state,
        &a,
        "/api/v1/reports",
        json!({
            "source": "RFI", "published": "2025-01-19", "reliability": "B", "credibility": 3,
            "text": text1,
            "marking": {"tlp": "AMBER", "sharing_group": group.uid}
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let filed = r.json();
    let rep1 = filed["report"]["id"].as_str().unwrap().to_string();
    let claims = &filed["report"]["claims"];
    assert_eq!(claims["event_date"], "2025-01-18", "{claims}");
    assert_eq!(claims["place"]["name"], "Téra");
    assert_eq!(claims["place"]["country"], "NE");
    assert_eq!(claims["sub_event_type"], "Abduction/forced disappearance");
    assert_eq!(
        (&claims["hostages"], &claims["hostage_nationality"]),
        (&json!(2), &json!("MA"))
    );
    assert_eq!(claims["case_step"], "abducted");
    assert_eq!(filed["report"]["unlocated"], false);
    assert_eq!(filed["report"]["lang"], "en");
    let x = &filed["report"]["extraction"];
    let place = &x["places"][0];
    assert_eq!(place["span"]["text"], "Téra");
    assert_eq!(
        &text1[place["span"]["start"].as_u64().unwrap() as usize
            ..place["span"]["end"].as_u64().unwrap() as usize],
        "Téra",
        "spans are byte offsets into the text"
    );
    assert!(place["confidence"].as_f64().unwrap() > 0.0);
    // Two events on one day in one town: the abduction first, well ahead
    // of the IED; the RED incident is not there at all.
    let cands = &filed["candidates"];
    assert_eq!(ids(cands), vec![abduction.clone(), ied.clone()], "{cands}");
    let (s0, s1) = (
        cands[0]["score"]["score"].as_f64().unwrap(),
        cands[1]["score"]["score"].as_f64().unwrap(),
    );
    assert!(s0 > 0.8 && s0 > 3.0 * s1, "{s0} vs {s1}");
    assert_eq!(cands[0]["score"]["days_apart"], 0);
    assert!(!cands.to_string().contains(&red));

    // Only the filing organisation decides; viewers may not file.
    let decide = json!({"incident": abduction, "verdict": "confirm"});
    let r = post(
        &state,
        &b,
        &format!("/api/v1/reports/{rep1}/links"),
        decide.clone(),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = post(
        &state,
        &c,
        &format!("/api/v1/reports/{rep1}/links"),
        decide.clone(),
    )
    .await;
    assert_eq!(
        r.status,
        404,
        "C may not see the AMBER report: {}",
        r.text()
    );
    let r = post(&state, &a_viewer, "/api/v1/reports", json!({"source": "x", "published": "2025-01-19", "reliability": "B", "credibility": 3, "text": text1, "marking": {"tlp": "CLEAR"}})).await;
    assert_eq!(r.status, 403);
    // The RED incident is "not found" to ONG, as one that does not exist.
    let r = post(
        &state,
        &a,
        &format!("/api/v1/reports/{rep1}/links"),
        json!({"incident": red, "verdict": "confirm"}),
    )
    .await;
    assert_eq!(r.status, 404);
    // Confirm: the report corroborates the abduction, which opens a case.
    let r = post(&state, &a, &format!("/api/v1/reports/{rep1}/links"), decide).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "confirmed");
    // Reject the IED: it is still listed, with the decision.
    let r = post(
        &state,
        &a,
        &format!("/api/v1/reports/{rep1}/links"),
        json!({"incident": ied, "verdict": "reject"}),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = get(
        &state,
        Some(&a.token),
        &format!("/api/v1/reports/{rep1}/candidates"),
    )
    .await;
    let cands = r.json();
    assert_eq!(cands[0]["decision"], "confirmed");
    assert_eq!(cands[1]["decision"], "rejected");

    // 2. A second outlet, in French, CLEAR: same event, another perpetrator
    // (a claim by JNIM) and a toll.
    let text2 = "Revendiqué par le JNIM : l'enlèvement de deux chauffeurs marocains samedi près de Téra (Tillabéri) a fait un mort parmi leurs accompagnateurs.";
    let r = post(
        &state,
        &a,
        "/api/v1/reports",
        json!({
            "source": "Actu Niger", "published": "2025-01-20", "reliability": "C", "credibility": 3,
            "text": text2, "marking": {"tlp": "CLEAR"}
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let filed2 = r.json();
    let rep2 = filed2["report"]["id"].as_str().unwrap().to_string();
    assert_eq!(filed2["report"]["lang"], "fr");
    assert_eq!(filed2["report"]["claims"]["case_step"], "claimed");
    assert_eq!(filed2["report"]["claims"]["event_date"], "2025-01-18");
    assert_eq!(ids(&filed2["candidates"])[0], abduction);
    let r = post(
        &state,
        &a,
        &format!("/api/v1/reports/{rep2}/links"),
        json!({"incident": abduction, "verdict": "confirm"}),
    )
    .await;
    assert_eq!(r.status, 200);

    // Corroboration: two independent sources graded B and C confirm it.
    let uri = format!("/api/v1/incidents/{abduction}/reports");
    let r = get(&state, Some(&a.token), &uri).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let ir = r.json();
    assert_eq!(ir["corroboration"]["independent_sources"], 2);
    assert_eq!(ir["corroboration"]["credibility"], 1, "{ir}");
    // The perpetrator is disputed: the record says IS Sahel, Actu Niger
    // JNIM (RFI's "gunmen" name no one, so it is no version).
    let versions = ir["versions"].as_array().unwrap();
    let perp = versions
        .iter()
        .find(|v| v["attribute"] == "perpetrator")
        .unwrap();
    assert_eq!(perp["disputed"], true);
    assert_eq!(perp["versions"][0]["from_record"], true);
    assert_eq!(perp["versions"][0]["value"], "Islamic State (Sahel)");
    assert_eq!(perp["versions"][0]["reports"], json!([]));
    assert_eq!(perp["versions"][1]["reports"][0]["id"], rep2);
    assert_eq!(perp["versions"][1]["reports"][0]["reliability"], "C");
    let fat = versions
        .iter()
        .find(|v| v["attribute"] == "fatalities")
        .unwrap();
    assert_eq!(fat["disputed"], true, "the record says 0, Actu Niger 1");
    // Nothing was overwritten: the incident still says what it said.
    let inc = get(
        &state,
        Some(&a.token),
        &format!("/api/v1/incidents/{abduction}"),
    )
    .await
    .json();
    assert_eq!(inc["actors"]["actor1"], "Islamic State (Sahel)");
    assert_eq!(inc["fatalities"]["best"], 0);
    // C sees only the CLEAR report: one source, no trace of the AMBER one.
    let rc = get(&state, Some(&c.token), &uri).await.json();
    assert_eq!(rc["corroboration"]["reports"], 1);
    assert_eq!(rc["corroboration"]["credibility"], 3);
    assert!(!rc.to_string().contains(&rep1) && !rc.to_string().contains("RFI"));
    assert_eq!(
        get(&state, Some(&c.token), &format!("/api/v1/reports/{rep1}"))
            .await
            .status,
        404
    );
    let listed_c = get(&state, Some(&c.token), "/api/v1/reports").await.json();
    assert_eq!(report_ids(&listed_c), vec![rep2.clone()]);
    let listed_b = get(&state, Some(&b.token), "/api/v1/reports").await.json();
    assert_eq!(report_ids(&listed_b), vec![rep1.clone(), rep2.clone()]);
    // B sees the report but not ONG's decision on the RED... there is none;
    // B's view of report 1 lists both links (both incidents are CLEAR).
    let r1b = get(&state, Some(&b.token), &format!("/api/v1/reports/{rep1}"))
        .await
        .json();
    assert_eq!(r1b["links"].as_array().unwrap().len(), 2);
    assert_eq!(r1b["text"], text1);

    // 3. The kidnap case: opened by the abduction report, claimed by report 2.
    let cases = get(&state, Some(&a.token), "/api/v1/cases").await.json();
    assert_eq!(cases["items"].as_array().unwrap().len(), 1, "{cases}");
    let case = &cases["items"][0];
    let case_id = case["id"].as_str().unwrap().to_string();
    assert_eq!(case["incident"], abduction);
    assert_eq!(case["status"], "held");
    assert_eq!(case["hostages"], 2);
    assert_eq!(case["nationality"], "MA");
    assert_eq!(case["opened_by"]["id"], rep1);
    let kinds: Vec<&str> = case["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["abducted", "claimed"]);
    // Later reports add steps: a proof of life (kind read from the text), then the release.
    let file = |source: &str, published: &str, text: &str| {
        let body = json!({"source": source, "published": published, "reliability": "B",
                          "credibility": 2, "text": text, "marking": {"tlp": "AMBER", "sharing_group": group.uid}});
        let state = &state;
        let a = &a;
        async move {
            let r = post(state, a, "/api/v1/reports", body).await;
            assert_eq!(r.status, 201, "{}", r.text());
            r.json()["report"]["id"].as_str().unwrap().to_string()
        }
    };
    let rep3 = file("Jeune Afrique", "2025-03-03", "Une vidéo montrant les deux otages marocains enlevés en janvier près de Téra a été publiée le 1er mars 2025, une preuve de vie selon leurs proches.").await;
    let rep4 = file("RFI", "2025-06-10", "The two Moroccan truck drivers kidnapped in January near Téra were released on Sunday, June 8, 2025, without any ransom, Niamey said.").await;
    let steps_uri = format!("/api/v1/cases/{case_id}/steps");
    let r = post(&state, &a, &steps_uri, json!({"report": rep3})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["steps"][2]["kind"], "proof_of_life");
    assert_eq!(r.json()["steps"][2]["on_date"], "2025-03-01");
    let r = post(
        &state,
        &a,
        &steps_uri,
        json!({"report": rep4, "note": "Handed over in Niamey"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let done = r.json();
    assert_eq!(done["status"], "released");
    assert_eq!(done["ended_on"], "2025-06-08");
    assert_eq!(done["days_held"], 141);
    let last = &done["steps"][3];
    assert_eq!(
        (last["kind"].as_str(), last["report"]["id"].as_str()),
        (Some("released"), Some(rep4.as_str()))
    );
    assert_eq!(last["note"], "Handed over in Niamey");
    // Bad steps: no kind to be read, a date before the abduction, another org.
    let plain = file(
        "X",
        "2025-02-01",
        "Les deux otages marocains enlevés près de Téra sont toujours détenus.",
    )
    .await;
    let before_count = get(&state, Some(&a.token), &format!("/api/v1/cases/{case_id}"))
        .await
        .json()["steps"]
        .as_array()
        .unwrap()
        .len();
    let r = post(
        &state,
        &a,
        &steps_uri,
        json!({"report": rep2, "kind": "escaped", "on_date": "2024-12-01"}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("on_date") && r.text().contains("before the abduction"));
    let r = post(
        &state,
        &a,
        &steps_uri,
        json!({"report": rep2, "kind": "freed"}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = post(
        &state,
        &b,
        &steps_uri,
        json!({"report": plain, "kind": "escaped"}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = post(
        &state,
        &c,
        &steps_uri,
        json!({"report": rep2, "kind": "escaped"}),
    )
    .await;
    assert_eq!(r.status, 404, "C does not see the case: {}", r.text());
    let after = get(&state, Some(&a.token), &format!("/api/v1/cases/{case_id}"))
        .await
        .json();
    assert_eq!(
        after["steps"].as_array().unwrap().len(),
        before_count,
        "refused steps wrote nothing"
    );
    // Filters.
    for (q, n) in [
        ("status=released", 1),
        ("status=held", 0),
        ("nationality=MA", 1),
        ("nationality=Morocco", 1),
        ("nationality=FR", 0),
        ("country=Niger", 1),
        ("country=ML", 0),
        ("bbox=0,13,1.5,15", 1),
        ("bbox=-5,10,-4,11", 0),
        ("from=2025-01-01&to=2025-01-31", 1),
        ("from=2025-02-01", 0),
    ] {
        let r = get(&state, Some(&a.token), &format!("/api/v1/cases?{q}")).await;
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        assert_eq!(r.json()["items"].as_array().unwrap().len(), n, "{q}");
    }
    for q in [
        "status=free",
        "nationality=Atlantis",
        "bbox=1,2,3",
        "from=2025-02-01&to=2025-01-01",
        "colour=red",
    ] {
        let r = get(&state, Some(&a.token), &format!("/api/v1/cases?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text());
    }
    // The case follows the opening report's marking: B (in the group) sees
    // it, C does not, even by id; anonymous callers are refused.
    assert_eq!(
        get(&state, Some(&b.token), &format!("/api/v1/cases/{case_id}"))
            .await
            .status,
        200
    );
    assert_eq!(
        get(&state, Some(&c.token), &format!("/api/v1/cases/{case_id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        get(&state, Some(&c.token), "/api/v1/cases").await.json()["items"],
        json!([])
    );
    assert_eq!(get(&state, None, "/api/v1/cases").await.status, 401);
    assert_eq!(get(&state, None, "/api/v1/reports").await.status, 401);

    // 4. An unlocated report becomes an incident only once given a place.
    let r = post(
        &state,
        &a,
        "/api/v1/reports",
        json!({
            "source": "Témoin", "published": "2025-02-10", "reliability": "F", "credibility": 6,
            "text": "Des hommes armés ont tué trois civils hier soir.", "marking": {"tlp": "GREEN"}
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let rep5 = r.json();
    assert_eq!(rep5["report"]["unlocated"], true);
    let rep5 = rep5["report"]["id"].as_str().unwrap().to_string();
    let r = post(
        &state,
        &a,
        &format!("/api/v1/reports/{rep5}/incident"),
        json!({"marking": {"tlp": "GREEN"}}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("claims.place"), "{}", r.text());
    let r = post(&state, &a, &format!("/api/v1/reports/{rep5}/incident"), json!({
        "claims": {"place": {"name": "Téra", "latitude": 14.0078, "longitude": 0.7531, "uncertainty_km": 5, "country": "NE"}},
        "marking": {"tlp": "GREEN"}
    })).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let new_inc = r.json();
    assert_eq!(new_inc["event_date"], "2025-02-09");
    assert_eq!(new_inc["sub_event_type"], "Attack");
    assert_eq!(new_inc["fatalities"]["best"], 3);
    let ir = get(
        &state,
        Some(&a.token),
        &format!(
            "/api/v1/incidents/{}/reports",
            new_inc["id"].as_str().unwrap()
        ),
    )
    .await
    .json();
    assert_eq!(ir["reports"][0]["id"], rep5);
    assert_eq!(ir["corroboration"]["credibility"], 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_reports_are_refused_by_name_and_leave_nothing() {
    let db = TestDb::sqlite().await;
    let app = Arc::new(App::new(db.store.clone()));
    let org = app.ensure_org("ONG").await.unwrap();
    let a = user(&app, org.id, "analyst", Role::Analyst).await;
    let state = AppState::new(Arc::clone(&app));
    let good = json!({"source": "RFI", "published": "2025-01-19", "reliability": "B",
                      "credibility": 3, "text": "Gunmen attacked a village.", "marking": {"tlp": "CLEAR"}});
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (with("text", json!("   ")), 400, "empty"),
        (with("text", json!("a".repeat(300 * 1024))), 413, "limit"),
        (with("text", json!("abc\u{0}def")), 400, "NUL"),
        (with("source", json!("")), 400, "source"),
        (with("credibility", json!(7)), 400, "credibility"),
        (with("reliability", json!("G")), 400, "reliability"),
        (with("lang", json!("de")), 400, "lang"),
        (with("published", json!("2025-13-01")), 400, "published"),
        (
            with("marking", json!({"tlp": "AMBER", "coarsen": "10km"})),
            400,
            "coarsen",
        ),
        (with("surprise", json!(1)), 400, "surprise"),
        (
            {
                let mut b = good.clone();
                b.as_object_mut().unwrap().remove("text");
                b
            },
            400,
            "text",
        ),
    ];
    for (body, status, names) in cases {
        let r = post(&state, &a, "/api/v1/reports", body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert!(
            r.text().contains(names),
            "the error names '{names}': {}",
            r.text()
        );
    }
    let listed = get(&state, Some(&a.token), "/api/v1/reports").await.json();
    assert_eq!(listed["items"], json!([]), "nothing was stored");
    // Structured-only reports are fine; unknown ids are 404, malformed too.
    let r = post(
        &state,
        &a,
        "/api/v1/reports",
        json!({
            "source": "Partner", "published": "2025-01-19", "reliability": "A", "credibility": 2,
            "claims": {"event_date": "2025-01-18", "sub_event_type": "Attack", "fatalities": 4},
            "marking": {"tlp": "GREEN"}
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["report"]["unlocated"], true);
    for uri in [
        "/api/v1/reports/not-a-uuid".to_string(),
        format!("/api/v1/reports/{}", uuid::Uuid::now_v7()),
        format!("/api/v1/cases/{}", uuid::Uuid::now_v7()),
        format!("/api/v1/incidents/{}/reports", uuid::Uuid::now_v7()),
    ] {
        assert_eq!(get(&state, Some(&a.token), &uri).await.status, 404, "{uri}");
    }
    for q in [
        "limit=0",
        "limit=501",
        "cursor=abc",
        "from=yesterday",
        "unlocated=maybe",
    ] {
        let r = get(&state, Some(&a.token), &format!("/api/v1/reports?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text());
    }
}
