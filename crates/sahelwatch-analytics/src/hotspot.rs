//! Hot spots on an H3 grid: Getis-Ord Gi*, a Benjamini–Hochberg
//! false-discovery-rate correction, the Mann–Kendall trend test with Sen's
//! slope, and emerging-hotspot classes over time slices.
//!
//! # The grid and its weights
//!
//! A [`Grid`] is a sorted set of H3 cells of one resolution. Two cells are
//! neighbours when they share an edge (queen contiguity on hexagons: the
//! cell's `grid_disk(1)` ring), restricted to cells of the grid. The weights
//! are binary, and Gi* ("star") counts the cell itself with weight 1, so a
//! cell with `k` neighbours in the grid has `W_i = k + 1`.
//!
//! # Gi*
//!
//! The statistic is the standardised Gi* of Getis & Ord (1995), as computed by
//! ArcGIS and by PySAL's `esda.G_Local(y, w, transform='B', star=True)`:
//!
//! ```text
//! Gi* = (Σ_j w_ij x_j − X̄ Σ_j w_ij) / ( S · sqrt( (n Σ_j w_ij² − (Σ_j w_ij)²) / (n − 1) ) )
//! X̄ = Σ x / n,   S = sqrt(Σ x² / n − X̄²)   (population standard deviation)
//! ```
//!
//! esda writes the same thing as `(G − E[G]) / sqrt(V[G])` with
//! `G = Σ_j w_ij x_j / Σ x`, `E[G] = W_i / n` and
//! `V[G] = W_i (n − W_i) / (n − 1) / n² · S² / X̄²`; multiplying numerator
//! and denominator by `Σ x = n X̄` gives the formula above (with binary
//! weights `Σ w² = Σ w = W_i`), as long as `X̄ > 0` (esda divides by `X̄`,
//! so for a negative mean its sign flips; counts are never negative).
//! `scripts/analytics/gi_check.py` checks our values against esda's.
//!
//! The p-value is two-sided, from the standard normal: `p = erfc(|z| / √2)`
//! (esda's `p_norm` is the one-sided `sf(|z|)`, half of ours).
//!
//! Degenerate cases give `z = 0, p = 1` rather than NaN or infinity:
//! fewer than 3 cells; no variation (`S == 0`, to within `1e-12` of the
//! largest `|x|`); and a cell whose neighbourhood is the whole grid
//! (`W_i == n`, where the variance of `G` is 0; esda gives NaN there).
//!
//! # Classes
//!
//! [`classify_hot_cold`] classifies every cell on the **FDR-adjusted** p-value
//! (the Benjamini–Hochberg q-value of [`fdr_bh`] over all cells of the grid),
//! not the raw p-value: testing tens of thousands of cells at 5 % would
//! otherwise flag thousands of cells by chance. The confidence levels are
//! 99 % (`q < 0.01`), 95 % (`q < 0.05`) and 90 % (`q < 0.10`), hot when
//! `z > 0` and cold when `z < 0`.
//!
//! # Emerging hot spots
//!
//! [`emerging_hotspots`] follows ESRI's Emerging Hot Spot Analysis, simplified;
//! see its documentation for the exact rules.

use std::fmt;

use geo::MultiPolygon;
use h3o::geom::{ContainmentMode, TilerBuilder};
use h3o::{CellIndex, LatLng, Resolution};
use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// The most cells a grid may have. Gi* itself would cope with more, but a
/// map of several million hexagons is no use to anyone, and the memory and
/// time go up with it.
pub const MAX_GRID_CELLS: usize = 2_000_000;

/// A significance level for "hot" in [`emerging_hotspots`]: FDR-adjusted
/// `p < 0.05`.
pub const HOT_ALPHA: f64 = 0.05;

/// The significance level of the Mann–Kendall trend in [`emerging_hotspots`].
pub const TREND_ALPHA: f64 = 0.05;

/// The two-sided 95 % normal quantile, `Φ⁻¹(0.975)`.
pub const Z_975: f64 = 1.959_963_984_540_054;

