//! Routes on real road data (Monaco's OpenStreetMap extract; Burkina Faso's
//! road lines and tracks joined within 50 m), read in place from the shared
//! data folder (`$SAHELWATCH_SHARED_DATA`, else `shared/data` beside the
//! repository), never copied:
//! - every route's cost equals a plain Dijkstra's optimum for the same
//!   metric (fastest, balanced, least exposed), between random road points;
//! - adding incidents to a risk field then routing equals computing the
//!   field from scratch then routing.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sahelwatch_routing::build::GraphBuilder;
use sahelwatch_routing::engine::{Cch, Dijkstra, PathEngine, Topology};
use sahelwatch_routing::lines::{LinesOptions, read_geojson};
use sahelwatch_routing::plan::{self, Context, LADDER, Snap};
use sahelwatch_routing::risk::{RiskField, RiskIncident, RiskModel, SegmentIndex};
use sahelwatch_routing::{RoadClass, RoadGraph, SpeedProfile};
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::Arc;

fn shared(path: &str) -> BufReader<File> {
    let root = std::env::var_os("SAHELWATCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    let p = root.join(path);
    BufReader::new(File::open(&p).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: set SAHELWATCH_SHARED_DATA to the shared data folder",
            p.display()
        )
    }))
}

fn monaco() -> RoadGraph {
    sahelwatch_routing::osm::read_pbf(shared("osm/monaco.osm.pbf"), SpeedProfile::default())
        .unwrap()
        .0
}

fn burkina() -> RoadGraph {
    let mut b = GraphBuilder::new(SpeedProfile::default());
    let roads = LinesOptions::default();
    read_geojson(
        shared("roads/bfa_roadlines_vmap0_divagis.geojson"),
        &roads,
        &mut b,
    )
    .unwrap();
    let tracks = LinesOptions {
        class: Some(RoadClass::Track),
        ..Default::default()
    };
    read_geojson(shared("roads/bfa_pistesLL.geojson"), &tracks, &mut b).unwrap();
    b.build(Some(50.0)).0
}

/// Random incidents over the graph's extent.
fn incidents(g: &RoadGraph, n: usize, rng: &mut ChaCha8Rng) -> Vec<RiskIncident> {
    let kinds = [
        "Attack",
        "Remote explosive/landmine/IED",
        "Armed clash",
        "Abduction/forced disappearance",
        "Peaceful protest",
    ];
    (0..n)
        .map(|k| {
            let p = g.points[rng.random_range(0..g.points.len())];
            RiskIncident {
                id: k as i64,
                position: [
                    p[0] + rng.random_range(-0.05..0.05),
                    p[1] + rng.random_range(-0.05..0.05),
                ],
                age_days: rng.random_range(0.0..400.0),
                sub_event_type: kinds[k % kinds.len()].into(),
                fatalities: rng.random_range(0..20),
                precision: rng.random_range(1..4),
                on_road: rng.random_bool(0.2),
            }
        })
        .collect()
}

fn random_snap(g: &RoadGraph, idx: &SegmentIndex, rng: &mut ChaCha8Rng) -> Snap {
    let p = g.points[rng.random_range(0..g.points.len())];
    let p = [
        p[0] + rng.random_range(-0.01..0.01),
        p[1] + rng.random_range(-0.01..0.01),
    ];
    plan::snap(g, idx, p, f64::INFINITY).unwrap()
}

/// CCH against Dijkstra on every ladder metric, and incremental risk
/// against a rebuild, on one real graph.
fn check(g: RoadGraph, incident_count: usize, pairs: usize, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let topo = Arc::new(Topology::new(&g));
    let cch = Cch::new(topo.clone(), Cch::order(&g, &topo)).unwrap();
    let dij = Dijkstra::new(topo.clone());
    let idx = SegmentIndex::new(&g);
    let model = RiskModel::default();
    let all = incidents(&g, incident_count, &mut rng);
    let (first, later) = all.split_at(incident_count / 2);
    let mut updated = RiskField::compute(&model, &idx, g.segments.len(), first);
    let tenths = plan::arc_tenths(&g, &topo);
    let before: Vec<_> = LADDER
        .iter()
        .map(|&l| cch.customize(plan::weights(&topo, &tenths, &updated, l, &[])))
        .collect();
    let mut changed = Vec::new();
    for i in later {
        changed.extend(updated.add(&model, &idx, i));
    }
    let rebuilt = RiskField::compute(&model, &idx, g.segments.len(), &all);
    assert_eq!(updated, rebuilt, "incremental risk equals a rebuild");
    // Weights patched on the changed segments, and the metric customised
    // again from the earlier one, equal a fresh start.
    for (&l, m) in LADDER.iter().zip(&before) {
        let w = plan::reweigh(m.weights().to_vec(), &topo, &tenths, &updated, l, &changed);
        let fresh = plan::weights(&topo, &tenths, &rebuilt, l, &[]);
        assert_eq!(w, fresh, "lambda {l}");
        assert!(cch.recustomize(m, w) == cch.customize(fresh), "lambda {l}");
    }
    assert!(rebuilt.risks().filter(|&r| r > 0.0).count() > g.segments.len() / 50);
    let ends: Vec<(Snap, Snap)> = (0..pairs)
        .map(|_| {
            (
                random_snap(&g, &idx, &mut rng),
                random_snap(&g, &idx, &mut rng),
            )
        })
        .collect();
    let mut found = 0;
    for &lambda in &LADDER {
        let w_up = plan::weights(&topo, &tenths, &updated, lambda, &[]);
        let w_re = plan::weights(&topo, &tenths, &rebuilt, lambda, &[]);
        assert_eq!(w_up, w_re);
        let (mc, md) = (cch.customize(w_up.clone()), dij.customize(w_re.clone()));
        let (cu, cr) = (
            Context {
                graph: &g,
                topology: &topo,
                engine: &cch,
                tenths: &tenths,
                risk: &updated,
            },
            Context {
                graph: &g,
                topology: &topo,
                engine: &dij,
                tenths: &tenths,
                risk: &rebuilt,
            },
        );
        cch.search(|sc| {
            dij.search(|sd| {
                for (a, b) in &ends {
                    let x = cu.route(sc, &mc, &w_up, lambda, a, b);
                    let y = cr.route(sd, &md, &w_re, lambda, a, b);
                    assert_eq!(
                        x.as_ref().map(|r| r.cost),
                        y.as_ref().map(|r| r.cost),
                        "lambda {lambda}"
                    );
                    if let Some(r) = x {
                        found += 1;
                        let line = r.geometry(&g);
                        assert!(plan::cut(&line, 0.0, 1.0).len() >= 2);
                        // A saved route read again is the same route.
                        let legs: Vec<_> = r
                            .legs
                            .iter()
                            .map(|l| (l.segment, l.reverse, l.start, l.end))
                            .collect();
                        let again = cu.replay(lambda, &legs).expect("replay");
                        assert_eq!((again.seconds, again.length_m), (r.seconds, r.length_m));
                        assert_eq!(again.exposure, r.exposure);
                        assert!(again.cost.abs_diff(r.cost) <= legs.len() as u64);
                    }
                }
            })
        });
    }
    assert!(
        found > pairs * LADDER.len() / 3,
        "most random pairs are connected: {found}"
    );
}

#[test]
fn monaco_routes_equal_dijkstra_and_rebuilt_risk() {
    check(monaco(), 300, 40, 1);
}

#[test]
fn burkina_faso_routes_equal_dijkstra_and_rebuilt_risk() {
    check(burkina(), 2_000, 40, 2);
}
