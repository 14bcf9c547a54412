//! ACLED CSV reader (`sahelwatch_ingest::open_incidents`, ACLED format):
//! arbitrary bytes as an uploaded export. Every row is read to the end; the
//! file-level error, each refused row and a fatal read error are all fine,
//! a panic is not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sahelwatch_ingest::{IncidentFormat, open_incidents};

fuzz_target!(|data: &[u8]| {
    let Ok(mut rows) = open_incidents(IncidentFormat::Acled, std::io::Cursor::new(data.to_vec()))
    else {
        return;
    };
    let _ = rows.describe();
    for row in rows.by_ref() {
        if let Ok(parsed) = row {
            // What is done next with a row the reader accepted: the import
            // validates it, fusion matches reports against its time window.
            let _ = parsed.data.validate_as_sourced();
            let _ = sahelwatch_core::fusion::incident_window(&parsed.data);
        }
    }
    let _ = rows.bytes_read();
    let _ = rows.fatal_error();
});
