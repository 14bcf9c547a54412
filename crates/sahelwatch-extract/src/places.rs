//! Places named in a text, resolved to gazetteer entries.
//!
//! 1. Candidates: runs of capitalised words ("Téra", "Tin-Akoff", "Boni",
//!    "Ouahigouya"), with lower-case connectors inside ("Ansongo de Gao" is
//!    one run, "Niamey et Tillabéri" two), minus sentence-initial function
//!    words, months, weekdays and spans already taken by actors or dates.
//! 2. Lookup: every sub-run (longest first, up to four words) against the
//!    gazetteer's names, ASCII names and alternate names of populated places
//!    and administrative divisions — folded (case, accents, punctuation
//!    ignored: "Tera" = "Téra") and, failing that, by a spelling-variant key
//!    of French and English transliteration ("Tillabery" = "Tillabéri",
//!    "Wagadugu" ~ "Ouagadougou").
//! 3. Disambiguation, by context, when a name fits several places (GeoNames
//!    has "Dori" in Burkina Faso, Mali and Niger, eight "Gao"): a country
//!    named in the text (by name or demonym, English or French) or the
//!    country of the other places found, an admin-1 region named in the text,
//!    nearness to the other places found, the product's region (Mali, Burkina
//!    Faso, Niger), then importance (capital, admin seat, population). The
//!    confidence is the winner's share of the candidates' scores; the reason
//!    is reported.
//! 4. Road segments: "between X and Y", "entre X et Y", "on the road from X
//!    to Y", "sur la route de X à Y", "l'axe X-Y", "the X-Y road" become a
//!    segment, not two points.

use crate::{Found, Span};
use sahelwatch_core::text::fold;
use sahelwatch_core::{CountryCode, Gazetteer, Place};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// A resolved place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaceRef {
    /// GeoNames id.
    pub id: i64,
    pub name: String,
    /// "Téra, Tillaberi, Niger".
    pub display: String,
    pub country: Option<CountryCode>,
    pub admin1: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    pub feature_code: String,
    pub population: i64,
}

impl PlaceRef {
    fn of(p: &Place) -> PlaceRef {
        PlaceRef {
            id: p.id,
            name: p.name.clone(),
            display: p.display_name(),
            country: p.country,
            admin1: p.admin1_name().map(str::to_string),
            latitude: p.latitude,
            longitude: p.longitude,
            feature_code: p.feature_code.clone(),
            population: p.population,
        }
    }
}

/// A place found in a text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaceMention {
    pub place: PlaceRef,
    /// How many gazetteer entries carry this name.
    pub candidates: usize,
    /// Why this one: "only candidate", "country named in the text (NE)"...
    pub reason: String,
}

/// A stretch of road between two places.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoadSegment {
    pub from: PlaceRef,
    pub to: PlaceRef,
}

/// What [`PlaceIndex::extract`] found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlacesFound {
    pub places: Vec<Found<PlaceMention>>,
    pub segments: Vec<Found<RoadSegment>>,
    /// Countries named in the text (by name or demonym).
    pub countries: Vec<CountryCode>,
}

/// Spelling-variant key: French and English transliterations of the same
/// name meet ("Tillabery"/"Tillaberi", "Ouagadougou"/"Wagadugu").
fn variant_key(folded: &str) -> String {
    let s = folded
        .replace("ou", "u")
        .replace('w', "u")
        .replace('y', "i")
        .replace("ph", "f")
        .replace("kh", "k")
        .replace("dj", "j")
        .replace("tch", "ch")
        .replace("gh", "g")
        .replace(['q', 'c'], "k");
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch == ' ' || out.ends_with(ch) {
            continue;
        }
        out.push(ch);
    }
    let trimmed = out.trim_end_matches(['e', 'h']);
    trimmed.to_string()
}

