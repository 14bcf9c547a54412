//! Approach toward a place: for each month, how far the nearest event and
//! the median event were from the place, and the trend of those distances
//! in km per month (Theil-Sen slope with its 95% confidence interval, and a
//! Mann-Kendall test of whether there is a trend at all).

use crate::hotspot::{TREND_ALPHA, mann_kendall, sens_slope};
use crate::period::{Period, Span};
use crate::round1;
use chrono::NaiveDate;
use geo::{Distance, Haversine, Point};
use serde::Serialize;

/// One month of distances.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ApproachMonth {
    /// "2024-03".
    pub month: String,
    pub count: u64,
    /// Distance of the nearest event, km (absent in a month without events).
    pub min_km: Option<f64>,
    /// Median distance of the month's events, km.
    pub median_km: Option<f64>,
}

/// The trend of a monthly distance series.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DistanceTrend {
    /// Theil-Sen slope, km per month; negative = getting closer.
    pub km_per_month: f64,
    /// 95% confidence interval of the slope.
    pub low: f64,
    pub high: f64,
    /// Mann-Kendall two-sided p-value of a monotonic trend.
    pub p_value: f64,
    /// Months with at least one event (months without are skipped).
    pub months_used: usize,
    /// True when p < 0.05.
    pub significant: bool,
}

/// Monthly distances and their trends.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Approach {
    pub months: Vec<ApproachMonth>,
    /// Trend of the monthly median distance (absent with fewer than 3 months of events).
    pub median_trend: Option<DistanceTrend>,
    /// Trend of the monthly minimum distance.
    pub min_trend: Option<DistanceTrend>,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn trend(series: &[f64]) -> Option<DistanceTrend> {
    let used = series.iter().filter(|v| v.is_finite()).count();
    if used < 3 {
        return None;
    }
    let finite: Vec<f64> = series.iter().copied().filter(|v| v.is_finite()).collect();
    let s = sens_slope(series)?;
    let mk = mann_kendall(&finite);
    Some(DistanceTrend {
        km_per_month: s.slope,
        low: s.low,
        high: s.high,
        p_value: mk.p,
        months_used: used,
        significant: mk.p < TREND_ALPHA,
    })
}

/// Distances of `events` (day, latitude, longitude) from `target` (latitude,
/// longitude) for every month from `from` to `to`. Events outside those
/// months are ignored.
pub fn approach(
    target: (f64, f64),
    events: impl IntoIterator<Item = (NaiveDate, f64, f64)>,
    from: NaiveDate,
    to: NaiveDate,
) -> Approach {
    let months: Vec<Span> = Period::Month.buckets(from, to);
    let mut dist: Vec<Vec<f64>> = vec![Vec::new(); months.len()];
    let centre = Point::new(target.1, target.0);
    let first = months.first().map(|m| m.from);
    for (day, lat, lon) in events {
        let Some(first) = first else { break };
        if day < first {
            continue;
        }
        let k = month_index(first, day);
        if let Some(d) = dist.get_mut(k) {
            d.push(Haversine.distance(centre, Point::new(lon, lat)) / 1000.0);
        }
    }
    let mut out_months = Vec::with_capacity(months.len());
    let (mut mins, mut medians) = (Vec::new(), Vec::new());
    for (m, mut d) in months.into_iter().zip(dist) {
        let min = d.iter().copied().min_by(f64::total_cmp);
        let med = median(&mut d);
        mins.push(min.unwrap_or(f64::NAN));
        medians.push(med.unwrap_or(f64::NAN));
        out_months.push(ApproachMonth {
            month: m.label,
            count: d.len() as u64,
            min_km: min.map(round1),
            median_km: med.map(round1),
        });
    }
    Approach {
        months: out_months,
        median_trend: trend(&medians),
        min_trend: trend(&mins),
    }
}

