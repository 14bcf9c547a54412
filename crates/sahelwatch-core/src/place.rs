//! Places from the GeoNames gazetteer and an in-memory search over them.
//!
//! Search folds accents and case ([`crate::text::fold`]) and matches the
//! primary name, the ASCII name and every alternate name. Ranking, best first:
//! 1. how the name matched: exact primary name, exact alternate name, prefix of
//!    a primary name, prefix of an alternate, then a later word of a name;
//! 2. feature class: populated places (P), then administrative areas (A), then the rest;
//! 3. population, larger first;
//! 4. feature code importance (capital, then admin seats by level);
//! 5. GeoNames id, so the order is total and stable.

use crate::country::CountryCode;
use crate::text::fold;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::LazyLock;
use utoipa::ToSchema;

const ADMIN1_CODES: &str = include_str!("../data/admin1CodesASCII.txt");

static ADMIN1: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    ADMIN1_CODES
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
});

/// Words that name the kind of division rather than the division.
const ADMIN_WORDS: &[&str] = &[
    "region",
    "regions",
    "province",
    "department",
    "departement",
    "prefecture",
    "cercle",
    "district",
    "commune",
    "wilaya",
    "governorate",
    "state",
    "of",
    "du",
    "de",
    "la",
    "le",
    "des",
    "d",
    "l",
];

/// A division's name reduced for matching: folded, without the words that
/// name the kind of division ("Région de Tillabéri" -> "tillaberi").
pub fn admin_key(name: &str) -> String {
    fold(name)
        .split(' ')
        .filter(|w| !ADMIN_WORDS.contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Name of a first-level division from its GeoNames code ("NE", "08") -> "Tillaberi".
pub fn admin1_name(country: CountryCode, code: &str) -> Option<&'static str> {
    ADMIN1.get(&format!("{country}.{code}")).map(String::as_str)
}

/// A GeoNames feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Place {
    /// GeoNames id.
    pub id: i64,
    pub name: String,
    pub ascii_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternate_names: Vec<String>,
    pub latitude: f64,
    pub longitude: f64,
    /// GeoNames feature class: A admin, H water, L area, P populated place, R road, S spot, T terrain, U undersea, V vegetation.
    pub feature_class: String,
    pub feature_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub admin1_code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub admin2_code: String,
    pub population: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elevation: Option<i32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub timezone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub modified: Option<chrono::NaiveDate>,
}

impl Place {
    pub fn admin1_name(&self) -> Option<&'static str> {
        admin1_name(self.country?, &self.admin1_code)
    }

    /// "Téra, Tillaberi, Niger"
    pub fn display_name(&self) -> String {
        let mut parts = vec![self.name.clone()];
        if let Some(a) = self.admin1_name() {
            parts.push(a.to_string());
        }
        if let Some(c) = self.country {
            parts.push(c.info().name.clone());
        }
        parts.join(", ")
    }

    fn class_rank(&self) -> u8 {
        match self.feature_class.as_str() {
            "P" => 0,
            "A" => 1,
            _ => 2,
        }
    }

    fn code_rank(&self) -> u8 {
        match self.feature_code.as_str() {
            "PPLC" => 0,
            "PPLA" | "ADM1" => 1,
            "PPLA2" | "ADM2" => 2,
            "PPLA3" | "ADM3" => 3,
            "PPLA4" | "ADM4" => 4,
            "PPL" => 5,
            _ => 6,
        }
    }
}

/// How a query matched a place's name; lower is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    ExactName,
    ExactAlternate,
    PrefixName,
    PrefixAlternate,
    Word,
}

/// A search hit.
#[derive(Debug, Clone)]
pub struct PlaceHit<'a> {
    pub place: &'a Place,
    pub matched: MatchKind,
    pub matched_name: &'a str,
}

/// Options of a place search.
#[derive(Debug, Clone, Default)]
pub struct PlaceQuery {
    pub q: String,
    pub country: Option<CountryCode>,
    pub feature_class: Option<String>,
    pub limit: usize,
}

/// An in-memory gazetteer with accent- and case-insensitive name search.
#[derive(Debug, Default)]
pub struct Gazetteer {
    places: Vec<Place>,
    /// (country, 1 or 2, admin key) -> the division's point (ADM1/ADM2 features).
    admin: HashMap<(CountryCode, u8, String), (f64, f64)>,
    /// (folded key, place index, name index, is a later word of the name).
    /// Name index 0 is the primary name, 1 the ASCII name, 2.. alternates.
    keys: Vec<(String, u32, u16, bool)>,
    by_id: HashMap<i64, u32>,
}

