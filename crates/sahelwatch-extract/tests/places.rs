//! Place extraction on real sentences, against the real gazetteer bundled as
//! starter data (GeoNames: the region's larger towns and the full dumps of
//! Burkina Faso, Mali, Niger, Mauritania and Senegal).

use sahelwatch_core::{Gazetteer, Place};
use sahelwatch_extract::places::PlaceIndex;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

static GAZ: LazyLock<Arc<Gazetteer>> = LazyLock::new(|| {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/starter");
    let mut by_id: HashMap<i64, Place> = HashMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("geonames"))
        .collect();
    files.sort();
    for f in files {
        let r = BufReader::new(flate2::read::GzDecoder::new(
            std::fs::File::open(&f).unwrap(),
        ));
        for (i, line) in r.lines().enumerate() {
            if let Ok(p) = sahelwatch_ingest::geonames::parse_line(i as u64 + 1, &line.unwrap()) {
                match by_id.get(&p.id) {
                    Some(old) if old.modified >= p.modified => {}
                    _ => {
                        by_id.insert(p.id, p);
                    }
                }
            }
        }
    }
    let mut places: Vec<Place> = by_id.into_values().collect();
    places.sort_by_key(|p| p.id);
    Arc::new(Gazetteer::new(places))
});

static INDEX: LazyLock<PlaceIndex> = LazyLock::new(|| PlaceIndex::new(Arc::clone(&GAZ)));

