//! What happened: the ACLED event and sub-event type, the number killed, and
//! for abductions the hostages (how many, their nationality, their
//! occupation), from English and French cue words.
//!
//! The type comes from weighted cues matched on folded text (word prefixes:
//! "kidnap" covers "kidnapped", "enlev" covers "enlevés"), each tied to one
//! sub-event type; who was targeted decides between an armed clash (armed
//! parties) and an attack on civilians. The confidence is the winner's share
//! of the cue weight found.
//!
//! Counts follow ACLED's coding of vague numbers: "a dozen" 12, "dozens" 12,
//! "several"/"many"/"plusieurs" 10, "hundreds"/"des centaines" 100. Deaths
//! named in one sentence are added up ("killing four soldiers and three
//! civilians" = 7); across sentences the largest total counts (later
//! sentences often repeat the toll).

use crate::{Found, Span};
use regex::Regex;
use sahelwatch_core::SubEventType;
use sahelwatch_core::report::CaseStepKind;
use sahelwatch_core::text::{fold_mapped, source_span};
use serde::Serialize;
use std::sync::LazyLock;

/// (cue as folded word prefixes, weight, sub-event type name).
const CUES: &[(&str, f32, &str)] = &[
    // Violence against civilians
    ("kidnap", 3.0, "Abduction/forced disappearance"),
    ("abduct", 3.0, "Abduction/forced disappearance"),
    ("hostage", 2.5, "Abduction/forced disappearance"),
    ("taken captive", 3.0, "Abduction/forced disappearance"),
    ("enlev", 3.0, "Abduction/forced disappearance"),
    ("otage", 2.5, "Abduction/forced disappearance"),
    ("rapt", 3.0, "Abduction/forced disappearance"),
    ("sequestr", 2.0, "Abduction/forced disappearance"),
    ("massacre", 3.0, "Attack"),
    ("execut", 2.0, "Attack"),
    ("civilian", 1.5, "Attack"),
    ("villager", 1.5, "Attack"),
    ("civils", 1.5, "Attack"),
    ("villageois", 1.5, "Attack"),
    ("habitants", 1.0, "Attack"),
    ("worshipper", 1.5, "Attack"),
    ("fideles", 1.5, "Attack"),
    ("rape", 3.0, "Sexual violence"),
    ("sexual violence", 3.0, "Sexual violence"),
    ("viol", 2.5, "Sexual violence"),
    ("violences sexuelles", 3.0, "Sexual violence"),
    // Explosions/Remote violence
    ("ied", 3.0, "Remote explosive/landmine/IED"),
    ("improvised explosive", 3.0, "Remote explosive/landmine/IED"),
    ("roadside bomb", 3.0, "Remote explosive/landmine/IED"),
    ("landmine", 3.0, "Remote explosive/landmine/IED"),
    ("explosive device", 3.0, "Remote explosive/landmine/IED"),
    ("engin explosif", 3.0, "Remote explosive/landmine/IED"),
    ("engins explosifs", 3.0, "Remote explosive/landmine/IED"),
    ("eei", 3.0, "Remote explosive/landmine/IED"),
    ("mine artisanale", 3.0, "Remote explosive/landmine/IED"),
    ("struck a mine", 3.0, "Remote explosive/landmine/IED"),
    ("saute sur une mine", 3.0, "Remote explosive/landmine/IED"),
    ("suicide bomb", 4.0, "Suicide bomb"),
    ("suicide attack", 4.0, "Suicide bomb"),
    ("kamikaze", 4.0, "Suicide bomb"),
    ("attentat suicide", 4.0, "Suicide bomb"),
    ("airstrike", 3.5, "Air/drone strike"),
    ("air strike", 3.5, "Air/drone strike"),
    ("drone strike", 3.5, "Air/drone strike"),
    ("frappe aerienne", 3.5, "Air/drone strike"),
    ("frappes aeriennes", 3.5, "Air/drone strike"),
    ("frappe de drone", 3.5, "Air/drone strike"),
    ("bombardement aerien", 3.5, "Air/drone strike"),
    ("shelling", 3.0, "Shelling/artillery/missile attack"),
    ("mortar", 3.0, "Shelling/artillery/missile attack"),
    ("rocket", 2.5, "Shelling/artillery/missile attack"),
    ("artillery", 3.0, "Shelling/artillery/missile attack"),
    ("obus", 3.0, "Shelling/artillery/missile attack"),
    ("roquette", 2.5, "Shelling/artillery/missile attack"),
    ("grenade", 3.0, "Grenade"),
    // Battles
    ("clash", 3.0, "Armed clash"),
    ("fighting", 2.5, "Armed clash"),
    ("firefight", 3.0, "Armed clash"),
    ("exchange of fire", 3.0, "Armed clash"),
    ("gunfight", 3.0, "Armed clash"),
    ("ambush", 2.0, "Armed clash"),
    ("affrontement", 3.0, "Armed clash"),
    ("combats", 2.5, "Armed clash"),
    ("accrochage", 3.0, "Armed clash"),
    ("echange de tirs", 3.0, "Armed clash"),
    ("embuscade", 2.0, "Armed clash"),
    ("soldiers", 1.0, "Armed clash"),
    ("soldats", 1.0, "Armed clash"),
    ("militaires", 1.0, "Armed clash"),
    ("military post", 1.5, "Armed clash"),
    ("army post", 1.5, "Armed clash"),
    ("camp militaire", 1.5, "Armed clash"),
    ("poste militaire", 1.5, "Armed clash"),
    ("seized control", 3.5, "Non-state actor overtakes territory"),
    ("took control", 3.0, "Non-state actor overtakes territory"),
    ("overran", 3.0, "Non-state actor overtakes territory"),
    (
        "pris le controle",
        3.0,
        "Non-state actor overtakes territory",
    ),
    ("s emparer", 3.0, "Non-state actor overtakes territory"),
    ("recaptur", 3.5, "Government regains territory"),
    ("retook", 3.5, "Government regains territory"),
    ("regained control", 3.5, "Government regains territory"),
    ("repris le controle", 3.5, "Government regains territory"),
    // Protests and riots
    ("protest", 2.5, "Peaceful protest"),
    ("demonstrat", 2.0, "Peaceful protest"),
    ("rally", 1.5, "Peaceful protest"),
    ("manifest", 2.5, "Peaceful protest"),
    ("sit in", 2.5, "Peaceful protest"),
    ("tear gas", 3.0, "Protest with intervention"),
    ("gaz lacrymogene", 3.0, "Protest with intervention"),
    ("dispersed", 2.0, "Protest with intervention"),
    ("disperse", 2.0, "Protest with intervention"),
    ("riot", 3.0, "Violent demonstration"),
    ("emeute", 3.0, "Violent demonstration"),
    ("lynch", 3.5, "Mob violence"),
    ("mob", 2.5, "Mob violence"),
    ("vindicte populaire", 3.5, "Mob violence"),
    // Strategic developments
    ("looted", 2.5, "Looting/property destruction"),
    ("looting", 2.5, "Looting/property destruction"),
    ("torched", 2.5, "Looting/property destruction"),
    ("burned", 1.5, "Looting/property destruction"),
    ("pille", 2.5, "Looting/property destruction"),
    ("pillage", 2.5, "Looting/property destruction"),
    ("incendi", 2.0, "Looting/property destruction"),
    ("arrested", 3.0, "Arrests"),
    ("arrest", 2.5, "Arrests"),
    ("interpell", 3.0, "Arrests"),
    ("arrete", 2.0, "Arrests"),
    ("ceasefire", 3.0, "Agreement"),
    ("cessez le feu", 3.0, "Agreement"),
    ("peace agreement", 3.5, "Agreement"),
    ("accord de paix", 3.5, "Agreement"),
    ("defused", 3.0, "Disrupted weapons use"),
    ("desamorc", 3.0, "Disrupted weapons use"),
];

