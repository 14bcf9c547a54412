//! The snapshot against an independent, naive evaluation of the same filters
//! on the same rows, on random data; and incremental refresh against a
//! rebuild from scratch.

use super::*;
use crate::filter::{BBox, Near};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sahelwatch_core::{GroupId, UserId};

const COUNTRIES: [&str; 4] = ["BF", "ML", "NE", "TD"];
const ADMIN1: [&str; 4] = ["Sahel", "Tillabéri", "Mopti", "Centre-Nord"];
const ACTORS: [&str; 5] = [
    "JNIM: Jama'ah Nusrah al-Islam wal Muslimin",
    "Islamic State (Sahel)",
    "Military Forces of Mali (2021-)",
    "Wagner Group",
    "Civilians (Niger)",
];

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn random_marking(rng: &mut ChaCha8Rng) -> Marking {
    Marking {
        owner: OrgId(rng.random_range(1..4)),
        tlp: Tlp::ALL[rng.random_range(0..5)],
        sharing_group: rng
            .random_bool(0.5)
            .then(|| GroupId(rng.random_range(1..4))),
        author: rng.random_bool(0.7).then(|| UserId(rng.random_range(1..7))),
        recipients: (0..rng.random_range(0..3))
            .map(|_| UserId(rng.random_range(1..7)))
            .collect(),
        coarsen: sahelwatch_core::Coarsen::Exact,
    }
}

/// Users 1..=6 in organisations 1..=3; organisation k belongs to groups >= k.
fn random_viewer(rng: &mut ChaCha8Rng) -> Viewer {
    match rng.random_range(0..5) {
        0 => Viewer::Local,
        1 => Viewer::Anonymous,
        _ => {
            let user = rng.random_range(1..7);
            let org = (user + 1) / 2;
            Viewer::User(std::sync::Arc::new(sahelwatch_core::Principal {
                user: UserId(user),
                org: OrgId(org),
                role: sahelwatch_core::Role::Analyst,
                superadmin: false,
                groups: (org..4).map(GroupId).collect(),
            }))
        }
    }
}

fn random_row(rng: &mut ChaCha8Rng, id: i64) -> IndexRow {
    let base = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let n_actors = rng.random_range(0..3);
    let latitude = round6(rng.random_range(10.0..20.0));
    let longitude = round6(rng.random_range(-6.0..4.0));
    let coarse = rng.random_bool(0.5);
    IndexRow {
        id,
        deleted: false,
        marking: random_marking(rng),
        coarse_latitude: if coarse {
            sahelwatch_core::access::snap_10km(latitude)
        } else {
            latitude
        },
        coarse_longitude: if coarse {
            sahelwatch_core::access::snap_10km(longitude)
        } else {
            longitude
        },
        dataset: [
            None,
            Some("acled".to_string()),
            Some("ucdp-ged".to_string()),
        ][rng.random_range(0..3)]
        .clone(),
        event_date: base + chrono::Duration::days(rng.random_range(0..1500)),
        sub_event_type: SubEventType::ALL[rng.random_range(0..25)],
        latitude,
        longitude,
        country: CountryCode::parse(COUNTRIES[rng.random_range(0..4)]).unwrap(),
        admin1: if rng.random_bool(0.8) {
            Some(ADMIN1[rng.random_range(0..4)].to_string())
        } else {
            None
        },
        actors: (0..n_actors)
            .map(|_| ACTORS[rng.random_range(0..5)].to_string())
            .collect(),
        fatalities: if rng.random_bool(0.5) {
            0
        } else {
            rng.random_range(0..40)
        },
        // Few distinct times, so that ties on the update time are common.
        geo_precision: sahelwatch_core::Precision::new(rng.random_range(1..4)).unwrap(),
        on_road: rng.random_bool(0.2),
        updated_micros: rng.random_range(0..20),
    }
}

