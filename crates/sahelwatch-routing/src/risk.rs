//! Risk per road segment from incidents.
//!
//! The model (documented for users in the README, "Road risk"):
//!
//! ```text
//! risk(segment) = sum over incidents i of
//!     kind(i) x severity(i) x age(i) x precision(i) x kernel(d(i, segment), sigma(i))
//!
//! kind       weight of the ACLED sub-event type (`RiskModel::kind_weight`);
//!            an incident whose text tells of an attack on vehicles, a convoy,
//!            a checkpoint or a road counts at least `road_attack_weight`
//! severity   1 + ln(1 + fatalities)
//! age        0.5 ^ (age_days / half_life_days); none older than
//!            `max_age_days`, none after the reference time
//! sigma      spread of the location: 2 km for an exact place
//!            (geo_precision 1), 10 km near a place or coarsened to 10 km
//!            (2), 30 km for a region (3)
//! precision  sigma(1) / sigma(i): an imprecise incident spreads the same
//!            weight thinner
//! kernel     exp(-d^2 / (2 sigma^2)), d = distance (m) from the incident to
//!            the nearest point of the segment's shape; 0 beyond 3 sigma
//! ```
//!
//! A risk of 1 is about one fresh attack without deaths on the road itself.
//! Each contribution is rounded to a millionth and summed as an integer, so
//! adding incidents one by one gives exactly the risk of computing them all
//! at once, in any order (the router's results then match too).

use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Line};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::graph::{LonLat, RoadGraph, point_segment_m};

/// Fixed-point unit of risk: contributions are counted in millionths.
const MICRO: f64 = 1e6;

/// The parameters of the risk model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskModel {
    pub half_life_days: f64,
    /// Incidents older than this do not count at all.
    pub max_age_days: f64,
    /// Spread (m) for geo_precision 1, 2 and 3.
    pub sigma_m: [f64; 3],
    /// The least weight of an incident told as an attack on vehicles,
    /// convoys, checkpoints or roads.
    pub road_attack_weight: f64,
    /// Weight per ACLED sub-event type; types not listed weigh `other_weight`.
    pub kind_weights: Vec<(String, f64)>,
    pub other_weight: f64,
}

impl Default for RiskModel {
    fn default() -> Self {
        let w = |k: &str, v: f64| (k.to_string(), v);
        RiskModel {
            half_life_days: 90.0,
            max_age_days: 540.0,
            sigma_m: [2_000.0, 10_000.0, 30_000.0],
            road_attack_weight: 3.0,
            kind_weights: vec![
                w("Abduction/forced disappearance", 3.0),
                w("Remote explosive/landmine/IED", 3.0),
                w("Suicide bomb", 3.0),
                w("Attack", 2.0),
                w("Armed clash", 1.5),
                w("Shelling/artillery/missile attack", 1.5),
                w("Grenade", 1.5),
                w("Air/drone strike", 1.0),
                w("Looting/property destruction", 1.0),
                w("Sexual violence", 1.0),
                w("Disrupted weapons use", 1.0),
                w("Non-state actor overtakes territory", 1.0),
                w("Mob violence", 0.5),
                w("Violent demonstration", 0.5),
                w("Government regains territory", 0.3),
                w("Headquarters or base established", 0.3),
                w("Non-violent transfer of territory", 0.3),
                w("Arrests", 0.2),
                w("Excessive force against protesters", 0.2),
                w("Protest with intervention", 0.1),
                w("Peaceful protest", 0.05),
                w("Agreement", 0.05),
                w("Change to group/activity", 0.05),
                w("Other", 0.2),
            ],
            other_weight: 0.5,
        }
    }
}

/// An incident as the risk model sees it (at the position the viewer sees).
#[derive(Debug, Clone, PartialEq)]
pub struct RiskIncident {
    pub id: i64,
    pub position: LonLat,
    /// Days between the incident and the reference time (negative: after it).
    pub age_days: f64,
    pub sub_event_type: String,
    pub fatalities: u32,
    /// ACLED geo_precision 1-3 (others are clamped).
    pub precision: u8,
    /// The text tells of an attack on vehicles, a convoy, a checkpoint or a road.
    pub on_road: bool,
}

impl RiskModel {
    pub fn kind_weight(&self, sub_event_type: &str, on_road: bool) -> f64 {
        let k = self
            .kind_weights
            .iter()
            .find(|(k, _)| k == sub_event_type)
            .map_or(self.other_weight, |(_, w)| *w);
        if on_road {
            k.max(self.road_attack_weight)
        } else {
            k
        }
    }

