//! The cost of access control: list/search latency for an analyst of one of
//! 50 organisations, against the same queries with access control off
//! (`Viewer::Local`, the CLI's view), on 1M SYNTHETIC incidents spread over
//! every TLP level.
//!
//! `acl_latency --db COPY.db --setup` first turns a copy of the issue-2
//! benchmark database (1M CLEAR incidents of one organisation) into a shared
//! deployment: 50 organisations with an analyst each, 10 sharing groups, and
//! markings drawn per incident (CLEAR 20 %, GREEN 30 %, AMBER 25 % — 60 % of
//! them with a sharing group —, AMBER+STRICT 15 %, RED 10 % with two named
//! recipients; 40 % coarsened to 10 km outside the owner). Then, with or
//! without `--setup`, it runs the query mix of `query_latency` (a, b, c)
//! alternately with access control off and as analysts of rotating
//! organisations (whose reads of non-CLEAR items are audited, as in the
//! server), and prints p50/p95 of each and their ratio.

use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sahelwatch_app::App;
use sahelwatch_bench::{kind, percentiles, query_mix, run_query};
use sahelwatch_core::accounts::NewUser;
use sahelwatch_core::{Role, Viewer};
use std::collections::BTreeMap;
use std::time::Instant;

const ORGS: usize = 50;
const GROUPS: usize = 10;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Organisations, analysts, groups through the store; markings in bulk.
async fn setup(db: &str) -> Result<()> {
    let store = sahelwatch_store::open(db).await?;
    let mut orgs = Vec::new();
    let mut users = Vec::new();
    for k in 0..ORGS {
        let org = store.ensure_org(&format!("Bench org {k:02}")).await?;
        let user = store
            .create_user(NewUser {
                org: org.id,
                username: format!("analyst-{k:02}"),
                display_name: format!("Analyst {k:02}"),
                role: Role::Analyst,
                superadmin: false,
                password_hash: None,
            })
            .await?;
        orgs.push(org);
        users.push(user);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut groups: Vec<(i64, Vec<usize>)> = Vec::new();
    for g in 0..GROUPS {
        let owner = g * (ORGS / GROUPS);
        let grp = store
            .create_group(&format!("Bench group {g}"), orgs[owner].id)
            .await?;
        let mut members = vec![owner];
        while members.len() < 8 {
            let m = rng.random_range(0..ORGS);
            if !members.contains(&m) {
                store.set_group_member(grp.id, orgs[m].id, true).await?;
                members.push(m);
            }
        }
        groups.push((grp.id.0, members));
    }
    drop(store);

    let t = Instant::now();
    let mut c = rusqlite::Connection::open(db)?;
    let tx = c.transaction()?;
    let rows: Vec<(i64, f64, f64)> = tx
        .prepare("SELECT id, latitude, longitude FROM incidents")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    {
        let mut up = tx.prepare(
            "UPDATE incidents SET owner_org = ?1, tlp = ?2, sharing_group = ?3, author_user = ?4, \
             recipients = ?5, coarsen = ?6, coarse_latitude = ?7, coarse_longitude = ?8 WHERE id = ?9",
        )?;
        for (id, lat, lon) in &rows {
            let owner = rng.random_range(0..ORGS);
            let roll = rng.random_range(0..100);
            let tlp = match roll {
                0..20 => "CLEAR",
                20..50 => "GREEN",
                50..75 => "AMBER",
                75..90 => "AMBER+STRICT",
                _ => "RED",
            };
            let group = if tlp == "AMBER" && rng.random_bool(0.6) {
                let own: Vec<i64> = groups
                    .iter()
                    .filter(|(_, m)| m.contains(&owner))
                    .map(|(g, _)| *g)
                    .collect();
                (!own.is_empty()).then(|| own[rng.random_range(0..own.len())])
            } else {
                None
            };
            let recipients = (tlp == "RED").then(|| {
                let a = users[rng.random_range(0..ORGS)].id.0;
                let b = users[rng.random_range(0..ORGS)].id.0;
                format!("[{a},{b}]")
            });
            let coarse = rng.random_bool(0.4);
            let cell = |v: f64| (v * 10.0).floor() / 10.0 + 0.05;
            up.execute(rusqlite::params![
                orgs[owner].id.0,
                tlp,
                group,
                users[owner].id.0,
                recipients,
                if coarse { "10km" } else { "exact" },
                if coarse { cell(*lat) } else { *lat },
                if coarse { cell(*lon) } else { *lon },
                id
            ])?;
            *counts.entry(tlp).or_default() += 1;
        }
    }
    tx.commit()?;
    println!(
        "setup: {ORGS} organisations with an analyst each, {GROUPS} sharing groups of 8; {} incidents re-marked in {:.1}s: {counts:?}",
        rows.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let db = arg("--db").context("--db PATH (a copy of bench/out/bench.db) is required")?;
    let n: usize = arg("--n").map(|s| s.parse()).transpose()?.unwrap_or(200);
    if std::env::args().any(|a| a == "--setup") {
        setup(&db).await?;
    }
    let store = sahelwatch_store::open(&db).await?;
    let app = App::new(store.clone());
    let t = Instant::now();
    let snap = app.snapshot().await?;
    println!(
        "index of {} incidents built in {:.2}s",
        snap.len(),
        t.elapsed().as_secs_f64()
    );
    let mut analysts = Vec::new();
    for k in 0..ORGS {
        let (user, _) = store
            .user_by_username(&format!("analyst-{k:02}"))
            .await?
            .context("no bench analysts: run with --setup on a copy of bench.db first")?;
        analysts.push(Viewer::User(app.principal_of(&user).await?));
    }
    let mix = query_mix(1, n);
    for q in mix.iter().take(5) {
        run_query(&app, &Viewer::Local, q).await?;
        run_query(&app, &analysts[0], q).await?;
    }
    // Alternate off and on, query by query, so drift affects both alike.
    let mut off: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut on: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut rows_off: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rows_on: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, q) in mix.iter().enumerate() {
        let viewer = &analysts[i % ORGS];
        let t = Instant::now();
        *rows_off.entry(kind(q)).or_default() += run_query(&app, &Viewer::Local, q).await?;
        off.entry(kind(q))
            .or_default()
            .push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        *rows_on.entry(kind(q)).or_default() += run_query(&app, viewer, q).await?;
        on.entry(kind(q))
            .or_default()
            .push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "{:<30} {:>16} {:>16} {:>14} {:>14}",
        "query", "ACL off p50/p95", "analyst p50/p95", "ratio p50", "ratio p95"
    );
    let mut report = BTreeMap::new();
    for (k, v) in &off {
        let n = v.len();
        let (o50, o95) = percentiles(v.clone());
        let (a50, a95) = percentiles(on[k].clone());
        println!(
            "{k:<30} {o50:>7.2}/{o95:<7.2}ms {a50:>7.2}/{a95:<7.2}ms {:>13.2}x {:>13.2}x   (rows per query: off {}, analyst {})",
            a50 / o50,
            a95 / o95,
            rows_off[k] / n,
            rows_on[k] / n
        );
        report.insert(
            *k,
            serde_json::json!({"off_p50_ms": o50, "off_p95_ms": o95, "analyst_p50_ms": a50, "analyst_p95_ms": a95,
                "ratio_p50": a50 / o50, "ratio_p95": a95 / o95, "queries": n}),
        );
    }
    // Both sides above append an audit entry when they return non-CLEAR
    // rows (the CLI's reads are audited too). What that append costs alone:
    let items: Vec<(uuid::Uuid, sahelwatch_core::Tlp)> = (0..100)
        .map(|_| (uuid::Uuid::now_v7(), sahelwatch_core::Tlp::Green))
        .collect();
    let mut audit_ms = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        app.audit_read(&Viewer::Local, "read", "bench", items.iter().copied())
            .await?;
        audit_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (au50, au95) = percentiles(audit_ms);
    println!(
        "one audit append of 100 items: p50 {au50:.2} ms, p95 {au95:.2} ms; list/search ratios against ACL off without it: {}",
        off.iter()
            .filter(|(k, _)| !k.starts_with('c'))
            .map(|(k, v)| {
                let (o50, _) = percentiles(v.clone());
                let (a50, _) = percentiles(on[k].clone());
                format!("{k} {:.2}x", a50 / (o50 - au50).max(1e-3))
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    report.insert(
        "audit_append_100",
        serde_json::json!({"p50_ms": au50, "p95_ms": au95}),
    );
    if let Some(path) = arg("--json-out") {
        std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}
