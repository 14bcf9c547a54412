//! The engine, driven by hand: no clock, no socket.

use super::*;

const MIN: i64 = 60_000;
/// About 1.11 km per 0.01 degree on the equator.
const DEG_PER_KM: f64 = 0.01 / 1.111_95;

/// A 20 km road along the equator; km 8-10 is high risk.
fn convoy(vehicles: usize) -> Convoy {
    let line: Vec<LonLat> = (0..=20).map(|k| [k as f64 * DEG_PER_KM, 0.0]).collect();
    let risk = (0..20)
        .map(|k| if (8..10).contains(&k) { 2.0 } else { 0.1 })
        .collect();
    Convoy {
        route: Corridor::new(line, risk).unwrap(),
        vehicles: (0..vehicles).map(|k| format!("truck {}", k + 1)).collect(),
        interval_s: 30.0,
        geofences: vec![Geofence {
            id: "camp".into(),
            name: "the camp".into(),
            shape: Shape::Circle {
                center: [15.0 * DEG_PER_KM, 0.0],
                radius_m: 1_000.0,
            },
        }],
        thresholds: Thresholds::default(),
    }
}

fn at_km(km: f64) -> LonLat {
    [km * DEG_PER_KM, 0.0]
}

fn fix(vehicle: usize, t: i64, p: LonLat) -> Input {
    Input::Fix(Fix {
        vehicle,
        time_ms: t,
        position: p,
        speed_kmh: Some(40.0),
        sos: false,
    })
}

/// Runs inputs at their own times (ticks at `now`), collecting alert kinds.
fn run(c: &Convoy, s: &mut State, inputs: &[(i64, Input)]) -> Vec<AlertKind> {
    inputs
        .iter()
        .flat_map(|(now, i)| step(c, s, i, *now).alerts)
        .map(|a| a.kind)
        .collect()
}

#[test]
fn entering_a_high_risk_stretch_is_told_once_per_entry() {
    let c = convoy(1);
    let mut s = State::new(&c, 0);
    let drive: Vec<(i64, Input)> = [6.0, 7.0, 8.5, 9.0, 9.5, 11.0, 8.2]
        .iter()
        .enumerate()
        .map(|(k, &km)| (k as i64 * MIN, fix(0, k as i64 * MIN, at_km(km))))
        .collect();
    assert_eq!(
        run(&c, &mut s, &drive),
        vec![AlertKind::HighRisk, AlertKind::HighRisk]
    );
    let a = step(&c, &mut s, &fix(0, 8 * MIN, at_km(12.0)), 8 * MIN);
    assert!(a.alerts.is_empty());
    let a = step(&c, &mut s, &fix(0, 9 * MIN, at_km(8.7)), 9 * MIN).alerts;
    assert!(a[0].message.contains("km 8.7"), "{}", a[0].message);
    assert_eq!(a[0].data["risk"], 2.0);
}

#[test]
fn off_route_needs_distance_and_time() {
    let c = convoy(1);
    let mut s = State::new(&c, 0);
    let off = |km: f64| [km * DEG_PER_KM, 1.0 * DEG_PER_KM]; // 1 km north
    let inputs = vec![
        (0, fix(0, 0, at_km(2.0))),
        (MIN, fix(0, MIN, off(2.5))),
        (2 * MIN, fix(0, 2 * MIN, off(2.6))),
        (3 * MIN + 1000, fix(0, 3 * MIN + 1000, off(2.7))),
        (4 * MIN, fix(0, 4 * MIN, off(2.8))),
    ];
    assert_eq!(run(&c, &mut s, &inputs), vec![AlertKind::OffRoute]);
    // Back on the road, then off again: a new episode.
    let again = vec![
        (5 * MIN, fix(0, 5 * MIN, at_km(3.0))),
        (6 * MIN, fix(0, 6 * MIN, off(3.1))),
        (9 * MIN, fix(0, 9 * MIN, off(3.2))),
    ];
    assert_eq!(run(&c, &mut s, &again), vec![AlertKind::OffRoute]);
    // 400 m off is within the 500 m tolerance.
    let mut s = State::new(&c, 0);
    let near = |km: f64| [km * DEG_PER_KM, 0.4 * DEG_PER_KM];
    let inputs: Vec<_> = (0..6)
        .map(|k| (k * MIN, fix(0, k * MIN, near(2.0 + k as f64 * 0.1))))
        .collect();
    assert!(run(&c, &mut s, &inputs).is_empty());
}