/// What can go wrong building a grid or computing statistics on it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HotspotError {
    /// The area to cover is not a valid polygon for H3.
    #[error("the area to cover is not a valid polygon: {0}")]
    InvalidArea(String),
    /// The grid would be too large.
    #[error(
        "the area needs {bound} {count} H3 cells at resolution {resolution}, over the limit of \
         {limit}: use a coarser resolution (each step coarser divides the count by about 7)"
    )]
    TooManyCells {
        /// How `count` bounds the real number of cells.
        bound: CountBound,
        /// The number of cells (see `bound`).
        count: usize,
        /// The resolution asked for.
        resolution: u8,
        /// [`MAX_GRID_CELLS`].
        limit: usize,
    },
    /// No cell centre lies inside the area.
    #[error(
        "no H3 cell centre at resolution {resolution} lies inside the area: use a finer resolution"
    )]
    EmptyGrid {
        /// The resolution asked for.
        resolution: u8,
    },
    /// [`Grid::from_cells`] was given no cell.
    #[error("a grid needs at least one cell")]
    NoCells,
    /// [`Grid::from_cells`] was given cells of different resolutions.
    #[error(
        "all cells of a grid must have the same resolution: cell {cell} has resolution {found}, \
         the first cell has {expected}"
    )]
    MixedResolutions {
        /// The resolution of the first cell.
        expected: u8,
        /// The resolution of the offending cell.
        found: u8,
        /// The offending cell.
        cell: String,
    },
    /// A vector of values does not have one value per cell of the grid.
    #[error("{what} has {found} values, expected {expected} (one per cell of the grid)")]
    WrongLength {
        /// Which input (e.g. "values", "slice 3").
        what: String,
        /// The number of cells of the grid.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A value is NaN or infinite.
    #[error("{what} has a value that is not a finite number at cell index {index}: {value}")]
    NonFinite {
        /// Which input (e.g. "values", "slice 3").
        what: String,
        /// The position of the value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// [`emerging_hotspots`] was given no time slice.
    #[error("emerging hot spots need at least one time slice, got none")]
    NoSlices,
}

/// How the count in [`HotspotError::TooManyCells`] bounds the real count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountBound {
    /// An estimate from the area's bounding boxes (an upper bound).
    About,
    /// The tiling was stopped past the limit: the real count is larger.
    MoreThan,
    /// The exact count.
    Exactly,
}

impl fmt::Display for CountBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::About => "about",
            Self::MoreThan => "more than",
            Self::Exactly => "exactly",
        })
    }
}

/// A set of H3 cells of one resolution, sorted, with each cell's neighbours
/// in the grid computed once.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    resolution: Resolution,
    cells: Vec<CellIndex>,
    /// Neighbours of cell `i` (without `i`) are
    /// `adjacency[offsets[i]..offsets[i + 1]]`, as indices into `cells`.
    offsets: Vec<u32>,
    adjacency: Vec<u32>,
}

/// Per-cell point counts from [`Grid::count_points`].
#[derive(Debug, Clone, PartialEq)]
pub struct PointCounts {
    /// One count per cell of the grid, in the grid's order.
    pub counts: Vec<f64>,
    /// Points whose cell is not in the grid.
    pub outside: usize,
    /// Points with a NaN or infinite coordinate, or one out of range
    /// (latitude outside −90..=90, longitude outside −180..=180).
    pub invalid: usize,
}

impl PointCounts {
    /// All the points not counted in a cell.
    #[must_use]
    pub fn ignored(&self) -> usize {
        self.outside + self.invalid
    }
}

