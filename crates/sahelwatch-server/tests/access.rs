//! The sharing rules on every read path, on random worlds: several
//! organisations, users, sharing groups, and incidents of every TLP level
//! with random groups, recipients and coarsening. For every user (and
//! anonymous callers), every path must return exactly the visible set, with
//! locations as that user may see them: list, get, search by box and by
//! radius, counts, CSV, GeoJSON and STIX exports, the TAXII collection
//! (objects, manifest, objects by id) and the live stream.
//!
//! The expected answers come from the rules as written in the product brief,
//! implemented here independently of `sahelwatch-core::access`.

mod common;

use chrono::NaiveDate;
use common::{TestUser, get, send, user};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sahelwatch_app::{App, MarkingInput};
use sahelwatch_core::{
    Actors, Coarsen, CountryCode, Fatalities, IncidentData, Location, OrgId, Precision, Role,
    SubEventType, Tlp,
};
use sahelwatch_server::AppState;
use sahelwatch_store::conformance::TestDb;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use uuid::Uuid;

struct Item {
    id: Uuid,
    owner: OrgId,
    tlp: Tlp,
    group_members: Vec<OrgId>,
    author: Uuid,
    recipients: Vec<Uuid>,
    coarsen: Coarsen,
    exact: (f64, f64),
    country: String,
}

/// The rules of the product brief, written out again.
fn may_see(item: &Item, viewer: Option<&TestUser>) -> bool {
    let Some(u) = viewer else {
        return item.tlp == Tlp::Clear;
    };
    match item.tlp {
        Tlp::Clear | Tlp::Green => true,
        Tlp::Amber => {
            u.principal.org == item.owner || item.group_members.contains(&u.principal.org)
        }
        Tlp::AmberStrict => u.principal.org == item.owner,
        Tlp::Red => u.uid == item.author || item.recipients.contains(&u.uid),
    }
}

/// Where a viewer sees an item: exact inside the owner organisation, coarse
/// outside. With no gazetteer loaded, admin-level coarsening falls back to
/// the centre of the 1-degree cell.
fn seen_at(item: &Item, viewer: Option<&TestUser>) -> (f64, f64) {
    let insider = viewer.is_some_and(|u| u.principal.org == item.owner);
    if insider {
        return item.exact;
    }
    let r6 = |v: f64| (v * 1e6).round() / 1e6;
    match item.coarsen {
        Coarsen::Exact => item.exact,
        Coarsen::Km10 => (
            r6(((item.exact.0 * 10.0).floor() + 0.5) / 10.0),
            r6(((item.exact.1 * 10.0).floor() + 0.5) / 10.0),
        ),
        Coarsen::Admin1 | Coarsen::Admin2 => {
            (item.exact.0.floor() + 0.5, item.exact.1.floor() + 0.5)
        }
    }
}

fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let dl = (b.1 - a.1).to_radians();
    let h = ((p2 - p1) / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0088 * h.sqrt().asin()
}

struct World {
    _db: TestDb,
    app: Arc<App>,
    users: Vec<TestUser>,
    items: Vec<Item>,
    /// Reports with their own random markings (coarsen exact), and the
    /// incident each was confirmed on, if any.
    reports: Vec<(Item, Option<Uuid>)>,
}

/// A sharing group's public id and members.
type Group = (Uuid, Vec<OrgId>);

/// A random TLP; for AMBER, often one of the owner's groups; for RED,
/// random recipients.
fn random_marking(
    rng: &mut ChaCha8Rng,
    owner: OrgId,
    groups: &[Group],
    users: &[TestUser],
) -> (Tlp, Option<Group>, Vec<Uuid>) {
    let tlp = Tlp::ALL[rng.random_range(0..5)];
    let own_groups: Vec<&Group> = groups.iter().filter(|(_, m)| m.contains(&owner)).collect();
    let group = (tlp == Tlp::Amber && !own_groups.is_empty() && rng.random_bool(0.7))
        .then(|| own_groups[rng.random_range(0..own_groups.len())].clone());
    let recipients: Vec<Uuid> = if tlp == Tlp::Red {
        users
            .iter()
            .filter(|_| rng.random_bool(0.3))
            .map(|u| u.uid)
            .collect()
    } else {
        vec![]
    };
    (tlp, group, recipients)
}

