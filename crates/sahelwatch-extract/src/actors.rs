//! Actors named in a text, from a curated dictionary of the region's armed
//! actors with English and French aliases (`data/actors.toml`, documented
//! there), extendable by configuration.
//!
//! Names are matched on folded text (case, accents and punctuation ignored),
//! whole words only, longest alias first; acronyms must appear as written.

use crate::{Found, Span, without_overlaps};
use aho_corasick::{AhoCorasick, MatchKind};
use sahelwatch_core::Inter;
use sahelwatch_core::text::{fold, fold_mapped, source_span};
use serde::{Deserialize, Serialize};

/// The dictionary bundled with sahelwatch.
pub const BUILTIN: &str = include_str!("../data/actors.toml");

/// An actor found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActorMention {
    /// The canonical (ACLED) name.
    pub name: String,
    /// ACLED's actor type.
    pub inter: Inter,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    inter: Option<u8>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    weak_aliases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    actor: Vec<Entry>,
}

/// What is wrong with a dictionary file.
#[derive(Debug, thiserror::Error)]
pub enum DictionaryError {
    #[error("actor dictionary: {0}")]
    Syntax(String),
    #[error("actor dictionary: actor '{name}': {message}")]
    Entry { name: String, message: String },
}

struct Alias {
    actor: usize,
    weak: bool,
}

/// The compiled dictionary.
pub struct ActorDictionary {
    actors: Vec<ActorMention>,
    /// Folded aliases (matched on folded text).
    folded: Vec<Alias>,
    folded_matcher: AhoCorasick,
    /// Acronyms (matched case-sensitively on the source).
    acronyms: Vec<Alias>,
    acronym_matcher: AhoCorasick,
}

/// A short alias with a capital after its first letter ("JNIM", "IS",
/// "FAMa") is an acronym: matched as written, so that "is" and "fama" are not.
fn is_acronym(alias: &str) -> bool {
    let letters: Vec<char> = alias.chars().filter(|c| c.is_alphanumeric()).collect();
    letters.len() <= 6 && letters.iter().skip(1).any(|c| c.is_uppercase())
}

impl ActorDictionary {
    /// The bundled dictionary.
    pub fn builtin() -> ActorDictionary {
        ActorDictionary::from_toml(&[BUILTIN]).expect("the bundled actor dictionary is valid")
    }

    /// The bundled dictionary extended (or overridden, alias by alias) by `extra`.
    pub fn with_extra(extra: &str) -> Result<ActorDictionary, DictionaryError> {
        ActorDictionary::from_toml(&[BUILTIN, extra])
    }