impl Grid {
    /// The cells of `resolution` whose centres lie inside `area` (longitude
    /// as x, latitude as y, in degrees).
    ///
    /// # Errors
    ///
    /// [`HotspotError::InvalidArea`] for coordinates H3 refuses,
    /// [`HotspotError::TooManyCells`] past [`MAX_GRID_CELLS`] cells and
    /// [`HotspotError::EmptyGrid`] when no cell centre is inside.
    pub fn covering(
        area: &MultiPolygon<f64>,
        resolution: Resolution,
    ) -> Result<Self, HotspotError> {
        // H3's own tiler traces every outline with boolean operations, which
        // takes a minute on a country's detailed border. Instead: tile each
        // polygon's bounding box (four corners, fast), then keep the cells
        // whose centre is inside that polygon (a point-in-polygon test).
        use geo::{BoundingRect, CoordsIter, Intersects};
        if let Some(c) = area
            .coords_iter()
            .find(|c| !c.x.is_finite() || !c.y.is_finite())
        {
            return Err(HotspotError::InvalidArea(format!(
                "the area has a coordinate that is not a finite number ({}, {})",
                c.x, c.y
            )));
        }
        let mut boxes = Vec::with_capacity(area.0.len());
        let mut hint = 0usize;
        for p in &area.0 {
            let Some(r) = p.bounding_rect() else { continue };
            // One tiler per box: a tiler given several polygons merges them first.
            let mut tiler = TilerBuilder::new(resolution)
                .containment_mode(ContainmentMode::ContainsCentroid)
                .build();
            tiler
                .add(r.to_polygon())
                .map_err(|e| HotspotError::InvalidArea(e.to_string()))?;
            hint = hint.saturating_add(tiler.coverage_size_hint());
            boxes.push((r, p, tiler));
        }
        let too_many = |bound, count| HotspotError::TooManyCells {
            bound,
            count,
            resolution: u8::from(resolution),
            limit: MAX_GRID_CELLS,
        };
        // The hint is an upper bound from the boxes: far past the limit,
        // refuse before tiling.
        if hint > MAX_GRID_CELLS.saturating_mul(4) {
            return Err(too_many(CountBound::About, hint));
        }
        let mut cells: Vec<CellIndex> = Vec::new();
        for (r, p, tiler) in boxes {
            for c in tiler.into_coverage() {
                let ll = LatLng::from(c);
                let pt = geo::Point::new(ll.lng(), ll.lat());
                if r.intersects(&pt) && p.intersects(&pt) {
                    cells.push(c);
                }
            }
            if cells.len() > 2 * MAX_GRID_CELLS {
                break;
            }
        }
        cells.sort_unstable();
        cells.dedup();
        if cells.len() > MAX_GRID_CELLS {
            return Err(too_many(CountBound::MoreThan, MAX_GRID_CELLS));
        }
        if cells.is_empty() {
            return Err(HotspotError::EmptyGrid {
                resolution: u8::from(resolution),
            });
        }
        Ok(Self::build(resolution, cells))
    }

    /// A grid of the given cells (any order; duplicates are dropped).
    ///
    /// # Errors
    ///
    /// [`HotspotError::NoCells`] for no cell, [`HotspotError::MixedResolutions`]
    /// when the cells are not all of the same resolution, and
    /// [`HotspotError::TooManyCells`] past [`MAX_GRID_CELLS`].
    pub fn from_cells(mut cells: Vec<CellIndex>) -> Result<Self, HotspotError> {
        let Some(first) = cells.first() else {
            return Err(HotspotError::NoCells);
        };
        let resolution = first.resolution();
        if let Some(bad) = cells.iter().find(|c| c.resolution() != resolution) {
            return Err(HotspotError::MixedResolutions {
                expected: u8::from(resolution),
                found: u8::from(bad.resolution()),
                cell: bad.to_string(),
            });
        }
        cells.sort_unstable();
        cells.dedup();
        if cells.len() > MAX_GRID_CELLS {
            return Err(HotspotError::TooManyCells {
                bound: CountBound::Exactly,
                count: cells.len(),
                resolution: u8::from(resolution),
                limit: MAX_GRID_CELLS,
            });
        }
        Ok(Self::build(resolution, cells))
    }