fn random_filter(rng: &mut ChaCha8Rng) -> Filter {
    let base = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let mut f = Filter::default();
    if rng.random_bool(0.4) {
        let lon0 = (rng.random_range(-6.0..3.0f64) * 1000.0).round() / 1000.0;
        let lat0 = (rng.random_range(10.0..19.0f64) * 1000.0).round() / 1000.0;
        f.bbox = Some(BBox {
            min_lon: lon0,
            min_lat: lat0,
            max_lon: lon0 + rng.random_range(0.1..5.0),
            max_lat: lat0 + rng.random_range(0.1..5.0),
        });
    }
    if rng.random_bool(0.3) {
        f.near = Some(
            Near::new(
                rng.random_range(10.0..20.0),
                rng.random_range(-6.0..4.0),
                rng.random_range(1.0..400.0),
            )
            .unwrap(),
        );
    }
    if rng.random_bool(0.2) {
        // A triangle (with a triangular hole half the time) somewhere in the data's extent.
        let (lon0, lat0) = (
            rng.random_range(-6.0..2.0f64),
            rng.random_range(10.0..18.0f64),
        );
        let size = rng.random_range(0.5..6.0f64);
        let outer = vec![
            (lon0, lat0),
            (lon0 + size, lat0),
            (lon0, lat0 + size),
            (lon0, lat0),
        ];
        let hole = vec![
            (lon0 + size * 0.1, lat0 + size * 0.1),
            (lon0 + size * 0.3, lat0 + size * 0.1),
            (lon0 + size * 0.1, lat0 + size * 0.3),
            (lon0 + size * 0.1, lat0 + size * 0.1),
        ];
        let holes = if rng.random_bool(0.5) {
            vec![hole.into()]
        } else {
            vec![]
        };
        let poly = geo::Polygon::new(outer.into(), holes);
        f.within = Some(crate::filter::Within::new(geo::MultiPolygon(vec![poly])).unwrap());
    }
    if rng.random_bool(0.5) {
        let a = base + chrono::Duration::days(rng.random_range(0..1500));
        f.date_from = Some(a);
        if rng.random_bool(0.7) {
            f.date_to = Some(a + chrono::Duration::days(rng.random_range(0..600)));
        }
    } else if rng.random_bool(0.3) {
        f.date_to = Some(base + chrono::Duration::days(rng.random_range(0..1500)));
    }
    if rng.random_bool(0.3) {
        f.countries = vec![CountryCode::parse(COUNTRIES[rng.random_range(0..4)]).unwrap()];
    }
    if rng.random_bool(0.2) {
        f.admin1 =
            vec![["sahel", "TILLABERI", "mopti", "Nowhere"][rng.random_range(0..4)].to_string()];
    }
    if rng.random_bool(0.3) {
        f.event_types = vec![EventType::ALL[rng.random_range(0..6)]];
    }
    if rng.random_bool(0.2) {
        f.sub_event_types = vec![
            SubEventType::ALL[rng.random_range(0..25)],
            SubEventType::ALL[rng.random_range(0..25)],
        ];
    }
    if rng.random_bool(0.3) {
        f.actor = Some(
            ["jnim", "ÉTAT", "state (sahel)", "wagner", "mali"][rng.random_range(0..5)].to_string(),
        );
    }
    if rng.random_bool(0.3) {
        f.min_fatalities = Some(rng.random_range(0..20));
    }
    if rng.random_bool(0.2) {
        f.dataset = Some(["acled", "ucdp-ged", "other"][rng.random_range(0..3)].to_string());
    }
    f
}

