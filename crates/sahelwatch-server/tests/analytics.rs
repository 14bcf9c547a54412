//! Analytics over HTTP, against an independent computation in plain SQL on
//! the same database, with two organisations:
//! - the real UCDP sample (TLP:CLEAR) and 3,000 SYNTHETIC ACLED rows that
//!   only the owner organisation may see (TLP:AMBER);
//! - trends by week, month, quarter, half and year equal SQL GROUP BYs
//!   (SQLite and PostgreSQL), for the owner and for the other organisation;
//! - change, hotspots, approach and brief count only what the caller sees;
//! - bad parameters are refused by name; charts come as SVG, PNG and CSV.

mod common;

use common::{Resp, TestUser, get, user};
use sahelwatch_app::{App, ImportOptions, NoProgress};
use sahelwatch_core::{Marking, Role, Tlp};
use sahelwatch_ingest::IncidentFormat;
use sahelwatch_server::AppState;
use sahelwatch_store::conformance::TestDb;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

struct World {
    db: TestDb,
    state: AppState,
    owner: TestUser,
    other: TestUser,
}

fn starter(name: &str) -> Box<dyn std::io::Read + Send> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/starter")
        .join(name);
    Box::new(flate2::read::GzDecoder::new(
        std::fs::File::open(p).unwrap(),
    ))
}