    /// `cells` sorted, deduplicated, of `resolution`, at most `MAX_GRID_CELLS`.
    fn build(resolution: Resolution, cells: Vec<CellIndex>) -> Self {
        let mut offsets = Vec::with_capacity(cells.len() + 1);
        let mut adjacency = Vec::with_capacity(cells.len() * 6);
        offsets.push(0u32);
        let mut disk = Vec::with_capacity(7);
        for &cell in &cells {
            disk.clear();
            disk.extend(cell.grid_disk_fast(1));
            if disk.iter().any(Option::is_none) {
                // Near a pentagon: the fast path gives up.
                disk.clear();
                disk.extend(cell.grid_disk_safe(1).map(Some));
            }
            let start = adjacency.len();
            for other in disk.iter().flatten() {
                if *other != cell
                    && let Ok(j) = cells.binary_search(other)
                {
                    adjacency.push(u32::try_from(j).expect("at most MAX_GRID_CELLS cells"));
                }
            }
            adjacency[start..].sort_unstable();
            offsets.push(u32::try_from(adjacency.len()).expect("at most 7 × MAX_GRID_CELLS"));
        }
        Self {
            resolution,
            cells,
            offsets,
            adjacency,
        }
    }

    /// The resolution of every cell.
    #[must_use]
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// The cells, sorted.
    #[must_use]
    pub fn cells(&self) -> &[CellIndex] {
        &self.cells
    }

    /// The number of cells (never 0).
    #[must_use]
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Always false: a grid has at least one cell.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The position of `cell` in [`Grid::cells`].
    #[must_use]
    pub fn index_of(&self, cell: CellIndex) -> Option<usize> {
        self.cells.binary_search(&cell).ok()
    }

    /// The neighbours in the grid of the cell at `index` (without itself),
    /// as positions in [`Grid::cells`], ascending.
    ///
    /// # Panics
    ///
    /// When `index >= self.len()`.
    #[must_use]
    pub fn neighbours(&self, index: usize) -> &[u32] {
        &self.adjacency[self.offsets[index] as usize..self.offsets[index + 1] as usize]
    }

    /// The number of points (latitude, longitude in degrees) in each cell.
    /// Points outside the grid or with bad coordinates are ignored:
    /// [`Grid::count_points`] tells how many.
    pub fn counts(&self, points: impl IntoIterator<Item = (f64, f64)>) -> Vec<f64> {
        self.count_points(points).counts
    }

    /// The number of points (latitude, longitude in degrees) in each cell,
    /// with the number of points ignored.
    pub fn count_points(&self, points: impl IntoIterator<Item = (f64, f64)>) -> PointCounts {
        let mut out = PointCounts {
            counts: vec![0.0; self.cells.len()],
            outside: 0,
            invalid: 0,
        };
        for (lat, lon) in points {
            let valid = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
            let Some(ll) = valid.then(|| LatLng::new(lat, lon).ok()).flatten() else {
                out.invalid += 1;
                continue;
            };
            match self.index_of(ll.to_cell(self.resolution)) {
                Some(i) => out.counts[i] += 1.0,
                None => out.outside += 1,
            }
        }
        out
    }
}

/// The Gi* of one cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GiStar {
    /// The standardised Gi* (a z-score): positive where high values cluster.
    pub z: f64,
    /// Two-sided p-value of `z` under the standard normal.
    pub p: f64,
}

impl GiStar {
    /// What degenerate cases give: no evidence either way.
    pub const NONE: Self = Self { z: 0.0, p: 1.0 };
}

fn check_values(what: &dyn Fn() -> String, values: &[f64], n: usize) -> Result<(), HotspotError> {
    if values.len() != n {
        return Err(HotspotError::WrongLength {
            what: what(),
            expected: n,
            found: values.len(),
        });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(HotspotError::NonFinite {
            what: what(),
            index,
            value,
        });
    }
    Ok(())
}