async fn world(db: TestDb, seed: u64, n_items: usize) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let app = Arc::new(App::new(db.store.clone()));
    let mut orgs = Vec::new();
    for name in ["Agence A", "ONG B", "Transporteur C", "Cellule D"] {
        orgs.push(app.store().create_org(name).await.expect("org"));
    }
    let mut users = Vec::new();
    for (i, o) in orgs.iter().enumerate() {
        users.push(user(&app, o.id, &format!("analyst{i}"), Role::Analyst).await);
        users.push(user(&app, o.id, &format!("viewer{i}"), Role::Viewer).await);
    }
    // Two sharing groups with random extra members.
    let mut groups: Vec<(Uuid, Vec<OrgId>)> = Vec::new();
    for (g, owner) in [(0usize, 0usize), (1, 2)] {
        let grp = app
            .store()
            .create_group(&format!("group {g}"), orgs[owner].id)
            .await
            .expect("group");
        let mut members = vec![orgs[owner].id];
        for (k, o) in orgs.iter().enumerate() {
            if k != owner && rng.random_bool(0.5) {
                app.store()
                    .set_group_member(grp.id, o.id, true)
                    .await
                    .expect("member");
                members.push(o.id);
            }
        }
        groups.push((grp.uid, members));
    }
    // Principals were built before the groups: rebuild them.
    for u in users.iter_mut() {
        let stored = app
            .store()
            .user_by_uid(u.uid)
            .await
            .expect("user")
            .expect("found");
        u.principal = app.principal_of(&stored).await.expect("principal");
    }
    let countries = ["BF", "ML", "NE"];
    let mut items = Vec::new();
    for k in 0..n_items {
        let owner_idx = rng.random_range(0..orgs.len());
        let author = &users[owner_idx * 2];
        let (tlp, group, recipients) =
            random_marking(&mut rng, orgs[owner_idx].id, &groups, &users);
        let coarsen = [Coarsen::Exact, Coarsen::Km10, Coarsen::Admin1][rng.random_range(0..3)];
        let lat = (rng.random_range(11.0..16.0f64) * 1e6).round() / 1e6;
        let lon = (rng.random_range(-5.0..3.0f64) * 1e6).round() / 1e6;
        let country = countries[rng.random_range(0..3)];
        let data = IncidentData {
            dataset: None,
            external_id: None,
            event_date: NaiveDate::from_ymd_opt(2024, 1, 1).expect("date")
                + chrono::Duration::days(k as i64),
            event_date_end: None,
            time_precision: Precision::EXACT,
            sub_event_type: SubEventType::ALL[rng.random_range(0..25)],
            disorder_type: None,
            actors: Actors {
                actor1: Some("Unidentified Armed Group".into()),
                ..Default::default()
            },
            civilian_targeting: false,
            location: Location {
                country: CountryCode::parse(country).expect("cc"),
                region: None,
                admin1: Some("Nowhere Region".into()),
                admin2: Some("Nowhere District".into()),
                admin3: Some("Village".into()),
                place: Some(format!("Village {k}")),
                latitude: lat,
                longitude: lon,
                geo_precision: Precision::EXACT,
            },
            fatalities: Fatalities {
                best: rng.random_range(0..10),
                low: None,
                high: None,
            },
            notes: format!("Test incident {k}"),
            sources: vec![],
            source_scale: None,
            tags: vec![],
            source_timestamp: None,
            original: BTreeMap::new(),
        };
        let marking = MarkingInput {
            tlp,
            sharing_group: group.as_ref().map(|g| g.0),
            recipients: recipients.clone(),
            coarsen,
        };
        let inc = app
            .create_incident(&author.principal, data, &marking)
            .await
            .expect("create");
        items.push(Item {
            id: inc.id,
            owner: orgs[owner_idx].id,
            tlp,
            group_members: group.map(|g| g.1).unwrap_or_default(),
            author: author.uid,
            recipients,
            coarsen,
            exact: (lat, lon),
            country: country.into(),
        });
    }
    // Reports on half the incidents, filed by a random organisation under a
    // random marking, confirmed on the incident when the filer sees it.
    let mut reports = Vec::new();
    for (k, inc) in items.iter().enumerate() {
        if !rng.random_bool(0.5) {
            continue;
        }
        let owner_idx = rng.random_range(0..orgs.len());
        let filer = &users[owner_idx * 2];
        let (tlp, group, recipients) =
            random_marking(&mut rng, orgs[owner_idx].id, &groups, &users);
        let claims: sahelwatch_core::Claims = serde_json::from_value(serde_json::json!({
            "event_date": (NaiveDate::from_ymd_opt(2024, 1, 1).expect("date")
                + chrono::Duration::days(k as i64)).to_string(),
            "fatalities": rng.random_range(0..10),
            "place": {"name": format!("Village {k}"), "latitude": inc.exact.0,
                      "longitude": inc.exact.1, "uncertainty_km": 5.0, "country": inc.country},
        }))
        .expect("claims");
        let filed = app
            .file_report(
                &filer.principal,
                sahelwatch_app::fusion::NewReport {
                    source: format!("Source {}", rng.random_range(0..5)),
                    title: None,
                    published: NaiveDate::from_ymd_opt(2025, 1, 1).expect("date"),
                    lang: None,
                    reliability: "B".parse().expect("grade"),
                    credibility: "3".parse().expect("grade"),
                    text: None,
                    claims: Some(claims),
                    marking: MarkingInput {
                        tlp,
                        sharing_group: group.as_ref().map(|g| g.0),
                        recipients: recipients.clone(),
                        coarsen: Coarsen::Exact,
                    },
                },
            )
            .await
            .expect("file");
        let linked = if may_see(inc, Some(filer)) {
            app.decide(
                &filer.principal,
                filed.report.id,
                inc.id,
                sahelwatch_app::fusion::Verdict::Confirm,
            )
            .await
            .expect("confirm");
            Some(inc.id)
        } else {
            None
        };
        reports.push((
            Item {
                id: filed.report.id,
                owner: orgs[owner_idx].id,
                tlp,
                group_members: group.map(|g| g.1).unwrap_or_default(),
                author: filer.uid,
                recipients,
                coarsen: Coarsen::Exact,
                exact: inc.exact,
                country: inc.country.clone(),
            },
            linked,
        ));
    }
    World {
        _db: db,
        app,
        users,
        items,
        reports,
    }
}

