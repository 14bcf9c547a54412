//! Shortest paths on the road graph's arcs under a metric (one integer
//! weight per arc).
//!
//! `PathEngine` is what the router needs: prepare once for the topology,
//! customise for each metric, answer point-to-point queries. `Cch` does it
//! with Customizable Contraction Hierarchies (Dibbelt, Strasser, Wagner,
//! "Customizable Contraction Hierarchies", ACM JEA 21, 2016) through the
//! `cch` crate: the contraction order depends only on the topology (inertial
//! flow nested dissection on the node coordinates, computed once and stored
//! with the network), and a new metric costs one customisation, not a new
//! preparation. `Dijkstra` is the plain algorithm (the `pathfinding` crate),
//! the oracle the tests hold `Cch` to.
//!
//! Weights are `u32`; [`INF`] forbids an arc. Every path cost must stay
//! below [`INF`], which the router's weights guarantee (see `plan`).

use crate::graph::{Arc, RoadGraph};

/// A forbidden arc (and an unreachable target), as `cch` spells it.
pub const INF: u32 = cch::INF_WEIGHT;

/// The directed arcs in compressed sparse row form, sorted by tail.
#[derive(Debug, Clone)]
pub struct Topology {
    pub node_count: u32,
    pub arcs: Vec<Arc>,
    /// Arcs leaving node `v` are `arcs[first_out[v]..first_out[v + 1]]`.
    pub first_out: Vec<u32>,
    /// The arcs of each segment (forward, backward; `u32::MAX` for none).
    pub by_segment: Vec<[u32; 2]>,
}

impl Topology {
    pub fn new(graph: &RoadGraph) -> Topology {
        let arcs = graph.arcs();
        let n = graph.nodes.len();
        let mut first_out = vec![0u32; n + 1];
        for a in &arcs {
            first_out[a.tail as usize + 1] += 1;
        }
        for v in 0..n {
            first_out[v + 1] += first_out[v];
        }
        let mut by_segment = vec![[u32::MAX; 2]; graph.segments.len()];
        for (i, a) in arcs.iter().enumerate() {
            by_segment[a.segment as usize][a.reverse as usize] = i as u32;
        }
        Topology {
            node_count: n as u32,
            arcs,
            first_out,
            by_segment,
        }
    }

    pub fn out(&self, v: u32) -> std::ops::Range<usize> {
        self.first_out[v as usize] as usize..self.first_out[v as usize + 1] as usize
    }

    /// The arcs of a node path: between each pair, the cheapest arc (there
    /// may be parallel roads).
    fn arcs_of(&self, weights: &[u32], nodes: &[u32]) -> Option<Path> {
        let mut arcs = Vec::with_capacity(nodes.len().saturating_sub(1));
        let mut cost = 0u64;
        for w in nodes.windows(2) {
            let a = self
                .out(w[0])
                .filter(|&a| self.arcs[a].head == w[1] && weights[a] < INF)
                .min_by_key(|&a| (weights[a], a))?;
            cost += weights[a] as u64;
            arcs.push(a as u32);
        }
        Some(Path { cost, arcs })
    }
}

/// A path: its cost under the metric and its arcs (indices into
/// `Topology::arcs`), in driving order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub cost: u64,
    pub arcs: Vec<u32>,
}

/// Answers shortest-path queries for one engine, keeping its working
/// buffers (sized to the graph) from one query to the next.
pub trait Search<M> {
    /// The shortest path, or `None` when `to` cannot be reached.
    fn path(&mut self, metric: &M, from: u32, to: u32) -> Option<Path>;
}

/// Point-to-point shortest paths under changing metrics.
pub trait PathEngine: Send + Sync {
    type Metric: Send + Sync;
    /// Prepares a metric: `weights[a]` for every arc of the topology.
    fn customize(&self, weights: Vec<u32>) -> Self::Metric;
    /// Prepares the metric of `weights` from `old`, the metric of other
    /// weights; engines that can redo only what the changed arcs touch do.
    fn recustomize(&self, old: &Self::Metric, weights: Vec<u32>) -> Self::Metric {
        let _ = old;
        self.customize(weights)
    }
    /// Runs `f` with a searcher. Setting one up costs time in the size of
    /// the graph (milliseconds for a million nodes), so a request that
    /// makes several queries makes them all through one searcher.
    fn search<R>(&self, f: impl FnOnce(&mut dyn Search<Self::Metric>) -> R) -> R;
    /// One shortest path, through a searcher set up for it.
    fn path(&self, metric: &Self::Metric, from: u32, to: u32) -> Option<Path> {
        self.search(|s| s.path(metric, from, to))
    }
}

