//! The analytics commands: trend, change, hotspots, approach, brief. They
//! build the same parameters as the API and go through the same validation.

use crate::cli::{AnalysisArgs, ApproachArgs, BriefArgs, ChangeArgs, HotspotArgs, TrendArgs};
use crate::config::Config;
use anyhow::{Context, Result, bail};
use sahelwatch_analytics::chart::{self, ChartKind};
use sahelwatch_app::analytics::{AnalyticsQuery, RawAnalyticsQuery};
use sahelwatch_app::{App, AppError};
use sahelwatch_core::Viewer;
use std::path::Path;
use std::process::ExitCode;

fn raw(a: &AnalysisArgs) -> Result<RawAnalyticsQuery> {
    let polygon = match &a.polygon {
        None => None,
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("--polygon: cannot read {}", p.display()))?,
        ),
    };
    let c = &a.common;
    Ok(RawAnalyticsQuery {
        region: a.region.clone(),
        country: c.country.clone(),
        admin1: c.admin1.clone(),
        bbox: c.bbox.clone(),
        polygon,
        event_type: c.event_type.clone(),
        sub_event_type: c.sub_event_type.clone(),
        actor: c.actor.clone(),
        dataset: c.dataset.clone(),
        from: c.from.clone(),
        to: c.to.clone(),
        ..Default::default()
    })
}

/// Parameter errors as flags: `--as-of '2024-13-01': is not a date`.
pub(crate) fn flag_errors(e: AppError) -> anyhow::Error {
    match e {
        AppError::BadRequest(errs) => anyhow::anyhow!(
            "{}",
            errs.iter()
                .map(|e| format!(
                    "--{} '{}': {}",
                    e.parameter.replace('_', "-"),
                    e.value,
                    e.message
                ))
                .collect::<Vec<_>>()
                .join("\n       ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn query(
    config: &Config,
    raw: &RawAnalyticsQuery,
) -> Result<(std::sync::Arc<App>, AnalyticsQuery)> {
    let app = crate::open(config).await?;
    let q = app.analytics_query(raw).await.map_err(flag_errors)?;
    Ok((app, q))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

pub async fn trend(args: TrendArgs, config: Config) -> Result<ExitCode> {
    let mut r = raw(&args.area)?;
    r.period = args.period.clone();
    let kind = match args.chart.as_str() {
        "line" => ChartKind::Line,
        "bar" => ChartKind::Bar,
        other => bail!("--chart '{other}': must be line or bar"),
    };
    let (app, q) = query(&config, &r).await?;
    let t = app
        .trend(&Viewer::Local, &q, "cli:trend")
        .await
        .map_err(flag_errors)?;
    if let Some(p) = &args.png {
        write_file(p, &chart::png(&t.chart(kind))?)?;
        eprintln!("chart written to {}", p.display());
    }
    if let Some(p) = &args.svg {
        write_file(p, chart::svg(&t.chart(kind)).as_bytes())?;
        eprintln!("chart written to {}", p.display());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&t)?);
    } else if args.csv {
        print!("{}", t.csv());
    } else {
        println!("{} per {}, {}", t.subject, t.period.name(), t.area.words);
        println!(
            "{:<12}  {:>8}  {:>10}",
            t.period.name(),
            "count",
            "fatalities"
        );
        for b in &t.buckets {
            println!("{:<12}  {:>8}  {:>10}", b.label, b.count, b.fatalities);
        }
        println!(
            "total: {} incidents, {} fatalities",
            t.total.count, t.total.fatalities
        );
        println!("{}", t.caption);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn change(args: ChangeArgs, config: Config) -> Result<ExitCode> {
    let mut r = raw(&args.area)?;
    r.compare = Some(args.compare.clone());
    r.as_of = args.as_of.clone();
    let (app, q) = query(&config, &r).await?;
    let c = app
        .change(&Viewer::Local, &q, today(), "cli:change")
        .await
        .map_err(flag_errors)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        for (span, t) in [
            (&c.current, c.current_totals),
            (&c.previous, c.previous_totals),
        ] {
            println!(
                "{}: {} incident{}, {} fatalities",
                span.label,
                t.count,
                if t.count == 1 { "" } else { "s" },
                t.fatalities
            );
        }
        match (c.percent, c.band) {
            (Some(p), Some(b)) => println!("change: {p:+.1}% ({})", b.words()),
            _ => println!("change: no percentage (no incidents in the earlier span)"),
        }
        println!("{}", c.statement);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn hotspots(args: HotspotArgs, config: Config) -> Result<ExitCode> {
    let mut r = raw(&args.area)?;
    r.resolution = args.resolution.clone();
    r.period = args.period.clone();
    let (app, q) = query(&config, &r).await?;
    let h = app
        .hotspots(&Viewer::Local, &q, "cli:hotspots")
        .await
        .map_err(flag_errors)?;
    let json = serde_json::to_vec_pretty(&h)?;
    let hot = h
        .features
        .iter()
        .filter(|f| f["properties"]["bin"].as_i64().unwrap_or(0) > 0)
        .count();
    match &args.out {
        Some(p) => {
            write_file(p, &json)?;
            eprintln!(
                "{} cells in the grid (resolution {}), {} incidents, {} significant hot cells; {} features written to {}",
                h.grid_cells,
                h.resolution,
                h.incidents,
                hot,
                h.features.len(),
                p.display()
            );
        }
        None => println!("{}", String::from_utf8_lossy(&json)),
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn approach(args: ApproachArgs, config: Config) -> Result<ExitCode> {
    let mut r = raw(&args.area)?;
    r.place = Some(args.place.clone());
    let (app, q) = query(&config, &r).await?;
    let out = app
        .approach(&Viewer::Local, &q, "cli:approach")
        .await
        .map_err(flag_errors)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    for a in &out {
        println!(
            "{} ({:.4}, {:.4})",
            a.place.name, a.place.latitude, a.place.longitude
        );
        println!(
            "{:<8}  {:>6}  {:>12}  {:>11}",
            "month", "events", "nearest km", "median km"
        );
        let km = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        for m in &a.approach.months {
            println!(
                "{:<8}  {:>6}  {:>12}  {:>11}",
                m.month,
                m.count,
                km(m.min_km),
                km(m.median_km)
            );
        }
        println!("{}\n", a.statement);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn brief(args: BriefArgs, config: Config) -> Result<ExitCode> {
    let mut r = raw(&args.area)?;
    r.place = args.place.clone();
    r.resolution = args.resolution.clone();
    let (app, q) = query(&config, &r).await?;
    let b = app
        .brief(&Viewer::Local, &q, today(), "cli:brief")
        .await
        .map_err(flag_errors)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&b)?);
        return Ok(ExitCode::SUCCESS);
    }
    match &args.out {
        Some(path) => {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "brief".into());
            let dir = path.parent().unwrap_or(Path::new("."));
            let trend_png = format!("{stem}-trend.png");
            let types_png = format!("{stem}-types.png");
            write_file(
                &dir.join(&trend_png),
                &chart::png(&b.trend.chart(ChartKind::Line))?,
            )?;
            write_file(&dir.join(&types_png), &chart::png(&b.types_chart())?)?;
            write_file(path, b.markdown((&trend_png, &types_png)).as_bytes())?;
            eprintln!(
                "brief written to {} (charts {trend_png}, {types_png})",
                path.display()
            );
        }
        // On standard output there is nowhere to put PNG files: the charts
        // are inlined as SVG data URIs.
        None => print!("{}", b.markdown_inline()),
    }
    Ok(ExitCode::SUCCESS)
}
