//! The drivable roads of an OpenStreetMap PBF extract, as a [`RoadGraph`].
//!
//! One pass over the file keeps every node's position and every drivable
//! way; the ways are then resolved to positions and given, in file order, to
//! a [`GraphBuilder`] without snapping (OpenStreetMap is noded: roads that
//! meet share a node). Two nodes at the same position are one graph node.
//!
//! A way is drivable when `RoadClass::from_osm(highway)` knows its
//! `highway=*`, it is not `area=yes`, and neither `access` nor
//! `motor_vehicle` is `no` or `private`, unless `motor_vehicle` or `hgv` is
//! `yes` or `designated`. Directions follow the OpenStreetMap conventions:
//! `oneway=yes|true|1` is one-way as drawn, `oneway=-1|reverse` one-way against
//! it, `oneway=no|false|0` two-way; without a `oneway` tag,
//! `junction=roundabout|circular` and `highway=motorway` are one-way. Any other
//! `oneway` value (`reversible`, `alternating`) is taken as two-way.

use std::collections::BTreeMap;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};

use osmpbf::{BlobDecode, BlobReader, Element};
use serde::Serialize;

use crate::build::{BuildReport, GraphBuilder};
use crate::graph::{LonLat, RoadClass, RoadGraph, SpeedProfile};

/// Why a PBF file could not be read. Nothing is returned with an error: a
/// file that fails half-way is not a partial road network.
#[derive(Debug, thiserror::Error)]
pub enum OsmError {
    #[error("reading OSM PBF: {0}")]
    Pbf(#[from] osmpbf::Error),
    #[error("reading OSM PBF: no OSMHeader block before the data; is this an .osm.pbf file?")]
    NoHeader,
    #[error("reading OSM PBF: data block {block} is corrupt (its elements could not be decoded)")]
    CorruptBlock { block: u64 },
}

/// The OpenStreetMap part of a [`BuildReport`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OsmReport {
    /// Nodes (plain and dense) in the file.
    pub nodes_read: u64,
    /// Ways in the file, of any kind.
    pub ways_read: u64,
    /// Ways with a `highway` tag.
    pub highway_ways: u64,
    /// Drivable ways of which at least one line was given to the builder.
    pub ways_kept: u64,
    /// Ways whose `highway` value is not drivable, by value (`footway`: 12).
    pub ways_skipped_by_highway: BTreeMap<String, u64>,
    /// Drivable classes closed to motor vehicles by `access` or
    /// `motor_vehicle`.
    pub ways_skipped_by_access: u64,
    /// Drivable classes tagged `area=yes` (squares, not roads).
    pub ways_skipped_area: u64,
    /// Node references of kept ways whose node is not in the file (ways cut
    /// at the edge of an extract). The way is broken there: only its runs of
    /// two or more known nodes become lines.
    pub missing_node_refs: u64,
    pub ways_with_missing_node_refs: u64,
    /// Ways drawn against their direction of travel (`oneway=-1`), given to
    /// the builder reversed.
    pub reversed_ways: u64,
}

/// The driving direction of a way, relative to its drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Both,
    Forward,
    Backward,
}

/// A drivable way, waiting for its nodes.
#[derive(Debug)]
struct PendingWay {
    refs: Vec<i64>,
    class: RoadClass,
    direction: Direction,
    name: Option<String>,
    maxspeed_kmh: Option<f64>,
}

#[derive(Debug, Default)]
struct Collect {
    /// (id, lon, lat) in 1e-7 degrees.
    nodes: Vec<(i64, i32, i32)>,
    ways: Vec<PendingWay>,
    report: OsmReport,
}

impl Collect {
    fn element(&mut self, e: Element<'_>) {
        match e {
            Element::Node(n) => {
                self.nodes
                    .push((n.id(), n.decimicro_lon(), n.decimicro_lat()));
            }
            Element::DenseNode(n) => {
                self.nodes
                    .push((n.id(), n.decimicro_lon(), n.decimicro_lat()));
            }
            Element::Way(w) => {
                self.report.ways_read += 1;
                let mut tags = WayTags::default();
                for (k, v) in w.tags() {
                    tags.set(k, v);
                }
                if let Some(way) = self.drivable(&tags) {
                    self.ways.push(PendingWay {
                        refs: w.refs().collect(),
                        ..way
                    });
                }
            }
            Element::Relation(_) => {}
        }
    }

