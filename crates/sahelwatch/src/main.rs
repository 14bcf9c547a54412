//! The `sahelwatch` binary: parses the command line, resolves the
//! configuration, and runs one subcommand.

mod analytics;
mod cli;
mod config;
mod progress;
mod roads;
mod simulate;

use anyhow::{Context, Result, bail};
use clap::{CommandFactory, FromArgMatches, parser::ValueSource};
use cli::{Cli, Command, ExportKind, FilterArgs, ImportWhat, ListFormat, SynthWhat};
use config::{Config, LowArgs, Raw, Source};
use sahelwatch_app::{
    App, AppError, ExportFormat, ImportOptions, ImportReport, IncidentQuery, RawIncidentQuery,
};
use sahelwatch_core::{CountryCode, PlaceQuery, Viewer};
use sahelwatch_ingest::IncidentFormat;
use sahelwatch_query::GroupKey;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// mimalloc instead of the system allocator: imports allocate many small
/// strings on one thread and free them on another, where glibc's malloc spent
/// over a quarter of the import time (measured with perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let low = low_args(&cli, &matches);
    let config = match Config::resolve(&low) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where clap found each global value: the command line or the environment.
fn low_args(cli: &Cli, m: &clap::ArgMatches) -> LowArgs {
    fn source(m: &clap::ArgMatches, id: &str, env: &'static str, flag: &'static str) -> Source {
        let src = m
            .value_source(id)
            .or_else(|| m.subcommand().and_then(|(_, sub)| sub.value_source(id)));
        match src {
            Some(ValueSource::EnvVariable) => Source::Env(env),
            _ => Source::Flag(flag),
        }
    }
    let raw = |v: &Option<String>, id: &str, env: &'static str, flag: &'static str| {
        v.as_ref().map(|value| Raw {
            value: value.clone(),
            source: source(m, id, env, flag),
        })
    };
    let mut low = LowArgs {
        config: cli.config.clone(),
        database: raw(&cli.database, "database", "SAHELWATCH_DATABASE", "database"),
        log: raw(&cli.log, "log", "SAHELWATCH_LOG", "log"),
        organisation: raw(
            &cli.organisation,
            "organisation",
            "SAHELWATCH_ORGANISATION",
            "organisation",
        ),
        ..Default::default()
    };
    if let Command::Serve(s) = &cli.command {
        let sub = m.subcommand().map(|(_, sub)| sub);
        low.listen = s.listen.as_ref().map(|value| Raw {
            value: value.clone(),
            source: match sub.and_then(|sub| sub.value_source("listen")) {
                Some(ValueSource::EnvVariable) => Source::Env("SAHELWATCH_LISTEN"),
                _ => Source::Flag("listen"),
            },
        });
        low.osmand_listen = s.osmand_listen.as_ref().map(|value| Raw {
            value: value.clone(),
            source: match sub.and_then(|sub| sub.value_source("osmand_listen")) {
                Some(ValueSource::EnvVariable) => Source::Env("SAHELWATCH_OSMAND_LISTEN"),
                _ => Source::Flag("osmand-listen"),
            },
        });
        low.mqtt = s.mqtt.as_ref().map(|value| Raw {
            value: value.clone(),
            source: match sub.and_then(|sub| sub.value_source("mqtt")) {
                Some(ValueSource::EnvVariable) => Source::Env("SAHELWATCH_MQTT"),
                _ => Source::Flag("mqtt"),
            },
        });
        let env_bool = |name: &'static str| -> Option<Raw<bool>> {
            std::env::var(name).ok().map(|v| Raw {
                value: matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "true" | "1" | "yes" | "on"
                ),
                source: Source::Env(name),
            })
        };
        low.public_api = env_bool("SAHELWATCH_PUBLIC_API");
        low.secure_cookies = env_bool("SAHELWATCH_SECURE_COOKIES");
        low.trust_forwarded_for = env_bool("SAHELWATCH_TRUST_FORWARDED_FOR");
        if s.no_starter_data {
            low.starter_data = Some(Raw {
                value: false,
                source: Source::Flag("no-starter-data"),
            });
        } else if let Ok(v) = std::env::var("SAHELWATCH_STARTER_DATA") {
            let value = !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "false" | "0" | "no" | "off"
            );
            low.starter_data = Some(Raw {
                value,
                source: Source::Env("SAHELWATCH_STARTER_DATA"),
            });
        }
    }
    low
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