/// Countries of the region and their neighbours, by English and French
/// names and demonyms (folded).
const COUNTRY_WORDS: &[(&str, &str)] = &[
    ("mali", "ML"),
    ("malian", "ML"),
    ("malians", "ML"),
    ("malien", "ML"),
    ("malienne", "ML"),
    ("maliens", "ML"),
    ("maliennes", "ML"),
    ("burkina faso", "BF"),
    ("burkina", "BF"),
    ("burkinabe", "BF"),
    ("burkinabes", "BF"),
    ("niger", "NE"),
    ("nigerien", "NE"),
    ("nigerienne", "NE"),
    ("nigeriens", "NE"),
    ("nigeriennes", "NE"),
    ("mauritania", "MR"),
    ("mauritanie", "MR"),
    ("mauritanian", "MR"),
    ("mauritanien", "MR"),
    ("mauritanienne", "MR"),
    ("senegal", "SN"),
    ("senegalese", "SN"),
    ("senegalais", "SN"),
    ("senegalaise", "SN"),
    ("chad", "TD"),
    ("tchad", "TD"),
    ("chadian", "TD"),
    ("tchadien", "TD"),
    ("tchadienne", "TD"),
    ("nigeria", "NG"),
    ("nigerian", "NG"),
    ("nigerians", "NG"),
    ("nigerian", "NG"),
    ("nigeriane", "NG"),
    ("algeria", "DZ"),
    ("algerie", "DZ"),
    ("algerian", "DZ"),
    ("algerien", "DZ"),
    ("algerienne", "DZ"),
    ("benin", "BJ"),
    ("beninese", "BJ"),
    ("beninois", "BJ"),
    ("beninoise", "BJ"),
    ("togo", "TG"),
    ("togolese", "TG"),
    ("togolais", "TG"),
    ("ghana", "GH"),
    ("ghanaian", "GH"),
    ("ghaneen", "GH"),
    ("cote d ivoire", "CI"),
    ("ivory coast", "CI"),
    ("ivorian", "CI"),
    ("ivoirien", "CI"),
    ("ivoirienne", "CI"),
    ("guinea", "GN"),
    ("guinee", "GN"),
    ("guinean", "GN"),
    ("guineen", "GN"),
    ("morocco", "MA"),
    ("maroc", "MA"),
    ("moroccan", "MA"),
    ("marocain", "MA"),
    ("marocaine", "MA"),
    ("marocains", "MA"),
    ("libya", "LY"),
    ("libye", "LY"),
    ("libyan", "LY"),
    ("libyen", "LY"),
];

/// Capitalised words that are not places when they stand alone.
const NOT_PLACES: &[&str] = &[
    "the",
    "a",
    "an",
    "in",
    "on",
    "at",
    "of",
    "on",
    "and",
    "but",
    "this",
    "that",
    "these",
    "those",
    "it",
    "he",
    "she",
    "they",
    "we",
    "its",
    "their",
    "after",
    "before",
    "during",
    "according",
    "since",
    "while",
    "when",
    "some",
    "two",
    "three",
    "four",
    "five",
    "several",
    "many",
    "local",
    "security",
    "sources",
    "source",
    "police",
    "army",
    "president",
    "minister",
    "government",
    "le",
    "la",
    "les",
    "l",
    "un",
    "une",
    "des",
    "du",
    "de",
    "dans",
    "selon",
    "apres",
    "avant",
    "lors",
    "ce",
    "cette",
    "ces",
    "il",
    "ils",
    "elle",
    "elles",
    "on",
    "nous",
    "leur",
    "leurs",
    "plusieurs",
    "deux",
    "trois",
    "quatre",
    "cinq",
    "des",
    "au",
    "aux",
    "en",
    "par",
    "pour",
    "sur",
    "sous",
    "vers",
    "entre",
    "depuis",
    "mais",
    "et",
    "ou",
    "etat",
    "state",
    "islamic",
    "islamique",
    "reuters",
    "afp",
    "ap",
    "rfi",
    "bbc",
    "said",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
    "region",
    "province",
    "commune",
    "department",
    "cercle",
    "village",
    "town",
    "city",
    "north",
    "south",
    "east",
    "west",
    "nord",
    "sud",
    "est",
    "ouest",
    "centre",
    "center",
    "central",
    "western",
    "eastern",
    "northern",
    "southern",
    "africa",
    "afrique",
    "sahel",
    "un",
    "uk",
    "us",
    "eu",
    // News words that open headlines and sentences in capitals.
    "attack",
    "attacks",
    "attacked",
    "attaque",
    "attaques",
    "again",
    "killed",
    "kill",
    "dead",
    "death",
    "deaths",
    "morts",
    "clash",
    "clashes",
    "violence",
    "violent",
    "soldiers",
    "troops",
    "militants",
    "gunmen",
    "jihadists",
    "terrorists",
    "fighters",
    "army",
    "armee",
    "military",
    "forces",
    "breaking",
    "update",
    "urgent",
    "news",
    "report",
    "reports",
    "video",
    "photos",
    "live",
    "fan",
    "fans",
    "night",
    "today",
    "yesterday",
];