/// Two-sided p-value of a standard normal z-score.
#[must_use]
pub fn normal_two_sided_p(z: f64) -> f64 {
    libm::erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// Getis-Ord Gi* of every cell (see the module documentation for the
/// formula and the degenerate cases), `values` being one value per cell of
/// `grid`, in the grid's order.
///
/// # Errors
///
/// [`HotspotError::WrongLength`] when `values` does not have one value per
/// cell, [`HotspotError::NonFinite`] for a NaN or infinite value.
pub fn gi_star(grid: &Grid, values: &[f64]) -> Result<Vec<GiStar>, HotspotError> {
    gi_star_of(grid, values, &|| "values".to_owned())
}

fn gi_star_of(
    grid: &Grid,
    values: &[f64],
    what: &dyn Fn() -> String,
) -> Result<Vec<GiStar>, HotspotError> {
    let n = grid.len();
    check_values(what, values, n)?;
    if n < 3 {
        return Ok(vec![GiStar::NONE; n]);
    }
    let nf = n as f64;
    let mean = values.iter().sum::<f64>() / nf;
    // Two passes: exactly 0 for constant values, where Σx²/n − X̄² may not be.
    let variance = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / nf;
    let s = variance.sqrt();
    let scale = values.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    if s <= scale * 1e-12 {
        return Ok(vec![GiStar::NONE; n]);
    }
    let out = (0..n)
        .map(|i| {
            let neighbours = grid.neighbours(i);
            let w = (neighbours.len() + 1) as f64;
            let sum = values[i] + neighbours.iter().map(|&j| values[j as usize]).sum::<f64>();
            // Binary weights: Σ w² = Σ w = W_i.
            let spread = (nf * w - w * w) / (nf - 1.0);
            if spread <= 0.0 {
                return GiStar::NONE;
            }
            let z = (sum - mean * w) / (s * spread.sqrt());
            GiStar {
                z,
                p: normal_two_sided_p(z),
            }
        })
        .collect();
    Ok(out)
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the order of `p`:
/// `q_(i) = min_{j ≥ i} (m / j · p_(j))` over the p-values sorted ascending,
/// capped at 1, as R's `p.adjust(p, "BH")`. A NaN p-value counts as 1.
#[must_use]
pub fn fdr_bh(p: &[f64]) -> Vec<f64> {
    let clean = |x: f64| if x.is_nan() { 1.0 } else { x.clamp(0.0, 1.0) };
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| clean(p[a]).total_cmp(&clean(p[b])));
    let mut q = vec![1.0; m];
    let mut running = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(clean(p[i]) * m as f64 / (rank + 1) as f64);
        q[i] = running;
    }
    q
}

/// A cell's hot or cold spot class at the usual confidence levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HotColdClass {
    /// `z > 0`, adjusted `p < 0.01`.
    Hot99,
    /// `z > 0`, adjusted `0.01 ≤ p < 0.05`.
    Hot95,
    /// `z > 0`, adjusted `0.05 ≤ p < 0.10`.
    Hot90,
    /// Adjusted `p ≥ 0.10`, or `z == 0`.
    NotSignificant,
    /// `z < 0`, adjusted `0.05 ≤ p < 0.10`.
    Cold90,
    /// `z < 0`, adjusted `0.01 ≤ p < 0.05`.
    Cold95,
    /// `z < 0`, adjusted `p < 0.01`.
    Cold99,
}

impl HotColdClass {
    /// The class of a cell from its z-score and its **FDR-adjusted** p-value.
    #[must_use]
    pub fn from_z_q(z: f64, q: f64) -> Self {
        let level = if q < 0.01 {
            3
        } else if q < 0.05 {
            2
        } else if q < 0.10 {
            1
        } else {
            0
        };
        match (level, z > 0.0, z < 0.0) {
            (3, true, _) => Self::Hot99,
            (2, true, _) => Self::Hot95,
            (1, true, _) => Self::Hot90,
            (3, _, true) => Self::Cold99,
            (2, _, true) => Self::Cold95,
            (1, _, true) => Self::Cold90,
            _ => Self::NotSignificant,
        }
    }

    /// ArcGIS's `Gi_Bin`: 3, 2, 1 for hot at 99, 95, 90 %, 0 for not
    /// significant, −1, −2, −3 for cold.
    #[must_use]
    pub fn bin(self) -> i8 {
        match self {
            Self::Hot99 => 3,
            Self::Hot95 => 2,
            Self::Hot90 => 1,
            Self::NotSignificant => 0,
            Self::Cold90 => -1,
            Self::Cold95 => -2,
            Self::Cold99 => -3,
        }
    }

