//! Roads and routes: a routable graph from OpenStreetMap (`osm`) or GeoJSON
//! lines (`lines`), both through one `build::GraphBuilder`; risk per road
//! segment from the incidents a viewer may see (`risk`); shortest paths over
//! Customizable Contraction Hierarchies with a plain Dijkstra as the oracle
//! (`engine`); fastest, least-exposed and balanced routes, Pareto
//! alternatives, avoided areas and the risk profile along a route (`plan`).
//!
//! No I/O of its own (readers come from the caller), no clock. The one use of
//! threads is inside the `cch` crate, which customizes metrics with rayon.

pub mod build;
pub mod engine;
pub mod graph;
pub mod lines;
pub mod osm;
pub mod plan;
pub mod risk;

pub use graph::{LonLat, RoadClass, RoadGraph, Segment, SpeedProfile};