#[test]
fn geofences_tell_entering_and_leaving() {
    let c = convoy(1);
    let mut s = State::new(&c, 0);
    let inputs: Vec<_> = [13.0, 14.5, 15.5, 16.5]
        .iter()
        .enumerate()
        .map(|(k, &km)| (k as i64 * MIN, fix(0, k as i64 * MIN, at_km(km))))
        .collect();
    assert_eq!(
        run(&c, &mut s, &inputs),
        vec![AlertKind::GeofenceEnter, AlertKind::GeofenceLeave]
    );
    // A polygon works the same way.
    let mut c = convoy(1);
    c.geofences = vec![Geofence {
        id: "zone".into(),
        name: "the zone".into(),
        shape: Shape::Polygon {
            polygon: geo::Polygon::new(
                geo::LineString::from(vec![
                    [0.0, -0.01],
                    [0.02, -0.01],
                    [0.02, 0.01],
                    [0.0, 0.01],
                    [0.0, -0.01],
                ]),
                vec![],
            ),
        },
    }];
    let mut s = State::new(&c, 0);
    let a = step(&c, &mut s, &fix(0, 0, at_km(1.0)), 0).alerts;
    assert_eq!(a[0].kind, AlertKind::GeofenceEnter);
    assert_eq!(a[0].data["geofence"], "zone");
}

#[test]
fn stopping_where_the_risk_is_high_is_critical_and_elsewhere_nothing() {
    let c = convoy(1);
    let mut s = State::new(&c, 0);
    // Parked at km 9 (high risk), GPS wandering by 20 m, for 12 minutes.
    let inputs: Vec<_> = (0..=12)
        .map(|k| {
            let p = [9.0 * DEG_PER_KM + (k % 2) as f64 * 0.0002, 0.0];
            (k * MIN, fix(0, k * MIN, p))
        })
        .collect();
    let kinds = run(&c, &mut s, &inputs);
    assert_eq!(kinds, vec![AlertKind::HighRisk, AlertKind::DangerousStop]);
    // The same stop at km 4 (low risk): nothing.
    let mut s = State::new(&c, 0);
    let inputs: Vec<_> = (0..=12)
        .map(|k| (k * MIN, fix(0, k * MIN, at_km(4.0))))
        .collect();
    assert!(run(&c, &mut s, &inputs).is_empty());
}

#[test]
fn loss_of_contact_escalates_and_a_position_restores_it() {
    let c = convoy(2);
    let mut s = State::new(&c, 0);
    step(&c, &mut s, &fix(0, 0, at_km(1.0)), 0);
    step(&c, &mut s, &fix(1, 0, at_km(1.1)), 0);
    let tick = |s: &mut State, now: i64| step(&c, s, &Input::Tick, now).alerts;
    assert!(tick(&mut s, 80_000).is_empty(), "under 3 x 30 s");
    step(&c, &mut s, &fix(1, 85_000, at_km(1.2)), 85_000);
    let a = tick(&mut s, 95_000);
    assert_eq!(a.len(), 1, "only the silent truck: {a:?}");
    assert_eq!(
        (a[0].kind, a[0].severity, a[0].vehicle),
        (AlertKind::LostContact, Severity::Warning, Some(0))
    );
    assert!(tick(&mut s, 120_000).is_empty(), "told once per level");
    let a = tick(&mut s, 185_000);
    assert_eq!(
        a.iter()
            .map(|a| (a.vehicle, a.severity))
            .collect::<Vec<_>>(),
        vec![(Some(0), Severity::Critical), (Some(1), Severity::Warning)]
    );
    step(&c, &mut s, &fix(0, 190_000, at_km(1.5)), 190_000);
    assert_eq!(s.vehicles[0].contact_level, 0);
    // A vehicle never heard from counts from the start of tracking.
    let mut s = State::new(&c, 1_000_000);
    let a = step(&c, &mut s, &Input::Tick, 1_100_000).alerts;
    assert_eq!(a.len(), 2);
}

