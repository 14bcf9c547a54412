//! JSON position parser, `sahelwatch_app::tracker::parse_json_position`, on
//! arbitrary bytes taken both ways the server reads them: as the body of
//! `POST /api/v1/positions` (a `JsonBatch`, each position parsed on its own,
//! at most `MAX_JSON_POSITIONS`) and as an MQTT message (one position).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sahelwatch_app::tracker::{JsonBatch, MAX_JSON_POSITIONS, parse_json_position};

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = serde_json::from_slice::<JsonBatch>(data) {
        for (k, v) in batch.positions.iter().take(MAX_JSON_POSITIONS).enumerate() {
            let _ = parse_json_position(&format!("positions[{k}]"), v);
        }
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = parse_json_position("message", &v);
    }
});