fn month_index(first: NaiveDate, day: NaiveDate) -> usize {
    use chrono::Datelike;
    let m = |d: NaiveDate| d.year() as i64 * 12 + d.month0() as i64;
    (m(day) - m(first)).max(0) as usize
}

/// A sentence for a brief: "Events moved closer to Bamako by 4.2 km per
/// month (median distance; 95% CI 1.1 to 7.3 km, Mann-Kendall p = 0.010)."
pub fn statement(subject: &str, place: &str, a: &Approach) -> String {
    let Some(t) = &a.median_trend else {
        return format!(
            "{subject}: too few months with events near {place} to estimate a trend in distance."
        );
    };
    if !t.significant {
        return format!(
            "{subject} showed no significant trend in median distance to {place} ({:+.1} km per month, 95% CI {:.1} to {:.1}; Mann-Kendall p = {:.3}; {} months).",
            t.km_per_month, t.low, t.high, t.p_value, t.months_used
        );
    }
    format!(
        "{subject} moved {} {place} by {:.1} km per month (median distance; 95% CI {:.1} to {:.1} km per month, Mann-Kendall p = {:.3}; {} months).",
        if t.km_per_month < 0.0 {
            "closer to"
        } else {
            "away from"
        },
        t.km_per_month.abs(),
        t.low,
        t.high,
        t.p_value,
        t.months_used
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn events_walking_toward_a_place_give_a_negative_significant_slope() {
        // Bamako; each month one event ~0.9 degree of latitude (about 100 km)
        // closer, from 1,000 km north, plus a far event that does not move.
        let bamako = (12.65, -8.0);
        let mut events = Vec::new();
        for m in 0..12u32 {
            let day = NaiveDate::from_ymd_opt(2023, m + 1, 15).unwrap();
            let km = 1000.0 - 50.0 * m as f64;
            events.push((day, bamako.0 + km / 111.195, bamako.1));
            events.push((day, bamako.0 + 2000.0 / 111.195, bamako.1));
        }
        let a = approach(bamako, events, d("2023-01-01"), d("2023-12-31"));
        assert_eq!(a.months.len(), 12);
        assert_eq!(a.months[0].count, 2);
        assert!(
            (a.months[0].min_km.unwrap() - 1000.0).abs() < 0.2,
            "{:?}",
            a.months[0]
        );
        assert!((a.months[11].min_km.unwrap() - 450.0).abs() < 0.2);
        let t = a.min_trend.clone().unwrap();
        assert!((t.km_per_month + 50.0).abs() < 0.01, "{t:?}");
        assert!(t.significant && t.low <= t.km_per_month && t.km_per_month <= t.high);
        let m = a.median_trend.clone().unwrap();
        assert!((m.km_per_month + 25.0).abs() < 0.01, "{m:?}");
        let s = statement("JNIM events", "Bamako", &a);
        assert!(
            s.starts_with("JNIM events moved closer to Bamako by 25.0 km per month"),
            "{s}"
        );
    }

    #[test]
    fn months_without_events_are_gaps_not_zeros() {
        let target = (14.0, 0.0);
        let events = vec![
            (d("2023-01-10"), 15.0, 0.0),
            (d("2023-04-10"), 15.0, 0.0),
            (d("2023-07-10"), 15.0, 0.0),
            (d("2022-12-31"), 14.0, 0.0), // before the range: ignored
        ];
        let a = approach(target, events, d("2023-01-01"), d("2023-07-31"));
        assert_eq!(a.months.len(), 7);
        assert_eq!(a.months[1].min_km, None);
        assert_eq!(a.months[0].count, 1);
        let t = a.median_trend.unwrap();
        assert_eq!(t.months_used, 3);
        assert!(t.km_per_month.abs() < 1e-9 && !t.significant);
        let few = approach(
            target,
            vec![(d("2023-01-10"), 15.0, 0.0)],
            d("2023-01-01"),
            d("2023-03-31"),
        );
        assert!(few.median_trend.is_none());
        assert!(statement("Events", "Dori", &few).contains("too few months"));
    }
}
