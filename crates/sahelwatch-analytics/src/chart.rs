//! Charts: a line chart or grouped bars over categories (months, half-years,
//! regions, ...), rendered to a standalone SVG document by [`svg`] or to a
//! PNG image by [`png`].
//!
//! The SVG is written by hand with a fixed size ([`WIDTH`] x [`HEIGHT`]); the
//! layout is computed from estimated text widths of DejaVu Sans, the font it
//! asks for. [`png`] renders that same SVG with resvg, using a copy of
//! DejaVu Sans embedded in the binary (see `data/NOTICE.md`), so no system
//! font is needed and the picture is the same on every machine.
//!
//! Both functions are pure and never panic on odd data: no categories, no
//! series, all zeros, negative values, NaN or infinite values (drawn as gaps)
//! and text with XML special characters are all handled.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};
use serde::Serialize;

/// Width of every chart, in pixels (SVG user units).
pub const WIDTH: u32 = 960;
/// Height of every chart, in pixels (SVG user units).
pub const HEIGHT: u32 = 540;

/// One named series: one value per category, in the order of
/// [`Chart::categories`]. A missing (too short) or non-finite value is a gap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// One polyline per series, with point markers.
    Line,
    /// Grouped bars: one bar per series within each category.
    Bar,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    pub kind: ChartKind,
    /// Shown at the top, e.g. "Security incidents per month, Sahel".
    pub title: String,
    /// The x labels, e.g. "2024-01" or "2024-H1".
    pub categories: Vec<String>,
    /// Usually 1 to 4 series; a legend is drawn when there is more than one.
    pub series: Vec<Series>,
    /// The y-axis title with its unit, e.g. "incidents per month".
    pub y_label: String,
    /// The x-axis title, e.g. "month".
    pub x_label: String,
    /// Source and period, shown at the bottom in smaller text.
    pub caption: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the embedded chart font (DejaVu Sans) could not be loaded")]
    FontUnavailable,
    #[error("the generated chart SVG could not be parsed for rendering: {0}")]
    InvalidSvg(String),
    #[error("cannot allocate a {width}x{height} pixel canvas for the chart")]
    Canvas { width: u32, height: u32 },
    #[error("cannot encode the chart as PNG: {0}")]
    Encode(String),
}

/// The font every text asks for; DejaVu Sans is also what [`png`] embeds.
const FONT_FAMILY: &str = "DejaVu Sans, sans-serif";
const FONT_NAME: &str = "DejaVu Sans";
static FONT_DATA: &[u8] = include_bytes!("../data/DejaVuSans.ttf");

/// Okabe-Ito colours, most distinct first (the yellow is left out: it is
/// unreadable on white). More series than colours reuse them in order.
const PALETTE: [&str; 7] = [
    "#0072B2", // blue
    "#D55E00", // vermillion
    "#009E73", // bluish green
    "#CC79A7", // reddish purple
    "#E69F00", // orange
    "#56B4E9", // sky blue
    "#000000", // black
];

const TITLE_SIZE: f64 = 20.0;
const TITLE_MIN_SIZE: f64 = 14.0;
const AXIS_TITLE_SIZE: f64 = 13.0;
const AXIS_TITLE_MIN_SIZE: f64 = 11.0;
const LABEL_SIZE: f64 = 12.0;
const LEGEND_SIZE: f64 = 13.0;
const CAPTION_SIZE: f64 = 12.0;
const CAPTION_MIN_SIZE: f64 = 10.0;
const CAPTION_LINE: f64 = 15.0;
const CAPTION_MAX_LINES: usize = 2;

const TEXT_COLOUR: &str = "#222222";
const MUTED_COLOUR: &str = "#555555";
const AXIS_COLOUR: &str = "#333333";
const GRID_COLOUR: &str = "#e3e3e3";

/// At most this many x labels are drawn; the others are thinned out.
const MAX_X_LABELS: usize = 16;
/// Category labels longer than this are cut with an ellipsis.
const MAX_X_LABEL_CHARS: usize = 32;
const MAX_LEGEND_CHARS: usize = 32;
const MAX_LEGEND_ROWS: usize = 3;
/// Rotated labels need at least this much room between them (px).
const ROTATED_LABEL_SPACING: f64 = 18.0;
/// Horizontal labels need this gap between them (px).
const LABEL_GAP: f64 = 10.0;
/// The y axis aims at about this many intervals.
const TARGET_Y_INTERVALS: f64 = 5.0;
/// Point markers are drawn when categories are at least this far apart.
const MIN_MARKER_SLOT: f64 = 6.0;