/// The naive oracle: one row at a time, straight from the definitions.
fn naive_match(r: &IndexRow, f: &Filter, viewer: &Viewer) -> bool {
    if r.deleted || !viewer.can_see(&r.marking) {
        return false;
    }
    // Outside the owner organisation, filters see the coarse position.
    let (lat, lon) = if viewer.exact_location(r.marking.owner) {
        (to_e6(r.latitude) as f64, to_e6(r.longitude) as f64)
    } else {
        (
            to_e6(r.coarse_latitude) as f64,
            to_e6(r.coarse_longitude) as f64,
        )
    };
    if let Some(b) = f.bbox
        && (lat < b.min_lat * 1e6 - 1e-3
            || lat > b.max_lat * 1e6 + 1e-3
            || lon < b.min_lon * 1e6 - 1e-3
            || lon > b.max_lon * 1e6 + 1e-3)
    {
        return false;
    }
    if let Some(n) = f.near {
        let d = Haversine.distance(Point::new(n.lon, n.lat), Point::new(lon / 1e6, lat / 1e6));
        if d > n.radius_km * 1000.0 {
            return false;
        }
    }
    if let Some(w) = &f.within {
        use geo::Intersects;
        if !w.shape().intersects(&Point::new(lon / 1e6, lat / 1e6)) {
            return false;
        }
    }
    if f.date_from.is_some_and(|d| r.event_date < d) || f.date_to.is_some_and(|d| r.event_date > d)
    {
        return false;
    }
    if !f.countries.is_empty() && !f.countries.contains(&r.country) {
        return false;
    }
    if !f.admin1.is_empty() {
        let Some(a) = &r.admin1 else { return false };
        if !f.admin1.iter().any(|x| admin_key(x) == admin_key(a)) {
            return false;
        }
    }
    if !f.event_types.is_empty() && !f.event_types.contains(&r.sub_event_type.event_type()) {
        return false;
    }
    if !f.sub_event_types.is_empty() && !f.sub_event_types.contains(&r.sub_event_type) {
        return false;
    }
    if let Some(a) = &f.actor
        && !r.actors.iter().any(|x| fold(x).contains(&fold(a)))
    {
        return false;
    }
    if f.min_fatalities.is_some_and(|m| r.fatalities < m) {
        return false;
    }
    if let Some(ds) = &f.dataset
        && r.dataset.as_ref() != Some(ds)
    {
        return false;
    }
    true
}

fn naive_sorted(rows: &[IndexRow], f: &Filter, viewer: &Viewer, sort: Sort) -> Vec<i64> {
    let mut hits: Vec<&IndexRow> = rows.iter().filter(|r| naive_match(r, f, viewer)).collect();
    match sort {
        Sort::DateAsc => hits.sort_by_key(|r| (r.event_date, r.id)),
        Sort::DateDesc => hits.sort_by_key(|r| std::cmp::Reverse((r.event_date, r.id))),
        Sort::FatalitiesAsc => hits.sort_by_key(|r| (r.fatalities, r.id)),
        Sort::FatalitiesDesc => hits.sort_by_key(|r| std::cmp::Reverse((r.fatalities, r.id))),
    }
    hits.into_iter().map(|r| r.id).collect()
}

fn all_pages(s: &Snapshot, f: &Filter, viewer: &Viewer, sort: Sort, limit: usize) -> Vec<i64> {
    let mut out = Vec::new();
    let mut after = None;
    for _ in 0..100_000 {
        let page = s.search(f, viewer, sort, after, limit);
        assert!(page.ids.len() <= limit);
        out.extend(page.ids);
        match page.next {
            Some(c) => after = Some(c),
            None => return out,
        }
    }
    panic!("paging did not terminate");
}

