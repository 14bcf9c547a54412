//! Command-line interface (clap). Global options can also come from the
//! environment (`SAHELWATCH_*`) and from the configuration file; see `config`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "sahelwatch",
    version,
    about = "Security-intelligence and convoy-safety platform for the Sahel",
    long_about = "Record, import, search and share security incidents of the Sahel.\n\n\
        Configuration precedence: defaults < config file < SAHELWATCH_* environment < flags."
)]
pub struct Cli {
    /// Configuration file (TOML). Default: ./sahelwatch.toml when it exists.
    #[arg(long, global = true, env = "SAHELWATCH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database: a SQLite file path (default sahelwatch.db) or postgres://user@host/db.
    #[arg(
        long,
        short = 'd',
        global = true,
        env = "SAHELWATCH_DATABASE",
        value_name = "PATH|URL"
    )]
    pub database: Option<String>,
    /// Log filter, e.g. info, debug, sahelwatch=debug.
    #[arg(long, global = true, env = "SAHELWATCH_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// Organisation that owns what this installation imports (default "sahelwatch").
    #[arg(
        long,
        global = true,
        env = "SAHELWATCH_ORGANISATION",
        value_name = "NAME"
    )]
    pub organisation: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (loads the bundled starter data into a new database).
    Serve(ServeArgs),
    /// Import incidents (ACLED, UCDP), a GeoNames gazetteer, or the starter data.
    Import(ImportCmd),
    /// Search incidents.
    Incidents(IncidentArgs),
    /// Count incidents and fatalities, optionally grouped.
    Counts(CountArgs),
    /// Search the gazetteer.
    Places(PlaceArgs),
    /// Export incidents as ACLED-layout CSV or GeoJSON.
    Export(ExportArgs),
    /// List recent imports.
    Imports(ImportsArgs),
    /// Generate SYNTHETIC test data (for benchmarks and load tests).
    Synth(SynthCmd),
    /// Accounts from the command line: the first organisation and admin, tokens.
    Admin(AdminCmd),
    /// The audit log of reads of non-CLEAR material.
    Audit(AuditCmd),
    /// Report texts: what the extraction finds in one.
    Report(ReportCmd),
    /// Counts and fatalities by period (week, month, quarter, half, year), as a
    /// table, CSV, JSON or a chart (--png, --svg).
    Trend(TrendArgs),
    /// Period-over-period change with ACLED's early-warning band and a sentence
    /// to quote ("2024-H1 vs 2023-H1", "last 4 weeks", "this month vs last year").
    Change(ChangeArgs),
    /// Getis-Ord Gi* hotspots and emerging-hotspot classes on an H3 grid (GeoJSON).
    Hotspots(HotspotArgs),
    /// Monthly nearest and median distance of incidents from a place, and their trend.
    Approach(ApproachArgs),
    /// An area brief (Markdown with PNG charts, or JSON).
    Brief(BriefArgs),
    /// Road networks imported so far (`import roads`).
    Roads,
    /// Routes between two places: fastest, least exposed to the risk of the
    /// incidents you may see, or balanced, with alternatives and the risk
    /// profile along each.
    Route(RouteArgs),
    /// Corridor brief of a saved route (`route --save NAME`): its risk
    /// profile, recent incidents within a buffer, the trend along it and the
    /// routes planned now. Without a route: the saved routes.
    Corridor(CorridorArgs),
    /// Drive simulated vehicles along a route over the OsmAnd protocol, for
    /// demos and load tests: registers the convoys through the API, then
    /// sends each vehicle's positions at the chosen speed and time scale,
    /// with injected events (stop, detour, silence, SOS).
    Simulate(SimulateArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The server's API.
    #[arg(long, env = "SAHELWATCH_API", default_value = "http://127.0.0.1:8080")]
    pub api: String,
    /// An API token of an operator, analyst or admin (registers the convoys).
    #[arg(long, env = "SAHELWATCH_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The server's OsmAnd port.
    #[arg(long, default_value = "http://127.0.0.1:5055")]
    pub osmand: String,
    /// The route: a saved route's id (`corridor` lists them) ...
    #[arg(long, conflicts_with = "geojson", required_unless_present = "geojson")]
    pub saved_route: Option<i64>,
    /// ... or a GeoJSON LineString file.
    #[arg(long, value_name = "FILE")]
    pub geojson: Option<std::path::PathBuf>,
    /// How many convoys.
    #[arg(long, default_value_t = 1)]
    pub convoys: usize,
    /// Vehicles per convoy.
    #[arg(long, default_value_t = 3)]
    pub vehicles: usize,
    /// Distance between vehicles (m).
    #[arg(long, default_value_t = 300.0)]
    pub gap_m: f64,
    /// Driving speed (km/h).
    #[arg(long, default_value_t = 60.0)]
    pub speed: f64,
    /// Trip seconds per real second (60: an hour's drive in a minute).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Seconds of trip time between a vehicle's positions.
    #[arg(long, default_value_t = 10.0)]
    pub interval: f64,
    /// An injected event, repeatable: stop@KM:DURATION, detour@KM:METRESm:DURATION,
    /// silence@KM:DURATION, sos@KM; durations in s, m or h; /VEHICLE for another
    /// vehicle than the first (e.g. stop@40:15m/1).
    #[arg(long = "event", value_name = "EVENT")]
    pub events: Vec<String>,
    /// Stop after this many real seconds (default: when every vehicle arrived).
    #[arg(long)]
    pub duration: Option<f64>,
    /// End the convoys when done.
    #[arg(long)]
    pub end: bool,
    /// Name of the convoys (numbered when several).
    #[arg(long, default_value = "Simulated convoy")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "SAHELWATCH_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Address and port of the OsmAnd protocol for trackers such as the
    /// Traccar Client (default 127.0.0.1:5055; `off` for none).
    #[arg(long, env = "SAHELWATCH_OSMAND_LISTEN", value_name = "ADDR:PORT|off")]
    pub osmand_listen: Option<String>,
    /// MQTT broker to take device positions from, host:port (default off;
    /// topics `sahelwatch/devices/DEVICE/position`).
    #[arg(long, env = "SAHELWATCH_MQTT", value_name = "HOST:PORT|off")]
    pub mqtt: Option<String>,
    /// Do not load the starter data, even into an empty database.
    /// (Environment: SAHELWATCH_STARTER_DATA=false.)
    #[arg(long)]
    pub no_starter_data: bool,
}