#[test]
fn sos_is_critical_once_per_episode() {
    let c = convoy(1);
    let mut s = State::new(&c, 0);
    let sos = |t: i64, on: bool| {
        Input::Fix(Fix {
            vehicle: 0,
            time_ms: t,
            position: at_km(3.0 + t as f64 / 1e6),
            speed_kmh: None,
            sos: on,
        })
    };
    let inputs = vec![
        (0, sos(0, true)),
        (1000, sos(1000, true)),
        (2000, sos(2000, false)),
        (3000, sos(3000, true)),
    ];
    assert_eq!(
        run(&c, &mut s, &inputs),
        vec![AlertKind::Sos, AlertKind::Sos]
    );
}

#[test]
fn fresh_incidents_ahead_are_told_behind_and_old_ones_not() {
    let c = convoy(2);
    let mut s = State::new(&c, 0);
    step(&c, &mut s, &fix(0, 0, at_km(5.0)), 0);
    step(&c, &mut s, &fix(1, 0, at_km(4.0)), 0);
    let inc = |id: &str, km: f64, north_km: f64, age_h: f64| {
        Input::Incident(IncidentNear {
            id: id.into(),
            position: [km * DEG_PER_KM, north_km * DEG_PER_KM],
            time_ms: 10 * 3_600_000 - (age_h * 3.6e6) as i64,
            kind: "IED".into(),
        })
    };
    let now = 10 * 3_600_000;
    let a = step(&c, &mut s, &inc("ahead", 12.0, 3.0, 2.0), now).alerts;
    assert_eq!(a.len(), 1);
    assert!(a[0].message.contains("8 km ahead"), "{}", a[0].message);
    assert_eq!(a[0].data["incident"], "ahead");
    assert!(
        step(&c, &mut s, &inc("ahead", 12.0, 3.0, 2.0), now)
            .alerts
            .is_empty(),
        "told once"
    );
    assert!(
        step(&c, &mut s, &inc("behind", 1.0, 0.0, 1.0), now)
            .alerts
            .is_empty()
    );
    assert!(
        step(&c, &mut s, &inc("far", 15.0, 30.0, 1.0), now)
            .alerts
            .is_empty()
    );
    assert!(
        step(&c, &mut s, &inc("old", 15.0, 0.0, 30.0), now)
            .alerts
            .is_empty()
    );
    assert!(
        step(&c, &mut s, &inc("future", 15.0, 0.0, -1.0), now)
            .alerts
            .is_empty()
    );
}

#[test]
fn a_vehicle_far_from_the_others_is_separated_once() {
    let c = convoy(3);
    let mut s = State::new(&c, 0);
    step(&c, &mut s, &fix(0, 0, at_km(2.0)), 0);
    step(&c, &mut s, &fix(1, 0, at_km(2.2)), 0);
    let a = step(&c, &mut s, &fix(2, 0, at_km(9.0)), 0).alerts;
    assert_eq!(
        a.iter().filter(|a| a.kind == AlertKind::Separated).count(),
        1
    );
    assert!(a.iter().any(|a| a.message.contains("6.8 km")), "{a:?}");
    let a = step(&c, &mut s, &fix(2, MIN, at_km(9.2)), MIN).alerts;
    assert!(
        a.iter().all(|a| a.kind != AlertKind::Separated),
        "once per episode"
    );
    step(&c, &mut s, &fix(2, 20 * MIN, at_km(3.0)), 20 * MIN);
    assert!(!s.vehicles[2].separated, "back with the others");
}

