//! Routes: fastest, least exposed and balanced, Pareto alternatives, avoided
//! areas, and the risk profile along a route.
//!
//! Every objective is one integer weight per arc, so every engine answers
//! every objective and the tests can hold CCH to Dijkstra:
//!
//! ```text
//! weight_lambda(arc) = round(t(arc) x min(1 + lambda x risk(segment), FACTOR_CAP))
//! ```
//!
//! with `t` the driving time in tenths of a second. `lambda = 0` is the
//! fastest route; `lambda = LAMBDA_SAFEST` the least exposed (exposure =
//! sum of risk x hours driven), with driving time breaking ties; the
//! balanced route takes `lambda` from the user's trade-off. A stretch never
//! counts more than `FACTOR_CAP` times its driving time, which keeps every
//! route of up to two days' driving below the engines' infinity.
//!
//! Alternatives are the routes of a ladder of `lambda`s, each optimal for
//! its weighting, so together they are a supported Pareto set of driving
//! time against exposure. Routes dominated by another on both, or that
//! mostly share their road with a kept route while gaining little exposure,
//! are dropped; at most five alternatives are kept.

use std::sync::Arc;

use geo::{Intersects, LineString, Polygon};

use crate::engine::{INF, Path, PathEngine, Search, Topology};
use crate::graph::{LonLat, RoadGraph, haversine_m, point_segment_m};
use crate::risk::{RiskField, SegmentIndex};

/// The exposure weight of the least-exposed route: a stretch of risk 1
/// counts as 101 times its driving time.
pub const LAMBDA_SAFEST: f64 = 100.0;
/// No stretch counts more than this many times its driving time.
pub const FACTOR_CAP: f64 = 1_000.0;
/// The weightings tried for alternatives (fastest first, safest last).
pub const LADDER: [f64; 8] = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, LAMBDA_SAFEST];
/// At most this many routes besides the requested one.
pub const MAX_ALTERNATIVES: usize = 5;
/// Risk at or above which a stretch is "high" in a profile.
pub const HIGH_RISK: f64 = 1.0;
/// Risk at or above which a stretch is "elevated".
pub const ELEVATED_RISK: f64 = 0.25;

/// The `lambda` of a trade-off between 0 (fastest) and 1 (least exposed):
/// 0.01 x 10^(4 t), so 0.5 weighs a stretch of risk 1 at twice its time.
pub fn lambda_of_tradeoff(t: f64) -> f64 {
    if t <= 0.0 {
        0.0
    } else {
        0.01 * 10f64.powf(4.0 * t.min(1.0))
    }
}

/// Driving time of every arc in tenths of a second (at least 1).
pub fn arc_tenths(graph: &RoadGraph, topology: &Topology) -> Vec<u32> {
    topology
        .arcs
        .iter()
        .map(|a| {
            (graph.segments[a.segment as usize].seconds() * 10.0)
                .round()
                .clamp(1.0, 1e7) as u32
        })
        .collect()
}

/// The weight of an arc of `tenths` driving time on a segment of `risk`.
fn arc_weight(tenths: u32, risk: f64, lambda: f64) -> u32 {
    let factor = (1.0 + lambda * risk).min(FACTOR_CAP);
    (tenths as f64 * factor).round() as u32
}

/// The arc weights of `lambda` under `risk`, arcs in `avoid` forbidden.
pub fn weights(
    topology: &Topology,
    tenths: &[u32],
    risk: &RiskField,
    lambda: f64,
    avoid: &[bool],
) -> Vec<u32> {
    topology
        .arcs
        .iter()
        .zip(tenths)
        .map(|(a, &t)| {
            if avoid.get(a.segment as usize).copied().unwrap_or(false) {
                return INF;
            }
            arc_weight(t, risk.risk(a.segment), lambda)
        })
        .collect()
}