/// Customizable Contraction Hierarchies.
pub struct Cch {
    topology: std::sync::Arc<Topology>,
    hierarchy: Searchers,
    order: Vec<u32>,
}

/// Query buffers kept for the next request: at most this many (each is
/// about 17 bytes per node).
const KEPT_SEARCHERS: usize = 4;

type View<'a> = cch::CchView<'a>;
type Pool<'a> = std::sync::Mutex<Vec<cch::PathQuery<'a>>>;

self_cell::self_cell!(
    /// The hierarchy and the view of it that queries borrow.
    struct Hierarchy {
        owner: cch::Cch,
        #[covariant]
        dependent: View,
    }
);

self_cell::self_cell!(
    /// The hierarchy with the query buffers of earlier requests, so that a
    /// request does not pay for setting up buffers the size of the graph.
    struct Searchers {
        owner: Hierarchy,
        #[not_covariant]
        dependent: Pool,
    }
);

/// A metric customised for [`Cch`].
#[derive(Debug, PartialEq, Eq)]
pub struct CchMetric {
    weights: Vec<u32>,
    metric: cch::Metric,
}

impl CchMetric {
    pub fn weights(&self) -> &[u32] {
        &self.weights
    }
}

impl Cch {
    /// The contraction order of a graph: inertial flow nested dissection
    /// on the node coordinates. This is the slow, metric-independent step
    /// (seconds for a country, over a minute for a million nodes); store it.
    pub fn order(graph: &RoadGraph, topology: &Topology) -> Vec<u32> {
        let tail: Vec<u32> = topology.arcs.iter().map(|a| a.tail).collect();
        let head: Vec<u32> = topology.arcs.iter().map(|a| a.head).collect();
        let lat: Vec<f32> = graph.nodes.iter().map(|p| p[1] as f32).collect();
        let lon: Vec<f32> = graph.nodes.iter().map(|p| p[0] as f32).collect();
        cch::inertial_order(topology.node_count, &tail, &head, &lat, &lon)
    }

    /// Builds the hierarchy for `order` (from [`Cch::order`]). An order
    /// that is not a permutation of the nodes is refused.
    pub fn new(topology: std::sync::Arc<Topology>, order: Vec<u32>) -> Result<Cch, String> {
        let n = topology.node_count as usize;
        let mut seen = vec![false; n];
        if order.len() != n
            || !order
                .iter()
                .all(|&v| (v as usize) < n && !std::mem::replace(&mut seen[v as usize], true))
        {
            return Err(format!(
                "the contraction order is not a permutation of the {n} nodes"
            ));
        }
        let graph = cch::graph::Graph {
            first_out: topology.first_out.clone(),
            head: topology.arcs.iter().map(|a| a.head).collect(),
            weight: vec![0; topology.arcs.len()],
        };
        let hierarchy = Hierarchy::new(cch::Cch::build(&graph, &order), |c| c.view());
        Ok(Cch {
            topology,
            hierarchy: Searchers::new(hierarchy, |_| Pool::default()),
            order,
        })
    }

