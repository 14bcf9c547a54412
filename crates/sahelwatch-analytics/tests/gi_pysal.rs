//! Our Getis-Ord Gi* against PySAL's `esda.G_Local(..., star=True)` on a real
//! H3 grid over Liptako-Gourma, through `scripts/analytics/gi_check.py`.
//!
//! The Python interpreter is `$SAHELWATCH_PYTHON`, else `python3`, which must
//! have esda and libpysal: `pip install -r scripts/analytics/requirements.txt`.
//! With `SAHELWATCH_SKIP_PYSAL=1` and no `SAHELWATCH_PYTHON`, the check is
//! skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use geo::{LineString, MultiPolygon, Polygon};
use h3o::Resolution;
use sahelwatch_analytics::hotspot::{GiStar, Grid, emerging_hotspots, gi_star};

const INSTALL: &str = "pip install -r scripts/analytics/requirements.txt \
     (e.g. python3 -m venv /tmp/pysal-venv && /tmp/pysal-venv/bin/pip install -r \
     scripts/analytics/requirements.txt, then SAHELWATCH_PYTHON=/tmp/pysal-venv/bin/python)";

fn rect(lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        LineString::from(vec![
            (lon0, lat0),
            (lon1, lat0),
            (lon1, lat1),
            (lon0, lat1),
            (lon0, lat0),
        ]),
        vec![],
    )])
}

