//! Road polylines to a [`RoadGraph`]: the one place where lines become nodes
//! and segments, whether they come from OpenStreetMap ways (`osm`) or GeoJSON
//! lines (`lines`).
//!
//! # Noding
//!
//! Every point is put on a grid of 1e-7 degrees (about 1 cm), and two points
//! are the same place when their grid cells are equal. A graph node is made at
//! each end of a line and at each point that occurs more than once (shared by
//! two lines, or visited twice by one, as a loop does); each line is cut at its
//! nodes into segments. Lines that cross without a shared point do not meet:
//! that is a bridge or a tunnel as often as a missing vertex.
//!
//! # Snapping
//!
//! Road files digitised by hand (rather than noded like OpenStreetMap) leave
//! gaps: a track that stops 8 m short of the road it joins. With a snapping
//! tolerance, each dead end (a node of degree 1) is joined to the nearest
//! point, within the tolerance, of a segment other than its own, found with an
//! R-tree of segment pieces and measured in metres by
//! [`point_segment_m`]. The end then joins the nearer end node of that
//! segment when that node is itself within the tolerance of the dead end (so
//! two dead ends within the tolerance of each other become one junction, and
//! no sliver segments are made); otherwise the segment is split at the nearest
//! point, which becomes a new node. The dead end's segment gains the gap as a
//! straight last piece: its own shape is kept.
//!
//! When the dead end's own road passes nearer to that point than the end
//! itself, the end is not a gap: either the road overshoots the other one
//! (crosses it without a shared point, then stops within the tolerance), and
//! it is cut back to the crossing, which becomes the junction; or it is a
//! short stub beside a junction it already has, and it is left alone (joining
//! it would add a shortcut). Dead ends are taken in node order and the graph
//! is updated after each one, so the result depends only on the input order.

use std::collections::BTreeMap;

use rstar::{AABB, RTree, RTreeObject};
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::graph::{
    EARTH_RADIUS_M, LonLat, RoadClass, RoadGraph, Segment, SpeedProfile, haversine_m,
    point_segment_m, polyline_m,
};
use crate::osm::OsmReport;

/// Grid cells per degree: points closer than this are one place.
const GRID: f64 = 1e7;

/// A point's grid cell, the identity of a place.
type Key = (i64, i64);

fn key(p: LonLat) -> Key {
    ((p[0] * GRID).round() as i64, (p[1] * GRID).round() as i64)
}

fn from_key(k: Key) -> LonLat {
    [k.0 as f64 / GRID, k.1 as f64 / GRID]
}

fn valid(p: LonLat) -> bool {
    p[0].is_finite()
        && p[1].is_finite()
        && (-180.0..=180.0).contains(&p[0])
        && (-90.0..=90.0).contains(&p[1])
}

/// What a build did, for the import log and the API.
///
/// Counts that belong to one source only are in `osm` (absent for GeoJSON
/// lines); the snapping counts are 0 when no tolerance was given.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BuildReport {
    /// Lines given to [`GraphBuilder::add_line`].
    pub lines_read: u64,
    /// Lines that became part of the graph.
    pub lines_kept: u64,
    /// Lines refused, in total and by reason: `too_short` (fewer than two
    /// distinct points) and `bad_coordinates` (not finite, or outside
    /// -180..180 / -90..90).
    pub lines_dropped: u64,
    pub lines_dropped_by_reason: BTreeMap<String, u64>,
    pub nodes: u64,
    pub segments: u64,
    /// Junctions: nodes where two or more lines meet. That is a node with
    /// segment ends from at least two different input lines (two ways that
    /// continue each other count), or with three or more segment ends of one
    /// line (a line that crosses itself). Dead ends and the closing node of a
    /// lone ring are not junctions.
    pub junctions: u64,
    /// Junctions already present from shared coordinates, before snapping.
    pub junctions_from_shared_coordinates: u64,
    /// Junctions added by snapping (`junctions` less those above).
    pub junctions_from_snapping: u64,
    /// The snapping tolerance (m), if any.
    pub snap_m: Option<f64>,
    /// Dead ends joined to another road by snapping.
    pub snapped_ends: u64,
    /// Nodes of degree 1 before snapping.
    pub dangling_ends_before_snapping: u64,
    /// Nodes of degree 1 in the graph built (dead ends).
    pub dangling_ends: u64,
    /// Total road length (km, rounded to 0.1).
    pub km_total: f64,
    /// Road length by class (km, rounded to 0.1); classes absent have no key.
    pub km_by_class: BTreeMap<String, f64>,
    pub oneway_segments: u64,
    /// Connected components, ignoring one-way rules.
    pub components: u64,
    pub largest_component_nodes: u64,
    /// OpenStreetMap counts; `None` for other sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub osm: Option<OsmReport>,
}

