//! Countries: ISO 3166-1 codes and names from GeoNames `countryInfo.txt`
//! (CC BY 4.0, GeoNames), plus the Gleditsch-Ward state numbers UCDP uses in
//! `country_id`, and the spellings ACLED and UCDP use for names.
//!
//! The model stores a country as its ISO 3166-1 alpha-2 code.

use crate::text::fold;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

const COUNTRY_INFO: &str = include_str!("../data/countryInfo.txt");

/// An ISO 3166-1 alpha-2 code known to the country table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The country's row in the table.
    pub fn info(self) -> &'static Country {
        &TABLE.countries[TABLE.by_alpha2[&self]]
    }

    /// Parse a code or name: alpha-2, alpha-3, ISO numeric, English name or a
    /// known alias ("Cote d'Ivoire", "DR Congo (Zaire)").
    pub fn parse(s: &str) -> Option<CountryCode> {
        lookup(s)
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        lookup(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown country '{s}'")))
    }
}

impl utoipa::PartialSchema for CountryCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("ISO 3166-1 alpha-2 country code"))
            .examples(["BF"])
            .into()
    }
}
impl utoipa::ToSchema for CountryCode {}

/// One row of the country table.
#[derive(Debug, Clone)]
pub struct Country {
    pub alpha2: CountryCode,
    pub alpha3: String,
    pub numeric: u16,
    pub name: String,
    pub geonameid: Option<i64>,
}

struct Table {
    countries: Vec<Country>,
    by_alpha2: HashMap<CountryCode, usize>,
    by_key: HashMap<String, CountryCode>,
    by_numeric: HashMap<u16, CountryCode>,
}

/// Names used by ACLED and UCDP that differ from GeoNames' English name.
const ALIASES: &[(&str, &str)] = &[
    ("cote d'ivoire", "CI"),
    ("côte d'ivoire", "CI"),
    ("democratic republic of congo", "CD"),
    ("dr congo", "CD"),
    ("dr congo (zaire)", "CD"),
    ("zaire", "CD"),
    ("republic of congo", "CG"),
    ("congo", "CG"),
    ("cape verde", "CV"),
    ("czech republic", "CZ"),
    ("macedonia", "MK"),
    ("macedonia, fyr", "MK"),
    ("palestine", "PS"),
    ("bosnia-herzegovina", "BA"),
    ("swaziland", "SZ"),
    ("kingdom of eswatini (swaziland)", "SZ"),
    ("eswatini", "SZ"),
    ("east timor", "TL"),
    ("timor-leste", "TL"),
    ("burma", "MM"),
    ("myanmar (burma)", "MM"),
    ("cambodia (kampuchea)", "KH"),
    ("russia (soviet union)", "RU"),
    ("soviet union", "RU"),
    ("serbia (yugoslavia)", "RS"),
    ("yugoslavia", "RS"),
    ("yemen (north yemen)", "YE"),
    ("south yemen", "YE"),
    ("zimbabwe (rhodesia)", "ZW"),
    ("madagascar (malagasy)", "MG"),
    ("vietnam (north vietnam)", "VN"),
    ("south vietnam", "VN"),
    ("the gambia", "GM"),
    ("gambia, the", "GM"),
    ("united states of america", "US"),
    ("turkiye", "TR"),
    ("türkiye", "TR"),
    ("laos", "LA"),
    ("north korea", "KP"),
    ("south korea", "KR"),
    ("sao tome and principe", "ST"),
    ("guinea-bissau", "GW"),
    ("central african republic", "CF"),
];

