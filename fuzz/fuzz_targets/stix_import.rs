//! STIX 2.1 bundle import: arbitrary bytes as the body of a bundle (or TAXII
//! envelope) POST, parsed as JSON as the server does, then
//! `sahelwatch_app::stix::parse_objects` — every check of the import before
//! the store (type, id, spec_version, TLP markings, the sahelwatch
//! extension, the incident's fields and `validate_as_sourced`), then the
//! time window fusion gives each accepted incident.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sahelwatch_app::stix::parse_objects;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(incidents) = parse_objects(&doc) {
        for (_, inc, _) in &incidents {
            // Accepted incidents are valid: re-validating finds nothing.
            assert!(inc.validate_as_sourced().is_empty());
            // Fusion matches reports against an incident's time window.
            let _ = sahelwatch_core::fusion::incident_window(inc);
        }
    }
});