/// One input line, cleaned.
#[derive(Debug, Clone)]
struct Line {
    points: Vec<LonLat>,
    class: RoadClass,
    oneway: bool,
    name: u32,
    speed_kmh: f64,
}

/// A segment while the graph is being built: its own shape, and the line it
/// came from (which decides whether a node is a junction).
#[derive(Debug, Clone)]
struct WorkSeg {
    from: u32,
    to: u32,
    pts: Vec<LonLat>,
    line: u32,
}

/// Collects road lines, then makes one [`RoadGraph`] of them.
#[derive(Debug, Clone)]
pub struct GraphBuilder {
    profile: SpeedProfile,
    lines: Vec<Line>,
    names: Vec<String>,
    name_ids: FxHashMap<String, u32>,
    lines_read: u64,
    dropped: BTreeMap<String, u64>,
}

impl GraphBuilder {
    pub fn new(profile: SpeedProfile) -> Self {
        GraphBuilder {
            profile,
            lines: Vec::new(),
            names: vec![String::new()],
            name_ids: FxHashMap::default(),
            lines_read: 0,
            dropped: BTreeMap::new(),
        }
    }

    /// Adds a road drawn from `points[0]` to its last point (the direction a
    /// one-way road is driven). Points are put on the 1e-7 degree grid and
    /// repeated consecutive points dropped; a line left with fewer than two
    /// points, or with a point that is not a valid position, is counted as
    /// dropped. Its speed is the profile's for `class`, or `maxspeed_kmh` if
    /// that is lower (values that are not positive are ignored).
    pub fn add_line(
        &mut self,
        points: &[LonLat],
        class: RoadClass,
        oneway: bool,
        name: Option<&str>,
        maxspeed_kmh: Option<f64>,
    ) {
        self.lines_read += 1;
        if !points.iter().all(|&p| valid(p)) {
            *self.dropped.entry("bad_coordinates".into()).or_default() += 1;
            return;
        }
        let mut pts: Vec<LonLat> = Vec::with_capacity(points.len());
        let mut last = None;
        for &p in points {
            let k = key(p);
            if last != Some(k) {
                pts.push(from_key(k));
                last = Some(k);
            }
        }
        if pts.len() < 2 {
            *self.dropped.entry("too_short".into()).or_default() += 1;
            return;
        }
        let mut speed_kmh = self.profile.speed(class);
        if let Some(m) = maxspeed_kmh.filter(|m| m.is_finite() && *m > 0.0) {
            speed_kmh = speed_kmh.min(m);
        }
        let name = self.intern(name.unwrap_or(""));
        self.lines.push(Line {
            points: pts,
            class,
            oneway,
            name,
            speed_kmh,
        });
    }

    fn intern(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.name_ids.insert(name.to_owned(), id);
        id
    }

    /// Lines added so far (not counting dropped ones).
    pub fn lines(&self) -> usize {
        self.lines.len()
    }

    /// Nodes the lines, snaps dead ends within `snap_m` metres of another road
    /// if asked (see the module docs), and returns the graph with its report.
    /// A tolerance that is not a positive number means no snapping.
    pub fn build(self, snap_m: Option<f64>) -> (RoadGraph, BuildReport) {
        let GraphBuilder {
            lines,
            names,
            lines_read,
            dropped,
            ..
        } = self;
        let snap_m = snap_m.filter(|t| t.is_finite() && *t > 0.0);

        // Places met more than once are nodes, as are line ends.
        let mut seen: FxHashMap<Key, u32> = FxHashMap::default();
        for line in &lines {
            for &p in &line.points {
                *seen.entry(key(p)).or_default() += 1;
            }
        }
        let mut net = Net::default();
        for (li, line) in lines.iter().enumerate() {
            let pts = &line.points;
            let last = pts.len() - 1;
            let mut start = 0;
            let mut start_node = net.node_at(pts[0]);
            for i in 1..=last {
                if i == last || seen[&key(pts[i])] >= 2 {
                    let end_node = net.node_at(pts[i]);
                    net.push_seg(WorkSeg {
                        from: start_node,
                        to: end_node,
                        pts: pts[start..=i].to_vec(),
                        line: li as u32,
                    });
                    start = i;
                    start_node = end_node;
                }
            }
        }
        drop(seen);

        let junctions_before = net.junctions();
        let dangling_before = net.dangling();
        let snapped_ends = snap_m.map_or(0, |tol| net.snap(tol));

        // Zero-length loops lead nowhere; nodes left without segments go.
        net.segs
            .retain(|s| !(s.from == s.to && polyline_m(&s.pts) == 0.0));
        let junctions = net.junctions();
        let dangling = net.dangling();
        let mut new_id = vec![u32::MAX; net.nodes.len()];
        for s in &net.segs {
            new_id[s.from as usize] = 0;
            new_id[s.to as usize] = 0;
        }
        let mut nodes = Vec::new();
        for (old, id) in new_id.iter_mut().enumerate() {
            if *id == 0 {
                *id = nodes.len() as u32;
                nodes.push(net.nodes[old]);
            }
        }

        let mut graph = RoadGraph {
            nodes,
            segments: Vec::new(),
            points: Vec::new(),
            names,
        };
        let mut m_by_class: BTreeMap<RoadClass, f64> = BTreeMap::new();
        for s in &net.segs {
            let line = &lines[s.line as usize];
            let start = graph.points.len() as u32;
            graph.points.extend_from_slice(&s.pts);
            let length_m = polyline_m(&s.pts);
            *m_by_class.entry(line.class).or_default() += length_m;
            graph.segments.push(Segment {
                from: new_id[s.from as usize],
                to: new_id[s.to as usize],
                class: line.class,
                oneway: line.oneway,
                length_m,
                speed_kmh: line.speed_kmh,
                name: line.name,
                shape: (start, graph.points.len() as u32),
            });
        }

        let (components, largest) = components(&graph);
        let round = |m: f64| (m / 100.0).round() / 10.0;
        let report = BuildReport {
            lines_read,
            lines_kept: lines.len() as u64,
            lines_dropped: dropped.values().sum(),
            lines_dropped_by_reason: dropped,
            nodes: graph.nodes.len() as u64,
            segments: graph.segments.len() as u64,
            junctions,
            junctions_from_shared_coordinates: junctions_before,
            junctions_from_snapping: junctions.saturating_sub(junctions_before),
            snap_m,
            snapped_ends,
            dangling_ends_before_snapping: dangling_before,
            dangling_ends: dangling,
            km_total: round(m_by_class.values().sum()),
            km_by_class: m_by_class
                .iter()
                .map(|(c, m)| (c.as_str().to_owned(), round(*m)))
                .collect(),
            oneway_segments: graph.segments.iter().filter(|s| s.oneway).count() as u64,
            components,
            largest_component_nodes: largest,
            osm: None,
        };
        (graph, report)
    }
}

