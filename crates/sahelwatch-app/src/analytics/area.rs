//! Areas an analysis covers: countries, admin-1 units, named regions, a box
//! or a polygon, with the words a sentence uses for them and, where known,
//! their shape (for the hexagon grid of hotspots).
//!
//! Shapes come from the bundled Natural Earth admin-1 polygons
//! (`data/boundaries/admin1.geojson.gz`, see its NOTICE), parsed once.

use sahelwatch_core::CountryCode;
use sahelwatch_core::place::admin_key;
use std::sync::OnceLock;

/// The bundled admin-1 polygons, gzipped GeoJSON (also served to the map).
pub static ADMIN1_GZ: &[u8] = include_bytes!("../../../../data/boundaries/admin1.geojson.gz");

/// One admin-1 unit's polygons.
pub struct Unit {
    pub country: CountryCode,
    /// [`admin_key`] of the unit ACLED codes; `None` for unnamed islands.
    pub admin1: Option<String>,
    pub shape: geo::MultiPolygon<f64>,
}

/// Every bundled admin-1 unit, parsed on first use.
pub fn units() -> &'static [Unit] {
    static UNITS: OnceLock<Vec<Unit>> = OnceLock::new();
    UNITS.get_or_init(|| parse_units().unwrap_or_default())
}

fn parse_units() -> Result<Vec<Unit>, String> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(ADMIN1_GZ)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let fc: geojson::FeatureCollection = text.parse().map_err(|e: geojson::Error| e.to_string())?;
    let mut out = Vec::with_capacity(fc.features.len());
    for f in fc.features {
        let prop = |k: &str| {
            f.properties
                .as_ref()
                .and_then(|p| p.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let Some(country) = prop("country").as_deref().and_then(CountryCode::parse) else {
            continue;
        };
        let Some(g) = f.geometry else { continue };
        let shape: geo::Geometry<f64> = g.try_into().map_err(|e: geojson::Error| e.to_string())?;
        let shape = match shape {
            geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
            geo::Geometry::MultiPolygon(m) => m,
            _ => continue,
        };
        out.push(Unit {
            country,
            admin1: prop("admin1").map(|a| admin_key(&a)),
            shape,
        });
    }
    Ok(out)
}

/// A named region.
pub struct Region {
    /// What users type (any of these, case ignored).
    pub names: &'static [&'static str],
    /// "the Sahel".
    pub words: &'static str,
    pub countries: &'static [&'static str],
    /// Admin-1 units (ACLED spellings); empty = the whole countries.
    pub admin1: &'static [&'static str],
}

/// The named regions. "Sahel" is the central Sahel of ACLED's regional
/// analyses: Mali, Burkina Faso and Niger. "Liptako-Gourma" is the three
/// borders area where they meet, taken as the admin-1 units that touch it:
/// Gao, Ménaka and Mopti in Mali; Sahel, Nord, Centre-Nord and Est in
/// Burkina Faso; Tillabéri and Tahoua in Niger. (The Liptako-Gourma
/// Authority itself covers all three countries; analysts mean the border
/// zone.)
pub const REGIONS: &[Region] = &[
    Region {
        names: &["sahel", "central-sahel", "central sahel"],
        words: "the Sahel",
        countries: &["ML", "BF", "NE"],
        admin1: &[],
    },
    Region {
        names: &[
            "liptako-gourma",
            "liptako gourma",
            "three-borders",
            "three borders",
            "trois-frontieres",
        ],
        words: "the Liptako-Gourma three-borders area",
        countries: &["ML", "BF", "NE"],
        admin1: &[
            "Gao",
            "Menaka",
            "Mopti",
            "Sahel",
            "Nord",
            "Centre-Nord",
            "Est",
            "Tillaberi",
            "Tahoua",
        ],
    },
];

pub fn region(name: &str) -> Option<&'static Region> {
    let n = name.trim().to_ascii_lowercase();
    REGIONS.iter().find(|r| r.names.contains(&n.as_str()))
}

/// The union (as a list of polygons) of the units matching `countries` (all
/// when empty) and `admin1` keys (all when empty). `None` when nothing matches.
pub fn shape_of(countries: &[CountryCode], admin1: &[String]) -> Option<geo::MultiPolygon<f64>> {
    let keys: Vec<String> = admin1.iter().map(|a| admin_key(a)).collect();
    let polys: Vec<geo::Polygon<f64>> = units()
        .iter()
        .filter(|u| countries.is_empty() || countries.contains(&u.country))
        .filter(|u| keys.is_empty() || u.admin1.as_ref().is_some_and(|a| keys.contains(a)))
        .flat_map(|u| u.shape.0.iter().cloned())
        .collect();
    (!polys.is_empty()).then_some(geo::MultiPolygon(polys))
}

/// "Mali", "Mali and Niger", "Mali, Niger and Chad".
pub fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Intersects;

    #[test]
    fn bundled_boundaries_place_known_towns_in_their_units() {
        assert_eq!(units().len(), 325);
        let cc = |c| CountryCode::parse(c).unwrap();
        let inside = |countries: &[CountryCode], admin1: &[&str], lat: f64, lon: f64| {
            let a: Vec<String> = admin1.iter().map(|s| s.to_string()).collect();
            shape_of(countries, &a)
                .unwrap()
                .intersects(&geo::Point::new(lon, lat))
        };
        // Dori is in Burkina Faso's Sahel region (province of Séno).
        assert!(inside(&[cc("BF")], &["Sahel"], 14.035, -0.035));
        assert!(!inside(&[cc("BF")], &["Est"], 14.035, -0.035));
        // Téra (Niger) is in Tillabéri, with or without accents and the kind of unit.
        assert!(inside(&[cc("NE")], &["TILLABERI"], 14.008, 0.753));
        assert!(inside(&[cc("NE")], &["Tillabéri region"], 14.008, 0.753));
        // Bamako is in Mali but not in the three-borders area.
        let r = region("Three borders").unwrap();
        let countries: Vec<CountryCode> = r.countries.iter().map(|c| cc(c)).collect();
        assert!(inside(&countries, &[], 12.65, -8.0));
        assert!(!inside(&countries, r.admin1, 12.65, -8.0));
        assert!(inside(&countries, r.admin1, 14.035, -0.035));
        assert!(shape_of(&[cc("BF")], &["Atlantis".into()]).is_none());
    }

    #[test]
    fn names_join_as_a_sentence_does() {
        let n = |v: &[&str]| join_names(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(n(&["Mali"]), "Mali");
        assert_eq!(n(&["Mali", "Niger"]), "Mali and Niger");
        assert_eq!(n(&["Mali", "Niger", "Chad"]), "Mali, Niger and Chad");
    }
}
