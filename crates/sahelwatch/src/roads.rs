//! The road commands: `import roads`, `roads`, `route`, `corridor`. They go
//! through the same use cases and validation as the API.

use crate::analytics::flag_errors;
use crate::cli::{CorridorArgs, RoadImportArgs, RouteArgs};
use crate::config::Config;
use anyhow::{Context, Result};
use sahelwatch_app::App;
use sahelwatch_app::corridor::{RawBriefQuery, RawSaveRoute};
use sahelwatch_app::roads::{RawRouteQuery, RoadImportOptions};
use sahelwatch_core::Viewer;
use sahelwatch_routing::{RoadClass, SpeedProfile};
use std::io::Read;
use std::process::ExitCode;

pub async fn import(app: &App, args: RoadImportArgs) -> Result<ExitCode> {
    let profile = match &args.speeds {
        None => SpeedProfile::default(),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("--speeds: cannot read {}", p.display()))?;
            SpeedProfile::from_toml(&text).map_err(|e| anyhow::anyhow!("--speeds: {e}"))?
        }
    };
    let class = match &args.class {
        None => None,
        Some(c) => Some(RoadClass::parse(c).ok_or_else(|| {
            anyhow::anyhow!(
                "--class '{c}': not a road class ({})",
                RoadClass::ALL.map(RoadClass::as_str).join(", ")
            )
        })?),
    };
    let name = args.name.clone().unwrap_or_else(|| {
        let f = args.files[0]
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default();
        f.split('.').next().unwrap_or("roads").to_string()
    });
    let mut files: Vec<(String, Box<dyn Read + Send>)> = Vec::new();
    for p in &args.files {
        let f = std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
        files.push((
            p.display().to_string(),
            Box::new(std::io::BufReader::with_capacity(1 << 16, f)),
        ));
    }
    eprintln!("building the road network (and its contraction order) ...");
    let r = app
        .import_roads(
            files,
            RoadImportOptions {
                name,
                snap_m: args.snap,
                profile,
                class,
                created_at: chrono::Utc::now(),
            },
        )
        .await
        .map_err(flag_errors)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rep = &r.report;
    println!("road network '{}' (id {}) from {}", r.name, r.id, r.source);
    if let Some(o) = &rep.osm {
        let skipped: Vec<String> = o
            .ways_skipped_by_highway
            .iter()
            .take(8)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!(
            "  OSM: {} ways with highway=*, {} kept; skipped by type: {}; by access: {}; missing nodes: {}",
            o.highway_ways,
            o.ways_kept,
            skipped.join(", "),
            o.ways_skipped_by_access,
            o.missing_node_refs
        );
    }
    for (f, s) in &r.files {
        println!(
            "  {f}: {} features, {} lines, {} skipped (not lines), {} not drivable",
            s.features,
            s.lines,
            s.skipped.len(),
            s.not_drivable.len()
        );
    }
    println!(
        "  {} lines kept ({} dropped), {} nodes, {} segments ({} one-way), {:.1} km",
        rep.lines_kept,
        rep.lines_dropped,
        rep.nodes,
        rep.segments,
        rep.oneway_segments,
        rep.km_total
    );
    let km: Vec<String> = rep
        .km_by_class
        .iter()
        .map(|(k, v)| format!("{k} {v:.1}"))
        .collect();
    println!("  km by class: {}", km.join(", "));
    println!(
        "  junctions: {} ({} from shared coordinates, {} from snapping{}); dangling ends: {}",
        rep.junctions,
        rep.junctions_from_shared_coordinates,
        rep.junctions_from_snapping,
        rep.snap_m
            .map(|m| format!(" within {m} m"))
            .unwrap_or_default(),
        rep.dangling_ends
    );
    println!(
        "  {} connected parts; the largest has {} of {} nodes",
        rep.components, rep.largest_component_nodes, rep.nodes
    );
    println!(
        "  built in {:.2} s, contraction order in {:.2} s, stored {} KB",
        r.build_seconds,
        r.order_seconds,
        r.stored_bytes / 1024
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn list(config: Config) -> Result<ExitCode> {
    let app = crate::open(&config).await?;
    let all = app.road_networks().await.map_err(flag_errors)?;
    if all.is_empty() {
        println!("no road network yet: import one with `sahelwatch import roads FILE`");
    }
    for n in all {
        println!(
            "{:<4} {:<24} {:>8} nodes {:>8} segments {:>10.1} km  {}  from {}",
            n.id,
            n.name,
            n.report["nodes"],
            n.report["segments"],
            n.report["km_total"].as_f64().unwrap_or(0.0),
            n.created_at.format("%Y-%m-%d %H:%M"),
            n.source
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn hms(s: f64) -> String {
    let m = (s / 60.0).round() as i64;
    format!("{}h{:02}", m / 60, m % 60)
}

pub async fn route(args: RouteArgs, config: Config) -> Result<ExitCode> {
    let app = crate::open(&config).await?;
    let avoid = match &args.avoid {
        None => None,
        Some(p) => Some(serde_json::Value::String(
            std::fs::read_to_string(p)
                .with_context(|| format!("--avoid: cannot read {}", p.display()))?,
        )),
    };
    let raw = RawRouteQuery {
        from: Some(args.from.clone()),
        to: Some(args.to.clone()),
        mode: Some(args.mode.clone()),
        tradeoff: Some(args.tradeoff),
        alternatives: Some(!args.no_alternatives),
        avoid,
        depart: args.depart.clone(),
        network: args.network.clone(),
    };
    let a = app
        .plan_route(&Viewer::Local, &raw, chrono::Utc::now(), "cli route")
        .await
        .map_err(flag_errors)?;
    if let Some(name) = &args.save {
        let org = app
            .ensure_org(args.org.as_deref().unwrap_or(&config.organisation))
            .await?;
        let saved = app
            .save_route(
                &Viewer::Local,
                org.id,
                None,
                &RawSaveRoute {
                    name: Some(name.clone()),
                    route: Some(raw.clone()),
                    choose: Some(args.choose),
                },
                chrono::Utc::now(),
            )
            .await
            .map_err(flag_errors)?;
        eprintln!(
            "saved the {} route ({} km) as '{}' (id {}) for {}",
            saved.label, saved.distance_km, saved.name, saved.id, org.name
        );
    }
    if let Some(path) = &args.geojson {
        let features: Vec<serde_json::Value> = a
            .routes
            .iter()
            .map(|r| {
                serde_json::json!({
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": r.geometry},
                    "properties": {
                        "label": r.label, "duration_s": r.duration_s, "distance_km": r.distance_km,
                        "exposure": r.exposure, "max_risk": r.max_risk,
                    }
                })
            })
            .collect();
        let fc = serde_json::json!({"type": "FeatureCollection", "features": features});
        std::fs::write(path, serde_json::to_vec(&fc)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&a)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} -> {} on '{}', departing {}; risk from {} incidents",
        a.from.name,
        a.to.name,
        a.network,
        a.depart.format("%Y-%m-%d %H:%M UTC"),
        a.risk_incidents
    );
    for (end, e) in [("from", &a.from), ("to", &a.to)] {
        if e.road_distance_m > 500.0 {
            println!(
                "  note: {end} is {:.1} km from the nearest road",
                e.road_distance_m / 1000.0
            );
        }
    }
    for r in &a.routes {
        println!(
            "\n{:<12} {:>7.1} km  {:>6}  exposure {:>8.3}  max risk {:>6.3}{}",
            r.label,
            r.distance_km,
            hms(r.duration_s),
            r.exposure,
            r.max_risk,
            if r.label == a.mode {
                String::new()
            } else {
                format!(
                    "  ({:+.0} min, exposure {})",
                    r.extra_minutes,
                    r.exposure_saved_pct
                        .map_or("-".into(), |p| format!("{:+.0}%", -p))
                )
            }
        );
        for s in r.profile.iter().filter(|s| s.level != "low") {
            println!(
                "    km {:>6.1}-{:<6.1} {:<8} max risk {:.3}  {}",
                s.from_km,
                s.to_km,
                s.level,
                s.max_risk,
                s.roads.join(", ")
            );
            for i in &s.incidents {
                println!(
                    "        {} {} {} ({} killed) +{:.3}",
                    i.event_date, i.sub_event_type, i.id, i.fatalities, i.risk
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn corridor(args: CorridorArgs, config: Config) -> Result<ExitCode> {
    let app = crate::open(&config).await?;
    let org = app
        .ensure_org(args.org.as_deref().unwrap_or(&config.organisation))
        .await?;
    let saved = app.saved_routes(org.id).await.map_err(flag_errors)?;
    let Some(which) = &args.route else {
        if saved.is_empty() {
            println!(
                "no saved route for {}: save one with `sahelwatch route ... --save NAME`",
                org.name
            );
        }
        for r in saved {
            println!(
                "{:<4} {:<28} {} -> {}  {:.1} km {}  {} on '{}'",
                r.id,
                r.name,
                r.from.name,
                r.to.name,
                r.distance_km,
                hms(r.duration_s),
                r.label,
                r.network
            );
        }
        return Ok(ExitCode::SUCCESS);
    };
    let Some(route) = saved
        .iter()
        .find(|r| &r.name == which || r.id.to_string() == *which)
    else {
        anyhow::bail!("no saved route '{which}' for {}", org.name);
    };
    let raw = RawBriefQuery {
        buffer_km: Some(args.buffer_km.to_string()),
        days: Some(args.days.to_string()),
        depart: args.depart.clone(),
    };
    let b = app
        .corridor_brief(
            &Viewer::Local,
            org.id,
            route.id,
            &raw,
            chrono::Utc::now(),
            "cli corridor",
        )
        .await
        .map_err(flag_errors)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&b)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Corridor brief: '{}' ({} -> {}, {} route on '{}'), as of {}",
        b.route.name,
        b.route.from.name,
        b.route.to.name,
        b.route.label,
        b.route.network,
        b.depart.format("%Y-%m-%d %H:%M UTC")
    );
    for line in &b.summary {
        println!("  {line}");
    }
    println!(
        "
Risk profile:"
    );
    for s in &b.current.profile {
        println!(
            "  km {:>6.1}-{:<6.1} {:<8} max risk {:.3}  {}",
            s.from_km,
            s.to_km,
            s.level,
            s.max_risk,
            s.roads.join(", ")
        );
    }
    println!(
        "
Incidents of the last {} days within {} km: {}",
        b.days, b.buffer_km, b.recent_incidents
    );
    for i in b.incidents.iter().take(20) {
        println!(
            "  {} km {:>6.1} ({:>4.1} km off)  {:<34} {} killed  {}",
            i.event_date, i.at_km, i.distance_km, i.sub_event_type, i.fatalities, i.location
        );
    }
    println!(
        "
Along the route (last {} days vs the {} before):",
        b.days, b.days
    );
    for s in &b.trend.sections {
        println!(
            "  km {:>6.1}-{:<6.1} {:>3} vs {:>3}  {:<4}  max risk {:.3}",
            s.from_km, s.to_km, s.recent, s.previous, s.direction, s.max_risk
        );
    }
    let months: Vec<String> = b
        .trend
        .monthly
        .iter()
        .map(|m| format!("{} {}", &m.month[2..], m.incidents))
        .collect();
    println!(
        "
Monthly: {}",
        months.join(" | ")
    );
    if !b.alternatives.is_empty() {
        println!(
            "
Routes planned now:"
        );
        for a in &b.alternatives {
            println!(
                "  {:<12} {:>7.1} km  {:>6}  exposure {:>8.3}  {:+.0} min  {:.0}% on the saved roads",
                a.route.label,
                a.route.distance_km,
                hms(a.route.duration_s),
                a.route.exposure,
                a.route.extra_minutes,
                a.shared_pct
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
