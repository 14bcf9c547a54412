//! The road graph: junction nodes, road segments between them (each with
//! its shape, class, one-way rule, length and truck speed), and the directed
//! arcs a router walks.
//!
//! A segment is the stretch of one road between two junctions (or a junction
//! and a dead end). Risk is a property of a segment, shared by both of its
//! directions; travel time is a property of a direction (a one-way segment
//! has only its forward arc).

use serde::{Deserialize, Serialize};

/// Mean Earth radius (m), as used by haversine distances everywhere here.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A position, (longitude, latitude) in degrees, as GeoJSON orders them.
pub type LonLat = [f64; 2];

/// Road classes, after OpenStreetMap's `highway=*` (links fold into their
/// parent class). The order is from the most to the least important.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoadClass {
    Motorway,
    Trunk,
    Primary,
    Secondary,
    Tertiary,
    Unclassified,
    Residential,
    LivingStreet,
    Service,
    Track,
}

impl RoadClass {
    pub const ALL: [RoadClass; 10] = [
        RoadClass::Motorway,
        RoadClass::Trunk,
        RoadClass::Primary,
        RoadClass::Secondary,
        RoadClass::Tertiary,
        RoadClass::Unclassified,
        RoadClass::Residential,
        RoadClass::LivingStreet,
        RoadClass::Service,
        RoadClass::Track,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RoadClass::Motorway => "motorway",
            RoadClass::Trunk => "trunk",
            RoadClass::Primary => "primary",
            RoadClass::Secondary => "secondary",
            RoadClass::Tertiary => "tertiary",
            RoadClass::Unclassified => "unclassified",
            RoadClass::Residential => "residential",
            RoadClass::LivingStreet => "living_street",
            RoadClass::Service => "service",
            RoadClass::Track => "track",
        }
    }

    /// The class of an OpenStreetMap `highway=*` value that trucks can drive,
    /// or `None` (footways, cycleways, paths, steps, construction, ...).
    /// `*_link` roads take their parent's class; `road` (unknown type) is
    /// unclassified.
    pub fn from_osm(highway: &str) -> Option<RoadClass> {
        Some(match highway {
            "motorway" | "motorway_link" => RoadClass::Motorway,
            "trunk" | "trunk_link" => RoadClass::Trunk,
            "primary" | "primary_link" => RoadClass::Primary,
            "secondary" | "secondary_link" => RoadClass::Secondary,
            "tertiary" | "tertiary_link" => RoadClass::Tertiary,
            "unclassified" | "road" => RoadClass::Unclassified,
            "residential" => RoadClass::Residential,
            "living_street" => RoadClass::LivingStreet,
            "service" => RoadClass::Service,
            "track" => RoadClass::Track,
            _ => return None,
        })
    }

    pub fn parse(s: &str) -> Option<RoadClass> {
        RoadClass::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for RoadClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Truck speeds per road class (km/h), used where a road carries no usable
/// `maxspeed`. The defaults are for a loaded truck on Sahel roads: paved
/// national roads are driven well under their limits, and laterite tracks at
/// a crawl. Every class can be overridden from a TOML table such as
/// `[speeds] track = 15`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeedProfile {
    pub speeds: Vec<(RoadClass, f64)>,
}

impl Default for SpeedProfile {
    fn default() -> Self {
        SpeedProfile {
            speeds: vec![
                (RoadClass::Motorway, 80.0),
                (RoadClass::Trunk, 70.0),
                (RoadClass::Primary, 60.0),
                (RoadClass::Secondary, 50.0),
                (RoadClass::Tertiary, 40.0),
                (RoadClass::Unclassified, 30.0),
                (RoadClass::Residential, 25.0),
                (RoadClass::LivingStreet, 10.0),
                (RoadClass::Service, 15.0),
                (RoadClass::Track, 20.0),
            ],
        }
    }
}

impl SpeedProfile {
    pub fn speed(&self, class: RoadClass) -> f64 {
        self.speeds
            .iter()
            .find(|(c, _)| *c == class)
            .map(|(_, s)| *s)
            .unwrap_or(20.0)
    }