    /// The metric of `weights` from `old` by partial customisation, or
    /// `None` once more than `limit` hierarchy arcs would be redone.
    fn partial(&self, old: &CchMetric, weights: &[u32], limit: usize) -> Option<cch::Metric> {
        assert_eq!(weights.len(), old.weights.len(), "one weight per arc");
        let c = self.cch();
        let arcs = c.cch_arc_count();
        let mut dirty = vec![false; arcs];
        let mut todo = std::collections::BinaryHeap::new();
        for (a, (&w, &was)) in weights.iter().zip(&old.weights).enumerate() {
            if w != was {
                // A loop (a segment from a node back to it) is in no path
                // and not in the hierarchy.
                let arc = c.input_arc_to_cch_arc[a];
                if arc != cch::bundle::INVALID_ID
                    && !std::mem::replace(&mut dirty[arc as usize], true)
                {
                    todo.push(std::cmp::Reverse(c.up_tail[arc as usize]));
                }
            }
        }
        let mut metric = old.metric.clone();
        let mut redone = 0usize;
        let up =
            |x: u32| c.up_first_out[x as usize] as usize..c.up_first_out[x as usize + 1] as usize;
        // The up arc from `x` to `z`, by binary search (heads are sorted).
        let arc_to = |x: u32, z: u32| {
            let r = up(x);
            c.up_head[r.clone()]
                .binary_search(&z)
                .ok()
                .map(|i| r.start + i)
        };
        let mut last = None;
        while let Some(std::cmp::Reverse(x)) = todo.pop() {
            if last == Some(x) {
                continue;
            }
            last = Some(x);
            for top in up(x) {
                if !std::mem::replace(&mut dirty[top], false) {
                    continue;
                }
                redone += 1;
                if redone > limit {
                    return None;
                }
                let z = c.up_head[top];
                let (mut f, mut b) = (INF, INF);
                let first = |i: u32| (i != cch::bundle::INVALID_ID).then(|| weights[i as usize]);
                if let Some(w) = first(c.forward_input_arc_of_cch[top]) {
                    f = f.min(w);
                }
                if let Some(w) = first(c.backward_input_arc_of_cch[top]) {
                    b = b.min(w);
                }
                let ef = &c.first_extra_forward_input_arc_of_cch;
                for j in ef[top]..ef[top + 1] {
                    f = f.min(weights[c.extra_forward_input_arc_of_cch[j as usize] as usize]);
                }
                let eb = &c.first_extra_backward_input_arc_of_cch;
                for j in eb[top]..eb[top + 1] {
                    b = b.min(weights[c.extra_backward_input_arc_of_cch[j as usize] as usize]);
                }
                // Lower triangles: y below x with arcs y->x (bottom) and y->z (mid).
                let down = c.down_first_out[x as usize] as usize
                    ..c.down_first_out[x as usize + 1] as usize;
                for d in down {
                    let bottom = c.down_to_up[d] as usize;
                    let y = c.down_head[d];
                    if let Some(mid) = arc_to(y, z) {
                        let m = &metric;
                        f = f.min(m.backward[bottom].wrapping_add(m.forward[mid]));
                        b = b.min(m.forward[bottom].wrapping_add(m.backward[mid]));
                    }
                }
                if (f, b) == (metric.forward[top], metric.backward[top]) {
                    continue;
                }
                metric.forward[top] = f;
                metric.backward[top] = b;
                // Arcs with x->z in a lower triangle: between z and every
                // other upper neighbour u of x.
                for other in up(x) {
                    let u = c.up_head[other];
                    if u == z {
                        continue;
                    }
                    let (lo, hi) = if u < z { (u, z) } else { (z, u) };
                    if let Some(a) = arc_to(lo, hi)
                        && !std::mem::replace(&mut dirty[a], true)
                    {
                        todo.push(std::cmp::Reverse(lo));
                    }
                }
            }
        }
        Some(metric)
    }

    fn cch(&self) -> &cch::Cch {
        self.hierarchy.borrow_owner().borrow_owner()
    }

    pub fn contraction_order(&self) -> &[u32] {
        &self.order
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Arcs in the hierarchy (input arcs and shortcuts).
    pub fn hierarchy_arcs(&self) -> usize {
        self.cch().cch_arc_count()
    }
}

impl PathEngine for Cch {
    type Metric = CchMetric;

    fn customize(&self, weights: Vec<u32>) -> CchMetric {
        assert_eq!(
            weights.len(),
            self.topology.arcs.len(),
            "one weight per arc"
        );
        let metric = self.cch().customize(&weights);
        CchMetric { weights, metric }
    }

    /// Partial customisation: only the hierarchy arcs whose weight can
    /// depend on a changed arc are computed again, lowest first, each from
    /// its input arcs and its lower triangles (as the full customisation
    /// does), and a change spreads to the arcs above it. The result is the
    /// full customisation's, bit for bit (tested); when most of the
    /// hierarchy would be redone, the parallel full one runs instead.
    fn recustomize(&self, old: &CchMetric, weights: Vec<u32>) -> CchMetric {
        let limit = self.cch().cch_arc_count() / 3;
        match self.partial(old, &weights, limit) {
            Some(metric) => CchMetric { weights, metric },
            None => self.customize(weights),
        }
    }