async fn world(db: TestDb) -> World {
    let app = Arc::new(App::new(db.store.clone()));
    let agency = app.ensure_org("agency").await.unwrap();
    let ngo = app.ensure_org("ngo").await.unwrap();
    let name = "geonames_cities500_sahel_region.tsv.gz";
    app.import_gazetteer(name, starter(name), None, true, Arc::new(NoProgress))
        .await
        .unwrap();
    let clear = ImportOptions {
        marking: Marking::new(agency.id, Tlp::Clear),
        strict: true,
    };
    let name = "ucdp_ged_23_1_sample.csv.gz";
    let r = app
        .import_incidents(
            IncidentFormat::Ucdp,
            name,
            starter(name),
            None,
            &clear,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(r.outcome.inserted, 1000);
    let mut csv = Vec::new();
    sahelwatch_ingest::synthetic::write_csv(&mut csv, 7, 3000).unwrap();
    let amber = ImportOptions {
        marking: Marking::new(agency.id, Tlp::Amber),
        strict: true,
    };
    let r = app
        .import_incidents(
            IncidentFormat::Acled,
            "synthetic.csv",
            Box::new(std::io::Cursor::new(csv)),
            None,
            &amber,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(r.outcome.inserted, 3000);
    let owner = user(&app, agency.id, "owner", Role::Analyst).await;
    let other = user(&app, ngo.id, "other", Role::Analyst).await;
    World {
        state: AppState::new(Arc::clone(&app)),
        db,
        owner,
        other,
    }
}

async fn ok(w: &World, who: &TestUser, uri: &str) -> Value {
    let r = get(&w.state, Some(&who.token), uri).await;
    assert_eq!(r.status, 200, "{uri}: {}", r.text());
    r.json()
}

/// Bucket label -> (count, fatalities), by plain SQL over the stored rows.
async fn sql_buckets(
    db: &TestDb,
    period: &str,
    clear_only: bool,
    extra: &str,
) -> BTreeMap<String, (u64, u64)> {
    let sqlite = !db.location.starts_with("postgres");
    let label = match (period, sqlite) {
        ("week", true) => "strftime('%G-W%V', event_date)".to_string(),
        ("month", true) => "substr(event_date, 1, 7)".into(),
        ("quarter", true) => "substr(event_date, 1, 4) || '-Q' || ((CAST(substr(event_date, 6, 2) AS INTEGER) + 2) / 3)".into(),
        ("half", true) => "substr(event_date, 1, 4) || '-H' || ((CAST(substr(event_date, 6, 2) AS INTEGER) + 5) / 6)".into(),
        ("year", true) => "substr(event_date, 1, 4)".into(),
        ("week", false) => "to_char(event_date, 'IYYY-\"W\"IW')".into(),
        ("month", false) => "to_char(event_date, 'YYYY-MM')".into(),
        ("quarter", false) => "to_char(event_date, 'YYYY-\"Q\"Q')".into(),
        ("half", false) => "to_char(event_date, 'YYYY') || '-H' || (CASE WHEN extract(month FROM event_date) <= 6 THEN 1 ELSE 2 END)".into(),
        ("year", false) => "to_char(event_date, 'YYYY')".into(),
        _ => unreachable!(),
    };
    let deleted = if sqlite { "deleted = 0" } else { "NOT deleted" };
    let clear = if clear_only { " AND tlp = 'CLEAR'" } else { "" };
    let sql = format!(
        "SELECT {label} AS b, count(*), sum(fatalities) FROM incidents \
         WHERE {deleted} AND country IN ('ML', 'BF', 'NE'){clear}{extra} GROUP BY b ORDER BY b"
    );
    let mut out = BTreeMap::new();
    if sqlite {
        let c = rusqlite::Connection::open(&db.location).unwrap();
        let mut st = c.prepare(&sql).unwrap();
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .unwrap();
        for r in rows {
            let (b, n, f) = r.unwrap();
            out.insert(b, (n as u64, f as u64));
        }
    } else {
        let (client, conn) = tokio_postgres::connect(&db.location, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        for r in client.query(&sql, &[]).await.unwrap() {
            let n: i64 = r.get(1);
            let f: i64 = r.get(2);
            out.insert(r.get::<_, String>(0), (n as u64, f as u64));
        }
    }
    out
}

fn nonzero_buckets(t: &Value) -> BTreeMap<String, (u64, u64)> {
    t["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["count"].as_u64().unwrap() > 0)
        .map(|b| {
            (
                b["label"].as_str().unwrap().to_string(),
                (
                    b["count"].as_u64().unwrap(),
                    b["fatalities"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn analytics_agree_with_sql_and_respect_markings_sqlite() {
    analytics(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn analytics_agree_with_sql_and_respect_markings_postgres() {
    analytics(TestDb::postgres().await).await;
}

async fn analytics(db: TestDb) {
    let w = world(db).await;
    // Trends against SQL, for every period, for both organisations.
    for period in ["week", "month", "quarter", "half", "year"] {
        for (who, clear_only) in [(&w.owner, false), (&w.other, true)] {
            let t = ok(
                &w,
                who,
                &format!("/api/v1/analytics/trend?region=sahel&period={period}"),
            )
            .await;
            let want = sql_buckets(&w.db, period, clear_only, "").await;
            assert!(!want.is_empty());
            assert_eq!(
                nonzero_buckets(&t),
                want,
                "{period} clear_only={clear_only}"
            );
            // Every bucket between the first and the last is present, in order.
            let labels: Vec<&str> = t["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["label"].as_str().unwrap())
                .collect();
            assert!(labels.windows(2).all(|p| p[0] < p[1]), "{period}");
            let n: u64 = want.values().map(|v| v.0).sum();
            assert_eq!(t["total"]["count"], n);
        }
    }
    // A filter on event type, and bounds.
    let t = ok(&w, &w.owner, "/api/v1/analytics/trend?region=sahel&period=quarter&event_type=Violence%20against%20civilians&from=2015-01-01&to=2022-12-31").await;
    let want = sql_buckets(&w.db, "quarter", false, " AND event_type = 'Violence against civilians' AND event_date BETWEEN '2015-01-01' AND '2022-12-31'").await;
    assert_eq!(nonzero_buckets(&t), want);
    assert_eq!(
        t["buckets"].as_array().unwrap().len(),
        32,
        "2015-Q1 .. 2022-Q4"
    );
    assert_eq!(t["subject"], "Violence against civilians events");

    // Change: the other organisation sees only the CLEAR (UCDP) rows.
    let owner_year = sql_buckets(&w.db, "year", false, "").await;
    let clear_year = sql_buckets(&w.db, "year", true, "").await;
    for (who, want) in [(&w.owner, &owner_year), (&w.other, &clear_year)] {
        let c = ok(
            &w,
            who,
            "/api/v1/analytics/change?region=sahel&compare=2022%20vs%202021",
        )
        .await;
        let get = |y: &str| want.get(y).map_or(0, |v| v.0);
        assert_eq!(c["current_totals"]["count"], get("2022"));
        assert_eq!(c["previous_totals"]["count"], get("2021"));
        assert!(c["statement"].as_str().unwrap().contains("in the Sahel"));
    }
    let c = ok(
        &w,
        &w.owner,
        "/api/v1/analytics/change?region=sahel&compare=2024-H1%20vs%202023-H1",
    )
    .await;
    let h = sql_buckets(&w.db, "half", false, "").await;
    let (now, before) = (h["2024-H1"].0 as f64, h["2023-H1"].0 as f64);
    let pct = ((now - before) / before * 1000.0).round() / 10.0;
    assert_eq!(c["percent"].as_f64().unwrap(), pct);
    let band = if pct > 25.0 {
        "large_increase"
    } else if pct >= 10.0 {
        "moderate_increase"
    } else if pct >= -25.0 {
        "limited_change"
    } else {
        "decrease"
    };
    assert_eq!(c["band"], band);

    // Hotspots count only visible incidents inside the grid.
    let clear_total: u64 = clear_year.values().map(|v| v.0).sum();
    let owner_total: u64 = owner_year.values().map(|v| v.0).sum();
    let h_other = ok(
        &w,
        &w.other,
        "/api/v1/analytics/hotspots?region=sahel&resolution=4&period=year",
    )
    .await;
    let h_owner = ok(
        &w,
        &w.owner,
        "/api/v1/analytics/hotspots?region=sahel&resolution=4&period=year",
    )
    .await;
    assert_eq!(h_other["type"], "FeatureCollection");
    assert!(
        h_other["incidents"].as_u64().unwrap() + h_other["outside_grid"].as_u64().unwrap()
            == clear_total
    );
    assert!(
        h_owner["incidents"].as_u64().unwrap() + h_owner["outside_grid"].as_u64().unwrap()
            == owner_total
    );
    let features = h_owner["features"].as_array().unwrap();
    let counted: u64 = features
        .iter()
        .map(|f| f["properties"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, h_owner["incidents"].as_u64().unwrap());
    assert!(
        features
            .iter()
            .any(|f| f["properties"]["bin"].as_i64().unwrap() == 3),
        "a 99% hot spot in 3,000 clustered incidents"
    );
    for f in features {
        assert_eq!(
            f["geometry"]["coordinates"][0].as_array().unwrap().len(),
            7,
            "a closed hexagon"
        );
    }

    // Approach toward Bamako: monthly counts are the visible incidents.
    for (who, want) in [(&w.owner, owner_total), (&w.other, clear_total)] {
        let a = ok(
            &w,
            who,
            "/api/v1/analytics/approach?region=sahel&place=Bamako",
        )
        .await;
        let months = a[0]["months"].as_array().unwrap();
        assert_eq!(
            months
                .iter()
                .map(|m| m["count"].as_u64().unwrap())
                .sum::<u64>(),
            want
        );
        assert_eq!(
            a[0]["place"]["name"].as_str().unwrap().split(',').next(),
            Some("Bamako")
        );
    }

    // Briefs: the other organisation's brief holds no AMBER incident.
    let b_other = ok(&w, &w.other, "/api/v1/analytics/brief?region=sahel&from=2012-01-01&to=2022-12-31&resolution=4&place=Bamako").await;
    let b_owner = ok(&w, &w.owner, "/api/v1/analytics/brief?region=sahel&from=2012-01-01&to=2022-12-31&resolution=4&place=Bamako").await;
    let in_range = |m: &BTreeMap<String, (u64, u64)>| -> u64 {
        m.iter()
            .filter(|(y, _)| ("2012".."2023").contains(&y.as_str()))
            .map(|(_, v)| v.0)
            .sum()
    };
    assert_eq!(
        b_other["change"]["current_totals"]["count"],
        in_range(&clear_year)
    );
    assert_eq!(
        b_owner["change"]["current_totals"]["count"],
        in_range(&owner_year)
    );
    for i in b_other["most_lethal"].as_array().unwrap() {
        let id = i["id"].as_str().unwrap();
        let r = get(
            &w.state,
            Some(&w.other.token),
            &format!("/api/v1/incidents/{id}"),
        )
        .await;
        assert_eq!(r.status, 200, "the other organisation may see {id}");
    }
    let owner_lethal = b_owner["most_lethal"].as_array().unwrap();
    assert_eq!(owner_lethal.len(), 10);
    assert!(
        owner_lethal
            .windows(2)
            .all(|p| p[0]["fatalities"].as_u64() >= p[1]["fatalities"].as_u64())
    );
    assert!(b_owner["by_actor"].as_array().unwrap().len() <= 10);
    let md = get(&w.state, Some(&w.other.token), "/api/v1/analytics/brief?region=sahel&from=2012-01-01&to=2022-12-31&resolution=4&format=markdown").await;
    assert_eq!(md.status, 200);
    let text = md.text();
    assert!(
        text.starts_with("# Security brief: the Sahel"),
        "{}",
        &text[..80]
    );
    assert!(text.contains("data:image/svg+xml;base64,"));
    assert!(text.contains("## Hotspots"));
    // Words in the notes (`q`) narrow every analysis as they narrow counts,
    // per viewer: the AMBER synthetic notes count for their owner only.
    for (who, want_zero) in [(&w.owner, false), (&w.other, true)] {
        let counts = ok(
            &w,
            who,
            "/api/v1/incidents/counts?country=ML,BF,NE&q=synthetic",
        )
        .await;
        let counts = counts["count"].as_u64().unwrap();
        let t = ok(
            &w,
            who,
            "/api/v1/analytics/trend?country=ML,BF,NE&period=year&q=synthetic",
        )
        .await;
        assert_eq!(t["total"]["count"].as_u64(), Some(counts));
        assert_eq!(counts == 0, want_zero, "{counts}");
        let c = ok(
            &w,
            who,
            "/api/v1/analytics/change?country=ML,BF,NE&q=synthetic&compare=2021%20vs%202020",
        )
        .await;
        let all = ok(
            &w,
            who,
            "/api/v1/analytics/change?country=ML,BF,NE&compare=2021%20vs%202020",
        )
        .await;
        assert!(c["current_totals"]["count"].as_u64() <= all["current_totals"]["count"].as_u64());
        let h = ok(
            &w,
            who,
            "/api/v1/analytics/hotspots?country=ML,BF,NE&resolution=3&period=year&q=synthetic",
        )
        .await;
        let in_grid = h["incidents"].as_u64().unwrap();
        assert_eq!(in_grid + h["outside_grid"].as_u64().unwrap(), counts);
    }
    assert!(
        ok(
            &w,
            &w.owner,
            "/api/v1/analytics/trend?country=ML,BF,NE&period=year&q=synthetic"
        )
        .await["total"]["count"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn charts_come_as_svg_png_and_csv() {
    let w = world(TestDb::sqlite().await).await;
    let r = get(
        &w.state,
        Some(&w.owner.token),
        "/api/v1/analytics/trend?region=sahel&period=year&format=png",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("content-type").unwrap(), "image/png");
    assert!(r.body.starts_with(b"\x89PNG\r\n\x1a\n"));
    let r = get(
        &w.state,
        Some(&w.owner.token),
        "/api/v1/analytics/trend?region=sahel&period=year&format=svg&chart=bar",
    )
    .await;
    assert_eq!(r.headers.get("content-type").unwrap(), "image/svg+xml");
    let svg = r.text();
    assert!(svg.starts_with("<svg") && svg.contains("Security incidents per year, the Sahel"));
    assert!(
        svg.contains("Source: sahelwatch"),
        "a caption names the source"
    );
    let r = get(
        &w.state,
        Some(&w.owner.token),
        "/api/v1/analytics/trend?country=NE&period=year&format=csv",
    )
    .await;
    let text = r.text();
    assert!(text.starts_with("period,from,to,count,fatalities\n"));
    let t = ok(
        &w,
        &w.owner,
        "/api/v1/analytics/trend?country=NE&period=year",
    )
    .await;
    assert_eq!(
        text.lines().count(),
        t["buckets"].as_array().unwrap().len() + 1
    );
}

#[tokio::test]
async fn bad_parameters_are_refused_by_name() {
    let w = world(TestDb::sqlite().await).await;
    let cases: &[(&str, &[&str])] = &[
        (
            "/api/v1/analytics/trend?region=atlantis&period=fortnight",
            &["region", "period"],
        ),
        ("/api/v1/analytics/trend?format=pdf&chart=pie", &["format"]),
        ("/api/v1/analytics/trend?chart=pie", &["chart"]),
        (
            "/api/v1/analytics/trend?country=Atlantis&from=2024-13-01",
            &["from", "country"],
        ),
        ("/api/v1/analytics/change?region=sahel", &["compare"]),
        (
            "/api/v1/analytics/change?compare=2024-H3%20vs%202023-H1",
            &["compare"],
        ),
        (
            "/api/v1/analytics/change?compare=last%204%20weeks&as_of=yesterday",
            &["as_of"],
        ),
        (
            "/api/v1/analytics/change?compare=2024%20vs%202023&from=2024-01-01",
            &["from"],
        ),
        (
            "/api/v1/analytics/hotspots?region=sahel&resolution=16",
            &["resolution"],
        ),
        (
            "/api/v1/analytics/hotspots?polygon=%7B%22type%22%3A%22Point%22%2C%22coordinates%22%3A%5B0%2C0%5D%7D",
            &["polygon"],
        ),
        ("/api/v1/analytics/hotspots?polygon=not-json", &["polygon"]),
        ("/api/v1/analytics/approach?region=sahel", &["place"]),
        ("/api/v1/analytics/approach?place=Nowhereville", &["place"]),
        (
            "/api/v1/analytics/brief?from=2024-02-01&to=2024-01-01",
            &["from"],
        ),
        (
            "/api/v1/analytics/change?compare=2024%20vs%202023&to=2024-01-01",
            &["to"],
        ),
        // Unbounded work and chrono's limits are refused, not attempted.
        (
            "/api/v1/analytics/trend?from=1000-01-01&to=9999-12-31&period=week",
            &["period"],
        ),
        (
            "/api/v1/analytics/trend?from=%2B262142-12-31&to=%2B262142-12-31",
            &["from", "to"],
        ),
        (
            "/api/v1/analytics/change?compare=last%201%20week&as_of=%2B262142-12-31",
            &["as_of"],
        ),
        (
            "/api/v1/analytics/change?compare=%2B262142-01-01..%2B262142-02-01%20vs%202023",
            &["compare"],
        ),
        (
            "/api/v1/analytics/approach?place=Gao;Gao;Gao;Gao;Gao;Gao;Gao;Gao;Gao;Gao;Gao",
            &["place"],
        ),
        (
            "/api/v1/analytics/hotspots?bbox=-20,0,30,30&resolution=10",
            &["resolution"],
        ),
    ];
    for (uri, params) in cases {
        let r: Resp = get(&w.state, Some(&w.owner.token), uri).await;
        assert_eq!(r.status, 400, "{uri}: {}", r.text());
        let body = r.json();
        let mut named: Vec<&str> = body["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["parameter"].as_str().unwrap())
            .collect();
        named.sort();
        let mut want = params.to_vec();
        want.sort();
        assert_eq!(named, want, "{uri}: {body}");
    }
    // Unknown parameters are refused too; anonymous callers are refused.
    let r = get(
        &w.state,
        Some(&w.owner.token),
        "/api/v1/analytics/trend?colour=red",
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("colour"));
    let r = get(&w.state, None, "/api/v1/analytics/trend").await;
    assert_eq!(r.status, 401);
}