    /// The way to keep (without its refs), or `None` with the reason counted.
    fn drivable(&mut self, t: &WayTags<'_>) -> Option<PendingWay> {
        let highway = t.highway?;
        self.report.highway_ways += 1;
        let Some(class) = RoadClass::from_osm(highway) else {
            *self
                .report
                .ways_skipped_by_highway
                .entry(highway.to_owned())
                .or_default() += 1;
            return None;
        };
        if t.area == Some("yes") {
            self.report.ways_skipped_area += 1;
            return None;
        }
        let closed = |v: Option<&str>| matches!(v, Some("no" | "private"));
        let open = |v: Option<&str>| matches!(v, Some("yes" | "designated"));
        if (closed(t.access) || closed(t.motor_vehicle)) && !(open(t.motor_vehicle) || open(t.hgv))
        {
            self.report.ways_skipped_by_access += 1;
            return None;
        }
        let direction = match t.oneway {
            Some("yes" | "true" | "1") => Direction::Forward,
            Some("-1" | "reverse") => Direction::Backward,
            Some(_) => Direction::Both,
            None if matches!(t.junction, Some("roundabout" | "circular")) => Direction::Forward,
            None if highway == "motorway" => Direction::Forward,
            None => Direction::Both,
        };
        let name = t
            .name
            .or(t.reference)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        Some(PendingWay {
            refs: Vec::new(),
            class,
            direction,
            name,
            maxspeed_kmh: t.maxspeed.and_then(parse_maxspeed),
        })
    }
}

/// The tags of a way that decide whether and how it is driven.
#[derive(Debug, Default)]
struct WayTags<'a> {
    highway: Option<&'a str>,
    access: Option<&'a str>,
    motor_vehicle: Option<&'a str>,
    hgv: Option<&'a str>,
    area: Option<&'a str>,
    oneway: Option<&'a str>,
    junction: Option<&'a str>,
    maxspeed: Option<&'a str>,
    name: Option<&'a str>,
    reference: Option<&'a str>,
}

impl<'a> WayTags<'a> {
    fn set(&mut self, k: &str, v: &'a str) {
        let slot = match k {
            "highway" => &mut self.highway,
            "access" => &mut self.access,
            "motor_vehicle" => &mut self.motor_vehicle,
            "hgv" => &mut self.hgv,
            "area" => &mut self.area,
            "oneway" => &mut self.oneway,
            "junction" => &mut self.junction,
            "maxspeed" => &mut self.maxspeed,
            "name" => &mut self.name,
            "ref" => &mut self.reference,
            _ => return,
        };
        *slot = Some(v);
    }
}

/// A `maxspeed` value in km/h: a number, optionally followed by `km/h`,
/// `kmh`, `kph` or `mph` (converted). Anything else (`none`, `walk`,
/// `FR:urban`, `50;70`) is `None`, as is a speed that is not positive.
pub fn parse_maxspeed(value: &str) -> Option<f64> {
    let v = value.trim();
    let end = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(end);
    let n: f64 = number.parse().ok()?;
    let kmh = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "km/h" | "kmh" | "kph" => n,
        "mph" => n * 1.609_344,
        _ => return None,
    };
    (kmh.is_finite() && kmh > 0.0).then_some(kmh)
}

