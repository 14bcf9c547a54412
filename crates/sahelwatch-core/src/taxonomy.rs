//! The ACLED event taxonomy: 6 event types, 25 sub-event types, the `inter`
//! actor classes and the two precision codes.
//!
//! Source: ACLED Codebook (2023 edition, section "Event types and sub-event types";
//! section "Actor types" for `inter` codes; "Geo-precision" and "Time-precision").
//! Names are matched case-insensitively with runs of whitespace collapsed and
//! spaces around `/` ignored; anything else is refused rather than guessed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Normalise a vocabulary value for comparison: lower case, single spaces,
/// no spaces around slashes.
fn vocab_key(s: &str) -> String {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .replace(" /", "/")
        .replace("/ ", "/")
        .to_lowercase()
}

macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident { $( $variant:ident => $label:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( $variant ),+ }

        impl $name {
            /// Every value, in codebook order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The exact label used by the codebook and in exports.
            pub fn label(self) -> &'static str {
                match self { $( $name::$variant => $label ),+ }
            }

            /// Parse a label, tolerating case and spacing but nothing else.
            pub fn parse(s: &str) -> Option<Self> {
                // Exports almost always use the exact label: try that first, without allocating.
                if let Some(v) = Self::ALL.iter().copied().find(|v| v.label() == s) {
                    return Some(v);
                }
                static KEYS: std::sync::LazyLock<Vec<(String, $name)>> = std::sync::LazyLock::new(|| {
                    $name::ALL.iter().map(|v| (vocab_key(v.label()), *v)).collect()
                });
                let key = vocab_key(s);
                KEYS.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
            }

            /// A stable small integer (position in codebook order).
            pub fn code(self) -> u8 {
                Self::ALL.iter().position(|v| *v == self).unwrap_or(0) as u8
            }

            /// Inverse of [`Self::code`].
            pub fn from_code(code: u8) -> Option<Self> {
                Self::ALL.get(code as usize).copied()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.label()) }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.label())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| serde::de::Error::custom(format!(
                    "unknown {} '{}'", stringify!($name), s)))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([ $( $label ),+ ]))
                    .into()
            }
        }
        impl utoipa::ToSchema for $name {}
    };
}

vocabulary! {
    /// ACLED event type (6 values).
    EventType {
        Battles => "Battles",
        ExplosionsRemoteViolence => "Explosions/Remote violence",
        ViolenceAgainstCivilians => "Violence against civilians",
        Protests => "Protests",
        Riots => "Riots",
        StrategicDevelopments => "Strategic developments",
    }
}

vocabulary! {
    /// ACLED sub-event type (25 values), grouped by event type in codebook order.
    SubEventType {
        ArmedClash => "Armed clash",
        GovernmentRegainsTerritory => "Government regains territory",
        NonStateActorOvertakesTerritory => "Non-state actor overtakes territory",
        ChemicalWeapon => "Chemical weapon",
        AirDroneStrike => "Air/drone strike",
        SuicideBomb => "Suicide bomb",
        ShellingArtilleryMissileAttack => "Shelling/artillery/missile attack",
        RemoteExplosiveLandmineIed => "Remote explosive/landmine/IED",
        Grenade => "Grenade",
        SexualViolence => "Sexual violence",
        Attack => "Attack",
        AbductionForcedDisappearance => "Abduction/forced disappearance",
        PeacefulProtest => "Peaceful protest",
        ProtestWithIntervention => "Protest with intervention",
        ExcessiveForceAgainstProtesters => "Excessive force against protesters",
        ViolentDemonstration => "Violent demonstration",
        MobViolence => "Mob violence",
        Agreement => "Agreement",
        Arrests => "Arrests",
        ChangeToGroupActivity => "Change to group/activity",
        DisruptedWeaponsUse => "Disrupted weapons use",
        HeadquartersOrBaseEstablished => "Headquarters or base established",
        LootingPropertyDestruction => "Looting/property destruction",
        NonViolentTransferOfTerritory => "Non-violent transfer of territory",
        Other => "Other",
    }
}

