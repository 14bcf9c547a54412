//! Analytics on a large SYNTHETIC set (issue 5): trend latency through the
//! application layer (as the API answers it) beside PostGIS on the same rows,
//! and Getis-Ord Gi* at H3 resolution 6 over the Sahel beside PySAL's
//! `esda.G_Local` on the same grid, weights and counts, in the same run.
//!
//! Usage: analytics_bench --db PATH [--pg URL] [--python PYSAL_PYTHON] [--n 30]
//! The PostGIS table `acled` must hold the same CSV (bench/run.sh loads it).

use anyhow::{Context, Result};
use sahelwatch_analytics::hotspot::{Grid, gi_star};
use sahelwatch_app::App;
use sahelwatch_app::analytics::RawAnalyticsQuery;
use sahelwatch_bench::percentiles;
use sahelwatch_core::{CountryCode, Viewer};
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

struct TrendCase {
    name: &'static str,
    raw: RawAnalyticsQuery,
    /// The same question for the PostGIS peer table (country names as in the CSV).
    sql: &'static str,
}

fn cases() -> Vec<TrendCase> {
    let q = |f: &dyn Fn(&mut RawAnalyticsQuery)| {
        let mut r = RawAnalyticsQuery::default();
        f(&mut r);
        r
    };
    vec![
        TrendCase {
            name: "sahel, monthly, all types",
            raw: q(&|r| {
                r.region = Some("sahel".into());
                r.period = Some("month".into());
            }),
            sql: "SELECT date_trunc('month', event_date), count(*), sum(fatalities) FROM acled \
                  WHERE country IN ('Mali', 'Burkina Faso', 'Niger') GROUP BY 1 ORDER BY 1",
        },
        TrendCase {
            name: "Burkina Faso, weekly, one event type, 2020-2024",
            raw: q(&|r| {
                r.country = Some("BF".into());
                r.period = Some("week".into());
                r.event_type = Some("Violence against civilians".into());
                r.from = Some("2020-01-01".into());
                r.to = Some("2024-12-31".into());
            }),
            sql: "SELECT date_trunc('week', event_date), count(*), sum(fatalities) FROM acled \
                  WHERE country = 'Burkina Faso' AND event_type = 'Violence against civilians' \
                  AND event_date BETWEEN '2020-01-01' AND '2024-12-31' GROUP BY 1 ORDER BY 1",
        },
        TrendCase {
            name: "Liptako-Gourma, quarterly, actor JNIM",
            raw: q(&|r| {
                r.region = Some("liptako-gourma".into());
                r.period = Some("quarter".into());
                r.actor = Some("JNIM".into());
            }),
            sql: "SELECT date_trunc('quarter', event_date), count(*), sum(fatalities) FROM acled \
                  WHERE country IN ('Mali', 'Burkina Faso', 'Niger') \
                  AND admin1 IN ('Gao', 'Menaka', 'Mopti', 'Sahel', 'Nord', 'Centre-Nord', 'Est', 'Tillaberi', 'Tahoua') \
                  AND (actor1 ILIKE '%JNIM%' OR assoc_actor_1 ILIKE '%JNIM%' OR actor2 ILIKE '%JNIM%' OR assoc_actor_2 ILIKE '%JNIM%') \
                  GROUP BY 1 ORDER BY 1",
        },
    ]
}

