//! GeoJSON road lines to a network: `sahelwatch_app::roads::build_network`,
//! the road import's entry point, with one `.geojson` file of arbitrary
//! bytes: `lines::read_geojson` into a `GraphBuilder`, `build` (with dead-end
//! snapping on inputs of even length, without on odd ones), the topology and
//! the contraction order. Inputs are capped by libFuzzer's `-max_len`, so a
//! network is at most a few hundred lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sahelwatch_app::roads::{RoadImportOptions, build_network};
use sahelwatch_routing::SpeedProfile;

fuzz_target!(|data: &[u8]| {
    let opts = RoadImportOptions {
        name: "fuzz".into(),
        snap_m: (data.len() % 2 == 0).then_some(50.0),
        profile: SpeedProfile::default(),
        class: None,
        created_at: chrono::DateTime::UNIX_EPOCH,
    };
    let file: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    let _ = build_network(vec![("roads.geojson".into(), file)], &opts);
});