/// An event type found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventMention {
    pub sub_event_type: SubEventType,
}

/// Hostages of an abduction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Hostages {
    pub count: Option<u32>,
    /// ISO country of their nationality, from a demonym ("Moroccan", "marocains").
    pub nationality: Option<String>,
    /// As written, singular ("truck driver", "chauffeur").
    pub occupation: Option<String>,
}

/// What happened in a text.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EventsFound {
    /// The best sub-event type, with the span of its strongest cue.
    pub event: Option<Found<EventMention>>,
    /// Every death count stated, with its span.
    pub deaths: Vec<Found<u32>>,
    /// The number killed, by the rules above.
    pub fatalities: Option<u32>,
    /// For abductions.
    pub hostages: Option<Found<Hostages>>,
    /// For kidnappings: the furthest step of the case the text tells of
    /// (only when hostages are in question).
    pub case_step: Option<Found<CaseStepKind>>,
    /// Whether a ransom was paid, when the text says.
    pub ransom_paid: Option<Found<bool>>,
}

/// Words that put hostages in question (folded prefixes).
const HOSTAGE_CONTEXT: &[&str] = &[
    "kidnap",
    "abduct",
    "hostage",
    "captiv",
    "otage",
    "enlev",
    "rapt",
    "sequestr",
    "ravisseur",
    "captor",
];

