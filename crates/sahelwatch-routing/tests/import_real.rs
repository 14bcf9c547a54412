//! Real road data, read in place from the shared data folder (never copied
//! into the repository): OpenStreetMap's Monaco extract, and two road files
//! of Burkina Faso (VMap0 road lines and the rural tracks).
//!
//! The folder is `$SAHELWATCH_SHARED_DATA`, else `shared/data` beside the
//! repository.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::time::Instant;

use sahelwatch_routing::build::GraphBuilder;
use sahelwatch_routing::lines::{LinesOptions, read_geojson};
use sahelwatch_routing::osm::read_pbf;
use sahelwatch_routing::{RoadClass, RoadGraph, SpeedProfile};

fn shared(path: &str) -> PathBuf {
    let root = std::env::var_os("SAHELWATCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    let p = root.join(path);
    assert!(
        p.exists(),
        "{} not found: set SAHELWATCH_SHARED_DATA to the shared data folder",
        p.display()
    );
    p
}

fn open(path: &str) -> BufReader<File> {
    BufReader::new(File::open(shared(path)).unwrap())
}

/// What a router relies on beyond `validate`: shapes run from node to node,
/// and lengths are those of the shapes.
fn check_shapes(g: &RoadGraph) {
    g.validate().unwrap();
    for (i, s) in g.segments.iter().enumerate() {
        let shape = g.shape(s);
        assert_eq!(shape[0], g.nodes[s.from as usize], "segment {i}");
        assert_eq!(
            *shape.last().unwrap(),
            g.nodes[s.to as usize],
            "segment {i}"
        );
        assert!(s.length_m > 0.0, "segment {i}");
        assert!(
            shape.windows(2).all(|w| w[0] != w[1]),
            "segment {i} repeats a point"
        );
    }
}

#[test]
fn monaco_pbf_makes_a_valid_connected_road_graph() {
    let t = Instant::now();
    let (g, r) = read_pbf(open("osm/monaco.osm.pbf"), SpeedProfile::default()).unwrap();
    let took = t.elapsed();
    eprintln!(
        "monaco ({took:.2?}): {}",
        serde_json::to_string_pretty(&r).unwrap()
    );
    check_shapes(&g);
    let osm = r.osm.as_ref().unwrap();

    assert!(
        r.nodes > 1_000 && r.segments > 1_500,
        "{} nodes, {} segments",
        r.nodes,
        r.segments
    );
    assert_eq!(
        (r.nodes, r.segments),
        (g.nodes.len() as u64, g.segments.len() as u64)
    );
    assert!(r.junctions > 500 && r.junctions < r.nodes);
    for class in ["primary", "secondary", "residential", "service"] {
        assert!(
            r.km_by_class.get(class).is_some_and(|&km| km > 1.0),
            "{class}: {:?}",
            r.km_by_class
        );
    }
    assert!(r.km_total > 50.0 && r.km_total < 1_000.0, "{}", r.km_total);
    assert!(r.oneway_segments > 100);
    assert!(
        osm.ways_skipped_by_highway.contains_key("footway"),
        "{:?}",
        osm.ways_skipped_by_highway
    );
    assert!(osm.ways_kept > 1_000 && osm.ways_kept <= osm.highway_ways);
    // A way or two whose nodes all share one position.
    assert!(r.lines_dropped <= 5, "{:?}", r.lines_dropped_by_reason);
    // Roads of a city are one network, less the odd private car park.
    assert!(r.largest_component_nodes * 10 > r.nodes * 8, "{r:?}");
    assert!(g.segments.iter().any(|s| g.name(s).is_some()));
    // Monaco lies around 7.42 E, 43.73 N.
    assert!(
        g.nodes
            .iter()
            .all(|n| (7.3..7.6).contains(&n[0]) && (43.6..43.9).contains(&n[1]))
    );

    // The same file gives the same graph.
    let (g2, r2) = read_pbf(open("osm/monaco.osm.pbf"), SpeedProfile::default()).unwrap();
    assert!(g == g2 && r == r2);
}

#[test]
fn a_corrupt_pbf_is_an_error_not_a_panic() {
    let mut bytes = Vec::new();
    open("osm/monaco.osm.pbf").read_to_end(&mut bytes).unwrap();

    // The real header, then garbage.
    let mut corrupt = bytes[..1_000].to_vec();
    corrupt.extend((0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8));
    let e = read_pbf(&corrupt[..], SpeedProfile::default()).unwrap_err();
    eprintln!("header + garbage: {e}");
    assert!(e.to_string().starts_with("reading OSM PBF"));

    // Cut in the middle of a block.
    let e = read_pbf(&bytes[..bytes.len() / 2], SpeedProfile::default()).unwrap_err();
    eprintln!("truncated: {e}");

    // Bytes flipped inside the first data block.
    let mut flipped = bytes.clone();
    for b in &mut flipped[400..2_000] {
        *b ^= 0x5a;
    }
    let e = read_pbf(&flipped[..], SpeedProfile::default()).unwrap_err();
    eprintln!("flipped: {e}");
}

#[test]
fn burkina_faso_road_lines_and_tracks_join_better_with_snapping() {
    let build = |snap: Option<f64>| {
        let mut b = GraphBuilder::new(SpeedProfile::default());
        let opts = LinesOptions::default();
        let roads = read_geojson(
            open("roads/bfa_roadlines_vmap0_divagis.geojson"),
            &opts,
            &mut b,
        )
        .unwrap();
        let tracks = LinesOptions {
            class: Some(RoadClass::Track),
            class_property: None,
        };
        let pistes = read_geojson(open("roads/bfa_pistesLL.geojson"), &tracks, &mut b).unwrap();
        let t = Instant::now();
        let (g, r) = b.build(snap);
        eprintln!(
            "BFA snap {snap:?} (build {:.2?}): roads {roads:?}\npistes: {} features, {} lines, {} skipped\n{}",
            t.elapsed(),
            pistes.features,
            pistes.lines,
            pistes.skipped.len(),
            serde_json::to_string_pretty(&r).unwrap()
        );
        check_shapes(&g);
        (g, r, roads, pistes)
    };
    let (_, plain, roads, pistes) = build(None);
    let (g, snapped, _, _) = build(Some(50.0));
    let (_, wide, _, _) = build(Some(500.0));

    assert_eq!((roads.features, pistes.features), (1_149, 2_251));
    assert!(roads.skipped.is_empty() && pistes.skipped.is_empty());
    assert!(
        plain.km_by_class["secondary"] > 5_000.0,
        "{:?}",
        plain.km_by_class
    );
    assert!(plain.km_by_class["primary"] > 100.0 && plain.km_by_class["track"] > 10_000.0);

    assert!(snapped.snapped_ends > 100, "{snapped:?}");
    assert!(snapped.dangling_ends < plain.dangling_ends);
    assert!(snapped.junctions > plain.junctions);
    assert!(snapped.components < plain.components);
    assert_eq!(snapped.junctions_from_shared_coordinates, plain.junctions);
    assert!(snapped.largest_component_nodes > plain.largest_component_nodes);
    // The two files share almost no points, and many tracks stop hundreds of
    // metres from the road they lead to: at 50 m the largest component holds
    // about half the nodes, at 500 m most of them.
    assert!(
        snapped.largest_component_nodes * 5 > snapped.nodes * 2,
        "{snapped:?}"
    );
    assert!(
        wide.largest_component_nodes * 5 > wide.nodes * 4,
        "{wide:?}"
    );
    assert!(wide.dangling_ends < snapped.dangling_ends);
    // Joining adds only the gaps: at most 50 m per end.
    assert!(snapped.km_total - plain.km_total <= snapped.snapped_ends as f64 * 0.05 + 0.2);
    // Burkina Faso: 5.5 W to 2.5 E, 9.3 N to 15.2 N (a little margin).
    assert!(
        g.nodes
            .iter()
            .all(|n| (-6.0..3.0).contains(&n[0]) && (9.0..15.5).contains(&n[1]))
    );
}