/// `weights` (of `lambda`, nothing avoided) brought up to date with `risk`
/// on the arcs of `segments`, the segments whose risk changed.
pub fn reweigh(
    mut weights: Vec<u32>,
    topology: &Topology,
    tenths: &[u32],
    risk: &RiskField,
    lambda: f64,
    segments: &[u32],
) -> Vec<u32> {
    for &s in segments {
        for a in topology.by_segment[s as usize] {
            if a != u32::MAX {
                weights[a as usize] = arc_weight(tenths[a as usize], risk.risk(s), lambda);
            }
        }
    }
    weights
}

/// The segments that cross or lie in any of the polygons.
pub fn avoided_segments(graph: &RoadGraph, index: &SegmentIndex, areas: &[Polygon]) -> Vec<bool> {
    let mut out = vec![false; graph.segments.len()];
    for area in areas {
        let Some(bbox) = geo::BoundingRect::bounding_rect(area) else {
            continue;
        };
        for s in index.in_box([bbox.min().x, bbox.min().y], [bbox.max().x, bbox.max().y]) {
            if !out[s as usize] {
                let line = LineString::from(graph.shape(&graph.segments[s as usize]).to_vec());
                out[s as usize] = line.intersects(area);
            }
        }
    }
    out
}

/// Where a requested position meets the road network.
#[derive(Debug, Clone, PartialEq)]
pub struct Snap {
    pub segment: u32,
    /// Fraction of the segment's length from its `from` node.
    pub fraction: f64,
    pub point: LonLat,
    /// From the requested position to `point` (m).
    pub distance_m: f64,
}

/// The nearest road point to `p`, if one is within `max_m` metres.
pub fn snap(graph: &RoadGraph, index: &SegmentIndex, p: LonLat, max_m: f64) -> Option<Snap> {
    let (segment, distance_m) = index.nearest(p)?;
    if distance_m > max_m {
        return None;
    }
    let s = &graph.segments[segment as usize];
    let shape = graph.shape(s);
    let (mut best, mut before, mut along) = (f64::INFINITY, 0.0, 0.0);
    let mut point = shape[0];
    for w in shape.windows(2) {
        let piece = haversine_m(w[0], w[1]);
        let (d, t) = point_segment_m(p, w[0], w[1]);
        if d < best {
            best = d;
            along = before + t * piece;
            point = [
                w[0][0] + t * (w[1][0] - w[0][0]),
                w[0][1] + t * (w[1][1] - w[0][1]),
            ];
        }
        before += piece;
    }
    let fraction = if before > 0.0 {
        (along / before).clamp(0.0, 1.0)
    } else {
        0.0
    };
    Some(Snap {
        segment,
        fraction,
        point,
        distance_m,
    })
}

/// A stretch of one segment driven in a route.
#[derive(Debug, Clone, PartialEq)]
pub struct Leg {
    pub segment: u32,
    /// Driven from the segment's `to` towards its `from`.
    pub reverse: bool,
    /// The part of the segment driven, as fractions from its `from` node
    /// (`start < end`).
    pub start: f64,
    pub end: f64,
    pub seconds: f64,
    pub length_m: f64,
    pub risk: f64,
}

impl Leg {
    pub fn exposure(&self) -> f64 {
        self.risk * self.seconds / 3600.0
    }
}

/// One route.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The weighting it is optimal for.
    pub lambda: f64,
    /// Its cost under that weighting (engine units).
    pub cost: u64,
    pub seconds: f64,
    pub length_m: f64,
    /// Sum of risk x hours driven.
    pub exposure: f64,
    pub legs: Vec<Leg>,
}

impl Route {
    pub fn segments(&self) -> Vec<u32> {
        self.legs.iter().map(|l| l.segment).collect()
    }

    /// The route's line, start to end.
    pub fn geometry(&self, graph: &RoadGraph) -> Vec<LonLat> {
        let mut out: Vec<LonLat> = Vec::new();
        for l in &self.legs {
            let mut part = cut(
                graph.shape(&graph.segments[l.segment as usize]),
                l.start,
                l.end,
            );
            if l.reverse {
                part.reverse();
            }
            if out.last() == part.first() {
                part.remove(0);
            }
            out.extend(part);
        }
        out
    }