/// Case-step cues (folded word prefixes), from the end of a case backwards:
/// the first kind found in this order is the step a text tells of, since a
/// release story also retells the abduction and the claim.
const STEP_CUES: &[(CaseStepKind, &[&str])] = &[
    (
        CaseStepKind::Killed,
        &[
            "execut",
            "beheaded",
            "decapit",
            "found dead",
            "retrouve mort",
            "retrouves morts",
            "died in captivity",
            "killed in captivity",
            "mort en captivite",
            "morts en captivite",
            "assassine",
        ],
    ),
    (
        CaseStepKind::Rescued,
        &[
            "rescued",
            "rescue operation",
            "freed in a military",
            "freed during a military",
            "secouru",
            "delivre",
            "liberes lors d une operation",
            "libere lors d une operation",
            "liberes au cours d une operation",
            "exfiltre",
        ],
    ),
    (
        CaseStepKind::Escaped,
        &[
            "escaped",
            "managed to flee",
            "fled their captors",
            "fled his captors",
            "evade",
            "s est echappe",
            "se sont echappe",
            "ont fui leurs ravisseurs",
            "a fui ses ravisseurs",
        ],
    ),
    (
        CaseStepKind::Released,
        &[
            "released",
            "freed",
            "set free",
            "libere",
            "relache",
            "remis en liberte",
            "retrouve la liberte",
        ],
    ),
    (
        CaseStepKind::ProofOfLife,
        &[
            "proof of life",
            "preuve de vie",
            "preuves de vie",
            "appeared in a video",
            "appears in a video",
            "video showing",
            "apparait dans une video",
            "apparaissent dans une video",
            "video montrant",
        ],
    ),
    (
        CaseStepKind::Negotiation,
        &[
            "negotiat",
            "negocia",
            "mediation",
            "mediator",
            "mediateur",
            "ransom demand",
            "demanded a ransom",
            "demande de rancon",
            "reclament une rancon",
            "exige une rancon",
        ],
    ),
    (
        CaseStepKind::Claimed,
        &["claimed responsibility", "claimed the", "revendiqu"],
    ),
];

static RANSOM_PAID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:paid (?:a |the )?ransom|ransom (?:was|had been|has been) paid|ransom payment|rancon (?:a|aurait) ete (?:versee|payee)|contre (?:le versement d )?une rancon|moyennant (?:une )?rancon|versement d une rancon|paiement d une rancon)\b",
    )
    .expect("ransom pattern")
});

static RANSOM_NOT_PAID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:without (?:any |a )?ransom|no ransom (?:was|had been|has been) paid|without paying (?:a |any )?ransom|denied (?:paying|that a ransom)|sans (?:aucune |le versement d une |versement de )?rancon|aucune rancon|dementi (?:tout )?(?:paiement|versement))\b",
    )
    .expect("no-ransom pattern")
});