/// The incidents (by uid) of a list of STIX objects, with where their
/// locations put them; asserts every location belongs to a listed incident.
fn stix_incidents(objects: &[serde_json::Value]) -> BTreeMap<Uuid, (f64, f64)> {
    let uid = |id: &str, prefix: &str| -> Uuid {
        let u: Uuid = id
            .strip_prefix(prefix)
            .expect("prefix")
            .parse()
            .expect("uuid");
        sahelwatch_app::stix::uid_of_stix(u)
    };
    let mut incidents = BTreeSet::new();
    let mut locations = BTreeMap::new();
    for o in objects {
        let id = o["id"].as_str().expect("id");
        match o["type"].as_str().expect("type") {
            "incident" => {
                incidents.insert(uid(id, "incident--"));
            }
            "location" => {
                let at = (
                    o["latitude"].as_f64().expect("lat"),
                    o["longitude"].as_f64().expect("lon"),
                );
                locations.insert(uid(id, "location--"), at);
            }
            _ => {}
        }
    }
    assert_eq!(
        incidents,
        locations.keys().copied().collect(),
        "every incident has its location and no location is alone"
    );
    locations
}

const TAXII: &str = "application/taxii+json;version=2.1";

/// GET a TAXII resource.
async fn taxii_get(state: &AppState, token: Option<&str>, uri: &str) -> common::Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = vec![("accept", TAXII)];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    send(state, "GET", uri, &headers, None).await
}

/// Every object of the TAXII collection, following `next`, small pages.
async fn taxii_all(
    state: &AppState,
    token: Option<&str>,
    what: &str,
    key: &str,
) -> Vec<serde_json::Value> {
    let base = format!(
        "/taxii2/api/collections/{}/{what}/?limit=7",
        *sahelwatch_app::taxii::COLLECTION_ID
    );
    let mut out = Vec::new();
    let mut uri = base.clone();
    loop {
        let r = taxii_get(state, token, &uri).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.text());
        let body = r.json();
        if let Some(items) = body[key].as_array() {
            out.extend(items.iter().cloned());
        }
        match body["next"].as_str() {
            Some(n) => {
                assert_eq!(body["more"], true);
                uri = format!("{base}&next={n}");
            }
            None => return out,
        }
    }
}

