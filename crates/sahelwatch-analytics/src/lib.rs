//! Analytics over the incidents a viewer may see: counts by period and their
//! change, Getis-Ord Gi* hotspots on an H3 grid with a false-discovery-rate
//! correction, emerging-hotspot classes from a Mann-Kendall trend test, the
//! approach of events toward a place, and charts.
//!
//! Every function here takes values already restricted to what the viewer
//! may see (the caller gets them from the index); nothing here knows about
//! visibility, storage or HTTP.
//!
//! This crate is pure: no I/O, no clock, no threads.

pub mod approach;
pub mod change;
pub mod chart;
pub mod hotspot;
pub mod period;

/// A value to one decimal, as analytics report percentages and distances.
pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
