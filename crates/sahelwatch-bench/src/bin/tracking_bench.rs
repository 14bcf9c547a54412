//! Alert-engine benchmark (issue 7): positions per second through
//! `sahelwatch_tracking::step` on one core, with every rule evaluated, for
//! 10,000 SYNTHETIC vehicles in convoys of 5 on real-sized routes; and the
//! same per-position geofence and near-route checks done by PostGIS
//! (`ST_DWithin` on the route, `ST_Contains` on the geofences, GiST
//! indexes) in the same run, as a ratio.
//!
//! Routes are real: fastest routes between random places of the Burkina
//! Faso road network (VMap0 roads and pistes, snapped 50 m), 50 to 600 km,
//! read in place from the shared data. Their road risk is SYNTHETIC (a few
//! high-risk stretches per route), and so are the vehicles: 40-70 km/h
//! along the route, a position every 30 s with 20 m of GPS noise, some
//! straying off the road, stopping, or falling silent. Each convoy has two
//! circular geofences on its route.
//!
//! Not part of the tests.

use anyhow::{Context as _, Result, bail};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sahelwatch_tracking::{
    Convoy, Corridor, Fix, Geofence, Input, LonLat, Shape, State, Thresholds, step,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

const INTERVAL_S: i64 = 30;

struct Args {
    vehicles: usize,
    per_convoy: usize,
    steps: usize,
    shared: PathBuf,
    pg: Option<String>,
    pg_positions: usize,
    seed: u64,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        vehicles: 10_000,
        per_convoy: 5,
        steps: 100,
        shared: PathBuf::from("../shared/data"),
        pg: None,
        pg_positions: 20_000,
        seed: 42,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--vehicles" => a.vehicles = value()?.parse()?,
            "--per-convoy" => a.per_convoy = value()?.parse()?,
            "--steps" => a.steps = value()?.parse()?,
            "--shared" => a.shared = value()?.into(),
            "--pg" => a.pg = Some(value()?),
            "--pg-positions" => a.pg_positions = value()?.parse()?,
            "--seed" => a.seed = value()?.parse()?,
            other => bail!(
                "unknown flag {other}; flags: --vehicles N --per-convoy K --steps S \
                 --shared DIR --pg URL --pg-positions M --seed S"
            ),
        }
    }
    Ok(a)
}