/// Renders `chart` as a complete standalone SVG document of
/// [`WIDTH`] x [`HEIGHT`].
pub fn svg(chart: &Chart) -> String {
    let w = f64::from(WIDTH);
    let h = f64::from(HEIGHT);
    let n = chart.categories.len();
    let series_count = chart.series.len();

    // The data: only the values that have a category, only finite ones.
    let finite = || {
        chart
            .series
            .iter()
            .flat_map(|s| s.values.iter().take(n))
            .copied()
            .filter(|v| v.is_finite())
    };
    let has_data = finite().next().is_some();
    let (min, max) = finite().fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let integral = finite().all(is_integral);
    let ticks = nice_ticks(min, max, integral);
    let tick_labels: Vec<String> = ticks
        .values
        .iter()
        .map(|&v| format_number(v, ticks.decimals))
        .collect();
    let y_min = ticks.values.first().copied().unwrap_or(0.0);
    let y_max = ticks.values.last().copied().unwrap_or(1.0);

    // Texts, cleaned and cut to fit.
    let (title, title_size) = fit_line(&clean(&chart.title), TITLE_SIZE, TITLE_MIN_SIZE, w - 40.0);
    let (caption_lines, caption_size) = wrap_caption(&clean(&chart.caption), w - 32.0);
    let x_labels: Vec<String> = chart
        .categories
        .iter()
        .map(|c| truncate_chars(&clean(c), MAX_X_LABEL_CHARS))
        .collect();
    let x_label_widths: Vec<f64> = x_labels.iter().map(|l| text_width(l, LABEL_SIZE)).collect();
    let max_x_label_w = x_label_widths.iter().copied().fold(0.0, f64::max);

    // Legend rows, under the title.
    let legend = if series_count > 1 {
        legend_layout(chart, w - 40.0)
    } else {
        Vec::new()
    };
    let legend_rows = legend.iter().map(|i| i.row + 1).max().unwrap_or(0);
    let plot_top = if legend_rows > 0 {
        48.0 + 20.0 * legend_rows as f64 + 12.0
    } else {
        62.0
    };

    // From the bottom up: caption, x-axis title, x labels.
    let caption_last_baseline = h - 12.0;
    let caption_first_baseline =
        caption_last_baseline - CAPTION_LINE * caption_lines.len().saturating_sub(1) as f64;
    let caption_top = if caption_lines.is_empty() {
        h - 8.0
    } else {
        caption_first_baseline - caption_size
    };
    let x_title_baseline = caption_top - 10.0;
    let x_title_top = x_title_baseline - AXIS_TITLE_SIZE;

    // Left: y-axis title, then the tick labels; right: a margin.
    let max_tick_w = tick_labels
        .iter()
        .map(|l| text_width(l, LABEL_SIZE))
        .fold(0.0, f64::max);
    let mut plot_left = (34.0 + max_tick_w + 10.0).max(64.0);
    let mut plot_right = w - 24.0;
    let mut plan = plan_x_labels(n, max_x_label_w, plot_right - plot_left);
    // Keep the outermost labels inside the picture.
    for _ in 0..3 {
        if n == 0 {
            break;
        }
        let slot = (plot_right - plot_left) / n as f64;
        let mut changed = false;
        if plan.rotated {
            let first_left =
                plot_left + 0.5 * slot + rotated_anchor_shift() - ROTATED_COS * max_x_label_w;
            if first_left < 6.0 {
                plot_left += 6.0 - first_left;
                changed = true;
            }
        } else {
            let last = ((n - 1) / plan.stride) * plan.stride;
            let right_edge = plot_left + (last as f64 + 0.5) * slot + 0.5 * x_label_widths[last];
            if right_edge > w - 6.0 {
                plot_right -= right_edge - (w - 6.0);
                changed = true;
            }
            let first_left = plot_left + 0.5 * slot - 0.5 * x_label_widths[0];
            if first_left < 6.0 {
                plot_left += 6.0 - first_left;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        plan = plan_x_labels(n, max_x_label_w, plot_right - plot_left);
    }
    let label_extent = if n == 0 {
        8.0
    } else if plan.rotated {
        12.0 + ROTATED_COS * (max_x_label_w + 0.8 * LABEL_SIZE)
    } else {
        8.0 + LABEL_SIZE + 4.0
    };
    let plot_bottom = (x_title_top - 6.0 - label_extent).max(plot_top + 60.0);
    let plot_w = plot_right - plot_left;
    let plot_h = plot_bottom - plot_top;
    let slot = if n == 0 { plot_w } else { plot_w / n as f64 };
    let x_center = |i: usize| plot_left + (i as f64 + 0.5) * slot;
    // Halved so that a range near f64::MAX does not overflow to NaN.
    let y_of =
        |v: f64| plot_bottom - (v / 2.0 - y_min / 2.0) / (y_max / 2.0 - y_min / 2.0) * plot_h;

    let (y_title, y_title_size) = fit_line(
        &clean(&chart.y_label),
        AXIS_TITLE_SIZE,
        AXIS_TITLE_MIN_SIZE,
        plot_h,
    );
    let (x_title, x_title_size) = fit_line(
        &clean(&chart.x_label),
        AXIS_TITLE_SIZE,
        AXIS_TITLE_MIN_SIZE,
        plot_w,
    );

    let mut out = String::with_capacity(16 * 1024);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{FONT_FAMILY}" role="img" aria-labelledby="chart-title chart-desc">"#
    );
    let _ = writeln!(
        out,
        r#"<title id="chart-title">{}</title>"#,
        esc(&clean(&chart.title))
    );
    let _ = writeln!(
        out,
        r#"<desc id="chart-desc">{}</desc>"#,
        esc(&clean(&chart.caption))
    );
    let _ = writeln!(
        out,
        r##"<rect class="background" x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##
    );

    // Gridlines and y ticks.
    for (v, label) in ticks.values.iter().zip(&tick_labels) {
        let y = y_of(*v);
        let _ = writeln!(
            out,
            r#"<line class="grid" x1="{plot_left:.1}" y1="{y:.1}" x2="{plot_right:.1}" y2="{y:.1}" stroke="{GRID_COLOUR}" stroke-width="1"/>"#
        );
        let _ = writeln!(
            out,
            r#"<line class="y-tick" x1="{:.1}" y1="{y:.1}" x2="{plot_left:.1}" y2="{y:.1}" stroke="{AXIS_COLOUR}" stroke-width="1"/>"#,
            plot_left - 5.0
        );
        let _ = writeln!(
            out,
            r#"<text class="y-tick-label" x="{:.1}" y="{:.1}" text-anchor="end" font-size="{LABEL_SIZE}" fill="{TEXT_COLOUR}">{}</text>"#,
            plot_left - 8.0,
            y + 0.35 * LABEL_SIZE,
            esc(label)
        );
    }

    // The data.
    if has_data {
        match chart.kind {
            ChartKind::Bar => {
                let group_w = slot * 0.8;
                let bar_w = group_w / series_count as f64;
                let gap = if bar_w > 6.0 { 1.0 } else { 0.0 };
                let y0 = y_of(0.0);
                for (j, s) in chart.series.iter().enumerate() {
                    let colour = PALETTE[j % PALETTE.len()];
                    let name = clean(&s.name);
                    for (i, &v) in s.values.iter().take(n).enumerate() {
                        if !v.is_finite() {
                            continue;
                        }
                        let x = x_center(i) - 0.5 * group_w + j as f64 * bar_w + 0.5 * gap;
                        let yv = y_of(v);
                        let _ = writeln!(
                            out,
                            r#"<rect class="bar" x="{x:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{colour}"><title>{}</title></rect>"#,
                            yv.min(y0),
                            (bar_w - gap).max(0.0),
                            (yv - y0).abs(),
                            esc(&tooltip(&name, &x_labels[i], v)),
                        );
                    }
                }
            }
            ChartKind::Line => {
                let markers = slot >= MIN_MARKER_SLOT;
                for (j, s) in chart.series.iter().enumerate() {
                    let colour = PALETTE[j % PALETTE.len()];
                    let name = clean(&s.name);
                    let values: Vec<f64> = (0..n)
                        .map(|i| s.values.get(i).copied().unwrap_or(f64::NAN))
                        .collect();
                    for run in finite_runs(&values) {
                        if run.len() < 2 {
                            continue;
                        }
                        let mut points = String::new();
                        for i in run {
                            let _ = write!(points, "{:.1},{:.1} ", x_center(i), y_of(values[i]));
                        }
                        let _ = writeln!(
                            out,
                            r#"<polyline class="series-line" points="{}" fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>"#,
                            points.trim_end()
                        );
                    }
                    for (i, &v) in values.iter().enumerate() {
                        if !v.is_finite() {
                            continue;
                        }
                        let isolated =
                            !values.get(i.wrapping_sub(1)).is_some_and(|p| p.is_finite())
                                && !values.get(i + 1).is_some_and(|p| p.is_finite());
                        if markers || isolated {
                            let _ = writeln!(
                                out,
                                r##"<circle class="marker" cx="{:.1}" cy="{:.1}" r="3" fill="{colour}" stroke="#ffffff" stroke-width="1"><title>{}</title></circle>"##,
                                x_center(i),
                                y_of(v),
                                esc(&tooltip(&name, &x_labels[i], v)),
                            );
                        }
                    }
                }
            }
        }
    }

    // Axes: the zero line when the axis goes below zero, then the frame.
    if y_min < 0.0 {
        let y0 = y_of(0.0);
        let _ = writeln!(
            out,
            r#"<line class="zero-line" x1="{plot_left:.1}" y1="{y0:.1}" x2="{plot_right:.1}" y2="{y0:.1}" stroke="{AXIS_COLOUR}" stroke-width="1"/>"#
        );
    }
    let _ = writeln!(
        out,
        r#"<line class="axis" x1="{plot_left:.1}" y1="{plot_top:.1}" x2="{plot_left:.1}" y2="{plot_bottom:.1}" stroke="{AXIS_COLOUR}" stroke-width="1"/>"#
    );
    let _ = writeln!(
        out,
        r#"<line class="axis" x1="{plot_left:.1}" y1="{plot_bottom:.1}" x2="{plot_right:.1}" y2="{plot_bottom:.1}" stroke="{AXIS_COLOUR}" stroke-width="1"/>"#
    );

    // X labels, thinned out.
    for (i, label) in x_labels.iter().enumerate().step_by(plan.stride) {
        let x = x_center(i);
        let _ = writeln!(
            out,
            r#"<line class="x-tick" x1="{x:.1}" y1="{plot_bottom:.1}" x2="{x:.1}" y2="{:.1}" stroke="{AXIS_COLOUR}" stroke-width="1"/>"#,
            plot_bottom + 5.0
        );
        if plan.rotated {
            let ax = x + rotated_anchor_shift();
            let ay = plot_bottom + 12.0;
            let _ = writeln!(
                out,
                r#"<text class="x-label" x="{ax:.1}" y="{ay:.1}" text-anchor="end" transform="rotate(-45 {ax:.1} {ay:.1})" font-size="{LABEL_SIZE}" fill="{TEXT_COLOUR}">{}</text>"#,
                esc(label)
            );
        } else {
            let _ = writeln!(
                out,
                r#"<text class="x-label" x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="{LABEL_SIZE}" fill="{TEXT_COLOUR}">{}</text>"#,
                plot_bottom + 8.0 + LABEL_SIZE,
                esc(label)
            );
        }
    }

    if !has_data {
        let _ = writeln!(
            out,
            r#"<text class="no-data" x="{:.1}" y="{:.1}" text-anchor="middle" font-size="16" fill="{MUTED_COLOUR}">No data</text>"#,
            plot_left + 0.5 * plot_w,
            plot_top + 0.5 * plot_h
        );
    }

    // Titles.
    if !title.is_empty() {
        let _ = writeln!(
            out,
            r#"<text class="title" x="{:.1}" y="32" text-anchor="middle" font-size="{title_size}" fill="{TEXT_COLOUR}">{}</text>"#,
            0.5 * w,
            esc(&title)
        );
    }
    if !y_title.is_empty() {
        let cx = 22.0;
        let cy = plot_top + 0.5 * plot_h;
        let _ = writeln!(
            out,
            r#"<text class="y-title" x="{cx:.1}" y="{cy:.1}" text-anchor="middle" transform="rotate(-90 {cx:.1} {cy:.1})" font-size="{y_title_size}" fill="{TEXT_COLOUR}">{}</text>"#,
            esc(&y_title)
        );
    }
    if !x_title.is_empty() {
        let _ = writeln!(
            out,
            r#"<text class="x-title" x="{:.1}" y="{x_title_baseline:.1}" text-anchor="middle" font-size="{x_title_size}" fill="{TEXT_COLOUR}">{}</text>"#,
            plot_left + 0.5 * plot_w,
            esc(&x_title)
        );
    }

    // Legend.
    for item in &legend {
        let cy = 48.0 + 20.0 * item.row as f64 + 10.0;
        let x = item.x;
        let Some(index) = item.index else {
            let _ = writeln!(
                out,
                r#"<text class="legend-more" x="{x:.1}" y="{:.1}" font-size="{LEGEND_SIZE}" fill="{MUTED_COLOUR}">{}</text>"#,
                cy + 0.35 * LEGEND_SIZE,
                esc(&item.label)
            );
            continue;
        };
        let colour = PALETTE[index % PALETTE.len()];
        match chart.kind {
            ChartKind::Bar => {
                let _ = writeln!(
                    out,
                    r#"<rect class="legend-swatch" x="{x:.1}" y="{:.1}" width="12" height="12" fill="{colour}"/>"#,
                    cy - 6.0
                );
            }
            ChartKind::Line => {
                let _ = writeln!(
                    out,
                    r#"<line class="legend-swatch" x1="{x:.1}" y1="{cy:.1}" x2="{:.1}" y2="{cy:.1}" stroke="{colour}" stroke-width="2"/>"#,
                    x + 22.0
                );
                let _ = writeln!(
                    out,
                    r##"<circle class="legend-marker" cx="{:.1}" cy="{cy:.1}" r="3" fill="{colour}" stroke="#ffffff" stroke-width="1"/>"##,
                    x + 11.0
                );
            }
        }
        let _ = writeln!(
            out,
            r#"<text class="legend-label" x="{:.1}" y="{:.1}" font-size="{LEGEND_SIZE}" fill="{TEXT_COLOUR}">{}</text>"#,
            x + item.swatch_w + 6.0,
            cy + 0.35 * LEGEND_SIZE,
            esc(&item.label)
        );
    }

    // Caption.
    for (k, line) in caption_lines.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<text class="caption" x="16" y="{:.1}" font-size="{caption_size}" fill="{MUTED_COLOUR}">{}</text>"#,
            caption_first_baseline + CAPTION_LINE * k as f64,
            esc(line)
        );
    }

    out.push_str("</svg>\n");
    out
}