    /// Hot at any confidence.
    #[must_use]
    pub fn is_hot(self) -> bool {
        self.bin() > 0
    }

    /// Cold at any confidence.
    #[must_use]
    pub fn is_cold(self) -> bool {
        self.bin() < 0
    }
}

/// The class of every cell: the Benjamini–Hochberg adjustment of all the
/// cells' p-values, then [`HotColdClass::from_z_q`].
#[must_use]
pub fn classify_hot_cold(gi: &[GiStar]) -> Vec<HotColdClass> {
    let p: Vec<f64> = gi.iter().map(|g| g.p).collect();
    let q = fdr_bh(&p);
    gi.iter()
        .zip(q)
        .map(|(g, q)| HotColdClass::from_z_q(g.z, q))
        .collect()
}

/// The Mann–Kendall trend test of a series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MannKendall {
    /// `S = Σ_{i<j} sign(x_j − x_i)`.
    pub s: i64,
    /// `Var(S)` with the tie correction:
    /// `(n(n−1)(2n+5) − Σ_t t(t−1)(2t+5)) / 18`.
    pub var_s: f64,
    /// `(S − 1)/√Var(S)` for `S > 0`, `(S + 1)/√Var(S)` for `S < 0`, else 0.
    pub z: f64,
    /// Two-sided p-value of `z`.
    pub p: f64,
    /// Kendall's tau-a, `S / (n(n−1)/2)`.
    pub tau: f64,
    /// The number of values used (NaN are skipped).
    pub n: usize,
}

/// Sizes of the groups of tied values of `x` (groups of 1 included).
fn tie_groups(x: &[f64]) -> Vec<usize> {
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut groups = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        groups.push(j - i);
        i = j;
    }
    groups
}

/// `Var(S)` of Mann–Kendall for the (non-NaN) values `x`, tie-corrected.
fn mk_var_s(x: &[f64]) -> f64 {
    let f = |t: usize| {
        let t = t as f64;
        t * (t - 1.0) * (2.0 * t + 5.0)
    };
    let ties: f64 = tie_groups(x).into_iter().map(f).sum();
    (f(x.len()) - ties) / 18.0
}

fn sign(a: f64, b: f64) -> i64 {
    match b.partial_cmp(&a) {
        Some(std::cmp::Ordering::Greater) => 1,
        Some(std::cmp::Ordering::Less) => -1,
        _ => 0,
    }
}

/// The Mann–Kendall trend test of `series` in order, NaN values skipped as
/// missing. With fewer than 2 values, or all values tied, `z = 0`, `p = 1`.
#[must_use]
pub fn mann_kendall(series: &[f64]) -> MannKendall {
    let x: Vec<f64> = series.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = x.len();
    let mut s: i64 = 0;
    for i in 0..n {
        for j in i + 1..n {
            s += sign(x[i], x[j]);
        }
    }
    let var_s = if n < 2 { 0.0 } else { mk_var_s(&x) };
    let z = if var_s <= 0.0 {
        0.0
    } else if s > 0 {
        (s - 1) as f64 / var_s.sqrt()
    } else if s < 0 {
        (s + 1) as f64 / var_s.sqrt()
    } else {
        0.0
    };
    let pairs = n.saturating_sub(1) * n / 2;
    MannKendall {
        s,
        var_s,
        z,
        p: normal_two_sided_p(z),
        tau: if pairs == 0 {
            0.0
        } else {
            s as f64 / pairs as f64
        },
        n,
    }
}

/// Sen's slope with its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SenSlope {
    /// The median of the pairwise slopes.
    pub slope: f64,
    /// The lower limit of the 95 % confidence interval.
    pub low: f64,
    /// The upper limit of the 95 % confidence interval.
    pub high: f64,
}

