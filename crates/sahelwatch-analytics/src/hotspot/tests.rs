use super::*;
use geo::{LineString, Polygon};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[track_caller]
fn assert_close(a: f64, b: f64, tol: f64) {
    assert!(close(a, b, tol), "{a} != {b} (tolerance {tol})");
}

/// A cell in Liptako-Gourma (near Ménaka) at `res`.
fn centre(res: Resolution) -> CellIndex {
    LatLng::new(15.0, 2.0).unwrap().to_cell(res)
}

fn disk_grid(k: u32) -> Grid {
    let cells: Vec<CellIndex> = centre(Resolution::Seven).grid_disk(k);
    Grid::from_cells(cells).unwrap()
}

/// A small deterministic generator (numerical recipes LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

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

// ---------------------------------------------------------------- grid

#[test]
fn from_cells_sorts_dedups_and_finds_neighbours() {
    let mut cells: Vec<CellIndex> = centre(Resolution::Seven).grid_disk(2);
    cells.reverse();
    cells.push(cells[0]);
    let grid = Grid::from_cells(cells).unwrap();
    assert_eq!(grid.len(), 19);
    assert!(grid.cells().windows(2).all(|w| w[0] < w[1]));
    assert_eq!(grid.resolution(), Resolution::Seven);
    let mid = grid.index_of(centre(Resolution::Seven)).unwrap();
    assert_eq!(grid.neighbours(mid).len(), 6);
    let degrees: Vec<usize> = (0..grid.len()).map(|i| grid.neighbours(i).len()).collect();
    // The centre and the six of ring 1 have 6; the ring-2 corners 3, the
    // ring-2 edges 4.
    assert_eq!(degrees.iter().filter(|&&d| d == 6).count(), 7);
    assert_eq!(degrees.iter().filter(|&&d| d == 3).count(), 6);
    assert_eq!(degrees.iter().filter(|&&d| d == 4).count(), 6);
    for i in 0..grid.len() {
        for &j in grid.neighbours(i) {
            let j = j as usize;
            assert_ne!(i, j);
            assert!(grid.neighbours(j).contains(&(i as u32)), "symmetric");
            assert_eq!(grid.cells()[i].is_neighbor_with(grid.cells()[j]), Ok(true));
        }
    }
}

#[test]
fn pentagons_have_five_neighbours() {
    let pentagon = Resolution::Three.pentagons().next().unwrap();
    let grid = Grid::from_cells(pentagon.grid_disk(1)).unwrap();
    assert_eq!(grid.len(), 6);
    let i = grid.index_of(pentagon).unwrap();
    assert_eq!(grid.neighbours(i).len(), 5);
}

#[test]
fn from_cells_refuses_no_cell_and_mixed_resolutions() {
    assert_eq!(Grid::from_cells(vec![]), Err(HotspotError::NoCells));
    let a = centre(Resolution::Seven);
    let b = centre(Resolution::Six);
    let err = Grid::from_cells(vec![a, b]).unwrap_err();
    assert!(matches!(
        err,
        HotspotError::MixedResolutions {
            expected: 7,
            found: 6,
            ..
        }
    ));
    let msg = err.to_string();
    assert!(msg.contains(&b.to_string()), "{msg}");
}

#[test]
fn covering_takes_cells_whose_centres_are_inside() {
    let area = rect(1.0, 14.0, 2.0, 15.0);
    let grid = Grid::covering(&area, Resolution::Five).unwrap();
    // ~108 km × 111 km over ~252 km² per cell.
    assert!((30..=70).contains(&grid.len()), "{}", grid.len());
    for &cell in grid.cells() {
        let c = LatLng::from(cell);
        assert!((1.0..=2.0).contains(&c.lng()) && (14.0..=15.0).contains(&c.lat()));
    }
    // Every cell of the bounding disk with its centre inside is in the grid.
    let all: Vec<CellIndex> = LatLng::new(14.5, 1.5)
        .unwrap()
        .to_cell(Resolution::Five)
        .grid_disk(8);
    let inside = all
        .iter()
        .filter(|&&cell| {
            let c = LatLng::from(cell);
            c.lng() > 1.0 && c.lng() < 2.0 && c.lat() > 14.0 && c.lat() < 15.0
        })
        .count();
    assert_eq!(inside, grid.len());
}