vocabulary! {
    /// ACLED disorder type (current layout only).
    DisorderType {
        PoliticalViolence => "Political violence",
        Demonstrations => "Demonstrations",
        StrategicDevelopments => "Strategic developments",
        PoliticalViolenceDemonstrations => "Political violence; Demonstrations",
    }
}

impl SubEventType {
    /// The event type this sub-event type belongs to.
    pub fn event_type(self) -> EventType {
        use SubEventType::*;
        match self {
            ArmedClash | GovernmentRegainsTerritory | NonStateActorOvertakesTerritory => {
                EventType::Battles
            }
            ChemicalWeapon
            | AirDroneStrike
            | SuicideBomb
            | ShellingArtilleryMissileAttack
            | RemoteExplosiveLandmineIed
            | Grenade => EventType::ExplosionsRemoteViolence,
            SexualViolence | Attack | AbductionForcedDisappearance => {
                EventType::ViolenceAgainstCivilians
            }
            PeacefulProtest | ProtestWithIntervention | ExcessiveForceAgainstProtesters => {
                EventType::Protests
            }
            ViolentDemonstration | MobViolence => EventType::Riots,
            Agreement
            | Arrests
            | ChangeToGroupActivity
            | DisruptedWeaponsUse
            | HeadquartersOrBaseEstablished
            | LootingPropertyDestruction
            | NonViolentTransferOfTerritory
            | Other => EventType::StrategicDevelopments,
        }
    }

    /// The sub-event types of one event type.
    pub fn of(event_type: EventType) -> impl Iterator<Item = SubEventType> {
        Self::ALL
            .iter()
            .copied()
            .filter(move |s| s.event_type() == event_type)
    }

    /// The disorder type ACLED assigns to this sub-event type (used when an
    /// older export has no `disorder_type` column).
    pub fn default_disorder_type(self) -> DisorderType {
        match self.event_type() {
            EventType::Protests | EventType::Riots => DisorderType::Demonstrations,
            EventType::StrategicDevelopments => DisorderType::StrategicDevelopments,
            _ => DisorderType::PoliticalViolence,
        }
    }
}

/// A value that is neither an `inter` code nor an actor class label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownInter;

/// ACLED `inter` actor class. Code 0 ("no second actor") is represented by
/// the absence of an `Inter` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Inter {
    StateForces = 1,
    RebelGroups = 2,
    PoliticalMilitias = 3,
    IdentityMilitias = 4,
    Rioters = 5,
    Protesters = 6,
    Civilians = 7,
    ExternalOtherForces = 8,
}

impl Inter {
    pub const ALL: [Inter; 8] = [
        Inter::StateForces,
        Inter::RebelGroups,
        Inter::PoliticalMilitias,
        Inter::IdentityMilitias,
        Inter::Rioters,
        Inter::Protesters,
        Inter::Civilians,
        Inter::ExternalOtherForces,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get((code as usize).checked_sub(1)?).copied()
    }

    /// The label used by ACLED's current exports (which write labels instead of codes).
    pub fn label(self) -> &'static str {
        match self {
            Inter::StateForces => "State forces",
            Inter::RebelGroups => "Rebel group",
            Inter::PoliticalMilitias => "Political militia",
            Inter::IdentityMilitias => "Identity militia",
            Inter::Rioters => "Rioters",
            Inter::Protesters => "Protesters",
            Inter::Civilians => "Civilians",
            Inter::ExternalOtherForces => "External/Other forces",
        }
    }

    /// Parse either a numeric code ("1".."8") or a label (current exports,
    /// singular or plural). Returns `Ok(None)` for "0" or an empty value.
    pub fn parse(s: &str) -> Result<Option<Self>, UnknownInter> {
        let t = s.trim();
        if t.is_empty() || t == "0" {
            return Ok(None);
        }
        if let Ok(n) = t.parse::<u8>() {
            return Inter::from_code(n).map(Some).ok_or(UnknownInter);
        }
        if let Some(v) = Self::ALL.iter().copied().find(|v| v.label() == t) {
            return Ok(Some(v));
        }
        let key = vocab_key(t);
        for v in Self::ALL {
            let label = vocab_key(v.label());
            let plural = format!("{label}s");
            if key == label || key == plural || key.trim_end_matches('s') == label {
                return Ok(Some(v));
            }
        }
        Err(UnknownInter)
    }

    /// ACLED `interaction` code for a pair of actor classes: the two codes
    /// with the smaller first ("12"), or "10" style for a sole actor.
    pub fn interaction(a: Option<Inter>, b: Option<Inter>) -> Option<u8> {
        match (a, b) {
            (None, None) => None,
            (Some(x), None) | (None, Some(x)) => Some(x.code() * 10),
            (Some(x), Some(y)) => {
                let (lo, hi) = if x.code() <= y.code() { (x, y) } else { (y, x) };
                Some(lo.code() * 10 + hi.code())
            }
        }
    }
}

