//! Micro-benchmarks of the in-memory incident index on SYNTHETIC rows.

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sahelwatch_core::{CountryCode, OrgId, SubEventType, Tlp, Viewer};
use sahelwatch_query::{BBox, Filter, GroupKey, IndexRow, Near, Snapshot, Sort};

fn rows(n: usize) -> Vec<IndexRow> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let base = NaiveDate::from_ymd_opt(2012, 1, 1).unwrap();
    let countries = ["BF", "ML", "NE", "TD", "NG"].map(|c| CountryCode::parse(c).unwrap());
    (0..n as i64)
        .map(|id| IndexRow {
            id,
            deleted: false,
            marking: sahelwatch_core::Marking::new(OrgId(1), Tlp::Clear),
            coarse_latitude: 0.0,
            coarse_longitude: 0.0,
            dataset: Some("acled".into()),
            event_date: base + chrono::Duration::days(rng.random_range(0..5400)),
            sub_event_type: SubEventType::ALL[rng.random_range(0..25)],
            latitude: rng.random_range(10.0..20.0),
            longitude: rng.random_range(-10.0..5.0),
            country: countries[rng.random_range(0..5)],
            admin1: Some(format!("Region {}", rng.random_range(0..40))),
            actors: vec![format!("Actor {}", rng.random_range(0..300))],
            fatalities: rng.random_range(0..10),
            geo_precision: sahelwatch_core::Precision::EXACT,
            on_road: false,
            updated_micros: 0,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let snap = Snapshot::build(rows(1_000_000), 1);
    let bbox = Filter {
        bbox: Some(BBox::parse("-1,13,1,15").unwrap()),
        date_from: NaiveDate::from_ymd_opt(2020, 1, 1),
        date_to: NaiveDate::from_ymd_opt(2020, 12, 31),
        event_types: vec![sahelwatch_core::EventType::Battles],
        ..Default::default()
    };
    let near = Filter {
        near: Some(Near::new(14.0, -0.03, 50.0).unwrap()),
        date_from: NaiveDate::from_ymd_opt(2025, 10, 1),
        ..Default::default()
    };
    c.bench_function("index: bbox+date+type, page of 100 (1M rows)", |b| {
        b.iter(|| snap.search(&bbox, &Viewer::Local, Sort::DateDesc, None, 100))
    });
    c.bench_function(
        "index: near 50 km + 12 months, page of 100 (1M rows)",
        |b| b.iter(|| snap.search(&near, &Viewer::Local, Sort::DateDesc, None, 100)),
    );
    c.bench_function("index: monthly counts per country (1M rows)", |b| {
        b.iter(|| {
            snap.aggregate(
                &Filter::default(),
                &Viewer::Local,
                &[GroupKey::Country, GroupKey::Month],
            )
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
