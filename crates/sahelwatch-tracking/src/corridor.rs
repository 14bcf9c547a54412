//! A convoy's planned route as the alert engine reads it: the line, how far
//! along it each vertex is, and the road risk of each piece.

use crate::{LonLat, TrackingError};
pub use sahelwatch_routing::graph::haversine_m;
use sahelwatch_routing::graph::point_segment_m;
use serde::{Deserialize, Serialize};

/// Pieces searched either side of a vehicle's last piece before the whole
/// line is searched.
const WINDOW: usize = 64;

/// The planned route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Corridor {
    line: Vec<LonLat>,
    /// Metres from the start to each vertex.
    along: Vec<f64>,
    /// Road risk of each piece `line[k]..line[k + 1]`.
    risk: Vec<f64>,
}

/// Where a point is with respect to the corridor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Located {
    /// Metres from the line.
    pub distance_m: f64,
    /// Metres along the line to the nearest point.
    pub along_m: f64,
    /// The nearest piece.
    pub piece: usize,
    /// Its road risk.
    pub risk: f64,
}

pub(crate) fn valid(p: LonLat) -> bool {
    p[0].is_finite()
        && p[1].is_finite()
        && (-180.0..=180.0).contains(&p[0])
        && (-90.0..=90.0).contains(&p[1])
}

impl Corridor {
    /// A corridor from a line of at least two points and the risk of each
    /// of its pieces (one fewer than the points).
    pub fn new(line: Vec<LonLat>, risk: Vec<f64>) -> Result<Corridor, TrackingError> {
        if line.len() < 2 {
            return Err(TrackingError::Route(format!(
                "a route needs at least 2 points, not {}",
                line.len()
            )));
        }
        if let Some(k) = line.iter().position(|&p| !valid(p)) {
            return Err(TrackingError::Route(format!(
                "point {k} ({}, {}) is not a longitude, latitude",
                line[k][0], line[k][1]
            )));
        }
        if risk.len() != line.len() - 1 {
            return Err(TrackingError::Route(format!(
                "{} risk values for {} pieces",
                risk.len(),
                line.len() - 1
            )));
        }
        if let Some(k) = risk.iter().position(|r| !(r.is_finite() && *r >= 0.0)) {
            return Err(TrackingError::Route(format!(
                "risk of piece {k} is {}: it must be 0 or more",
                risk[k]
            )));
        }
        let mut along = vec![0.0; line.len()];
        for k in 1..line.len() {
            along[k] = along[k - 1] + haversine_m(line[k - 1], line[k]);
        }
        Ok(Corridor { line, along, risk })
    }

    pub fn length_m(&self) -> f64 {
        self.along[self.along.len() - 1]
    }

    pub fn line(&self) -> &[LonLat] {
        &self.line
    }

    /// The point `along_m` metres from the start (clamped to the line) and
    /// the direction of travel there, as (east, north) per metre.
    pub fn point_at(&self, along_m: f64) -> (LonLat, [f64; 2]) {
        let a = along_m.clamp(0.0, self.length_m());
        let n = self.line.len() - 1;
        let k = self
            .along
            .partition_point(|&x| x <= a)
            .saturating_sub(1)
            .min(n - 1);
        let (p, q) = (self.line[k], self.line[k + 1]);
        let len = (self.along[k + 1] - self.along[k]).max(1e-9);
        let f = ((a - self.along[k]) / len).clamp(0.0, 1.0);
        let point = [p[0] + f * (q[0] - p[0]), p[1] + f * (q[1] - p[1])];
        let m_per_deg_lon = 111_320.0 * p[1].to_radians().cos();
        let dir = [
            (q[0] - p[0]) * m_per_deg_lon / len,
            (q[1] - p[1]) * 110_540.0 / len,
        ];
        (point, dir)
    }

    fn at(&self, p: LonLat, k: usize) -> Located {
        let (d, t) = point_segment_m(p, self.line[k], self.line[k + 1]);
        Located {
            distance_m: d,
            along_m: self.along[k] + t * (self.along[k + 1] - self.along[k]),
            piece: k,
            risk: self.risk[k],
        }
    }