/// Renders `chart` (the document [`svg`] makes) as a PNG of
/// [`WIDTH`] x [`HEIGHT`] pixels, with the embedded DejaVu Sans.
pub fn png(chart: &Chart) -> Result<Vec<u8>, ChartError> {
    let fontdb = font_db();
    if fontdb.is_empty() {
        return Err(ChartError::FontUnavailable);
    }
    let document = svg(chart);
    let options = usvg::Options {
        font_family: FONT_NAME.to_owned(),
        fontdb: Arc::clone(fontdb),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(&document, &options)
        .map_err(|e| ChartError::InvalidSvg(e.to_string()))?;
    let mut pixmap = tiny_skia::Pixmap::new(WIDTH, HEIGHT).ok_or(ChartError::Canvas {
        width: WIDTH,
        height: HEIGHT,
    })?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| ChartError::Encode(e.to_string()))
}

/// The font database for [`png`]: only the embedded DejaVu Sans, built once.
fn font_db() -> &'static Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_source(usvg::fontdb::Source::Binary(Arc::new(FONT_DATA)));
        db.set_sans_serif_family(FONT_NAME);
        db.set_serif_family(FONT_NAME);
        db.set_monospace_family(FONT_NAME);
        Arc::new(db)
    })
}

/// The y axis: tick values from a multiple of `step` at or below
/// min(0, data minimum) to one at or above max(0, data maximum).
#[derive(Debug, Clone, PartialEq)]
struct Ticks {
    values: Vec<f64>,
    step: f64,
    /// Decimals to print tick labels with.
    decimals: usize,
}

