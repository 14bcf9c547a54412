//! Language of a report: English or French (the languages the extractors
//! know), from the function words each language cannot write a sentence
//! without. (whatlang, a trigram model, was tried first: restricted to
//! English and French it still called a plain English news sentence French;
//! on news text, function words decide reliably from one sentence.)

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// `en`, `fr` (also `eng`, `fra`, `english`, `français`...).
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_lowercase().as_str() {
            "en" | "eng" | "english" | "anglais" => Some(Lang::En),
            "fr" | "fra" | "fre" | "french" | "francais" | "français" => Some(Lang::Fr),
            _ => None,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

const EN: &[&str] = &[
    "the", "of", "and", "to", "in", "a", "is", "was", "were", "on", "with", "by", "for", "that",
    "said", "from", "at", "have", "has", "had", "been", "their", "they", "which", "who", "near",
    "after", "killed",
];
const FR: &[&str] = &[
    "le", "la", "les", "de", "des", "du", "et", "à", "un", "une", "est", "a", "été", "dans", "sur",
    "par", "pour", "selon", "qui", "que", "au", "aux", "ont", "près", "après", "tués", "ce",
    "cette", "il", "ils",
];

/// The detected language and a confidence (0..1): the share of the function
/// words counted that belong to it. `None` when the text has fewer than three
/// function words of either language.
pub fn detect(text: &str) -> Option<(Lang, f64)> {
    let (mut en, mut fr) = (0usize, 0usize);
    let mut cut = text.len().min(4096);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    for word in text[..cut].split(|c: char| !c.is_alphanumeric() && c != '’' && c != '\'') {
        // "l'armée", "d'un": the elided article is French.
        let w = word.to_lowercase();
        if w.starts_with("l'")
            || w.starts_with("d'")
            || w.starts_with("l’")
            || w.starts_with("d’")
            || w.starts_with("qu'")
        {
            fr += 1;
            continue;
        }
        // "a" is in both lists: English article, French verb.
        if EN.contains(&w.as_str()) {
            en += 1;
        }
        if FR.contains(&w.as_str()) {
            fr += 1;
        }
    }
    if en + fr < 3 || en == fr {
        return None;
    }
    let total = (en + fr) as f64;
    Some(if en > fr {
        (Lang::En, en as f64 / total)
    } else {
        (Lang::Fr, fr as f64 / total)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_and_french_news_sentences() {
        let en =
            "Gunmen attacked a convoy near Téra on Monday, killing four soldiers, the army said.";
        let fr = "Des hommes armés ont attaqué un convoi près de Téra lundi, tuant quatre soldats, selon l'armée.";
        assert_eq!(detect(en).map(|d| d.0), Some(Lang::En));
        assert_eq!(detect(fr).map(|d| d.0), Some(Lang::Fr));
        assert_eq!(detect("Téra, Dori, Djibo").map(|d| d.0), None);
        assert_eq!(Lang::parse("FR"), Some(Lang::Fr));
        assert_eq!(Lang::parse("de"), None);
    }
}
