//! Traffic Light Protocol 2.0 markings (FIRST TLP 2.0, August 2022).
//!
//! - RED: for the eyes and ears of individual recipients only.
//! - AMBER+STRICT: the recipient's organisation only.
//! - AMBER: the recipient's organisation and its clients, need-to-know.
//! - GREEN: within the community (here: every organisation of the deployment).
//! - CLEAR: no limit on disclosure.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A TLP 2.0 marking. Ordered from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Tlp {
    #[default]
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

impl Tlp {
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The label without the `TLP:` prefix, as stored: `CLEAR`, `AMBER+STRICT`, ...
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "CLEAR",
            Tlp::Green => "GREEN",
            Tlp::Amber => "AMBER",
            Tlp::AmberStrict => "AMBER+STRICT",
            Tlp::Red => "RED",
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(c: u8) -> Option<Tlp> {
        Self::ALL.get(c as usize).copied()
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Error for a marking that is not TLP 2.0. TLP 1.0 "WHITE" is refused on
/// purpose: silently mapping it would hide a data-quality problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a TLP 2.0 marking (expected CLEAR, GREEN, AMBER, AMBER+STRICT or RED)")]
pub struct TlpParseError(pub String);

impl FromStr for Tlp {
    type Err = TlpParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t
            .strip_prefix("TLP:")
            .or_else(|| t.strip_prefix("tlp:"))
            .unwrap_or(t);
        let up = t.to_ascii_uppercase().replace(['_', ' '], "+");
        match up.as_str() {
            "CLEAR" => Ok(Tlp::Clear),
            "GREEN" => Ok(Tlp::Green),
            "AMBER" => Ok(Tlp::Amber),
            "AMBER+STRICT" => Ok(Tlp::AmberStrict),
            "RED" => Ok(Tlp::Red),
            _ => Err(TlpParseError(s.to_string())),
        }
    }
}

impl Serialize for Tlp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

impl<'de> Deserialize<'de> for Tlp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Tlp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]))
            .into()
    }
}
impl utoipa::ToSchema for Tlp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tlp2_labels_with_or_without_prefix() {
        assert_eq!("TLP:AMBER+STRICT".parse(), Ok(Tlp::AmberStrict));
        assert_eq!("amber_strict".parse(), Ok(Tlp::AmberStrict));
        assert_eq!("clear".parse(), Ok(Tlp::Clear));
        assert!("WHITE".parse::<Tlp>().is_err());
    }

    #[test]
    fn order_is_least_to_most_restrictive() {
        assert!(
            Tlp::Clear < Tlp::Green && Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red
        );
    }
}
