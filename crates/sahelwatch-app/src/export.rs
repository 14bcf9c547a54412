//! Exports: ACLED-layout CSV, GeoJSON and STIX 2.1 bundles, produced in
//! chunks of incidents so that a million of them never sit in memory at once.
//! The CLI writes the chunks to a file; the server streams them.

use crate::query::IncidentQuery;
use crate::views::geojson_feature;
use crate::{App, AppError};
use sahelwatch_core::coarsen::coarsen_location;
use sahelwatch_core::{Coarsen, Viewer};
use sahelwatch_ingest::acled::{AcledWriter, CURRENT_COLUMNS};
use std::collections::HashSet;
use std::io::Write;

/// Incidents per export chunk.
pub const EXPORT_CHUNK: usize = 2000;

/// Export file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV in the current ACLED export layout (31 columns).
    AcledCsv,
    /// A GeoJSON FeatureCollection of Points.
    GeoJson,
    /// The same Points with only what a map draws (id, TLP, date, event
    /// and sub-event type, fatalities): a tenth of the size.
    Points,
    /// A STIX 2.1 bundle (see [`crate::stix`]).
    Stix,
}

/// What an export has written so far, carried from one chunk to the next.
#[derive(Debug, Default)]
pub struct ExportState {
    /// Incidents written.
    pub written: u64,
    /// STIX ids of shared objects (actors, organisations) already written.
    seen: HashSet<String>,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Result<ExportFormat, AppError> {
        match s {
            "csv" | "acled" | "acled-csv" => Ok(ExportFormat::AcledCsv),
            "geojson" => Ok(ExportFormat::GeoJson),
            "points" => Ok(ExportFormat::Points),
            "stix" => Ok(ExportFormat::Stix),
            other => Err(AppError::BadRequest(vec![crate::ParamError::new(
                "format",
                other,
                "must be csv (ACLED layout), geojson, points (GeoJSON for a map) or stix",
            )])),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::AcledCsv => "text/csv; charset=utf-8",
            ExportFormat::GeoJson | ExportFormat::Points => "application/geo+json",
            ExportFormat::Stix => "application/stix+json;version=2.1",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::AcledCsv => "csv",
            ExportFormat::GeoJson | ExportFormat::Points => "geojson",
            ExportFormat::Stix => "stix.json",
        }
    }

    /// What comes before the first incident.
    pub fn prelude(self) -> Vec<u8> {
        match self {
            ExportFormat::AcledCsv => {
                let mut line = CURRENT_COLUMNS.join(",");
                line.push('\n');
                line.into_bytes()
            }
            ExportFormat::GeoJson | ExportFormat::Points => {
                b"{\"type\":\"FeatureCollection\",\"features\":[\n".to_vec()
            }
            ExportFormat::Stix => {
                let mut out = format!(
                    "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[\n",
                    uuid::Uuid::new_v4()
                )
                .into_bytes();
                for (i, o) in crate::stix::preamble_objects().iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b",\n");
                    }
                    out.extend_from_slice(o.to_string().as_bytes());
                }
                out
            }
        }
    }

    /// What comes after the last incident.
    pub fn epilogue(self) -> Vec<u8> {
        match self {
            ExportFormat::AcledCsv => Vec::new(),
            ExportFormat::GeoJson | ExportFormat::Points | ExportFormat::Stix => b"\n]}\n".to_vec(),
        }
    }
}

/// A map point: the incident's (possibly coarsened) position and what a
/// map styles and filters by.
fn point_feature(v: &crate::views::IncidentView) -> serde_json::Value {
    let d = &v.data;
    serde_json::json!({
        "type": "Feature",
        "id": v.id,
        "geometry": {"type": "Point", "coordinates": [d.location.longitude, d.location.latitude]},
        "properties": {
            "id": v.id,
            "tlp": v.tlp,
            "event_date": d.event_date,
            "event_type": v.event_type,
            "sub_event_type": d.sub_event_type,
            "fatalities": d.fatalities.best,
        },
    })
}

impl App {
    /// The bytes of one chunk of an export: the incidents with these row ids
    /// that `viewer` may see. `state` carries what earlier chunks wrote.
    pub async fn export_chunk(
        &self,
        viewer: &Viewer,
        ids: &[i64],
        format: ExportFormat,
        state: &mut ExportState,
        path: &str,
    ) -> Result<Vec<u8>, AppError> {
        let mut incidents = self.fetch_visible(viewer, ids).await?;
        self.audit_read(
            viewer,
            "export",
            path,
            incidents.iter().map(|i| (i.id, i.marking.tlp)),
        )
        .await?;
        let mut buf = Vec::new();
        match format {
            ExportFormat::AcledCsv => {
                let mut w = AcledWriter::continuing(&mut buf);
                for inc in &mut incidents {
                    // Coarsened outside the owner organisation, as in every other output.
                    if !viewer.exact_location(inc.marking.owner)
                        && inc.marking.coarsen != Coarsen::Exact
                    {
                        coarsen_location(&mut inc.data.location, inc.marking.coarsen, inc.coarse);
                    }
                    w.write(inc).map_err(csv_err)?;
                    state.written += 1;
                }
                w.finish()?;
            }
            ExportFormat::GeoJson | ExportFormat::Points => {
                for v in self.views(viewer, incidents, false).await? {
                    if state.written > 0 {
                        buf.extend_from_slice(b",\n");
                    }
                    let written = if format == ExportFormat::Points {
                        serde_json::to_writer(&mut buf, &point_feature(&v))
                    } else {
                        serde_json::to_writer(&mut buf, &geojson_feature(&v))
                    };
                    written.map_err(|e| AppError::Internal(e.to_string()))?;
                    state.written += 1;
                }
            }
            ExportFormat::Stix => {
                for inc in &incidents {
                    let owner = self.owner(inc).await?;
                    // The preamble is never empty, so every object follows a comma.
                    for o in crate::stix::incident_objects(inc, &owner, viewer, &mut state.seen) {
                        buf.extend_from_slice(b",\n");
                        buf.extend_from_slice(o.to_string().as_bytes());
                    }
                    state.written += 1;
                }
            }
        }
        Ok(buf)
    }

    /// Write every incident matching `q` that `viewer` may see to `out`,
    /// oldest first. Returns the number written.
    pub async fn export<W: Write + Send>(
        &self,
        viewer: &Viewer,
        q: &IncidentQuery,
        format: ExportFormat,
        mut out: W,
        path: &str,
    ) -> Result<u64, AppError> {
        let ids = self.matching_ids(viewer, q).await?;
        out.write_all(&format.prelude())?;
        let mut state = ExportState::default();
        for chunk in ids.chunks(EXPORT_CHUNK) {
            let bytes = self
                .export_chunk(viewer, chunk, format, &mut state, path)
                .await?;
            out.write_all(&bytes)?;
        }
        out.write_all(&format.epilogue())?;
        out.flush()?;
        Ok(state.written)
    }
}

fn csv_err(e: csv::Error) -> AppError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => AppError::Io(io),
        other => AppError::Internal(format!("{other:?}")),
    }
}