    pub fn sigma(&self, precision: u8) -> f64 {
        self.sigma_m[(precision.clamp(1, 3) - 1) as usize]
    }

    /// The weight of an incident before distance, or `None` when it does
    /// not count (too old, after the reference time, or weightless).
    pub fn weight(&self, i: &RiskIncident) -> Option<f64> {
        if !(0.0..=self.max_age_days).contains(&i.age_days) {
            return None;
        }
        let w = self.kind_weight(&i.sub_event_type, i.on_road)
            * (1.0 + (1.0 + i.fatalities as f64).ln())
            * 0.5f64.powf(i.age_days / self.half_life_days)
            * (self.sigma_m[0] / self.sigma(i.precision));
        (w > 0.0 && w.is_finite()).then_some(w)
    }

    /// Checks a model read from configuration.
    pub fn validate(&self) -> Result<(), String> {
        let pos = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!(
                    "risk model: {name} = {v} must be a positive number"
                ))
            }
        };
        pos("half_life_days", self.half_life_days)?;
        pos("max_age_days", self.max_age_days)?;
        for (i, s) in self.sigma_m.iter().enumerate() {
            pos(&format!("sigma_m[{i}]"), *s)?;
        }
        for (k, w) in &self.kind_weights {
            if !(w.is_finite() && *w >= 0.0) {
                return Err(format!(
                    "risk model: weight of {k:?} = {w} must be 0 or more"
                ));
            }
        }
        Ok(())
    }
}

type Piece = GeomWithData<Line<[f64; 2]>, u32>;

/// The shape pieces of every segment, for "which segments pass near here".
pub struct SegmentIndex {
    tree: RTree<Piece>,
}

impl SegmentIndex {
    pub fn new(graph: &RoadGraph) -> SegmentIndex {
        let mut pieces = Vec::with_capacity(graph.points.len());
        for (i, s) in graph.segments.iter().enumerate() {
            for w in graph.shape(s).windows(2) {
                pieces.push(GeomWithData::new(Line::new(w[0], w[1]), i as u32));
            }
        }
        SegmentIndex {
            tree: RTree::bulk_load(pieces),
        }
    }

    /// Every segment with a point within `radius_m` of `p`, with its least
    /// distance (m), by segment.
    pub fn near(&self, p: LonLat, radius_m: f64) -> Vec<(u32, f64)> {
        let dlat = radius_m / 111_195.0;
        let dlon = dlat / p[1].to_radians().cos().max(0.01);
        let bbox = AABB::from_corners([p[0] - dlon, p[1] - dlat], [p[0] + dlon, p[1] + dlat]);
        let mut out: Vec<(u32, f64)> = self
            .tree
            .locate_in_envelope_intersecting(&bbox)
            .filter_map(|piece| {
                let (d, _) = point_segment_m(p, piece.geom().from, piece.geom().to);
                (d <= radius_m).then_some((piece.data, d))
            })
            .collect();
        // By segment, nearest piece first; keep that one.
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        out.dedup_by_key(|x| x.0);
        out
    }

