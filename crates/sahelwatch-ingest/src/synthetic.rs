//! A seeded generator of SYNTHETIC incidents in the current ACLED CSV layout,
//! for benchmarks and load tests. Nothing it produces is real: every id starts
//! with `SYN`, every note starts with `[SYNTHETIC]` and the source is
//! "sahelwatch synthetic generator".
//!
//! Events are drawn around real Sahel towns (weighted toward the Liptako-Gourma
//! three-borders area), jittered by about 25 km, over 2012-01-01..2026-09-30
//! with a density that rises over time, with an event-type mix and fatality
//! distribution loosely shaped like the region's. The same seed gives the same
//! rows on every machine (ChaCha8).

use crate::acled::CURRENT_COLUMNS;
use chrono::{Datelike, Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sahelwatch_core::{EventType, Inter, SubEventType};
use std::io::Write;

struct Town {
    name: &'static str,
    lat: f64,
    lon: f64,
    iso: u16,
    iso3: &'static str,
    country: &'static str,
    admin1: &'static str,
    admin2: &'static str,
    weight: u32,
}

// A constructor for the town table, one positional argument per column.
#[allow(clippy::too_many_arguments)]
const fn t(
    name: &'static str,
    lat: f64,
    lon: f64,
    iso: u16,
    iso3: &'static str,
    country: &'static str,
    admin1: &'static str,
    admin2: &'static str,
    weight: u32,
) -> Town {
    Town {
        name,
        lat,
        lon,
        iso,
        iso3,
        country,
        admin1,
        admin2,
        weight,
    }
}

const TOWNS: &[Town] = &[
    t(
        "Ouagadougou",
        12.3714,
        -1.5197,
        854,
        "BFA",
        "Burkina Faso",
        "Centre",
        "Kadiogo",
        3,
    ),
    t(
        "Dori",
        14.0354,
        -0.0345,
        854,
        "BFA",
        "Burkina Faso",
        "Sahel",
        "Seno",
        9,
    ),
    t(
        "Djibo",
        14.1010,
        -1.6306,
        854,
        "BFA",
        "Burkina Faso",
        "Sahel",
        "Soum",
        10,
    ),
    t(
        "Arbinda",
        14.2297,
        -0.8675,
        854,
        "BFA",
        "Burkina Faso",
        "Sahel",
        "Soum",
        7,
    ),
    t(
        "Gorom-Gorom",
        14.4439,
        -0.2361,
        854,
        "BFA",
        "Burkina Faso",
        "Sahel",
        "Oudalan",
        6,
    ),
    t(
        "Sebba",
        13.4364,
        0.5300,
        854,
        "BFA",
        "Burkina Faso",
        "Sahel",
        "Yagha",
        6,
    ),
    t(
        "Kaya",
        13.0917,
        -1.0844,
        854,
        "BFA",
        "Burkina Faso",
        "Centre-Nord",
        "Sanmatenga",
        6,
    ),
    t(
        "Kongoussi",
        13.3261,
        -1.5336,
        854,
        "BFA",
        "Burkina Faso",
        "Centre-Nord",
        "Bam",
        4,
    ),
    t(
        "Ouahigouya",
        13.5828,
        -2.4216,
        854,
        "BFA",
        "Burkina Faso",
        "Nord",
        "Yatenga",
        5,
    ),
    t(
        "Fada N'Gourma",
        12.0616,
        0.3584,
        854,
        "BFA",
        "Burkina Faso",
        "Est",
        "Gourma",
        6,
    ),
    t(
        "Diapaga",
        12.0708,
        1.7889,
        854,
        "BFA",
        "Burkina Faso",
        "Est",
        "Tapoa",
        5,
    ),
    t(
        "Tougan",
        13.0690,
        -3.0700,
        854,
        "BFA",
        "Burkina Faso",
        "Boucle du Mouhoun",
        "Sourou",
        4,
    ),
    t(
        "Bobo-Dioulasso",
        11.1771,
        -4.2979,
        854,
        "BFA",
        "Burkina Faso",
        "Hauts-Bassins",
        "Houet",
        2,
    ),
    t(
        "Bamako", 12.6392, -8.0029, 466, "MLI", "Mali", "Bamako", "Bamako", 3,
    ),
    t(
        "Kati",
        12.7441,
        -8.0726,
        466,
        "MLI",
        "Mali",
        "Koulikoro",
        "Kati",
        2,
    ),
    t(
        "Segou", 13.4317, -6.2157, 466, "MLI", "Mali", "Segou", "Segou", 4,
    ),
    t(
        "Niono", 14.2526, -5.9930, 466, "MLI", "Mali", "Segou", "Niono", 5,
    ),
    t(
        "Mopti", 14.4843, -4.1827, 466, "MLI", "Mali", "Mopti", "Mopti", 6,
    ),
    t(
        "Djenne", 13.9061, -4.5533, 466, "MLI", "Mali", "Mopti", "Djenne", 4,
    ),
    t(
        "Bandiagara",
        14.3500,
        -3.6100,
        466,
        "MLI",
        "Mali",
        "Mopti",
        "Bandiagara",
        7,
    ),
    t(
        "Koro", 14.0700, -3.0800, 466, "MLI", "Mali", "Mopti", "Koro", 6,
    ),
    t(
        "Douentza", 15.0019, -2.9497, 466, "MLI", "Mali", "Mopti", "Douentza", 6,
    ),
    t(
        "Timbuktu", 16.7735, -3.0074, 466, "MLI", "Mali", "Timbuktu", "Timbuktu", 5,
    ),
    t("Gao", 16.2717, -0.0447, 466, "MLI", "Mali", "Gao", "Gao", 7),
    t(
        "Ansongo", 15.6597, 0.5022, 466, "MLI", "Mali", "Gao", "Ansongo", 6,
    ),
    t(
        "Menaka", 15.9182, 2.4022, 466, "MLI", "Mali", "Menaka", "Menaka", 7,
    ),
    t(
        "Kidal", 18.4411, 1.4078, 466, "MLI", "Mali", "Kidal", "Kidal", 4,
    ),
    t(
        "Nioro du Sahel",
        15.2300,
        -9.5900,
        466,
        "MLI",
        "Mali",
        "Kayes",
        "Nioro",
        2,
    ),
    t(
        "Niamey", 13.5116, 2.1254, 562, "NER", "Niger", "Niamey", "Niamey", 3,
    ),
    t(
        "Tera",
        14.0078,
        0.7531,
        562,
        "NER",
        "Niger",
        "Tillaberi",
        "Tera",
        8,
    ),
    t(
        "Tillaberi",
        14.2117,
        1.4531,
        562,
        "NER",
        "Niger",
        "Tillaberi",
        "Tillaberi",
        6,
    ),
    t(
        "Ouallam",
        14.3186,
        2.0866,
        562,
        "NER",
        "Niger",
        "Tillaberi",
        "Ouallam",
        6,
    ),
    t(
        "Ayorou",
        14.7308,
        0.9174,
        562,
        "NER",
        "Niger",
        "Tillaberi",
        "Tillaberi",
        5,
    ),
    t(
        "Banibangou",
        15.0400,
        2.7000,
        562,
        "NER",
        "Niger",
        "Tillaberi",
        "Banibangou",
        5,
    ),
    t(
        "Abala",
        14.9300,
        3.4300,
        562,
        "NER",
        "Niger",
        "Tillaberi",
        "Abala",
        4,
    ),
    t(
        "Tillia", 16.1400, 4.7900, 562, "NER", "Niger", "Tahoua", "Tillia", 4,
    ),
    t(
        "Tahoua", 14.8888, 5.2692, 562, "NER", "Niger", "Tahoua", "Tahoua", 2,
    ),
    t(
        "Diffa", 13.3154, 12.6113, 562, "NER", "Niger", "Diffa", "Diffa", 5,
    ),
    t(
        "Maiduguri",
        11.8311,
        13.1510,
        566,
        "NGA",
        "Nigeria",
        "Borno",
        "Maiduguri",
        6,
    ),
    t(
        "Bol", 13.4586, 14.7147, 148, "TCD", "Chad", "Lac", "Mamdi", 3,
    ),
    t(
        "Bassikounou",
        15.8700,
        -5.9600,
        478,
        "MRT",
        "Mauritania",
        "Hodh ech Chargui",
        "Bassikounou",
        1,
    ),
    t(
        "Banikoara",
        11.2985,
        2.4386,
        204,
        "BEN",
        "Benin",
        "Alibori",
        "Banikoara",
        2,
    ),
    t(
        "Dapaong", 10.8623, 0.2076, 768, "TGO", "Togo", "Savanes", "Tone", 2,
    ),
];

/// (sub-event type, weight per 1000 events)
const SUB_EVENTS: &[(SubEventType, u32)] = &[
    (SubEventType::ArmedClash, 260),
    (SubEventType::GovernmentRegainsTerritory, 6),
    (SubEventType::NonStateActorOvertakesTerritory, 8),
    (SubEventType::AirDroneStrike, 45),
    (SubEventType::ShellingArtilleryMissileAttack, 10),
    (SubEventType::RemoteExplosiveLandmineIed, 70),
    (SubEventType::SuicideBomb, 2),
    (SubEventType::Grenade, 2),
    (SubEventType::Attack, 260),
    (SubEventType::AbductionForcedDisappearance, 60),
    (SubEventType::SexualViolence, 5),
    (SubEventType::PeacefulProtest, 70),
    (SubEventType::ProtestWithIntervention, 8),
    (SubEventType::ExcessiveForceAgainstProtesters, 2),
    (SubEventType::ViolentDemonstration, 20),
    (SubEventType::MobViolence, 22),
    (SubEventType::LootingPropertyDestruction, 70),
    (SubEventType::Arrests, 30),
    (SubEventType::ChangeToGroupActivity, 20),
    (SubEventType::HeadquartersOrBaseEstablished, 8),
    (SubEventType::Agreement, 5),
    (SubEventType::DisruptedWeaponsUse, 10),
    (SubEventType::NonViolentTransferOfTerritory, 3),
    (SubEventType::Other, 4),
];

const ARMED: &[(&str, Inter)] = &[
    (
        "JNIM: Jama'ah Nusrah al-Islam wal Muslimin",
        Inter::RebelGroups,
    ),
    ("Islamic State (Sahel)", Inter::RebelGroups),
    (
        "Islamic State West Africa Province (ISWAP)",
        Inter::RebelGroups,
    ),
    ("Ansaroul Islam", Inter::RebelGroups),
    ("Unidentified Armed Group", Inter::PoliticalMilitias),
    ("Fulani Ethnic Militia", Inter::IdentityMilitias),
    ("Dozo Communal Militia", Inter::IdentityMilitias),
];

const SOURCES: &[&str] = &[
    "Le Faso",
    "AIB",
    "Studio Tamani",
    "RFI",
    "ActuNiger",
    "Reuters",
    "AFP",
    "Sahelien",
    "Local sources",
];

fn state_forces(country: &str) -> String {
    match country {
        "Burkina Faso" => "Military Forces of Burkina Faso (2022-)".into(),
        "Mali" => "Military Forces of Mali (2021-)".into(),
        "Niger" => "Military Forces of Niger (2023-)".into(),
        c => format!("Military Forces of {c}"),
    }
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut r = rng.random_range(0..total);
    for it in items {
        let w = weight(it);
        if r < w {
            return it;
        }
        r -= w;
    }
    &items[items.len() - 1]
}

/// An endless, deterministic stream of synthetic ACLED rows (current layout).
pub struct SyntheticAcled {
    rng: ChaCha8Rng,
    n: u64,
    start: NaiveDate,
    days: i64,
}

impl SyntheticAcled {
    pub fn new(seed: u64) -> Self {
        let start = NaiveDate::from_ymd_opt(2012, 1, 1).expect("valid date");
        let end = NaiveDate::from_ymd_opt(2026, 9, 30).expect("valid date");
        SyntheticAcled {
            rng: ChaCha8Rng::seed_from_u64(seed),
            n: 0,
            start,
            days: (end - start).num_days(),
        }
    }

    /// The next row, as the 31 fields of [`CURRENT_COLUMNS`].
    pub fn next_row(&mut self) -> Vec<String> {
        self.n += 1;
        let rng = &mut self.rng;
        let town = pick(rng, TOWNS, |t| t.weight);
        // Sum of three uniforms: a bell shape with a standard deviation near 0.2 degrees.
        let jitter =
            |rng: &mut ChaCha8Rng| (0..3).map(|_| rng.random_range(-0.35..0.35)).sum::<f64>();
        let lat = (town.lat + jitter(rng)).clamp(-90.0, 90.0);
        let lon = (town.lon + jitter(rng)).clamp(-180.0, 180.0);
        // Density rising over time: the max of two uniforms leans to later dates.
        let u: f64 = rng.random::<f64>().max(rng.random::<f64>());
        let date = self.start + Duration::days((u * self.days as f64) as i64);
        let (sub, _) = *pick(rng, SUB_EVENTS, |s| s.1);
        let et = sub.event_type();
        let state = state_forces(town.country);
        let (a1, i1, a2, i2): (String, Inter, String, Option<Inter>) = match et {
            EventType::Battles => {
                let (g, gi) = ARMED[rng.random_range(0..ARMED.len())];
                if rng.random_bool(0.7) {
                    (g.to_string(), gi, state, Some(Inter::StateForces))
                } else {
                    let (h, hi) = ARMED[rng.random_range(0..ARMED.len())];
                    (g.to_string(), gi, h.to_string(), Some(hi))
                }
            }
            EventType::ExplosionsRemoteViolence if sub == SubEventType::AirDroneStrike => {
                let (g, gi) = ARMED[rng.random_range(0..4)];
                (state, Inter::StateForces, g.to_string(), Some(gi))
            }
            EventType::ExplosionsRemoteViolence => {
                let (g, gi) = ARMED[rng.random_range(0..4)];
                (g.to_string(), gi, state, Some(Inter::StateForces))
            }
            EventType::ViolenceAgainstCivilians => {
                let (g, gi) = ARMED[rng.random_range(0..ARMED.len())];
                (
                    g.to_string(),
                    gi,
                    format!("Civilians ({})", town.country),
                    Some(Inter::Civilians),
                )
            }
            EventType::Protests => (
                format!("Protesters ({})", town.country),
                Inter::Protesters,
                String::new(),
                None,
            ),
            EventType::Riots => (
                format!("Rioters ({})", town.country),
                Inter::Rioters,
                String::new(),
                None,
            ),
            EventType::StrategicDevelopments => {
                let (g, gi) = ARMED[rng.random_range(0..ARMED.len())];
                (g.to_string(), gi, String::new(), None)
            }
        };
        let violent = matches!(
            et,
            EventType::Battles
                | EventType::ExplosionsRemoteViolence
                | EventType::ViolenceAgainstCivilians
        );
        let fatalities: u32 = if violent && rng.random_bool(0.6) {
            // Geometric tail: mostly a few, sometimes dozens.
            let mut f = 1;
            while f < 200 && rng.random_bool(0.78) {
                f += 1;
            }
            f
        } else {
            0
        };
        let civ = et == EventType::ViolenceAgainstCivilians
            || (et == EventType::ExplosionsRemoteViolence && rng.random_bool(0.2));
        let time_precision = [1, 1, 1, 1, 1, 1, 1, 1, 2, 3][rng.random_range(0..10)];
        let geo_precision = [1, 1, 1, 1, 1, 1, 1, 2, 2, 3][rng.random_range(0..10)];
        let source = SOURCES[rng.random_range(0..SOURCES.len())];
        let lag = rng.random_range(2..40);
        let ts = (date + Duration::days(lag))
            .and_hms_opt(12, 0, 0)
            .map(|d| d.and_utc().timestamp())
            .unwrap_or(0);
        let notes = format!(
            "[SYNTHETIC] On {} {}, {} {} {} near {} ({}, {}). {} fatalities reported.",
            date.day(),
            date.format("%B %Y"),
            a1,
            match et {
                EventType::Battles => "clashed with",
                EventType::ExplosionsRemoteViolence => "struck",
                EventType::ViolenceAgainstCivilians => "attacked",
                EventType::Protests => "demonstrated",
                EventType::Riots => "rioted",
                EventType::StrategicDevelopments => "was active",
            },
            if a2.is_empty() { "" } else { a2.as_str() },
            town.name,
            town.admin2,
            town.admin1,
            fatalities
        );
        vec![
            format!("SYN{}{:09}", town.iso3, self.n),
            date.format("%Y-%m-%d").to_string(),
            date.year().to_string(),
            time_precision.to_string(),
            sub.default_disorder_type().label().to_string(),
            et.label().to_string(),
            sub.label().to_string(),
            a1,
            String::new(),
            i1.label().to_string(),
            a2,
            String::new(),
            i2.map(|i| i.label().to_string()).unwrap_or_default(),
            Inter::interaction(Some(i1), i2)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            if civ {
                "Civilian targeting".into()
            } else {
                String::new()
            },
            town.iso.to_string(),
            "Western Africa".to_string(),
            town.country.to_string(),
            town.admin1.to_string(),
            town.admin2.to_string(),
            String::new(),
            town.name.to_string(),
            format!("{lat:.4}"),
            format!("{lon:.4}"),
            geo_precision.to_string(),
            format!("{source}; sahelwatch synthetic generator"),
            "National".to_string(),
            notes,
            fatalities.to_string(),
            String::new(),
            ts.to_string(),
        ]
    }
}

/// Write `rows` synthetic incidents as an ACLED CSV (current layout).
pub fn write_csv<W: Write>(out: W, seed: u64, rows: u64) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CURRENT_COLUMNS)?;
    let mut g = SyntheticAcled::new(seed);
    for _ in 0..rows {
        w.write_record(g.next_row())?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IncidentRows;

    #[test]
    fn same_seed_same_rows_and_every_row_imports() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_csv(&mut a, 7, 2000).unwrap();
        write_csv(&mut b, 7, 2000).unwrap();
        assert_eq!(a, b);
        let reader = crate::acled::AcledReader::new(std::io::Cursor::new(a)).unwrap();
        assert_eq!(reader.describe(), "ACLED current layout");
        let mut n = 0;
        for item in reader {
            let p = item.unwrap_or_else(|e| panic!("{e}"));
            assert!(p.data.notes.starts_with("[SYNTHETIC]"));
            assert!(p.data.external_id.as_deref().unwrap().starts_with("SYN"));
            n += 1;
        }
        assert_eq!(n, 2000);
    }
}