    /// The default profile with the classes of a TOML document's `[speeds]`
    /// table overridden. Unknown classes and speeds outside 1-200 km/h are
    /// errors naming the key.
    pub fn from_toml(text: &str) -> Result<SpeedProfile, String> {
        let doc: toml::Table = text.parse().map_err(|e| format!("speed profile: {e}"))?;
        let mut profile = SpeedProfile::default();
        for (key, value) in &doc {
            if key != "speeds" {
                return Err(format!(
                    "speed profile: unknown key `{key}` (expected [speeds])"
                ));
            }
            let table = value
                .as_table()
                .ok_or("speed profile: `speeds` must be a table of class = km/h")?;
            for (class, v) in table {
                let c = RoadClass::parse(class).ok_or_else(|| {
                    format!(
                        "speed profile: unknown road class `{class}` (expected one of {})",
                        RoadClass::ALL.map(RoadClass::as_str).join(", ")
                    )
                })?;
                let kmh = v
                    .as_float()
                    .or_else(|| v.as_integer().map(|i| i as f64))
                    .filter(|s| (1.0..=200.0).contains(s))
                    .ok_or_else(|| {
                        format!("speed profile: speeds.{class} = {v} is not a speed of 1-200 km/h")
                    })?;
                for s in &mut profile.speeds {
                    if s.0 == c {
                        s.1 = kmh;
                    }
                }
            }
        }
        Ok(profile)
    }
}

/// One road between two graph nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub from: u32,
    pub to: u32,
    pub class: RoadClass,
    /// Only `from` -> `to` may be driven.
    pub oneway: bool,
    pub length_m: f64,
    /// Truck speed (km/h): the profile's, or the road's own limit if lower.
    pub speed_kmh: f64,
    /// Index into [`RoadGraph::names`]; 0 is "no name".
    pub name: u32,
    /// The shape, `from` first and `to` last: `points[shape.0..shape.1]`.
    pub shape: (u32, u32),
}

impl Segment {
    /// Travel time in seconds.
    pub fn seconds(&self) -> f64 {
        self.length_m / (self.speed_kmh / 3.6)
    }
}

/// A routable road network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoadGraph {
    /// Junctions and dead ends.
    pub nodes: Vec<LonLat>,
    pub segments: Vec<Segment>,
    /// Every segment's shape points, one after the other.
    pub points: Vec<LonLat>,
    /// Road names; `names[0]` is the empty name.
    pub names: Vec<String>,
}

/// A directed arc: one driving direction of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arc {
    pub tail: u32,
    pub head: u32,
    pub segment: u32,
    /// Driven from the segment's `to` towards its `from`.
    pub reverse: bool,
}

impl RoadGraph {
    pub fn shape(&self, s: &Segment) -> &[LonLat] {
        &self.points[s.shape.0 as usize..s.shape.1 as usize]
    }

    pub fn name(&self, s: &Segment) -> Option<&str> {
        self.names
            .get(s.name as usize)
            .map(String::as_str)
            .filter(|n| !n.is_empty())
    }

    /// The directed arcs, sorted by tail: the forward arc of every segment,
    /// and the reverse one of every two-way segment.
    pub fn arcs(&self) -> Vec<Arc> {
        let mut arcs = Vec::with_capacity(self.segments.len() * 2);
        for (i, s) in self.segments.iter().enumerate() {
            arcs.push(Arc {
                tail: s.from,
                head: s.to,
                segment: i as u32,
                reverse: false,
            });
            if !s.oneway {
                arcs.push(Arc {
                    tail: s.to,
                    head: s.from,
                    segment: i as u32,
                    reverse: true,
                });
            }
        }
        arcs.sort_by_key(|a| (a.tail, a.head, a.segment, a.reverse));
        arcs
    }

    /// Total length of the network (km).
    pub fn length_km(&self) -> f64 {
        self.segments.iter().map(|s| s.length_m).sum::<f64>() / 1000.0
    }

