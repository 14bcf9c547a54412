use super::*;
use crate::incident::tests::sample;
use crate::report::ClaimedPlace;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn at(name: &str, lat: f64, lon: f64) -> Option<ClaimedPlace> {
    Some(ClaimedPlace {
        name: name.into(),
        latitude: lat,
        longitude: lon,
        uncertainty_km: 5.0,
        country: None,
        admin1: None,
        geonames_id: None,
        segment: None,
    })
}

fn day(s: &str) -> Claims {
    Claims {
        event_date: Some(d(s)),
        ..Default::default()
    }
}

#[test]
fn two_reports_of_one_event_both_match_it_well() {
    let inc = sample(); // abduction near Dori, 2025-01-18, IS Sahel
    let a = Claims {
        place: at("Dori", 14.035, -0.034),
        sub_event_type: Some(SubEventType::AbductionForcedDisappearance),
        perpetrator: Some("Islamic State (Sahel)".into()),
        ..day("2025-01-18")
    };
    // A second outlet, a day later and vaguer: "last week", near Dori.
    let b = Claims {
        event_date: Some(d("2025-01-17")),
        date_earliest: Some(d("2025-01-13")),
        date_latest: Some(d("2025-01-19")),
        place: at("Dori", 14.0, -0.05),
        sub_event_type: Some(SubEventType::AbductionForcedDisappearance),
        ..Default::default()
    };
    let sa = score(&a, d("2025-01-19"), &inc);
    let sb = score(&b, d("2025-01-21"), &inc);
    assert!(sa.score > 0.9, "{sa:?}");
    assert!(sb.score > 0.5, "{sb:?}");
    assert_eq!(sb.days_apart, 0);
}

#[test]
fn two_events_on_one_day_in_one_town_are_told_apart_by_type_and_actor() {
    let abduction = sample();
    let mut ied = sample();
    ied.sub_event_type = SubEventType::RemoteExplosiveLandmineIed;
    ied.actors.actor1 = Some("JNIM: Group for Support of Islam and Muslims".into());
    let report = Claims {
        place: at("Dori", 14.034, -0.033),
        sub_event_type: Some(SubEventType::AbductionForcedDisappearance),
        perpetrator: Some("Islamic State (Sahel)".into()),
        ..day("2025-01-18")
    };
    let good = score(&report, d("2025-01-18"), &abduction);
    let other = score(&report, d("2025-01-18"), &ied);
    assert!(good.score > 0.9 && other.score < 0.15, "{good:?} {other:?}");
    assert!(good.score > 7.0 * other.score);
    // A report that names JNIM and an IED picks the other one.
    let report2 = Claims {
        sub_event_type: Some(SubEventType::RemoteExplosiveLandmineIed),
        perpetrator: Some("JNIM".into()),
        ..report
    };
    assert!(score(&report2, d("2025-01-18"), &ied).score > 0.9);
    assert!(score(&report2, d("2025-01-18"), &abduction).score < 0.15);
}

#[test]
fn distance_and_time_each_rule_a_pair_out() {
    let inc = sample();
    let far = Claims {
        place: at("Djibo", 14.10, -1.63), // ~170 km west
        sub_event_type: Some(SubEventType::AbductionForcedDisappearance),
        ..day("2025-01-18")
    };
    assert!(score(&far, d("2025-01-18"), &inc).score < MIN_CANDIDATE_SCORE);
    let late = Claims {
        place: at("Dori", 14.034, -0.033),
        sub_event_type: Some(SubEventType::AbductionForcedDisappearance),
        ..day("2025-01-30")
    };
    let s = score(&late, d("2025-01-30"), &inc);
    assert_eq!(s.days_apart, 12);
    assert!(s.score < MIN_CANDIDATE_SCORE, "{s:?}");
    // A coarse incident (precision 3: the month) still matches mid-month.
    let mut coarse = sample();
    coarse.time_precision = Precision::COARSE;
    assert_eq!(score(&late, d("2025-01-30"), &coarse).days_apart, 0);
}

