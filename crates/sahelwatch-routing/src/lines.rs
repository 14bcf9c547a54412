//! Road lines from GeoJSON (a FeatureCollection, a single Feature or a bare
//! geometry), given to a [`GraphBuilder`]. Road files that are not
//! OpenStreetMap — VMap0 road lines, a ministry's list of rural tracks — are
//! read here, usually several into one builder, then built with snapping.
//!
//! LineString and MultiLineString features are roads; features of any other
//! geometry type (or none) are listed in the summary and left out. A feature's
//! class is, in order: the class forced by [`LinesOptions::class`]; its
//! `highway` property, read as OpenStreetMap's (a `highway` that is not a road
//! trucks drive, such as `footway`, leaves the feature out, listed as not
//! drivable); its VMap0 `RTT_DESCRI` (`Primary Route`, `Secondary Route`,
//! anything else unclassified); the property named by
//! [`LinesOptions::class_property`], read as a class name (`track`) or an
//! OpenStreetMap `highway` value; else unclassified. It is one-way, as drawn,
//! when its `oneway` property is `yes`, `true` or `1`. Its name is the first
//! non-empty of `name`, `ref` and `Piste`; its `maxspeed`, if any, is read as
//! OpenStreetMap's.
//!
//! A file is taken whole or not at all: a coordinate that is not a position
//! on Earth is an error naming the feature and the coordinate, and nothing of
//! that file reaches the builder.

use std::io::Read;

use geojson::{GeoJson, Geometry, GeometryValue, JsonObject, JsonValue, Position};
use serde::Serialize;

use crate::build::GraphBuilder;
use crate::graph::{LonLat, RoadClass};
use crate::osm::parse_maxspeed;

/// How to read the road class of the features of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinesOptions {
    /// Every feature of the file is of this class.
    pub class: Option<RoadClass>,
    /// A property holding a class name or an OpenStreetMap `highway` value.
    pub class_property: Option<String>,
}

/// What one file gave.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LinesSummary {
    /// Features read (a bare geometry counts as one feature).
    pub features: u64,
    /// Lines given to the builder (a MultiLineString gives one per part).
    pub lines: u64,
    /// Features left out for their geometry: (feature index, geometry type,
    /// or `null` for a feature without one).
    pub skipped: Vec<(usize, String)>,
    /// Line features left out because their `highway` is not drivable:
    /// (feature index, `highway` value).
    pub not_drivable: Vec<(usize, String)>,
}

/// Why a file was refused. Indexes count from 0.
#[derive(Debug, thiserror::Error)]
pub enum LinesError {
    #[error("reading GeoJSON: {0}")]
    Io(#[from] std::io::Error),
    #[error("GeoJSON not valid at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "GeoJSON feature {feature}: coordinate {coordinate} of line {part} is [{lon}, {lat}]: {reason}"
    )]
    Coordinate {
        feature: usize,
        /// The line within a MultiLineString (0 for a LineString).
        part: usize,
        coordinate: usize,
        lon: f64,
        lat: f64,
        reason: &'static str,
    },
}

impl From<serde_json::Error> for LinesError {
    fn from(e: serde_json::Error) -> Self {
        let text = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
        LinesError::Json {
            line: e.line(),
            column: e.column(),
            message,
        }
    }
}

/// A line feature, checked and ready for the builder.
struct RoadFeature {
    lines: Vec<Vec<LonLat>>,
    class: RoadClass,
    oneway: bool,
    name: Option<String>,
    maxspeed_kmh: Option<f64>,
}