#[tokio::main]
async fn main() -> Result<()> {
    let db = arg("--db").context("--db PATH is required")?;
    let n: usize = arg("--n").and_then(|v| v.parse().ok()).unwrap_or(30);
    let store = sahelwatch_store::open(&db).await?;
    let app = App::new(store);
    let t = Instant::now();
    let snap = app.snapshot().await?;
    println!("index of {} incidents built in {:.0} ms", snap.len(), ms(t));

    println!("== trend (application layer, as the API answers; {n} runs each)");
    let pg = match arg("--pg") {
        Some(url) => {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            Some(client)
        }
        None => None,
    };
    for c in cases() {
        let q = app.analytics_query(&c.raw).await?;
        let mut ours = Vec::new();
        let mut buckets = 0;
        let mut total = 0;
        for _ in 0..n {
            let t = Instant::now();
            let tr = app.trend(&Viewer::Local, &q, "bench").await?;
            ours.push(ms(t));
            buckets = tr.buckets.len();
            total = tr.total.count;
        }
        let (p50, p95) = percentiles(ours);
        print!(
            "{:<48} sahelwatch p50 {p50:7.2} ms  p95 {p95:7.2} ms  ({buckets} buckets, {total} incidents)",
            c.name
        );
        if let Some(client) = &pg {
            let mut theirs = Vec::new();
            let mut peer_total = 0i64;
            for _ in 0..n.min(10) {
                let t = Instant::now();
                let rows = client.query(c.sql, &[]).await?;
                theirs.push(ms(t));
                peer_total = rows.iter().map(|r| r.get::<_, i64>(1)).sum();
            }
            let (g50, _) = percentiles(theirs);
            print!(
                " | PostGIS p50 {g50:8.2} ms ({peer_total} incidents) | ratio {:.1}x",
                g50 / p50
            );
        }
        println!();
    }

    println!("== Getis-Ord Gi* at H3 resolution 6 over the Sahel (Mali, Burkina Faso, Niger)");
    let cc: Vec<CountryCode> = ["ML", "BF", "NE"]
        .iter()
        .filter_map(|c| CountryCode::parse(c))
        .collect();
    let shape = sahelwatch_app::analytics::area::shape_of(&cc, &[]).context("no Sahel shape")?;
    let res = h3o::Resolution::Six;
    let t = Instant::now();
    let grid = Grid::covering(&shape, res)?;
    let grid_ms = ms(t);
    let q = app
        .analytics_query(&RawAnalyticsQuery {
            region: Some("sahel".into()),
            ..Default::default()
        })
        .await?;
    let t = Instant::now();
    let mut points = Vec::new();
    snap.visit(&q.filter, &Viewer::Local, |h| {
        points.push((h.latitude, h.longitude))
    });
    let visit_ms = ms(t);
    let t = Instant::now();
    let counts = grid.counts(points.iter().copied());
    let count_ms = ms(t);
    let mut gi_runs = Vec::new();
    let mut gi = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        gi = gi_star(&grid, &counts)?;
        gi_runs.push(ms(t));
    }
    let (gi50, _) = percentiles(gi_runs.clone());
    let total_ms = grid_ms + visit_ms + count_ms + gi50;
    println!(
        "grid {} cells: {grid_ms:.0} ms; {} incidents read from the index: {visit_ms:.0} ms; binned: {count_ms:.0} ms; Gi* p50 {gi50:.2} ms; total {total_ms:.0} ms",
        grid.len(),
        points.len()
    );
    let mut full = Vec::new();
    let mut hq = q.clone();
    hq.resolution = 6;
    let (mut slices, mut features) = (0, 0);
    for _ in 0..3 {
        let t = Instant::now();
        let h = app.hotspots(&Viewer::Local, &hq, "bench").await?;
        full.push(ms(t));
        slices = h.slices.len();
        features = h.features.len();
    }
    let (f50, _) = percentiles(full);
    println!(
        "whole hotspots answer (grid, Gi*, FDR classes, emerging classes over {slices} time slices of the default period, {features} GeoJSON features): p50 {f50:.0} ms"
    );

    if let Some(py) = arg("--python") {
        // The same grid, weights and counts for PySAL.
        let path = std::env::temp_dir().join(format!("gi_bench_{}.json", std::process::id()));
        let neighbours: Vec<&[u32]> = (0..grid.len()).map(|i| grid.neighbours(i)).collect();
        let doc = serde_json::json!({
            "neighbours": neighbours,
            "values": counts,
            "z": gi.iter().map(|g| g.z).collect::<Vec<_>>(),
        });
        std::fs::write(&path, serde_json::to_vec(&doc)?)?;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/gi_peer.py");
        let out = std::process::Command::new(&py)
            .arg(script)
            .arg(&path)
            .output()
            .with_context(|| format!("cannot run {py}"))?;
        let _ = std::fs::remove_file(&path);
        anyhow::ensure!(
            out.status.success(),
            "PySAL peer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let g = v["g_local_ms"].as_f64().unwrap_or(f64::NAN);
        let w = v["weights_ms"].as_f64().unwrap_or(f64::NAN);
        println!(
            "PySAL esda.G_Local (star, binary, no permutations) on the same grid: {g:.0} ms (+ {w:.0} ms to build libpysal weights); max |z difference| {:.1e}; ratio Gi* {:.0}x, grid+Gi* vs weights+G_Local {:.1}x",
            v["max_abs_z_diff"].as_f64().unwrap_or(f64::NAN),
            g / gi50,
            (g + w) / (grid_ms + gi50)
        );
    }
    Ok(())
}