/// Theil–Sen slope of `series` against its index `0..n`, with the 95 %
/// confidence interval of Gilbert (1987, §16.5): over the `N'` pairwise
/// slopes `(x_j − x_i)/(j − i)`, `i < j`, sorted ascending,
/// `C = 1.959964 · √Var(S)` (Var(S) of [`mann_kendall`], tie-corrected),
/// `M1 = (N' − C)/2`, `M2 = (N' + C)/2`; the limits are the `M1`-th and
/// `(M2 + 1)`-th smallest slopes (1-based), linearly interpolated between
/// ranks when not whole (as MAKESENS does) and clamped to the smallest and
/// largest slope when out of range (short series).
///
/// NaN values are missing: skipped, the others keep their index. `None`
/// with fewer than 2 values.
#[must_use]
pub fn sens_slope(series: &[f64]) -> Option<SenSlope> {
    let points: Vec<(f64, f64)> = series
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, &v)| (i as f64, v))
        .collect();
    if points.len() < 2 {
        return None;
    }
    let mut slopes = Vec::with_capacity(points.len() * (points.len() - 1) / 2);
    for (i, &(xi, yi)) in points.iter().enumerate() {
        for &(xj, yj) in &points[i + 1..] {
            slopes.push((yj - yi) / (xj - xi));
        }
    }
    slopes.sort_by(f64::total_cmp);
    let count = slopes.len();
    let slope = if count % 2 == 1 {
        slopes[count / 2]
    } else {
        (slopes[count / 2 - 1] + slopes[count / 2]) / 2.0
    };
    let values: Vec<f64> = points.iter().map(|&(_, v)| v).collect();
    let c = Z_975 * mk_var_s(&values).sqrt();
    let nf = count as f64;
    // 1-based rank, possibly fractional, to a value.
    let at_rank = |rank: f64| {
        let r = rank.clamp(1.0, nf) - 1.0;
        let lo = r.floor() as usize;
        let hi = r.ceil() as usize;
        slopes[lo] + (slopes[hi] - slopes[lo]) * (r - lo as f64)
    };
    Some(SenSlope {
        slope,
        low: at_rank((nf - c) / 2.0),
        high: at_rank((nf + c) / 2.0 + 1.0),
    })
}

/// An emerging-hotspot class (after ESRI's Emerging Hot Spot Analysis,
/// simplified: see [`emerging_hotspots`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmergingClass {
    /// Hot in the final slice only, never before.
    New,
    /// Hot in at least 90 % of the slices including the final one, its
    /// z-scores rising significantly.
    Intensifying,
    /// Hot in at least 90 % of the slices including the final one, no
    /// significant trend in its z-scores.
    Persistent,
    /// Hot in at least 90 % of the slices including the final one, its
    /// z-scores falling significantly.
    Diminishing,
    /// Hot in at least 90 % of the slices but not in the final one.
    Historical,
    /// Hot in the final slice, in fewer than 90 % of the slices, and hot
    /// before the final slice too.
    Sporadic,
    /// None of the above: not a significant hot spot over the whole period,
    /// or one whose pattern over the slices fits no class.
    NotHot,
}

/// One cell's emerging-hotspot result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmergingCell {
    /// The class.
    pub class: EmergingClass,
    /// The Gi* z-score over the whole period (the slices summed).
    pub z: f64,
    /// Its two-sided p-value.
    pub p: f64,
    /// Its FDR-adjusted p-value over the grid.
    pub q: f64,
    /// In how many slices the cell is a hot spot.
    pub hot_slices: usize,
    /// Mann–Kendall tau of the cell's per-slice z-scores.
    pub trend_tau: f64,
    /// Mann–Kendall two-sided p-value of the cell's per-slice z-scores.
    pub trend_p: f64,
}