async fn open(config: &Config) -> Result<Arc<App>> {
    let store = sahelwatch_store::open(&config.database)
        .await
        .with_context(|| format!("cannot open the database {}", describe_db(&config.database)))?;
    let mut app = App::new(store);
    if let Some(extra) = &config.extra_actors {
        app = app.with_actors(sahelwatch_app::reports::ActorDictionary::with_extra(extra)?);
    }
    Ok(Arc::new(app))
}

fn describe_db(location: &str) -> String {
    if location.starts_with("postgres") {
        sahelwatch_store::postgres::redact(location)
    } else {
        location.to_string()
    }
}

async fn run(command: Command, config: Config) -> Result<ExitCode> {
    match command {
        Command::Serve(_) => serve(config).await,
        Command::Migrate => {
            let app = open(&config).await?;
            let stats = app.store().stats().await?;
            println!(
                "{} is up to date ({} incidents, {} places, {} organisations)",
                app.store().describe(),
                stats.incidents,
                stats.places,
                stats.organisations
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(cmd) => import(cmd.what, config).await,
        Command::Incidents(args) => incidents(args, config).await,
        Command::Counts(args) => counts(args, config).await,
        Command::Places(args) => places(args, config).await,
        Command::Export(args) => export(args, config).await,
        Command::Imports(args) => imports(args, config).await,
        Command::Synth(cmd) => synth(cmd.what),
        Command::Admin(cmd) => admin(cmd.what, config).await,
        Command::Audit(cmd) => audit(cmd.what, config).await,
        Command::Trend(args) => analytics::trend(args, config).await,
        Command::Change(args) => analytics::change(args, config).await,
        Command::Hotspots(args) => analytics::hotspots(args, config).await,
        Command::Approach(args) => analytics::approach(args, config).await,
        Command::Brief(args) => analytics::brief(args, config).await,
        Command::Roads => roads::list(config).await,
        Command::Route(args) => roads::route(args, config).await,
        Command::Corridor(args) => roads::corridor(args, config).await,
        Command::Simulate(args) => simulate::run(args).await,
        Command::Report(cmd) => match cmd.what {
            cli::ReportWhat::Extract(args) => report_extract(args, config).await,
            cli::ReportWhat::Add(args) => report_add(args, config).await,
        },
    }
}

async fn serve(config: Config) -> Result<ExitCode> {
    let app = open(&config).await?;
    println!(
        "sahelwatch {} — database: {}",
        env!("CARGO_PKG_VERSION"),
        app.store().describe()
    );
    if config.starter_data && app.is_empty().await? {
        println!(
            "New database: loading the bundled starter data (UCDP GED sample, GeoNames gazetteer of the region)..."
        );
        let org = app.ensure_org(&config.organisation).await?;
        let report = app
            .load_starter_data(org.id, Arc::new(progress::Bar::new("starter data")))
            .await?;
        for r in &report.reports {
            println!("  {}", r.summary());
        }
        if let Some((_, password)) = app.create_demo_user(&org).await? {
            println!(
                "Demo sign-in for the browser (an analyst of organisation {}; the password is shown once):",
                org.name
            );
            println!("  username: demo   password: {password}");
        }
    }
    let stats = app.store().stats().await?;
    // Build the in-memory views now, so the first request does not pay for it.
    let started = std::time::Instant::now();
    let snap = app.snapshot().await?;
    let gaz = app.gazetteer().await?;
    println!(
        "Loaded {} incidents and {} places in {:.2}s (data: UCDP GED CC BY 4.0; GeoNames CC BY 4.0).",
        snap.len(),
        gaz.len(),
        started.elapsed().as_secs_f64()
    );
    if stats.incidents as usize != snap.len() {
        tracing::warn!(
            stored = stats.incidents,
            indexed = snap.len(),
            "index and store disagree"
        );
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    println!("Listening on http://{addr}");
    println!("  Browser:  http://{addr}/");
    println!("  API doc:  curl http://{addr}/api/v1/openapi.json");
    let auth = if config.public_api {
        ""
    } else {
        "-H \"Authorization: Bearer $TOKEN\" "
    };
    println!("  Try:      curl {auth}'http://{addr}/api/v1/incidents?country=ML,BF,NE&limit=5'");
    println!("            curl {auth}'http://{addr}/api/v1/places?q=tera'");
    println!("  TAXII:    http://{addr}/taxii2/   Live stream: http://{addr}/api/v1/stream");
    if config.public_api {
        println!("Public API on: unauthenticated callers see TLP:CLEAR incidents.");
    } else if !app.store().users(None).await?.iter().any(|u| u.superadmin) {
        println!("API callers must authenticate (public API off). First admin and token:");
        println!("  sahelwatch admin bootstrap --org 'My organisation' --username admin");
    } else {
        println!("API callers must authenticate (public API off). A token for a user:");
        println!("  sahelwatch admin token --username NAME");
    }
    app.set_webhooks_allow_private(config.webhooks_allow_private);
    app.start_tracking(Default::default()).await?;
    let state = sahelwatch_server::AppState {
        app,
        public_api: config.public_api,
        secure_cookies: config.secure_cookies,
        trust_forwarded_for: config.trust_forwarded_for,
    };
    if let Some(osmand) = config.osmand_listen {
        let l = tokio::net::TcpListener::bind(osmand)
            .await
            .with_context(|| {
                format!("cannot listen on {osmand} for OsmAnd trackers (osmand_listen)")
            })?;
        println!(
            "  Trackers: OsmAnd protocol on http://{}/?id=DEVICE&key=SECRET&lat=..&lon=..",
            l.local_addr()?
        );
        let osmand_state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = sahelwatch_server::serve_osmand(l, osmand_state).await {
                tracing::error!(error = %e, "OsmAnd listener stopped");
            }
        });
    }
    if let Some(m) = config.mqtt.clone() {
        println!(
            "  Trackers: MQTT {}:{}, topics {}/devices/DEVICE/position",
            m.host, m.port, m.prefix
        );
        tokio::spawn(sahelwatch_server::mqtt::run(state.clone(), m));
    }
    println!("Stop with Ctrl-C.");
    sahelwatch_server::serve(listener, state, shutdown_signal()).await?;
    println!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Open a file for import, or standard input for `-`, decompressing gzip
/// transparently. Returns the reader, its size when known (for the progress
/// bar; unknown for compressed input) and a name for messages.
fn open_input(path: &Path) -> Result<(Box<dyn Read + Send>, Option<u64>, String)> {
    let (raw, size, name): (Box<dyn Read + Send>, Option<u64>, String) = if path.as_os_str() == "-"
    {
        (Box::new(std::io::stdin()), None, "stdin".into())
    } else {
        let f =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size, path.display().to_string())
    };
    let mut buffered = std::io::BufReader::with_capacity(1 << 16, raw);
    let magic = {
        use std::io::BufRead;
        let head = buffered
            .fill_buf()
            .with_context(|| format!("cannot read {name}"))?;
        head.starts_with(&[0x1f, 0x8b])
    };
    if magic {
        Ok((
            Box::new(flate2::bufread::GzDecoder::new(buffered)),
            None,
            name,
        ))
    } else {
        Ok((Box::new(buffered), size, name))
    }
}

fn print_report(r: &ImportReport, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
        return;
    }
    println!("{}", r.summary());
    const SHOWN: usize = 20;
    for issue in r.refused.iter().take(SHOWN) {
        println!("  refused: {issue}");
    }
    if r.refused.len() > SHOWN {
        println!(
            "  ... and {} more refused rows (use --report FILE to write them all)",
            r.refused.len() - SHOWN
        );
    }
}

