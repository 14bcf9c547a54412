//! HTTP intake benchmark (issue 7): SYNTHETIC vehicles on real Burkina Faso
//! routes send positions over the OsmAnd protocol on loopback at a fixed
//! rate (5,000 a second by default) to a real server (the sahelwatch
//! router on its own ports, SQLite by default or PostgreSQL), with every
//! alert rule evaluated and every position committed before it is
//! answered. Some positions carry the SOS alarm; for each, the time from
//! sending the request to receiving its alert on the live stream
//! (`/api/v1/alerts/stream`, server-sent events) is measured, as is the
//! time to each answer.
//!
//! The load generator runs in the same process, on the same 2 cores as the
//! server: the latencies include its own scheduling.
//!
//! Not part of the tests.

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sahelwatch_app::App;
use sahelwatch_app::convoys::{RawConvoy, RawConvoyRoute, RawVehicle};
use sahelwatch_core::Role;
use sahelwatch_core::accounts::NewUser;
use sahelwatch_routing::LonLat;
use sahelwatch_server::AppState;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    shared: PathBuf,
    database: Option<String>,
    rate: f64,
    seconds: f64,
    vehicles: usize,
    per_convoy: usize,
    sos_every: usize,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        shared: PathBuf::from("../shared/data"),
        database: None,
        rate: 5_000.0,
        seconds: 30.0,
        vehicles: 5_000,
        per_convoy: 10,
        sos_every: 50,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().with_context(|| format!("{k} needs a value"));
        match k.as_str() {
            "--shared" => a.shared = PathBuf::from(v()?),
            "--database" => a.database = Some(v()?),
            "--rate" => a.rate = v()?.parse()?,
            "--seconds" => a.seconds = v()?.parse()?,
            "--vehicles" => a.vehicles = v()?.parse()?,
            "--per-convoy" => a.per_convoy = v()?.parse()?,
            "--sos-every" => a.sos_every = v()?.parse()?,
            other => bail!(
                "unknown argument {other} (--shared DIR --database URL --rate N --seconds S \
                 --vehicles N --per-convoy N --sos-every N)"
            ),
        }
    }
    Ok(a)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// SOS positions sent, by (convoy, vehicle, device time), with when.
type Pending = HashMap<(String, String, i64), Instant>;

struct Vehicle {
    convoy: String,
    name: String,
    device: String,
    secret: String,
    route: Arc<Vec<LonLat>>,
    cum: Arc<Vec<f64>>,
    along_m: f64,
}