impl Serialize for Inter {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for Inter {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u8::deserialize(d)?;
        Inter::from_code(n)
            .ok_or_else(|| serde::de::Error::custom(format!("inter code {n} is not 1-8")))
    }
}

/// A 1-3 precision code (ACLED `geo_precision` and `time_precision`).
/// 1 is the most precise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Precision(u8);

impl Precision {
    pub const EXACT: Precision = Precision(1);
    pub const NEAR: Precision = Precision(2);
    pub const COARSE: Precision = Precision(3);

    pub fn new(v: u8) -> Option<Self> {
        (1..=3).contains(&v).then_some(Precision(v))
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Precision {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        Precision::new(v).ok_or_else(|| format!("precision {v} is not 1, 2 or 3"))
    }
}

impl From<Precision> for u8 {
    fn from(p: Precision) -> u8 {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codebook_has_six_event_types_and_twenty_five_sub_event_types() {
        assert_eq!(EventType::ALL.len(), 6);
        assert_eq!(SubEventType::ALL.len(), 25);
        let per_type: Vec<usize> = EventType::ALL
            .iter()
            .map(|t| SubEventType::of(*t).count())
            .collect();
        assert_eq!(per_type, vec![3, 6, 3, 3, 2, 8]);
    }

    #[test]
    fn sub_event_types_are_grouped_contiguously_by_event_type() {
        // The query index relies on this: an event type is a range of sub-event codes.
        let mut last = 0;
        for s in SubEventType::ALL {
            let t = s.event_type().code();
            assert!(t >= last, "{s} breaks grouping");
            last = t;
        }
    }

    #[test]
    fn labels_parse_with_case_and_spacing_tolerance_only() {
        assert_eq!(
            SubEventType::parse("remote explosive / landmine / IED"),
            Some(SubEventType::RemoteExplosiveLandmineIed)
        );
        assert_eq!(
            EventType::parse("Explosions/Remote  violence"),
            Some(EventType::ExplosionsRemoteViolence)
        );
        assert_eq!(SubEventType::parse("Armed clashes"), None);
        assert_eq!(EventType::parse("Remote violence"), None);
    }

    #[test]
    fn inter_accepts_codes_and_current_labels() {
        assert_eq!(Inter::parse("1"), Ok(Some(Inter::StateForces)));
        assert_eq!(Inter::parse("State forces"), Ok(Some(Inter::StateForces)));
        assert_eq!(Inter::parse("Rebel groups"), Ok(Some(Inter::RebelGroups)));
        assert_eq!(Inter::parse("0"), Ok(None));
        assert_eq!(Inter::parse(""), Ok(None));
        assert_eq!(Inter::parse("9"), Err(UnknownInter));
        assert_eq!(Inter::parse("Aliens"), Err(UnknownInter));
        assert_eq!(
            Inter::interaction(Some(Inter::RebelGroups), Some(Inter::StateForces)),
            Some(12)
        );
        assert_eq!(Inter::interaction(Some(Inter::Civilians), None), Some(70));
    }

    #[test]
    fn precision_is_one_to_three() {
        assert!(Precision::new(0).is_none());
        assert!(Precision::new(4).is_none());
        assert_eq!(Precision::new(2).map(Precision::get), Some(2));
    }
}