fn number(word: &str) -> Option<u32> {
    if let Ok(n) = word.parse::<u32>() {
        return Some(n);
    }
    Some(match word {
        "a" | "an" | "one" | "un" | "une" => 1,
        "two" | "deux" | "a couple of" => 2,
        "three" | "trois" => 3,
        "four" | "quatre" => 4,
        "five" | "cinq" => 5,
        "six" => 6,
        "seven" | "sept" => 7,
        "eight" | "huit" => 8,
        "nine" | "neuf" => 9,
        "ten" | "dix" => 10,
        "eleven" | "onze" => 11,
        "twelve" | "douze" | "a dozen" | "une douzaine" | "dozens" | "des dizaines"
        | "une dizaine" => 12,
        "thirteen" | "treize" => 13,
        "fourteen" | "quatorze" => 14,
        "fifteen" | "quinze" | "une quinzaine" => 15,
        "sixteen" | "seize" => 16,
        "seventeen" | "dix sept" => 17,
        "eighteen" | "dix huit" => 18,
        "nineteen" | "dix neuf" => 19,
        "twenty" | "vingt" | "une vingtaine" => 20,
        "thirty" | "trente" | "une trentaine" => 30,
        "forty" | "quarante" | "une quarantaine" => 40,
        "fifty" | "cinquante" | "une cinquantaine" => 50,
        "a hundred" | "one hundred" | "cent" | "une centaine" | "hundreds" | "des centaines" => 100,
        "several" | "many" | "numerous" | "plusieurs" | "nombreux" | "de nombreux" => 10,
        _ => return None,
    })
}

const NUM: &str = r"\d{1,4}|a couple of|a dozen|une douzaine|dozens|des dizaines|une dizaine|une quinzaine|une vingtaine|une trentaine|une quarantaine|une cinquantaine|a hundred|one hundred|une centaine|hundreds|des centaines|several|many|numerous|plusieurs|de nombreux|nombreux|dix sept|dix huit|dix neuf|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|un|une|deux|trois|quatre|cinq|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|vingt|trente|quarante|cinquante|cent";

const VICTIMS: &str = r"(?:[a-z]+ ){0,3}?(?:people|persons|civilians|soldiers|troops|militants|fighters|jihadists|terrorists|attackers|assailants|gunmen|villagers|police(?:men|officers)?|gendarmes|volunteers|members|workers|children|women|men|escorts?|guards?|drivers?|passengers|personnes|escortes?|gardes|chauffeurs?|passagers|civils|soldats|militaires|terroristes|djihadistes|jihadistes|assaillants|villageois|policiers|gendarmes|volontaires|enfants|femmes|hommes|membres|elements|individus)";

static DEATH_RES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // killing four soldiers / tuant quatre soldats / faisant dix morts
        format!(r"\b(?:killing|killed|kill|tuant|tue|faisant|fait|causing|leaving)\s+(?:at least\s+|au moins\s+|some\s+|about\s+|around\s+|une\s+)?({NUM})\s+(?:{VICTIMS}|dead|morts?|victimes|deaths)\b"),
        // four soldiers were killed / quatre soldats ont été tués
        format!(r"\b(?:at least\s+|au moins\s+|some\s+)?({NUM})\s+{VICTIMS}\s+(?:were\s+|have been\s+|had been\s+|ont ete\s+|sont\s+|were reportedly\s+)?(?:killed|dead|died|shot dead|tues|tuees|morts|abattus|executed|executes)\b"),
        // ten dead / dix morts / 12 killed
        format!(r"\b(?:at least\s+|au moins\s+)?({NUM})\s+(?:dead|morts|killed|tues|deaths|fatalities)\b"),
        // death toll of 15 / bilan de 15 morts
        format!(r"\b(?:death toll|toll|bilan)\s+(?:of|rose to|stands at|de|s eleve a|est de)\s+({NUM})\b"),
    ]
    .iter()
    .map(|p| Regex::new(p).expect("death pattern"))
    .collect()
});

/// " and three civilians" right after a death count.
static AND_MORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^\s+(?:and|et)\s+({NUM})\s+{VICTIMS}\b")).expect("and-more pattern")
});