/// Connected components of the graph, one-way rules ignored: how many, and
/// the node count of the largest.
fn components(g: &RoadGraph) -> (u64, u64) {
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }
    let mut parent: Vec<u32> = (0..g.nodes.len() as u32).collect();
    for s in &g.segments {
        let (a, b) = (find(&mut parent, s.from), find(&mut parent, s.to));
        if a != b {
            parent[a.max(b) as usize] = a.min(b);
        }
    }
    let mut size = vec![0u64; g.nodes.len()];
    for n in 0..g.nodes.len() as u32 {
        size[find(&mut parent, n) as usize] += 1;
    }
    let count = size.iter().filter(|&&s| s > 0).count() as u64;
    (count, size.iter().copied().max().unwrap_or(0))
}

/// One straight piece of a segment's shape, as the snapping R-tree holds it.
/// `generation` goes stale when the segment is reshaped: stale pieces are
/// skipped rather than removed.
#[derive(Debug, Clone, PartialEq)]
struct Piece {
    seg: u32,
    generation: u32,
    index: u32,
    a: LonLat,
    b: LonLat,
}

impl RTreeObject for Piece {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.a, self.b)
    }
}

/// Where a dead end is joined.
enum Target {
    Node(u32),
    /// Split segment `seg` in its piece `piece` at `at`, and join the dead end
    /// to the new node there.
    Split {
        seg: u32,
        piece: usize,
        at: LonLat,
    },
    /// The dead end lies on segment `seg` itself (no vertex there): split the
    /// segment at the dead end's node.
    SplitAtEnd {
        seg: u32,
        piece: usize,
    },
}

/// The network while it is built: nodes with the segment ends at each.
#[derive(Debug, Default)]
struct Net {
    nodes: Vec<LonLat>,
    node_of: FxHashMap<Key, u32>,
    segs: Vec<WorkSeg>,
    /// Segments ending at each node; a loop is listed twice.
    incident: Vec<Vec<u32>>,
}

impl Net {
    fn node_at(&mut self, p: LonLat) -> u32 {
        let k = key(p);
        if let Some(&n) = self.node_of.get(&k) {
            return n;
        }
        let n = self.nodes.len() as u32;
        self.nodes.push(from_key(k));
        self.node_of.insert(k, n);
        self.incident.push(Vec::new());
        n
    }

    fn push_seg(&mut self, s: WorkSeg) -> u32 {
        let id = self.segs.len() as u32;
        self.incident[s.from as usize].push(id);
        self.incident[s.to as usize].push(id);
        self.segs.push(s);
        id
    }

    /// Junctions as [`BuildReport::junctions`] defines them.
    fn junctions(&self) -> u64 {
        let n = self.nodes.len();
        let mut ends = vec![0u32; n];
        let mut line = vec![u32::MAX; n];
        let mut lines_meet = vec![false; n];
        for s in &self.segs {
            for v in [s.from as usize, s.to as usize] {
                ends[v] += 1;
                if line[v] == u32::MAX {
                    line[v] = s.line;
                } else if line[v] != s.line {
                    lines_meet[v] = true;
                }
            }
        }
        (0..n).filter(|&v| ends[v] >= 3 || lines_meet[v]).count() as u64
    }

