//! OpenStreetMap PBF to a network: `sahelwatch_app::roads::build_network`
//! with one `.osm.pbf` file of arbitrary bytes: `osm::read_pbf` (blob
//! headers, zlib blobs of at most 32 MiB each, dense and plain nodes, ways,
//! tags), the graph build, the topology and the contraction order.
//!
//! `read_pbf` deliberately catches a panic of osmpbf's element decoder on a
//! corrupt block (`OsmError::CorruptBlock`). libFuzzer-sys installs a panic
//! hook that aborts before unwinding, which would report that handled panic
//! as a crash; this target puts back a hook that only records the message,
//! catches an unwinding panic at the top itself and aborts on it (a panic
//! anywhere else is still a crash, reported with its message).
#![no_main]

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use sahelwatch_app::roads::{RoadImportOptions, build_network};
use sahelwatch_routing::SpeedProfile;

thread_local! {
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

static HOOK: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            LAST_PANIC.with(|p| *p.borrow_mut() = info.to_string());
        }));
    });
    let opts = RoadImportOptions {
        name: "fuzz".into(),
        snap_m: None,
        profile: SpeedProfile::default(),
        class: None,
        created_at: chrono::DateTime::UNIX_EPOCH,
    };
    let file: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    let run = catch_unwind(AssertUnwindSafe(|| {
        build_network(vec![("roads.osm.pbf".into(), file)], &opts)
    }));
    if run.is_err() {
        LAST_PANIC.with(|p| eprintln!("uncaught panic: {}", p.borrow()));
        std::process::abort();
    }
});
