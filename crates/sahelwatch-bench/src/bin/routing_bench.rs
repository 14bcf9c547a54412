//! Routing benchmark (issue 6): preparation, risk updates, route queries
//! and memory on a SYNTHETIC road-like graph of at least a million nodes
//! and on the real road data, with pgRouting's `pgr_dijkstra` on the same
//! graph and weights in the same run.
//!
//! The synthetic graph (seeded, labelled SYNTHETIC in every output) is
//! built like a Sahel road network over lon -12..16, lat 10..21: towns
//! (street grids of one crossing up to 40 x 40 blocks, sizes from a power
//! law) joined to their three nearest towns by roads (primary between big
//! towns, then secondary, tertiary or unclassified) with a vertex every 2
//! km, and villages on tracks leaving those roads (a quarter loop back to
//! the road, a tenth have a hamlet further on); it is scaled up until it has
//! at least the asked number of nodes, and fed through the same
//! `GraphBuilder` as an import. (A perturbed grid, tried first, is the worst
//! case for contraction hierarchies: 17.6 hierarchy arcs per node against
//! 3.5 here, and nothing like a road network.) The incidents are SYNTHETIC
//! too: placed near random road points, ages over the model's 540 days,
//! precision 1/2/3 in the proportions 70/20/10.
//!
//! What is timed is what the server does: a full risk update is the risk
//! field from every incident plus the weights and customisation of one
//! metric; a day's update adds that day's incidents to the field and
//! customises again from the previous metric (partial customisation, as the
//! server's risk views do); a query snaps both ends, then routes through one
//! searcher per request, like `App::plan_route` (alternatives: the 8
//! metrics of the ladder, customised beforehand as the server caches them).
//! Not part of the tests; `bench/routing.sh` runs it.

use anyhow::{Context as _, Result, bail};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sahelwatch_routing::build::GraphBuilder;
use sahelwatch_routing::engine::{Cch, CchMetric, PathEngine, Topology};
use sahelwatch_routing::lines::{LinesOptions, read_geojson};
use sahelwatch_routing::plan::{self, Context, LADDER, Snap};
use sahelwatch_routing::risk::{RiskField, RiskIncident, RiskModel, SegmentIndex};
use sahelwatch_routing::{RoadClass, RoadGraph, SpeedProfile};
use serde_json::{Value, json};
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The balanced metric the single-route queries use (trade-off 0.5).
const BALANCED: f64 = 1.0;
/// Incidents per day in a bad day of the central Sahel.
const DAY_INCIDENTS: usize = 40;

struct Args {
    nodes: usize,
    seed: u64,
    incidents: usize,
    queries: usize,
    shared: Option<PathBuf>,
    pg: Option<String>,
    pg_queries: usize,
    pairs_out: Option<PathBuf>,
    json_out: Option<PathBuf>,
    only: Option<String>,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        nodes: 1_000_000,
        seed: 42,
        incidents: 15_000,
        queries: 1_000,
        shared: None,
        pg: None,
        pg_queries: 10,
        pairs_out: None,
        json_out: None,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--nodes" => a.nodes = value()?.parse()?,
            "--seed" => a.seed = value()?.parse()?,
            "--incidents" => a.incidents = value()?.parse()?,
            "--queries" => a.queries = value()?.parse()?,
            "--shared" => a.shared = Some(value()?.into()),
            "--pg" => a.pg = Some(value()?),
            "--pg-queries" => a.pg_queries = value()?.parse()?,
            "--pairs-out" => a.pairs_out = Some(value()?.into()),
            "--json-out" => a.json_out = Some(value()?.into()),
            "--only" => a.only = Some(value()?),
            other => bail!(
                "unknown flag {other}; flags: --nodes N --seed S --incidents K --queries Q \
                 --shared DIR --pg URL --pg-queries M --pairs-out DIR --json-out FILE \
                 --only synthetic|monaco|burkina"
            ),
        }
    }
    Ok(a)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// p50, p95 and max of a sample, in milliseconds.