    /// Length (m) of this route on segments `other` also drives.
    pub fn shared_m(&self, other: &Route) -> f64 {
        let theirs: rustc_hash::FxHashSet<u32> = other.legs.iter().map(|l| l.segment).collect();
        self.legs
            .iter()
            .filter(|l| theirs.contains(&l.segment))
            .map(|l| l.length_m)
            .sum()
    }
}

/// The part of a polyline between two fractions of its length.
pub fn cut(shape: &[LonLat], start: f64, end: f64) -> Vec<LonLat> {
    if start <= 0.0 && end >= 1.0 {
        return shape.to_vec();
    }
    let total: f64 = shape.windows(2).map(|w| haversine_m(w[0], w[1])).sum();
    let (a, b) = (start * total, end * total);
    let lerp = |p: LonLat, q: LonLat, t: f64| [p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])];
    let mut out = Vec::new();
    let mut at = 0.0;
    for w in shape.windows(2) {
        let piece = haversine_m(w[0], w[1]);
        let next = at + piece;
        let t = |x: f64| {
            if piece > 0.0 {
                ((x - at) / piece).clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        if out.is_empty() && a <= next {
            out.push(lerp(w[0], w[1], t(a)));
        }
        if !out.is_empty() {
            if b <= next {
                out.push(lerp(w[0], w[1], t(b)));
                return out;
            }
            out.push(w[1]);
        }
        at = next;
    }
    if out.is_empty() {
        out.push(*shape.last().unwrap_or(&[0.0, 0.0]));
    }
    if out.len() == 1 {
        out.push(out[0]);
    }
    out
}

/// What a route search needs of a network.
pub struct Context<'a, E: PathEngine> {
    pub graph: &'a RoadGraph,
    pub topology: &'a Topology,
    pub engine: &'a E,
    pub tenths: &'a [u32],
    pub risk: &'a RiskField,
}