#[derive(Debug, Args)]
pub struct ImportCmd {
    #[command(subcommand)]
    pub what: ImportWhat,
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// An ACLED CSV export (2021-era or current layout, with or without an HXL row).
    Acled(IncidentImportArgs),
    /// A UCDP GED CSV file (49 columns).
    Ucdp(IncidentImportArgs),
    /// GeoNames dumps (19 tab-separated columns), e.g. BF.txt, cities500.txt.
    Gazetteer(GazetteerImportArgs),
    /// A STIX 2.1 bundle of sahelwatch incidents (all or nothing), e.g. a
    /// partner's `export --format stix`. TLP markings come from the bundle.
    Stix(StixImportArgs),
    /// The bundled starter data: the region's gazetteer and the UCDP GED sample.
    Starter,
    /// A road network: one OpenStreetMap extract (.osm.pbf), or GeoJSON road
    /// lines (.geojson, several files join into one network).
    Roads(RoadImportArgs),
}

#[derive(Debug, Args)]
pub struct RoadImportArgs {
    /// The road file(s).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The network's name (replaces a network of this name). Default: the
    /// first file's name without its extension.
    #[arg(long)]
    pub name: Option<String>,
    /// GeoJSON: join each dangling line end to a road within this many
    /// metres (default: join only where lines share a coordinate).
    #[arg(long, value_name = "METRES")]
    pub snap: Option<f64>,
    /// GeoJSON: the road class of every line (motorway, trunk, primary,
    /// secondary, tertiary, unclassified, residential, living_street,
    /// service, track). Default: from each line's properties.
    #[arg(long)]
    pub class: Option<String>,
    /// A TOML file overriding truck speeds per class: `[speeds] track = 15`.
    #[arg(long, value_name = "FILE")]
    pub speeds: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RouteArgs {
    /// Start: a place name (`Dori`, `Dori,BF`) or `lat,lon`.
    #[arg(long)]
    pub from: String,
    /// End: a place name or `lat,lon`.
    #[arg(long)]
    pub to: String,
    /// balanced, fastest or safest (least exposure to risk).
    #[arg(long, default_value = "balanced")]
    pub mode: String,
    /// For balanced: 0 (fastest) to 1 (least exposure).
    #[arg(long, default_value_t = 0.5)]
    pub tradeoff: f64,
    /// Do not look for alternatives.
    #[arg(long)]
    pub no_alternatives: bool,
    /// A GeoJSON Polygon or MultiPolygon of areas to avoid.
    #[arg(long, value_name = "FILE")]
    pub avoid: Option<PathBuf>,
    /// Departure (RFC 3339 or YYYY-MM-DD; default now): risk as of that day.
    #[arg(long)]
    pub depart: Option<String>,
    /// The road network (default: the newest).
    #[arg(long)]
    pub network: Option<String>,
    /// Print the whole answer as JSON (with geometry).
    #[arg(long)]
    pub json: bool,
    /// Write the routes as a GeoJSON FeatureCollection to this file.
    #[arg(long, value_name = "FILE")]
    pub geojson: Option<PathBuf>,
    /// Save the route under this name for corridor briefs (replacing the
    /// organisation's route of that name).
    #[arg(long, value_name = "NAME")]
    pub save: Option<String>,
    /// With --save: which route to keep (0 the requested one, 1.. the
    /// alternatives as listed).
    #[arg(long, default_value_t = 0, requires = "save")]
    pub choose: usize,
    /// With --save: the owner organisation (default: the configured one).
    #[arg(long, requires = "save")]
    pub org: Option<String>,
}

#[derive(Debug, Args)]
pub struct CorridorArgs {
    /// The saved route (name or id); none lists the saved routes.
    pub route: Option<String>,
    /// The organisation whose routes these are (default: the configured one).
    #[arg(long)]
    pub org: Option<String>,
    /// Half-width of the corridor (km, 0.5 to 100).
    #[arg(long, default_value_t = 10.0)]
    pub buffer_km: f64,
    /// Recent means the last this many days (compared with the days before).
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// As of this departure (RFC 3339 or YYYY-MM-DD; default now).
    #[arg(long)]
    pub depart: Option<String>,
    /// Print the whole brief as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StixImportArgs {
    /// The bundle (JSON; use - for standard input).
    pub file: PathBuf,
    /// Owner organisation (created if missing). Default: the configured organisation.
    #[arg(long)]
    pub org: Option<String>,
}

#[derive(Debug, Args)]
pub struct IncidentImportArgs {
    /// The CSV file (use - for standard input).
    pub file: PathBuf,
    /// All or nothing: if any row is refused, write nothing.
    #[arg(long)]
    pub strict: bool,
    /// TLP 2.0 marking of the imported incidents: CLEAR, GREEN, AMBER, AMBER+STRICT, RED.
    #[arg(long, default_value = "CLEAR")]
    pub tlp: String,
    /// Owner organisation (created if missing). Default: the configured organisation.
    #[arg(long)]
    pub org: Option<String>,
    /// How locations are shown outside the owner organisation: exact, 10km, admin2, admin1.
    #[arg(long, default_value = "exact")]
    pub coarsen: String,
    /// Write the full report (every refused row) as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GazetteerImportArgs {
    /// One or more GeoNames files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// All or nothing per file.
    #[arg(long)]
    pub strict: bool,
    #[arg(long)]
    pub json: bool,
}

/// Filters shared by incidents, counts and export (same meaning as the API's).
#[derive(Debug, Args, Default)]
pub struct FilterArgs {
    #[command(flatten)]
    pub common: CommonFilterArgs,
    /// lat,lon or a place name ("Dori", "Dori,BF").
    #[arg(long, allow_hyphen_values = true)]
    pub near: Option<String>,
    /// Radius for --near, km (default 50).
    #[arg(long)]
    pub radius_km: Option<String>,
    /// At least this many fatalities.
    #[arg(long)]
    pub min_fatalities: Option<String>,
    /// Words that must appear in the notes.
    #[arg(long)]
    pub text: Option<String>,
}

/// The filters incident searches and analyses share.
#[derive(Debug, Args, Clone, Default)]
pub struct CommonFilterArgs {
    /// min_lon,min_lat,max_lon,max_lat
    #[arg(long, allow_hyphen_values = true)]
    pub bbox: Option<String>,
    /// First day, YYYY-MM-DD.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD.
    #[arg(long)]
    pub to: Option<String>,
    /// Countries (codes or names), comma-separated.
    #[arg(long)]
    pub country: Option<String>,
    /// First-level divisions, comma-separated.
    #[arg(long)]
    pub admin1: Option<String>,
    /// ACLED event types, comma-separated.
    #[arg(long)]
    pub event_type: Option<String>,
    /// ACLED sub-event types, comma-separated.
    #[arg(long)]
    pub sub_event_type: Option<String>,
    /// Part of an actor name.
    #[arg(long)]
    pub actor: Option<String>,
    /// Only this dataset (acled, ucdp-ged).
    #[arg(long)]
    pub dataset: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
    Geojson,
}

#[derive(Debug, Args)]
pub struct IncidentArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// -event_date (default), event_date, -fatalities, fatalities.
    #[arg(long, allow_hyphen_values = true)]
    pub sort: Option<String>,
    /// Page size (1..1000).
    #[arg(long, default_value = "20")]
    pub limit: String,
    /// Continue from a previous page's cursor.
    #[arg(long)]
    pub cursor: Option<String>,
    /// Also print the total number of matches.
    #[arg(long)]
    pub count: bool,
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct CountArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Group by up to four of: country, admin1, event_type, sub_event_type, year, month, dataset.
    #[arg(long)]
    pub by: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportCmd {
    #[command(subcommand)]
    pub what: ReportWhat,
}

#[derive(Debug, Subcommand)]
pub enum ReportWhat {
    /// Show what the extraction finds in a text (nothing is stored): dates,
    /// actors, places and road segments, event type, deaths, hostages, each
    /// with its span and confidence.
    Extract(ReportExtractArgs),
    /// File a report: its text is read (as `extract` does), stored with its
    /// grades and marking, and the incidents it may tell of are listed with
    /// their match scores.
    Add(ReportAddArgs),
}

#[derive(Debug, Args)]
pub struct ReportAddArgs {
    /// The text (UTF-8), or - for standard input.
    #[arg(long)]
    pub file: String,
    /// The outlet or partner it comes from.
    #[arg(long)]
    pub source: String,
    /// Publication date (YYYY-MM-DD): relative dates resolve against it.
    #[arg(long)]
    pub published: String,
    /// Source reliability, A (completely reliable) to F (cannot be judged).
    #[arg(long)]
    pub reliability: String,
    /// Information credibility, 1 (confirmed) to 6 (cannot be judged).
    #[arg(long)]
    pub credibility: String,
    /// en or fr (detected when absent).
    #[arg(long)]
    pub lang: Option<String>,
    #[arg(long)]
    pub title: Option<String>,
    /// TLP 2.0 marking: CLEAR, GREEN, AMBER (the organisation only), AMBER+STRICT, RED.
    #[arg(long, default_value = "AMBER")]
    pub tlp: String,
    /// Owner organisation (created if missing). Default: the configured organisation.
    #[arg(long)]
    pub org: Option<String>,
    /// Print the report and its candidates as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportExtractArgs {
    /// The text (UTF-8), or - for standard input.
    #[arg(long)]
    pub file: String,
    /// Publication date (YYYY-MM-DD): relative dates resolve against it.
    #[arg(long)]
    pub published: String,
    /// en or fr (detected when absent).
    #[arg(long)]
    pub lang: Option<String>,
    /// Print the whole extraction as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PlaceArgs {
    /// Name or start of a name.
    pub query: String,
    /// Only this country.
    #[arg(long)]
    pub country: Option<String>,
    #[arg(long, default_value = "10")]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportKind {
    /// The current ACLED export layout.
    Csv,
    Geojson,
    /// A STIX 2.1 bundle (incidents, locations, actors, TLP 2.0 markings).
    Stix,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ExportKind,
    /// Output file (default: standard output).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportsArgs {
    #[arg(long, default_value = "20")]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SynthCmd {
    #[command(subcommand)]
    pub what: SynthWhat,
}

#[derive(Debug, Subcommand)]
pub enum SynthWhat {
    /// SYNTHETIC incidents in the current ACLED CSV layout.
    Acled {
        /// Number of rows.
        #[arg(long, default_value = "1000000")]
        rows: u64,
        /// Seed; the same seed gives the same file.
        #[arg(long, default_value = "42")]
        seed: u64,
        /// Output file.
        #[arg(long, short = 'o')]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct AdminCmd {
    #[command(subcommand)]
    pub what: AdminWhat,
}

#[derive(Debug, Subcommand)]
pub enum AdminWhat {
    /// Create an organisation and its first admin (a deployment administrator
    /// who can create further organisations), and print an API token for them.
    Bootstrap {
        /// The organisation's name.
        #[arg(long)]
        org: String,
        /// The admin's username.
        #[arg(long)]
        username: String,
        /// Read a password for browser sign-in from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a new API token for an existing user (recovery: the operator can
    /// read the database anyway).
    Token {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until it expires (1..366).
        #[arg(long)]
        days: Option<i64>,
    },
    /// List users.
    Users,
}

#[derive(Debug, Args)]
pub struct AuditCmd {
    #[command(subcommand)]
    pub what: AuditWhat,
}

#[derive(Debug, Subcommand)]
pub enum AuditWhat {
    /// Check the hash chain of the whole audit log.
    Verify,
    /// Print entries.
    List {
        /// Entries after this id.
        #[arg(long, default_value = "0")]
        after: i64,
        #[arg(long, default_value = "50")]
        limit: usize,
    },
}

/// The area and filters of an analysis.
#[derive(Debug, Args, Clone)]
pub struct AnalysisArgs {
    #[command(flatten)]
    pub common: CommonFilterArgs,
    /// Named region: sahel (Mali, Burkina Faso, Niger) or liptako-gourma (three borders).
    #[arg(long)]
    pub region: Option<String>,
    /// A file holding a GeoJSON Polygon or MultiPolygon (or a Feature with one).
    #[arg(long, value_name = "FILE")]
    pub polygon: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrendArgs {
    #[command(flatten)]
    pub area: AnalysisArgs,
    /// week, month (default), quarter, half or year.
    #[arg(long)]
    pub period: Option<String>,
    /// Write the chart as PNG to this file.
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Write the chart as SVG to this file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Chart kind: line (default) or bar.
    #[arg(long, default_value = "line")]
    pub chart: String,
    /// Print CSV instead of a table.
    #[arg(long)]
    pub csv: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ChangeArgs {
    #[command(flatten)]
    pub area: AnalysisArgs,
    /// "2024-H1 vs 2023-H1", "last 4 weeks", "this month vs last year".
    #[arg(long)]
    pub compare: String,
    /// Reference day of relative comparisons (default today).
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HotspotArgs {
    #[command(flatten)]
    pub area: AnalysisArgs,
    /// H3 resolution, 0..=10 (default 6).
    #[arg(long)]
    pub resolution: Option<String>,
    /// Time slices of the emerging classes: week, month, quarter, half or year
    /// (default: the finest of month, quarter, half, year giving at most 260).
    #[arg(long)]
    pub period: Option<String>,
    /// Write the GeoJSON here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApproachArgs {
    #[command(flatten)]
    pub area: AnalysisArgs,
    /// A place name (Bamako, "Dori,BF") or lat,lon; several separated by ';'.
    #[arg(long, allow_hyphen_values = true)]
    pub place: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BriefArgs {
    #[command(flatten)]
    pub area: AnalysisArgs,
    /// Places for the approach measures, separated by ';'.
    #[arg(long, allow_hyphen_values = true)]
    pub place: Option<String>,
    /// H3 resolution of the hotspots (default 6).
    #[arg(long)]
    pub resolution: Option<String>,
    /// Write the Markdown brief to this file, with its charts as PNG files
    /// beside it (<name>-trend.png, <name>-types.png).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
}