/// "Nice" ticks for data in `min..=max`: the axis always includes 0, the step
/// is 1, 2 or 5 times a power of ten, chosen for about five intervals (so
/// from four to eight), and at least 1 when the data are whole numbers. An
/// empty range (all zeros) gives an axis from 0 to 1.
fn nice_ticks(min: f64, max: f64, integral: bool) -> Ticks {
    let lo = if min.is_finite() { min.min(0.0) } else { 0.0 };
    let mut hi = if max.is_finite() { max.max(0.0) } else { 0.0 };
    if hi <= lo {
        hi = lo + 1.0;
    }
    let fallback = || Ticks {
        values: vec![lo, hi],
        step: hi - lo,
        decimals: 0,
    };
    let range = hi - lo;
    if !range.is_finite() {
        return fallback();
    }
    let raw = range / TARGET_Y_INTERVALS;
    let magnitude = 10f64.powf(raw.log10().floor());
    let normalised = raw / magnitude;
    let multiple = if normalised < 1.5 {
        1.0
    } else if normalised < 3.0 {
        2.0
    } else if normalised < 7.0 {
        5.0
    } else {
        10.0
    };
    let mut step = multiple * magnitude;
    if integral && step < 1.0 {
        step = 1.0;
    }
    if !(step.is_finite() && step > 0.0) {
        return fallback();
    }
    let first = (lo / step + 1e-9).floor();
    let last = (hi / step - 1e-9).ceil();
    let count = last - first;
    if !(1.0..=50.0).contains(&count) {
        return fallback();
    }
    // Decimals the step needs; past 12 the labels are in scientific notation
    // anyway and rounding to 12 decimals would collapse the ticks.
    let needed = if step >= 1.0 {
        0.0
    } else {
        (-step.log10() - 1e-9).ceil().max(0.0)
    };
    let round = needed <= 12.0;
    let decimals = needed.min(12.0) as usize;
    let scale = 10f64.powi(decimals as i32);
    let values = (0..=count as i64)
        .map(|k| {
            let v = (first + k as f64) * step;
            // Undo binary noise (0.6000000000000001), and -0.
            let v = if round {
                (v * scale).round() / scale
            } else {
                v
            };
            v + 0.0
        })
        .collect();
    Ticks {
        values,
        step,
        decimals,
    }
}

/// Which x labels to draw: every `stride`-th from the first, horizontal or
/// rotated by 45 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct XLabelPlan {
    stride: usize,
    rotated: bool,
}

/// Thins out `n` category labels, at most `max_label_w` wide, over a plot
/// `plot_w` wide so that at most [`MAX_X_LABELS`] are drawn and none
/// overlaps. Strides are 1, 2, 3, 4, 6, 12 or a multiple of 12, so monthly
/// labels fall on the same months every year. Horizontal labels are
/// preferred; they are rotated when only that shows every label, or when
/// horizontal ones would have to be more than twice as sparse.
fn plan_x_labels(n: usize, max_label_w: f64, plot_w: f64) -> XLabelPlan {
    if n == 0 || plot_w <= 0.0 {
        return XLabelPlan {
            stride: 1,
            rotated: false,
        };
    }
    let slot = plot_w / n as f64;
    let min_stride = n.div_ceil(MAX_X_LABELS).max(1);
    let stride_for = |spacing: f64| -> usize {
        let s = (spacing / slot - 1e-9).ceil();
        let s = if s.is_finite() && s >= 1.0 {
            // Saturates for absurd ratios; clamped just below.
            s as usize
        } else {
            1
        };
        nice_stride(s.clamp(min_stride, n.max(min_stride)))
    };
    let horizontal = stride_for(max_label_w + LABEL_GAP);
    let rotated = stride_for(ROTATED_LABEL_SPACING);
    let rotate = horizontal > rotated && (rotated == 1 || horizontal > 2 * rotated);
    XLabelPlan {
        stride: if rotate { rotated } else { horizontal },
        rotated: rotate,
    }
}

/// The smallest of 1, 2, 3, 4, 6, 12, 24, 36, ... that is at least `s`.
fn nice_stride(s: usize) -> usize {
    [1, 2, 3, 4, 6, 12]
        .into_iter()
        .find(|&nice| nice >= s)
        .unwrap_or_else(|| s.div_ceil(12).saturating_mul(12))
}

const ROTATED_COS: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// Rotated labels end a little right of their tick so that the middle of the
/// text, not its top corner, points at it.
fn rotated_anchor_shift() -> f64 {
    0.3 * LABEL_SIZE
}

#[derive(Debug, Clone)]
struct LegendItem {
    /// The series, or `None` for the "+N more" item.
    index: Option<usize>,
    label: String,
    row: usize,
    x: f64,
    swatch_w: f64,
}

/// Lays the legend out in centred rows no wider than `max_w`, at most
/// [`MAX_LEGEND_ROWS`]; series that do not fit are counted in a last
/// "+N more" item without a swatch.
fn legend_layout(chart: &Chart, max_w: f64) -> Vec<LegendItem> {
    let swatch_w = match chart.kind {
        ChartKind::Line => 22.0,
        ChartKind::Bar => 12.0,
    };
    let mut rows: Vec<Vec<(Option<usize>, String, f64)>> = vec![Vec::new()];
    let mut row_w = 0.0;
    for (index, s) in chart.series.iter().enumerate() {
        let label = truncate_chars(&clean(&s.name), MAX_LEGEND_CHARS);
        let item_w = swatch_w + 6.0 + text_width(&label, LEGEND_SIZE);
        if row_w > 0.0 && row_w + 24.0 + item_w > max_w {
            if rows.len() == MAX_LEGEND_ROWS {
                // Make room for "+N more" in the last row.
                let more = |shown: usize| format!("+{} more", chart.series.len() - shown);
                if let Some(last) = rows.last_mut() {
                    let mut shown = index;
                    while last.len() > 1 {
                        let used: f64 = last.iter().map(|(_, _, w)| w + 24.0).sum();
                        if used + text_width(&more(shown), LEGEND_SIZE) <= max_w {
                            break;
                        }
                        last.pop();
                        shown -= 1;
                    }
                    let label = more(shown);
                    let w = text_width(&label, LEGEND_SIZE);
                    last.push((None, label, w));
                }
                break;
            }
            rows.push(Vec::new());
            row_w = 0.0;
        }
        let gap = if row_w > 0.0 { 24.0 } else { 0.0 };
        row_w += gap + item_w;
        if let Some(row) = rows.last_mut() {
            row.push((Some(index), label, item_w));
        }
    }
    let centre = f64::from(WIDTH) / 2.0;
    let mut items = Vec::new();
    for (r, row) in rows.into_iter().enumerate() {
        let total: f64 =
            row.iter().map(|(_, _, w)| w).sum::<f64>() + 24.0 * row.len().saturating_sub(1) as f64;
        let mut x = (centre - total / 2.0).max(8.0);
        for (index, label, item_w) in row {
            items.push(LegendItem {
                index,
                label,
                row: r,
                x,
                swatch_w: if index.is_some() { swatch_w } else { 0.0 },
            });
            x += item_w + 24.0;
        }
    }
    items
}