#[test]
fn covering_refuses_huge_and_empty_grids() {
    let sahel = rect(-17.0, 10.0, 24.0, 25.0);
    let err = Grid::covering(&sahel, Resolution::Twelve).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, HotspotError::TooManyCells { resolution: 12, .. }),
        "{err:?}"
    );
    assert!(msg.contains("coarser resolution"), "{msg}");
    assert!(msg.contains("2000000"), "{msg}");

    let tiny = rect(1.0, 14.0, 1.0001, 14.0001);
    assert_eq!(
        Grid::covering(&tiny, Resolution::Two),
        Err(HotspotError::EmptyGrid { resolution: 2 })
    );

    let bad = rect(1.0, 14.0, f64::NAN, 15.0);
    assert!(matches!(
        Grid::covering(&bad, Resolution::Five),
        Err(HotspotError::InvalidArea(_))
    ));
}

#[test]
fn counts_points_per_cell_and_reports_the_ignored() {
    let grid = disk_grid(1);
    let c = LatLng::from(centre(Resolution::Seven));
    let points = vec![
        (c.lat(), c.lng()),
        (c.lat(), c.lng()),
        (0.0, 0.0),      // outside
        (f64::NAN, 1.0), // invalid
        (91.0, 1.0),     // invalid
        (15.0, 200.0),   // invalid
    ];
    let counts = grid.count_points(points.clone());
    assert_eq!(counts.outside, 1);
    assert_eq!(counts.invalid, 3);
    assert_eq!(counts.ignored(), 4);
    let mid = grid.index_of(centre(Resolution::Seven)).unwrap();
    assert_eq!(counts.counts[mid], 2.0);
    assert_eq!(counts.counts.iter().sum::<f64>(), 2.0);
    assert_eq!(grid.counts(points), counts.counts);
}

// ---------------------------------------------------------------- Gi*