/// Reads the drivable roads of an OpenStreetMap PBF file into a graph, with
/// the build report (its `osm` part filled in). The whole file is read before
/// anything is built; node positions are held in memory (16 bytes a node).
pub fn read_pbf<R: Read + Send>(
    reader: R,
    profile: SpeedProfile,
) -> Result<(RoadGraph, BuildReport), OsmError> {
    let mut c = Collect::default();
    let mut saw_header = false;
    for (i, blob) in BlobReader::new(reader).enumerate() {
        match blob?.decode()? {
            BlobDecode::OsmHeader(_) => saw_header = true,
            BlobDecode::OsmData(block) => {
                if !saw_header {
                    return Err(OsmError::NoHeader);
                }
                // The decoder does unchecked arithmetic on the deltas of a
                // block that decoded as valid protobuf; a corrupt block must
                // be an error, not a crash of the import.
                catch_unwind(AssertUnwindSafe(|| {
                    block.for_each_element(|e| c.element(e))
                }))
                .map_err(|_| OsmError::CorruptBlock { block: i as u64 })?;
            }
            BlobDecode::Unknown(_) => {}
        }
    }
    if !saw_header {
        return Err(OsmError::NoHeader);
    }

    let Collect {
        mut nodes,
        ways,
        mut report,
    } = c;
    report.nodes_read = nodes.len() as u64;
    if !nodes.is_sorted_by_key(|n| n.0) {
        nodes.sort_by_key(|n| n.0);
    }
    nodes.dedup_by_key(|n| n.0);
    let position = |id: i64| -> Option<LonLat> {
        let i = nodes.binary_search_by_key(&id, |n| n.0).ok()?;
        Some([nodes[i].1 as f64 / 1e7, nodes[i].2 as f64 / 1e7])
    };

    let mut builder = GraphBuilder::new(profile);
    for way in &ways {
        let mut runs: Vec<Vec<LonLat>> = vec![Vec::new()];
        let mut missing = 0;
        for &id in &way.refs {
            match position(id) {
                Some(p) => runs.last_mut().expect("runs starts non-empty").push(p),
                None => {
                    missing += 1;
                    runs.push(Vec::new());
                }
            }
        }
        if missing > 0 {
            report.missing_node_refs += missing;
            report.ways_with_missing_node_refs += 1;
            runs.retain(|r| r.len() >= 2);
        }
        if runs.is_empty() {
            continue;
        }
        // A way of one node still goes to the builder, which counts it.
        if runs.iter().any(|r| r.len() >= 2) {
            report.ways_kept += 1;
        }
        if way.direction == Direction::Backward {
            report.reversed_ways += 1;
        }
        for mut run in runs {
            if way.direction == Direction::Backward {
                run.reverse();
            }
            builder.add_line(
                &run,
                way.class,
                way.direction != Direction::Both,
                way.name.as_deref(),
                way.maxspeed_kmh,
            );
        }
    }
    let (graph, mut build) = builder.build(None);
    build.osm = Some(report);
    Ok((graph, build))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags<'a>(pairs: &[(&str, &'a str)]) -> WayTags<'a> {
        let mut t = WayTags::default();
        for (k, v) in pairs {
            t.set(k, v);
        }
        t
    }

    #[test]
    fn maxspeed_numbers_units_and_refusals() {
        assert_eq!(parse_maxspeed("50"), Some(50.0));
        assert_eq!(parse_maxspeed(" 50 km/h"), Some(50.0));
        assert_eq!(parse_maxspeed("90kmh"), Some(90.0));
        assert!((parse_maxspeed("30 mph").unwrap() - 48.28).abs() < 0.01);
        for v in [
            "none", "walk", "FR:urban", "50;70", "", "0", "signals", "50 knots",
        ] {
            assert_eq!(parse_maxspeed(v), None, "{v}");
        }
    }

    #[test]
    fn drivable_classes_access_and_areas() {
        let mut c = Collect::default();
        assert!(c.drivable(&tags(&[("highway", "footway")])).is_none());
        assert!(c.drivable(&tags(&[("highway", "footway")])).is_none());
        assert!(c.drivable(&tags(&[("building", "yes")])).is_none());
        assert!(
            c.drivable(&tags(&[("highway", "service"), ("access", "private")]))
                .is_none()
        );
        assert!(
            c.drivable(&tags(&[
                ("highway", "residential"),
                ("motor_vehicle", "no")
            ]))
            .is_none()
        );
        assert!(
            c.drivable(&tags(&[("highway", "service"), ("area", "yes")]))
                .is_none()
        );
        let w = c
            .drivable(&tags(&[
                ("highway", "track"),
                ("access", "no"),
                ("hgv", "yes"),
            ]))
            .unwrap();
        assert_eq!(w.class, RoadClass::Track);
        assert_eq!(c.report.ways_skipped_by_highway["footway"], 2);
        assert_eq!(c.report.highway_ways, 6);
        assert_eq!(
            (c.report.ways_skipped_by_access, c.report.ways_skipped_area),
            (2, 1)
        );
    }

    #[test]
    fn oneway_rules() {
        let mut c = Collect::default();
        let mut dir = |pairs: &[(&str, &str)]| c.drivable(&tags(pairs)).unwrap().direction;
        assert_eq!(dir(&[("highway", "primary")]), Direction::Both);
        assert_eq!(
            dir(&[("highway", "primary"), ("oneway", "yes")]),
            Direction::Forward
        );
        assert_eq!(
            dir(&[("highway", "primary"), ("oneway", "1")]),
            Direction::Forward
        );
        assert_eq!(
            dir(&[("highway", "primary"), ("oneway", "-1")]),
            Direction::Backward
        );
        assert_eq!(
            dir(&[("highway", "primary"), ("oneway", "reverse")]),
            Direction::Backward
        );
        assert_eq!(dir(&[("highway", "motorway")]), Direction::Forward);
        assert_eq!(
            dir(&[("highway", "motorway"), ("oneway", "no")]),
            Direction::Both
        );
        assert_eq!(
            dir(&[("highway", "tertiary"), ("junction", "roundabout")]),
            Direction::Forward
        );
        assert_eq!(
            dir(&[("highway", "secondary"), ("oneway", "reversible")]),
            Direction::Both
        );
    }

    #[test]
    fn names_fall_back_to_ref() {
        let mut c = Collect::default();
        let w = c
            .drivable(&tags(&[("highway", "trunk"), ("ref", "RN4")]))
            .unwrap();
        assert_eq!(w.name.as_deref(), Some("RN4"));
        let w = c
            .drivable(&tags(&[
                ("highway", "trunk"),
                ("ref", "RN4"),
                ("name", "Av. K"),
            ]))
            .unwrap();
        assert_eq!(w.name.as_deref(), Some("Av. K"));
        let w = c
            .drivable(&tags(&[("highway", "trunk"), ("maxspeed", "30 mph")]))
            .unwrap();
        assert!(w.name.is_none() && w.maxspeed_kmh.unwrap() > 48.0);
    }

    #[test]
    fn garbage_and_empty_input_are_errors() {
        let garbage: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(read_pbf(&garbage[..], SpeedProfile::default()).is_err());
        let e = read_pbf(&[][..], SpeedProfile::default()).unwrap_err();
        assert!(matches!(e, OsmError::NoHeader), "{e}");
        assert!(e.to_string().contains("OSMHeader"));
    }
}
