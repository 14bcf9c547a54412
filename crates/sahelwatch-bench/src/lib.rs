//! Benchmark support: the query mix used to compare sahelwatch with PostGIS
//! and DuckDB on the same SYNTHETIC data. Not part of the product.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sahelwatch_app::{App, RawIncidentQuery};
use sahelwatch_core::Viewer;
use sahelwatch_query::GroupKey;
use serde::{Deserialize, Serialize};

/// Towns the synthetic generator places events around (a subset, for query centres).
pub const CENTRES: &[(f64, f64)] = &[
    (14.0354, -0.0345),
    (14.1010, -1.6306),
    (13.0917, -1.0844),
    (14.4843, -4.1827),
    (16.2717, -0.0447),
    (14.0078, 0.7531),
    (13.5116, 2.1254),
    (15.9182, 2.4022),
    (12.6392, -8.0029),
    (13.3154, 12.6113),
];

pub const EVENT_TYPES: [&str; 6] = [
    "Battles",
    "Explosions/Remote violence",
    "Violence against civilians",
    "Protests",
    "Riots",
    "Strategic developments",
];

/// One query of the mix, with its parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BenchQuery {
    /// (a) bounding box + date range + event type, first page of 100, newest first.
    BboxDateType {
        min_lon: f64,
        min_lat: f64,
        max_lon: f64,
        max_lat: f64,
        from: String,
        to: String,
        event_type: String,
    },
    /// (b) within radius of a point + last 12 months, first page of 100, newest first.
    NearLastYear {
        lat: f64,
        lon: f64,
        radius_km: f64,
        from: String,
        to: String,
    },
    /// (c) monthly counts per country over everything.
    MonthlyByCountry,
}

/// A seeded mix of `n` queries of each kind.
pub fn query_mix(seed: u64, n: usize) -> Vec<BenchQuery> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for _ in 0..n {
        let (lat, lon) = CENTRES[rng.random_range(0..CENTRES.len())];
        let year = rng.random_range(2013..2026);
        out.push(BenchQuery::BboxDateType {
            min_lon: lon - 1.0,
            min_lat: lat - 1.0,
            max_lon: lon + 1.0,
            max_lat: lat + 1.0,
            from: format!("{year}-01-01"),
            to: format!("{year}-12-31"),
            event_type: EVENT_TYPES[rng.random_range(0..6)].to_string(),
        });
    }
    for _ in 0..n {
        let (lat, lon) = CENTRES[rng.random_range(0..CENTRES.len())];
        out.push(BenchQuery::NearLastYear {
            lat: lat + rng.random_range(-0.2..0.2),
            lon: lon + rng.random_range(-0.2..0.2),
            radius_km: 50.0,
            from: "2025-10-01".into(),
            to: "2026-09-30".into(),
        });
    }
    for _ in 0..n.div_ceil(5) {
        out.push(BenchQuery::MonthlyByCountry);
    }
    out
}

/// p50 and p95 of durations in milliseconds.
pub fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    if ms.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    (at(0.50), at(0.95))
}

/// The name of a query's kind in reports.
pub fn kind(q: &BenchQuery) -> &'static str {
    match q {
        BenchQuery::BboxDateType { .. } => "a_bbox_date_type",
        BenchQuery::NearLastYear { .. } => "b_near_50km_12_months",
        BenchQuery::MonthlyByCountry => "c_monthly_counts_per_country",
    }
}

/// Run one query of the mix through the application, as `viewer`; the number of
/// rows (or groups) it returned.
pub async fn run_query(app: &App, viewer: &Viewer, q: &BenchQuery) -> anyhow::Result<usize> {
    let gaz = app.gazetteer().await?;
    let raw = match q {
        BenchQuery::BboxDateType {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
            from,
            to,
            event_type,
        } => RawIncidentQuery {
            bbox: Some(format!("{min_lon},{min_lat},{max_lon},{max_lat}")),
            from: Some(from.clone()),
            to: Some(to.clone()),
            event_type: Some(event_type.clone()),
            limit: Some("100".into()),
            ..Default::default()
        },
        BenchQuery::NearLastYear {
            lat,
            lon,
            radius_km,
            from,
            to,
        } => RawIncidentQuery {
            near: Some(format!("{lat},{lon}")),
            radius_km: Some(radius_km.to_string()),
            from: Some(from.clone()),
            to: Some(to.clone()),
            limit: Some("100".into()),
            ..Default::default()
        },
        BenchQuery::MonthlyByCountry => RawIncidentQuery::default(),
    };
    let iq = raw.resolve(&gaz).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(match q {
        BenchQuery::MonthlyByCountry => app
            .aggregate(viewer, &iq, &[GroupKey::Country, GroupKey::Month], "bench")
            .await?
            .groups
            .len(),
        _ => app.search(viewer, &iq, "bench").await?.items.len(),
    })
}

/// `n` real routes of 50 to 600 km: fastest routes between random places of
/// the Burkina Faso road network (VMap0 roads and pistes, snapped 50 m),
/// read in place from the shared data folder.
pub fn bf_routes(
    shared: &std::path::Path,
    n: usize,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Vec<Vec<sahelwatch_routing::LonLat>>> {
    use anyhow::Context as _;
    use sahelwatch_routing::build::GraphBuilder;
    use sahelwatch_routing::engine::{Cch, PathEngine, Topology};
    use sahelwatch_routing::lines::{LinesOptions, read_geojson};
    use sahelwatch_routing::plan::{self, Context};
    use sahelwatch_routing::risk::{RiskField, SegmentIndex};
    use sahelwatch_routing::{RoadClass, SpeedProfile};
    use std::fs::File;
    use std::io::BufReader;
    use std::sync::Arc;
    let open = |p: &str| -> anyhow::Result<BufReader<File>> {
        let p = shared.join(p);
        Ok(BufReader::new(
            File::open(&p).with_context(|| p.display().to_string())?,
        ))
    };
    let mut b = GraphBuilder::new(SpeedProfile::default());
    read_geojson(
        open("roads/bfa_roadlines_vmap0_divagis.geojson")?,
        &LinesOptions::default(),
        &mut b,
    )?;
    let tracks = LinesOptions {
        class: Some(RoadClass::Track),
        ..Default::default()
    };
    read_geojson(open("roads/bfa_pistesLL.geojson")?, &tracks, &mut b)?;
    let (g, _) = b.build(Some(50.0));
    let topo = Arc::new(Topology::new(&g));
    let cch = Cch::new(topo.clone(), Cch::order(&g, &topo)).expect("order");
    let index = SegmentIndex::new(&g);
    let tenths = plan::arc_tenths(&g, &topo);
    let risk = RiskField::empty(g.segments.len());
    let metric = cch.customize(plan::weights(&topo, &tenths, &risk, 0.0, &[]));
    let ctx = Context {
        graph: &g,
        topology: &topo,
        engine: &cch,
        tenths: &tenths,
        risk: &risk,
    };
    let mut out = Vec::new();
    cch.search(|s| {
        while out.len() < n {
            let (a, b) = (
                g.nodes[rng.random_range(0..g.nodes.len())],
                g.nodes[rng.random_range(0..g.nodes.len())],
            );
            let (Some(a), Some(b)) = (
                plan::snap(&g, &index, a, 100.0),
                plan::snap(&g, &index, b, 100.0),
            ) else {
                continue;
            };
            if let Some(r) = ctx.route(s, &metric, metric.weights(), 0.0, &a, &b)
                && (50_000.0..600_000.0).contains(&r.length_m)
            {
                out.push(r.geometry(&g));
            }
        }
    });
    Ok(out)
}