/// Real routes on the Burkina Faso network: (line, length m).
/// A point `m` metres along `line` (and the vertex before it).
fn along(line: &[LonLat], cum: &[f64], m: f64) -> LonLat {
    let k = cum.partition_point(|&c| c <= m).clamp(1, line.len() - 1);
    let f = ((m - cum[k - 1]) / (cum[k] - cum[k - 1]).max(1e-9)).clamp(0.0, 1.0);
    [
        line[k - 1][0] + f * (line[k][0] - line[k - 1][0]),
        line[k - 1][1] + f * (line[k][1] - line[k - 1][1]),
    ]
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let t = Instant::now();
    let lines = sahelwatch_bench::bf_routes(&args.shared, 50, &mut rng)?;
    let vertices: usize = lines.iter().map(Vec::len).sum();
    eprintln!(
        "{} real routes ({} vertices on average) in {:.1} s",
        lines.len(),
        vertices / lines.len(),
        t.elapsed().as_secs_f64()
    );
    let convoys_n = args.vehicles.div_ceil(args.per_convoy);
    let mut convoys = Vec::with_capacity(convoys_n);
    let mut plans = Vec::with_capacity(convoys_n); // (route idx, cum, speeds)
    for c in 0..convoys_n {
        let r = rng.random_range(0..lines.len());
        let line = lines[r].clone();
        let mut cum = vec![0.0; line.len()];
        for k in 1..line.len() {
            cum[k] = cum[k - 1] + sahelwatch_tracking::haversine_m(line[k - 1], line[k]);
        }
        // SYNTHETIC risk: a high stretch of about 10 km every ~100 km.
        let hot: Vec<f64> = (0..3)
            .map(|_| rng.random_range(0.0..cum[cum.len() - 1]))
            .collect();
        let risk = (0..line.len() - 1)
            .map(|k| {
                if hot.iter().any(|h| (cum[k] - h).abs() < 5_000.0) {
                    2.0
                } else {
                    0.1
                }
            })
            .collect();
        let fence = |m: f64, id: &str| Geofence {
            id: format!("{c}-{id}"),
            name: id.into(),
            shape: Shape::Circle {
                center: along(&line, &cum, m),
                radius_m: 2_000.0,
            },
        };
        let len = cum[cum.len() - 1];
        let geofences = vec![fence(len * 0.3, "checkpoint"), fence(len * 0.7, "camp")];
        convoys.push(Convoy {
            route: Corridor::new(line, risk).map_err(|e| anyhow::anyhow!("{e}"))?,
            vehicles: (0..args.per_convoy).map(|v| format!("{c}-{v}")).collect(),
            interval_s: INTERVAL_S as f64,
            geofences,
            thresholds: Thresholds::default(),
        });
        let speeds: Vec<f64> = (0..args.per_convoy)
            .map(|_| rng.random_range(40.0..70.0) / 3.6)
            .collect();
        plans.push((r, cum, speeds));
    }
    // The stream of positions, in time order (generated before timing).
    let start_ms = 1_750_000_000_000i64;
    let mut stream: Vec<(usize, Fix)> = Vec::with_capacity(args.vehicles * args.steps);
    for s in 0..args.steps {
        let t_ms = start_ms + s as i64 * INTERVAL_S * 1000;
        for (c, (r, cum, speeds)) in plans.iter().enumerate() {
            let line = &lines[*r];
            for (v, &speed) in speeds.iter().enumerate() {
                if rng.random_bool(0.01) {
                    continue; // silent this time
                }
                let m = (s as f64 * INTERVAL_S as f64 * speed).min(cum[cum.len() - 1]);
                let mut p = along(line, cum, m);
                let noise = 20.0 / 111_000.0;
                p[0] += rng.random_range(-noise..noise);
                p[1] += rng.random_range(-noise..noise);
                if c % 50 == 0 && s > args.steps / 2 {
                    p[1] += 0.01; // straying about 1 km off the road
                }
                stream.push((
                    c,
                    Fix {
                        vehicle: v,
                        time_ms: t_ms + rng.random_range(0..INTERVAL_S * 1000),
                        position: p,
                        speed_kmh: Some(speed * 3.6),
                        sos: c % 997 == 0 && s == args.steps / 3,
                    },
                ));
            }
        }
    }
    stream.sort_by_key(|(_, f)| f.time_ms);
    let mut states: Vec<State> = convoys.iter().map(|c| State::new(c, start_ms)).collect();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut refused = 0usize;
    let mut next_tick = start_ms + INTERVAL_S * 1000;
    let t = Instant::now();
    for (c, f) in &stream {
        while f.time_ms >= next_tick {
            for (k, convoy) in convoys.iter().enumerate() {
                for a in step(convoy, &mut states[k], &Input::Tick, next_tick).alerts {
                    *kinds.entry(format!("{:?}", a.kind)).or_default() += 1;
                }
            }
            next_tick += INTERVAL_S * 1000;
        }
        let out = step(&convoys[*c], &mut states[*c], &Input::Fix(*f), f.time_ms);
        if !out.outcome.is_some_and(|o| o.stored()) {
            refused += 1;
        }
        for a in out.alerts {
            *kinds.entry(format!("{:?}", a.kind)).or_default() += 1;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let per_s = stream.len() as f64 / secs;
    eprintln!(
        "engine: {} positions of {} vehicles in {:.2} s on one core: {:.0} positions/s ({refused} not stored); alerts {kinds:?}",
        stream.len(),
        args.vehicles,
        secs,
        per_s
    );
    let mut result = json!({
        "vehicles": args.vehicles, "convoys": convoys_n, "routes": lines.len(),
        "mean_route_vertices": vertices / lines.len(), "positions": stream.len(),
        "seconds": secs, "positions_per_s": per_s, "alerts": kinds,
    });

    if let Some(url) = &args.pg {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let pg = rt.block_on(postgis(url, &convoys, &stream, args.pg_positions))?;
        eprintln!(
            "PostGIS: {} positions, ST_DWithin on the route + ST_Contains on the geofences, one query each: {:.0} positions/s; ours {:.0}x",
            pg.0,
            pg.0 as f64 / pg.1,
            per_s / (pg.0 as f64 / pg.1)
        );
        result["postgis"] = json!({"positions": pg.0, "seconds": pg.1,
            "positions_per_s": pg.0 as f64 / pg.1, "ratio": per_s / (pg.0 as f64 / pg.1),
            "near_route": pg.2, "in_geofence": pg.3});
    }
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

/// The near-route and geofence checks per position in PostGIS: returns
/// (positions, seconds, near-route count, in-geofence count).
async fn postgis(
    url: &str,
    convoys: &[Convoy],
    stream: &[(usize, Fix)],
    n: usize,
) -> Result<(usize, f64, usize, usize)> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS postgis;
             DROP TABLE IF EXISTS tb_routes, tb_fences;
             CREATE TABLE tb_routes (id int PRIMARY KEY, geom geography(LineString, 4326) NOT NULL);
             CREATE TABLE tb_fences (id serial PRIMARY KEY, convoy int NOT NULL, geom geometry(Polygon, 4326) NOT NULL);",
        )
        .await?;
    let ins_route = client
        .prepare("INSERT INTO tb_routes VALUES ($1, ST_GeogFromText($2))")
        .await?;
    let ins_fence = client
        .prepare(
            "INSERT INTO tb_fences (convoy, geom) VALUES ($1, ST_Buffer(ST_MakePoint($2, $3)::geography, $4)::geometry)",
        )
        .await?;
    for (k, c) in convoys.iter().enumerate() {
        let wkt = format!(
            "LINESTRING({})",
            c.route
                .line()
                .iter()
                .map(|p| format!("{} {}", p[0], p[1]))
                .collect::<Vec<_>>()
                .join(",")
        );
        client.execute(&ins_route, &[&(k as i32), &wkt]).await?;
        for g in &c.geofences {
            if let Shape::Circle { center, radius_m } = &g.shape {
                client
                    .execute(&ins_fence, &[&(k as i32), &center[0], &center[1], radius_m])
                    .await?;
            }
        }
    }
    client
        .batch_execute(
            "CREATE INDEX ON tb_routes USING gist (geom);
             CREATE INDEX ON tb_fences USING gist (geom);
             CREATE INDEX ON tb_fences (convoy);
             ANALYZE tb_routes; ANALYZE tb_fences;",
        )
        .await?;
    let q = client
        .prepare(
            "SELECT ST_DWithin(r.geom, ST_MakePoint($1, $2)::geography, 500),
                    (SELECT count(*) FROM tb_fences f
                      WHERE f.convoy = $3 AND ST_Contains(f.geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)))
               FROM tb_routes r WHERE r.id = $3",
        )
        .await?;
    let step = (stream.len() / n.max(1)).max(1);
    let sample: Vec<&(usize, Fix)> = stream.iter().step_by(step).take(n).collect();
    let (mut near, mut inside) = (0usize, 0usize);
    let t = Instant::now();
    for (c, f) in &sample {
        let row = client
            .query_one(&q, &[&f.position[0], &f.position[1], &(*c as i32)])
            .await?;
        near += row.get::<_, bool>(0) as usize;
        inside += (row.get::<_, i64>(1) > 0) as usize;
    }
    Ok((sample.len(), t.elapsed().as_secs_f64(), near, inside))
}
