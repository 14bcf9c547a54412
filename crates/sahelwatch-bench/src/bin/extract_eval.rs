//! Quality and speed of report extraction on real text.
//!
//! The labelled set: the rows of the real UCDP GED sample (bundled starter
//! data) in the countries the bundled gazetteer covers (Mali, Burkina Faso,
//! Niger, Mauritania, Senegal in full; Nigeria and Chad through the region's
//! larger towns). Each row's text is its `source_headline` (the headlines of
//! its sources, ';'-separated) followed by its `where_description`; the truth
//! is the row's coordinates (place), `date_start..date_end` (date), `side_a`
//! and `side_b` (actors) and `type_of_violence` (event type: 1 and 2 are
//! Battles, 3 Violence against civilians). The publication date given to the
//! extractor is the day after `date_end`.
//!
//! Rows with an even UCDP id are the development part, odd ids the held-out
//! part; nothing in the extractor was tuned on the held-out rows. A place hit
//! is an extracted place within 25 km of the truth, counted on rows whose
//! UCDP `where_prec` is at most 3 (the truth is a point or a district).
//!
//! Throughput: articles of 5 KB made of the set's real texts, extracted one
//! after the other on one thread.
//!
//! Usage: extract_eval [--starter data/starter]

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate};
use sahelwatch_core::{Gazetteer, Place};
use sahelwatch_extract::actors::ActorDictionary;
use sahelwatch_extract::places::PlaceIndex;
use sahelwatch_extract::report::extract;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const COUNTRIES: &[&str] = &[
    "Mali",
    "Burkina Faso",
    "Niger",
    "Mauritania",
    "Senegal",
    "Nigeria",
    "Chad",
];

struct Row {
    id: i64,
    text: String,
    lat: f64,
    lon: f64,
    where_prec: u8,
    start: NaiveDate,
    end: NaiveDate,
    sides: Vec<String>,
    battles: bool,
}

fn gazetteer(dir: &Path) -> Result<Arc<Gazetteer>> {
    let mut by_id: HashMap<i64, Place> = HashMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.retain(|p| p.to_string_lossy().contains("geonames"));
    files.sort();
    for f in files {
        let r = BufReader::new(flate2::read::GzDecoder::new(std::fs::File::open(&f)?));
        for (i, line) in r.lines().enumerate() {
            if let Ok(p) = sahelwatch_ingest::geonames::parse_line(i as u64 + 1, &line?) {
                let newer = by_id.get(&p.id).is_none_or(|old| old.modified < p.modified);
                if newer {
                    by_id.insert(p.id, p);
                }
            }
        }
    }
    let mut places: Vec<Place> = by_id.into_values().collect();
    places.sort_by_key(|p| p.id);
    Ok(Arc::new(Gazetteer::new(places)))
}

fn rows(dir: &Path) -> Result<Vec<Row>> {
    let f = std::fs::File::open(dir.join("ucdp_ged_23_1_sample.csv.gz"))?;
    let mut r = csv::Reader::from_reader(flate2::read::GzDecoder::new(f));
    let h = r.headers()?.clone();
    let col = |n: &str| {
        h.iter()
            .position(|x| x == n)
            .with_context(|| format!("no column {n}"))
    };
    let (id, country, headline, wd, lat, lon, wp, ds, de, sa, sb, tov) = (
        col("id")?,
        col("country")?,
        col("source_headline")?,
        col("where_description")?,
        col("latitude")?,
        col("longitude")?,
        col("where_prec")?,
        col("date_start")?,
        col("date_end")?,
        col("side_a")?,
        col("side_b")?,
        col("type_of_violence")?,
    );
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        if !COUNTRIES.contains(&&rec[country]) {
            continue;
        }
        let text = format!(
            "{}. {}",
            rec[headline].replace(';', ". "),
            rec[wd].replace('\n', " ")
        );
        out.push(Row {
            id: rec[id].parse::<f64>()? as i64,
            text,
            lat: rec[lat].parse()?,
            lon: rec[lon].parse()?,
            where_prec: rec[wp].parse::<f64>()? as u8,
            start: NaiveDate::parse_from_str(&rec[ds], "%Y-%m-%d")?,
            end: NaiveDate::parse_from_str(&rec[de], "%Y-%m-%d")?,
            sides: vec![rec[sa].to_string(), rec[sb].to_string()],
            battles: rec[tov].starts_with('1') || rec[tov].starts_with('2'),
        });
    }
    Ok(out)
}

use sahelwatch_core::fusion::distance_km as km;

/// Does an extracted actor name match a UCDP side? UCDP says "Government of
/// Mali", ACLED "Military Forces of Mali"; "IS" and "JNIM" are both.
fn same_actor(extracted: &str, side: &str) -> bool {
    let e = sahelwatch_core::text::fold(extracted);
    let s = sahelwatch_core::text::fold(side);
    if let Some(country) = s.strip_prefix("government of ") {
        return e.contains(country) && (e.contains("military") || e.contains("police"));
    }
    let key = |x: &str| -> &'static str {
        if x.contains("jnim") || x.contains("nusrat") {
            "jnim"
        } else if x.contains("islamic state")
            || x == "is"
            || x.contains("isgs")
            || x.contains("iswap")
        {
            "is"
        } else if x.contains("boko haram")
            || x.contains("jama atu ahlis")
            || x.contains("jamaatu ahli")
        {
            "jas"
        } else {
            ""
        }
    };
    let (ke, ks) = (key(&e), key(&s));
    (!ke.is_empty() && ke == ks) || e == s
}