impl Gazetteer {
    pub fn new(places: Vec<Place>) -> Self {
        let mut keys = Vec::new();
        for (pi, p) in places.iter().enumerate() {
            let names = std::iter::once(&p.name)
                .chain(std::iter::once(&p.ascii_name))
                .chain(p.alternate_names.iter());
            let mut seen: Vec<String> = Vec::new();
            for (ni, n) in names.enumerate() {
                let f = fold(n);
                if f.is_empty() || seen.contains(&f) {
                    continue;
                }
                let ni = ni.min(u16::MAX as usize) as u16;
                // Later words of a multi-word name ("Tera Department" -> "department").
                for (pos, _) in f.match_indices(' ') {
                    keys.push((f[pos + 1..].to_string(), pi as u32, ni, true));
                }
                keys.push((f.clone(), pi as u32, ni, false));
                seen.push(f);
            }
        }
        keys.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let by_id = places
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i as u32))
            .collect();
        let mut admin = HashMap::new();
        for p in &places {
            let level = match p.feature_code.as_str() {
                "ADM1" => 1,
                "ADM2" => 2,
                _ => continue,
            };
            let Some(cc) = p.country else { continue };
            let names = std::iter::once(&p.name)
                .chain(std::iter::once(&p.ascii_name))
                .chain(p.alternate_names.iter());
            for n in names {
                let key = admin_key(n);
                if !key.is_empty() {
                    admin
                        .entry((cc, level, key))
                        .or_insert((p.latitude, p.longitude));
                }
            }
        }
        Gazetteer {
            places,
            admin,
            keys,
            by_id,
        }
    }

    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    pub fn get(&self, id: i64) -> Option<&Place> {
        self.by_id.get(&id).map(|&i| &self.places[i as usize])
    }

    pub fn places(&self) -> &[Place] {
        &self.places
    }

    fn name_of(p: &Place, ni: u16) -> &str {
        match ni {
            0 => &p.name,
            1 => &p.ascii_name,
            n => p
                .alternate_names
                .get(n as usize - 2)
                .map(String::as_str)
                .unwrap_or(&p.name),
        }
    }

    /// Search by name. Returns at most `limit` hits (20 when 0), best first.
    pub fn search(&self, query: &PlaceQuery) -> Vec<PlaceHit<'_>> {
        let q = fold(&query.q);
        if q.is_empty() {
            return Vec::new();
        }
        let limit = if query.limit == 0 { 20 } else { query.limit };
        let start = self.keys.partition_point(|k| k.0.as_str() < q.as_str());
        let mut best: HashMap<u32, (MatchKind, u16)> = HashMap::new();
        for (key, pi, ni, later_word) in self.keys[start..]
            .iter()
            .take_while(|k| k.0.starts_with(&q))
        {
            let p = &self.places[*pi as usize];
            if query.country.is_some() && p.country != query.country {
                continue;
            }
            if let Some(fc) = &query.feature_class
                && !p.feature_class.eq_ignore_ascii_case(fc)
            {
                continue;
            }
            let primary = *ni <= 1;
            let kind = match (*later_word, key.len() == q.len(), primary) {
                (true, _, _) => MatchKind::Word,
                (false, true, true) => MatchKind::ExactName,
                (false, true, false) => MatchKind::ExactAlternate,
                (false, false, true) => MatchKind::PrefixName,
                (false, false, false) => MatchKind::PrefixAlternate,
            };
            best.entry(*pi)
                .and_modify(|e| {
                    if kind < e.0 {
                        *e = (kind, *ni)
                    }
                })
                .or_insert((kind, *ni));
        }
        let mut hits: Vec<PlaceHit<'_>> = best
            .into_iter()
            .map(|(pi, (kind, ni))| {
                let p = &self.places[pi as usize];
                PlaceHit {
                    place: p,
                    matched: kind,
                    matched_name: Self::name_of(p, ni),
                }
            })
            .collect();
        hits.sort_by(|a, b| {
            (a.matched, a.place.class_rank())
                .cmp(&(b.matched, b.place.class_rank()))
                .then(b.place.population.cmp(&a.place.population))
                .then(a.place.code_rank().cmp(&b.place.code_rank()))
                .then(a.place.id.cmp(&b.place.id))
        });
        hits.truncate(limit);
        hits
    }

    /// The point GeoNames gives a first-level (`level` 1) or second-level
    /// (`level` 2) division of `country`, found by name ("Tillaberi",
    /// "Tillabéri Region" and "Région de Tillabéri" all match).
    pub fn admin_point(&self, country: CountryCode, level: u8, name: &str) -> Option<(f64, f64)> {
        self.admin.get(&(country, level, admin_key(name))).copied()
    }

    /// The single best place for a name, if any.
    pub fn resolve(&self, name: &str, country: Option<CountryCode>) -> Option<&Place> {
        self.search(&PlaceQuery {
            q: name.to_string(),
            country,
            feature_class: None,
            limit: 1,
        })
        .into_iter()
        .next()
        .map(|h| h.place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::too_many_arguments)]
    fn place(
        id: i64,
        name: &str,
        ascii: &str,
        alts: &[&str],
        cc: &str,
        class: &str,
        code: &str,
        pop: i64,
    ) -> Place {
        Place {
            id,
            name: name.into(),
            ascii_name: ascii.into(),
            alternate_names: alts.iter().map(|s| s.to_string()).collect(),
            latitude: 14.0,
            longitude: 0.7,
            feature_class: class.into(),
            feature_code: code.into(),
            country: CountryCode::parse(cc),
            admin1_code: "08".into(),
            admin2_code: String::new(),
            population: pop,
            elevation: None,
            timezone: String::new(),
            modified: None,
        }
    }

    fn gaz() -> Gazetteer {
        Gazetteer::new(vec![
            place(
                1,
                "Téra",
                "Tera",
                &["Tera", "Téra"],
                "NE",
                "P",
                "PPLA2",
                21095,
            ),
            place(2, "Téra", "Tera", &[], "NE", "P", "PPL", 0),
            place(
                3,
                "Tera Department",
                "Tera Department",
                &["Tera"],
                "NE",
                "A",
                "ADM2",
                0,
            ),
            place(4, "Tera", "Tera", &[], "NG", "P", "PPL", 1200),
            place(5, "Terakou", "Terakou", &[], "ML", "P", "PPL", 50000),
            place(6, "Dori", "Dori", &["DOR"], "BF", "P", "PPLA", 46512),
            place(7, "Dori", "Dori", &[], "ML", "P", "PPL", 0),
        ])
    }

    #[test]
    fn finds_tera_accent_and_case_insensitively_ranked_by_match_then_population() {
        let g = gaz();
        let ids: Vec<i64> = g
            .search(&PlaceQuery {
                q: "TERA".into(),
                ..Default::default()
            })
            .iter()
            .map(|h| h.place.id)
            .collect();
        // Exact primary names (P by population: 1 then 4 then 2), then the admin area
        // whose alternate is "Tera", then the prefix match Terakou.
        assert_eq!(ids, vec![1, 4, 2, 3, 5]);
    }

    #[test]
    fn country_narrows() {
        let g = gaz();
        let hits = g.search(&PlaceQuery {
            q: "téra".into(),
            country: CountryCode::parse("NG"),
            ..Default::default()
        });
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].place.id, 4);
    }

    #[test]
    fn resolve_prefers_the_important_place() {
        assert_eq!(gaz().resolve("dori", None).map(|p| p.id), Some(6));
        assert_eq!(
            gaz()
                .resolve("dori", CountryCode::parse("ML"))
                .map(|p| p.id),
            Some(7)
        );
        assert!(gaz().resolve("", None).is_none());
    }

    #[test]
    fn admin_points_match_across_naming_styles() {
        let mut tillaberi = place(
            10,
            "Tillaberi Region",
            "Tillaberi Region",
            &["Région de Tillabéri"],
            "NE",
            "A",
            "ADM1",
            0,
        );
        tillaberi.latitude = 14.5;
        let mut seno = place(
            11,
            "Province du Séno",
            "Province du Seno",
            &[],
            "BF",
            "A",
            "ADM2",
            0,
        );
        seno.latitude = 14.0;
        let g = Gazetteer::new(vec![tillaberi, seno]);
        let ne = CountryCode::parse("NE").unwrap();
        let bf = CountryCode::parse("BF").unwrap();
        assert_eq!(g.admin_point(ne, 1, "Tillabéri").map(|p| p.0), Some(14.5));
        assert_eq!(
            g.admin_point(ne, 1, "tillaberi region").map(|p| p.0),
            Some(14.5)
        );
        assert_eq!(g.admin_point(bf, 2, "Seno").map(|p| p.0), Some(14.0));
        assert_eq!(g.admin_point(bf, 1, "Seno"), None, "levels are separate");
        assert_eq!(g.admin_point(ne, 2, "Seno"), None, "countries are separate");
    }

    #[test]
    fn later_words_match() {
        let g = gaz();
        let hits = g.search(&PlaceQuery {
            q: "department".into(),
            ..Default::default()
        });
        assert_eq!(hits[0].place.id, 3);
        assert_eq!(hits[0].matched, MatchKind::Word);
    }
}
