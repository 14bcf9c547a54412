//! The whole extraction of one report text: checks on the input, language,
//! then dates, actors, places (which may not overlap what dates and actors
//! explain) and what happened.

use crate::Found;
use crate::actors::{ActorDictionary, ActorMention};
use crate::dates::{self, DateMention};
use crate::events::{self, EventsFound};
use crate::lang::{self, Lang};
use crate::places::{PlaceIndex, PlacesFound};
use chrono::NaiveDate;
use sahelwatch_core::Inter;
use sahelwatch_core::fusion::{distance_km, is_unidentified};
use sahelwatch_core::report::{ClaimedPlace, Claims};
use serde::Serialize;

/// Largest text accepted by default (bytes); a deployment may set another.
pub const DEFAULT_MAX_BYTES: usize = 256 * 1024;

/// Why a text cannot be read as a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the text is empty")]
    Empty,
    #[error("the text is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "the text is not valid UTF-8: invalid byte at offset {offset} (convert it to UTF-8 first)"
    )]
    NotUtf8 { offset: usize },
    #[error("the text looks binary: {what} at byte offset {offset}")]
    Binary { what: &'static str, offset: usize },
}

/// Check raw bytes and return them as text.
pub fn text_of(bytes: &[u8], limit: usize) -> Result<&str, TextError> {
    if bytes.len() > limit {
        return Err(TextError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| TextError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    check(text, limit)?;
    Ok(text)
}

/// Check a text: not empty, not too large, not binary (NUL bytes or a high
/// share of control characters).
pub fn check(text: &str, limit: usize) -> Result<(), TextError> {
    if text.len() > limit {
        return Err(TextError::TooLarge {
            size: text.len(),
            limit,
        });
    }
    if text.trim().is_empty() {
        return Err(TextError::Empty);
    }
    if let Some(offset) = text.find('\0') {
        return Err(TextError::Binary {
            what: "a NUL byte",
            offset,
        });
    }
    let controls = text
        .chars()
        .filter(|c| c.is_control() && !c.is_whitespace())
        .count();
    if controls * 20 > text.chars().count() {
        let offset = text
            .find(|c: char| c.is_control() && !c.is_whitespace())
            .unwrap_or(0);
        return Err(TextError::Binary {
            what: "control characters (more than 5 %)",
            offset,
        });
    }
    Ok(())
}

/// Everything found in one report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extraction {
    pub lang: Lang,
    /// True when the language was detected rather than given.
    pub lang_detected: bool,
    pub dates: Vec<Found<DateMention>>,
    /// Index into `dates` of the event's date, if any.
    pub event_date: Option<usize>,
    pub actors: Vec<Found<ActorMention>>,
    #[serde(flatten)]
    pub places: PlacesFound,
    #[serde(flatten)]
    pub events: EventsFound,
    /// No place could be found: the report is kept, flagged unlocated.
    pub unlocated: bool,
}

/// Extract from a checked text. `lang`: as given by the filer, else detected
/// (English when the text gives no clue).
pub fn extract(
    text: &str,
    published: NaiveDate,
    lang: Option<Lang>,
    actors: &ActorDictionary,
    places: &PlaceIndex,
) -> Extraction {
    let (lang, lang_detected) = match lang {
        Some(l) => (l, false),
        None => (lang::detect(text).map_or(Lang::En, |d| d.0), true),
    };
    let found_dates = dates::extract(text, published);
    let event_date = dates::event_date(&found_dates, published)
        .and_then(|e| found_dates.iter().position(|d| std::ptr::eq(d, e)));
    let found_actors = actors.extract(text);
    let taken: Vec<std::ops::Range<usize>> = found_dates
        .iter()
        .map(|d| d.span.start..d.span.end)
        .chain(found_actors.iter().map(|a| a.span.start..a.span.end))
        .collect();
    let found_places = places.extract(text, &taken);
    let unlocated = found_places.places.is_empty();
    Extraction {
        lang,
        lang_detected,
        dates: found_dates,
        event_date,
        actors: found_actors,
        places: found_places,
        events: events::extract(text),
        unlocated,
    }
}

impl Extraction {
    /// What the report claims about its event, from what was found: the
    /// event date; the place (a road segment if one was named, else the
    /// first of the most confident places); the type, deaths and hostages;
    /// the perpetrator (the first named armed non-state actor, else an
    /// unidentified one, else the first actor); the kidnap-case step and ransom.
    pub fn claims(&self) -> Claims {
        let date = self.event_date.and_then(|i| self.dates.get(i));
        let place = if let Some(seg) = self.places.segments.first() {
            let (a, b) = (&seg.value.from, &seg.value.to);
            let half = distance_km((a.latitude, a.longitude), (b.latitude, b.longitude)) / 2.0;
            Some(ClaimedPlace {
                name: format!("{} - {}", a.name, b.name),
                latitude: (a.latitude + b.latitude) / 2.0,
                longitude: (a.longitude + b.longitude) / 2.0,
                uncertainty_km: half + 5.0,
                country: a.country.or(b.country),
                admin1: a.admin1.clone(),
                geonames_id: None,
                segment: Some((a.name.clone(), b.name.clone())),
            })
        } else {
            let best = self
                .places
                .places
                .iter()
                .map(|p| p.confidence)
                .fold(0.0f32, f32::max);
            self.places
                .places
                .iter()
                .find(|p| p.confidence >= best - 0.15)
                .map(|p| {
                    let r = &p.value.place;
                    ClaimedPlace {
                        name: r.name.clone(),
                        latitude: r.latitude,
                        longitude: r.longitude,
                        uncertainty_km: match r.feature_code.as_str() {
                            "ADM1" | "PCLI" => 150.0,
                            "ADM2" => 60.0,
                            c if c.starts_with("PPL") => 5.0,
                            _ => 15.0,
                        },
                        country: r.country,
                        admin1: r.admin1.clone(),
                        geonames_id: Some(r.id),
                        segment: None,
                    }
                })
        };
        let armed = |i: Inter| {
            matches!(
                i,
                Inter::RebelGroups | Inter::PoliticalMilitias | Inter::IdentityMilitias
            )
        };
        let named = |a: &&Found<ActorMention>| !is_unidentified(&a.value.name);
        let perpetrator = self
            .actors
            .iter()
            .filter(named)
            .find(|a| armed(a.value.inter))
            .or(self.actors.iter().find(|a| armed(a.value.inter)))
            .or(self.actors.first())
            .map(|a| a.value.name.clone());
        let mut actors: Vec<String> = Vec::new();
        for a in &self.actors {
            if !actors.contains(&a.value.name) {
                actors.push(a.value.name.clone());
            }
        }
        let hostages = self.events.hostages.as_ref().map(|h| &h.value);
        Claims {
            event_date: date.map(|d| d.value.date),
            date_earliest: date.map(|d| d.value.earliest),
            date_latest: date.map(|d| d.value.latest),
            place,
            sub_event_type: self.events.event.as_ref().map(|e| e.value.sub_event_type),
            fatalities: self.events.fatalities,
            perpetrator,
            actors,
            hostages: hostages.and_then(|h| h.count),
            hostage_nationality: hostages.and_then(|h| h.nationality.clone()),
            hostage_occupation: hostages.and_then(|h| h.occupation.clone()),
            case_step: self.events.case_step.as_ref().map(|s| s.value),
            ransom_paid: self.events.ransom_paid.as_ref().map(|r| r.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_texts_are_refused_with_what_and_where() {
        assert_eq!(text_of(b"", 100), Err(TextError::Empty));
        assert_eq!(text_of(b"  \n ", 100), Err(TextError::Empty));
        assert_eq!(
            text_of(&[b'a'; 101], 100),
            Err(TextError::TooLarge {
                size: 101,
                limit: 100
            })
        );
        assert_eq!(
            text_of(b"caf\xe9 au lait", 100),
            Err(TextError::NotUtf8 { offset: 3 })
        );
        assert_eq!(
            text_of(b"abc\0def", 100),
            Err(TextError::Binary {
                what: "a NUL byte",
                offset: 3
            })
        );
        let noisy: Vec<u8> = (0..60u8)
            .map(|i| if i % 4 == 0 { 0x01 } else { b'x' })
            .collect();
        assert!(matches!(
            text_of(&noisy, 100),
            Err(TextError::Binary { offset: 0, .. })
        ));
        assert_eq!(text_of("Téra, lundi.".as_bytes(), 100), Ok("Téra, lundi."));
        let e = text_of(b"caf\xe9", 100).unwrap_err().to_string();
        assert!(e.contains("offset 3"), "{e}");
    }
}
