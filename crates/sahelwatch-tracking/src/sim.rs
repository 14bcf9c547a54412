//! Simulated vehicles driving a route, for `sahelwatch simulate`: where
//! each vehicle is at a given time of the trip, and what it reports, with
//! injected events (a stop, a detour off the route, a silence, an SOS).
//! Pure: time is an argument.

use crate::LonLat;
use crate::corridor::Corridor;

/// An event injected into one vehicle's trip, where it reaches `at_km`.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// Stand still for `seconds`.
    Stop { seconds: f64 },
    /// Drive `metres` to the side of the route for `seconds`.
    Detour { metres: f64, seconds: f64 },
    /// Send nothing for `seconds` (still driving).
    Silence { seconds: f64 },
    /// Raise the alarm (on the first report from there).
    Sos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub vehicle: usize,
    pub at_km: f64,
    pub kind: EventKind,
}

impl Event {
    /// Reads `KIND@KM[:ARG[:ARG]][/VEHICLE]`: `stop@40:15m`,
    /// `detour@50:2000m:10m`, `silence@20:5m`, `sos@60`, `stop@12:30s/2`
    /// (durations in s, m or h; vehicles from 0).
    pub fn parse(s: &str) -> Result<Event, String> {
        let bad = |why: &str| {
            format!(
                "event '{s}': {why} (expected stop@KM:DURATION, detour@KM:METRESm:DURATION, \
                 silence@KM:DURATION or sos@KM, optionally /VEHICLE)"
            )
        };
        let (body, vehicle) = match s.rsplit_once('/') {
            Some((b, v)) => (
                b,
                v.parse::<usize>()
                    .map_err(|_| bad("the vehicle is not a number"))?,
            ),
            None => (s, 0),
        };
        let (kind, rest) = body.split_once('@').ok_or_else(|| bad("no @"))?;
        let mut parts = rest.split(':');
        let at_km: f64 = parts
            .next()
            .unwrap_or("")
            .trim_end_matches("km")
            .parse()
            .map_err(|_| bad("the km is not a number"))?;
        if !(at_km.is_finite() && at_km >= 0.0) {
            return Err(bad("the km must be 0 or more"));
        }
        let args: Vec<&str> = parts.collect();
        let duration = |a: Option<&&str>| -> Result<f64, String> {
            let a = a.ok_or_else(|| bad("a duration is missing"))?;
            let (n, unit) = a.split_at(a.len().saturating_sub(1));
            let x: f64 = n.parse().map_err(|_| bad("the duration is not a number"))?;
            let secs = match unit {
                "s" => x,
                "m" => x * 60.0,
                "h" => x * 3600.0,
                _ => return Err(bad("a duration ends in s, m or h")),
            };
            if secs > 0.0 && secs.is_finite() {
                Ok(secs)
            } else {
                Err(bad("the duration must be positive"))
            }
        };
        let kind = match (kind, args.len()) {
            ("stop", 1) => EventKind::Stop {
                seconds: duration(args.first())?,
            },
            ("silence", 1) => EventKind::Silence {
                seconds: duration(args.first())?,
            },
            ("detour", 2) => EventKind::Detour {
                metres: args[0]
                    .trim_end_matches('m')
                    .parse()
                    .ok()
                    .filter(|m: &f64| *m > 0.0 && m.is_finite())
                    .ok_or_else(|| bad("the detour's metres are not a positive number"))?,
                seconds: duration(args.get(1))?,
            },
            ("sos", 0) => EventKind::Sos,
            ("stop" | "silence" | "detour" | "sos", _) => {
                return Err(bad("wrong number of arguments"));
            }
            _ => return Err(bad("unknown kind")),
        };
        Ok(Event {
            vehicle,
            at_km,
            kind,
        })
    }
}

/// What a vehicle reports at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    pub position: LonLat,
    pub speed_kmh: f64,
    pub bearing: f64,
    pub sos: bool,
}

