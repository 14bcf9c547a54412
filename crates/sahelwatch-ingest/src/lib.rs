//! Readers that turn external files into sahelwatch domain values, with a
//! list of the rows they refused and why.
//!
//! - [`acled`]: ACLED CSV exports, both the 2021-era 31-column layout and the
//!   current layout (`disorder_type`, `civilian_targeting`, `tags`), with or
//!   without an HXL hashtag row after the header.
//! - [`ucdp`]: UCDP GED CSV (49 columns), mapped onto the ACLED-based model.
//! - [`geonames`]: GeoNames dumps (19 tab-separated columns).
//! - [`synthetic`]: a seeded generator of synthetic ACLED-layout rows for benchmarks.
//!
//! This crate reads from `std::io::Read` values it is given; it never opens
//! files by itself, touches a database or the network.

pub mod acled;
mod csvrow;
pub mod geonames;
pub mod synthetic;
pub mod ucdp;

pub use csvrow::{FileError, RowIssue};

use sahelwatch_core::IncidentData;

/// One incident read from a file, with the line it started on.
#[derive(Debug, Clone)]
pub struct ParsedIncident {
    pub line: u64,
    pub data: IncidentData,
}

/// A stream of incidents from a file: each item is a parsed row or the
/// reason a row was refused.
pub trait IncidentRows: Iterator<Item = Result<ParsedIncident, RowIssue>> + Send {
    /// Bytes consumed so far (for progress reporting).
    fn bytes_read(&self) -> u64;
    /// Short description of what was detected, e.g. "ACLED current layout, HXL row skipped".
    fn describe(&self) -> String;
    /// The dataset name rows are stored under (`acled`, `ucdp-ged`).
    fn dataset(&self) -> &'static str;
    /// Set when reading stopped on an error that makes the rest of the file
    /// untrustworthy (an I/O error, a broken CSV structure). The caller must
    /// then discard the whole import rather than keep the rows read so far.
    fn fatal_error(&mut self) -> Option<FileError>;
}

/// The incident file formats sahelwatch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentFormat {
    Acled,
    Ucdp,
}

/// Open an incident file of the given format. Fails only for problems with
/// the file as a whole (empty, no recognisable header).
pub fn open_incidents<R: std::io::Read + Send + 'static>(
    format: IncidentFormat,
    reader: R,
) -> Result<Box<dyn IncidentRows>, FileError> {
    Ok(match format {
        IncidentFormat::Acled => Box::new(acled::AcledReader::new(reader)?),
        IncidentFormat::Ucdp => Box::new(ucdp::UcdpReader::new(reader)?),
    })
}
