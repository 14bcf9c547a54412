//! `sahelwatch simulate`: registers convoys through the API and drives
//! their vehicles along the route over the OsmAnd protocol, as trackers
//! would, with injected events (see `sahelwatch_tracking::sim`).
//!
//! Trip time runs `time_scale` times faster than real time. Device
//! timestamps are trip times placed so that the trip ends now: a vehicle
//! never reports a time in the future, and the speeds the server sees are
//! the chosen speed whatever the scale. The convoys are registered with a
//! reporting interval of `interval / time_scale` real seconds, so that loss
//! of contact (measured on the server's clock) follows the same scale.

use crate::cli::SimulateArgs;
use anyhow::{Context, Result, bail};
use sahelwatch_tracking::Corridor;
use sahelwatch_tracking::sim::{Event, Trip};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Requests in flight at once.
const CONCURRENCY: usize = 64;

struct Vehicle {
    index: usize,
    device: String,
    secret: String,
    /// Trip time of its next report, and of its last one.
    next_t: f64,
    last_t: Option<f64>,
}

pub async fn run(a: SimulateArgs) -> Result<ExitCode> {
    if !(a.speed.is_finite() && a.speed > 0.0 && a.speed <= 200.0) {
        bail!("--speed {}: give 1 to 200 km/h", a.speed);
    }
    if !(a.time_scale.is_finite() && a.time_scale > 0.0 && a.time_scale <= 3600.0) {
        bail!(
            "--time-scale {}: give more than 0, at most 3600",
            a.time_scale
        );
    }
    if !(a.interval.is_finite() && a.interval >= 1.0) {
        bail!("--interval {}: give at least 1 second", a.interval);
    }
    if a.convoys == 0 || a.vehicles == 0 || a.vehicles > 200 {
        bail!("--convoys must be at least 1 and --vehicles 1 to 200");
    }
    let events: Vec<Event> = a
        .events
        .iter()
        .map(|e| Event::parse(e).map_err(anyhow::Error::msg))
        .collect::<Result<_>>()?;
    if let Some(e) = events.iter().find(|e| e.vehicle >= a.vehicles) {
        bail!(
            "an event is for vehicle {}, but each convoy has {} (0 to {})",
            e.vehicle,
            a.vehicles,
            a.vehicles - 1
        );
    }
    let route = match (&a.saved_route, &a.geojson) {
        (Some(id), _) => serde_json::json!({"saved": id}),
        (None, Some(f)) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", f.display()))?;
            serde_json::json!({"geojson": v})
        }
        (None, None) => bail!("give --saved-route ID or --geojson FILE"),
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let api = a.api.trim_end_matches('/');
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..6].to_string();
    let mut vehicles = Vec::new();
    let mut convoy_ids = Vec::new();
    let mut line = Vec::new();
    for c in 0..a.convoys {
        let name = if a.convoys == 1 {
            a.name.clone()
        } else {
            format!("{} {}", a.name, c + 1)
        };
        let body = serde_json::json!({
            "name": name,
            "route": route,
            "interval_s": (a.interval / a.time_scale).clamp(1.0, 3600.0),
            "vehicles": (0..a.vehicles)
                .map(|v| serde_json::json!({"name": format!("Vehicle {}", v + 1), "device": format!("sim-{run_id}-{c}-{v}")}))
                .collect::<Vec<_>>(),
        });
        let r = client
            .post(format!("{api}/api/v1/convoys"))
            .bearer_auth(&a.token)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("cannot reach the API at {api}"))?;
        let status = r.status();
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        if !status.is_success() {
            bail!(
                "registering convoy '{name}': HTTP {status}: {}",
                v["message"].as_str().unwrap_or("")
            );
        }
        convoy_ids.push(v["id"].as_str().unwrap_or_default().to_string());
        if line.is_empty() {
            line = serde_json::from_value(v["route"].clone()).context("the convoy's route")?;
        }
        for (k, veh) in v["vehicles"].as_array().into_iter().flatten().enumerate() {
            vehicles.push(Vehicle {
                index: k,
                device: veh["device"].as_str().unwrap_or_default().to_string(),
                secret: veh["secret"].as_str().unwrap_or_default().to_string(),
                next_t: 0.0,
                last_t: None,
            });
        }
    }
    let pieces = line.len().saturating_sub(1);
    let trip = Trip {
        route: Corridor::new(line, vec![0.0; pieces]).map_err(anyhow::Error::msg)?,
        speed_kmh: a.speed,
        vehicles: a.vehicles,
        gap_m: a.gap_m,
        events,
    };
    let trip_s = trip.duration_s();
    let real_s = a.duration.unwrap_or(trip_s / a.time_scale);
    let now_ms = chrono::Utc::now().timestamp_millis();
    // Trip time 0 is placed so that the trip ends now (never in the future).
    let t0_ms = now_ms - (trip_s * 1000.0 * (1.0 - 1.0 / a.time_scale)) as i64;
    println!(
        "{} convoy(s) of {} vehicles on a {:.1} km route: {:.0} min of trip at {} km/h, {:.0} s real at x{}",
        a.convoys,
        a.vehicles,
        trip.route.length_m() / 1000.0,
        trip_s / 60.0,
        a.speed,
        real_s,
        a.time_scale
    );
    for (c, id) in convoy_ids.iter().enumerate() {
        println!("  convoy {}: {id}", c + 1);
    }

    let trip = Arc::new(trip);
    let osmand = a.osmand.trim_end_matches('/').to_string();
    let gate = Arc::new(Semaphore::new(CONCURRENCY));
    let counts: Arc<std::sync::Mutex<BTreeMap<String, u64>>> = Arc::default();
    let start = Instant::now();
    let mut last_print = Instant::now();
    loop {
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed > real_s {
            break;
        }
        let t_now = elapsed * a.time_scale;
        let mut next_wake = f64::INFINITY;
        for v in vehicles.iter_mut() {
            while v.next_t <= t_now && v.next_t <= trip_s {
                let t = v.next_t;
                v.next_t += a.interval;
                let Some(r) = trip.report(v.index, t, v.last_t) else {
                    continue;
                };
                v.last_t = Some(t);
                let url = format!(
                    "{osmand}/?id={}&key={}&timestamp={}&lat={:.6}&lon={:.6}&speed={:.1}&bearing={:.0}&batt=80{}",
                    v.device,
                    v.secret,
                    (t0_ms + (t * 1000.0) as i64) / 1000,
                    r.position[1],
                    r.position[0],
                    r.speed_kmh / 1.852,
                    r.bearing,
                    if r.sos { "&alarm=sos" } else { "" }
                );
                let permit = Arc::clone(&gate).acquire_owned().await?;
                let (client, counts) = (client.clone(), Arc::clone(&counts));
                tokio::spawn(async move {
                    let outcome = match client.post(url).send().await {
                        Ok(r) if r.status() == 200 => {
                            let body = r.text().await.unwrap_or_default();
                            if body.starts_with("refused") {
                                "refused".to_string()
                            } else {
                                "accepted".to_string()
                            }
                        }
                        Ok(r) => format!("HTTP {}", r.status().as_u16()),
                        Err(e) if e.is_connect() => "cannot connect".to_string(),
                        Err(_) => "failed".to_string(),
                    };
                    *counts.lock().unwrap().entry(outcome).or_default() += 1;
                    drop(permit);
                });
            }
            if v.next_t <= trip_s {
                next_wake = next_wake.min(v.next_t);
            }
        }
        if next_wake.is_infinite() {
            break;
        }
        if last_print.elapsed() > Duration::from_secs(5) {
            last_print = Instant::now();
            let sent: u64 = counts.lock().unwrap().values().sum();
            println!(
                "  {:>5.0} s: {sent} positions ({:.0}/s) {:?}",
                elapsed,
                sent as f64 / elapsed.max(1e-3),
                counts.lock().unwrap()
            );
        }
        let wait = ((next_wake / a.time_scale) - start.elapsed().as_secs_f64()).max(0.0);
        tokio::time::sleep(Duration::from_secs_f64(wait.min(1.0))).await;
    }
    // Wait for the requests in flight.
    let _all = gate.acquire_many(CONCURRENCY as u32).await?;
    let elapsed = start.elapsed().as_secs_f64();
    let counts = counts.lock().unwrap().clone();
    let sent: u64 = counts.values().sum();
    println!(
        "Sent {sent} positions in {elapsed:.1} s ({:.0}/s): {counts:?}",
        sent as f64 / elapsed.max(1e-3)
    );
    for (c, id) in convoy_ids.iter().enumerate() {
        let alerts: serde_json::Value = client
            .get(format!("{api}/api/v1/alerts?convoy={id}&limit=1000"))
            .bearer_auth(&a.token)
            .send()
            .await?
            .json()
            .await
            .unwrap_or_default();
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for al in alerts.as_array().into_iter().flatten() {
            *kinds
                .entry(al["kind"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
        println!("  convoy {} alerts: {kinds:?}", c + 1);
        if a.end {
            client
                .post(format!("{api}/api/v1/convoys/{id}/end"))
                .bearer_auth(&a.token)
                .send()
                .await?;
        }
    }
    let failed = counts
        .iter()
        .filter(|(k, _)| *k != "accepted" && *k != "refused")
        .map(|(_, n)| n)
        .sum::<u64>();
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("{failed} positions were not taken by the server");
        ExitCode::FAILURE
    })
}