/// Emerging hot spots: `slices` holds one value per cell of `grid` for each
/// time slice, oldest first (e.g. the counts of each month).
///
/// Gi* is computed for each slice and for the whole period (the slices
/// summed per cell). A cell is *hot* in a slice when its Gi* there has
/// `z > 0` and a Benjamini–Hochberg adjusted `p < 0.05` (adjusted over the
/// cells of that slice); it is *hot overall* likewise in the whole-period Gi*.
/// The trend of a cell is the Mann–Kendall test of its per-slice z-scores,
/// significant at `p < 0.05`. Then, in this order:
///
/// - not hot overall: [`EmergingClass::NotHot`] (every other class requires
///   the cell to be a significant hot spot over the whole period);
/// - hot in at least 90 % of the slices: not hot in the final slice,
///   [`EmergingClass::Historical`]; else rising trend,
///   [`EmergingClass::Intensifying`]; falling trend,
///   [`EmergingClass::Diminishing`]; no significant trend,
///   [`EmergingClass::Persistent`];
/// - hot in the final slice and in no earlier slice: [`EmergingClass::New`];
/// - hot in the final slice and in some earlier slice:
///   [`EmergingClass::Sporadic`];
/// - otherwise [`EmergingClass::NotHot`].
///
/// Simplifications against ESRI: no space-time cube (each slice's Gi* uses
/// the spatial neighbours in that slice only), no "consecutive" or
/// "oscillating" classes, no cold-spot classes, and Sporadic does not check
/// for cold slices. With a single slice, a cell hot in it and overall is
/// Persistent. With fewer than 4 slices the Mann–Kendall test cannot be
/// significant, so there is no Intensifying or Diminishing.
///
/// # Errors
///
/// [`HotspotError::NoSlices`] for no slice, [`HotspotError::WrongLength`]
/// for a slice without one value per cell, and
/// [`HotspotError::NonFinite`] for a NaN or infinite value.
pub fn emerging_hotspots(
    grid: &Grid,
    slices: &[Vec<f64>],
) -> Result<Vec<EmergingCell>, HotspotError> {
    if slices.is_empty() {
        return Err(HotspotError::NoSlices);
    }
    let n = grid.len();
    let t = slices.len();
    // z-scores per slice, and whether hot.
    let mut z_by_slice = Vec::with_capacity(t);
    let mut hot_by_slice = Vec::with_capacity(t);
    for (k, slice) in slices.iter().enumerate() {
        let gi = gi_star_of(grid, slice, &|| format!("slice {k}"))?;
        let q = fdr_bh(&gi.iter().map(|g| g.p).collect::<Vec<_>>());
        hot_by_slice.push(
            gi.iter()
                .zip(&q)
                .map(|(g, &q)| g.z > 0.0 && q < HOT_ALPHA)
                .collect::<Vec<bool>>(),
        );
        z_by_slice.push(gi.into_iter().map(|g| g.z).collect::<Vec<f64>>());
    }
    let total: Vec<f64> = (0..n).map(|i| slices.iter().map(|s| s[i]).sum()).collect();
    let overall = gi_star_of(grid, &total, &|| "the sum of the slices".to_owned())?;
    let overall_q = fdr_bh(&overall.iter().map(|g| g.p).collect::<Vec<_>>());

    let mut series = vec![0.0; t];
    let out = (0..n)
        .map(|i| {
            for (k, z) in z_by_slice.iter().enumerate() {
                series[k] = z[i];
            }
            let trend = mann_kendall(&series);
            let hot_slices = hot_by_slice.iter().filter(|h| h[i]).count();
            let final_hot = hot_by_slice[t - 1][i];
            let overall_hot = overall[i].z > 0.0 && overall_q[i] < HOT_ALPHA;
            let significant = trend.p < TREND_ALPHA;
            let class = if !overall_hot {
                EmergingClass::NotHot
            } else if hot_slices * 10 >= t * 9 {
                if !final_hot {
                    EmergingClass::Historical
                } else if significant && trend.z > 0.0 {
                    EmergingClass::Intensifying
                } else if significant && trend.z < 0.0 {
                    EmergingClass::Diminishing
                } else {
                    EmergingClass::Persistent
                }
            } else if final_hot && hot_slices == 1 {
                EmergingClass::New
            } else if final_hot {
                EmergingClass::Sporadic
            } else {
                EmergingClass::NotHot
            };
            EmergingCell {
                class,
                z: overall[i].z,
                p: overall[i].p,
                q: overall_q[i],
                hot_slices,
                trend_tau: trend.tau,
                trend_p: trend.p,
            }
        })
        .collect();
    Ok(out)
}