/// Gi* straight from the textbook formula, neighbours found by brute force.
fn naive_gi_star(cells: &[CellIndex], x: &[f64]) -> Vec<f64> {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let s = (x.iter().map(|v| v * v).sum::<f64>() / n - mean * mean).sqrt();
    (0..cells.len())
        .map(|i| {
            let w: Vec<f64> = (0..cells.len())
                .map(|j| {
                    if i == j || cells[i].is_neighbor_with(cells[j]) == Ok(true) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            let sw: f64 = w.iter().sum();
            let sw2: f64 = w.iter().map(|v| v * v).sum();
            let swx: f64 = w.iter().zip(x).map(|(a, b)| a * b).sum();
            (swx - mean * sw) / (s * ((n * sw2 - sw * sw) / (n - 1.0)).sqrt())
        })
        .collect()
}

#[test]
fn gi_star_matches_the_naive_formula() {
    let grid = disk_grid(3);
    assert_eq!(grid.len(), 37);
    let mut rng = Lcg(7);
    let mid = grid.index_of(centre(Resolution::Seven)).unwrap();
    let values: Vec<f64> = (0..grid.len())
        .map(|i| {
            let near = i == mid || grid.neighbours(mid).contains(&(i as u32));
            (rng.next() * 4.0).floor() + if near { 5.0 } else { 0.0 }
        })
        .collect();
    let ours = gi_star(&grid, &values).unwrap();
    let naive = naive_gi_star(grid.cells(), &values);
    for (a, b) in ours.iter().zip(&naive) {
        assert_close(a.z, *b, 1e-9);
        assert_close(a.p, libm::erfc(b.abs() / 2f64.sqrt()), 1e-12);
    }
    assert!(ours[mid].z > 2.0, "{:?}", ours[mid]);
}

#[test]
fn gi_star_hand_computed_on_a_line_of_three() {
    // Three cells in a row: a–b–c, values 1, 2, 6. n = 3, X̄ = 3,
    // S = sqrt((1 + 4 + 36)/3 − 9) = sqrt(14/3).
    // b: W = 3, Σwx = 9, spread = (9 − 9)/2 = 0 → degenerate (neighbourhood
    // is the whole grid). a: W = 2, Σwx = 3, z = (3 − 6)/(S·sqrt((6 − 4)/2))
    // = −3/S. c: W = 2, Σwx = 8, z = 2/S.
    let b = centre(Resolution::Seven);
    let ring: Vec<CellIndex> = b.grid_ring_fast(1).map(Option::unwrap).collect();
    let a = ring[0];
    let c = *ring
        .iter()
        .find(|&&c| c != a && c.is_neighbor_with(a) == Ok(false))
        .unwrap();
    let grid = Grid::from_cells(vec![a, b, c]).unwrap();
    let mut values = vec![0.0; 3];
    values[grid.index_of(a).unwrap()] = 1.0;
    values[grid.index_of(b).unwrap()] = 2.0;
    values[grid.index_of(c).unwrap()] = 6.0;
    let gi = gi_star(&grid, &values).unwrap();
    let s = (14.0f64 / 3.0).sqrt();
    assert_close(gi[grid.index_of(a).unwrap()].z, -3.0 / s, 1e-12);
    assert_close(gi[grid.index_of(c).unwrap()].z, 2.0 / s, 1e-12);
    assert_eq!(gi[grid.index_of(b).unwrap()], GiStar::NONE);
}

#[test]
fn gi_star_degenerate_cases_give_zero_and_one() {
    let grid = disk_grid(2);
    let constant = vec![0.1; grid.len()];
    assert!(
        gi_star(&grid, &constant)
            .unwrap()
            .iter()
            .all(|g| *g == GiStar::NONE)
    );
    let zeros = vec![0.0; grid.len()];
    assert!(
        gi_star(&grid, &zeros)
            .unwrap()
            .iter()
            .all(|g| *g == GiStar::NONE)
    );

    let two =
        Grid::from_cells(centre(Resolution::Seven).grid_disk::<Vec<_>>(1)[..2].to_vec()).unwrap();
    assert_eq!(
        gi_star(&two, &[1.0, 5.0]).unwrap(),
        vec![GiStar::NONE, GiStar::NONE]
    );
    // n = 7 around one cell: the centre's neighbourhood is the whole grid.
    let seven = disk_grid(1);
    let mut v = vec![1.0; 7];
    v[0] = 3.0;
    let gi = gi_star(&seven, &v).unwrap();
    assert!(gi.iter().all(|g| g.z.is_finite() && g.p.is_finite()));
    let mid = seven.index_of(centre(Resolution::Seven)).unwrap();
    assert_eq!(gi[mid], GiStar::NONE);
}

#[test]
fn gi_star_refuses_bad_values() {
    let grid = disk_grid(1);
    let err = gi_star(&grid, &[1.0; 5]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "values has 5 values, expected 7 (one per cell of the grid)"
    );
    let mut v = vec![1.0; 7];
    v[3] = f64::NAN;
    assert!(matches!(
        gi_star(&grid, &v),
        Err(HotspotError::NonFinite { index: 3, .. })
    ));
}

// ---------------------------------------------------------------- FDR

#[test]
fn fdr_bh_matches_r_p_adjust() {
    // p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "BH")
    for q in fdr_bh(&[0.01, 0.02, 0.03, 0.04, 0.05]) {
        assert_close(q, 0.05, 1e-15);
    }
    // p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.5), "BH")
    let q = fdr_bh(&[0.01, 0.04, 0.03, 0.005, 0.5]);
    for (a, b) in q.iter().zip([0.025, 0.05, 0.05, 0.025, 0.5]) {
        assert_close(*a, b, 1e-15);
    }
    // p.adjust(c(0.9, 0.2, 0.6), "BH") = 0.9, 0.6, 0.9
    let q = fdr_bh(&[0.9, 0.2, 0.6]);
    for (a, b) in q.iter().zip([0.9, 0.6, 0.9]) {
        assert_close(*a, b, 1e-15);
    }
    assert_eq!(fdr_bh(&[]), Vec::<f64>::new());
    assert_eq!(fdr_bh(&[f64::NAN, 1.5]), vec![1.0, 1.0]);
    // Monotone in p, never below p, at most 1.
    let mut rng = Lcg(3);
    let p: Vec<f64> = (0..500).map(|_| rng.next().powi(3)).collect();
    let q = fdr_bh(&p);
    let mut pairs: Vec<(f64, f64)> = p.iter().copied().zip(q.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(pairs.windows(2).all(|w| w[0].1 <= w[1].1));
    assert!(pairs.iter().all(|&(p, q)| q >= p && q <= 1.0));
}

#[test]
fn classes_use_the_adjusted_p_value() {
    assert_eq!(HotColdClass::from_z_q(3.0, 0.009), HotColdClass::Hot99);
    assert_eq!(HotColdClass::from_z_q(3.0, 0.01), HotColdClass::Hot95);
    assert_eq!(HotColdClass::from_z_q(2.0, 0.07), HotColdClass::Hot90);
    assert_eq!(
        HotColdClass::from_z_q(2.0, 0.1),
        HotColdClass::NotSignificant
    );
    assert_eq!(HotColdClass::from_z_q(-3.0, 0.001), HotColdClass::Cold99);
    assert_eq!(HotColdClass::from_z_q(-3.0, 0.04), HotColdClass::Cold95);
    assert_eq!(HotColdClass::from_z_q(-3.0, 0.09), HotColdClass::Cold90);
    assert_eq!(
        HotColdClass::from_z_q(0.0, 0.0),
        HotColdClass::NotSignificant
    );
    assert_eq!(HotColdClass::Cold95.bin(), -2);
    // Raw p = 0.03 on each of 5 cells is Hot95 alone, but adjusted over
    // cells with p = 1 it is not significant: 0.03 · 5 / 1 = 0.15.
    let gi = [
        GiStar { z: 2.17, p: 0.03 },
        GiStar::NONE,
        GiStar::NONE,
        GiStar::NONE,
        GiStar::NONE,
    ];
    assert_eq!(classify_hot_cold(&gi[..1]), vec![HotColdClass::Hot95]);
    assert_eq!(classify_hot_cold(&gi)[0], HotColdClass::NotSignificant);
}

// ---------------------------------------------------------------- Mann–Kendall

#[test]
fn mann_kendall_on_a_rising_series() {
    // S = 10, Var(S) = 5·4·15/18 = 50/3, z = 9/sqrt(50/3) = 2.2045407685,
    // p = 0.0274863361 (as pymannkendall.original_test).
    let mk = mann_kendall(&[1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(mk.s, 10);
    assert_close(mk.var_s, 50.0 / 3.0, 1e-12);
    assert_close(mk.z, 2.204_540_768_504_860_4, 1e-12);
    assert_close(mk.p, 0.027_486_336_111_510_3, 1e-12);
    assert_close(mk.tau, 1.0, 0.0);
}

#[test]
fn mann_kendall_with_ties_by_hand() {
    // x = 1, 3, 2, 2, 5. Pairs: from 1: + + + + (4); from 3: − − + (−1);
    // from 2: 0 + (1); from 2: + (1). S = 5.
    // Var(S) = (5·4·15 − 2·1·9)/18 = 282/18; z = 4/sqrt(282/18) = 1.01058;
    // p = 0.31222; tau = 5/10.
    let mk = mann_kendall(&[1.0, 3.0, 2.0, 2.0, 5.0]);
    assert_eq!(mk.s, 5);
    assert_close(mk.var_s, 282.0 / 18.0, 1e-12);
    assert_close(mk.z, 1.010_582_305_279_822_8, 1e-12);
    assert_close(mk.p, 0.312_216_388_343_319_3, 1e-12);
    assert_close(mk.tau, 0.5, 0.0);
    assert_eq!(mk.n, 5);
}

#[test]
fn mann_kendall_falling_with_several_tie_groups() {
    // Ties: 5 ×2, 3 ×3, 0 ×2. Var(S) = (12·11·29 − 18 − 66 − 18)/18 = 207.
    // S = −39, z = −38/sqrt(207) = −2.64118, p = 0.00826 (pymannkendall).
    let x = [5.0, 5.0, 4.0, 6.0, 3.0, 3.0, 3.0, 2.0, 8.0, 1.0, 0.0, 0.0];
    let mk = mann_kendall(&x);
    assert_eq!(mk.s, -39);
    assert_close(mk.var_s, 207.0, 1e-12);
    assert_close(mk.z, -2.641_182_578_056_280_3, 1e-12);
    assert_close(mk.p, 0.008_261_718_371_514_126, 1e-12);
    assert_close(mk.tau, -39.0 / 66.0, 1e-15);
    // NaN are missing: the same result with gaps.
    let mut gappy = x.to_vec();
    gappy.insert(3, f64::NAN);
    gappy.push(f64::NAN);
    assert_eq!(mann_kendall(&gappy), mk);
}

#[test]
fn mann_kendall_degenerate() {
    for x in [&[][..], &[1.0], &[2.0, 2.0, 2.0], &[f64::NAN, 1.0]] {
        let mk = mann_kendall(x);
        assert_eq!((mk.s, mk.z, mk.p), (0, 0.0, 1.0), "{x:?}");
    }
}

#[test]
fn sens_slope_with_gilbert_interval() {
    // x = 1, 3, 2, 2, 5: slopes sorted −1, −1/2, 0, 1/3, 1/2, 2/3, 1, 3/2, 2, 3
    // (N' = 10), median (1/2 + 2/3)/2 = 7/12.
    // C = 1.959964 · sqrt(282/18) = 7.757761; M1 = (10 − C)/2 = 1.1211195,
    // M2 + 1 = (10 + C)/2 + 1 = 9.8788805 (1-based ranks).
    // low = −1 + 0.1211195 · 0.5 = −0.9394402, high = 2 + 0.8788805 · 1.
    let sen = sens_slope(&[1.0, 3.0, 2.0, 2.0, 5.0]).unwrap();
    assert_close(sen.slope, 7.0 / 12.0, 1e-15);
    let c = 1.959_963_984_540_054 * (282.0f64 / 18.0).sqrt();
    assert_close(c, 7.757_761, 1e-6);
    let m1 = (10.0 - c) / 2.0;
    let m2 = (10.0 + c) / 2.0 + 1.0;
    assert_close(sen.low, -1.0 + (m1 - 1.0) * 0.5, 1e-12);
    assert_close(sen.high, 2.0 + (m2 - 9.0), 1e-12);
    assert_close(sen.low, -0.939_440_2, 1e-6);
    assert_close(sen.high, 2.878_880_5, 1e-6);
}

#[test]
fn sens_slope_skips_missing_values_keeping_their_index() {
    // Points (0, 1), (2, 3), (3, 7): slopes 1, 2, 4 → median 2.
    let sen = sens_slope(&[1.0, f64::NAN, 3.0, 7.0]).unwrap();
    assert_close(sen.slope, 2.0, 1e-15);
    // Short series: the interval is the whole range of slopes.
    assert_close(sen.low, 1.0, 1e-15);
    assert_close(sen.high, 4.0, 1e-15);
    assert_eq!(sens_slope(&[1.0, f64::NAN]), None);
    assert_eq!(sens_slope(&[]), None);
    let flat = sens_slope(&[2.0, 2.0, 2.0]).unwrap();
    assert_eq!((flat.slope, flat.low, flat.high), (0.0, 0.0, 0.0));
    // A straight line: every slope the same.
    let line: Vec<f64> = (0..30).map(|i| 0.5 * f64::from(i) - 3.0).collect();
    let sen = sens_slope(&line).unwrap();
    assert_eq!((sen.slope, sen.low, sen.high), (0.5, 0.5, 0.5));
}

// ---------------------------------------------------------------- emerging

/// Ten slices of independent 0/1 background noise on a disk of radius 10
/// (331 cells).
fn emerging_setup() -> (Grid, Vec<Vec<f64>>) {
    let grid = disk_grid(10);
    let mut rng = Lcg(42);
    let slices = (0..10)
        .map(|_| {
            (0..grid.len())
                .map(|_| (rng.next() * 2.0).floor())
                .collect()
        })
        .collect();
    (grid, slices)
}

/// Adds `v` to the cell at `cell` and its six neighbours in slice `k`.
fn bump(grid: &Grid, slices: &mut [Vec<f64>], k: usize, cell: CellIndex, v: f64) {
    let i = grid.index_of(cell).unwrap();
    slices[k][i] += v;
    for &j in grid.neighbours(i) {
        slices[k][j as usize] += v;
    }
}

fn spot(k: u32, which: usize) -> CellIndex {
    centre(Resolution::Seven)
        .grid_ring_fast(k)
        .nth(which)
        .unwrap()
        .unwrap()
}

#[test]
fn emerging_new_and_sporadic() {
    let (grid, mut slices) = emerging_setup();
    let new = spot(6, 12);
    let sporadic = spot(6, 24);
    bump(&grid, &mut slices, 9, new, 20.0);
    for k in [2, 5, 9] {
        bump(&grid, &mut slices, k, sporadic, 10.0);
    }
    let out = emerging_hotspots(&grid, &slices).unwrap();
    let at = |c: CellIndex| out[grid.index_of(c).unwrap()];
    assert_eq!(at(new).class, EmergingClass::New, "{:?}", at(new));
    assert_eq!(at(new).hot_slices, 1);
    assert_eq!(
        at(sporadic).class,
        EmergingClass::Sporadic,
        "{:?}",
        at(sporadic)
    );
    assert_eq!(at(sporadic).hot_slices, 3);
    // Far from every bump: not hot.
    assert_eq!(at(spot(3, 9)).class, EmergingClass::NotHot);
    assert!(out.iter().all(|c| c.z.is_finite() && c.trend_p.is_finite()));
}

#[test]
fn emerging_persistent() {
    // The same noise in every slice: identical z-scores, no trend.
    let (grid, slices) = emerging_setup();
    let mut slices = vec![slices[0].clone(); 10];
    let persistent = spot(6, 0);
    for k in 0..10 {
        bump(&grid, &mut slices, k, persistent, 8.0);
    }
    let out = emerging_hotspots(&grid, &slices).unwrap();
    let at = |c: CellIndex| out[grid.index_of(c).unwrap()];
    assert_eq!(
        at(persistent).class,
        EmergingClass::Persistent,
        "{:?}",
        at(persistent)
    );
    assert_eq!(at(persistent).hot_slices, 10);
    assert!(at(persistent).trend_p >= TREND_ALPHA);
    assert_eq!(at(spot(3, 9)).class, EmergingClass::NotHot);
}

#[test]
fn emerging_trends() {
    let (grid, mut slices) = emerging_setup();
    let rising = spot(6, 0);
    let falling = spot(6, 18);
    let gone = spot(6, 27);
    for k in 0..10 {
        bump(&grid, &mut slices, k, rising, 12.0 + 2.0 * k as f64);
        bump(&grid, &mut slices, k, falling, 30.0 - 2.0 * k as f64);
        if k < 9 {
            bump(&grid, &mut slices, k, gone, 10.0);
        }
    }
    let out = emerging_hotspots(&grid, &slices).unwrap();
    let at = |c: CellIndex| out[grid.index_of(c).unwrap()];
    assert_eq!(
        at(rising).class,
        EmergingClass::Intensifying,
        "{:?}",
        at(rising)
    );
    assert!(at(rising).trend_tau > 0.5);
    assert_eq!(
        at(falling).class,
        EmergingClass::Diminishing,
        "{:?}",
        at(falling)
    );
    assert!(at(falling).trend_tau < -0.5);
    assert_eq!(at(gone).class, EmergingClass::Historical, "{:?}", at(gone));
    assert_eq!(at(gone).hot_slices, 9);
}

#[test]
fn emerging_refuses_bad_slices() {
    let grid = disk_grid(1);
    assert_eq!(emerging_hotspots(&grid, &[]), Err(HotspotError::NoSlices));
    let err = emerging_hotspots(&grid, &[vec![0.0; 7], vec![0.0; 6]]).unwrap_err();
    assert_eq!(
        err,
        HotspotError::WrongLength {
            what: "slice 1".to_owned(),
            expected: 7,
            found: 6
        }
    );
    assert_eq!(
        err.to_string(),
        "slice 1 has 6 values, expected 7 (one per cell of the grid)"
    );
}