/// Reads the road lines of one GeoJSON document into `builder`. On error the
/// builder is untouched.
pub fn read_geojson<R: Read>(
    mut reader: R,
    opts: &LinesOptions,
    builder: &mut GraphBuilder,
) -> Result<LinesSummary, LinesError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let doc: GeoJson = serde_json::from_slice(&bytes)?;
    drop(bytes);
    let features: Vec<(Option<&Geometry>, Option<&JsonObject>)> = match &doc {
        GeoJson::FeatureCollection(fc) => fc
            .features
            .iter()
            .map(|f| (f.geometry.as_ref(), f.properties.as_ref()))
            .collect(),
        GeoJson::Feature(f) => vec![(f.geometry.as_ref(), f.properties.as_ref())],
        GeoJson::Geometry(g) => vec![(Some(g), None)],
    };

    let mut summary = LinesSummary {
        features: features.len() as u64,
        ..Default::default()
    };
    let mut roads = Vec::new();
    for (i, (geometry, props)) in features.into_iter().enumerate() {
        let parts: Vec<&Vec<Position>> = match geometry.map(|g| &g.value) {
            Some(GeometryValue::LineString { coordinates }) => vec![coordinates],
            Some(GeometryValue::MultiLineString { coordinates }) => coordinates.iter().collect(),
            Some(other) => {
                summary.skipped.push((i, other.type_name().to_owned()));
                continue;
            }
            None => {
                summary.skipped.push((i, "null".to_owned()));
                continue;
            }
        };
        let mut lines = Vec::with_capacity(parts.len());
        for (part, coords) in parts.into_iter().enumerate() {
            let mut line = Vec::with_capacity(coords.len());
            for (coordinate, pos) in coords.iter().enumerate() {
                let p = position(pos).map_err(|(lon, lat, reason)| LinesError::Coordinate {
                    feature: i,
                    part,
                    coordinate,
                    lon,
                    lat,
                    reason,
                })?;
                line.push(p);
            }
            lines.push(line);
        }
        let class = match class_of(opts, props) {
            Ok(c) => c,
            Err(highway) => {
                summary.not_drivable.push((i, highway));
                continue;
            }
        };
        let oneway = props
            .and_then(|p| p.get("oneway"))
            .is_some_and(|v| match v {
                JsonValue::Bool(b) => *b,
                JsonValue::Number(n) => n.as_f64() == Some(1.0),
                JsonValue::String(s) => {
                    matches!(s.trim().to_ascii_lowercase().as_str(), "yes" | "true" | "1")
                }
                _ => false,
            });
        let name = ["name", "ref", "Piste"]
            .into_iter()
            .find_map(|k| text(props, k));
        let maxspeed_kmh = text(props, "maxspeed").and_then(|v| parse_maxspeed(&v));
        roads.push(RoadFeature {
            lines,
            class,
            oneway,
            name,
            maxspeed_kmh,
        });
    }

    for road in roads {
        for line in &road.lines {
            builder.add_line(
                line,
                road.class,
                road.oneway,
                road.name.as_deref(),
                road.maxspeed_kmh,
            );
            summary.lines += 1;
        }
    }
    Ok(summary)
}

/// A GeoJSON position as (lon, lat), or what is wrong with it.
fn position(pos: &Position) -> Result<LonLat, (f64, f64, &'static str)> {
    let s = pos.as_slice();
    let (lon, lat) = (
        s.first().copied().unwrap_or(f64::NAN),
        s.get(1).copied().unwrap_or(f64::NAN),
    );
    if !(lon.is_finite() && lat.is_finite()) {
        Err((lon, lat, "not a pair of finite numbers"))
    } else if !(-180.0..=180.0).contains(&lon) {
        Err((lon, lat, "longitude outside -180..180"))
    } else if !(-90.0..=90.0).contains(&lat) {
        Err((lon, lat, "latitude outside -90..90"))
    } else {
        Ok([lon, lat])
    }
}

