//! Place extraction on real sentences, against the real gazetteer bundled as
//! starter data (GeoNames: the region's larger towns and the full dumps of
//! Burkina Faso, Mali, Niger, Mauritania and Senegal).

use sahelwatch_core::{Gazetteer, Place};
use sahelwatch_extract::places::PlaceIndex;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::LazyLock;

static GAZ: LazyLock<Gazetteer> = LazyLock::new(|| {
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
    Gazetteer::new(by_id.into_values().collect())
});

static INDEX: LazyLock<PlaceIndex<'static>> = LazyLock::new(|| PlaceIndex::new(&GAZ));

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
            "Namsiguia",
            "BF",
        ),
        (
            "Des engins explosifs ont été posés sur l'axe Djibo-Namsiguia.",
            "Djibo",
            "Namsiguia",
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