/// Current live rows after applying changes, by id.
fn live(rows: &[IndexRow]) -> Vec<IndexRow> {
    let mut m: HashMap<i64, IndexRow> = HashMap::new();
    for r in rows {
        m.insert(r.id, r.clone());
    }
    m.into_values().filter(|r| !r.deleted).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(60))]

    #[test]
    fn search_and_aggregate_equal_the_naive_oracle(seed in any::<u64>(), n in 0usize..600, limit in 1usize..40) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rows: Vec<IndexRow> = (0..n as i64).map(|i| random_row(&mut rng, i * 3 + 1)).collect();
        let snap = Snapshot::build(rows.clone(), 1);
        for _ in 0..6 {
            let f = random_filter(&mut rng);
            let viewer = random_viewer(&mut rng);
            for sort in [Sort::DateDesc, Sort::DateAsc, Sort::FatalitiesDesc, Sort::FatalitiesAsc] {
                prop_assert_eq!(all_pages(&snap, &f, &viewer, sort, limit), naive_sorted(&rows, &f, &viewer, sort), "{:?} {:?}", sort, f);
            }
            let agg = snap.aggregate(&f, &viewer, &[GroupKey::Country, GroupKey::Month]);
            let hits: Vec<&IndexRow> = rows.iter().filter(|r| naive_match(r, &f, &viewer)).collect();
            prop_assert_eq!(agg.count, hits.len() as u64);
            prop_assert_eq!(agg.fatalities, hits.iter().map(|r| r.fatalities as u64).sum::<u64>());
            let mut naive_groups: HashMap<(String, String), (u64, u64)> = HashMap::new();
            for r in &hits {
                let e = naive_groups.entry((r.country.to_string(), r.event_date.format("%Y-%m").to_string())).or_default();
                e.0 += 1;
                e.1 += r.fatalities as u64;
            }
            prop_assert_eq!(agg.groups.len(), naive_groups.len());
            for g in &agg.groups {
                prop_assert_eq!(Some(&(g.count, g.fatalities)), naive_groups.get(&(g.keys[0].clone(), g.keys[1].clone())));
            }
            // visit: the same rows, oldest first, at the position the viewer sees.
            let mut visited = Vec::new();
            snap.visit(&f, &viewer, |h| visited.push(h));
            let mut naive_hits: Vec<Hit> = hits
                .iter()
                .map(|r| {
                    let exact = viewer.exact_location(r.marking.owner);
                    Hit {
                        id: r.id,
                        event_date: r.event_date,
                        latitude: if exact { r.latitude } else { r.coarse_latitude },
                        longitude: if exact { r.longitude } else { r.coarse_longitude },
                        sub_event_type: r.sub_event_type,
                        fatalities: r.fatalities,
                        geo_precision: if exact {
                            r.geo_precision.get()
                        } else {
                            sahelwatch_core::coarsen::coarse_precision(
                                r.marking.coarsen,
                                r.geo_precision,
                            )
                            .get()
                        },
                        on_road: r.on_road,
                        restricted: r.marking.tlp != Tlp::Clear,
                    }
                })
                .collect();
            naive_hits.sort_by_key(|h| (h.event_date, h.id));
            prop_assert_eq!(visited, naive_hits);
            // Actor totals: an incident counts once per distinct folded actor name.
            let mut naive_actors: HashMap<String, (u64, u64)> = HashMap::new();
            for r in &hits {
                for a in &r.actors {
                    let e = naive_actors.entry(fold(a)).or_default();
                    e.0 += 1;
                    e.1 += r.fatalities as u64;
                }
            }
            let totals = snap.actor_totals(&f, &viewer);
            prop_assert_eq!(totals.len(), naive_actors.len());
            for g in &totals {
                prop_assert_eq!(Some(&(g.count, g.fatalities)), naive_actors.get(&fold(&g.keys[0])));
            }
            prop_assert!(totals.windows(2).all(|w| w[0].count >= w[1].count));
        }
    }

    #[test]
    fn change_feed_pages_equal_the_naive_oracle(seed in any::<u64>(), n in 0usize..400, limit in 1usize..30) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rows: Vec<IndexRow> = (0..n as i64).map(|i| random_row(&mut rng, i * 2 + 1)).collect();
        let snap = Snapshot::build(rows.clone(), 1);
        for _ in 0..4 {
            let f = random_filter(&mut rng);
            let viewer = random_viewer(&mut rng);
            let mut naive: Vec<(i64, i64)> = rows
                .iter()
                .filter(|r| naive_match(r, &f, &viewer))
                .map(|r| (r.updated_micros, r.id))
                .collect();
            naive.sort_unstable();
            let mut got = Vec::new();
            let mut after = (i64::MIN, i64::MIN);
            loop {
                let page = snap.changed_after(&f, &viewer, after, limit);
                prop_assert!(page.len() <= limit);
                got.extend_from_slice(&page);
                match page.last() {
                    Some(&last) if page.len() == limit => after = last,
                    _ => break,
                }
            }
            prop_assert_eq!(got, naive);
        }
    }

    #[test]
    fn incremental_refresh_equals_rebuild(seed in any::<u64>(), n in 0usize..300, rounds in 1usize..8, threshold in 0usize..80) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut history: Vec<IndexRow> = (0..n as i64).map(|i| random_row(&mut rng, i + 1)).collect();
        let mut snap = Snapshot::build(history.clone(), 1);
        let mut next_id = n as i64 + 1;
        for round in 0..rounds {
            let mut changes = Vec::new();
            for _ in 0..rng.random_range(0..50) {
                let r = rng.random_range(0..3);
                if r == 0 || history.is_empty() {
                    changes.push(random_row(&mut rng, next_id));
                    next_id += 1;
                } else {
                    let id = history[rng.random_range(0..history.len())].id;
                    let mut row = random_row(&mut rng, id);
                    row.deleted = r == 2;
                    changes.push(row);
                }
            }
            history.extend(changes.iter().cloned());
            snap = snap.apply_with_threshold(changes, round as i64 + 2, threshold);
            let rebuilt = Snapshot::build(live(&history), round as i64 + 2);
            prop_assert_eq!(snap.len(), rebuilt.len());
            let f = random_filter(&mut rng);
            let viewer = random_viewer(&mut rng);
            for sort in [Sort::DateDesc, Sort::FatalitiesAsc] {
                prop_assert_eq!(all_pages(&snap, &f, &viewer, sort, 7), all_pages(&rebuilt, &f, &viewer, sort, 7));
            }
            let all = (i64::MIN, i64::MIN);
            prop_assert_eq!(snap.changed_after(&f, &viewer, all, usize::MAX), rebuilt.changed_after(&f, &viewer, all, usize::MAX));
        }
    }
}