/// The incident events of a catch-up stream from the beginning, by uid,
/// with where each puts its incident.
async fn streamed(state: &AppState, token: Option<&str>) -> BTreeMap<Uuid, (f64, f64)> {
    let r = get(
        state,
        token,
        "/api/v1/stream?last_event_id=0.0&follow=false",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let mut out = BTreeMap::new();
    let mut ended = false;
    for block in text.split("\n\n") {
        let mut event = "";
        let mut data = String::new();
        for line in block.lines() {
            if let Some(e) = line.strip_prefix("event:") {
                event = e.trim();
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.trim_start());
            }
        }
        match event {
            "incident" => {
                let v: serde_json::Value = serde_json::from_str(&data).expect("event json");
                let id: Uuid = v["id"].as_str().expect("id").parse().expect("uuid");
                let at = (
                    v["location"]["latitude"].as_f64().expect("lat"),
                    v["location"]["longitude"].as_f64().expect("lon"),
                );
                assert!(out.insert(id, at).is_none(), "an incident streamed twice");
            }
            "end" => {
                assert_eq!(data, "caught up");
                ended = true;
            }
            _ => {}
        }
    }
    assert!(ended, "the catch-up stream ends");
    out
}

/// Every id a listing returns, following cursors.
async fn list_all(state: &AppState, token: Option<&str>, query: &str) -> BTreeSet<Uuid> {
    let mut out = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            None => format!("/api/v1/incidents?limit=13&{query}"),
            Some(c) => format!("/api/v1/incidents?limit=13&{query}&cursor={c}"),
        };
        let r = get(state, token, &uri).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.text());
        let body = r.json();
        for it in body["items"].as_array().expect("items") {
            assert!(
                out.insert(it["id"].as_str().expect("id").parse().expect("uuid")),
                "an item listed twice"
            );
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

async fn check_every_path(w: &World, state: &AppState, viewer: Option<&TestUser>) {
    let token = viewer.map(|u| u.token.as_str());
    let who = viewer
        .map(|u| u.name.clone())
        .unwrap_or_else(|| "anonymous".into());
    let visible: Vec<&Item> = w.items.iter().filter(|i| may_see(i, viewer)).collect();
    let want: BTreeSet<Uuid> = visible.iter().map(|i| i.id).collect();

    // List (every page) and its total.
    assert_eq!(list_all(state, token, "").await, want, "list for {who}");
    let r = get(state, token, "/api/v1/incidents?limit=1&count=true").await;
    assert_eq!(r.json()["total"], want.len(), "total for {who}");

    // Get, item by item: visible ones come back where this viewer may see
    // them; the others answer exactly like an id that does not exist.
    let absent = get(
        state,
        token,
        &format!("/api/v1/incidents/{}", Uuid::new_v4()),
    )
    .await;
    for item in &w.items {
        let r = get(state, token, &format!("/api/v1/incidents/{}", item.id)).await;
        if may_see(item, viewer) {
            assert_eq!(r.status, 200, "{who} should see {}", item.id);
            let loc = &r.json()["location"];
            let at = (
                loc["latitude"].as_f64().expect("lat"),
                loc["longitude"].as_f64().expect("lon"),
            );
            assert_eq!(
                at,
                seen_at(item, viewer),
                "{who} sees {} at the wrong place ({:?})",
                item.id,
                item.coarsen
            );
            if at != item.exact {
                assert!(
                    loc.get("place").is_none(),
                    "a coarsened location keeps no place name"
                );
            }
        } else {
            assert_eq!(
                (r.status, r.body.clone()),
                (absent.status, absent.body.clone()),
                "{who} must not see {}",
                item.id
            );
        }
    }

    // Search by box and by radius, on the positions this viewer sees.
    let bbox = (-5.0, 11.0, -1.0, 16.0);
    let want_box: BTreeSet<Uuid> = visible
        .iter()
        .filter(|i| {
            let (la, lo) = seen_at(i, viewer);
            lo >= bbox.0 && lo <= bbox.2 && la >= bbox.1 && la <= bbox.3
        })
        .map(|i| i.id)
        .collect();
    let q = format!("bbox={},{},{},{}", bbox.0, bbox.1, bbox.2, bbox.3);
    assert_eq!(
        list_all(state, token, &q).await,
        want_box,
        "bbox search for {who}"
    );
    let centre = (13.5, -1.0);
    let want_near: BTreeSet<Uuid> = visible
        .iter()
        .filter(|i| haversine_km(centre, seen_at(i, viewer)) <= 150.0)
        .map(|i| i.id)
        .collect();
    assert_eq!(
        list_all(state, token, "near=13.5,-1.0&radius_km=150").await,
        want_near,
        "radius search for {who}"
    );

    // Counts, in total and by country.
    let r = get(state, token, "/api/v1/incidents/counts?by=country").await;
    let body = r.json();
    assert_eq!(body["count"], want.len(), "count for {who}");
    let mut by_country: BTreeMap<String, u64> = BTreeMap::new();
    for i in &visible {
        *by_country.entry(i.country.clone()).or_default() += 1;
    }
    let got: BTreeMap<String, u64> = body["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["keys"][0].as_str().expect("key").to_string(),
                g["count"].as_u64().expect("count"),
            )
        })
        .collect();
    assert_eq!(got, by_country, "counts by country for {who}");

    // Exports: CSV in the ACLED layout and GeoJSON.
    let r = get(state, token, "/api/v1/incidents/export?format=csv").await;
    assert_eq!(r.status, 200);
    let mut rdr = csv::Reader::from_reader(r.body.as_slice());
    let mut exported = BTreeSet::new();
    for rec in rdr.records() {
        let rec = rec.expect("csv");
        let id: Uuid = rec[0]
            .strip_prefix("sahelwatch:")
            .expect("native id")
            .parse()
            .expect("uuid");
        let item = w.items.iter().find(|i| i.id == id).expect("known");
        let at: (f64, f64) = (rec[22].parse().expect("lat"), rec[23].parse().expect("lon"));
        assert_eq!(
            at,
            seen_at(item, viewer),
            "{who}: exported location of {id}"
        );
        exported.insert(id);
    }
    assert_eq!(exported, want, "CSV export for {who}");
    let r = get(state, token, "/api/v1/incidents/export?format=geojson").await;
    let fc: geojson::FeatureCollection = r
        .text()
        .parse::<geojson::GeoJson>()
        .expect("geojson")
        .try_into()
        .expect("collection");
    let ids: BTreeSet<Uuid> = fc
        .features
        .iter()
        .map(|f| match &f.id {
            Some(geojson::feature::Id::String(s)) => s.parse().expect("uuid"),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, want, "GeoJSON export for {who}");

    // STIX bundle export, with locations as this viewer may see them.
    let r = get(state, token, "/api/v1/incidents/export?format=stix").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let bundle = r.json();
    assert_eq!(bundle["type"], "bundle");
    let got = stix_incidents(bundle["objects"].as_array().expect("objects"));
    let want_at: BTreeMap<Uuid, (f64, f64)> =
        visible.iter().map(|i| (i.id, seen_at(i, viewer))).collect();
    assert_eq!(got, want_at, "STIX export for {who}");

    // TAXII: the whole collection page by page, its manifest, and each
    // object by id (an invisible one answers like one that does not exist).
    let objects = taxii_all(state, token, "objects", "objects").await;
    assert_eq!(stix_incidents(&objects), want_at, "TAXII objects for {who}");
    let manifest = taxii_all(state, token, "manifest", "objects").await;
    let listed: BTreeSet<Uuid> = manifest
        .iter()
        .filter_map(|m| m["id"].as_str()?.strip_prefix("incident--"))
        .map(|u| sahelwatch_app::stix::uid_of_stix(u.parse().expect("uuid")))
        .collect();
    assert_eq!(listed, want, "TAXII manifest for {who}");
    let coll = *sahelwatch_app::taxii::COLLECTION_ID;
    let absent = taxii_get(
        state,
        token,
        &format!(
            "/taxii2/api/collections/{coll}/objects/incident--{}/",
            Uuid::new_v4()
        ),
    )
    .await;
    assert_eq!(absent.status, 404);
    for item in &w.items {
        let sid = sahelwatch_app::stix::stix_uuid(item.id);
        for what in ["", "versions/"] {
            let r = taxii_get(
                state,
                token,
                &format!("/taxii2/api/collections/{coll}/objects/incident--{sid}/{what}"),
            )
            .await;
            if may_see(item, viewer) {
                assert_eq!(r.status, 200, "{who} should see {sid} by TAXII {what}");
            } else {
                assert_eq!(
                    (r.status, r.body.clone()),
                    (absent.status, absent.body.clone()),
                    "{who} must not see {sid} by TAXII {what}"
                );
            }
        }
    }

    // The live stream, replayed from the beginning.
    assert_eq!(
        streamed(state, token).await,
        want_at,
        "live stream for {who}"
    );

    check_reports(w, state, viewer).await;
}