    /// The structural checks a graph read back from storage must pass before
    /// a router indexes into it.
    pub fn validate(&self) -> Result<(), String> {
        let n = self.nodes.len() as u32;
        if self.names.first().is_some_and(|s| !s.is_empty()) {
            return Err("names[0] must be the empty name".into());
        }
        for (i, s) in self.segments.iter().enumerate() {
            if s.from >= n || s.to >= n {
                return Err(format!("segment {i} joins a node that does not exist"));
            }
            if s.shape.0 + 2 > s.shape.1 || s.shape.1 as usize > self.points.len() {
                return Err(format!("segment {i} has a bad shape range"));
            }
            if s.name as usize >= self.names.len().max(1) {
                return Err(format!("segment {i} has an unknown name"));
            }
            if !(s.length_m.is_finite() && s.length_m >= 0.0) {
                return Err(format!("segment {i} has length {}", s.length_m));
            }
            if !(s.speed_kmh.is_finite() && s.speed_kmh > 0.0) {
                return Err(format!("segment {i} has speed {}", s.speed_kmh));
            }
        }
        Ok(())
    }
}

/// Great-circle distance (m).
pub fn haversine_m(a: LonLat, b: LonLat) -> f64 {
    let (la1, la2) = (a[1].to_radians(), b[1].to_radians());
    let dla = la2 - la1;
    let dlo = (b[0] - a[0]).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Length of a polyline (m).
pub fn polyline_m(points: &[LonLat]) -> f64 {
    points.windows(2).map(|w| haversine_m(w[0], w[1])).sum()
}

/// Distance (m) from `p` to the segment `a`-`b`, and the fraction (0-1)
/// along it of the nearest point, in a local equirectangular projection
/// around `p` (exact enough within a few hundred kilometres).
pub fn point_segment_m(p: LonLat, a: LonLat, b: LonLat) -> (f64, f64) {
    let k = p[1].to_radians().cos();
    let m_per_deg = EARTH_RADIUS_M.to_radians();
    let (ax, ay) = ((a[0] - p[0]) * k * m_per_deg, (a[1] - p[1]) * m_per_deg);
    let (bx, by) = ((b[0] - p[0]) * k * m_per_deg, (b[1] - p[1]) * m_per_deg);
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    };
    let (x, y) = (ax + t * dx, ay + t * dy);
    ((x * x + y * y).sqrt(), t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_ouagadougou_dori() {
        // Ouagadougou (-1.5197, 12.3714) to Dori (-0.0345, 14.0354): about 245 km.
        let d = haversine_m([-1.5197, 12.3714], [-0.0345, 14.0354]);
        assert!((d - 245_000.0).abs() < 3_000.0, "{d}");
    }

    #[test]
    fn point_segment_projects_inside_and_clamps_outside() {
        let (d, t) = point_segment_m([0.0, 0.01], [-0.01, 0.0], [0.01, 0.0]);
        assert!(
            (d - 1_112.0).abs() < 2.0 && (t - 0.5).abs() < 1e-9,
            "{d} {t}"
        );
        let (d, t) = point_segment_m([0.02, 0.0], [-0.01, 0.0], [0.01, 0.0]);
        assert!((d - 1_112.0).abs() < 2.0 && t == 1.0, "{d} {t}");
    }

    #[test]
    fn speed_profile_overrides_and_refuses_by_name() {
        let p = SpeedProfile::from_toml("[speeds]\ntrack = 15\nprimary = 55.5\n").unwrap();
        assert_eq!(p.speed(RoadClass::Track), 15.0);
        assert_eq!(p.speed(RoadClass::Primary), 55.5);
        assert_eq!(p.speed(RoadClass::Trunk), 70.0);
        let e = SpeedProfile::from_toml("[speeds]\nfootway = 5\n").unwrap_err();
        assert!(e.contains("`footway`"), "{e}");
        let e = SpeedProfile::from_toml("[speeds]\ntrack = 0\n").unwrap_err();
        assert!(e.contains("speeds.track"), "{e}");
        let e = SpeedProfile::from_toml("[speed]\ntrack = 3\n").unwrap_err();
        assert!(e.contains("`speed`"), "{e}");
    }

    #[test]
    fn osm_classes() {
        assert_eq!(RoadClass::from_osm("trunk_link"), Some(RoadClass::Trunk));
        assert_eq!(RoadClass::from_osm("track"), Some(RoadClass::Track));
        assert_eq!(RoadClass::from_osm("footway"), None);
        assert_eq!(RoadClass::from_osm("path"), None);
    }
}
