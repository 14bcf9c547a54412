//! Coarsening a location for viewers outside the owner organisation: where
//! the point moves to, and which place fields are withheld. Applied on the
//! server before anything leaves (lists, single items, exports, STIX, TAXII,
//! the stream), and used by filters, so that a box or radius search cannot
//! locate the exact point either.

use crate::access::{Coarsen, snap_10km};
use crate::incident::{Location, round_coord};
use crate::place::Gazetteer;
use crate::taxonomy::Precision;

/// Snap to the centre of a 1-degree cell: the fallback when a division's
/// point is unknown.
fn snap_1deg(v: f64) -> f64 {
    v.floor() + 0.5
}

/// The position shown for `loc` when coarsened to `c`.
///
/// - `10km`: the centre of the 0.1-degree cell.
/// - `admin2`: the GeoNames point of the admin-2 division, else as `admin1`.
/// - `admin1`: the GeoNames point of the admin-1 division, else the centre
///   of the 1-degree cell.
pub fn coarse_position(c: Coarsen, loc: &Location, gazetteer: &Gazetteer) -> (f64, f64) {
    let admin1 = || {
        loc.admin1
            .as_deref()
            .and_then(|a| gazetteer.admin_point(loc.country, 1, a))
            .unwrap_or((snap_1deg(loc.latitude), snap_1deg(loc.longitude)))
    };
    let (lat, lon) = match c {
        Coarsen::Exact => (loc.latitude, loc.longitude),
        Coarsen::Km10 => (snap_10km(loc.latitude), snap_10km(loc.longitude)),
        Coarsen::Admin2 => loc
            .admin2
            .as_deref()
            .and_then(|a| gazetteer.admin_point(loc.country, 2, a))
            .unwrap_or_else(admin1),
        Coarsen::Admin1 => admin1(),
    };
    (round_coord(lat), round_coord(lon))
}

/// The geo_precision shown with a position coarsened to `c`.
pub fn coarse_precision(c: Coarsen, p: Precision) -> Precision {
    match c {
        Coarsen::Exact => p,
        Coarsen::Admin1 => Precision::COARSE,
        Coarsen::Km10 | Coarsen::Admin2 => p.max(Precision::NEAR),
    }
}

/// Rewrite `loc` as a viewer outside the owner organisation sees it, given
/// the coarse position computed when the marking was set.
pub fn coarsen_location(loc: &mut Location, c: Coarsen, coarse: (f64, f64)) {
    if c == Coarsen::Exact {
        return;
    }
    loc.latitude = coarse.0;
    loc.longitude = coarse.1;
    loc.place = None;
    loc.admin3 = None;
    if c == Coarsen::Admin1 {
        loc.admin2 = None;
    }
    loc.geo_precision = coarse_precision(c, loc.geo_precision);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CountryCode;

    fn loc() -> Location {
        Location {
            country: CountryCode::parse("BF").unwrap(),
            region: None,
            admin1: Some("Sahel".into()),
            admin2: Some("Seno".into()),
            admin3: Some("Dori".into()),
            place: Some("Dori".into()),
            latitude: 14.0341,
            longitude: -0.0326,
            geo_precision: Precision::EXACT,
        }
    }

    #[test]
    fn coarsening_moves_the_point_and_withholds_names() {
        let g = Gazetteer::default();
        let mut l = loc();
        let p = coarse_position(Coarsen::Km10, &l, &g);
        assert_eq!(p, (14.05, -0.05));
        coarsen_location(&mut l, Coarsen::Km10, p);
        assert_eq!(
            (l.place.as_deref(), l.admin3.as_deref(), l.admin2.as_deref()),
            (None, None, Some("Seno"))
        );
        assert_eq!(l.geo_precision, Precision::NEAR);
        let mut l = loc();
        // No gazetteer entry for Sahel: the 1-degree cell centre.
        let p = coarse_position(Coarsen::Admin1, &l, &g);
        assert_eq!(p, (14.5, -0.5));
        coarsen_location(&mut l, Coarsen::Admin1, p);
        assert_eq!(
            (l.admin2.as_deref(), l.geo_precision),
            (None, Precision::COARSE)
        );
        let mut l = loc();
        coarsen_location(&mut l, Coarsen::Exact, (0.0, 0.0));
        assert_eq!(l, loc());
    }
}