/// A simulated convoy on a route.
#[derive(Debug, Clone)]
pub struct Trip {
    pub route: Corridor,
    pub speed_kmh: f64,
    pub vehicles: usize,
    /// Distance between consecutive vehicles (m): vehicle k starts k x gap behind.
    pub gap_m: f64,
    pub events: Vec<Event>,
}

impl Trip {
    fn mps(&self) -> f64 {
        self.speed_kmh / 3.6
    }

    /// Seconds until the last vehicle arrives.
    pub fn duration_s(&self) -> f64 {
        (0..self.vehicles)
            .map(|v| {
                self.start_s(v)
                    + self.route.length_m() / self.mps()
                    + self
                        .events_of(v)
                        .filter_map(|e| match e.kind {
                            EventKind::Stop { seconds } => Some(seconds),
                            _ => None,
                        })
                        .sum::<f64>()
            })
            .fold(0.0, f64::max)
    }

    fn start_s(&self, vehicle: usize) -> f64 {
        vehicle as f64 * self.gap_m / self.mps()
    }

    fn events_of(&self, vehicle: usize) -> impl Iterator<Item = &Event> {
        self.events.iter().filter(move |e| e.vehicle == vehicle)
    }

    /// How far along the route `vehicle` is `t` seconds into the trip, and
    /// whether it is moving.
    pub fn along_m(&self, vehicle: usize, t: f64) -> (f64, bool) {
        let v = self.mps();
        let mut t = t - self.start_s(vehicle);
        if t <= 0.0 {
            return (0.0, false);
        }
        let mut stops: Vec<(f64, f64)> = self
            .events_of(vehicle)
            .filter_map(|e| match e.kind {
                EventKind::Stop { seconds } => Some((e.at_km * 1000.0, seconds)),
                _ => None,
            })
            .collect();
        stops.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut d = 0.0;
        for (at, secs) in stops {
            let drive = (at - d).max(0.0) / v;
            if t <= drive {
                break;
            }
            t -= drive;
            d = at.max(d);
            if t <= secs {
                return (d.min(self.route.length_m()), false);
            }
            t -= secs;
        }
        let a = d + t * v;
        let len = self.route.length_m();
        (a.min(len), a < len)
    }

    /// The first time `vehicle` is at `km` (s into the trip).
    fn reaches_s(&self, vehicle: usize, km: f64) -> f64 {
        let (mut lo, mut hi) = (0.0, self.duration_s() + 1.0);
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if self.along_m(vehicle, mid).0 >= km * 1000.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }

    /// What `vehicle` reports `t` seconds into the trip, having last
    /// reported at `previous_t` (for the one-off SOS); `None` when silent.
    pub fn report(&self, vehicle: usize, t: f64, previous_t: Option<f64>) -> Option<Report> {
        let (along, moving) = self.along_m(vehicle, t);
        let (mut position, dir) = self.route.point_at(along);
        let mut sos = false;
        for e in self.events_of(vehicle) {
            let from = self.reaches_s(vehicle, e.at_km);
            match e.kind {
                EventKind::Silence { seconds } if (from..from + seconds).contains(&t) => {
                    return None;
                }
                EventKind::Detour { metres, seconds } if (from..from + seconds).contains(&t) => {
                    // To the left of the direction of travel, moving aside and
                    // back at the driving speed (no jump a tracker could not make).
                    let ramp = metres / self.mps();
                    let off = metres
                        * ((t - from) / ramp)
                            .min((from + seconds - t) / ramp)
                            .min(1.0);
                    let (east, north) = (-dir[1] * off, dir[0] * off);
                    position[0] += east / (111_320.0 * position[1].to_radians().cos());
                    position[1] += north / 110_540.0;
                }
                EventKind::Sos if t >= from && previous_t.is_none_or(|p| p < from) => sos = true,
                _ => {}
            }
        }
        Some(Report {
            position,
            speed_kmh: if moving { self.speed_kmh } else { 0.0 },
            bearing: (dir[0].atan2(dir[1]).to_degrees() + 360.0) % 360.0,
            sos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haversine_m;

    fn trip(events: &[&str]) -> Trip {
        // About 111 km due north.
        let route = Corridor::new(vec![[-1.5, 12.0], [-1.5, 13.0]], vec![0.0]).unwrap();
        Trip {
            route,
            speed_kmh: 60.0,
            vehicles: 2,
            gap_m: 1000.0,
            events: events.iter().map(|e| Event::parse(e).unwrap()).collect(),
        }
    }

    #[test]
    fn events_parse_and_bad_ones_are_named() {
        assert_eq!(
            Event::parse("stop@40:15m/1").unwrap(),
            Event {
                vehicle: 1,
                at_km: 40.0,
                kind: EventKind::Stop { seconds: 900.0 }
            }
        );
        assert_eq!(
            Event::parse("detour@50km:2000m:10m").unwrap().kind,
            EventKind::Detour {
                metres: 2000.0,
                seconds: 600.0
            }
        );
        assert_eq!(Event::parse("sos@60").unwrap().kind, EventKind::Sos);
        for bad in [
            "stop@40",
            "stop@x:1m",
            "fly@3",
            "sos@1:2m",
            "stop@4:5d",
            "stop@4:1m/x",
        ] {
            let e = Event::parse(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn vehicles_drive_stop_detour_go_silent_and_call_for_help() {
        let t = trip(&[
            "stop@10:5m",
            "detour@30:2000m:10m",
            "silence@50:3m",
            "sos@70",
        ]);
        // 10 km at 60 km/h: 600 s; stopped 300 s there.
        assert!((t.along_m(0, 600.0).0 - 10_000.0).abs() < 1.0);
        assert_eq!(t.along_m(0, 800.0), (10_000.0, false));
        assert!((t.along_m(0, 960.0).0 - 11_000.0).abs() < 1.0);
        let r = t.report(0, 800.0, Some(790.0)).unwrap();
        assert_eq!(r.speed_kmh, 0.0);
        // The second vehicle starts 1 km (60 s) behind and does not stop.
        assert!((t.along_m(1, 660.0).0 - 10_000.0).abs() < 1.0);
        assert!(t.along_m(1, 800.0).1);
        // On the detour: 2 km off the line, to the west when driving north,
        // once the 2 minutes of driving aside are over.
        let from = t.reaches_s(0, 30.0);
        let half = t.report(0, from + 60.0, None).unwrap();
        let half_on = t.route.point_at(t.along_m(0, from + 60.0).0).0;
        assert!((haversine_m(half.position, half_on) - 1000.0).abs() < 20.0);
        let at = from + 150.0;
        let r = t.report(0, at, None).unwrap();
        let on = t.route.point_at(t.along_m(0, at).0).0;
        assert!((haversine_m(r.position, on) - 2000.0).abs() < 20.0);
        assert!(r.position[0] < on[0]);
        assert!((r.bearing - 0.0).abs() < 1.0 || (r.bearing - 360.0).abs() < 1.0);
        // Silent for 3 minutes from km 50.
        let s = t.reaches_s(0, 50.0);
        assert!(t.report(0, s + 10.0, None).is_none());
        assert!(t.report(0, s + 190.0, None).is_some());
        // SOS on the first report from km 70, once.
        let s = t.reaches_s(0, 70.0);
        assert!(t.report(0, s + 1.0, Some(s - 5.0)).unwrap().sos);
        assert!(!t.report(0, s + 6.0, Some(s + 1.0)).unwrap().sos);
        assert!(!t.report(1, s + 1.0, Some(s - 5.0)).unwrap().sos);
        // Arrival: at the end, not moving.
        let end = t.duration_s();
        assert_eq!(t.along_m(1, end + 1.0), (t.route.length_m(), false));
    }
}