/// Lower-case words that may sit inside a multi-word place name.
const CONNECTORS: &[&str] = &[
    "de", "du", "des", "el", "al", "ag", "ould", "n", "d", "in", "la", "le",
];

/// The gazetteer's names, ready for extraction. Build once per gazetteer.
pub struct PlaceIndex {
    gaz: Arc<Gazetteer>,
    /// folded name -> place indexes (populated places and divisions only).
    by_name: HashMap<String, Vec<u32>>,
    by_variant: HashMap<String, Vec<u32>>,
    /// folded admin-1 names -> (country, admin1 code).
    admin1: HashMap<String, Vec<(CountryCode, String)>>,
}

#[derive(Debug, Clone)]
struct Token {
    start: usize,
    end: usize,
    folded: String,
    capital: bool,
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut start = None;
    let is_word = |c: char| c.is_alphanumeric() || c == '-' || c == '\'' || c == '’';
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (start, is_word(c)) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                let w = text[s..i].trim_matches(['-', '\'', '’']);
                if !w.is_empty() {
                    let s2 = s + text[s..i].find(w).unwrap_or(0);
                    // "l'Azawad", "d'Ansongo": the elided article is not part of the name.
                    let (s3, w3) = match w.find(['\'', '’']) {
                        Some(k) if k <= 3 && w[..k].chars().all(|c| c.is_lowercase()) => {
                            let skip = k + w[k..].chars().next().map_or(1, char::len_utf8);
                            (s2 + skip, &w[skip..])
                        }
                        _ => (s2, w),
                    };
                    if !w3.is_empty() {
                        out.push(Token {
                            start: s3,
                            end: s3 + w3.len(),
                            folded: fold(w3),
                            capital: w3.chars().next().is_some_and(char::is_uppercase),
                        });
                    }
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

use sahelwatch_core::fusion::distance_km as km;

struct Mention {
    start: usize,
    end: usize,
    /// The folded name looked up.
    key: String,
    candidates: Vec<u32>,
    variant: bool,
}

impl PlaceIndex {
    pub fn new(gaz: Arc<Gazetteer>) -> PlaceIndex {
        let mut by_name: HashMap<String, Vec<u32>> = HashMap::new();
        let mut by_variant: HashMap<String, Vec<u32>> = HashMap::new();
        let mut admin1: HashMap<String, Vec<(CountryCode, String)>> = HashMap::new();
        for (i, p) in gaz.places().iter().enumerate() {
            if !matches!(p.feature_class.as_str(), "P" | "A") {
                continue;
            }
            let names = std::iter::once(&p.name)
                .chain(std::iter::once(&p.ascii_name))
                .chain(p.alternate_names.iter());
            let mut seen: Vec<String> = Vec::new();
            for n in names {
                let f = fold(n);
                if f.len() < 3 || seen.contains(&f) || f.split(' ').count() > 4 {
                    continue;
                }
                by_variant
                    .entry(variant_key(&f))
                    .or_default()
                    .push(i as u32);
                by_name.entry(f.clone()).or_default().push(i as u32);
                seen.push(f);
            }
            if p.feature_code == "ADM1"
                && let Some(cc) = p.country
            {
                for n in std::iter::once(&p.name).chain(std::iter::once(&p.ascii_name)) {
                    let key = sahelwatch_core::place::admin_key(n);
                    if !key.is_empty() {
                        admin1
                            .entry(key)
                            .or_default()
                            .push((cc, p.admin1_code.clone()));
                    }
                }
            }
        }
        for v in by_name.values_mut().chain(by_variant.values_mut()) {
            v.sort_unstable();
            v.dedup();
        }
        PlaceIndex {
            gaz,
            by_name,
            by_variant,
            admin1,
        }
    }

    /// The places (and road segments) of `text`. `taken` are byte ranges
    /// already explained (actors, dates) that cannot be places.
    pub fn extract(&self, text: &str, taken: &[std::ops::Range<usize>]) -> PlacesFound {
        // "Djibo-Namsiguia" is two places; "Gorom-Gorom" and "Tin-Akoff" are one.
        let mut toks = Vec::new();
        for t in tokens(text) {
            let known = self.by_name.contains_key(&t.folded)
                || self.by_variant.contains_key(&variant_key(&t.folded));
            if !t.capital || known || !text[t.start..t.end].contains('-') {
                toks.push(t);
                continue;
            }
            let mut at = t.start;
            for part in text[t.start..t.end].split('-') {
                if !part.is_empty() {
                    toks.push(Token {
                        start: at,
                        end: at + part.len(),
                        folded: fold(part),
                        capital: part.chars().next().is_some_and(char::is_uppercase),
                    });
                }
                at += part.len() + 1;
            }
        }
        let places = self.gaz.places();
        // Countries and admin-1 regions named anywhere in the text.
        let mut countries: Vec<CountryCode> = Vec::new();
        let mut regions: Vec<(CountryCode, String)> = Vec::new();
        for w in 0..toks.len() {
            for n in (1..=2).rev() {
                if w + n > toks.len() {
                    continue;
                }
                let key = toks[w..w + n]
                    .iter()
                    .map(|t| t.folded.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                if let Some((_, cc)) = COUNTRY_WORDS.iter().find(|(k, _)| *k == key)
                    && let Some(cc) = CountryCode::parse(cc)
                    && !countries.contains(&cc)
                {
                    countries.push(cc);
                }
            }
            let next_is_region = toks
                .get(w + 1)
                .is_some_and(|t| matches!(t.folded.as_str(), "region" | "province"));
            let prev_is_region = w >= 2 && matches!(toks[w - 2].folded.as_str(), "region")
                || w >= 1 && toks[w - 1].folded == "region";
            if (next_is_region || prev_is_region)
                && toks[w].capital
                && let Some(r) = self
                    .admin1
                    .get(&sahelwatch_core::place::admin_key(&toks[w].folded))
            {
                regions.extend(r.iter().cloned());
            }
        }
        // Candidate runs of capitalised tokens.
        let free = |t: &Token| !taken.iter().any(|r| t.start < r.end && r.start < t.end);
        let mut mentions: Vec<Mention> = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            if !(toks[i].capital && free(&toks[i])) {
                i += 1;
                continue;
            }
            // The run: capitals, with connectors between capitals.
            let mut j = i + 1;
            while j < toks.len() && j - i < 6 && free(&toks[j]) {
                if toks[j].capital {
                    j += 1;
                } else if CONNECTORS.contains(&toks[j].folded.as_str())
                    && toks.get(j + 1).is_some_and(|t| t.capital)
                    && text[toks[j - 1].end..toks[j].start].trim().is_empty()
                {
                    j += 2;
                } else {
                    break;
                }
                // Do not run across punctuation.
                if j <= toks.len()
                    && j - 1 > i
                    && !text[toks[j - 2].end..toks[j - 1].start].trim().is_empty()
                {
                    j -= 1;
                    break;
                }
            }
            // Longest sub-run first, left to right.
            let mut k = i;
            while k < j {
                let mut hit = None;
                for end in (k + 1..=j.min(k + 4)).rev() {
                    if end - 1 > k && CONNECTORS.contains(&toks[end - 1].folded.as_str()) {
                        continue;
                    }
                    let key = toks[k..end]
                        .iter()
                        .map(|t| t.folded.as_str())
                        .collect::<Vec<_>>()
                        .join(" ");
                    if end == k + 1 && NOT_PLACES.contains(&key.as_str()) {
                        continue;
                    }
                    if COUNTRY_WORDS.iter().any(|(w, _)| *w == key) {
                        continue;
                    }
                    if let Some(c) = self.by_name.get(&key) {
                        hit = Some((end, c.clone(), false, key));
                        break;
                    }
                    if key.len() >= 5
                        && let Some(c) = self.by_variant.get(&variant_key(&key))
                    {
                        hit = Some((end, c.clone(), true, key));
                        break;
                    }
                }
                match hit {
                    Some((end, candidates, variant, key)) => {
                        mentions.push(Mention {
                            start: toks[k].start,
                            end: toks[end - 1].end,
                            key,
                            candidates,
                            variant,
                        });
                        k = end;
                    }
                    None => k += 1,
                }
            }
            i = j.max(i + 1);
        }
        // Resolve: unambiguous ones first, then the others in context.
        let mut chosen: Vec<Option<(u32, f32, String)>> = mentions.iter().map(|_| None).collect();
        let in_region = |p: &Place| {
            p.country
                .is_some_and(|c| matches!(c.as_str(), "ML" | "BF" | "NE"))
        };
        for (m, c) in mentions.iter().zip(chosen.iter_mut()) {
            if m.candidates.len() == 1 {
                let conf = if m.variant { 0.7 } else { 0.9 };
                *c = Some((
                    m.candidates[0],
                    conf,
                    if m.variant {
                        "only candidate (spelling variant)".into()
                    } else {
                        "only candidate".into()
                    },
                ));
            }
        }
        // Round 0 scores each ambiguous name with the unambiguous places as
        // anchors; round 1 again, with every other place of round 0 as an
        // anchor (two ambiguous neighbours settle each other).
        for round in 0..2 {
            let previous = chosen.clone();
            for (mi, m) in mentions.iter().enumerate() {
                if m.candidates.len() == 1 {
                    continue;
                }
                let others = previous
                    .iter()
                    .enumerate()
                    .filter(|(k, c)| {
                        *k != mi
                            && c.is_some()
                            && (round == 1 || mentions[*k].candidates.len() == 1)
                    })
                    .filter_map(|(_, c)| c.as_ref().map(|c| &places[c.0 as usize]));
                let anchors: Vec<(f64, f64)> =
                    others.clone().map(|p| (p.latitude, p.longitude)).collect();
                let anchor_countries: Vec<CountryCode> = others.filter_map(|p| p.country).collect();
                let mut scored: Vec<(f64, u32, String)> = m
                    .candidates
                    .iter()
                    .map(|&pi| {
                        let p = &places[pi as usize];
                        // Importance (population, seat of a division) counts for
                        // less than context: a village named in its country's text
                        // beats a town of the same name elsewhere.
                        let mut score = 1.0 + 0.5 * (p.population.max(0) as f64 + 1.0).log10();
                        let mut why = Vec::new();
                        score += 0.5
                            * match p.feature_code.as_str() {
                                "PPLC" => 4.0,
                                "PPLA" | "ADM1" => 3.0,
                                "PPLA2" | "ADM2" => 2.0,
                                "PPLA3" | "ADM3" => 1.0,
                                _ => 0.0,
                            };
                        if p.country.is_some_and(|c| countries.contains(&c)) {
                            score += 8.0;
                            why.push(format!(
                                "country named in the text ({})",
                                p.country.map(|c| c.to_string()).unwrap_or_default()
                            ));
                        } else if p.country.is_some_and(|c| anchor_countries.contains(&c)) {
                            score += 4.0;
                            why.push("same country as the other places".to_string());
                        }
                        if regions
                            .iter()
                            .any(|(cc, code)| Some(*cc) == p.country && *code == p.admin1_code)
                        {
                            score += 6.0;
                            why.push(format!(
                                "region named in the text ({})",
                                p.admin1_name().unwrap_or("")
                            ));
                        }
                        let near = anchors
                            .iter()
                            .map(|a| km(*a, (p.latitude, p.longitude)))
                            .filter(|d| *d > 0.5)
                            .fold(f64::INFINITY, f64::min);
                        if near < 200.0 {
                            score += 5.0 * (1.0 - near / 200.0);
                            why.push(format!("{near:.0} km from another place of the text"));
                        }
                        if in_region(p) {
                            score += 1.5;
                        }
                        // Named so, rather than known by it as an alternate name.
                        if fold(&p.name) == m.key || fold(&p.ascii_name) == m.key {
                            score += 1.0;
                        }
                        if why.is_empty() {
                            why.push("most important of the candidates".to_string());
                        }
                        (score, pi, why.join("; "))
                    })
                    .collect();
                scored.sort_by(|a, b| {
                    b.0.total_cmp(&a.0)
                        .then(places[a.1 as usize].id.cmp(&places[b.1 as usize].id))
                });
                let total: f64 = scored.iter().map(|s| s.0).sum();
                let (best, pi, why) = scored.swap_remove(0);
                let share = (best / total.max(f64::MIN_POSITIVE)) as f32;
                let conf = (share * if m.variant { 0.8 } else { 1.0 }).clamp(0.05, 0.95);
                chosen[mi] = Some((pi, conf, why));
            }
        }
        let mut found: Vec<Found<PlaceMention>> = mentions
            .iter()
            .zip(chosen)
            .filter_map(|(m, c)| {
                let (pi, confidence, reason) = c?;
                Some(Found {
                    value: PlaceMention {
                        place: PlaceRef::of(&places[pi as usize]),
                        candidates: m.candidates.len(),
                        reason,
                    },
                    span: Span::of(text, m.start..m.end),
                    confidence,
                })
            })
            .collect();
        found.sort_by_key(|f| f.span.start);
        let segments = segments(text, &found);
        PlacesFound {
            places: found,
            segments,
            countries,
        }
    }
}

/// Byte offset of the last whole-word, ASCII-case-insensitive `word` in `hay`.
fn rfind_word(hay: &str, word: &str) -> Option<usize> {
    let (h, w) = (hay.as_bytes(), word.as_bytes());
    (0..=h.len().checked_sub(w.len())?).rev().find(|&i| {
        h[i..i + w.len()].eq_ignore_ascii_case(w)
            && (i == 0 || !h[i - 1].is_ascii_alphanumeric())
            && h.get(i + w.len())
                .is_none_or(|c| !c.is_ascii_alphanumeric())
    })
}

/// "between X and Y", "entre X et Y", "from X to Y" / "de X à Y" after a
/// road word, "the X-Y road", "l'axe X-Y".
fn segments(text: &str, places: &[Found<PlaceMention>]) -> Vec<Found<RoadSegment>> {
    const ROAD: &[&str] = &[
        "road",
        "route",
        "axe",
        "axis",
        "highway",
        "corridor",
        "convoy",
        "convoi",
        "trajet",
        "itineraire",
        "piste",
        "track",
    ];
    let mut out = Vec::new();
    for pair in places.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let gap = fold(&text[a.span.end..b.span.start]);
        // The 40 characters before X and the 12 after Y.
        let before_start = text[..a.span.start]
            .char_indices()
            .rev()
            .nth(39)
            .map_or(0, |(i, _)| i);
        let before = &text[before_start..a.span.start];
        let after_end = text[b.span.end..]
            .char_indices()
            .nth(12)
            .map_or(text.len(), |(i, _)| b.span.end + i);
        let after = fold(&text[b.span.end..after_end]);
        let road_before = fold(before).split(' ').any(|w| ROAD.contains(&w));
        let road_after = ROAD.iter().any(|w| after.starts_with(w));
        let tail = fold(before);
        let keyword = |w: &str| {
            tail.ends_with(w)
                .then(|| rfind_word(before, w).map(|i| before_start + i))
                .flatten()
        };
        let start = match gap.as_str() {
            "and" => keyword("between"),
            "et" => keyword("entre"),
            "to" if road_before => keyword("from"),
            "a" | "au" if road_before => keyword("de").or_else(|| keyword("d")),
            "" if text[a.span.end..b.span.start].trim() == "-" && (road_before || road_after) => {
                Some(a.span.start)
            }
            _ => None,
        };
        if let Some(start) = start
            && a.value.place.id != b.value.place.id
        {
            out.push(Found {
                value: RoadSegment {
                    from: a.value.place.clone(),
                    to: b.value.place.clone(),
                },
                span: Span::of(text, start..b.span.end),
                confidence: a.confidence.min(b.confidence),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_keys_meet_across_spellings() {
        assert_eq!(variant_key("tillabery"), variant_key("tillaberi"));
        assert_eq!(variant_key("ouagadougou"), variant_key("wagadugu"));
        assert_eq!(variant_key("djibo"), variant_key("jibo"));
        assert_ne!(variant_key("dori"), variant_key("gao"));
    }

    #[test]
    fn tokens_drop_elided_articles_and_keep_hyphenated_names() {
        let t = tokens("l'axe Tin-Akoff, d'Ansongo et Téra.");
        let words: Vec<&str> = t
            .iter()
            .map(|t| &"l'axe Tin-Akoff, d'Ansongo et Téra."[t.start..t.end])
            .collect();
        assert_eq!(words, ["axe", "Tin-Akoff", "Ansongo", "et", "Téra"]);
        assert!(t[1].capital && !t[0].capital);
    }
}