    fn search<R>(&self, f: impl FnOnce(&mut dyn Search<CchMetric>) -> R) -> R {
        self.hierarchy.with_dependent(|hierarchy, pool| {
            let kept = pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut search = CchSearch {
                topology: &self.topology,
                query: kept.unwrap_or_else(|| cch::PathQuery::new(hierarchy.borrow_dependent())),
            };
            let out = f(&mut search);
            let mut pool = pool.lock().unwrap_or_else(|e| e.into_inner());
            if pool.len() < KEPT_SEARCHERS {
                pool.push(search.query);
            }
            out
        })
    }
}

struct CchSearch<'t, 'q> {
    topology: &'t Topology,
    query: cch::PathQuery<'q>,
}

impl Search<CchMetric> for CchSearch<'_, '_> {
    fn path(&mut self, metric: &CchMetric, from: u32, to: u32) -> Option<Path> {
        if from == to {
            return Some(Path {
                cost: 0,
                arcs: Vec::new(),
            });
        }
        let nodes = self.query.path(&metric.metric.view(), from, to)?;
        self.topology.arcs_of(&metric.weights, &nodes)
    }
}

/// Plain Dijkstra: no preparation, a full search per query.
pub struct Dijkstra {
    topology: std::sync::Arc<Topology>,
}

impl Dijkstra {
    pub fn new(topology: std::sync::Arc<Topology>) -> Dijkstra {
        Dijkstra { topology }
    }
}

impl PathEngine for Dijkstra {
    type Metric = Vec<u32>;

    fn customize(&self, weights: Vec<u32>) -> Vec<u32> {
        assert_eq!(
            weights.len(),
            self.topology.arcs.len(),
            "one weight per arc"
        );
        weights
    }

    fn search<R>(&self, f: impl FnOnce(&mut dyn Search<Vec<u32>>) -> R) -> R {
        f(&mut DijkstraSearch(&self.topology))
    }
}

struct DijkstraSearch<'a>(&'a Topology);