/// Gleditsch-Ward state numbers (as used by UCDP `country_id`) mapped to the
/// ISO code of the state that holds the territory today. Historical states map
/// to their successor (Yugoslavia to Serbia, the USSR to Russia, North and South
/// Yemen to Yemen, the two Vietnams to Vietnam, the two Germanys to Germany).
const GLEDITSCH_WARD: &[(u16, &str)] = &[
    (2, "US"),
    (20, "CA"),
    (31, "BS"),
    (40, "CU"),
    (41, "HT"),
    (42, "DO"),
    (51, "JM"),
    (52, "TT"),
    (53, "BB"),
    (54, "DM"),
    (55, "GD"),
    (56, "LC"),
    (57, "VC"),
    (58, "AG"),
    (60, "KN"),
    (70, "MX"),
    (80, "BZ"),
    (90, "GT"),
    (91, "HN"),
    (92, "SV"),
    (93, "NI"),
    (94, "CR"),
    (95, "PA"),
    (100, "CO"),
    (101, "VE"),
    (110, "GY"),
    (115, "SR"),
    (130, "EC"),
    (135, "PE"),
    (140, "BR"),
    (145, "BO"),
    (150, "PY"),
    (155, "CL"),
    (160, "AR"),
    (165, "UY"),
    (200, "GB"),
    (205, "IE"),
    (210, "NL"),
    (211, "BE"),
    (212, "LU"),
    (220, "FR"),
    (221, "MC"),
    (223, "LI"),
    (225, "CH"),
    (230, "ES"),
    (232, "AD"),
    (235, "PT"),
    (255, "DE"),
    (260, "DE"),
    (265, "DE"),
    (290, "PL"),
    (305, "AT"),
    (310, "HU"),
    (315, "CZ"),
    (316, "CZ"),
    (317, "SK"),
    (325, "IT"),
    (331, "SM"),
    (338, "MT"),
    (339, "AL"),
    (340, "RS"),
    (341, "ME"),
    (343, "MK"),
    (344, "HR"),
    (345, "RS"),
    (346, "BA"),
    (347, "XK"),
    (349, "SI"),
    (350, "GR"),
    (352, "CY"),
    (355, "BG"),
    (359, "MD"),
    (360, "RO"),
    (365, "RU"),
    (366, "EE"),
    (367, "LV"),
    (368, "LT"),
    (369, "UA"),
    (370, "BY"),
    (371, "AM"),
    (372, "GE"),
    (373, "AZ"),
    (375, "FI"),
    (380, "SE"),
    (385, "NO"),
    (390, "DK"),
    (395, "IS"),
    (402, "CV"),
    (403, "ST"),
    (404, "GW"),
    (411, "GQ"),
    (420, "GM"),
    (432, "ML"),
    (433, "SN"),
    (434, "BJ"),
    (435, "MR"),
    (436, "NE"),
    (437, "CI"),
    (438, "GN"),
    (439, "BF"),
    (450, "LR"),
    (451, "SL"),
    (452, "GH"),
    (461, "TG"),
    (471, "CM"),
    (475, "NG"),
    (481, "GA"),
    (482, "CF"),
    (483, "TD"),
    (484, "CG"),
    (490, "CD"),
    (500, "UG"),
    (501, "KE"),
    (510, "TZ"),
    (511, "TZ"),
    (516, "BI"),
    (517, "RW"),
    (520, "SO"),
    (522, "DJ"),
    (530, "ET"),
    (531, "ER"),
    (540, "AO"),
    (541, "MZ"),
    (551, "ZM"),
    (552, "ZW"),
    (553, "MW"),
    (560, "ZA"),
    (565, "NA"),
    (570, "LS"),
    (571, "BW"),
    (572, "SZ"),
    (580, "MG"),
    (581, "KM"),
    (590, "MU"),
    (591, "SC"),
    (600, "MA"),
    (615, "DZ"),
    (616, "TN"),
    (620, "LY"),
    (625, "SD"),
    (626, "SS"),
    (630, "IR"),
    (640, "TR"),
    (645, "IQ"),
    (651, "EG"),
    (652, "SY"),
    (660, "LB"),
    (663, "JO"),
    (666, "IL"),
    (670, "SA"),
    (678, "YE"),
    (680, "YE"),
    (690, "KW"),
    (692, "BH"),
    (694, "QA"),
    (696, "AE"),
    (698, "OM"),
    (700, "AF"),
    (701, "TM"),
    (702, "TJ"),
    (703, "KG"),
    (704, "UZ"),
    (705, "KZ"),
    (710, "CN"),
    (712, "MN"),
    (713, "TW"),
    (731, "KP"),
    (732, "KR"),
    (740, "JP"),
    (750, "IN"),
    (760, "BT"),
    (770, "PK"),
    (771, "BD"),
    (775, "MM"),
    (780, "LK"),
    (781, "MV"),
    (790, "NP"),
    (800, "TH"),
    (811, "KH"),
    (812, "LA"),
    (816, "VN"),
    (817, "VN"),
    (820, "MY"),
    (830, "SG"),
    (835, "BN"),
    (840, "PH"),
    (850, "ID"),
    (860, "TL"),
    (900, "AU"),
    (910, "PG"),
    (920, "NZ"),
    (940, "SB"),
    (950, "FJ"),
];

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut countries = Vec::new();
    for line in COUNTRY_INFO.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 5 || f[0].len() != 2 {
            continue;
        }
        let b = f[0].as_bytes();
        countries.push(Country {
            alpha2: CountryCode([b[0], b[1]]),
            alpha3: f[1].to_string(),
            numeric: f[2].parse().unwrap_or(0),
            name: f[4].to_string(),
            geonameid: f.get(16).and_then(|s| s.parse().ok()),
        });
    }
    let mut by_alpha2 = HashMap::new();
    let mut by_key = HashMap::new();
    let mut by_numeric = HashMap::new();
    for (i, c) in countries.iter().enumerate() {
        by_alpha2.insert(c.alpha2, i);
        by_key.insert(fold(c.alpha2.as_str()), c.alpha2);
        by_key.insert(fold(&c.alpha3), c.alpha2);
        by_key.insert(fold(&c.name), c.alpha2);
        if c.numeric != 0 {
            by_numeric.insert(c.numeric, c.alpha2);
        }
    }
    for (alias, code) in ALIASES {
        let b = code.as_bytes();
        by_key.insert(fold(alias), CountryCode([b[0], b[1]]));
    }
    Table {
        countries,
        by_alpha2,
        by_key,
        by_numeric,
    }
});