    /// Dictionaries merged in order: a later entry with an existing name adds
    /// aliases (and may set `inter`); a new name adds an actor.
    pub fn from_toml(files: &[&str]) -> Result<ActorDictionary, DictionaryError> {
        let mut actors: Vec<ActorMention> = Vec::new();
        let mut strong: Vec<Vec<String>> = Vec::new();
        let mut weak: Vec<Vec<String>> = Vec::new();
        for text in files {
            let file: File =
                toml::from_str(text).map_err(|e| DictionaryError::Syntax(e.to_string()))?;
            for e in file.actor {
                let bad = |message: &str| DictionaryError::Entry {
                    name: e.name.clone(),
                    message: message.into(),
                };
                if e.name.trim().is_empty() {
                    return Err(bad("the name is empty"));
                }
                let inter = e
                    .inter
                    .map(|i| {
                        Inter::from_code(i).ok_or_else(|| {
                            bad(&format!("inter {i} is not an ACLED actor type (1..8)"))
                        })
                    })
                    .transpose()?;
                let k = match actors.iter().position(|a| a.name == e.name) {
                    Some(k) => {
                        if let Some(i) = inter {
                            actors[k].inter = i;
                        }
                        k
                    }
                    None => {
                        let Some(inter) = inter else {
                            return Err(bad("a new actor needs its ACLED inter code"));
                        };
                        actors.push(ActorMention {
                            name: e.name.clone(),
                            inter,
                        });
                        strong.push(Vec::new());
                        weak.push(Vec::new());
                        actors.len() - 1
                    }
                };
                for a in e.aliases.iter().chain(std::iter::once(&e.name)) {
                    if fold(a).is_empty() {
                        return Err(bad(&format!("alias '{a}' has no letters")));
                    }
                }
                strong[k].extend(e.aliases.iter().cloned());
                strong[k].push(e.name.clone());
                weak[k].extend(e.weak_aliases.iter().cloned());
            }
        }
        let mut folded_patterns = Vec::new();
        let mut folded = Vec::new();
        let mut acronym_patterns = Vec::new();
        let mut acronyms = Vec::new();
        for (k, (s, w)) in strong.iter().zip(&weak).enumerate() {
            for (alias, is_weak) in s
                .iter()
                .map(|a| (a, false))
                .chain(w.iter().map(|a| (a, true)))
            {
                if is_acronym(alias) {
                    acronym_patterns.push(alias.clone());
                    acronyms.push(Alias {
                        actor: k,
                        weak: is_weak,
                    });
                } else {
                    folded_patterns.push(fold(alias));
                    folded.push(Alias {
                        actor: k,
                        weak: is_weak,
                    });
                }
            }
        }
        let build = |p: &[String]| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(p)
                .map_err(|e| DictionaryError::Syntax(e.to_string()))
        };
        Ok(ActorDictionary {
            actors,
            folded_matcher: build(&folded_patterns)?,
            folded,
            acronym_matcher: build(&acronym_patterns)?,
            acronyms,
        })
    }

    pub fn len(&self) -> usize {
        self.actors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actors.is_empty()
    }

    /// Every actor named in `text`, in text order, without overlaps.
    pub fn extract(&self, text: &str) -> Vec<Found<ActorMention>> {
        let mut found = Vec::new();
        let (f, map) = fold_mapped(text);
        let fb = f.as_bytes();
        for m in self.folded_matcher.find_iter(&f) {
            let whole = (m.start() == 0 || fb[m.start() - 1] == b' ')
                && (m.end() == fb.len() || fb[m.end()] == b' ');
            if !whole {
                continue;
            }
            let a = &self.folded[m.pattern().as_usize()];
            found.push(Found {
                value: self.actors[a.actor].clone(),
                span: Span::of(text, source_span(text, &map, m.start(), m.end())),
                confidence: if a.weak { 0.5 } else { 0.9 },
            });
        }
        let tb = text.as_bytes();
        for m in self.acronym_matcher.find_iter(text) {
            let edge = |i: usize| !tb[i].is_ascii_alphanumeric();
            let whole =
                (m.start() == 0 || edge(m.start() - 1)) && (m.end() == tb.len() || edge(m.end()));
            if !whole {
                continue;
            }
            let a = &self.acronyms[m.pattern().as_usize()];
            found.push(Found {
                value: self.actors[a.actor].clone(),
                span: Span::of(text, m.range()),
                confidence: if a.weak { 0.5 } else { 0.85 },
            });
        }
        without_overlaps(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(d: &ActorDictionary, text: &str) -> Vec<(String, String)> {
        d.extract(text)
            .into_iter()
            .map(|f| (f.span.text, f.value.name))
            .collect()
    }

    #[test]
    fn english_and_french_aliases_of_the_same_groups() {
        let d = ActorDictionary::builtin();
        let jnim = "JNIM: Group for Support of Islam and Muslims";
        let is = "Islamic State (Sahel)";
        let found = d.extract(
            "The al-Qaeda-linked Jama'at Nusrat al-Islam wal-Muslimin (JNIM) claimed the attack.",
        );
        let got: Vec<(&str, &str, bool)> = found
            .iter()
            .map(|f| {
                (
                    f.span.text.as_str(),
                    f.value.name.as_str(),
                    f.confidence > 0.6,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("al-Qaeda", jnim, false),
                ("Jama'at Nusrat al-Islam wal-Muslimin", jnim, true),
                ("JNIM", jnim, true)
            ],
            "a weak alias is found, with a low confidence"
        );
        assert_eq!(
            names(
                &d,
                "Le Groupe de soutien à l'islam et aux musulmans (GSIM) a revendiqué l'attaque contre les FAMa."
            ),
            [
                (
                    "Groupe de soutien à l'islam et aux musulmans".into(),
                    jnim.into()
                ),
                ("GSIM".into(), jnim.into()),
                ("FAMa".into(), "Military Forces of Mali (2021-)".into())
            ]
        );
        assert_eq!(names(&d, "L'EIGS et l'État islamique au Sahel")[0].1, is);
        assert_eq!(
            names(&d, "fighters of the Islamic State Sahel Province (ISSP)").len(),
            2
        );
        assert_eq!(
            names(&d, "Wagner and the Africa Corps")[1].1,
            "Africa Corps"
        );
        assert_eq!(
            names(&d, "des Volontaires pour la défense de la patrie (VDP)")[0].1,
            "VDP: Volunteers for the Defense of the Homeland"
        );
        assert_eq!(
            names(&d, "des chasseurs dozos")[0].1,
            "Dozo Communal Militia (Mali)"
        );
    }

    #[test]
    fn acronyms_need_capitals_and_whole_words() {
        let d = ActorDictionary::builtin();
        assert!(
            names(&d, "This is what it is.").is_empty(),
            "'is' is not IS"
        );
        assert!(names(&d, "the fama of the town").is_empty());
        assert!(names(&d, "JNIMX").is_empty());
        let weak = d.extract("Claimed by IS.");
        assert_eq!(weak[0].value.name, "Islamic State (Sahel)");
        assert!(weak[0].confidence < 0.6);
    }

    #[test]
    fn spans_point_into_the_original_text() {
        let d = ActorDictionary::builtin();
        let text = "Des soldats burkinabè et des VDP ont été tués à Djibo.";
        for f in d.extract(text) {
            assert_eq!(&text[f.span.start..f.span.end], f.span.text);
        }
        assert_eq!(names(&d, text)[0].0, "soldats burkinabè");
    }

    #[test]
    fn the_dictionary_extends_by_configuration_and_refuses_bad_entries() {
        let d = ActorDictionary::with_extra(
            "[[actor]]\nname = \"Katiba Serma\"\ninter = 2\naliases = [\"Katiba Serma\"]\n\n[[actor]]\nname = \"Wagner Group\"\naliases = [\"musiciens\"]\n",
        )
        .unwrap();
        assert_eq!(names(&d, "la katiba Serma")[0].1, "Katiba Serma");
        assert_eq!(names(&d, "les musiciens")[0].1, "Wagner Group");
        assert_eq!(d.len(), ActorDictionary::builtin().len() + 1);
        let e = ActorDictionary::with_extra("[[actor]]\nname = \"X\"\naliases = [\"x\"]\n")
            .err()
            .unwrap();
        assert!(e.to_string().contains("needs its ACLED inter code"), "{e}");
        let e = ActorDictionary::with_extra("[[actor]]\nname = \"X\"\ninter = 9\n")
            .err()
            .unwrap();
        assert!(e.to_string().contains("inter 9"), "{e}");
        assert!(ActorDictionary::with_extra("[[actor]\n").is_err());
    }
}