impl Search<Vec<u32>> for DijkstraSearch<'_> {
    fn path(&mut self, weights: &Vec<u32>, from: u32, to: u32) -> Option<Path> {
        let t = self.0;
        let (nodes, _) = pathfinding::directed::dijkstra::dijkstra(
            &from,
            |&v| {
                t.out(v)
                    .filter(|&a| weights[a] < INF)
                    .map(|a| (t.arcs[a].head, weights[a] as u64))
                    .collect::<Vec<_>>()
            },
            |&v| v == to,
        )?;
        t.arcs_of(weights, &nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{RoadClass, Segment};
    use proptest::prelude::*;
    use std::sync::Arc as Shared;

    /// A random road-like graph: nodes on a jittered grid, segments between
    /// neighbours (some missing, some one-way, some parallel).
    fn random_graph(side: u32, seed: u64) -> RoadGraph {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut g = RoadGraph {
            names: vec![String::new()],
            ..Default::default()
        };
        for y in 0..side {
            for x in 0..side {
                g.nodes.push([
                    x as f64 * 0.01 + rng.random_range(-0.003..0.003),
                    y as f64 * 0.01 + rng.random_range(-0.003..0.003),
                ]);
            }
        }
        let add = |g: &mut RoadGraph, from: u32, to: u32, rng: &mut rand_chacha::ChaCha8Rng| {
            let start = g.points.len() as u32;
            g.points.push(g.nodes[from as usize]);
            g.points.push(g.nodes[to as usize]);
            g.segments.push(Segment {
                from,
                to,
                class: RoadClass::Unclassified,
                oneway: rng.random_bool(0.15),
                length_m: rng.random_range(100.0..2000.0),
                speed_kmh: 30.0,
                name: 0,
                shape: (start, start + 2),
            });
        };
        for y in 0..side {
            for x in 0..side {
                let v = y * side + x;
                if x + 1 < side && rng.random_bool(0.85) {
                    add(&mut g, v, v + 1, &mut rng);
                }
                if y + 1 < side && rng.random_bool(0.85) {
                    add(&mut g, v, v + side, &mut rng);
                }
                if x + 1 < side && y + 1 < side && rng.random_bool(0.05) {
                    add(&mut g, v + side + 1, v, &mut rng);
                }
                if x + 1 < side && rng.random_bool(0.03) {
                    add(&mut g, v + 1, v, &mut rng);
                }
                if rng.random_bool(0.02) {
                    add(&mut g, v, v, &mut rng);
                }
            }
        }
        g
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// CCH and Dijkstra agree on every cost, with some arcs forbidden,
        /// and a CCH path costs what it says under the metric.
        #[test]
        fn cch_costs_equal_dijkstra(
            seed in any::<u64>(),
            side in 2u32..12,
            weights_seed in any::<u64>(),
            queries in proptest::collection::vec((any::<u32>(), any::<u32>()), 12),
        ) {
            use rand::{Rng, SeedableRng};
            let g = random_graph(side, seed);
            let topo = Shared::new(Topology::new(&g));
            let order = Cch::order(&g, &topo);
            let cch = Cch::new(topo.clone(), order).unwrap();
            let dij = Dijkstra::new(topo.clone());
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(weights_seed);
            let w: Vec<u32> = (0..topo.arcs.len())
                .map(|_| if rng.random_bool(0.05) { INF } else { rng.random_range(0..5_000) })
                .collect();
            let (mc, md) = (cch.customize(w.clone()), dij.customize(w.clone()));
            let n = topo.node_count;
            for (s, t) in queries {
                let (s, t) = (s % n, t % n);
                let a = cch.path(&mc, s, t);
                let b = dij.path(&md, s, t);
                prop_assert_eq!(a.as_ref().map(|p| p.cost), b.as_ref().map(|p| p.cost), "{} -> {}", s, t);
                if let Some(p) = a {
                    let sum: u64 = p.arcs.iter().map(|&a| w[a as usize] as u64).sum();
                    prop_assert_eq!(sum, p.cost);
                    let mut at = s;
                    for &a in &p.arcs {
                        prop_assert_eq!(topo.arcs[a as usize].tail, at);
                        at = topo.arcs[a as usize].head;
                    }
                    prop_assert_eq!(at, t);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Customising again from an earlier metric gives exactly what a
        /// full customisation gives, for changes up, down and to forbidden.
        #[test]
        fn partial_customisation_equals_full(
            seed in any::<u64>(),
            side in 2u32..14,
            weights_seed in any::<u64>(),
            changed in 0.0f64..0.5,
        ) {
            use rand::{Rng, SeedableRng};
            let g = random_graph(side, seed);
            let topo = Shared::new(Topology::new(&g));
            let cch = Cch::new(topo.clone(), Cch::order(&g, &topo)).unwrap();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(weights_seed);
            let w1: Vec<u32> = (0..topo.arcs.len())
                .map(|_| if rng.random_bool(0.05) { INF } else { rng.random_range(1..5_000) })
                .collect();
            let m1 = cch.customize(w1.clone());
            let mut w2 = w1.clone();
            for w in &mut w2 {
                if rng.random_bool(changed) {
                    *w = if rng.random_bool(0.1) { INF } else { rng.random_range(1..5_000) };
                }
            }
            let full = cch.customize(w2.clone());
            // Partial all the way (no falling back to the full one).
            let partial = cch.partial(&m1, &w2, usize::MAX).unwrap();
            prop_assert_eq!(&partial, &full.metric);
            let partial = CchMetric { weights: w2.clone(), metric: partial };
            let again = cch.partial(&partial, &w1, usize::MAX).unwrap();
            prop_assert_eq!(&again, &m1.metric);
            let chosen = cch.recustomize(&m1, w2.clone());
            prop_assert_eq!(&chosen.metric, &full.metric);
        }
    }

    #[test]
    fn a_bad_order_is_refused() {
        let g = random_graph(3, 1);
        let topo = Shared::new(Topology::new(&g));
        assert!(Cch::new(topo.clone(), vec![0; 9]).is_err());
        assert!(Cch::new(topo, (0..8).collect()).is_err());
    }

    #[test]
    fn one_way_roads_are_driven_one_way() {
        let mut g = random_graph(2, 7);
        g.segments.clear();
        g.points.clear();
        let mut add = |from: u32, to: u32, oneway: bool| {
            let start = g.points.len() as u32;
            g.points.push(g.nodes[from as usize]);
            g.points.push(g.nodes[to as usize]);
            g.segments.push(Segment {
                from,
                to,
                class: RoadClass::Primary,
                oneway,
                length_m: 1000.0,
                speed_kmh: 36.0,
                name: 0,
                shape: (start, start + 2),
            });
        };
        add(0, 1, true);
        add(1, 3, false);
        add(0, 2, false);
        add(2, 3, false);
        let topo = Shared::new(Topology::new(&g));
        let cch = Cch::new(topo.clone(), Cch::order(&g, &topo)).unwrap();
        let m = cch.customize(vec![1; topo.arcs.len()]);
        assert_eq!(cch.path(&m, 0, 3).unwrap().cost, 2);
        assert_eq!(cch.path(&m, 1, 0).unwrap().cost, 3, "1 -> 0 must go round");
    }
}