/// Reports: the list (every page), each report by id (invisible ones exactly
/// like absent ones), the links a report shows, and the reports that
/// corroborate each visible incident.
async fn check_reports(w: &World, state: &AppState, viewer: Option<&TestUser>) {
    let token = viewer.map(|u| u.token.as_str());
    let who = viewer
        .map(|u| u.name.clone())
        .unwrap_or_else(|| "anonymous".into());
    let want: BTreeSet<Uuid> = w
        .reports
        .iter()
        .filter(|(r, _)| may_see(r, viewer))
        .map(|(r, _)| r.id)
        .collect();
    let mut got = BTreeSet::new();
    let mut uri = "/api/v1/reports?limit=7".to_string();
    loop {
        let r = get(state, token, &uri).await;
        assert_eq!(r.status, 200, "reports for {who}: {}", r.text());
        let page = r.json();
        for it in page["items"].as_array().expect("items") {
            got.insert(Uuid::parse_str(it["id"].as_str().expect("id")).expect("uuid"));
        }
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/api/v1/reports?limit=7&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(got, want, "report list for {who}");
    let absent = get(state, token, &format!("/api/v1/reports/{}", Uuid::new_v4())).await;
    for (rep, linked) in &w.reports {
        let r = get(state, token, &format!("/api/v1/reports/{}", rep.id)).await;
        if may_see(rep, viewer) {
            assert_eq!(r.status, 200, "{who} should see report {}", rep.id);
            let links: Vec<Uuid> = r.json()["links"]
                .as_array()
                .expect("links")
                .iter()
                .map(|l| Uuid::parse_str(l["incident"].as_str().expect("id")).expect("uuid"))
                .collect();
            let want_links: Vec<Uuid> = linked
                .iter()
                .filter(|i| w.items.iter().any(|x| x.id == **i && may_see(x, viewer)))
                .copied()
                .collect();
            assert_eq!(links, want_links, "links of {} for {who}", rep.id);
        } else {
            assert_eq!(
                (r.status, r.body.clone()),
                (absent.status, absent.body.clone()),
                "{who} must not see report {}",
                rep.id
            );
        }
    }
    for item in w.items.iter().filter(|i| may_see(i, viewer)) {
        let r = get(
            state,
            token,
            &format!("/api/v1/incidents/{}/reports", item.id),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let body = r.json();
        let got: BTreeSet<Uuid> = body["reports"]
            .as_array()
            .expect("reports")
            .iter()
            .map(|x| Uuid::parse_str(x["id"].as_str().expect("id")).expect("uuid"))
            .collect();
        let want: BTreeSet<Uuid> = w
            .reports
            .iter()
            .filter(|(r, l)| *l == Some(item.id) && may_see(r, viewer))
            .map(|(r, _)| r.id)
            .collect();
        assert_eq!(got, want, "corroborating reports of {} for {who}", item.id);
        assert_eq!(body["corroboration"]["reports"], want.len());
    }
}

async fn every_user_sees_exactly_what_the_rules_allow(db: TestDb, seed: u64) {
    let w = world(db, seed, 60).await;
    let state = AppState::new(Arc::clone(&w.app));
    for u in &w.users {
        check_every_path(&w, &state, Some(u)).await;
    }
    // The public API off: anonymous callers get nothing but 401.
    for path in [
        "/api/v1/incidents",
        "/api/v1/incidents/counts",
        "/api/v1/incidents/export",
        "/api/v1/places?q=x",
    ] {
        assert_eq!(get(&state, None, path).await.status, 401, "{path}");
    }
    let r = get(
        &state,
        None,
        &format!("/api/v1/incidents/{}", w.items[0].id),
    )
    .await;
    assert_eq!(r.status, 401);
    // The public API on: anonymous callers see TLP:CLEAR, coarsened.
    let public = AppState {
        public_api: true,
        ..state.clone()
    };
    check_every_path(&w, &public, None).await;
    // Every read of non-CLEAR material was audited, and the chain holds.
    let v = w.app.verify_audit().await.expect("verify");
    assert!(v.broken_at.is_none());
    assert!(v.entries > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_random_worlds() {
    for seed in [1, 2, 3] {
        every_user_sees_exactly_what_the_rules_allow(TestDb::sqlite().await, seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_random_world() {
    every_user_sees_exactly_what_the_rules_allow(TestDb::postgres().await, 4).await;
}
