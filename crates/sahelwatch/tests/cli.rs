//! The real binary, as a user runs it: serve on a port, import files, query,
//! export, and kill an import half-way.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sahelwatch"))
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../sahelwatch-app/tests/fixtures")
        .join(name)
}

fn sw(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .current_dir(dir)
        .args(args)
        .env_remove("SAHELWATCH_DATABASE")
        .env_remove("SAHELWATCH_CONFIG")
        .env("SAHELWATCH_LOG", "warn")
        .output()
        .expect("run sahelwatch")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A running `sahelwatch serve`, killed on drop.
struct Server {
    child: Child,
    base: String,
    output: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, extra: &[&str]) -> Server {
    // Trackers' OsmAnd port only when a test asks for one (tests run at once).
    let osmand: &[&str] = if extra.contains(&"--osmand-listen") {
        &[]
    } else {
        &["--osmand-listen", "off"]
    };
    let mut child = Command::new(bin())
        .current_dir(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(osmand)
        .args(extra)
        .env("SAHELWATCH_LOG", "warn")
        .env_remove("SAHELWATCH_DATABASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn serve");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let mut output = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        output.push(line.clone());
        if let Some(rest) = line.strip_prefix("Listening on ") {
            let base = rest.trim().to_string();
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines.by_ref() {});
            return Server {
                child,
                base,
                output,
            };
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start: {output:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_loads_starter_data_and_answers_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &[]);
    let all = server.output.join("\n");
    assert!(all.contains("loading the bundled starter data"), "{all}");
    assert!(
        all.contains(
            "ucdp_ged_23_1_sample.csv [UCDP GED, 49 columns]: 1000 rows read, 1000 inserted"
        ),
        "{all}"
    );
    assert!(
        all.contains("Loaded 1000 incidents and 82845 places"),
        "{all}"
    );
    assert!(
        dir.path().join("sahelwatch.db").exists(),
        "the default database is a file in the working directory"
    );
    let client = reqwest::Client::new();
    // Without credentials: 401 (the public API is off by default).
    let r = client
        .get(format!("{}/api/v1/incidents", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Bootstrap the first organisation and admin from the CLI, use the token.
    let o = sw(
        dir.path(),
        &[
            "admin",
            "bootstrap",
            "--org",
            "Cellule test",
            "--username",
            "admin",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let token = stdout(&o).lines().last().unwrap().trim().to_string();
    assert!(token.starts_with("sw_"), "{}", stdout(&o));
    let r: serde_json::Value = client
        .get(format!(
            "{}/api/v1/incidents?country=ML,BF,NE&count=true",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"], 12);
    let r: serde_json::Value = client
        .get(format!("{}/api/v1/places?q=tera", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["items"][0]["id"], 2438855);
    let r = client
        .get(format!("{}/api/v1/openapi.json", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(format!("{}/", server.base))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("/ui/app/main.js"));
    // The starter data came with a demo account for the browser, shown once.
    let demo = all
        .lines()
        .find_map(|l| l.trim().strip_prefix("username: demo   password: "))
        .unwrap_or_else(|| panic!("no demo credentials in {all}"));
    let r = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&serde_json::json!({"username": "demo", "password": demo}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(server);
    // A second start on the same database does not load the starter data again.
    let server = serve(dir.path(), &[]);
    let again = server.output.join("\n");
    assert!(!again.contains("loading the bundled starter data"));
    assert!(!again.contains("username: demo"));
}

#[test]
fn import_query_and_export_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = fixture("acled_2021_bfa.csv");
    let o = sw(d, &["import", "acled", f.to_str().unwrap(), "--strict"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("5 rows read, 5 inserted"),
        "{}",
        stdout(&o)
    );
    let o = sw(d, &["import", "acled", f.to_str().unwrap()]);
    assert!(
        stdout(&o).contains("0 inserted, 0 updated, 5 unchanged"),
        "{}",
        stdout(&o)
    );
    // The region's gazetteer as bundled in the repository (gzip, read transparently).
    let g = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/starter/geonames_cities500_sahel_region.tsv.gz");
    let o = sw(d, &["import", "gazetteer", g.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("2251 rows read, 2251 inserted"),
        "{}",
        stdout(&o)
    );
    // --near takes a place name and says which place it chose.
    let o = sw(
        d,
        &[
            "incidents",
            "--near",
            "Dori",
            "--radius-km",
            "150",
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("near: Dori"), "{}", stderr(&o));
    let page: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["external_id"].as_str().unwrap())
        .collect();
    // Haversine from Dori (14.0341, -0.03261): Dori 0.25 km, Barsalogho 129.6 km,
    // Djibo 172.5 km, Fada N'Gourma 223.4 km, Ouagadougou 245.1 km.
    assert_eq!(ids, vec!["BFO5003", "BFO5001"]);
    let o = sw(
        d,
        &["incidents", "--country", "BF", "--event-type", "Battles"],
    );
    assert!(stdout(&o).contains("BF  Armed clash"), "{}", stdout(&o));
    let o = sw(d, &["counts", "--by", "admin1", "--json"]);
    let counts: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(counts["count"], 5);
    // Export, then import the export into a new database: the same five incidents.
    let out = d.join("out.csv");
    let o = sw(
        d,
        &["export", "--format", "csv", "--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("exported 5 incidents"));
    let o = sw(
        d,
        &[
            "--database",
            "second.db",
            "import",
            "acled",
            out.to_str().unwrap(),
            "--strict",
        ],
    );
    assert!(
        stdout(&o).contains("5 rows read, 5 inserted"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let gj = d.join("out.geojson");
    let o = sw(
        d,
        &[
            "export",
            "--format",
            "geojson",
            "-o",
            gj.to_str().unwrap(),
            "--from",
            "2021-04-01",
        ],
    );
    assert!(o.status.success());
    let text = std::fs::read_to_string(&gj).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["features"].as_array().unwrap().len(), 4);
}

#[test]
fn bad_input_gets_a_clear_error_and_a_failing_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = sw(
        d,
        &[
            "import",
            "acled",
            fixture("latitude_95.csv").to_str().unwrap(),
            "--strict",
        ],
    );
    assert!(!o.status.success());
    let out = stdout(&o);
    assert!(out.contains("NOT committed"), "{out}");
    assert!(
        out.contains("refused: line 3, column latitude, value '95': 95 is outside -90..90"),
        "{out}"
    );
    let o = sw(
        d,
        &["import", "acled", fixture("empty.csv").to_str().unwrap()],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("the file is empty"), "{}", stderr(&o));
    let o = sw(d, &["import", "acled", "/nonexistent/file.csv"]);
    assert!(
        stderr(&o).contains("cannot open /nonexistent/file.csv"),
        "{}",
        stderr(&o)
    );
    let o = sw(
        d,
        &[
            "import",
            "acled",
            fixture("acled_current_sahel.csv").to_str().unwrap(),
            "--tlp",
            "WHITE",
        ],
    );
    assert!(
        stderr(&o).contains("'WHITE' is not a TLP 2.0 marking"),
        "{}",
        stderr(&o)
    );
    let o = sw(d, &["incidents", "--bbox", "1,2,3", "--from", "2024-02-30"]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("--bbox '1,2,3'") && err.contains("--from '2024-02-30'"),
        "{err}"
    );
    std::fs::write(
        d.join("sahelwatch.toml"),
        "listen = \"127.0.0.1:9\"\ndatabse = \"x\"\n",
    )
    .unwrap();
    let o = sw(d, &["incidents"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown field `databse`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_import_killed_halfway_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = d.join("synthetic.csv");
    let o = sw(
        d,
        &[
            "synth",
            "acled",
            "--rows",
            "400000",
            "--seed",
            "7",
            "--out",
            csv.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // A first, small import so the database is not empty.
    let o = sw(
        d,
        &[
            "import",
            "acled",
            fixture("acled_2021_bfa.csv").to_str().unwrap(),
        ],
    );
    assert!(o.status.success());
    let mut child = Command::new(bin())
        .current_dir(d)
        .args(["import", "acled", csv.to_str().unwrap()])
        .env("SAHELWATCH_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once the import has written into its transaction (the WAL grows).
    let wal = d.join("sahelwatch.db-wal");
    let deadline = Instant::now() + Duration::from_secs(120);
    let before = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    while Instant::now() < deadline {
        let now = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if now > before + 20_000_000 {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            panic!("the import finished before it could be killed; make the file larger");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no cleanup code runs.
    child.wait().unwrap();
    let o = sw(d, &["counts", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["count"], 5, "only the first import's rows remain");
    let o = sw(d, &["imports", "--json"]);
    let log: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        log.as_array().unwrap().len(),
        1,
        "the killed import left no record"
    );
}

#[test]
fn report_extract_reads_a_text_file_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let g = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/starter/geonames_BF_dump_2025-08.txt.gz");
    let o = sw(d, &["import", "gazetteer", g.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(
        d.join("article.txt"),
        "Des hommes armés ont enlevé hier deux chauffeurs marocains sur l'axe Dori-Seytenga, au Burkina Faso.",
    )
    .unwrap();
    let o = sw(
        d,
        &[
            "report",
            "extract",
            "--file",
            "article.txt",
            "--published",
            "2025-08-05",
        ],
    );
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    for line in [
        "language: fr (detected)",
        "event date: 2025-08-04 (precision 1, \"hier\"",
        "event: Violence against civilians / Abduction/forced disappearance",
        "hostages: 2 MA chauffeur",
        "road segment: Dori, Sahel, Burkina Faso -> Sitenga",
    ] {
        assert!(out.contains(line), "missing '{line}' in:\n{out}");
    }
    let o = sw(
        d,
        &[
            "report",
            "extract",
            "--file",
            "article.txt",
            "--published",
            "2025-08-05",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["lang"], "fr");
    std::fs::write(d.join("latin1.txt"), b"Attaque \xe0 Dori").unwrap();
    let o = sw(
        d,
        &[
            "report",
            "extract",
            "--file",
            "latin1.txt",
            "--published",
            "2025-08-05",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not valid UTF-8: invalid byte at offset 8"),
        "{}",
        stderr(&o)
    );
    let o = sw(
        d,
        &[
            "report",
            "extract",
            "--file",
            "article.txt",
            "--published",
            "5 août",
        ],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--published '5 août': expected YYYY-MM-DD"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn report_add_files_a_report_against_the_starter_data_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = sw(d, &["import", "starter"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A real UCDP sample event: JNIM killed 19 civilians in Dibilou (BF) on 2019-07-25.
    std::fs::write(
        d.join("article.txt"),
        "Dix-neuf civils ont été tués jeudi soir dans une attaque d'hommes armés contre le village de Dibilou, dans la province du Sanmatenga au Burkina Faso, selon le gouverneur.",
    )
    .unwrap();
    let args = |file: &'static str| {
        vec![
            "report",
            "add",
            "--file",
            file,
            "--source",
            "Burkina24",
            "--published",
            "2019-07-27",
            "--reliability",
            "B",
            "--credibility",
            "2",
            "--tlp",
            "GREEN",
        ]
    };
    let o = sw(d, &args("article.txt"));
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    for line in [
        "filed for sahelwatch (TLP:GREEN, B2)",
        "date: 2019-07-25   type: Attack",
        "fatalities: 19",
        "2019-07-25  Attack  Dibilou village  (0 days apart",
    ] {
        assert!(out.contains(line), "missing '{line}' in:\n{out}");
    }
    let mut json_args = args("article.txt");
    json_args.push("--json");
    let v: serde_json::Value = serde_json::from_slice(&sw(d, &json_args).stdout).expect("json");
    assert_eq!(v["report"]["reliability"], "B");
    assert!(v["candidates"][0]["score"]["score"].as_f64().unwrap() > 0.5);
    // Bad grades and dates are named, all at once; bad texts are refused.
    let o = sw(
        d,
        &[
            "report",
            "add",
            "--file",
            "article.txt",
            "--source",
            "X",
            "--published",
            "2019-02-30",
            "--reliability",
            "G",
            "--credibility",
            "0",
        ],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    for what in [
        "--published '2019-02-30'",
        "--reliability: 'G'",
        "--credibility: 0",
    ] {
        assert!(err.contains(what), "missing '{what}' in:\n{err}");
    }
    std::fs::write(d.join("latin1.txt"), b"Attaque \xe0 Dori").unwrap();
    let o = sw(d, &args("latin1.txt"));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("offset 8") && stderr(&o).contains("nothing was stored"));
    std::fs::write(d.join("empty.txt"), b"  \n").unwrap();
    let o = sw(d, &args("empty.txt"));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("empty"), "{}", stderr(&o));
}

#[test]
fn analytics_commands_on_the_starter_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = sw(d, &["import", "starter"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The UCDP sample has 12 events in Mali, Burkina Faso and Niger, 143 dead.
    let o = sw(
        d,
        &[
            "trend", "--region", "sahel", "--period", "year", "--csv", "--png", "t.png", "--svg",
            "t.svg",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = stdout(&o);
    assert!(
        csv.starts_with("period,from,to,count,fatalities\n1991,1991-01-01,1991-12-31,1,20\n"),
        "{csv}"
    );
    let (n, f) = csv.lines().skip(1).fold((0, 0), |(n, f), l| {
        let c: Vec<&str> = l.split(',').collect();
        (
            n + c[3].parse::<u32>().unwrap(),
            f + c[4].parse::<u32>().unwrap(),
        )
    });
    assert_eq!((n, f), (12, 143));
    let png = std::fs::read(d.join("t.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    assert!(
        std::fs::read_to_string(d.join("t.svg"))
            .unwrap()
            .contains("Security incidents per year, the Sahel")
    );
    let o = sw(
        d,
        &["change", "--region", "sahel", "--compare", "2019 vs 2018"],
    );
    assert!(
        stdout(&o).contains(
            "Security incidents in the Sahel rose 100% in 2019 compared with 2018 (2 vs 1)."
        ),
        "{}",
        stdout(&o)
    );
    let o = sw(
        d,
        &[
            "hotspots",
            "--region",
            "sahel",
            "--resolution",
            "5",
            "--out",
            "h.geojson",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let h: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("h.geojson")).unwrap()).unwrap();
    assert_eq!(
        h["incidents"].as_u64().unwrap() + h["outside_grid"].as_u64().unwrap(),
        12
    );
    let o = sw(
        d,
        &[
            "brief",
            "--region",
            "sahel",
            "--from",
            "2019-01-01",
            "--to",
            "2022-12-31",
            "--place",
            "Bamako",
            "--resolution",
            "5",
            "--out",
            "b.md",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(d.join("b.md")).unwrap();
    assert!(md.contains("![Security incidents](b-trend.png)"));
    assert!(d.join("b-types.png").exists());
    // Bad input names the flag.
    let o = sw(
        d,
        &["trend", "--region", "atlantis", "--period", "fortnight"],
    );
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("--region 'atlantis'") && e.contains("--period 'fortnight'"),
        "{e}"
    );
    let o = sw(d, &["approach", "--place", "Nowhereville"]);
    assert!(
        stderr(&o).contains("--place 'Nowhereville'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn import_roads_and_route_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let shared = std::env::var_os("SAHELWATCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    let pbf = shared.join("osm/monaco.osm.pbf");
    assert!(
        pbf.exists(),
        "{}: set SAHELWATCH_SHARED_DATA",
        pbf.display()
    );
    let o = sw(d, &["import", "roads", pbf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("road network 'monaco'"), "{out}");
    assert!(
        out.contains("2349 nodes, 2820 segments (1136 one-way)"),
        "{out}"
    );
    assert!(out.contains("footway 566"), "{out}");
    let o = sw(d, &["roads"]);
    assert!(stdout(&o).contains("monaco"), "{}", stdout(&o));
    // Monaco-Ville to Monte-Carlo casino, by coordinates (no gazetteer needed).
    let o = sw(
        d,
        &[
            "route",
            "--from",
            "43.7312,7.4197",
            "--to",
            "43.7396,7.4277",
            "--mode",
            "fastest",
            "--json",
            "--geojson",
            "r.geojson",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let km = v["routes"][0]["distance_km"].as_f64().unwrap();
    assert!((1.0..5.0).contains(&km), "{km}");
    let fc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("r.geojson")).unwrap()).unwrap();
    assert_eq!(fc["features"][0]["geometry"]["type"], "LineString");
    // Bad input: a file of another kind, a bad class, an unreachable point.
    std::fs::write(d.join("roads.txt"), "x").unwrap();
    let o = sw(d, &["import", "roads", "roads.txt"]);
    assert!(
        !o.status.success() && stderr(&o).contains("roads.txt"),
        "{}",
        stderr(&o)
    );
    std::fs::write(
        d.join("bad.geojson"),
        "{\"type\": \"FeatureCollection\", \"features\": [\n{",
    )
    .unwrap();
    let o = sw(d, &["import", "roads", "bad.geojson", "--name", "monaco"]);
    assert!(
        !o.status.success() && stderr(&o).contains("line 2"),
        "{}",
        stderr(&o)
    );
    let o = sw(d, &["roads"]);
    assert!(
        stdout(&o).contains("2820 segments"),
        "a failed import replaced nothing: {}",
        stdout(&o)
    );
    let o = sw(
        d,
        &["route", "--from", "43.7312,7.4197", "--to", "12.37,-1.52"],
    );
    assert!(
        !o.status.success() && stderr(&o).contains("--to"),
        "{}",
        stderr(&o)
    );
    // Save the route, list it, brief it; an unknown route is named.
    let o = sw(
        d,
        &[
            "route",
            "--from",
            "43.7312,7.4197",
            "--to",
            "43.7396,7.4277",
            "--mode",
            "fastest",
            "--save",
            "casino run",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("as 'casino run'"), "{}", stderr(&o));
    let o = sw(d, &["corridor"]);
    assert!(stdout(&o).contains("casino run"), "{}", stdout(&o));
    let o = sw(d, &["corridor", "casino run", "--buffer-km", "2", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let b: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(b["current"]["distance_km"], v["routes"][0]["distance_km"]);
    assert_eq!(b["buffer_km"], 2.0);
    assert_eq!(b["trend"]["monthly"].as_array().unwrap().len(), 12);
    let o = sw(d, &["corridor", "casino run"]);
    assert!(
        stdout(&o).contains("Corridor brief: 'casino run'"),
        "{}",
        stdout(&o)
    );
    let o = sw(d, &["corridor", "casino run", "--buffer-km", "0"]);
    assert!(
        !o.status.success() && stderr(&o).contains("buffer"),
        "{}",
        stderr(&o)
    );
    let o = sw(d, &["corridor", "nowhere"]);
    assert!(
        !o.status.success() && stderr(&o).contains("nowhere"),
        "{}",
        stderr(&o)
    );
}

/// A first admin's token in a new database in `dir`, and a free loopback
/// address for the OsmAnd port.
fn admin_and_osmand_port(dir: &Path) -> (String, String) {
    let o = sw(
        dir,
        &[
            "admin",
            "bootstrap",
            "--org",
            "Agency",
            "--username",
            "admin",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let token = stdout(&o).lines().last().unwrap().trim().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    (token, format!("127.0.0.1:{port}"))
}

/// A position acknowledged to a device survives `kill -9` of the server in
/// the middle of intake, and the alert engine carries on from its state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_positions_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (token, osmand) = admin_and_osmand_port(dir.path());
    let args = ["--no-starter-data", "--osmand-listen", osmand.as_str()];
    let server = serve(dir.path(), &args);
    let client = reqwest::Client::new();
    let convoy: serde_json::Value = client
        .post(format!("{}/api/v1/convoys", server.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "name": "Ouaga-Kaya",
            "route": {"geojson": {"type": "LineString",
                                  "coordinates": [[-1.52, 12.37], [-1.30, 12.80], [-1.08, 13.09]]}},
            "vehicles": [{"name": "Lead", "device": "trk-1", "secret": "lead-secret-0123456"}],
            "interval_s": 3600
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = convoy["id"].as_str().expect("convoy id").to_string();

    // A device sending positions one after another, as fast as answered.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let sender = {
        let (acked, client, osmand) = (acked.clone(), client.clone(), osmand.clone());
        tokio::spawn(async move {
            let t0 = chrono::Utc::now().timestamp() - 100_000;
            for k in 0..100_000i64 {
                let f = k as f64 / 100_000.0;
                let url = format!(
                    "http://{osmand}/?id=trk-1&key=lead-secret-0123456&timestamp={}&lat={}&lon={}&speed=20",
                    t0 + k,
                    12.37 + 0.43 * f,
                    -1.52 + 0.22 * f
                );
                match client.post(url).send().await {
                    Ok(r) if r.status() == 200 => acked.lock().unwrap().push(t0 + k),
                    Ok(r) => panic!("position {k}: {}", r.status()),
                    Err(_) => break,
                }
            }
        })
    };
    while acked.lock().unwrap().len() < 200 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(server); // SIGKILL: std's Child::kill
    sender.await.unwrap();
    let acked = acked.lock().unwrap().clone();

    let server = serve(dir.path(), &args);
    let track: serde_json::Value = client
        .get(format!("{}/api/v1/convoys/{id}/track", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored: std::collections::HashSet<i64> = track["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["geometry"]["type"] == "Point")
        .map(|f| {
            chrono::DateTime::parse_from_rfc3339(f["properties"]["time"].as_str().unwrap())
                .unwrap()
                .timestamp()
        })
        .collect();
    eprintln!(
        "{} positions acknowledged before kill -9, {} stored after",
        acked.len(),
        stored.len()
    );
    let lost: Vec<&i64> = acked.iter().filter(|t| !stored.contains(t)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged positions lost",
        lost.len(),
        acked.len()
    );
    // The engine's state came back too: the last acknowledged position again
    // is a duplicate, and the vehicle's last position is known.
    let view: serde_json::Value = client
        .get(format!("{}/api/v1/convoys/{id}", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last =
        chrono::DateTime::parse_from_rfc3339(view["vehicles"][0]["last_time"].as_str().unwrap())
            .unwrap()
            .timestamp();
    assert!(
        last >= *acked.last().unwrap(),
        "state at {last}, acked {}",
        acked.last().unwrap()
    );
    // Intake resumes by itself on the restarted server.
    let r = client
        .get(format!(
            "http://{osmand}/?id=trk-1&key=lead-secret-0123456&timestamp={}&lat=12.9&lon=-1.25",
            last + 10
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// `sahelwatch simulate` registers a convoy through the API and drives it
/// over the OsmAnd protocol; the injected SOS and detour come back as alerts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_drives_a_convoy_with_injected_events() {
    let dir = tempfile::tempdir().unwrap();
    let (token, osmand) = admin_and_osmand_port(dir.path());
    let server = serve(
        dir.path(),
        &["--no-starter-data", "--osmand-listen", osmand.as_str()],
    );
    let route = dir.path().join("route.geojson");
    std::fs::write(
        &route,
        r#"{"type":"LineString","coordinates":[[-1.52,12.37],[-1.30,12.80],[-1.08,13.09]]}"#,
    )
    .unwrap();
    let bad = sw(
        dir.path(),
        &[
            "simulate",
            "--token",
            &token,
            "--api",
            &server.base,
            "--geojson",
            "route.geojson",
            "--event",
            "fly@3",
        ],
    );
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("fly@3"), "{}", stderr(&bad));
    let o = sw(
        dir.path(),
        &[
            "simulate",
            "--token",
            &token,
            "--api",
            &server.base,
            "--osmand",
            &format!("http://{osmand}"),
            "--geojson",
            "route.geojson",
            "--vehicles",
            "2",
            "--speed",
            "60",
            "--time-scale",
            "900",
            "--interval",
            "30",
            "--event",
            "sos@20/1",
            "--event",
            "detour@40:2000m:10m",
            "--end",
        ],
    );
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(
        out.contains("1 convoy(s) of 2 vehicles on a 93.5 km route"),
        "{out}"
    );
    let alerts = out.lines().find(|l| l.contains("alerts:")).unwrap_or("");
    assert!(alerts.contains("\"sos\": 1"), "{out}");
    assert!(alerts.contains("\"off_route\": 1"), "{out}");
    assert!(!out.contains("\"refused\""), "{out}");
}