    /// The segments with a piece in the box (degrees).
    pub fn in_box(&self, min: LonLat, max: LonLat) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_corners(min, max))
            .map(|p| p.data)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The segment nearest to `p` and its distance (m).
    pub fn nearest(&self, p: LonLat) -> Option<(u32, f64)> {
        // The R-tree measures in degrees; look at a few nearest pieces and
        // pick the nearest in metres.
        self.tree
            .nearest_neighbor_iter(&p)
            .take(16)
            .map(|piece| {
                (
                    piece.data,
                    point_segment_m(p, piece.geom().from, piece.geom().to).0,
                )
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// Risk per segment from a set of incidents, kept so that incidents can be
/// added (or removed) and the risk of exactly the segments they touch
/// changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RiskField {
    micro: Vec<u64>,
    /// Per incident id: the segments it touches and by how much.
    /// (8 bytes a touch: what one incident adds to one segment fits in 32
    /// bits, up to 4,294 risk units; sums are kept in 64.)
    touches: FxHashMap<i64, Vec<(u32, u32)>>,
}

impl RiskField {
    pub fn empty(segments: usize) -> RiskField {
        RiskField {
            micro: vec![0; segments],
            touches: FxHashMap::default(),
        }
    }

    /// The field of `incidents` (a repeated id counts once: the last one).
    /// The spread of each incident is computed on every core; the result is
    /// the same as adding them one by one, in order.
    pub fn compute(
        model: &RiskModel,
        index: &SegmentIndex,
        segments: usize,
        incidents: &[RiskIncident],
    ) -> RiskField {
        use rayon::prelude::*;
        let spread: Vec<Vec<(u32, u32)>> = incidents
            .par_iter()
            .map(|i| Self::spread(model, index, i))
            .collect();
        let mut f = RiskField::empty(segments);
        for (i, touches) in incidents.iter().zip(spread) {
            f.put(i.id, touches);
        }
        f
    }

    /// What one incident adds to each segment it touches, by segment.
    fn spread(model: &RiskModel, index: &SegmentIndex, i: &RiskIncident) -> Vec<(u32, u32)> {
        let Some(w) = model.weight(i) else {
            return Vec::new();
        };
        let sigma = model.sigma(i.precision);
        index
            .near(i.position, 3.0 * sigma)
            .into_iter()
            .filter_map(|(seg, d)| {
                // `as` saturates: a contribution above 4,294 is held at it.
                let v = (w * (-(d * d) / (2.0 * sigma * sigma)).exp() * MICRO).round() as u32;
                (v > 0).then_some((seg, v))
            })
            .collect()
    }

    /// Adds one incident (replacing an earlier version of the same id) and
    /// returns the segments whose risk changed.
    pub fn add(&mut self, model: &RiskModel, index: &SegmentIndex, i: &RiskIncident) -> Vec<u32> {
        let touches = Self::spread(model, index, i);
        self.put(i.id, touches)
    }

    /// Puts an incident's spread (by segment) in place of any earlier one
    /// of that id; returns the segments whose risk changed.
    fn put(&mut self, id: i64, touches: Vec<(u32, u32)>) -> Vec<u32> {
        let mut changed = self.remove(id);
        for &(seg, v) in &touches {
            self.micro[seg as usize] += u64::from(v);
            changed.push(seg);
        }
        if !touches.is_empty() {
            self.touches.insert(id, touches);
        }
        changed.sort_unstable();
        changed.dedup();
        changed
    }

    /// Removes an incident; returns the segments whose risk changed.
    pub fn remove(&mut self, id: i64) -> Vec<u32> {
        let Some(touches) = self.touches.remove(&id) else {
            return Vec::new();
        };
        for &(seg, v) in &touches {
            self.micro[seg as usize] -= u64::from(v);
        }
        touches.into_iter().map(|(s, _)| s).collect()
    }

    pub fn risk(&self, segment: u32) -> f64 {
        self.micro[segment as usize] as f64 / MICRO
    }

    pub fn risks(&self) -> impl Iterator<Item = f64> + '_ {
        self.micro.iter().map(|&m| m as f64 / MICRO)
    }

    pub fn incidents(&self) -> usize {
        self.touches.len()
    }

    /// The incidents that add risk to any of `segments`, with the risk each
    /// adds to each segment, largest first.
    pub fn contributions(&self, segments: &[u32]) -> Vec<(i64, u32, f64)> {
        let wanted: rustc_hash::FxHashSet<u32> = segments.iter().copied().collect();
        let mut out: Vec<(i64, u32, f64)> = self
            .touches
            .iter()
            .flat_map(|(&id, t)| {
                t.iter()
                    .filter(|(s, _)| wanted.contains(s))
                    .map(move |&(s, v)| (id, s, v as f64 / MICRO))
            })
            .collect();
        out.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{RoadClass, Segment};

    /// Two parallel east-west roads 0.1 degree (11 km) apart near Dori.
    fn two_roads() -> RoadGraph {
        let seg = |from, to, shape| Segment {
            from,
            to,
            class: RoadClass::Primary,
            oneway: false,
            length_m: 10_900.0,
            speed_kmh: 60.0,
            name: 0,
            shape,
        };
        RoadGraph {
            nodes: vec![[0.0, 14.0], [0.1, 14.0], [0.0, 14.1], [0.1, 14.1]],
            segments: vec![seg(0, 1, (0, 2)), seg(2, 3, (2, 4))],
            points: vec![[0.0, 14.0], [0.1, 14.0], [0.0, 14.1], [0.1, 14.1]],
            names: vec![String::new()],
        }
    }

    fn incident(id: i64, lon: f64, lat: f64) -> RiskIncident {
        RiskIncident {
            id,
            position: [lon, lat],
            age_days: 0.0,
            sub_event_type: "Attack".into(),
            fatalities: 0,
            precision: 1,
            on_road: false,
        }
    }

    #[test]
    fn an_incident_on_a_road_weighs_its_kind_and_fades_with_distance() {
        let g = two_roads();
        let idx = SegmentIndex::new(&g);
        let m = RiskModel::default();
        let f = RiskField::compute(&m, &idx, 2, &[incident(1, 0.05, 14.0)]);
        assert!((f.risk(0) - 2.0).abs() < 1e-6, "{}", f.risk(0));
        // 11 km away is 5.5 sigma for an exact place: nothing.
        assert_eq!(f.risk(1), 0.0);
        // 1 km off the road: exp(-1/8) of the weight.
        let f = RiskField::compute(&m, &idx, 2, &[incident(1, 0.05, 14.009)]);
        let want = 2.0 * (-(1000.8f64 * 1000.8) / (2.0 * 2000.0 * 2000.0)).exp();
        assert!((f.risk(0) - want).abs() < 2e-3, "{} vs {want}", f.risk(0));
    }

    #[test]
    fn weight_follows_kind_deaths_age_and_precision() {
        let m = RiskModel::default();
        let mut i = incident(1, 0.0, 14.0);
        assert_eq!(m.weight(&i), Some(2.0));
        i.fatalities = 4;
        assert!((m.weight(&i).unwrap() - 2.0 * (1.0 + 5f64.ln())).abs() < 1e-12);
        i.fatalities = 0;
        i.age_days = 90.0;
        assert!((m.weight(&i).unwrap() - 1.0).abs() < 1e-12);
        i.age_days = 541.0;
        assert_eq!(m.weight(&i), None);
        i.age_days = -1.0;
        assert_eq!(m.weight(&i), None, "after the reference time");
        i.age_days = 0.0;
        i.precision = 3;
        assert!((m.weight(&i).unwrap() - 2.0 / 15.0).abs() < 1e-12);
        i.precision = 1;
        i.sub_event_type = "Peaceful protest".into();
        i.on_road = true;
        assert_eq!(
            m.weight(&i),
            Some(3.0),
            "an attack on a road weighs the most"
        );
        i.sub_event_type = "Something new".into();
        i.on_road = false;
        assert_eq!(m.weight(&i), Some(0.5));
    }

    #[test]
    fn adding_one_by_one_equals_computing_at_once_in_any_order() {
        let g = two_roads();
        let idx = SegmentIndex::new(&g);
        let m = RiskModel::default();
        let all: Vec<RiskIncident> = (0..40)
            .map(|k| {
                let mut i = incident(k, 0.0025 * k as f64, 14.0 + 0.0027 * (k % 37) as f64);
                i.fatalities = (k % 5) as u32;
                i.age_days = (k * 7 % 200) as f64;
                i.precision = (k % 3 + 1) as u8;
                i
            })
            .collect();
        let at_once = RiskField::compute(&m, &idx, 2, &all);
        let mut one_by_one = RiskField::empty(2);
        for i in all.iter().rev() {
            one_by_one.add(&m, &idx, i);
        }
        assert_eq!(at_once, one_by_one);
        // Replacing and removing are exact too.
        let mut moved = all[3].clone();
        moved.position = [0.05, 14.1];
        let changed = one_by_one.add(&m, &idx, &moved);
        assert!(changed.contains(&1));
        let mut expect = all.clone();
        expect[3] = moved;
        assert_eq!(one_by_one, RiskField::compute(&m, &idx, 2, &expect));
        one_by_one.remove(3);
        expect.remove(3);
        assert_eq!(one_by_one, RiskField::compute(&m, &idx, 2, &expect));
    }

    #[test]
    fn contributions_name_the_incidents_behind_a_segment() {
        let g = two_roads();
        let idx = SegmentIndex::new(&g);
        let m = RiskModel::default();
        let mut far = incident(2, 0.05, 14.1);
        far.fatalities = 10;
        let f = RiskField::compute(&m, &idx, 2, &[incident(1, 0.05, 14.0), far]);
        let c = f.contributions(&[0]);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].0, c[0].1), (1, 0));
        assert_eq!(f.contributions(&[0, 1])[0].0, 2, "largest first");
    }

    #[test]
    fn nearest_segment_in_metres() {
        let g = two_roads();
        let idx = SegmentIndex::new(&g);
        let (s, d) = idx.nearest([0.05, 14.07]).unwrap();
        assert_eq!(s, 1);
        assert!((d - 3_336.0).abs() < 10.0, "{d}");
    }
}