#[test]
fn bad_positions_are_refused_or_explained_and_change_nothing() {
    let c = convoy(1);
    let mut s = State::new(&c, 0);
    let now = 10 * MIN;
    let outcome = |s: &mut State, i: Input| step(&c, s, &i, now).outcome.unwrap();
    let refused = |o: FixOutcome, what: &str| match o {
        FixOutcome::Refused { reason } => assert!(reason.contains(what), "{reason}"),
        other => panic!("{other:?}"),
    };
    refused(outcome(&mut s, fix(5, now, at_km(1.0))), "vehicle 5");
    refused(outcome(&mut s, fix(0, now, [0.0, 91.0])), "(0, 91)");
    refused(outcome(&mut s, fix(0, now, [f64::NAN, 0.0])), "NaN");
    let mut fast = fix(0, now, at_km(1.0));
    if let Input::Fix(f) = &mut fast {
        f.speed_kmh = Some(900.0);
    }
    refused(outcome(&mut s, fast), "900 km/h");
    refused(
        outcome(&mut s, fix(0, now + 2 * 3_600_000, at_km(1.0))),
        "ahead of the server clock",
    );
    assert_eq!(s, State::new(&c, 0), "nothing refused changed the state");

    assert_eq!(
        outcome(&mut s, fix(0, now - MIN, at_km(1.0))),
        FixOutcome::Accepted
    );
    assert_eq!(
        outcome(&mut s, fix(0, now - MIN, at_km(1.0))),
        FixOutcome::Duplicate
    );
    assert_eq!(
        outcome(&mut s, fix(0, now - 2 * MIN, at_km(0.5))),
        FixOutcome::Late { behind_s: 60.0 }
    );
    refused(
        outcome(&mut s, fix(0, now - MIN + 10_000, at_km(15.0))),
        "faster than 200 km/h",
    );
    let o = outcome(&mut s, fix(0, now + 5 * MIN, at_km(1.5)));
    assert_eq!(o, FixOutcome::Skewed { ahead_s: 300.0 });
    assert_eq!(
        s.vehicles[0].last.unwrap().time_ms,
        now,
        "a skewed time is taken as now"
    );
    assert!(FixOutcome::Late { behind_s: 1.0 }.stored() && !FixOutcome::Duplicate.stored());
}

#[test]
fn the_state_is_data_another_instance_can_carry_on_from() {
    let c = convoy(2);
    let inputs: Vec<(i64, Input)> = (0..30)
        .flat_map(|k| {
            let t = k * MIN;
            [
                (t, fix(0, t, at_km(k as f64 * 0.5))),
                (t, fix(1, t, at_km(k as f64 * 0.45))),
                (t + 1, Input::Tick),
            ]
        })
        .collect();
    let mut whole = State::new(&c, 0);
    let all = run(&c, &mut whole, &inputs);
    assert!(all.contains(&AlertKind::HighRisk) && all.contains(&AlertKind::GeofenceEnter));
    // Half, then the state through JSON, then the rest.
    let (a, b) = inputs.split_at(40);
    let mut s = State::new(&c, 0);
    let mut split = run(&c, &mut s, a);
    let json = serde_json::to_string(&s).unwrap();
    let mut s: State = serde_json::from_str(&json).unwrap();
    split.extend(run(&c, &mut s, b));
    assert_eq!(split, all);
    assert_eq!(s, whole);
    // The convoy through JSON raises the same alerts (floats may move by
    // one unit in the last place).
    let c2: Convoy = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(run(&c2, &mut State::new(&c2, 0), &inputs), all);
}