impl<E: PathEngine> Context<'_, E> {
    fn leg(&self, segment: u32, reverse: bool, start: f64, end: f64) -> Leg {
        let s = &self.graph.segments[segment as usize];
        let part = (end - start).max(0.0);
        Leg {
            segment,
            reverse,
            start,
            end,
            seconds: s.seconds() * part,
            length_m: s.length_m * part,
            risk: self.risk.risk(segment),
        }
    }

    /// The best route from `a` to `b` under `metric` (whose weights are
    /// those of `lambda`), or `None` when there is none.
    pub fn route(
        &self,
        search: &mut dyn Search<E::Metric>,
        metric: &E::Metric,
        weights: &[u32],
        lambda: f64,
        a: &Snap,
        b: &Snap,
    ) -> Option<Route> {
        let seg_a = &self.graph.segments[a.segment as usize];
        let seg_b = &self.graph.segments[b.segment as usize];
        // The weight of driving a part of a segment in a direction, or None
        // when that direction is closed (one-way or avoided).
        let part = |seg: u32, reverse: bool, frac: f64| -> Option<u64> {
            if frac <= 0.0 {
                return Some(0);
            }
            let arc = self.arc_of(seg, reverse)?;
            (weights[arc] < INF).then(|| (weights[arc] as f64 * frac).round() as u64)
        };
        let mut best: Option<(u64, Vec<Leg>)> = None;
        let mut consider = |cost: u64, legs: Vec<Leg>| {
            if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                best = Some((cost, legs));
            }
        };
        // Along one segment, without reaching a node.
        if a.segment == b.segment {
            let reverse = b.fraction < a.fraction;
            let (s, e) = if reverse {
                (b.fraction, a.fraction)
            } else {
                (a.fraction, b.fraction)
            };
            if let Some(c) = part(a.segment, reverse, e - s) {
                consider(c, vec![self.leg(a.segment, reverse, s, e)]);
            }
        }
        // Leave the start segment by either end, join the end segment by
        // either end.
        let exits = [
            (seg_a.to, false, 1.0 - a.fraction),
            (seg_a.from, true, a.fraction),
        ];
        let entries = [
            (seg_b.from, false, b.fraction),
            (seg_b.to, true, 1.0 - b.fraction),
        ];
        for &(u, rev_a, frac_a) in &exits {
            let Some(ca) = part(a.segment, rev_a, frac_a) else {
                continue;
            };
            for &(v, rev_b, frac_b) in &entries {
                let Some(cb) = part(b.segment, rev_b, frac_b) else {
                    continue;
                };
                let Some(Path { cost, arcs }) = search.path(metric, u, v) else {
                    continue;
                };
                let mut legs = Vec::with_capacity(arcs.len() + 2);
                if frac_a > 0.0 {
                    let (s, e) = if rev_a {
                        (0.0, a.fraction)
                    } else {
                        (a.fraction, 1.0)
                    };
                    legs.push(self.leg(a.segment, rev_a, s, e));
                }
                for &arc in &arcs {
                    let arc = self.topology.arcs[arc as usize];
                    legs.push(self.leg(arc.segment, arc.reverse, 0.0, 1.0));
                }
                if frac_b > 0.0 {
                    let (s, e) = if rev_b {
                        (b.fraction, 1.0)
                    } else {
                        (0.0, b.fraction)
                    };
                    legs.push(self.leg(b.segment, rev_b, s, e));
                }
                consider(ca + cost + cb, legs);
            }
        }
        let (cost, legs) = best?;
        Some(Route {
            lambda,
            cost,
            seconds: legs.iter().map(|l| l.seconds).sum(),
            length_m: legs.iter().map(|l| l.length_m).sum(),
            exposure: legs.iter().map(Leg::exposure).sum(),
            legs,
        })
    }

    /// A route along given legs (segment, reverse, start and end
    /// fractions), with today's risk: a saved route read again. `None`
    /// when a leg is not on this graph (a segment out of range, fractions
    /// outside 0-1 or reversed, a one-way road driven the wrong way).
    pub fn replay(&self, lambda: f64, legs: &[(u32, bool, f64, f64)]) -> Option<Route> {
        let mut out = Vec::with_capacity(legs.len());
        let mut cost = 0.0;
        for &(segment, reverse, start, end) in legs {
            if segment as usize >= self.graph.segments.len()
                || !(0.0..=1.0).contains(&start)
                || !(start..=1.0).contains(&end)
            {
                return None;
            }
            let arc = self.arc_of(segment, reverse)?;
            let leg = self.leg(segment, reverse, start, end);
            let factor = (1.0 + lambda * leg.risk).min(FACTOR_CAP);
            cost += self.tenths[arc] as f64 * factor * (end - start);
            out.push(leg);
        }
        Some(Route {
            lambda,
            cost: cost.round() as u64,
            seconds: out.iter().map(|l| l.seconds).sum(),
            length_m: out.iter().map(|l| l.length_m).sum(),
            exposure: out.iter().map(Leg::exposure).sum(),
            legs: out,
        })
    }

    fn arc_of(&self, segment: u32, reverse: bool) -> Option<usize> {
        let s = &self.graph.segments[segment as usize];
        let tail = if reverse { s.to } else { s.from };
        self.topology.out(tail).find(|&i| {
            self.topology.arcs[i].segment == segment && self.topology.arcs[i].reverse == reverse
        })
    }
}