#[derive(Default)]
struct Score {
    rows: usize,
    place_rows: usize,
    place_found: usize,
    place_correct: usize,
    place_rows_hit: usize,
    date_rows: usize,
    date_right: usize,
    actor_truth: usize,
    actor_found_right: usize,
    actor_found: usize,
    actor_found_any: usize,
    event_rows: usize,
    event_right: usize,
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "—".into()
    } else {
        format!("{:.2} ({a}/{b})", a as f64 / b as f64)
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .iter()
        .position(|a| a == "--starter")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data/starter"));
    let t = Instant::now();
    let gaz = gazetteer(&dir)?;
    let places = PlaceIndex::new(Arc::clone(&gaz));
    let actors = ActorDictionary::builtin();
    println!(
        "gazetteer: {} places; place index built in {:.2}s",
        gaz.len(),
        t.elapsed().as_secs_f64()
    );
    let rows = rows(&dir)?;
    let mut parts: [(&str, Score); 2] = [
        ("development (even ids)", Score::default()),
        ("held-out (odd ids)", Score::default()),
    ];
    for r in &rows {
        let s = &mut parts[(r.id % 2) as usize].1;
        s.rows += 1;
        let published = r.end + Duration::days(1);
        let e = extract(&r.text, published, None, &actors, &places);
        if r.where_prec <= 3 {
            s.place_rows += 1;
            let mut hit = false;
            for p in &e.places.places {
                s.place_found += 1;
                if std::env::var("EVAL_DEBUG").is_ok() && r.id % 2 == 0 {
                    let d = km(
                        (p.value.place.latitude, p.value.place.longitude),
                        (r.lat, r.lon),
                    );
                    eprintln!(
                        "dev row {}: '{}' -> {} ({d:.0} km)",
                        r.id, p.span.text, p.value.place.display
                    );
                }
                if km(
                    (p.value.place.latitude, p.value.place.longitude),
                    (r.lat, r.lon),
                ) <= 25.0
                {
                    s.place_correct += 1;
                    hit = true;
                }
            }
            if hit {
                s.place_rows_hit += 1;
            }
        }
        if let Some(i) = e.event_date {
            s.date_rows += 1;
            let d = e.dates[i].value.date;
            if d >= r.start && d <= r.end {
                s.date_right += 1;
            }
        }
        let named: Vec<&String> = r
            .sides
            .iter()
            .filter(|x| !x.starts_with("Civilians"))
            .collect();
        s.actor_truth += named.len();
        s.actor_found += e.actors.len();
        s.actor_found_any += named
            .iter()
            .filter(|side| e.actors.iter().any(|a| same_actor(&a.value.name, side)))
            .count();
        s.actor_found_right += e
            .actors
            .iter()
            .filter(|a| named.iter().any(|side| same_actor(&a.value.name, side)))
            .count();
        if let Some(ev) = &e.events.event {
            s.event_rows += 1;
            let battles = ev.value.sub_event_type.event_type().label() == "Battles";
            if battles == r.battles {
                s.event_right += 1;
            }
        }
    }
    for (name, s) in &parts {
        println!("\n{name}: {} rows", s.rows);
        let p = s.place_correct as f64 / s.place_found.max(1) as f64;
        let rc = s.place_rows_hit as f64 / s.place_rows.max(1) as f64;
        let f1 = if p + rc > 0.0 {
            2.0 * p * rc / (p + rc)
        } else {
            0.0
        };
        println!(
            "  places (within 25 km; {} rows with where_prec <= 3): precision {}, recall {}, F1 {f1:.2}",
            s.place_rows,
            pct(s.place_correct, s.place_found),
            pct(s.place_rows_hit, s.place_rows)
        );
        println!(
            "  event date (within date_start..date_end): accuracy {} of the rows with a date; found on {}",
            pct(s.date_right, s.date_rows),
            pct(s.date_rows, s.rows)
        );
        println!(
            "  actors (sides other than civilians): precision {}, recall {}",
            pct(s.actor_found_right, s.actor_found),
            pct(s.actor_found_any, s.actor_truth)
        );
        println!(
            "  event type (Battles vs Violence against civilians): accuracy {} of the rows typed; typed {}",
            pct(s.event_right, s.event_rows),
            pct(s.event_rows, s.rows)
        );
    }
    // Throughput: 5 KB articles of real text.
    let mut corpus = String::new();
    for r in rows.iter().cycle().take(rows.len() * 20) {
        corpus.push_str(&r.text);
        corpus.push(' ');
    }
    let mut articles = Vec::new();
    let mut at = 0;
    while articles.len() < 400 {
        let mut end = (at + 5000).min(corpus.len());
        while !corpus.is_char_boundary(end) {
            end -= 1;
        }
        articles.push(corpus[at..end].to_string());
        at = if end + 5000 >= corpus.len() { 0 } else { end };
    }
    let published = NaiveDate::from_ymd_opt(2025, 8, 5).context("date")?;
    let t = Instant::now();
    let mut found = 0;
    for a in &articles {
        found += extract(a, published, None, &actors, &places)
            .places
            .places
            .len();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "\nthroughput: {} articles of 5 KB in {s:.2}s on one thread = {:.0} articles/s ({:.1} MB/s); {found} places found",
        articles.len(),
        articles.len() as f64 / s,
        articles.iter().map(String::len).sum::<usize>() as f64 / s / 1e6
    );
    Ok(())
}
