//! Report text extraction: arbitrary bytes as a filed report, checked by
//! `report::text_of` (size, UTF-8, binary) then `report::extract` (language,
//! dates, actors, places against a gazetteer, events),
//! `Extraction::claims` and the report's time window
//! (`fusion::report_window`), as `App` does when a report is filed.
//!
//! The publication date is the filer's (`?published=YYYY-MM-DD`, read with
//! `NaiveDate::parse_from_str(.., "%Y-%m-%d")` as the server does): when the
//! input's first line is such a date, it is the publication date and the
//! rest is the text; otherwise the whole input is the text, published
//! 2024-06-15. The gazetteer
//! is GeoNames cities500 of the region (the bundled starter file, ~2,250
//! places), with the built-in actor dictionary; both are built once.
#![no_main]

use std::io::{BufRead, BufReader};
use std::sync::{Arc, LazyLock};

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use sahelwatch_core::fusion::report_window;
use sahelwatch_core::{Gazetteer, Place};
use sahelwatch_extract::actors::ActorDictionary;
use sahelwatch_extract::places::PlaceIndex;
use sahelwatch_extract::report::{DEFAULT_MAX_BYTES, extract, text_of};

static CITIES: &[u8] = include_bytes!("../../data/starter/geonames_cities500_sahel_region.tsv.gz");

static PLACES: LazyLock<PlaceIndex> = LazyLock::new(|| {
    let mut places: Vec<Place> = Vec::new();
    let r = BufReader::new(flate2::read::GzDecoder::new(CITIES));
    for (i, line) in r.lines().enumerate() {
        let line = line.expect("the starter gazetteer is gzip'd UTF-8");
        if let Ok(p) = sahelwatch_ingest::geonames::parse_line(i as u64 + 1, &line) {
            places.push(p);
        }
    }
    places.sort_by_key(|p| p.id);
    places.dedup_by_key(|p| p.id);
    assert!(places.len() > 1000, "the starter gazetteer was read");
    PlaceIndex::new(Arc::new(Gazetteer::new(places)))
});

static ACTORS: LazyLock<ActorDictionary> = LazyLock::new(ActorDictionary::builtin);

fuzz_target!(|data: &[u8]| {
    let mut published = NaiveDate::from_ymd_opt(2024, 6, 15).expect("a date");
    let mut body = data;
    if let Some(i) = data.iter().position(|&b| b == b'\n')
        && let Ok(first) = std::str::from_utf8(&data[..i])
        && let Ok(d) = NaiveDate::parse_from_str(first, "%Y-%m-%d")
    {
        published = d;
        body = &data[i + 1..];
    }
    let Ok(text) = text_of(body, DEFAULT_MAX_BYTES) else {
        return;
    };
    let x = extract(text, published, None, &ACTORS, &PLACES);
    let claims = x.claims();
    let _ = report_window(&claims, published);
});