#[test]
fn credibility_follows_independent_sources() {
    let g = |s: &str, r: Reliability, c: u8| Grade {
        source: s.into(),
        reliability: r,
        credibility: Credibility::new(c).unwrap(),
    };
    assert_eq!(corroboration(&[]).credibility, None);
    let one = corroboration(&[g("RFI", Reliability::B, 1)]);
    assert_eq!(one.credibility, Credibility::new(2), "{}", one.rule);
    let same_source = corroboration(&[g("RFI", Reliability::B, 3), g("rfi ", Reliability::B, 3)]);
    assert_eq!(same_source.independent_sources, 1);
    assert_eq!(same_source.credibility, Credibility::new(3));
    let two = corroboration(&[g("RFI", Reliability::B, 3), g("Le Faso", Reliability::C, 3)]);
    assert_eq!(
        two.credibility,
        Some(Credibility::CONFIRMED),
        "{}",
        two.rule
    );
    let weak = corroboration(&[
        g("RFI", Reliability::B, 4),
        g("Telegram", Reliability::E, 5),
    ]);
    assert_eq!(weak.credibility, Credibility::new(2));
    let weak2 = corroboration(&[g("X", Reliability::D, 4), g("Y", Reliability::E, 5)]);
    assert_eq!(weak2.credibility, Credibility::new(2));
}

#[test]
fn a_contradicting_report_shows_every_version_with_its_reports() {
    let mut inc = sample();
    inc.fatalities.best = 4;
    let a = Claims {
        fatalities: Some(4),
        perpetrator: Some("Islamic State (Sahel)".into()),
        ..day("2025-01-18")
    };
    let b = Claims {
        fatalities: Some(7),
        perpetrator: Some("JNIM".into()),
        ..day("2025-01-18")
    };
    let c = Claims {
        date_earliest: Some(d("2025-01-13")),
        date_latest: Some(d("2025-01-19")),
        ..day("2025-01-16")
    };
    let v = versions(&inc, &[("a", &a), ("b", &b), ("c", &c)]);
    let get = |attr| v.iter().find(|x| x.attribute == attr).unwrap();
    let date = get(Attribute::EventDate);
    assert!(
        !date.disputed,
        "a window containing the day agrees: {date:?}"
    );
    assert_eq!(date.versions[0].reports, vec!["a", "b", "c"]);
    let f = get(Attribute::Fatalities);
    assert!(f.disputed);
    assert_eq!(f.versions.len(), 2);
    assert!(f.versions[0].from_record && f.versions[0].value == "4");
    assert_eq!(f.versions[0].reports, vec!["a"]);
    assert_eq!(
        (f.versions[1].value.as_str(), f.versions[1].reports.clone()),
        ("7", vec!["b"])
    );
    let p = get(Attribute::Perpetrator);
    assert!(p.disputed && p.versions[1].reports == vec!["b"]);
    assert!(v.iter().all(|x| x.attribute != Attribute::Outcome));
    let late = day("2025-01-25");
    let v = versions(&inc, &[("late", &late)]);
    assert!(v[0].disputed && v[0].versions[1].value == "2025-01-25");
}

#[test]
fn a_case_is_held_until_a_step_ends_it() {
    let s = |k, x: &str| (k, d(x));
    let open = d("2025-01-18");
    let st = case_state(
        open,
        &[
            s(CaseStepKind::Claimed, "2025-01-20"),
            s(CaseStepKind::ProofOfLife, "2025-03-01"),
        ],
        d("2025-04-18"),
    );
    assert_eq!(
        (st.status, st.days_held, st.ended_on),
        (CaseStatus::Held, 90, None)
    );
    let st = case_state(
        open,
        &[
            s(CaseStepKind::Released, "2025-06-18"),
            s(CaseStepKind::Negotiation, "2025-05-01"),
        ],
        d("2026-01-01"),
    );
    assert_eq!(st.status, CaseStatus::Released);
    assert_eq!(st.days_held, 151);
    assert_eq!(
        "Rescued".parse::<CaseStatus>().unwrap(),
        CaseStatus::Rescued
    );
    assert!("free".parse::<CaseStatus>().is_err());
}

/// Regression (fuzz target `report_extract`): a publication date at the
/// first day chrono represents (`?published=-262143-01-01`) made the undated
/// report's window overflow and panic; windows now stop at the calendar's
/// ends, for incidents too.
#[test]
fn windows_at_the_ends_of_the_calendar_do_not_overflow() {
    assert_eq!(
        report_window(&Claims::default(), NaiveDate::MIN),
        (NaiveDate::MIN, NaiveDate::MIN)
    );
    let mut inc = sample();
    inc.time_precision = Precision::COARSE;
    inc.event_date = NaiveDate::MIN;
    inc.event_date_end = None;
    assert_eq!(incident_window(&inc).0, NaiveDate::MIN);
    inc.event_date = NaiveDate::MAX;
    assert_eq!(
        incident_window(&inc),
        (NaiveDate::MAX - Duration::days(15), NaiveDate::MAX)
    );
    let s = score(&Claims::default(), NaiveDate::MIN, &inc);
    assert!(s.score.is_finite());
}
