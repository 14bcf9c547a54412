//! Query latency of sahelwatch (SQLite backend, through the application
//! layer that the API uses) and of PostGIS on the same SYNTHETIC data, in the
//! same run. Prints p50/p95 per query kind and the ratio.
//!
//! Usage: query_latency --db PATH [--pg URL] [--n 200] [--seed 1] [--params-out FILE]
//! The PostGIS table `acled` must hold the same CSV (bench/run.sh loads it).

use anyhow::{Context, Result};
use sahelwatch_app::App;
use sahelwatch_bench::{BenchQuery, kind, percentiles, query_mix, run_query};
use sahelwatch_core::Viewer;
use std::collections::BTreeMap;
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

async fn postgis(client: &tokio_postgres::Client, q: &BenchQuery) -> Result<usize> {
    let rows = match q {
        BenchQuery::BboxDateType { min_lon, min_lat, max_lon, max_lat, from, to, event_type } => {
            client
                .query(
                    "SELECT * FROM acled
                     WHERE geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)
                       AND event_date BETWEEN $5::text::date AND $6::text::date AND event_type = $7
                     ORDER BY event_date DESC LIMIT 100",
                    &[min_lon, min_lat, max_lon, max_lat, from, to, event_type],
                )
                .await?
        }
        BenchQuery::NearLastYear { lat, lon, radius_km, from, to } => {
            // The index-using form: a box around the circle, then the exact sphere distance.
            let deg = radius_km / 111.0 / lat.to_radians().cos().max(0.01) * 1.05;
            client
                .query(
                    "SELECT * FROM acled
                     WHERE geom && ST_Expand(ST_SetSRID(ST_MakePoint($2, $1), 4326), $4)
                       AND ST_DistanceSphere(geom, ST_SetSRID(ST_MakePoint($2, $1), 4326)) <= $3::float8 * 1000
                       AND event_date BETWEEN $5::text::date AND $6::text::date
                     ORDER BY event_date DESC LIMIT 100",
                    &[lat, lon, radius_km, &deg, from, to],
                )
                .await?
        }
        BenchQuery::MonthlyByCountry => {
            client
                .query("SELECT country, date_trunc('month', event_date) m, count(*) FROM acled GROUP BY 1, 2", &[])
                .await?
        }
    };
    Ok(rows.len())
}

#[tokio::main]
async fn main() -> Result<()> {
    let db = arg("--db").context("--db PATH is required")?;
    let n: usize = arg("--n").map(|s| s.parse()).transpose()?.unwrap_or(200);
    let seed: u64 = arg("--seed").map(|s| s.parse()).transpose()?.unwrap_or(1);
    let mix = query_mix(seed, n);
    if let Some(path) = arg("--params-out") {
        std::fs::write(&path, serde_json::to_vec_pretty(&mix)?)?;
    }
    let store = sahelwatch_store::open(&db).await?;
    let app = App::new(store);
    let t = Instant::now();
    let snap = app.snapshot().await?;
    println!(
        "index of {} incidents built in {:.2}s",
        snap.len(),
        t.elapsed().as_secs_f64()
    );

    let mut results: BTreeMap<&str, BTreeMap<&str, (f64, f64, usize)>> = BTreeMap::new();
    // Warm-up: one pass of each kind, not timed.
    for q in mix.iter().take(3) {
        run_query(&app, &Viewer::Local, q).await?;
    }
    let mut by_kind: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut rows: BTreeMap<&str, usize> = BTreeMap::new();
    for q in &mix {
        let t = Instant::now();
        let r = run_query(&app, &Viewer::Local, q).await?;
        by_kind
            .entry(kind(q))
            .or_default()
            .push(t.elapsed().as_secs_f64() * 1e3);
        *rows.entry(kind(q)).or_default() += r;
    }
    for (k, v) in by_kind {
        let (p50, p95) = percentiles(v.clone());
        results
            .entry(k)
            .or_default()
            .insert("sahelwatch", (p50, p95, rows[k] / v.len().max(1)));
    }

    if let Some(url) = arg("--pg") {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        for q in mix.iter().take(3) {
            postgis(&client, q).await?;
        }
        let mut by_kind: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut rows: BTreeMap<&str, usize> = BTreeMap::new();
        for q in &mix {
            let t = Instant::now();
            let r = postgis(&client, q).await?;
            by_kind
                .entry(kind(q))
                .or_default()
                .push(t.elapsed().as_secs_f64() * 1e3);
            *rows.entry(kind(q)).or_default() += r;
        }
        for (k, v) in by_kind {
            let (p50, p95) = percentiles(v.clone());
            results
                .entry(k)
                .or_default()
                .insert("postgis", (p50, p95, rows[k] / v.len().max(1)));
        }
    }
    println!(
        "{:<30} {:<11} {:>9} {:>9} {:>10}",
        "query", "engine", "p50 ms", "p95 ms", "rows/query"
    );
    for (k, engines) in &results {
        for (e, (p50, p95, r)) in engines {
            println!("{k:<30} {e:<11} {p50:>9.3} {p95:>9.3} {r:>10}");
        }
        if let (Some(ours), Some(pg)) = (engines.get("sahelwatch"), engines.get("postgis")) {
            println!(
                "{k:<30} {:<11} {:>9.1}x {:>8.1}x",
                "postgis/us",
                pg.0 / ours.0,
                pg.1 / ours.1
            );
        }
    }
    if let Some(path) = arg("--json-out") {
        let j: BTreeMap<String, BTreeMap<String, serde_json::Value>> = results
            .iter()
            .map(|(k, m)| {
                (
                    k.to_string(),
                    m.iter()
                        .map(|(e, (p50, p95, r))| {
                            (
                                e.to_string(),
                                serde_json::json!({"p50_ms": p50, "p95_ms": p95, "rows": r}),
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        std::fs::write(path, serde_json::to_vec_pretty(&j)?)?;
    }
    Ok(())
}