const DEMONYMS: &[(&str, &str)] = &[
    ("moroccan", "MA"),
    ("marocain", "MA"),
    ("chinese", "CN"),
    ("chinois", "CN"),
    ("indian", "IN"),
    ("indien", "IN"),
    ("egyptian", "EG"),
    ("egyptien", "EG"),
    ("french", "FR"),
    ("francais", "FR"),
    ("american", "US"),
    ("americain", "US"),
    ("german", "DE"),
    ("allemand", "DE"),
    ("italian", "IT"),
    ("italien", "IT"),
    ("spanish", "ES"),
    ("espagnol", "ES"),
    ("austrian", "AT"),
    ("autrichien", "AT"),
    ("swiss", "CH"),
    ("suisse", "CH"),
    ("romanian", "RO"),
    ("roumain", "RO"),
    ("russian", "RU"),
    ("russe", "RU"),
    ("turkish", "TR"),
    ("turc", "TR"),
    ("togolese", "TG"),
    ("togolais", "TG"),
    ("ivorian", "CI"),
    ("ivoirien", "CI"),
    ("nigerian", "NG"),
    ("nigerian", "NG"),
    ("senegalese", "SN"),
    ("senegalais", "SN"),
    ("malian", "ML"),
    ("malien", "ML"),
    ("burkinabe", "BF"),
    ("nigerien", "NE"),
    ("ghanaian", "GH"),
    ("ghaneen", "GH"),
    ("beninese", "BJ"),
    ("beninois", "BJ"),
    ("algerian", "DZ"),
    ("algerien", "DZ"),
    ("libyan", "LY"),
    ("libyen", "LY"),
    ("mauritanian", "MR"),
    ("mauritanien", "MR"),
    ("chadian", "TD"),
    ("tchadien", "TD"),
    ("canadian", "CA"),
    ("canadien", "CA"),
    ("british", "GB"),
    ("britannique", "GB"),
    ("south african", "ZA"),
    ("sud africain", "ZA"),
    ("australian", "AU"),
    ("australien", "AU"),
];

const OCCUPATIONS: &[(&str, &str)] = &[
    ("truck drivers", "truck driver"),
    ("truck driver", "truck driver"),
    ("lorry drivers", "truck driver"),
    ("drivers", "driver"),
    ("driver", "driver"),
    ("chauffeurs", "chauffeur"),
    ("chauffeur", "chauffeur"),
    ("camionneurs", "camionneur"),
    ("camionneur", "camionneur"),
    ("routiers", "routier"),
    ("aid workers", "aid worker"),
    ("aid worker", "aid worker"),
    ("humanitarian workers", "aid worker"),
    ("humanitaires", "humanitaire"),
    ("workers", "worker"),
    ("worker", "worker"),
    ("ouvriers", "ouvrier"),
    ("ouvrier", "ouvrier"),
    ("employees", "employee"),
    ("employes", "employe"),
    ("engineers", "engineer"),
    ("engineer", "engineer"),
    ("ingenieurs", "ingenieur"),
    ("ingenieur", "ingenieur"),
    ("teachers", "teacher"),
    ("teacher", "teacher"),
    ("enseignants", "enseignant"),
    ("enseignant", "enseignant"),
    ("priests", "priest"),
    ("priest", "priest"),
    ("pretres", "pretre"),
    ("pretre", "pretre"),
    ("missionaries", "missionary"),
    ("missionary", "missionary"),
    ("journalists", "journalist"),
    ("journalist", "journalist"),
    ("journalistes", "journaliste"),
    ("journaliste", "journaliste"),
    ("nurses", "nurse"),
    ("nurse", "nurse"),
    ("doctors", "doctor"),
    ("doctor", "doctor"),
    ("medecins", "medecin"),
    ("medecin", "medecin"),
    ("infirmiers", "infirmier"),
    ("traders", "trader"),
    ("trader", "trader"),
    ("merchants", "merchant"),
    ("commercants", "commercant"),
    ("commercant", "commercant"),
    ("miners", "miner"),
    ("orpailleurs", "orpailleur"),
    ("tourists", "tourist"),
    ("tourist", "tourist"),
    ("touristes", "touriste"),
    ("nationals", "national"),
    ("ressortissants", "ressortissant"),
    ("citizens", "citizen"),
    ("officials", "official"),
    ("elus", "elu"),
    ("chiefs", "chief"),
    ("chefs", "chef"),
    ("students", "student"),
    ("eleves", "eleve"),
];

static HOSTAGE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b({NUM})\s+((?:[a-z]+\s+){{0,3}}?)(?:{occ})\b|\b({NUM})\s+(?:hostages|otages|people|personnes|persons)\b",
        occ = OCCUPATIONS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join("|")
    ))
    .expect("hostage pattern")
});