    fn dangling(&self) -> u64 {
        let mut ends = vec![0u32; self.nodes.len()];
        for s in &self.segs {
            ends[s.from as usize] += 1;
            ends[s.to as usize] += 1;
        }
        ends.iter().filter(|&&e| e == 1).count() as u64
    }

    fn pieces(&self, seg: u32, generation: u32) -> impl Iterator<Item = Piece> + '_ {
        self.segs[seg as usize]
            .pts
            .windows(2)
            .enumerate()
            .map(move |(i, w)| Piece {
                seg,
                generation,
                index: i as u32,
                a: w[0],
                b: w[1],
            })
    }

    /// Joins dead ends to the nearest other road within `tol` metres (see
    /// the module docs); returns how many were joined.
    fn snap(&mut self, tol: f64) -> u64 {
        let mut generation = vec![0u32; self.segs.len()];
        let all: Vec<Piece> = (0..self.segs.len() as u32)
            .flat_map(|s| self.pieces(s, 0))
            .collect();
        let mut tree = RTree::bulk_load(all);
        let dead_ends: Vec<u32> = (0..self.nodes.len() as u32)
            .filter(|&n| self.incident[n as usize].len() == 1)
            .collect();
        let m_per_deg = EARTH_RADIUS_M.to_radians();
        let mut snapped = 0;
        for d in dead_ends {
            if self.incident[d as usize].len() != 1 {
                continue;
            }
            let own = self.incident[d as usize][0];
            let p = self.nodes[d as usize];
            let own_seg = &self.segs[own as usize];
            let own_other = if own_seg.to == d {
                own_seg.from
            } else {
                own_seg.to
            };

            // A box a little larger than the tolerance, in degrees.
            let dlat = tol / m_per_deg * 1.01;
            let dlon = dlat / p[1].to_radians().cos().max(1e-6);
            let window = AABB::from_corners([p[0] - dlon, p[1] - dlat], [p[0] + dlon, p[1] + dlat]);
            let mut candidates: Vec<(f64, u32, u32, f64)> = tree
                .locate_in_envelope_intersecting(&window)
                .filter(|pc| pc.seg != own && pc.generation == generation[pc.seg as usize])
                .filter_map(|pc| {
                    let (dist, t) = point_segment_m(p, pc.a, pc.b);
                    (dist <= tol).then_some((dist, pc.seg, pc.index, t))
                })
                .collect();
            candidates.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));

            for (dist, seg, piece, t) in candidates {
                let s = &self.segs[seg as usize];
                let (a, b) = (s.pts[piece as usize], s.pts[piece as usize + 1]);
                let q = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
                let own_pts = &self.segs[own as usize].pts;
                let d_own = own_pts
                    .windows(2)
                    .map(|w| point_segment_m(q, w[0], w[1]).0)
                    .fold(f64::INFINITY, f64::min);
                if d_own < 0.5 * dist {
                    // An overshoot is joined where it crosses; a stub is left.
                    let Some((x, trim, piece)) = self.crossing(own, d, seg, tol) else {
                        continue;
                    };
                    let n = match self.node_of.get(&key(x)) {
                        Some(&n) if n == d || n == own_other => continue,
                        Some(&n) => n,
                        None => self.split_indexed(seg, piece, x, &mut tree, &mut generation),
                    };
                    self.trim_end(own, d, trim, n);
                    generation[own as usize] += 1;
                    for pc in self.pieces(own, generation[own as usize]) {
                        tree.insert(pc);
                    }
                    snapped += 1;
                    break;
                }
                let target = if let Some(&n) = self.node_of.get(&key(q)) {
                    if n == d {
                        Target::SplitAtEnd {
                            seg,
                            piece: piece as usize,
                        }
                    } else {
                        Target::Node(n)
                    }
                } else {
                    let (na, nb) = (s.from, s.to);
                    let (da, db) = (
                        haversine_m(p, self.nodes[na as usize]),
                        haversine_m(p, self.nodes[nb as usize]),
                    );
                    let (n, dn) = if da <= db { (na, da) } else { (nb, db) };
                    if dn <= tol {
                        Target::Node(n)
                    } else {
                        Target::Split {
                            seg,
                            piece: piece as usize,
                            at: q,
                        }
                    }
                };
                if let Target::Node(n) = target
                    && (n == d || n == own_other)
                {
                    continue;
                }
                let n = match target {
                    Target::Node(n) => n,
                    Target::Split { seg, piece, at } => {
                        self.split_indexed(seg, piece, at, &mut tree, &mut generation)
                    }
                    Target::SplitAtEnd { seg, piece } => {
                        self.split_indexed(seg, piece, p, &mut tree, &mut generation);
                        snapped += 1;
                        break;
                    }
                };
                self.join_end(own, d, n);
                generation[own as usize] += 1;
                for pc in self.pieces(own, generation[own as usize]) {
                    tree.insert(pc);
                }
                snapped += 1;
                break;
            }
        }
        snapped
    }

    /// [`Net::split`], keeping the R-tree up to date; returns the node.
    fn split_indexed(
        &mut self,
        seg: u32,
        piece: usize,
        at: LonLat,
        tree: &mut RTree<Piece>,
        generation: &mut Vec<u32>,
    ) -> u32 {
        let (n, second) = self.split(seg, piece, at);
        generation[seg as usize] += 1;
        generation.push(0);
        let pieces: Vec<Piece> = self
            .pieces(seg, generation[seg as usize])
            .chain(self.pieces(second, 0))
            .collect();
        for pc in pieces {
            tree.insert(pc);
        }
        n
    }

    /// Splits segment `seg` at `at`, a point of its piece `piece`, into two
    /// segments of the same road; returns the new node and the new segment
    /// (the second half; the first half keeps the id).
    fn split(&mut self, seg: u32, piece: usize, at: LonLat) -> (u32, u32) {
        let k = key(at);
        let at = from_key(k);
        let s = &mut self.segs[seg as usize];
        let pts = std::mem::take(&mut s.pts);
        let (first, second) = if key(pts[piece]) == k {
            (pts[..=piece].to_vec(), pts[piece..].to_vec())
        } else if key(pts[piece + 1]) == k {
            (pts[..=piece + 1].to_vec(), pts[piece + 1..].to_vec())
        } else {
            let mut first = pts[..=piece].to_vec();
            first.push(at);
            let mut second = vec![at];
            second.extend_from_slice(&pts[piece + 1..]);
            (first, second)
        };
        let old_to = s.to;
        let line = s.line;
        s.pts = first;
        let n = self.node_at(at);
        self.segs[seg as usize].to = n;
        let second_id = self.segs.len() as u32;
        self.segs.push(WorkSeg {
            from: n,
            to: old_to,
            pts: second,
            line,
        });
        let ends = &mut self.incident[old_to as usize];
        if let Some(slot) = ends.iter_mut().find(|e| **e == seg) {
            *slot = second_id;
        }
        self.incident[n as usize].extend([seg, second_id]);
        (n, second_id)
    }

    /// Where the last `tol` metres of segment `own`, walked back from its
    /// dead end `d`, first cross segment `other`: the crossing, how many
    /// pieces of `own` (counted from `d`) lie wholly beyond it, and the piece
    /// of `other` it is on. A crossing at the far node of `own` does not
    /// count (that is a stub beside its own junction).
    fn crossing(&self, own: u32, d: u32, other: u32, tol: f64) -> Option<(LonLat, usize, usize)> {
        let o = &self.segs[own as usize];
        let far = if o.to == d { o.from } else { o.to };
        let mut pts = o.pts.clone();
        if o.to == d {
            pts.reverse();
        }
        let other_pts = &self.segs[other as usize].pts;
        let mut walked = 0.0;
        for (k, w) in pts.windows(2).enumerate() {
            let nearest = other_pts
                .windows(2)
                .enumerate()
                .filter_map(|(j, v)| intersection(w[0], w[1], v[0], v[1]).map(|(u, x)| (u, x, j)))
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
            if let Some((_, x, j)) = nearest {
                let ok =
                    walked + haversine_m(w[0], x) <= tol && key(x) != key(self.nodes[far as usize]);
                return ok.then_some((x, k, j));
            }
            walked += haversine_m(w[0], w[1]);
            if walked > tol {
                break;
            }
        }
        None
    }

    /// Cuts segment `seg` back from its dead end `d` to node `n`, where it
    /// crosses another road: the `trim` pieces beyond the crossing go, and
    /// the piece it crosses in is cut there.
    fn trim_end(&mut self, seg: u32, d: u32, trim: usize, n: u32) {
        let at = self.nodes[n as usize];
        let s = &mut self.segs[seg as usize];
        let len = s.pts.len();
        if s.to == d {
            s.pts.truncate(len - 1 - trim);
            if s.pts.last().is_some_and(|&p| key(p) == key(at)) {
                s.pts.pop();
            }
            s.pts.push(at);
            s.to = n;
        } else {
            let mut pts = vec![at];
            pts.extend(
                s.pts[trim + 1..]
                    .iter()
                    .copied()
                    .skip_while(|&p| key(p) == key(at)),
            );
            s.pts = pts;
            s.from = n;
        }
        self.incident[d as usize].clear();
        self.incident[n as usize].push(seg);
    }

    /// Moves the dead end `d` of segment `seg` to node `n`, drawing the gap
    /// as a straight piece.
    fn join_end(&mut self, seg: u32, d: u32, n: u32) {
        let to = self.nodes[n as usize];
        let s = &mut self.segs[seg as usize];
        if s.to == d {
            s.pts.push(to);
            s.to = n;
        } else {
            s.pts.insert(0, to);
            s.from = n;
        }
        self.incident[d as usize].clear();
        self.incident[n as usize].push(seg);
    }
}