fn percentiles(mut v: Vec<f64>) -> Value {
    if v.is_empty() {
        return json!(null);
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    json!({"p50_ms": at(0.5), "p95_ms": at(0.95), "max_ms": v[v.len() - 1], "n": v.len()})
}

/// This process's resident memory now and at its peak, in MB.
fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The SYNTHETIC road-like graph (see the module docs), at `scale`
/// (1.0 gives about a million nodes).
fn synthetic(scale: f64, seed: u64, builder: &mut GraphBuilder) {
    const STREET: f64 = 0.002; // about 220 m between town streets
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let towns = (20_000.0 * scale) as usize;
    let villages = (300_000.0 * scale) as usize;
    let (lon0, lon1, lat0, lat1) = (-12.0, 16.0, 10.0, 21.0);
    // Towns: a street grid of side s (power law: most are hamlets of one
    // crossing, a few are cities of 40 x 40 blocks) around a hub.
    struct Town {
        hub: [f64; 2],
        side: usize,
    }
    let towns: Vec<Town> = (0..towns)
        .map(|_| {
            let side = ((1.5 / rng.random_range(0.0001f64..1.0).sqrt()) as usize).clamp(1, 40);
            let c = [rng.random_range(lon0..lon1), rng.random_range(lat0..lat1)];
            // The hub is a street crossing: snap the centre onto the grid.
            let hub = [
                (c[0] / STREET).round() * STREET,
                (c[1] / STREET).round() * STREET,
            ];
            Town { hub, side }
        })
        .collect();
    for t in &towns {
        let half = (t.side / 2) as f64;
        let at = |i: usize, j: usize| {
            [
                t.hub[0] + (i as f64 - half) * STREET,
                t.hub[1] + (j as f64 - half) * STREET,
            ]
        };
        for i in 0..t.side {
            for j in 0..t.side {
                if i + 1 < t.side && rng.random_bool(0.9) {
                    builder.add_line(
                        &[at(i, j), at(i + 1, j)],
                        RoadClass::Residential,
                        false,
                        None,
                        None,
                    );
                }
                if j + 1 < t.side && rng.random_bool(0.9) {
                    builder.add_line(
                        &[at(i, j), at(i, j + 1)],
                        RoadClass::Residential,
                        false,
                        None,
                        None,
                    );
                }
            }
        }
    }
    // Roads: each town to its three nearest, bigger towns on better roads,
    // a vertex about every 2 km.
    let tree = rstar::RTree::bulk_load(
        towns
            .iter()
            .enumerate()
            .map(|(k, t)| rstar::primitives::GeomWithData::new(t.hub, k))
            .collect(),
    );
    let mut pairs = std::collections::BTreeSet::new();
    for (k, t) in towns.iter().enumerate() {
        for n in tree.nearest_neighbor_iter(&t.hub).skip(1).take(3) {
            pairs.insert((k.min(n.data), k.max(n.data)));
        }
    }
    let mut roads: Vec<Vec<[f64; 2]>> = Vec::with_capacity(pairs.len());
    for (a, b) in pairs {
        let (p, q) = (towns[a].hub, towns[b].hub);
        let big = |t: &Town| t.side >= 12;
        let class = match (big(&towns[a]), big(&towns[b])) {
            (true, true) => RoadClass::Primary,
            (true, false) | (false, true) => RoadClass::Secondary,
            _ if rng.random_bool(0.5) => RoadClass::Tertiary,
            _ => RoadClass::Unclassified,
        };
        let km = sahelwatch_routing::graph::haversine_m(p, q) / 1000.0;
        let n = ((km / 2.0).ceil() as usize).max(1);
        let mut line = vec![p];
        for v in 1..n {
            let f = v as f64 / n as f64;
            line.push([
                p[0] + (q[0] - p[0]) * f + rng.random_range(-0.003..0.003),
                p[1] + (q[1] - p[1]) * f + rng.random_range(-0.003..0.003),
            ]);
        }
        line.push(q);
        builder.add_line(&line, class, rng.random_bool(0.005), None, None);
        roads.push(line);
    }
    // Villages: a track from a vertex of a road out to the village; a quarter
    // loop back to the road, a tenth have a hamlet further on.
    for _ in 0..villages {
        let road = &roads[rng.random_range(0..roads.len())];
        if road.len() < 3 {
            continue;
        }
        let k = rng.random_range(1..road.len() - 1);
        let v = road[k];
        let village = [
            v[0] + rng.random_range(-0.08..0.08),
            v[1] + rng.random_range(-0.08..0.08),
        ];
        let mid = |a: [f64; 2], b: [f64; 2], rng: &mut ChaCha8Rng| {
            [
                (a[0] + b[0]) / 2.0 + rng.random_range(-0.01..0.01),
                (a[1] + b[1]) / 2.0 + rng.random_range(-0.01..0.01),
            ]
        };
        let m = mid(v, village, &mut rng);
        builder.add_line(&[v, m, village], RoadClass::Track, false, None, None);
        if rng.random_bool(0.25) {
            let w = road[(k + rng.random_range(1..4)).min(road.len() - 1)];
            let m = mid(village, w, &mut rng);
            builder.add_line(&[village, m, w], RoadClass::Track, false, None, None);
        }
        if rng.random_bool(0.1) {
            let hamlet = [
                village[0] + rng.random_range(-0.04..0.04),
                village[1] + rng.random_range(-0.04..0.04),
            ];
            builder.add_line(&[village, hamlet], RoadClass::Track, false, None, None);
        }
    }
}

/// The SYNTHETIC graph with at least `nodes` nodes: built at a first guess
/// of the scale, then again larger if it fell short.
fn synthetic_graph(nodes: usize, seed: u64) -> RoadGraph {
    let mut scale = nodes as f64 / 1e6;
    loop {
        let mut b = GraphBuilder::new(SpeedProfile::default());
        synthetic(scale, seed, &mut b);
        let (graph, _) = b.build(None);
        if graph.nodes.len() >= nodes {
            return graph;
        }
        eprintln!(
            "  ({} nodes at scale {scale:.3}: scaling up)",
            graph.nodes.len()
        );
        scale *= nodes as f64 / graph.nodes.len() as f64 * 1.01;
    }
}

fn shared_file(shared: &std::path::Path, path: &str) -> Result<BufReader<File>> {
    let p = shared.join(path);
    Ok(BufReader::new(
        File::open(&p).with_context(|| p.display().to_string())?,
    ))
}

/// Random incidents near random road points (SYNTHETIC).
fn incidents(g: &RoadGraph, n: usize, first_id: i64, rng: &mut ChaCha8Rng) -> Vec<RiskIncident> {
    let kinds = [
        "Attack",
        "Remote explosive/landmine/IED",
        "Armed clash",
        "Abduction/forced disappearance",
        "Looting/property destruction",
        "Peaceful protest",
    ];
    (0..n)
        .map(|k| {
            let p = g.points[rng.random_range(0..g.points.len())];
            RiskIncident {
                id: first_id + k as i64,
                position: [
                    p[0] + rng.random_range(-0.05..0.05),
                    p[1] + rng.random_range(-0.05..0.05),
                ],
                age_days: rng.random_range(0.0..540.0),
                sub_event_type: kinds[rng.random_range(0..kinds.len())].into(),
                fatalities: if rng.random_bool(0.5) {
                    0
                } else {
                    rng.random_range(1..30)
                },
                precision: match rng.random_range(0..10) {
                    0..=6 => 1,
                    7..=8 => 2,
                    _ => 3,
                },
                on_road: rng.random_bool(0.2),
            }
        })
        .collect()
}

/// The nodes of the largest weakly connected part.
fn largest_part(topo: &Topology) -> Vec<u32> {
    let n = topo.node_count as usize;
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(p: &mut [u32], mut v: u32) -> u32 {
        while p[v as usize] != v {
            p[v as usize] = p[p[v as usize] as usize];
            v = p[v as usize];
        }
        v
    }
    for a in &topo.arcs {
        let (x, y) = (find(&mut parent, a.tail), find(&mut parent, a.head));
        if x != y {
            parent[x as usize] = y;
        }
    }
    let mut size = vec![0u32; n];
    for v in 0..n as u32 {
        size[find(&mut parent, v) as usize] += 1;
    }
    let root = (0..n).max_by_key(|&v| size[v]).unwrap_or(0) as u32;
    (0..n as u32)
        .filter(|&v| find(&mut parent, v) == root)
        .collect()
}

struct Prepared {
    graph: RoadGraph,
    topo: Arc<Topology>,
    cch: Cch,
    index: SegmentIndex,
    tenths: Vec<u32>,
}

fn prepare(graph: RoadGraph, out: &mut serde_json::Map<String, Value>) -> Prepared {
    let t = Instant::now();
    let topo = Arc::new(Topology::new(&graph));
    let topology_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let order = Cch::order(&graph, &topo);
    let order_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let cch = Cch::new(topo.clone(), order).expect("inertial order is a permutation");
    let hierarchy_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let index = SegmentIndex::new(&graph);
    let tenths = plan::arc_tenths(&graph, &topo);
    let index_s = t.elapsed().as_secs_f64();
    eprintln!(
        "  prepared: topology {topology_s:.2} s, order {order_s:.1} s, hierarchy {hierarchy_s:.1} s ({} arcs), index {index_s:.2} s",
        cch.hierarchy_arcs()
    );
    out.insert(
        "prepare".into(),
        json!({
            "topology_s": topology_s, "order_s": order_s, "hierarchy_s": hierarchy_s,
            "segment_index_s": index_s,
            "total_s": topology_s + order_s + hierarchy_s + index_s,
            "arcs": topo.arcs.len(), "hierarchy_arcs": cch.hierarchy_arcs(),
        }),
    );
    Prepared {
        graph,
        topo,
        cch,
        index,
        tenths,
    }
}

/// Random points near road points of the largest part.
fn random_points(p: &Prepared, part: &[u32], n: usize, rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    (0..n)
        .map(|_| {
            let v = p.graph.nodes[part[rng.random_range(0..part.len())] as usize];
            [
                v[0] + rng.random_range(-0.002..0.002),
                v[1] + rng.random_range(-0.002..0.002),
            ]
        })
        .collect()
}

fn run(
    name: &str,
    graph: RoadGraph,
    built_s: f64,
    args: &Args,
    incidents_of: &dyn Fn(&RoadGraph, &mut ChaCha8Rng) -> Vec<RiskIncident>,
    pg: Option<&mut postgres_peer::Peer>,
) -> Result<Value> {
    eprintln!(
        "== {name}: {} nodes, {} segments, {:.0} km (built in {built_s:.1} s)",
        graph.nodes.len(),
        graph.segments.len(),
        graph.length_km()
    );
    let mut out = serde_json::Map::new();
    out.insert("graph".into(), json!(name));
    out.insert(
        "size".into(),
        json!({"nodes": graph.nodes.len(), "segments": graph.segments.len(),
               "shape_points": graph.points.len(), "km": graph.length_km().round(),
               "build_s": built_s}),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x5eed);
    let p = prepare(graph, &mut out);
    let (rss_prepared, _) = rss_mb();

    // Full risk update: the field from every incident, one metric.
    let model = RiskModel::default();
    let all = incidents_of(&p.graph, &mut rng);
    let t = Instant::now();
    let mut field = RiskField::compute(&model, &p.index, p.graph.segments.len(), &all);
    let field_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let w = plan::weights(&p.topo, &p.tenths, &field, BALANCED, &[]);
    let weights_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let balanced = p.cch.customize(w);
    let customize_s = t.elapsed().as_secs_f64();
    let at_risk = field.risks().filter(|&r| r > 0.0).count();
    eprintln!(
        "  full update ({} incidents, {at_risk} segments at risk): field {field_s:.3} s + weights {weights_s:.3} s + customise {customize_s:.3} s",
        all.len()
    );
    // The whole ladder, as a request with alternatives needs it.
    let t = Instant::now();
    let ladder: Vec<CchMetric> = LADDER
        .iter()
        .map(|&l| {
            p.cch
                .customize(plan::weights(&p.topo, &p.tenths, &field, l, &[]))
        })
        .collect();
    let ladder_s = t.elapsed().as_secs_f64();
    let (rss_metrics, _) = rss_mb();

    // A day's incidents: added to the field, the metric re-customised.
    let day = incidents_of(&p.graph, &mut rng)
        .into_iter()
        .take(DAY_INCIDENTS)
        .enumerate()
        .map(|(k, mut i)| {
            i.id = 1_000_000_000 + k as i64;
            i.age_days = 0.0;
            i
        })
        .collect::<Vec<_>>();
    let t = Instant::now();
    let mut segments = Vec::new();
    for i in &day {
        segments.extend(field.add(&model, &p.index, i));
    }
    segments.sort_unstable();
    segments.dedup();
    let changed = segments.len();
    let day_field_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let w = balanced.weights().to_vec();
    let w = plan::reweigh(w, &p.topo, &p.tenths, &field, BALANCED, &segments);
    let day_weights_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let balanced_day = p.cch.recustomize(&balanced, w);
    let day_customize_s = t.elapsed().as_secs_f64();
    eprintln!(
        "  day update ({} incidents, {changed} segments changed): field {:.1} ms + weights {:.1} ms + customise {:.1} ms",
        day.len(),
        day_field_s * 1e3,
        day_weights_s * 1e3,
        day_customize_s * 1e3
    );
    // Correctness while we are here: adding equals recomputing.
    let mut everything = all.clone();
    everything.extend(day.iter().cloned());
    let rebuilt = RiskField::compute(&model, &p.index, p.graph.segments.len(), &everything);
    if rebuilt != field {
        bail!("{name}: the updated risk field differs from the rebuilt one");
    }
    drop(rebuilt);
    drop(balanced);
    out.insert(
        "risk_update".into(),
        json!({
            "incidents": all.len(), "segments_at_risk": at_risk,
            "full": {"field_s": field_s, "weights_s": weights_s, "customize_s": customize_s,
                     "total_s": field_s + weights_s + customize_s,
                     "ladder_8_metrics_s": ladder_s},
            "day": {"incidents": day.len(), "segments_changed": changed,
                    "field_ms": day_field_s * 1e3, "weights_ms": day_weights_s * 1e3,
                    "customize_ms": day_customize_s * 1e3,
                    "total_ms": (day_field_s + day_weights_s + day_customize_s) * 1e3},
        }),
    );

    // Queries between random road points of the largest part.
    let part = largest_part(&p.topo);
    let points = random_points(&p, &part, 2 * args.queries, &mut rng);
    let ctx = Context {
        graph: &p.graph,
        topology: &p.topo,
        engine: &p.cch,
        tenths: &p.tenths,
        risk: &field,
    };
    let snap = |q: [f64; 2]| plan::snap(&p.graph, &p.index, q, 25_000.0);
    let mut single = Vec::with_capacity(args.queries);
    let mut with_alts = Vec::with_capacity(args.queries);
    let mut setup = Vec::with_capacity(args.queries);
    let mut fastest = Vec::with_capacity(args.queries);
    let (mut found, mut alternatives, mut km) = (0usize, 0usize, 0.0);
    for pair in points.chunks(2) {
        // One request: snap both ends, route through one searcher.
        let t = Instant::now();
        let route = p.cch.search(|s| {
            let (a, b) = (snap(pair[0])?, snap(pair[1])?);
            ctx.route(s, &balanced_day, balanced_day.weights(), BALANCED, &a, &b)
        });
        single.push(ms(t.elapsed()));
        if let Some(r) = &route {
            found += 1;
            km += r.length_m / 1e3;
        }
        // Static weights (time only), as OSRM and Valhalla answer.
        let t = Instant::now();
        p.cch.search(|s| {
            let (a, b) = (snap(pair[0])?, snap(pair[1])?);
            ctx.route(s, &ladder[0], ladder[0].weights(), 0.0, &a, &b)
        });
        fastest.push(ms(t.elapsed()));
        let t = Instant::now();
        let alts = p.cch.search(|s| {
            let (a, b): (Snap, Snap) = (snap(pair[0])?, snap(pair[1])?);
            let main = ctx.route(s, &ladder[3], ladder[3].weights(), LADDER[3], &a, &b)?;
            let candidates = LADDER
                .iter()
                .zip(&ladder)
                .filter(|(l, _)| **l != LADDER[3])
                .filter_map(|(&l, m)| ctx.route(s, m, m.weights(), l, &a, &b))
                .collect();
            Some(plan::alternatives(&main, candidates))
        });
        with_alts.push(ms(t.elapsed()));
        alternatives += alts.map_or(0, |a| a.len());
        let t = Instant::now();
        p.cch.search(|_| ());
        setup.push(ms(t.elapsed()));
    }
    let queries = pair_count(&points);
    eprintln!(
        "  queries: {found}/{queries} found (mean {:.0} km), single {}, fastest (static) {}, with alternatives {} ({:.1} alternatives on average)",
        km / found.max(1) as f64,
        percentiles(single.clone()),
        percentiles(fastest.clone()),
        percentiles(with_alts.clone()),
        alternatives as f64 / queries.max(1) as f64
    );
    out.insert(
        "queries".into(),
        json!({
            "pairs": queries, "found": found, "mean_km": km / found.max(1) as f64,
            "single": percentiles(single), "with_alternatives": percentiles(with_alts),
            "fastest_static": percentiles(fastest),
            "alternatives_per_query": alternatives as f64 / queries.max(1) as f64,
            "searcher_setup": percentiles(setup),
        }),
    );
    if let Some(dir) = &args.pairs_out {
        std::fs::create_dir_all(dir)?;
        let pairs: Vec<[f64; 4]> = points
            .chunks(2)
            .map(|c| [c[0][0], c[0][1], c[1][0], c[1][1]])
            .collect();
        let file = dir.join(format!("pairs_{name}.json"));
        std::fs::write(&file, json!({"graph": name, "pairs": pairs}).to_string())?;
    }

    let (rss, peak) = rss_mb();
    let metric_mb = (p.topo.arcs.len() + 2 * p.cch.hierarchy_arcs()) as f64 * 4.0 / 1048576.0;
    out.insert(
        "memory".into(),
        json!({
            "rss_prepared_mb": rss_prepared, "rss_with_9_metrics_mb": rss_metrics,
            "rss_end_mb": rss, "peak_mb": peak, "per_metric_mb": metric_mb,
        }),
    );
    eprintln!(
        "  memory: prepared {rss_prepared:.0} MB, with 9 metrics {rss_metrics:.0} MB, peak {peak:.0} MB; one metric {metric_mb:.1} MB"
    );

    // The peer: pgr_dijkstra between graph nodes on the same arc weights.
    if let Some(peer) = pg {
        let pairs: Vec<(u32, u32)> = (0..args.pg_queries)
            .map(|_| {
                (
                    part[rng.random_range(0..part.len())],
                    part[rng.random_range(0..part.len())],
                )
            })
            .collect();
        let load = peer.load(name, &p.topo, balanced_day.weights())?;
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        let mut mismatches = 0;
        p.cch.search(|s| -> Result<()> {
            for &(u, v) in &pairs {
                let t = Instant::now();
                let cost = s.path(&balanced_day, u, v).map(|p| p.cost);
                ours.push(ms(t.elapsed()));
                let t = Instant::now();
                let their = peer.dijkstra(u, v)?;
                theirs.push(ms(t.elapsed()));
                if cost != their {
                    mismatches += 1;
                    eprintln!("  MISMATCH {u} -> {v}: ours {cost:?}, pgRouting {their:?}");
                }
            }
            Ok(())
        })?;
        let (o, t) = (percentiles(ours), percentiles(theirs));
        let ratio = t["p50_ms"].as_f64().unwrap_or(0.0) / o["p50_ms"].as_f64().unwrap_or(1.0);
        eprintln!(
            "  pgRouting pgr_dijkstra ({} node pairs, load {load:.1} s): ours {o}, pgRouting {t}, p50 ratio {ratio:.0}x, {mismatches} cost mismatches",
            pairs.len()
        );
        out.insert(
            "pgrouting".into(),
            json!({"pairs": pairs.len(), "load_s": load, "ours": o, "pgr_dijkstra": t,
                   "p50_ratio": ratio, "cost_mismatches": mismatches}),
        );
        if mismatches > 0 {
            bail!("{name}: pgRouting disagrees with the CCH on {mismatches} costs");
        }
    }
    Ok(Value::Object(out))
}

fn pair_count(points: &[[f64; 2]]) -> usize {
    points.len() / 2
}

mod postgres_peer {
    //! pgRouting in the PostgreSQL the tests use: the arcs with the same
    //! integer weights as a directed edge table, `pgr_dijkstra` per query
    //! (which reads the edge table and builds its graph on every call:
    //! that is how it is used).
    use anyhow::{Context, Result};
    use sahelwatch_routing::engine::{INF, Topology};
    use std::io::Write;
    use std::time::Instant;

    pub struct Peer {
        rt: tokio::runtime::Runtime,
        client: tokio_postgres::Client,
        table: String,
    }

    impl Peer {
        pub fn connect(url: &str) -> Result<Peer> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let client = rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
                tokio::spawn(conn);
                client
                    .batch_execute("CREATE EXTENSION IF NOT EXISTS pgrouting CASCADE")
                    .await?;
                anyhow::Ok(client)
            })?;
            Ok(Peer {
                rt,
                client,
                table: String::new(),
            })
        }

        /// Loads the arcs (id, source, target, cost) into a fresh table;
        /// returns the seconds it took.
        pub fn load(&mut self, name: &str, topo: &Topology, weights: &[u32]) -> Result<f64> {
            let t = Instant::now();
            self.table = format!("rb_edges_{name}");
            let file = std::env::temp_dir().join(format!("sahelwatch_{}.csv", self.table));
            {
                let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
                for (k, (a, &c)) in topo.arcs.iter().zip(weights).enumerate() {
                    if c < INF {
                        writeln!(w, "{k},{},{},{c}", a.tail, a.head)?;
                    }
                }
                w.flush()?;
            }
            let sql = format!(
                "DROP TABLE IF EXISTS {t};
                 CREATE TABLE {t} (id bigint PRIMARY KEY, source bigint NOT NULL, target bigint NOT NULL, cost double precision NOT NULL);
                 COPY {t} FROM '{f}' WITH (FORMAT csv);
                 ANALYZE {t};",
                t = self.table,
                f = file.display()
            );
            self.rt
                .block_on(self.client.batch_execute(&sql))
                .with_context(|| format!("loading {} (server-side COPY)", file.display()))?;
            let _ = std::fs::remove_file(&file);
            Ok(t.elapsed().as_secs_f64())
        }

        /// The cost of the shortest path, or None when there is none.
        pub fn dijkstra(&self, from: u32, to: u32) -> Result<Option<u64>> {
            if from == to {
                return Ok(Some(0));
            }
            let sql = format!(
                "SELECT max(agg_cost)::float8 FROM pgr_dijkstra(
                    'SELECT id, source, target, cost FROM {}', $1::bigint, $2::bigint, true)",
                self.table
            );
            let row = self
                .rt
                .block_on(self.client.query_one(&sql, &[&(from as i64), &(to as i64)]))?;
            Ok(row.get::<_, Option<f64>>(0).map(|c| c.round() as u64))
        }
    }
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let wants = |g: &str| {
        args.only
            .as_deref()
            .is_none_or(|o| o.split(',').any(|x| x == g))
    };
    let mut pg = args
        .pg
        .as_deref()
        .map(postgres_peer::Peer::connect)
        .transpose()
        .context("connecting to the pgRouting peer")?;
    let mut results = Vec::new();
    let per_day = |n: usize| {
        move |g: &RoadGraph, rng: &mut ChaCha8Rng| -> Vec<RiskIncident> { incidents(g, n, 0, rng) }
    };

    if wants("synthetic") {
        let t = Instant::now();
        let graph = synthetic_graph(args.nodes, args.seed);
        let built = t.elapsed().as_secs_f64();
        let name = format!("synthetic_{}", graph.nodes.len());
        results.push(run(
            &name,
            graph,
            built,
            &args,
            &per_day(args.incidents),
            pg.as_mut(),
        )?);
    }
    if let Some(shared) = &args.shared {
        if wants("monaco") {
            let t = Instant::now();
            let (graph, _) = sahelwatch_routing::osm::read_pbf(
                shared_file(shared, "osm/monaco.osm.pbf")?,
                SpeedProfile::default(),
            )?;
            let built = t.elapsed().as_secs_f64();
            results.push(run(
                "monaco",
                graph,
                built,
                &args,
                &per_day(300),
                pg.as_mut(),
            )?);
        }
        if wants("burkina") {
            let t = Instant::now();
            let mut b = GraphBuilder::new(SpeedProfile::default());
            read_geojson(
                shared_file(shared, "roads/bfa_roadlines_vmap0_divagis.geojson")?,
                &LinesOptions::default(),
                &mut b,
            )?;
            let tracks = LinesOptions {
                class: Some(RoadClass::Track),
                ..Default::default()
            };
            read_geojson(
                shared_file(shared, "roads/bfa_pistesLL.geojson")?,
                &tracks,
                &mut b,
            )?;
            let (graph, _) = b.build(Some(50.0));
            let built = t.elapsed().as_secs_f64();
            results.push(run(
                "burkina",
                graph,
                built,
                &args,
                &per_day(3_000),
                pg.as_mut(),
            )?);
        }
    }
    let doc = json!({"seed": args.seed, "results": results});
    if let Some(p) = &args.json_out {
        std::fs::write(p, serde_json::to_string_pretty(&doc)?)?;
    }
    std::io::stdout().write_all(serde_json::to_string_pretty(&doc)?.as_bytes())?;
    println!();
    Ok(())
}