/// Ranges of consecutive finite values.
fn finite_runs(values: &[f64]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, v) in values.iter().enumerate() {
        match (v.is_finite(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push(s..values.len());
    }
    runs
}

fn tooltip(series: &str, category: &str, v: f64) -> String {
    let decimals = if is_integral(v) { 0 } else { 2 };
    format!("{series}, {category}: {}", format_number(v, decimals))
}

fn is_integral(v: f64) -> bool {
    v.fract() == 0.0 && v.abs() < 9.0e15
}

/// `v` with `decimals` decimals and thousands separators ("12,345.5");
/// very large or very small numbers in scientific notation.
fn format_number(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if v.abs() >= 1.0e15 || (v != 0.0 && v.abs() < 1.0e-9) {
        return format!("{v:e}");
    }
    let plain = format!("{:.*}", decimals, v);
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (k, c) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    // "-0" after rounding is just "0".
    let sign = if int.chars().all(|c| c == '0') && frac.is_none_or(|f| f.chars().all(|c| c == '0'))
    {
        ""
    } else {
        sign
    };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Escapes the five XML special characters.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// One line of text: control characters (not allowed in XML, or line
/// breaks SVG would not honour) become spaces; ends are trimmed.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Estimated advance width of `s` in DejaVu Sans at `size` px, on the wide
/// side so that layouts computed from it leave room.
fn text_width(s: &str, size: f64) -> f64 {
    let em: f64 = s
        .chars()
        .map(|c| match c {
            '0'..='9' => 0.64,
            ' ' => 0.32,
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' => 0.28,
            'f' | 't' | 'r' | 'I' | '-' | '(' | ')' | '[' | ']' | '/' | '"' => 0.41,
            'm' | 'w' | 'M' | 'W' | '%' | '@' => 0.99,
            'a'..='z' => 0.63,
            'A'..='Z' => 0.76,
            '…' | '&' => 1.0,
            _ => 0.8,
        })
        .sum();
    em * size * 1.03
}

/// `s` at the largest size from `max_size` down to `min_size` (whole
/// pixels) at which it fits in `max_w`; cut with an ellipsis at `min_size`
/// if it never does.
fn fit_line(s: &str, max_size: f64, min_size: f64, max_w: f64) -> (String, f64) {
    let mut size = max_size;
    while size >= min_size {
        if text_width(s, size) <= max_w {
            return (s.to_owned(), size);
        }
        size -= 1.0;
    }
    (truncate_width(s, min_size, max_w), min_size)
}

/// `s` cut with an ellipsis so that it fits in `max_w` at `size`.
fn truncate_width(s: &str, size: f64, max_w: f64) -> String {
    if text_width(s, size) <= max_w {
        return s.to_owned();
    }
    let mut cut: String = s.to_owned();
    while !cut.is_empty() && text_width(&cut, size) + text_width("…", size) > max_w {
        cut.pop();
    }
    let cut = cut.trim_end();
    if cut.is_empty() {
        String::new()
    } else {
        format!("{cut}…")
    }
}

/// `s` cut to at most `max` characters, the last one an ellipsis.
fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// The caption on at most [`CAPTION_MAX_LINES`] lines of `max_w`, at the
/// largest size that needs no cut; the last line cut if even the smallest
/// size is not enough.
fn wrap_caption(s: &str, max_w: f64) -> (Vec<String>, f64) {
    if s.is_empty() {
        return (Vec::new(), CAPTION_SIZE);
    }
    let mut size = CAPTION_SIZE;
    loop {
        let lines = wrap_words(s, size, max_w);
        if lines.len() <= CAPTION_MAX_LINES || size <= CAPTION_MIN_SIZE {
            let mut lines = lines;
            if lines.len() > CAPTION_MAX_LINES {
                let rest = lines.split_off(CAPTION_MAX_LINES - 1).join(" ");
                lines.push(rest);
            }
            let lines = lines
                .into_iter()
                .map(|l| truncate_width(&l, size, max_w))
                .collect();
            return (lines, size);
        }
        size -= 1.0;
    }
}

/// Greedy word wrap; a single word wider than `max_w` gets a line of its own.
fn wrap_words(s: &str, size: f64, max_w: f64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        if line.is_empty() {
            line.push_str(word);
        } else if text_width(&line, size) + text_width(" ", size) + text_width(word, size) <= max_w
        {
            line.push(' ');
            line.push_str(word);
        } else {
            lines.push(std::mem::take(&mut line));
            line.push_str(word);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use resvg::usvg::roxmltree;

    fn monthly(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{}-{:02}", 2015 + i / 12, i % 12 + 1))
            .collect()
    }

    fn sample(kind: ChartKind) -> Chart {
        let categories = monthly(18);
        let incidents: Vec<f64> = (0..18)
            .map(|i| f64::from((i * 37 % 23 + 10 + i * 3) as u32))
            .collect();
        let fatalities: Vec<f64> = incidents.iter().map(|v| (v * 1.7).round()).collect();
        Chart {
            kind,
            title: "Security incidents per month, Sahel".into(),
            categories,
            series: vec![
                Series {
                    name: "Incidents".into(),
                    values: incidents,
                },
                Series {
                    name: "Fatalities".into(),
                    values: fatalities,
                },
            ],
            y_label: "incidents per month".into(),
            x_label: "month".into(),
            caption: "Source: sahelwatch (UCDP GED 23.1, ACLED); 2023-01-01 to 2024-06-30; \
                      1,234 incidents visible to <org>"
                .into(),
        }
    }

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    /// Parses as XML, with the SVG namespace on the root.
    fn parse(svg: &str) -> roxmltree::Document<'_> {
        let doc = roxmltree::Document::parse(svg).expect("chart SVG is well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert_eq!(
            doc.root_element().tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        doc
    }

    fn texts_with_class<'a>(doc: &'a roxmltree::Document<'_>, class: &str) -> Vec<&'a str> {
        doc.descendants()
            .filter(|n| n.has_tag_name("text") && n.attribute("class") == Some(class))
            .map(|n| n.text().unwrap_or(""))
            .collect()
    }

    #[test]
    fn ticks_for_37_are_tens() {
        let t = nice_ticks(0.0, 37.0, true);
        assert_eq!(t.values, vec![0.0, 10.0, 20.0, 30.0, 40.0]);
        assert_eq!(t.step, 10.0);
        assert_eq!(t.decimals, 0);
    }

    #[test]
    fn ticks_for_all_zeros_are_zero_to_one() {
        assert_eq!(nice_ticks(0.0, 0.0, true).values, vec![0.0, 1.0]);
        let t = nice_ticks(0.0, 0.0, false);
        assert_eq!(t.values, vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(t.decimals, 1);
    }

    #[test]
    fn ticks_for_1234_are_two_hundreds() {
        let t = nice_ticks(0.0, 1234.0, true);
        let expected: Vec<f64> = (0..=7).map(|k| f64::from(k) * 200.0).collect();
        assert_eq!(t.values, expected);
    }

    #[test]
    fn ticks_use_1_2_5_steps_and_whole_steps_for_whole_data() {
        assert_eq!(nice_ticks(0.0, 100.0, true).step, 20.0);
        assert_eq!(nice_ticks(0.0, 3.0, true).values, vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(nice_ticks(0.0, 3.0, false).step, 0.5);
        assert_eq!(nice_ticks(0.0, 0.37, false).step, 0.1);
        assert_eq!(
            nice_ticks(0.0, 0.37, false).values,
            vec![0.0, 0.1, 0.2, 0.3, 0.4]
        );
        assert_eq!(nice_ticks(0.0, 5_000_000.0, true).step, 1_000_000.0);
        for max in [1.0, 7.0, 9.5, 42.0, 99.0, 101.0, 999.0, 12_345.0, 0.013] {
            let t = nice_ticks(0.0, max, false);
            let intervals = t.values.len() - 1;
            assert!((3..=8).contains(&intervals), "{max}: {:?}", t.values);
            assert_eq!(t.values[0], 0.0);
            assert!(*t.values.last().unwrap() >= max);
            let mantissa = t.step / 10f64.powf(t.step.log10().floor());
            assert!(
                [1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-9),
                "{max}: step {}",
                t.step
            );
        }
    }

    #[test]
    fn ticks_include_negative_values() {
        assert_eq!(
            nice_ticks(-12.0, 30.0, true).values,
            vec![-20.0, -10.0, 0.0, 10.0, 20.0, 30.0]
        );
        assert_eq!(
            nice_ticks(-5.0, -1.0, true).values,
            vec![-5.0, -4.0, -3.0, -2.0, -1.0, 0.0]
        );
    }

    #[test]
    fn ticks_survive_extreme_input() {
        for (lo, hi) in [
            (f64::NAN, f64::NAN),
            (f64::NEG_INFINITY, f64::INFINITY),
            (-f64::MAX, f64::MAX),
            (0.0, 1e-300),
            (0.0, 1e300),
        ] {
            let t = nice_ticks(lo, hi, false);
            assert!(t.values.len() >= 2, "{lo} {hi}");
            assert!(t.values.windows(2).all(|w| w[0] < w[1]), "{lo} {hi}");
        }
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(format_number(0.0, 0), "0");
        assert_eq!(format_number(999.0, 0), "999");
        assert_eq!(format_number(1000.0, 0), "1,000");
        assert_eq!(format_number(1_234_567.0, 0), "1,234,567");
        assert_eq!(format_number(-12_345.0, 0), "-12,345");
        assert_eq!(format_number(1234.5, 1), "1,234.5");
        assert_eq!(format_number(0.2, 1), "0.2");
        assert_eq!(format_number(-0.0, 0), "0");
        assert_eq!(format_number(-0.001, 1), "0.0");
    }

    #[test]
    fn escapes_xml_specials() {
        assert_eq!(esc(r#"a&b<c>d"e'f"#), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    }

    #[test]
    fn thinning_120_categories_keeps_at_most_16_labels() {
        for plot_w in [300.0, 600.0, 872.0] {
            for label_w in [20.0, 45.0, 120.0] {
                let plan = plan_x_labels(120, label_w, plot_w);
                let shown = 120usize.div_ceil(plan.stride);
                assert!(shown <= MAX_X_LABELS, "{plot_w} {label_w}: {plan:?}");
                let spacing = plot_w / 120.0 * plan.stride as f64;
                if plan.rotated {
                    assert!(spacing >= ROTATED_LABEL_SPACING);
                } else {
                    assert!(
                        spacing >= label_w + LABEL_GAP,
                        "{plot_w} {label_w}: {plan:?}"
                    );
                }
            }
        }
        // 120 months at full width: one label a year, horizontal.
        assert_eq!(
            plan_x_labels(120, 53.0, 872.0),
            XLabelPlan {
                stride: 12,
                rotated: false
            }
        );
        assert_eq!(
            (1..=30).map(nice_stride).collect::<Vec<_>>()[..14],
            [1, 2, 3, 4, 6, 6, 12, 12, 12, 12, 12, 12, 24, 24]
        );
        // Few short labels: all shown, horizontal; few long ones: all shown, rotated.
        assert_eq!(
            plan_x_labels(6, 50.0, 800.0),
            XLabelPlan {
                stride: 1,
                rotated: false
            }
        );
        assert_eq!(
            plan_x_labels(12, 140.0, 800.0),
            XLabelPlan {
                stride: 1,
                rotated: true
            }
        );
    }

    #[test]
    fn svg_120_months_shows_at_most_16_labels() {
        let mut chart = sample(ChartKind::Line);
        chart.categories = monthly(120);
        chart.series = vec![Series {
            name: "Incidents".into(),
            values: (0..120).map(|i| f64::from(i % 17)).collect(),
        }];
        let svg = svg(&chart);
        let doc = parse(&svg);
        let labels = texts_with_class(&doc, "x-label");
        assert!(!labels.is_empty() && labels.len() <= 16, "{labels:?}");
        assert_eq!(labels[..3], ["2015-01", "2016-01", "2017-01"]);
        assert_eq!(count(&svg, "<polyline"), 1);
    }

    #[test]
    fn line_svg_has_every_part() {
        let chart = sample(ChartKind::Line);
        let svg = svg(&chart);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        let doc = parse(&svg);
        let root = doc.root_element();
        assert_eq!(root.attribute("width"), Some("960"));
        assert_eq!(root.attribute("height"), Some("540"));
        assert_eq!(root.attribute("viewBox"), Some("0 0 960 540"));
        assert_eq!(
            root.attribute("font-family"),
            Some("DejaVu Sans, sans-serif")
        );
        assert_eq!(
            texts_with_class(&doc, "title"),
            ["Security incidents per month, Sahel"]
        );
        assert_eq!(texts_with_class(&doc, "y-title"), ["incidents per month"]);
        assert_eq!(texts_with_class(&doc, "x-title"), ["month"]);
        // The caption, with its "<org>" escaped in the source and intact once parsed.
        assert!(svg.contains("&lt;org&gt;"));
        let caption = texts_with_class(&doc, "caption").join(" ");
        assert_eq!(caption, clean(&chart.caption));
        assert_eq!(
            texts_with_class(&doc, "legend-label"),
            ["Incidents", "Fatalities"]
        );
        // y ticks from 0, integer labels.
        let ticks = texts_with_class(&doc, "y-tick-label");
        assert_eq!(ticks.first(), Some(&"0"));
        assert!(ticks.iter().all(|t| !t.contains('.')), "{ticks:?}");
        // 18 labels are more than 16: every other one, horizontal.
        let labels = texts_with_class(&doc, "x-label");
        assert_eq!(labels.len(), 9);
        assert_eq!(labels[..3], ["2015-01", "2015-03", "2015-05"]);
        assert!(!svg.contains("rotate(-45"));
        // One line per series, a marker per value, distinct colours.
        assert_eq!(count(&svg, "<polyline"), 2);
        assert_eq!(count(&svg, r#"class="marker""#), 36);
        assert!(svg.contains(PALETTE[0]) && svg.contains(PALETTE[1]));
        assert_eq!(count(&svg, "<rect"), 1, "only the background");
        assert!(!svg.contains("No data"));
    }

    #[test]
    fn bar_svg_has_one_rect_per_value() {
        let mut chart = sample(ChartKind::Bar);
        chart.categories = vec!["2023-H1".into(), "2023-H2".into(), "2024-H1".into()];
        chart.series[0].values = vec![120.0, 340.0, 95.0];
        chart.series[1].values = vec![400.0, 1200.0, 310.0];
        let svg = svg(&chart);
        parse(&svg);
        assert_eq!(count(&svg, r#"class="bar""#), 6);
        // 6 bars, 2 legend swatches and the background.
        assert_eq!(count(&svg, "<rect"), 9);
        assert_eq!(count(&svg, "<polyline"), 0);
        // Ticks 0..1,200 by 200, with a thousands separator.
        assert!(svg.contains(">1,200</text>"), "{svg}");
    }

    #[test]
    fn single_series_has_no_legend() {
        let mut chart = sample(ChartKind::Bar);
        chart.series.truncate(1);
        let svg = svg(&chart);
        assert!(!svg.contains("legend"));
        assert_eq!(count(&svg, r#"class="bar""#), 18);
    }

    #[test]
    fn every_text_is_escaped() {
        let mut chart = sample(ChartKind::Bar);
        chart.title = "Attacks & kidnappings <Mali> \"quoted\" 'single'".into();
        chart.y_label = "incidents & fatalities".into();
        chart.x_label = "<month>".into();
        chart.categories[0] = "A&B".into();
        chart.series[0].name = "Incidents <all> & \"more\"".into();
        chart.caption = "Source: x & y\u{1}\nnext".into();
        let svg = svg(&chart);
        assert!(svg.contains(
            "Attacks &amp; kidnappings &lt;Mali&gt; &quot;quoted&quot; &apos;single&apos;"
        ));
        assert!(svg.contains("incidents &amp; fatalities"));
        assert!(svg.contains("&lt;month&gt;"));
        assert!(svg.contains(">A&amp;B<"));
        assert!(svg.contains("Incidents &lt;all&gt; &amp; &quot;more&quot;"));
        assert!(!svg.contains('\u{1}'));
        let doc = parse(&svg);
        assert_eq!(
            texts_with_class(&doc, "title"),
            ["Attacks & kidnappings <Mali> \"quoted\" 'single'"]
        );
        assert_eq!(texts_with_class(&doc, "caption"), ["Source: x & y next"]);
    }

    #[test]
    fn no_categories_draws_axes_and_no_data() {
        let mut chart = sample(ChartKind::Line);
        chart.categories.clear();
        let svg = svg(&chart);
        let doc = parse(&svg);
        assert_eq!(texts_with_class(&doc, "no-data"), ["No data"]);
        assert_eq!(count(&svg, r#"class="axis""#), 2);
        assert_eq!(texts_with_class(&doc, "y-tick-label"), ["0", "1"]);
        assert_eq!(count(&svg, "<polyline"), 0);
        assert!(texts_with_class(&doc, "x-label").is_empty());

        let mut empty = chart.clone();
        empty.series.clear();
        empty.kind = ChartKind::Bar;
        assert!(svg_contains_no_data(&empty));
        let mut all_nan = sample(ChartKind::Bar);
        for s in &mut all_nan.series {
            s.values = vec![f64::NAN; s.values.len()];
        }
        assert!(svg_contains_no_data(&all_nan));
    }

    fn svg_contains_no_data(chart: &Chart) -> bool {
        let svg = svg(chart);
        parse(&svg);
        svg.contains(">No data</text>")
    }

    #[test]
    fn all_zeros_gives_axis_zero_to_one() {
        let mut chart = sample(ChartKind::Bar);
        for s in &mut chart.series {
            s.values = vec![0.0; s.values.len()];
        }
        let svg = svg(&chart);
        let doc = parse(&svg);
        assert_eq!(texts_with_class(&doc, "y-tick-label"), ["0", "1"]);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn gaps_split_lines_and_skip_bars() {
        let mut chart = sample(ChartKind::Line);
        chart.categories = monthly(7);
        // A run of two, an isolated 4, gaps, an isolated 9 at the end, and a
        // value past the last category that must be ignored.
        chart.series = vec![Series {
            name: "Incidents".into(),
            values: vec![
                1.0,
                2.0,
                f64::NAN,
                4.0,
                f64::INFINITY,
                f64::NEG_INFINITY,
                9.0,
                1000.0,
            ],
        }];
        let svg = svg(&chart);
        parse(&svg);
        assert_eq!(count(&svg, "<polyline"), 1);
        assert_eq!(count(&svg, r#"class="marker""#), 4);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        // The axis goes to 10: 9 is the largest value with a category.
        let doc = parse(&svg);
        assert_eq!(texts_with_class(&doc, "y-tick-label").last(), Some(&"10"));

        chart.kind = ChartKind::Bar;
        let svg = super::svg(&chart);
        assert_eq!(count(&svg, r#"class="bar""#), 4);
    }

    #[test]
    fn isolated_points_get_markers_even_when_crowded() {
        let mut chart = sample(ChartKind::Line);
        chart.categories = monthly(400);
        let mut values = vec![f64::NAN; 400];
        values[10] = 5.0;
        values[200] = 3.0;
        values[201] = 4.0;
        chart.series = vec![Series {
            name: "Incidents".into(),
            values,
        }];
        let svg = svg(&chart);
        assert_eq!(count(&svg, "<polyline"), 1);
        assert_eq!(count(&svg, r#"class="marker""#), 1);
    }

    #[test]
    fn one_category_and_negative_values() {
        let mut chart = sample(ChartKind::Bar);
        chart.categories = vec!["2024".into()];
        chart.series[0].values = vec![-12.0];
        chart.series[1].values = vec![30.0];
        let svg = svg(&chart);
        let doc = parse(&svg);
        assert_eq!(
            texts_with_class(&doc, "y-tick-label"),
            ["-20", "-10", "0", "10", "20", "30"]
        );
        assert_eq!(count(&svg, r#"class="zero-line""#), 1);
        assert_eq!(count(&svg, r#"class="bar""#), 2);
        // The negative bar hangs from the zero line.
        let bars: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("bar"))
            .collect();
        let y = |n: &roxmltree::Node, a| n.attribute(a).unwrap().parse::<f64>().unwrap();
        let zero: f64 = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("zero-line"))
            .map(|n| n.attribute("y1").unwrap().parse().unwrap())
            .unwrap();
        assert!((y(&bars[0], "y") - zero).abs() < 0.1);
        assert!((y(&bars[1], "y") + y(&bars[1], "height") - zero).abs() < 0.1);

        chart.kind = ChartKind::Line;
        let svg = super::svg(&chart);
        parse(&svg);
        assert_eq!(count(&svg, r#"class="marker""#), 2);
        assert_eq!(count(&svg, "<polyline"), 0);
    }

    #[test]
    fn long_texts_are_fitted() {
        let mut chart = sample(ChartKind::Bar);
        chart.title = "Security incidents ".repeat(20);
        chart.caption = "Source: sahelwatch (UCDP GED 23.1, ACLED); ".repeat(10);
        chart.categories = (0..12)
            .map(|i| format!("Boucle du Mouhoun region number {i}"))
            .collect();
        for s in &mut chart.series {
            s.values.truncate(12);
        }
        let svg = svg(&chart);
        let doc = parse(&svg);
        let title = texts_with_class(&doc, "title")[0];
        assert!(title.ends_with('…'));
        assert!(text_width(title, TITLE_MIN_SIZE) <= 920.0);
        let caption = texts_with_class(&doc, "caption");
        assert_eq!(caption.len(), 2);
        assert!(caption[1].ends_with('…'));
        let labels = texts_with_class(&doc, "x-label");
        assert_eq!(labels.len(), 12, "rotated, all shown");
        assert!(
            labels
                .iter()
                .all(|l| l.chars().count() <= MAX_X_LABEL_CHARS)
        );
        assert!(svg.contains("rotate(-45"));
    }

    #[test]
    fn legend_is_capped_at_three_rows() {
        let mut chart = sample(ChartKind::Bar);
        chart.series = (0..40)
            .map(|k| Series {
                name: format!("Region number {k} (Liptako-Gourma)"),
                values: vec![f64::from(k); 18],
            })
            .collect();
        let svg = svg(&chart);
        let doc = parse(&svg);
        let shown = texts_with_class(&doc, "legend-label").len();
        let more = texts_with_class(&doc, "legend-more");
        assert!((3..40).contains(&shown), "{shown}");
        assert_eq!(more, [format!("+{} more", 40 - shown)]);
        let rows: std::collections::BTreeSet<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("legend-label"))
            .map(|n| n.attribute("y").unwrap())
            .collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(count(&svg, r#"class="bar""#), 40 * 18);
        // Still renders.
        let pixmap = decode(&png(&chart).unwrap());
        assert_eq!(pixmap.width(), 960);
    }

    #[test]
    fn extreme_values_give_finite_coordinates() {
        let mut chart = sample(ChartKind::Bar);
        chart.series[0].values[0] = f64::MAX;
        chart.series[1].values[0] = -f64::MAX;
        chart.series[1].values[1] = 1e-300;
        for kind in [ChartKind::Bar, ChartKind::Line] {
            chart.kind = kind;
            let svg = svg(&chart);
            parse(&svg);
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            png(&chart).expect("renders");
        }
    }

    #[test]
    fn many_series_reuse_the_palette() {
        let mut chart = sample(ChartKind::Line);
        chart.series = (0..9)
            .map(|k| Series {
                name: format!("Series number {k}"),
                values: vec![f64::from(k); 18],
            })
            .collect();
        let svg = svg(&chart);
        let doc = parse(&svg);
        assert_eq!(texts_with_class(&doc, "legend-label").len(), 9);
        assert_eq!(count(&svg, "<polyline"), 9);
    }

    // --- PNG ---

    fn decode(png: &[u8]) -> tiny_skia::Pixmap {
        tiny_skia::Pixmap::decode_png(png).expect("a PNG tiny-skia can decode")
    }

    fn is_white(p: tiny_skia::PremultipliedColorU8) -> bool {
        p.red() > 245 && p.green() > 245 && p.blue() > 245
    }

    /// Non-white pixels in the rows `y0..y1`.
    fn ink(pixmap: &tiny_skia::Pixmap, y0: u32, y1: u32) -> usize {
        let w = pixmap.width() as usize;
        pixmap.pixels()[y0 as usize * w..y1 as usize * w]
            .iter()
            .filter(|p| !is_white(**p))
            .count()
    }

    #[test]
    fn embedded_font_is_dejavu_sans() {
        let db = font_db();
        assert_eq!(db.len(), 1);
        let face = db.faces().next().unwrap();
        assert!(
            face.families.iter().any(|(name, _)| name == FONT_NAME),
            "{:?}",
            face.families
        );
    }

    #[test]
    fn png_is_960_by_540_and_not_blank() {
        let bytes = png(&sample(ChartKind::Bar)).expect("renders");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&bytes[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 960);
        assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 540);
        let pixmap = decode(&bytes);
        assert_eq!((pixmap.width(), pixmap.height()), (960, 540));
        let total = pixmap.pixels().len();
        let inked = ink(&pixmap, 0, 540);
        // Bars for 18 months in two series cover a good part of the plot.
        assert!(inked * 100 >= total * 15, "{inked} of {total} pixels drawn");
        // Every pixel is opaque: the background is painted.
        assert!(pixmap.pixels().iter().all(|p| p.alpha() == 255));
        // The first series' blue is there.
        assert!(
            pixmap
                .pixels()
                .iter()
                .any(|p| (p.red(), p.green(), p.blue()) == (0x00, 0x72, 0xB2))
        );
    }

    #[test]
    fn png_draws_text_with_the_embedded_font() {
        let chart = sample(ChartKind::Line);
        let mut untitled = chart.clone();
        untitled.title.clear();
        let with = decode(&png(&chart).unwrap());
        let without = decode(&png(&untitled).unwrap());
        // The title band (title baseline at y = 32, legend from y = 48).
        let titled_ink = ink(&with, 10, 44);
        assert!(titled_ink > 1000, "title drew only {titled_ink} pixels");
        assert_eq!(ink(&without, 10, 44), 0);
        // The rest is the same picture.
        assert_eq!(with.pixels()[44 * 960..], without.pixels()[44 * 960..]);
        // The caption band at the bottom has text too.
        assert!(ink(&with, 515, 535) > 500);
    }

    #[test]
    fn png_of_edge_cases_renders() {
        let mut no_categories = sample(ChartKind::Line);
        no_categories.categories.clear();
        let mut zeros = sample(ChartKind::Bar);
        for s in &mut zeros.series {
            s.values = vec![0.0; s.values.len()];
        }
        let mut odd = sample(ChartKind::Line);
        odd.title = "<&>\"'".into();
        odd.series[0].values[3] = f64::NAN;
        odd.series[1].values[4] = -50.0;
        for chart in [no_categories, zeros, odd] {
            let pixmap = decode(&png(&chart).unwrap());
            assert_eq!((pixmap.width(), pixmap.height()), (960, 540));
        }
    }

    /// Writes a sample to $CHART_SAMPLE_DIR, when set, to look at.
    #[test]
    fn write_samples_when_asked() {
        let Some(dir) = std::env::var_os("CHART_SAMPLE_DIR") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        let mut long = sample(ChartKind::Bar);
        long.categories = (0..12).map(|i| format!("Boucle du Mouhoun {i}")).collect();
        let mut many = sample(ChartKind::Line);
        many.categories = monthly(120);
        many.series = vec![Series {
            name: "Incidents".into(),
            values: (0..120)
                .map(|i| f64::from((i * 53 % 97 + i * 11) as u32))
                .collect(),
        }];
        let mut empty = sample(ChartKind::Line);
        empty.categories.clear();
        let mut negative = sample(ChartKind::Bar);
        negative.series[0].values = (0..18).map(|i| f64::from(i - 6) * 1.5).collect();
        negative.series.truncate(1);
        let mut crowded = sample(ChartKind::Line);
        crowded.title = "Security incidents & fatalities per month in Mali, Burkina Faso, \
                         Niger, Chad and Mauritania (all sources)"
            .into();
        crowded.caption = "Source: sahelwatch (UCDP GED 23.1, ACLED 2024-07 release, \
                           local partner reports); 2023-01-01 to 2024-06-30; 12,345 incidents \
                           visible to <Coordination humanitaire Sahel & partenaires>; \
                           counts of fatalities are best estimates"
            .into();
        crowded.series = (0..7)
            .map(|k| Series {
                name: format!("Region {k} (Liptako-Gourma)"),
                values: (0..18).map(|i| f64::from(i * (k + 1))).collect(),
            })
            .collect();
        for (name, chart) in [
            ("chart_crowded", crowded),
            ("chart_sample", sample(ChartKind::Line)),
            ("chart_bar", sample(ChartKind::Bar)),
            ("chart_long", long),
            ("chart_many", many),
            ("chart_empty", empty),
            ("chart_negative", negative),
        ] {
            std::fs::write(dir.join(format!("{name}.png")), png(&chart).unwrap()).unwrap();
            std::fs::write(dir.join(format!("{name}.svg")), svg(&chart)).unwrap();
        }
    }
}