/// What happened in `text`.
pub fn extract(text: &str) -> EventsFound {
    let (f, map) = fold_mapped(text);
    let fb = f.as_bytes();
    let span = |a: usize, b: usize| Span::of(text, source_span(text, &map, a, b));
    // Sub-event type from cues.
    let mut weights: Vec<(SubEventType, f32, usize, usize, f32)> = Vec::new();
    for (cue, w, name) in CUES {
        let Some(t) = SubEventType::parse(name) else {
            continue;
        };
        for (at, _) in f.match_indices(cue) {
            if at > 0 && fb[at - 1] != b' ' {
                continue;
            }
            match weights.iter_mut().find(|x| x.0 == t) {
                Some(x) => {
                    x.1 += w;
                    if *w > x.4 {
                        (x.2, x.3, x.4) = (at, at + cue.len(), *w);
                    }
                }
                None => weights.push((t, *w, at, at + cue.len(), *w)),
            }
        }
    }
    // Attacks need civilians to be the target; armed parties on both sides
    // make a clash. Abductions and explosions outrank both.
    weights.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total: f32 = weights.iter().map(|w| w.1).sum();
    let event = weights.first().map(|(t, w, a, b, _)| Found {
        value: EventMention { sub_event_type: *t },
        span: {
            // Extend the cue to the end of its word ("kidnap" -> "kidnapped").
            let end = fb[*b..]
                .iter()
                .position(|c| *c == b' ')
                .map_or(fb.len(), |k| b + k);
            span(*a, end)
        },
        confidence: (w / total.max(f32::MIN_POSITIVE)).clamp(0.05, 0.95),
    });
    // Deaths, per sentence; "killing four soldiers and three civilians" chains.
    let mut folded_deaths: Vec<(usize, usize, u32)> = Vec::new();
    for re in DEATH_RES.iter() {
        for c in re.captures_iter(&f) {
            let (Some(m), Some(n)) = (c.get(0), c.get(1)) else {
                continue;
            };
            if let Some(v) = number(n.as_str())
                && !folded_deaths
                    .iter()
                    .any(|d| d.0 < m.end() && m.start() < d.1)
            {
                folded_deaths.push((m.start(), m.end(), v));
            }
        }
    }
    let mut k = 0;
    while k < folded_deaths.len() {
        let end = folded_deaths[k].1;
        if let Some(c) = AND_MORE.captures(&f[end..])
            && let (Some(m), Some(n)) = (c.get(0), c.get(1))
            && let Some(v) = number(n.as_str())
            && !folded_deaths
                .iter()
                .any(|d| d.0 < end + m.end() && end + m.start() < d.1)
        {
            folded_deaths.push((end + m.start(), end + m.end(), v));
        }
        k += 1;
    }
    let mut deaths: Vec<Found<u32>> = folded_deaths
        .iter()
        .map(|(a, b, v)| Found {
            value: *v,
            span: span(*a, *b),
            confidence: 0.8,
        })
        .collect();
    deaths.sort_by_key(|d| d.span.start);
    let sentence_of = |at: usize| text[..at].matches(['.', '!', '?', '\n']).count();
    let mut per_sentence: std::collections::BTreeMap<usize, u32> =
        std::collections::BTreeMap::new();
    for d in &deaths {
        *per_sentence.entry(sentence_of(d.span.start)).or_default() += d.value;
    }
    let fatalities = per_sentence.values().copied().max();
    // Hostages, for abductions.
    let hostages = event
        .as_ref()
        .filter(|e| e.value.sub_event_type.label() == "Abduction/forced disappearance")
        .and_then(|_| {
            let c = HOSTAGE_RE.captures(&f)?;
            let m = c.get(0)?;
            let count = c.get(1).or(c.get(3)).and_then(|n| number(n.as_str()));
            let between = c.get(2).map_or("", |g| g.as_str());
            let whole = m.as_str();
            let occupation = OCCUPATIONS
                .iter()
                .find(|(k, _)| whole.ends_with(k))
                .map(|(_, v)| v.to_string());
            // The nationality: a demonym between the number and the noun, or right after ("ressortissants marocains").
            let after_end = (m.end() + 40).min(f.len());
            let after = &f[m.end()..after_end];
            let nationality = DEMONYMS
                .iter()
                .find(|(d, _)| {
                    between.split(' ').any(|w| {
                        w.trim_end_matches('s').trim_end_matches('e') == d.trim_end_matches('e')
                    })
                })
                .or_else(|| {
                    DEMONYMS.iter().find(|(d, _)| {
                        after.split(' ').take(3).any(|w| {
                            w.trim_end_matches('s').trim_end_matches('e') == d.trim_end_matches('e')
                        })
                    })
                })
                .map(|(_, cc)| cc.to_string());
            Some(Found {
                value: Hostages {
                    count,
                    nationality,
                    occupation,
                },
                span: span(m.start(), m.end()),
                confidence: 0.75,
            })
        });
    // Kidnap-case steps and ransom, when hostages are in question.
    let hostage_context = HOSTAGE_CONTEXT.iter().any(|w| {
        f.match_indices(w)
            .any(|(at, _)| at == 0 || fb[at - 1] == b' ')
    });
    let word_at = |cue: &str| {
        f.match_indices(cue)
            .find(|(at, _)| *at == 0 || fb[*at - 1] == b' ')
            .map(|(at, _)| at)
    };
    let case_step = if !hostage_context {
        None
    } else {
        STEP_CUES
            .iter()
            .find_map(|(kind, cues)| {
                cues.iter()
                    .filter_map(|c| word_at(c).map(|at| (at, at + c.len())))
                    .min()
                    .map(|(a, b)| (*kind, a, b))
            })
            .map(|(kind, a, b)| Found {
                value: kind,
                span: span(a, b),
                confidence: 0.7,
            })
            .or_else(|| {
                event
                    .as_ref()
                    .filter(|e| {
                        e.value.sub_event_type == SubEventType::AbductionForcedDisappearance
                    })
                    .map(|e| Found {
                        value: CaseStepKind::Abducted,
                        span: e.span.clone(),
                        confidence: e.confidence,
                    })
            })
    };
    let ransom_paid = if !hostage_context {
        None
    } else {
        let no = RANSOM_NOT_PAID.find(&f).map(|m| (false, m));
        let yes = RANSOM_PAID.find(&f).map(|m| (true, m));
        no.or(yes).map(|(paid, m)| Found {
            value: paid,
            span: span(m.start(), m.end()),
            confidence: 0.7,
        })
    };
    EventsFound {
        event,
        deaths,
        fatalities,
        hostages,
        case_step,
        ransom_paid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(text: &str) -> String {
        extract(text)
            .event
            .map(|e| e.value.sub_event_type.label().to_string())
            .unwrap_or_default()
    }

    fn step(text: &str) -> Option<(CaseStepKind, String)> {
        extract(text).case_step.map(|s| (s.value, s.span.text))
    }

    #[test]
    fn kidnap_case_steps_in_english_and_french() {
        use CaseStepKind::*;
        assert_eq!(
            step("Gunmen kidnapped two Moroccan truck drivers near Téra on Saturday.").map(|s| s.0),
            Some(Abducted)
        );
        assert_eq!(
            step("JNIM claimed responsibility for the abduction of the two drivers."),
            Some((Claimed, "claimed responsibility".into()))
        );
        assert_eq!(
            step("Une vidéo montrant les deux otages a été publiée, une preuve de vie selon leurs proches.")
                .map(|s| s.0),
            Some(ProofOfLife)
        );
        assert_eq!(
            step("Des négociations sont en cours pour la libération des otages marocains.")
                .map(|s| s.0),
            Some(Negotiation),
            "'la libération des otages' names what is negotiated here, not a release"
        );
        assert_eq!(
            step("The two Moroccan drivers kidnapped in January were released on Sunday.")
                .map(|s| s.0),
            Some(Released)
        );
        assert_eq!(
            step("Les deux otages ont été libérés lors d'une opération de l'armée nigérienne.")
                .map(|s| s.0),
            Some(Rescued)
        );
        assert_eq!(
            step("L'otage s'est échappé et a rejoint Tillabéri.").map(|s| s.0),
            Some(Escaped)
        );
        assert_eq!(
            step("The hostage was executed by his captors, the group said.").map(|s| s.0),
            Some(Killed)
        );
        assert_eq!(
            step("Soldiers were released from hospital after the attack."),
            None
        );
    }

    #[test]
    fn whether_a_ransom_was_paid() {
        let paid = |t: &str| extract(t).ransom_paid.map(|r| r.value);
        assert_eq!(
            paid("The hostages were freed after a ransom was paid, sources said."),
            Some(true)
        );
        assert_eq!(
            paid("Les otages ont été libérés contre une rançon."),
            Some(true)
        );
        assert_eq!(
            paid("Niamey said the hostages were released without any ransom."),
            Some(false)
        );
        assert_eq!(
            paid("Les otages ont été libérés sans rançon, selon le gouvernement."),
            Some(false)
        );
        assert_eq!(paid("The hostages were released on Sunday."), None);
    }

    #[test]
    fn every_cue_names_an_acled_sub_event_type() {
        for (cue, _, name) in CUES {
            assert!(SubEventType::parse(name).is_some(), "{cue}: {name}");
            assert_eq!(*cue, sahelwatch_core::text::fold(cue), "cues are folded");
        }
    }

    #[test]
    fn sub_event_types_in_english_and_french() {
        assert_eq!(
            sub("Gunmen kidnapped two Moroccan truck drivers near Téra."),
            "Abduction/forced disappearance"
        );
        assert_eq!(
            sub("Deux chauffeurs marocains ont été enlevés près de Téra."),
            "Abduction/forced disappearance"
        );
        assert_eq!(
            sub("Four soldiers were killed when their vehicle struck an IED near Djibo."),
            "Remote explosive/landmine/IED"
        );
        assert_eq!(
            sub("Un véhicule militaire a sauté sur un engin explosif improvisé."),
            "Remote explosive/landmine/IED"
        );
        assert_eq!(
            sub("Heavy fighting broke out between the army and JNIM fighters."),
            "Armed clash"
        );
        assert_eq!(
            sub("De violents affrontements ont opposé les FAMa aux jihadistes."),
            "Armed clash"
        );
        assert_eq!(
            sub("Militants massacred 40 civilians in the village."),
            "Attack"
        );
        assert_eq!(
            sub("Des hommes armés ont tué douze civils dans le village."),
            "Attack"
        );
        assert_eq!(
            sub("A drone strike hit a wedding in the north."),
            "Air/drone strike"
        );
        assert_eq!(
            sub("Des frappes aériennes ont visé des positions terroristes."),
            "Air/drone strike"
        );
        assert_eq!(
            sub("A suicide bomber blew himself up at the checkpoint."),
            "Suicide bomb"
        );
        assert_eq!(
            sub("Police fired tear gas to disperse the protesters."),
            "Protest with intervention"
        );
        assert_eq!(
            sub("Des centaines de personnes ont manifesté à Bamako."),
            "Peaceful protest"
        );
        assert_eq!(
            sub("The army said it recaptured the town."),
            "Government regains territory"
        );
        assert_eq!(sub("Nothing of note."), "");
    }

    #[test]
    fn deaths_are_counted_and_added_within_a_sentence() {
        let e = extract(
            "Gunmen attacked the post, killing four soldiers and three civilians. Four soldiers were killed, the army said.",
        );
        assert_eq!(e.fatalities, Some(7), "{:?}", e.deaths);
        assert_eq!(
            extract("L'attaque a fait au moins 15 morts.").fatalities,
            Some(15)
        );
        assert_eq!(extract("Douze civils ont été tués.").fatalities, Some(12));
        assert_eq!(
            extract("Dozens of people were killed.").fatalities,
            Some(12)
        );
        assert_eq!(extract("The death toll rose to 31.").fatalities, Some(31));
        assert_eq!(extract("No one was hurt.").fatalities, None);
    }

    #[test]
    fn hostages_count_nationality_and_occupation() {
        let h = extract("Gunmen kidnapped two Moroccan truck drivers near Téra on Monday.")
            .hostages
            .unwrap();
        assert_eq!(
            h.value,
            Hostages {
                count: Some(2),
                nationality: Some("MA".into()),
                occupation: Some("truck driver".into())
            }
        );
        assert_eq!(h.span.text, "two Moroccan truck drivers");
        let h =
            extract("Des hommes armés ont enlevé deux ressortissants marocains, des chauffeurs.")
                .hostages
                .unwrap();
        assert_eq!(
            (h.value.count, h.value.nationality.as_deref()),
            (Some(2), Some("MA"))
        );
        let h = extract("Three Chinese workers were abducted at a mine.")
            .hostages
            .unwrap();
        assert_eq!(
            h.value,
            Hostages {
                count: Some(3),
                nationality: Some("CN".into()),
                occupation: Some("worker".into())
            }
        );
        assert!(
            extract("Militants attacked a military post.")
                .hostages
                .is_none()
        );
    }
}