fn point(line: &[LonLat], cum: &[f64], m: f64) -> LonLat {
    let m = m % cum[cum.len() - 1];
    let k = cum.partition_point(|&c| c <= m).clamp(1, cum.len() - 1) - 1;
    let f = (m - cum[k]) / (cum[k + 1] - cum[k]).max(1e-9);
    let (p, q) = (line[k], line[k + 1]);
    [p[0] + f * (q[0] - p[0]), p[1] + f * (q[1] - p[1])]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let a = parse_args()?;
    let dir = tempfile_dir()?;
    let location = a
        .database
        .clone()
        .unwrap_or_else(|| dir.join("intake.db").display().to_string());
    let store = sahelwatch_store::open(&location).await?;
    let app = Arc::new(App::new(store));
    let org = app.ensure_org("bench").await?;
    let user = app
        .store()
        .create_user(NewUser {
            org: org.id,
            username: format!("bench-{}", uuid::Uuid::new_v4().simple()),
            display_name: "bench".into(),
            role: Role::Operator,
            superadmin: false,
            password_hash: None,
        })
        .await?;
    let token = app.issue_token(&user, "bench", None).await?.token;
    let principal = app.principal_of(&user).await?;
    app.start_tracking(Default::default()).await?;
    let state = AppState::new(Arc::clone(&app));
    let api = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api_addr = api.local_addr()?;
    tokio::spawn(sahelwatch_server::serve(
        api,
        state.clone(),
        std::future::pending(),
    ));
    let osm = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let osm_addr = osm.local_addr()?;
    tokio::spawn(sahelwatch_server::serve_osmand(osm, state.clone()));

    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let lines = sahelwatch_bench::bf_routes(&a.shared, 50, &mut rng)?;
    let started = Instant::now();
    let mut vehicles = Vec::with_capacity(a.vehicles);
    let convoys = a.vehicles.div_ceil(a.per_convoy);
    for c in 0..convoys {
        let line = Arc::new(lines[c % lines.len()].clone());
        let mut cum = vec![0.0];
        for w in line.windows(2) {
            cum.push(cum[cum.len() - 1] + sahelwatch_tracking::haversine_m(w[0], w[1]));
        }
        let cum = Arc::new(cum);
        let n = a.per_convoy.min(a.vehicles - c * a.per_convoy);
        let raw = RawConvoy {
            name: Some(format!("SYNTHETIC bench convoy {c}")),
            route: Some(RawConvoyRoute {
                saved: None,
                geojson: Some(serde_json::json!({"type": "LineString", "coordinates": *line})),
            }),
            vehicles: (0..n)
                .map(|v| RawVehicle {
                    name: Some(format!("V{v}")),
                    device: Some(format!("bench-{c}-{v}")),
                    secret: Some(format!("bench-secret-{c:06}-{v:03}")),
                })
                .collect(),
            interval_s: Some(3600.0),
            ..Default::default()
        };
        let view = app
            .register_convoy(&principal, &raw, chrono::Utc::now())
            .await?;
        for v in 0..n {
            vehicles.push(Vehicle {
                convoy: view.id.to_string(),
                name: format!("V{v}"),
                device: format!("bench-{c}-{v}"),
                secret: format!("bench-secret-{c:06}-{v:03}"),
                route: Arc::clone(&line),
                cum: Arc::clone(&cum),
                along_m: 200.0 * v as f64,
            });
        }
    }
    eprintln!(
        "{} convoys, {} vehicles registered in {:.1} s; sending {} positions/s for {} s",
        convoys,
        vehicles.len(),
        started.elapsed().as_secs_f64(),
        a.rate,
        a.seconds
    );

    // The live stream: alert -> when it arrived.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let pending: Arc<Mutex<Pending>> = Arc::default();
    let alert_ms: Arc<Mutex<Vec<f64>>> = Arc::default();
    let mut stream = client
        .get(format!("http://{api_addr}/api/v1/alerts/stream"))
        .bearer_auth(&token)
        .send()
        .await?;
    if !stream.status().is_success() {
        bail!("stream: HTTP {}", stream.status());
    }
    {
        let (pending, alert_ms) = (Arc::clone(&pending), Arc::clone(&alert_ms));
        tokio::spawn(async move {
            let mut buf = String::new();
            while let Ok(Some(chunk)) = stream.chunk().await {
                let now = Instant::now();
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let event: String = buf.drain(..end + 2).collect();
                    let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) else {
                        continue;
                    };
                    let Ok(v) = serde_json::from_str::<serde_json::Value>(data) else {
                        continue;
                    };
                    if v["kind"] != "sos" {
                        continue;
                    }
                    let at = chrono::DateTime::parse_from_rfc3339(v["at"].as_str().unwrap_or(""))
                        .map(|t| t.timestamp_millis())
                        .unwrap_or(0);
                    let key = (
                        v["convoy"].as_str().unwrap_or("").to_string(),
                        v["vehicle"].as_str().unwrap_or("").to_string(),
                        at,
                    );
                    if let Some(sent) = pending.lock().unwrap().remove(&key) {
                        alert_ms
                            .lock()
                            .unwrap()
                            .push(now.duration_since(sent).as_secs_f64() * 1000.0);
                    }
                }
            }
        });
    }

    // Inside the server: from the position's arrival at the intake to its
    // alert's publication to stream subscribers.
    let server_ms: Arc<Mutex<Vec<f64>>> = Arc::default();
    {
        let mut rx = app.alert_receiver().context("tracking runs")?;
        let server_ms = Arc::clone(&server_ms);
        tokio::spawn(async move {
            while let Ok(a) = rx.recv().await {
                let ms = a.received.elapsed().as_secs_f64() * 1000.0;
                if a.alert.kind == "sos" {
                    server_ms.lock().unwrap().push(ms);
                }
            }
        });
    }
    let ack_ms: Arc<Mutex<Vec<f64>>> = Arc::default();
    let errors: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let gate = Arc::new(tokio::sync::Semaphore::new(256));
    let t0 = Instant::now();
    let mut sent = 0usize;
    let mut next = 0usize;
    let mut sos_sent = 0usize;
    while t0.elapsed().as_secs_f64() < a.seconds {
        let due = (t0.elapsed().as_secs_f64() * a.rate) as usize;
        while sent < due {
            let (count, idx, round) = (vehicles.len(), next, sent / vehicles.len());
            let v = &mut vehicles[idx];
            next = (next + 1) % count;
            sent += 1;
            // About 60 km/h at one position per vehicles/rate seconds.
            v.along_m += 16.7 * a.vehicles as f64 / a.rate;
            let p = point(&v.route, &v.cum, v.along_m);
            let ts = chrono::Utc::now().timestamp_millis();
            // One position in sos_every raises the alarm, each round on
            // other vehicles: a vehicle's next one is without, so each is a
            // new alarm.
            let sos = (idx + round).is_multiple_of(a.sos_every);
            let url = format!(
                "http://{osm_addr}/?id={}&key={}&timestamp={ts}&lat={:.6}&lon={:.6}&speed=32{}",
                v.device,
                v.secret,
                p[1],
                p[0],
                if sos { "&alarm=sos" } else { "" }
            );
            let now = Instant::now();
            if sos {
                sos_sent += 1;
                pending
                    .lock()
                    .unwrap()
                    .insert((v.convoy.clone(), v.name.clone(), ts), now);
            }
            let permit = Arc::clone(&gate).acquire_owned().await?;
            let (client, ack_ms, errors) =
                (client.clone(), Arc::clone(&ack_ms), Arc::clone(&errors));
            tokio::spawn(async move {
                match client.post(url).send().await {
                    Ok(r) if r.status() == 200 => {
                        let body = r.text().await.unwrap_or_default();
                        if body.is_empty() {
                            ack_ms
                                .lock()
                                .unwrap()
                                .push(now.elapsed().as_secs_f64() * 1000.0);
                        } else {
                            *errors.lock().unwrap().entry(body).or_default() += 1;
                        }
                    }
                    Ok(r) => {
                        *errors
                            .lock()
                            .unwrap()
                            .entry(format!("HTTP {}", r.status()))
                            .or_default() += 1
                    }
                    Err(e) => *errors.lock().unwrap().entry(e.to_string()).or_default() += 1,
                }
                drop(permit);
            });
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = gate.acquire_many(256).await?;
    let elapsed = t0.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut acks = ack_ms.lock().unwrap().clone();
    let mut alerts = alert_ms.lock().unwrap().clone();
    let mut server = server_ms.lock().unwrap().clone();
    let missing = pending.lock().unwrap().len();
    let stored = app.store().stats().await?;
    let out = serde_json::json!({
        "backend": if a.database.is_some() { "postgres" } else { "sqlite" },
        "vehicles": vehicles.len(),
        "convoys": convoys,
        "target_rate": a.rate,
        "sent": sent,
        "achieved_rate": (sent as f64 / elapsed).round(),
        "acknowledged": acks.len(),
        "errors": *errors.lock().unwrap(),
        "ack_ms": {"p50": pct(&mut acks, 0.5), "p95": pct(&mut acks, 0.95), "p99": pct(&mut acks, 0.99), "max": pct(&mut acks, 1.0)},
        "sos_sent": sos_sent,
        "sos_alerts_received": alerts.len(),
        "sos_alerts_missing": missing,
        "alert_ms": {"p50": pct(&mut alerts, 0.5), "p95": pct(&mut alerts, 0.95), "p99": pct(&mut alerts, 0.99), "max": pct(&mut alerts, 1.0)},
        "server_intake_to_publish_ms": {"p50": pct(&mut server, 0.5), "p95": pct(&mut server, 0.95), "p99": pct(&mut server, 0.99), "max": pct(&mut server, 1.0)},
        "store": format!("{stored:?}"),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("sw-intake-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