/// Where the straight pieces `a`-`b` and `c`-`e` cross: the fraction along
/// `a`-`b` and the point. Fractions are those of any affine projection, so
/// degrees serve as well as metres; parallel pieces do not cross.
fn intersection(a: LonLat, b: LonLat, c: LonLat, e: LonLat) -> Option<(f64, LonLat)> {
    let cross = |p: [f64; 2], q: [f64; 2]| p[0] * q[1] - p[1] * q[0];
    let r = [b[0] - a[0], b[1] - a[1]];
    let s = [e[0] - c[0], e[1] - c[1]];
    let denom = cross(r, s);
    if denom == 0.0 {
        return None;
    }
    let ac = [c[0] - a[0], c[1] - a[1]];
    let (u, v) = (cross(ac, s) / denom, cross(ac, r) / denom);
    ((0.0..=1.0).contains(&u) && (0.0..=1.0).contains(&v))
        .then(|| (u, [a[0] + u * r[0], a[1] + u * r[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// About 1 m in degrees of latitude (and of longitude at the equator).
    const M: f64 = 1.0 / 111_195.0;

    fn builder() -> GraphBuilder {
        GraphBuilder::new(SpeedProfile::default())
    }

    fn add(b: &mut GraphBuilder, pts: &[LonLat]) {
        b.add_line(pts, RoadClass::Secondary, false, None, None);
    }

    #[test]
    fn two_lines_crossing_at_a_shared_vertex_make_one_junction_and_four_segments() {
        let mut b = builder();
        add(&mut b, &[[-0.01, 0.0], [0.0, 0.0], [0.01, 0.0]]);
        add(&mut b, &[[0.0, -0.01], [0.0, 0.0], [0.0, 0.01]]);
        let (g, r) = b.build(None);
        g.validate().unwrap();
        assert_eq!(
            (r.nodes, r.segments, r.junctions, r.dangling_ends),
            (5, 4, 1, 4)
        );
        assert_eq!(r.junctions_from_shared_coordinates, 1);
        assert_eq!((r.components, r.largest_component_nodes), (1, 5));
        for s in &g.segments {
            assert!((s.length_m - 1_112.0).abs() < 2.0, "{}", s.length_m);
            let shape = g.shape(s);
            assert_eq!(shape[0], g.nodes[s.from as usize]);
            assert_eq!(*shape.last().unwrap(), g.nodes[s.to as usize]);
        }
        assert_eq!(r.km_by_class["secondary"], 4.4);
    }

    /// A road along the equator and a track stopping 5 m short of it.
    fn t_junction(b: &mut GraphBuilder) {
        add(b, &[[-0.002, 0.0], [0.002, 0.0]]);
        add(b, &[[0.0, 0.002], [0.0, 5.0 * M]]);
    }

    #[test]
    fn a_gap_of_5_m_is_left_open_without_snapping() {
        let mut b = builder();
        t_junction(&mut b);
        let (g, r) = b.build(None);
        g.validate().unwrap();
        assert_eq!(
            (r.nodes, r.segments, r.junctions, r.dangling_ends),
            (4, 2, 0, 4)
        );
        assert_eq!((r.components, r.snapped_ends), (2, 0));
    }

    #[test]
    fn a_gap_of_5_m_is_joined_by_snapping_at_10_m_and_the_road_is_split() {
        let mut b = builder();
        t_junction(&mut b);
        let (g, r) = b.build(Some(10.0));
        g.validate().unwrap();
        assert_eq!(
            (r.nodes, r.segments, r.junctions, r.dangling_ends),
            (4, 3, 1, 3)
        );
        assert_eq!(
            (
                r.junctions_from_shared_coordinates,
                r.junctions_from_snapping
            ),
            (0, 1)
        );
        assert_eq!((r.dangling_ends_before_snapping, r.snapped_ends), (4, 1));
        assert_eq!((r.components, r.largest_component_nodes), (1, 4));
        // The road's two halves keep its length; the track gains the 5 m gap.
        let total: f64 = g.segments.iter().map(|s| s.length_m).sum();
        assert!((total - (444.8 + 222.4)).abs() < 1.0, "{total}");
        let junction = g
            .nodes
            .iter()
            .position(|n| n[0] == 0.0 && n[1] == 0.0)
            .unwrap() as u32;
        let ends = g
            .segments
            .iter()
            .filter(|s| s.from == junction || s.to == junction)
            .count();
        assert_eq!(ends, 3);
        // A 4 m tolerance leaves the gap.
        let mut b = builder();
        t_junction(&mut b);
        assert_eq!(b.build(Some(4.0)).1.snapped_ends, 0);
    }

    #[test]
    fn two_dead_ends_within_the_tolerance_become_one_junction() {
        let mut b = builder();
        add(&mut b, &[[-0.002, 0.0], [-3.0 * M, 0.0]]);
        add(&mut b, &[[0.002, 0.0], [3.0 * M, 0.0]]);
        let (g, r) = b.build(Some(10.0));
        g.validate().unwrap();
        assert_eq!(
            (r.nodes, r.segments, r.junctions, r.dangling_ends),
            (3, 2, 1, 2)
        );
        assert_eq!(r.components, 1);
    }

    #[test]
    fn an_overshoot_stub_is_not_snapped_back_to_its_own_junction() {
        // The track crosses the road at a shared vertex and runs on 3 m.
        let mut b = builder();
        add(&mut b, &[[-0.002, 0.0], [0.0, 0.0], [0.002, 0.0]]);
        add(&mut b, &[[0.0, 0.002], [0.0, 0.0], [0.0, -3.0 * M]]);
        let (g, r) = b.build(Some(10.0));
        g.validate().unwrap();
        assert_eq!((r.segments, r.snapped_ends, r.dangling_ends), (4, 0, 4));
        assert!(g.segments.iter().all(|s| s.from != s.to));
    }

    #[test]
    fn an_overshoot_without_a_shared_vertex_is_cut_back_to_the_crossing() {
        for reversed in [false, true] {
            let mut b = builder();
            add(&mut b, &[[-0.002, 0.0], [0.002, 0.0]]);
            let mut track = vec![[0.0, 0.002], [0.0, 0.001], [0.0, -6.0 * M]];
            if reversed {
                track.reverse();
            }
            add(&mut b, &track);
            let (g, r) = b.build(Some(10.0));
            g.validate().unwrap();
            assert_eq!(
                (r.nodes, r.segments, r.junctions, r.dangling_ends),
                (4, 3, 1, 3)
            );
            assert_eq!(r.snapped_ends, 1);
            // The 6 m beyond the road are gone; the road keeps its length.
            assert!(
                (g.length_km() - (0.4448 + 0.2224)).abs() < 0.0005,
                "{}",
                g.length_km()
            );
            let crossing = g
                .nodes
                .iter()
                .position(|n| n[0] == 0.0 && n[1] == 0.0)
                .unwrap();
            let ends = g
                .segments
                .iter()
                .filter(|s| s.from as usize == crossing || s.to as usize == crossing);
            assert_eq!(ends.count(), 3);
            assert!(g.segments.iter().all(|s| s.shape.1 - s.shape.0 >= 2));
        }
    }

    #[test]
    fn a_loop_line_is_one_self_loop_segment_and_a_lollipop_is_split_where_it_closes() {
        let ring = [[0.0, 0.0], [0.001, 0.0], [0.001, 0.001], [0.0, 0.0]];
        let mut b = builder();
        add(&mut b, &ring);
        let (g, r) = b.build(Some(10.0));
        g.validate().unwrap();
        assert_eq!(
            (r.nodes, r.segments, r.junctions, r.dangling_ends),
            (1, 1, 0, 0)
        );
        assert!(g.segments[0].length_m > 300.0);

        // A stem then a ring that comes back to the stem's end.
        let mut b = builder();
        add(
            &mut b,
            &[
                [-0.001, 0.0],
                [0.0, 0.0],
                [0.001, 0.0],
                [0.001, 0.001],
                [0.0, 0.0],
            ],
        );
        let (g, r) = b.build(None);
        g.validate().unwrap();
        assert_eq!(
            (r.nodes, r.segments, r.junctions, r.dangling_ends),
            (2, 2, 1, 1)
        );
    }

    #[test]
    fn repeated_points_are_dropped_and_short_lines_counted() {
        let mut b = builder();
        add(
            &mut b,
            &[
                [0.0, 0.0],
                [0.0, 0.0],
                [0.001, 0.0],
                [0.001, 0.0],
                [0.001, 0.00000001],
            ],
        );
        add(&mut b, &[[1.0, 1.0], [1.0, 1.0]]);
        add(&mut b, &[[1.0, 1.0]]);
        add(&mut b, &[[f64::NAN, 1.0], [1.0, 1.0]]);
        add(&mut b, &[[1.0, 95.0], [1.0, 1.0]]);
        let (g, r) = b.build(None);
        g.validate().unwrap();
        assert_eq!(g.points.len(), 2);
        assert_eq!((r.lines_read, r.lines_kept, r.lines_dropped), (5, 1, 4));
        assert_eq!(r.lines_dropped_by_reason["too_short"], 2);
        assert_eq!(r.lines_dropped_by_reason["bad_coordinates"], 2);
    }

    #[test]
    fn oneway_name_and_maxspeed_are_kept_on_every_piece() {
        let mut b = builder();
        b.add_line(
            &[[-0.01, 0.0], [0.0, 0.0], [0.01, 0.0]],
            RoadClass::Primary,
            true,
            Some("RN1"),
            Some(40.0),
        );
        b.add_line(
            &[[0.0, -0.01], [0.0, 0.0]],
            RoadClass::Track,
            false,
            Some(""),
            Some(0.0),
        );
        let (g, r) = b.build(None);
        g.validate().unwrap();
        assert_eq!(r.oneway_segments, 2);
        assert_eq!(g.names, vec!["".to_string(), "RN1".to_string()]);
        for s in &g.segments {
            if s.class == RoadClass::Primary {
                assert!(s.oneway && s.speed_kmh == 40.0 && g.name(s) == Some("RN1"));
                assert!(g.nodes[s.from as usize][0] < g.nodes[s.to as usize][0]);
            } else {
                assert!(!s.oneway && s.speed_kmh == 20.0 && g.name(s).is_none());
            }
        }
        // Two directions for each two-way segment, one for each one-way one.
        assert_eq!(g.arcs().len(), 4);
    }

    #[test]
    fn snapping_a_one_way_road_splits_it_into_two_one_way_halves() {
        let mut b = builder();
        b.add_line(
            &[[-0.002, 0.0], [0.002, 0.0]],
            RoadClass::Primary,
            true,
            Some("RN1"),
            None,
        );
        add(&mut b, &[[0.0, 0.002], [0.0, 5.0 * M]]);
        let (g, r) = b.build(Some(10.0));
        g.validate().unwrap();
        assert_eq!(r.oneway_segments, 2);
        let halves: Vec<&Segment> = g
            .segments
            .iter()
            .filter(|s| s.class == RoadClass::Primary)
            .collect();
        assert_eq!(halves.len(), 2);
        assert_eq!(halves[0].to, halves[1].from);
        assert!(
            halves
                .iter()
                .all(|s| g.name(s) == Some("RN1") && s.speed_kmh == 60.0)
        );
        assert!((halves[0].length_m + halves[1].length_m - 444.8).abs() < 0.5);
    }

    #[test]
    fn the_same_lines_in_the_same_order_make_the_same_graph() {
        let make = || {
            let mut b = builder();
            for i in 0..20 {
                let x = i as f64 * 0.001;
                add(&mut b, &[[x, 0.0], [x, 0.01], [x + 0.0005, 0.02]]);
                add(
                    &mut b,
                    &[[x - 0.002, 0.005 + 3.0 * M], [x + 0.0001, 0.005 - 2.0 * M]],
                );
            }
            b.build(Some(15.0))
        };
        let (g1, r1) = make();
        let (g2, r2) = make();
        g1.validate().unwrap();
        assert_eq!(g1, g2);
        assert_eq!(r1, r2);
        assert!(r1.snapped_ends > 0);
    }

    #[test]
    fn snapping_random_lines_keeps_every_shape_running_from_node_to_node() {
        use rand::{Rng, SeedableRng};
        for seed in 0..20 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut b = builder();
            for _ in 0..60 {
                let n = rng.random_range(2..6);
                let mut p = [rng.random_range(0.0..0.01), rng.random_range(0.0..0.01)];
                let mut line = vec![p];
                for _ in 1..n {
                    p = [
                        p[0] + rng.random_range(-0.002..0.002),
                        p[1] + rng.random_range(-0.002..0.002),
                    ];
                    line.push(p);
                }
                b.add_line(&line, RoadClass::Track, rng.random_bool(0.2), None, None);
            }
            let (plain, before) = b.clone().build(None);
            let (g, r) = b.build(Some(40.0));
            for graph in [&plain, &g] {
                graph.validate().unwrap();
                for s in &graph.segments {
                    let shape = graph.shape(s);
                    assert_eq!(shape[0], graph.nodes[s.from as usize], "seed {seed}");
                    assert_eq!(
                        *shape.last().unwrap(),
                        graph.nodes[s.to as usize],
                        "seed {seed}"
                    );
                    assert!(
                        shape.windows(2).all(|w| key(w[0]) != key(w[1])),
                        "seed {seed}"
                    );
                    assert!((s.length_m - polyline_m(shape)).abs() < 1e-9);
                }
            }
            assert!(r.dangling_ends <= before.dangling_ends, "seed {seed}");
            assert!(r.components <= before.components, "seed {seed}");
            assert_eq!(r.dangling_ends_before_snapping, before.dangling_ends);
        }
    }

    #[test]
    fn an_empty_builder_makes_an_empty_graph() {
        let (g, r) = builder().build(Some(10.0));
        assert!(g.nodes.is_empty() && g.segments.is_empty());
        assert_eq!(g.names, vec![String::new()]);
        assert_eq!((r.components, r.largest_component_nodes), (0, 0));
    }
}