/// Keeps the routes that are worth showing beside `main`: not dominated on
/// (time, exposure) by another candidate, and differing from every kept
/// route by at least a fifth of their road or a tenth of the exposure (and
/// 0.01 risk-hours). Sorted fastest first; at most [`MAX_ALTERNATIVES`].
pub fn alternatives(main: &Route, candidates: Vec<Route>) -> Vec<Route> {
    let dominated = |r: &Route, by: &Route| {
        by.seconds <= r.seconds
            && by.exposure <= r.exposure
            && (by.seconds < r.seconds || by.exposure < r.exposure)
    };
    let mut pool: Vec<Route> = Vec::new();
    for c in candidates {
        if c.segments() == main.segments() || pool.iter().any(|p| p.segments() == c.segments()) {
            continue;
        }
        pool.push(c);
    }
    let everyone: Vec<&Route> = pool.iter().chain(std::iter::once(main)).collect();
    let mut front: Vec<Route> = pool
        .iter()
        .filter(|r| !everyone.iter().any(|o| dominated(r, o)))
        .cloned()
        .collect();
    front.sort_by(|a, b| {
        a.seconds
            .total_cmp(&b.seconds)
            .then(a.exposure.total_cmp(&b.exposure))
    });
    let mut kept: Vec<Route> = Vec::new();
    for r in front {
        let distinct = std::iter::once(main).chain(kept.iter()).all(|k| {
            let overlap = r.shared_m(k) / r.length_m.max(1.0);
            let gain = (r.exposure - k.exposure).abs();
            overlap <= 0.8 || (gain >= 0.1 * k.exposure.max(r.exposure) && gain >= 0.01)
        });
        if distinct && kept.len() < MAX_ALTERNATIVES {
            kept.push(r);
        }
    }
    kept
}

/// How dangerous a stretch of a route is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Low,
    Elevated,
    High,
}

impl Level {
    pub fn of(risk: f64) -> Level {
        if risk >= HIGH_RISK {
            Level::High
        } else if risk >= ELEVATED_RISK {
            Level::Elevated
        } else {
            Level::Low
        }
    }
}

/// A run of legs of one level.
#[derive(Debug, Clone, PartialEq)]
pub struct Stretch {
    pub level: Level,
    pub from_km: f64,
    pub to_km: f64,
    /// Seconds from departure to the start of the stretch.
    pub from_s: f64,
    pub seconds: f64,
    pub max_risk: f64,
    pub exposure: f64,
    /// Legs `legs.0..legs.1` of the route.
    pub legs: (usize, usize),
    /// The incidents that add the most risk to it: (id, risk added to its
    /// riskiest segment), largest first, at most five.
    pub incidents: Vec<(i64, f64)>,
}

/// The risk profile along a route: consecutive legs of the same level
/// merged, each stretch with the incidents behind it.
pub fn profile(route: &Route, risk: &RiskField) -> Vec<Stretch> {
    let mut out: Vec<Stretch> = Vec::new();
    let (mut km, mut s) = (0.0, 0.0);
    for (i, l) in route.legs.iter().enumerate() {
        let level = Level::of(l.risk);
        match out.last_mut() {
            Some(st) if st.level == level => {
                st.to_km += l.length_m / 1000.0;
                st.seconds += l.seconds;
                st.max_risk = st.max_risk.max(l.risk);
                st.exposure += l.exposure();
                st.legs.1 = i + 1;
            }
            _ => out.push(Stretch {
                level,
                from_km: km,
                to_km: km + l.length_m / 1000.0,
                from_s: s,
                seconds: l.seconds,
                max_risk: l.risk,
                exposure: l.exposure(),
                legs: (i, i + 1),
                incidents: Vec::new(),
            }),
        }
        km += l.length_m / 1000.0;
        s += l.seconds;
    }
    for st in &mut out {
        if st.level == Level::Low {
            continue;
        }
        let segs: Vec<u32> = route.legs[st.legs.0..st.legs.1]
            .iter()
            .map(|l| l.segment)
            .collect();
        let mut seen = rustc_hash::FxHashSet::default();
        st.incidents = risk
            .contributions(&segs)
            .into_iter()
            .filter(|(id, _, _)| seen.insert(*id))
            .take(5)
            .map(|(id, _, v)| (id, v))
            .collect();
    }
    out
}

/// A shared, customised metric.
pub type SharedMetric<E> = Arc<<E as PathEngine>::Metric>;