#[test]
fn bbox_edges_are_inclusive() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut r = random_row(&mut rng, 1);
    r.latitude = 14.123;
    r.longitude = -0.5;
    r.marking.tlp = Tlp::Clear;
    r.marking.owner = OrgId(1);
    r.coarse_latitude = r.latitude;
    r.coarse_longitude = r.longitude;
    let snap = Snapshot::build(vec![r], 1);
    let f = Filter {
        bbox: Some(BBox::parse("-0.5,14.123,0,15").unwrap()),
        ..Default::default()
    };
    assert_eq!(snap.ids(&f, &Viewer::Anonymous), vec![1]);
    let f = Filter {
        bbox: Some(BBox::parse("-0.4999,14.123,0,15").unwrap()),
        ..Default::default()
    };
    assert!(snap.ids(&f, &Viewer::Anonymous).is_empty());
}

#[test]
fn anonymous_viewers_never_see_marked_incidents_in_any_answer() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let rows: Vec<IndexRow> = (1..=200)
        .map(|i| {
            let mut r = random_row(&mut rng, i);
            r.marking.tlp = if i % 2 == 0 { Tlp::Clear } else { Tlp::Amber };
            r
        })
        .collect();
    let snap = Snapshot::build(rows, 1);
    let f = Filter::default();
    let ids = snap.ids(&f, &Viewer::Anonymous);
    assert_eq!(ids.len(), 100);
    assert!(ids.iter().all(|i| i % 2 == 0));
    assert_eq!(snap.aggregate(&f, &Viewer::Anonymous, &[]).count, 100);
    assert_eq!(snap.aggregate(&f, &Viewer::Local, &[]).count, 200);
}