/// A property as trimmed, non-empty text (strings and numbers).
fn text(props: Option<&JsonObject>, key: &str) -> Option<String> {
    let s = match props?.get(key)? {
        JsonValue::String(s) => s.trim().to_owned(),
        JsonValue::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// The class of a feature (see the module docs), or the `highway` value that
/// makes it no road.
fn class_of(opts: &LinesOptions, props: Option<&JsonObject>) -> Result<RoadClass, String> {
    if let Some(c) = opts.class {
        return Ok(c);
    }
    if let Some(h) = text(props, "highway") {
        return RoadClass::from_osm(&h).ok_or(h);
    }
    if let Some(r) = text(props, "RTT_DESCRI") {
        return Ok(match r.as_str() {
            "Primary Route" => RoadClass::Primary,
            "Secondary Route" => RoadClass::Secondary,
            _ => RoadClass::Unclassified,
        });
    }
    let from_property = opts
        .class_property
        .as_deref()
        .and_then(|k| text(props, k))
        .and_then(|v| {
            let v = v.to_ascii_lowercase();
            RoadClass::parse(&v).or_else(|| RoadClass::from_osm(&v))
        });
    Ok(from_property.unwrap_or(RoadClass::Unclassified))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::SpeedProfile;

    fn read(text: &str, opts: &LinesOptions) -> (Result<LinesSummary, LinesError>, GraphBuilder) {
        let mut b = GraphBuilder::new(SpeedProfile::default());
        let r = read_geojson(text.as_bytes(), opts, &mut b);
        (r, b)
    }

    fn feature(props: &str, geometry: &str) -> String {
        format!(r#"{{"type":"Feature","properties":{props},"geometry":{geometry}}}"#)
    }

    fn collection(features: &[String]) -> String {
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",\n")
        )
    }

    const LINE: &str = r#"{"type":"LineString","coordinates":[[-1.5,12.3],[-1.4,12.3]]}"#;

    #[test]
    fn invalid_json_names_line_and_column() {
        let text = "{\"type\": \"FeatureCollection\",\n  \"features\": [ }";
        let (r, b) = read(text, &LinesOptions::default());
        match r.unwrap_err() {
            LinesError::Json {
                line,
                column,
                message,
            } => {
                assert_eq!(line, 2, "{message}");
                assert!(column > 10, "{column}");
                assert!(!message.contains("at line"), "{message}");
            }
            e => panic!("{e}"),
        }
        assert_eq!(b.lines(), 0);
    }

    #[test]
    fn a_latitude_of_95_names_the_feature_and_coordinate_and_nothing_is_added() {
        let bad =
            r#"{"type":"MultiLineString","coordinates":[[[1,1],[2,2]],[[1,1],[2,2],[3,95]]]}"#;
        let text = collection(&[feature("{}", LINE), feature("{}", bad)]);
        let (r, b) = read(&text, &LinesOptions::default());
        let e = r.unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(
                e,
                LinesError::Coordinate {
                    feature: 1,
                    part: 1,
                    coordinate: 2,
                    ..
                }
            ),
            "{msg}"
        );
        assert!(
            msg.contains("feature 1") && msg.contains("coordinate 2") && msg.contains("latitude")
        );
        assert_eq!(b.lines(), 0);
        let (r, _) = read(
            &feature(
                "{}",
                r#"{"type":"LineString","coordinates":[[181,0],[0,0]]}"#,
            ),
            &LinesOptions::default(),
        );
        assert!(r.unwrap_err().to_string().contains("longitude"));
    }

    #[test]
    fn points_and_polygons_are_skipped_and_counted() {
        let text = collection(&[
            feature(
                r#"{"name":"well"}"#,
                r#"{"type":"Point","coordinates":[-1.5,12.3]}"#,
            ),
            feature("{}", LINE),
            feature("{}", "null"),
            feature(r#"{"highway":"footway"}"#, LINE),
        ]);
        let (r, b) = read(&text, &LinesOptions::default());
        let s = r.unwrap();
        assert_eq!((s.features, s.lines), (4, 1));
        assert_eq!(
            s.skipped,
            vec![(0, "Point".to_string()), (2, "null".to_string())]
        );
        assert_eq!(s.not_drivable, vec![(3, "footway".to_string())]);
        assert_eq!(b.lines(), 1);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#"[0,"Point"]"#), "{json}");
    }

    #[test]
    fn classes_names_and_oneway_from_properties() {
        let text = collection(&[
            feature(
                r#"{"highway":"primary_link","oneway":"yes","name":"RN1"}"#,
                LINE,
            ),
            feature(r#"{"RTT_DESCRI":"Secondary Route"}"#, LINE),
            feature(r#"{"RTT_DESCRI":"Unknown","ref":"N4"}"#, LINE),
            feature(r#"{"kind":"Track","Piste":"2R76","oneway":true}"#, LINE),
            feature(r#"{"kind":"tertiary_link","oneway":"no"}"#, LINE),
            feature(
                r#"{"kind":"canal","name":"","ref":"","Piste":"11A11"}"#,
                LINE,
            ),
        ]);
        let opts = LinesOptions {
            class: None,
            class_property: Some("kind".into()),
        };
        let mut b = GraphBuilder::new(SpeedProfile::default());
        let s = read_geojson(text.as_bytes(), &opts, &mut b).unwrap();
        assert_eq!(s.lines, 6);
        let (g, _) = b.build(None);
        let got: Vec<(RoadClass, bool, Option<&str>)> = g
            .segments
            .iter()
            .map(|seg| (seg.class, seg.oneway, g.name(seg)))
            .collect();
        assert_eq!(
            got,
            vec![
                (RoadClass::Primary, true, Some("RN1")),
                (RoadClass::Secondary, false, None),
                (RoadClass::Unclassified, false, Some("N4")),
                (RoadClass::Track, true, Some("2R76")),
                (RoadClass::Tertiary, false, None),
                (RoadClass::Unclassified, false, Some("11A11")),
            ]
        );

        // A forced class wins over every property.
        let opts = LinesOptions {
            class: Some(RoadClass::Track),
            class_property: None,
        };
        let mut b = GraphBuilder::new(SpeedProfile::default());
        read_geojson(text.as_bytes(), &opts, &mut b).unwrap();
        assert!(
            b.build(None)
                .0
                .segments
                .iter()
                .all(|s| s.class == RoadClass::Track)
        );
    }

    #[test]
    fn a_single_feature_or_a_bare_geometry_is_read() {
        let (r, b) = read(&feature("{}", LINE), &LinesOptions::default());
        assert_eq!((r.unwrap().lines, b.lines()), (1, 1));
        let (r, b) = read(LINE, &LinesOptions::default());
        assert_eq!((r.unwrap().features, b.lines()), (1, 1));
        let (r, _) = read(
            r#"{"type":"Point","coordinates":[0,0]}"#,
            &LinesOptions::default(),
        );
        assert_eq!(r.unwrap().skipped, vec![(0, "Point".to_string())]);
    }

    #[test]
    fn two_files_into_one_builder_join_where_they_share_a_point() {
        let mut b = GraphBuilder::new(SpeedProfile::default());
        let opts = LinesOptions::default();
        read_geojson(LINE.as_bytes(), &opts, &mut b).unwrap();
        let other = r#"{"type":"LineString","coordinates":[[-1.4,12.3],[-1.4,12.4]]}"#;
        read_geojson(other.as_bytes(), &opts, &mut b).unwrap();
        let (g, r) = b.build(None);
        g.validate().unwrap();
        assert_eq!(
            (r.nodes, r.segments, r.junctions, r.components),
            (3, 2, 1, 1)
        );
    }
}