async fn import(what: ImportWhat, config: Config) -> Result<ExitCode> {
    let app = open(&config).await?;
    match what {
        ImportWhat::Acled(args) => {
            import_incidents(&app, &config, IncidentFormat::Acled, args).await
        }
        ImportWhat::Ucdp(args) => import_incidents(&app, &config, IncidentFormat::Ucdp, args).await,
        ImportWhat::Gazetteer(args) => {
            let mut ok = true;
            for file in &args.files {
                let (reader, size, name) = open_input(file)?;
                let r = app
                    .import_gazetteer(
                        &name,
                        reader,
                        size,
                        args.strict,
                        Arc::new(progress::Bar::new("gazetteer")),
                    )
                    .await
                    .map_err(user_error)?;
                ok &= r.outcome.committed;
                print_report(&r, args.json);
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        ImportWhat::Stix(args) => {
            let org = app
                .ensure_org(args.org.as_deref().unwrap_or(&config.organisation))
                .await?;
            let (mut reader, _, name) = open_input(&args.file)?;
            let mut text = String::new();
            reader
                .read_to_string(&mut text)
                .with_context(|| format!("cannot read {name}"))?;
            let doc: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{name}: not JSON: {e}"))?;
            let r = app
                .import_stix_as(org.id, None, &doc, &name)
                .await
                .map_err(user_error)?;
            println!(
                "{name}: {} incidents read from STIX: {} inserted, {} updated, {} unchanged",
                r.incidents, r.inserted, r.updated, r.unchanged
            );
            Ok(ExitCode::SUCCESS)
        }
        ImportWhat::Roads(args) => roads::import(&app, args).await,
        ImportWhat::Starter => {
            let org = app.ensure_org(&config.organisation).await?;
            let report = app
                .load_starter_data(org.id, Arc::new(progress::Bar::new("starter data")))
                .await?;
            for r in &report.reports {
                println!("{}", r.summary());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn user_error(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

async fn import_incidents(
    app: &App,
    config: &Config,
    format: IncidentFormat,
    args: cli::IncidentImportArgs,
) -> Result<ExitCode> {
    let tlp = App::parse_tlp(&args.tlp).map_err(user_error)?;
    let org = app
        .ensure_org(args.org.as_deref().unwrap_or(&config.organisation))
        .await
        .map_err(user_error)?;
    let (reader, size, name) = open_input(&args.file)?;
    let coarsen: sahelwatch_core::Coarsen = args
        .coarsen
        .parse()
        .map_err(|m: String| anyhow::anyhow!("--coarsen: {m}"))?;
    let marking = sahelwatch_core::Marking {
        coarsen,
        ..sahelwatch_core::Marking::new(org.id, tlp)
    };
    let opts = ImportOptions {
        marking,
        strict: args.strict,
    };
    let label = match format {
        IncidentFormat::Acled => "ACLED",
        IncidentFormat::Ucdp => "UCDP",
    };
    let r = app
        .import_incidents(
            format,
            &name,
            reader,
            size,
            &opts,
            Arc::new(progress::Bar::new(label)),
        )
        .await
        .map_err(user_error)?;
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_vec_pretty(&r)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    print_report(&r, args.json);
    Ok(if r.outcome.committed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn raw_query(f: &FilterArgs) -> RawIncidentQuery {
    RawIncidentQuery {
        bbox: f.common.bbox.clone(),
        near: f.near.clone(),
        radius_km: f.radius_km.clone(),
        from: f.common.from.clone(),
        to: f.common.to.clone(),
        country: f.common.country.clone(),
        admin1: f.common.admin1.clone(),
        event_type: f.common.event_type.clone(),
        sub_event_type: f.common.sub_event_type.clone(),
        actor: f.common.actor.clone(),
        min_fatalities: f.min_fatalities.clone(),
        q: f.text.clone(),
        dataset: f.common.dataset.clone(),
        ..Default::default()
    }
}

async fn resolve(app: &App, raw: &RawIncidentQuery) -> Result<IncidentQuery> {
    let gaz = app.gazetteer().await?;
    raw.resolve(&gaz).map_err(|errs| {
        anyhow::anyhow!(
            "{}",
            errs.iter()
                .map(|e| format!(
                    "--{} '{}': {}",
                    e.parameter.replace('_', "-").replace("q", "text"),
                    e.value,
                    e.message
                ))
                .collect::<Vec<_>>()
                .join("\n       ")
        )
    })
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

async fn incidents(args: cli::IncidentArgs, config: Config) -> Result<ExitCode> {
    let app = open(&config).await?;
    let mut raw = raw_query(&args.filter);
    raw.sort = args.sort.clone();
    raw.limit = Some(args.limit.clone());
    raw.cursor = args.cursor.clone();
    raw.count = args.count.then(|| "true".into());
    let q = resolve(&app, &raw).await?;
    if let Some(p) = &q.near_place {
        eprintln!(
            "near: {} ({:.4}, {:.4}), {} km",
            p.name,
            p.latitude,
            p.longitude,
            q.filter.near.map(|n| n.radius_km).unwrap_or_default()
        );
    }
    let page = app
        .search(&Viewer::Local, &q, "cli:incidents")
        .await
        .map_err(user_error)?;
    match args.format {
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(&page)?),
        ListFormat::Geojson => {
            let features: Vec<_> = page
                .items
                .iter()
                .map(sahelwatch_app::geojson_feature)
                .collect();
            let mut fc = serde_json::json!({"type": "FeatureCollection", "features": features});
            if let Some(c) = &page.next_cursor {
                fc["next_cursor"] = c.clone().into();
            }
            println!("{}", serde_json::to_string_pretty(&fc)?);
        }
        ListFormat::Table => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<10}  {:<2}  {:<32}  {:<36}  {:>5}  {:<18}  id",
                "date", "cc", "type", "actors", "dead", "place"
            )?;
            for v in &page.items {
                let d = &v.data;
                let actors = d.actors.names().take(2).collect::<Vec<_>>().join(" / ");
                let place = d
                    .location
                    .place
                    .clone()
                    .or(d.location.admin1.clone())
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{:<10}  {:<2}  {:<32}  {:<36}  {:>5}  {:<18}  {}",
                    d.event_date,
                    d.location.country,
                    clip(d.sub_event_type.label(), 32),
                    clip(&actors, 36),
                    d.fatalities.best,
                    clip(&place, 18),
                    v.id
                )?;
            }
            if let Some(t) = page.total {
                writeln!(out, "{t} incidents match.")?;
            }
            if let Some(c) = &page.next_cursor {
                writeln!(out, "More: add --cursor {c}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn counts(args: cli::CountArgs, config: Config) -> Result<ExitCode> {
    let app = open(&config).await?;
    let q = resolve(&app, &raw_query(&args.filter)).await?;
    let mut by = Vec::new();
    for k in args
        .by
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        let key = GroupKey::parse(k).map_err(|m| anyhow::anyhow!("--by '{k}': {m}"))?;
        if !by.contains(&key) {
            by.push(key);
        }
    }
    if by.len() > 4 {
        bail!("--by takes at most 4 keys");
    }
    let agg = app
        .aggregate(&Viewer::Local, &q, &by, "cli:counts")
        .await
        .map_err(user_error)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&agg)?);
    } else {
        let names: Vec<String> = by.iter().map(|k| format!("{k:?}").to_lowercase()).collect();
        if !by.is_empty() {
            println!("{}  {:>8}  {:>10}", names.join("  "), "count", "fatalities");
            for g in &agg.groups {
                println!(
                    "{}  {:>8}  {:>10}",
                    g.keys.join("  "),
                    g.count,
                    g.fatalities
                );
            }
        }
        println!(
            "total: {} incidents, {} fatalities",
            agg.count, agg.fatalities
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn places(args: cli::PlaceArgs, config: Config) -> Result<ExitCode> {
    let app = open(&config).await?;
    let country = match &args.country {
        None => None,
        Some(c) => Some(
            CountryCode::parse(c)
                .ok_or_else(|| anyhow::anyhow!("--country '{c}' is not a known country"))?,
        ),
    };
    let gaz = app.gazetteer().await?;
    let hits = gaz.search(&PlaceQuery {
        q: args.query.clone(),
        country,
        feature_class: None,
        limit: args.limit.clamp(1, 100),
    });
    let views: Vec<sahelwatch_app::PlaceView> =
        hits.iter().map(sahelwatch_app::PlaceView::from).collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&views)?);
    } else {
        for v in &views {
            println!(
                "{:<10} {:<40} {:>9.5} {:>10.5}  {} {:<5}  pop {}",
                v.id,
                clip(&v.display_name, 40),
                v.latitude,
                v.longitude,
                v.feature_class,
                v.feature_code,
                v.population
            );
        }
        if views.is_empty() {
            println!("no place matches '{}'", args.query);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The bytes of a file argument, or of standard input for `-`.
fn read_input(file: &str) -> Result<Vec<u8>> {
    if file == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)?;
        Ok(b)
    } else {
        std::fs::read(file).with_context(|| format!("cannot read {file}"))
    }
}

async fn report_add(args: cli::ReportAddArgs, config: Config) -> Result<ExitCode> {
    let bytes = read_input(&args.file)?;
    let text = match sahelwatch_app::reports::text_of(
        &bytes,
        sahelwatch_app::reports::DEFAULT_MAX_BYTES,
    ) {
        Ok(t) => t.to_string(),
        Err(e) => {
            eprintln!("{}: {e}; nothing was stored", args.file);
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut errors = Vec::new();
    let published = chrono::NaiveDate::parse_from_str(&args.published, "%Y-%m-%d")
        .map_err(|_| {
            errors.push(format!(
                "--published '{}': expected YYYY-MM-DD",
                args.published
            ))
        })
        .ok();
    let reliability = args
        .reliability
        .parse::<sahelwatch_core::Reliability>()
        .map_err(|e| errors.push(format!("--reliability: {e}")))
        .ok();
    let credibility = args
        .credibility
        .parse::<sahelwatch_core::Credibility>()
        .map_err(|e| errors.push(format!("--credibility: {e}")))
        .ok();
    let tlp = App::parse_tlp(&args.tlp)
        .map_err(|e| errors.push(format!("--tlp: {e}")))
        .ok();
    let (Some(published), Some(reliability), Some(credibility), Some(tlp), true) =
        (published, reliability, credibility, tlp, errors.is_empty())
    else {
        bail!("{}", errors.join("\n"));
    };
    let app = open(&config).await?;
    let org = app
        .ensure_org(args.org.as_deref().unwrap_or(&config.organisation))
        .await?;
    let input = sahelwatch_app::fusion::NewReport {
        source: args.source,
        title: args.title,
        published,
        lang: args.lang,
        reliability,
        credibility,
        text: Some(text),
        claims: None,
        marking: sahelwatch_app::MarkingInput {
            tlp,
            sharing_group: None,
            recipients: vec![],
            coarsen: Default::default(),
        },
    };
    let filed = match app.file_report_local(org.id, input).await {
        Ok(f) => f,
        Err(err) => {
            eprintln!("{}: {err}; nothing was stored", args.file);
            return Ok(ExitCode::FAILURE);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&filed)?);
        return Ok(ExitCode::SUCCESS);
    }
    let r = &filed.report;
    let c = &r.claims;
    println!(
        "report {} filed for {} (TLP:{}, {}{})",
        r.id,
        org.name,
        r.tlp,
        r.reliability,
        r.credibility.get()
    );
    println!(
        "  date: {}   type: {}   place: {}",
        c.event_date.map_or("-".to_string(), |d| d.to_string()),
        c.sub_event_type.map_or("-", |t| t.label()),
        c.place.as_ref().map_or("unlocated", |p| p.name.as_str()),
    );
    if let Some(p) = &c.perpetrator {
        println!("  perpetrator: {p}");
    }
    if let Some(f) = c.fatalities {
        println!("  fatalities: {f}");
    }
    if let Some(h) = c.hostages {
        println!(
            "  hostages: {h} {} {}",
            c.hostage_nationality.as_deref().unwrap_or("-"),
            c.hostage_occupation.as_deref().unwrap_or("-")
        );
    }
    if let Some(s) = c.case_step {
        println!("  kidnap case step: {}", s.label());
    }
    if filed.candidates.is_empty() {
        println!("No candidate incident.");
    } else {
        println!("Candidate incidents (score: time x place x kind x actor):");
        for k in &filed.candidates {
            let d = &k.incident.data;
            println!(
                "  {:.2}  {}  {}  {}  {}  ({} days apart{})",
                k.score.score,
                k.incident.id,
                d.event_date,
                d.sub_event_type.label(),
                d.location.place.as_deref().unwrap_or("-"),
                k.score.days_apart,
                k.score
                    .distance_km
                    .map_or(String::new(), |km| format!(", {km} km"))
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn report_extract(args: cli::ReportExtractArgs, config: Config) -> Result<ExitCode> {
    let bytes = read_input(&args.file)?;
    let Ok(published) = chrono::NaiveDate::parse_from_str(&args.published, "%Y-%m-%d") else {
        bail!("--published '{}': expected YYYY-MM-DD", args.published);
    };
    let app = open(&config).await?;
    let e = match app
        .extract_text(&bytes, published, args.lang.as_deref())
        .await
    {
        Ok(e) => e,
        Err(err) => {
            eprintln!("{}: {err}", args.file);
            return Ok(ExitCode::FAILURE);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(ExitCode::SUCCESS);
    }
    let conf = |c: f32| format!("{:.0}%", c * 100.0);
    println!(
        "language: {}{}",
        e.lang,
        if e.lang_detected { " (detected)" } else { "" }
    );
    match e.event_date.map(|i| &e.dates[i]) {
        Some(d) => println!(
            "event date: {} (precision {}, \"{}\", {})",
            d.value.date,
            d.value.precision.get(),
            d.span.text,
            conf(d.confidence)
        ),
        None => println!("event date: none found"),
    }
    if let Some(ev) = &e.events.event {
        println!(
            "event: {} / {} (\"{}\", {})",
            ev.value.sub_event_type.event_type().label(),
            ev.value.sub_event_type.label(),
            ev.span.text,
            conf(ev.confidence)
        );
    }
    if let Some(n) = e.events.fatalities {
        let spans: Vec<&str> = e
            .events
            .deaths
            .iter()
            .map(|d| d.span.text.as_str())
            .collect();
        println!("fatalities: {n} ({})", spans.join("; "));
    }
    if let Some(h) = &e.events.hostages {
        println!(
            "hostages: {} {} {} (\"{}\")",
            h.value.count.map_or("?".to_string(), |c| c.to_string()),
            h.value.nationality.as_deref().unwrap_or("-"),
            h.value.occupation.as_deref().unwrap_or("-"),
            h.span.text
        );
    }
    for a in &e.actors {
        println!(
            "actor: {} (\"{}\", {})",
            a.value.name,
            a.span.text,
            conf(a.confidence)
        );
    }
    for p in &e.places.places {
        println!(
            "place: {} ({:.5}, {:.5}) (\"{}\", {}, {} candidate(s): {})",
            p.value.place.display,
            p.value.place.latitude,
            p.value.place.longitude,
            p.span.text,
            conf(p.confidence),
            p.value.candidates,
            p.value.reason
        );
    }
    for s in &e.places.segments {
        println!(
            "road segment: {} -> {} (\"{}\")",
            s.value.from.display, s.value.to.display, s.span.text
        );
    }
    if e.unlocated {
        println!("unlocated: no place of the gazetteer was found in the text");
    }
    Ok(ExitCode::SUCCESS)
}

async fn export(args: cli::ExportArgs, config: Config) -> Result<ExitCode> {
    let app = open(&config).await?;
    let q = resolve(&app, &raw_query(&args.filter)).await?;
    let format = match args.format {
        ExportKind::Csv => ExportFormat::AcledCsv,
        ExportKind::Geojson => ExportFormat::GeoJson,
        ExportKind::Stix => ExportFormat::Stix,
    };
    let n = match &args.out {
        Some(path) => {
            // Write to a temporary name and rename at the end: a failed export
            // never leaves a truncated file under the requested name.
            let tmp = path.with_extension(format!("{}.partial", format.extension()));
            let file = std::fs::File::create(&tmp)
                .with_context(|| format!("cannot create {}", tmp.display()))?;
            let n = app
                .export(
                    &Viewer::Local,
                    &q,
                    format,
                    std::io::BufWriter::new(file),
                    "cli:export",
                )
                .await;
            match n {
                Ok(n) => {
                    std::fs::rename(&tmp, path)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    n
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(user_error(e));
                }
            }
        }
        None => app
            .export(
                &Viewer::Local,
                &q,
                format,
                std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()),
                "cli:export",
            )
            .await
            .map_err(user_error)?,
    };
    if args.out.is_some() || !std::io::stdout().is_terminal() {
        eprintln!("exported {n} incidents");
    }
    Ok(ExitCode::SUCCESS)
}

async fn imports(args: cli::ImportsArgs, config: Config) -> Result<ExitCode> {
    let app = open(&config).await?;
    let log = app.store().imports(args.limit).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&log)?);
        return Ok(ExitCode::SUCCESS);
    }
    for r in &log {
        println!(
            "#{:<4} {}  {:<9} {:<40} read {:>8}  +{} ~{} ={} refused {}",
            r.id,
            r.finished_at.format("%Y-%m-%d %H:%M:%S"),
            r.kind,
            clip(&r.source, 40),
            r.rows_read,
            r.inserted,
            r.updated,
            r.unchanged,
            r.refused
        );
    }
    if log.is_empty() {
        println!("no imports yet");
    }
    Ok(ExitCode::SUCCESS)
}

fn synth(what: SynthWhat) -> Result<ExitCode> {
    match what {
        SynthWhat::Acled { rows, seed, out } => {
            let started = std::time::Instant::now();
            let file = std::fs::File::create(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            sahelwatch_ingest::synthetic::write_csv(
                std::io::BufWriter::with_capacity(1 << 20, file),
                seed,
                rows,
            )
            .with_context(|| format!("cannot write {}", out.display()))?;
            println!(
                "wrote {rows} SYNTHETIC incidents (seed {seed}, ACLED current layout) to {} in {:.1}s",
                out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn admin(what: cli::AdminWhat, config: Config) -> Result<ExitCode> {
    let app = open(&config).await?;
    match what {
        cli::AdminWhat::Bootstrap {
            org,
            username,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("cannot read the password")?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let (org, user, token) = app
                .bootstrap(&org, &username, password.as_deref())
                .await
                .map_err(user_error)?;
            println!("organisation: {} ({})", org.name, org.uid);
            println!(
                "admin user:   {} ({}), deployment administrator",
                user.username, user.uid
            );
            println!(
                "API token (shown once; expires {}):",
                token.info.expires_at.format("%Y-%m-%d")
            );
            println!("{}", token.token);
            Ok(ExitCode::SUCCESS)
        }
        cli::AdminWhat::Token {
            username,
            name,
            days,
        } => {
            let (user, _) = app
                .store()
                .user_by_username(&username.to_lowercase())
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user named '{username}'"))?;
            let token = app
                .issue_token(&user, &name, days)
                .await
                .map_err(user_error)?;
            println!(
                "API token for {} (shown once; expires {}):",
                user.username,
                token.info.expires_at.format("%Y-%m-%d")
            );
            println!("{}", token.token);
            Ok(ExitCode::SUCCESS)
        }
        cli::AdminWhat::Users => {
            let orgs: std::collections::HashMap<_, _> = app
                .store()
                .orgs()
                .await?
                .into_iter()
                .map(|o| (o.id, o.name))
                .collect();
            for u in app.store().users(None).await? {
                println!(
                    "{:<24} {:<9} {:<30} {}{}",
                    u.username,
                    u.role.label(),
                    clip(orgs.get(&u.org).map(String::as_str).unwrap_or("?"), 30),
                    if u.superadmin { "superadmin " } else { "" },
                    if u.disabled { "disabled" } else { "" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn audit(what: cli::AuditWhat, config: Config) -> Result<ExitCode> {
    let app = open(&config).await?;
    match what {
        cli::AuditWhat::Verify => {
            let v = app.verify_audit().await.map_err(user_error)?;
            match v.broken_at {
                None => {
                    println!("audit log intact: {} entries, head {}", v.entries, v.head);
                    Ok(ExitCode::SUCCESS)
                }
                Some((id, reason)) => {
                    println!(
                        "audit log BROKEN at entry {id}: {reason} ({} entries verified before it)",
                        v.entries
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        cli::AuditWhat::List { after, limit } => {
            for r in app.store().audit(None, after, limit).await? {
                println!("{}", serde_json::to_string(&r)?);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