/// A small deterministic generator (Knuth's MMIX LCG).
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal deviate (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Points (lat, lon) clustered around a few places of Liptako-Gourma, over a
/// uniform background that also falls outside the area.
fn clustered_points(seed: u64, count: usize) -> Vec<(f64, f64)> {
    // (lat, lon, spread in degrees, weight)
    let clusters = [
        (15.92, 2.40, 0.25, 5.0),  // Ménaka
        (14.10, -1.63, 0.20, 4.0), // Djibo
        (14.21, 1.45, 0.30, 3.0),  // Tillabéri
        (15.26, 0.70, 0.15, 2.0),  // Ansongo
        (12.45, 0.35, 0.40, 1.0),  // Fada N'Gourma
    ];
    let total: f64 = clusters.iter().map(|c| c.3).sum::<f64>() + 3.0;
    let mut rng = Lcg(seed);
    (0..count)
        .map(|_| {
            let mut pick = rng.uniform() * total;
            for &(lat, lon, spread, weight) in &clusters {
                if pick < weight {
                    return (lat + spread * rng.normal(), lon + spread * rng.normal());
                }
                pick -= weight;
            }
            (11.5 + 5.5 * rng.uniform(), -2.5 + 6.0 * rng.uniform())
        })
        .collect()
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/analytics/gi_check.py")
}

/// The interpreter to use, or `None` to skip.
fn python() -> Option<String> {
    if let Ok(python) = std::env::var("SAHELWATCH_PYTHON") {
        return Some(python);
    }
    if std::env::var("SAHELWATCH_SKIP_PYSAL").as_deref() == Ok("1") {
        eprintln!(
            "gi_pysal: SKIPPED (SAHELWATCH_SKIP_PYSAL=1 and no SAHELWATCH_PYTHON): Gi* is not \
             checked against PySAL"
        );
        return None;
    }
    Some("python3".to_owned())
}

/// One grid and its values for the check.
struct Case {
    label: &'static str,
    grid: Grid,
    values: Vec<f64>,
    gi: Vec<GiStar>,
}

/// Writes each case's input, runs gi_check.py on all of them at once (esda
/// takes seconds to import), panics on a mismatch or when PySAL is missing.
fn check_against_esda(python: &str, cases: &[Case]) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let paths: Vec<PathBuf> = cases
        .iter()
        .map(|case| {
            let grid = &case.grid;
            let json = serde_json::json!({
                "ids": grid.cells().iter().map(ToString::to_string).collect::<Vec<_>>(),
                "neighbours": (0..grid.len()).map(|i| grid.neighbours(i).to_vec()).collect::<Vec<_>>(),
                "values": case.values,
                "z": case.gi.iter().map(|g| g.z).collect::<Vec<_>>(),
                "p": case.gi.iter().map(|g| g.p).collect::<Vec<_>>(),
            });
            let path = std::env::temp_dir().join(format!(
                "sahelwatch-gi-{}-{}-{nanos}.json",
                case.label,
                std::process::id()
            ));
            std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
            path
        })
        .collect();
    let out = Command::new(python).arg(script()).args(&paths).output();
    for path in &paths {
        let _ = std::fs::remove_file(path);
    }
    let out = out.unwrap_or_else(|e| {
        panic!("gi_pysal: cannot run {python:?}: {e}; install Python 3 and {INSTALL}")
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{}", stdout.trim());
    assert!(
        out.status.code() != Some(3),
        "gi_pysal: {python:?} cannot import esda/libpysal ({}); {INSTALL}, or set \
         SAHELWATCH_SKIP_PYSAL=1 to skip",
        stderr.trim()
    );
    assert!(
        out.status.success(),
        "gi_pysal: gi_check.py failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

#[test]
fn gi_star_matches_pysal_esda_on_liptako_gourma() {
    let Some(python) = python() else { return };

    let area = rect(-2.0, 12.0, 3.0, 16.5);
    let mut cases = Vec::new();
    for (label, resolution, seed, count) in [
        ("res6", Resolution::Six, 2024, 20_000),
        ("res5-sparse", Resolution::Five, 7, 600),
    ] {
        let grid = Grid::covering(&area, resolution).unwrap();
        let counts = grid.count_points(clustered_points(seed, count));
        assert!(counts.outside > 0, "the background spills outside the area");
        assert!(counts.counts.contains(&0.0));
        let gi = gi_star(&grid, &counts.counts).unwrap();
        assert!(gi.iter().any(|g| g.z > 3.0), "{label}: clusters show up");
        println!(
            "{label}: {} cells, {} points counted, {} outside",
            grid.len(),
            counts.counts.iter().sum::<f64>(),
            counts.outside
        );
        cases.push(Case {
            label,
            grid,
            values: counts.counts,
            gi,
        });
    }

    // A grid with holes (every third cell dropped: ragged neighbourhoods and
    // some islands) and non-integer values.
    let grid = Grid::covering(&area, Resolution::Five).unwrap();
    let kept = grid.cells().iter().copied().step_by(3).collect::<Vec<_>>();
    let grid = Grid::from_cells(kept).unwrap();
    let islands = (0..grid.len())
        .filter(|&i| grid.neighbours(i).is_empty())
        .count();
    println!("ragged: {} cells, {islands} without neighbours", grid.len());
    let values: Vec<f64> = grid
        .counts(clustered_points(11, 3_000))
        .iter()
        .enumerate()
        .map(|(i, v)| v * 0.37 + (i % 5) as f64 * 0.01)
        .collect();
    let gi = gi_star(&grid, &values).unwrap();
    cases.push(Case {
        label: "ragged",
        grid,
        values,
        gi,
    });

    // A tiny grid: one cell and its ring, where the centre's neighbourhood
    // is the whole grid (esda: NaN; ours: z = 0, p = 1).
    let centre = h3o::LatLng::new(14.0, 0.0)
        .unwrap()
        .to_cell(Resolution::Six);
    let grid = Grid::from_cells(centre.grid_disk(1)).unwrap();
    let values = vec![3.0, 1.0, 0.0, 2.0, 5.0, 1.0, 0.0];
    let gi = gi_star(&grid, &values).unwrap();
    cases.push(Case {
        label: "disk1",
        grid,
        values,
        gi,
    });

    check_against_esda(&python, &cases);
}

/// Timings on a grid the size of Mali + Burkina Faso + Niger at resolution 6.
/// `cargo test --release -p sahelwatch-analytics --test gi_pysal -- --ignored --nocapture`
#[test]
#[ignore = "timing only: run with --release --ignored --nocapture"]
fn gi_star_timing_on_a_large_grid() {
    let area = rect(-12.0, 10.0, 16.0, 24.0);
    let t = Instant::now();
    let grid = Grid::covering(&area, Resolution::Six).unwrap();
    let covering = t.elapsed();
    let points = clustered_points(1, 200_000);
    let t = Instant::now();
    let counts = grid.counts(points);
    let counting = t.elapsed();
    let t = Instant::now();
    let gi = gi_star(&grid, &counts).unwrap();
    let gi_time = t.elapsed();
    assert_eq!(gi.len(), grid.len());
    let slices: Vec<Vec<f64>> = (0..12)
        .map(|k| grid.counts(clustered_points(100 + k, 20_000)))
        .collect();
    let t = Instant::now();
    let emerging = emerging_hotspots(&grid, &slices).unwrap();
    let emerging_time = t.elapsed();
    assert_eq!(emerging.len(), grid.len());
    println!(
        "{} cells: covering {covering:?}, counting 200k points {counting:?}, gi_star {gi_time:?}, \
         emerging (12 slices) {emerging_time:?}",
        grid.len()
    );
}