    fn best(&self, p: LonLat, pieces: std::ops::Range<usize>) -> Option<Located> {
        pieces
            .map(|k| self.at(p, k))
            .min_by(|a, b| a.distance_m.total_cmp(&b.distance_m))
    }

    /// The nearest point of the corridor to `p`. With `hint` (the vehicle's
    /// last piece) the pieces around it are searched first, and the whole
    /// line only when `p` is farther than `near_m` from them.
    pub fn locate(&self, p: LonLat, hint: Option<usize>, near_m: f64) -> Located {
        let n = self.line.len() - 1;
        if let Some(h) = hint.filter(|&h| h < n) {
            let window = h.saturating_sub(WINDOW)..(h + WINDOW + 1).min(n);
            if let Some(l) = self.best(p, window).filter(|l| l.distance_m <= near_m) {
                return l;
            }
        }
        self.best(p, 0..n).expect("a corridor has a piece")
    }

    /// The nearest point of the corridor to `p` at or beyond `from_m` along
    /// it (the route still ahead), if any is left.
    pub fn locate_ahead(&self, p: LonLat, from_m: f64) -> Option<Located> {
        let first = self
            .along
            .partition_point(|&a| a <= from_m)
            .saturating_sub(1);
        let n = self.line.len() - 1;
        self.best(p, first.min(n)..n).map(|mut l| {
            if l.along_m < from_m {
                // The nearest point of the first piece lies behind: measure
                // from the point reached instead.
                let k = l.piece;
                let f = (from_m - self.along[k]) / (self.along[k + 1] - self.along[k]).max(1e-9);
                let q = [
                    self.line[k][0] + f * (self.line[k + 1][0] - self.line[k][0]),
                    self.line[k][1] + f * (self.line[k + 1][1] - self.line[k][1]),
                ];
                l.distance_m = haversine_m(p, q);
                l.along_m = from_m;
            }
            l
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn straight() -> Corridor {
        // Along the equator, 10 pieces of 0.01 degree (about 1.11 km each).
        let line: Vec<LonLat> = (0..=10).map(|k| [k as f64 * 0.01, 0.0]).collect();
        let risk = (0..10).map(|k| if k == 5 { 2.0 } else { 0.0 }).collect();
        Corridor::new(line, risk).unwrap()
    }

    #[test]
    fn locates_points_along_and_beside_the_line() {
        let c = straight();
        assert!((c.length_m() - 11_119.5).abs() < 1.0, "{}", c.length_m());
        let l = c.locate([0.055, 0.001], None, 1000.0);
        assert_eq!(l.piece, 5);
        assert_eq!(l.risk, 2.0);
        assert!((l.distance_m - 111.2).abs() < 0.5, "{l:?}");
        assert!((l.along_m - 6115.7).abs() < 1.0, "{l:?}");
        // The hint finds the same point.
        assert_eq!(c.locate([0.055, 0.001], Some(3), 1000.0), l);
        let ahead = c.locate_ahead([0.02, 0.0], 5_000.0).unwrap();
        assert!((ahead.distance_m - 2_780.0).abs() < 5.0, "{ahead:?}");
        assert!(
            c.locate_ahead([0.02, 0.0], 20_000.0).is_none(),
            "nothing left ahead"
        );
    }

    #[test]
    fn bad_routes_are_refused_with_the_reason() {
        let e = Corridor::new(vec![[0.0, 0.0]], vec![]).unwrap_err();
        assert!(e.to_string().contains("at least 2 points"), "{e}");
        let e = Corridor::new(vec![[0.0, 0.0], [0.0, 95.0]], vec![0.0]).unwrap_err();
        assert!(e.to_string().contains("point 1"), "{e}");
        let e = Corridor::new(vec![[0.0, 0.0], [0.0, 1.0]], vec![]).unwrap_err();
        assert!(e.to_string().contains("0 risk values for 1 pieces"), "{e}");
        let e = Corridor::new(vec![[0.0, 0.0], [0.0, 1.0]], vec![f64::NAN]).unwrap_err();
        assert!(e.to_string().contains("piece 0"), "{e}");
    }
}