/// (text of the span, resolved name, country) of each place.
fn places(text: &str) -> Vec<(String, String, String)> {
    INDEX
        .extract(text, &[])
        .places
        .into_iter()
        .map(|f| {
            (
                f.span.text,
                f.value.place.name,
                f.value
                    .place
                    .country
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn has(found: &[(String, String, String)], span: &str, cc: &str) -> bool {
    found.iter().any(|(s, _, c)| s == span && c == cc)
}

#[test]
fn accents_and_spelling_variants_find_the_same_place() {
    for text in [
        "Gunmen attacked a convoy near Tera in Niger on Monday.",
        "Des hommes armés ont attaqué un convoi près de Téra, au Niger.",
    ] {
        let got = places(text);
        assert!(
            got.iter().any(|(_, n, c)| n == "Téra" && c == "NE"),
            "{text}: {got:?}"
        );
    }
    let got = places("Clashes were reported in the Tillabery area.");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].1.starts_with("Tillab"), "{got:?}");
    assert_eq!(got[0].2, "NE");
}

#[test]
fn ambiguous_names_follow_the_country_named_nearby() {
    // GeoNames has a Dori in Burkina Faso, in Mali and in Niger.
    let bf = places("Militants attacked Dori, the capital of Burkina Faso's Sahel region.");
    assert!(has(&bf, "Dori", "BF"), "{bf:?}");
    let ne =
        places("Une attaque a visé le village de Dori, dans le département de Téra, au Niger.");
    assert!(has(&ne, "Dori", "NE"), "{ne:?}");
    let ml = places("Des soldats maliens ont été déployés à Dori.");
    assert!(
        has(&ml, "Dori", "ML"),
        "a demonym names the country: {ml:?}"
    );
    // "Gao" names eight places; the Malian city is meant.
    let gao = places("A suicide bomber struck a market in Gao on Friday.");
    assert!(has(&gao, "Gao", "ML"), "{gao:?}");
}

#[test]
fn other_places_of_the_text_pull_an_ambiguous_one_to_their_area() {
    let got = places("Fighting spread from Djibo to Dori and Gorom-Gorom.");
    assert!(has(&got, "Dori", "BF"), "{got:?}");
    assert!(has(&got, "Djibo", "BF"), "{got:?}");
}

#[test]
fn between_x_and_y_is_a_road_segment() {
    // (text, from, to, country): GeoNames calls Seytenga "Sitenga" (13.97 N, 0.31 E).
    for (text, from, to, cc) in [
        (
            "A convoy was ambushed on the road between Dori and Seytenga.",
            "Dori",
            "Sitenga",
            "BF",
        ),
        (
            "Un convoi a été attaqué entre Ansongo et Ménaka.",
            "Ansongo",
            "Ménaka",
            "ML",
        ),
        (
            "An IED hit a truck on the road from Djibo to Namsiguia.",
            "Djibo",
            "Nams",
            "BF",
        ),
        (
            "Des engins explosifs ont été posés sur l'axe Djibo-Namsiguia.",
            "Djibo",
            "Nams",
            "BF",
        ),
    ] {
        let found = INDEX.extract(text, &[]);
        assert_eq!(found.segments.len(), 1, "{text}: {:?}", found.places);
        let s = &found.segments[0];
        assert!(
            s.value.from.name.starts_with(from) && s.value.to.name.starts_with(to),
            "{text}: {s:?}"
        );
        let cc = Some(sahelwatch_core::CountryCode::parse(cc).unwrap());
        assert_eq!(
            (s.value.from.country, s.value.to.country),
            (cc, cc),
            "{text}"
        );
        let (a, b) = (&s.value.from, &s.value.to);
        let km = 111.0
            * ((a.latitude - b.latitude).powi(2) + (a.longitude - b.longitude).powi(2)).sqrt();
        assert!(
            km < 300.0,
            "{text}: a segment joins nearby places (Ansongo-Ménaka is 205 km), not {km:.0} km apart"
        );
        assert!(text[s.span.start..s.span.end].contains(from));
    }
    // Two places that are not a road.
    let found = INDEX.extract("Attacks hit Dori on Monday and Djibo on Tuesday.", &[]);
    assert!(found.segments.is_empty());
}

#[test]
fn a_text_without_places_finds_none_and_spans_are_exact() {
    assert!(places("The minister said the situation was under control.").is_empty());
    let text = "À Ouahigouya, dans le Yatenga, deux civils ont été tués.";
    for f in INDEX.extract(text, &[]).places {
        assert_eq!(&text[f.span.start..f.span.end], f.span.text);
        assert!(f.confidence > 0.0 && f.confidence <= 1.0);
    }
    assert!(has(&places(text), "Ouahigouya", "BF"));
}

/// The whole extraction of a report, English and French, on the same event.
#[test]
fn a_whole_report_in_english_and_in_french() {
    use chrono::NaiveDate;
    use sahelwatch_extract::actors::ActorDictionary;
    use sahelwatch_extract::lang::Lang;
    use sahelwatch_extract::report::extract;
    let actors = ActorDictionary::builtin();
    let published = NaiveDate::from_ymd_opt(2025, 8, 5).unwrap();
    for text in [
        "Gunmen believed to belong to the Islamic State Sahel Province kidnapped two Moroccan truck drivers \
         late Monday on the road between Téra and Dori, near the border with Burkina Faso, local sources said.",
        "Des hommes armés de l'État islamique au Sahel ont enlevé lundi soir deux chauffeurs routiers marocains \
         sur l'axe Téra-Dori, près de la frontière avec le Burkina Faso, selon des sources locales au Niger.",
    ] {
        let e = extract(text, published, None, &actors, &INDEX);
        assert!(e.lang_detected);
        assert_eq!(
            e.lang,
            if text.starts_with("Gunmen") {
                Lang::En
            } else {
                Lang::Fr
            }
        );
        let date = &e.dates[e.event_date.expect("an event date")];
        assert_eq!(
            date.value.date,
            NaiveDate::from_ymd_opt(2025, 8, 4).unwrap(),
            "{text}"
        );
        assert!(
            e.actors
                .iter()
                .any(|a| a.value.name == "Islamic State (Sahel)"),
            "{:?}",
            e.actors
        );
        assert_eq!(
            e.events
                .event
                .as_ref()
                .unwrap()
                .value
                .sub_event_type
                .label(),
            "Abduction/forced disappearance"
        );
        let h = &e.events.hostages.as_ref().expect("hostages").value;
        assert_eq!(
            (h.count, h.nationality.as_deref()),
            (Some(2), Some("MA")),
            "{text}"
        );
        assert_eq!(e.places.segments.len(), 1, "{:?}", e.places.places);
        assert_eq!(e.places.segments[0].value.from.name, "Téra");
        assert!(!e.unlocated);
        // Every span is exact.
        for a in &e.actors {
            assert_eq!(&text[a.span.start..a.span.end], a.span.text);
        }
    }
    let e = extract(
        "The minister spoke about security.",
        published,
        Some(Lang::En),
        &actors,
        &INDEX,
    );
    assert!(e.unlocated && !e.lang_detected);
}