fn lookup(s: &str) -> Option<CountryCode> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    // Fast path for stored values: an upper-case alpha-2 code.
    if let [a, b] = t.as_bytes()
        && a.is_ascii_uppercase()
        && b.is_ascii_uppercase()
    {
        let code = CountryCode([*a, *b]);
        if TABLE.by_alpha2.contains_key(&code) {
            return Some(code);
        }
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return from_iso_numeric(t.parse().ok()?);
    }
    TABLE.by_key.get(&fold(t)).copied()
}

/// ISO 3166-1 numeric code (ACLED's `iso` column).
pub fn from_iso_numeric(n: u16) -> Option<CountryCode> {
    TABLE.by_numeric.get(&n).copied()
}

/// Gleditsch-Ward state number (UCDP `country_id`).
pub fn from_gleditsch_ward(n: u16) -> Option<CountryCode> {
    GLEDITSCH_WARD
        .iter()
        .find(|(k, _)| *k == n)
        .and_then(|(_, a2)| lookup(a2))
}

/// Every country in the table.
pub fn all() -> &'static [Country] {
    &TABLE.countries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_codes_names_and_aliases() {
        let bf = CountryCode::parse("BF").unwrap();
        assert_eq!(CountryCode::parse("BFA"), Some(bf));
        assert_eq!(CountryCode::parse("854"), Some(bf));
        assert_eq!(CountryCode::parse("burkina faso"), Some(bf));
        assert_eq!(bf.info().name, "Burkina Faso");
        assert_eq!(
            CountryCode::parse("Côte d'Ivoire").map(|c| c.to_string()),
            Some("CI".into())
        );
        assert_eq!(
            CountryCode::parse("DR Congo (Zaire)").map(|c| c.to_string()),
            Some("CD".into())
        );
        assert_eq!(CountryCode::parse("Atlantis"), None);
        assert_eq!(CountryCode::parse(""), None);
    }

    #[test]
    fn gleditsch_ward_numbers_of_the_sahel() {
        for (gw, iso) in [
            (432, "ML"),
            (439, "BF"),
            (436, "NE"),
            (435, "MR"),
            (483, "TD"),
            (652, "SY"),
        ] {
            assert_eq!(
                from_gleditsch_ward(gw).map(|c| c.to_string()),
                Some(iso.to_string())
            );
        }
        assert_eq!(from_gleditsch_ward(9999), None);
    }

    #[test]
    fn every_gleditsch_ward_target_is_in_the_table() {
        for (gw, iso) in GLEDITSCH_WARD {
            assert!(lookup(iso).is_some(), "GW {gw} maps to unknown {iso}");
        }
    }
}
