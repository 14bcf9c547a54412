//! Exports: ACLED-layout CSV and GeoJSON, streamed in batches so that a
//! million incidents never sit in memory at once.

use crate::query::IncidentQuery;
use crate::views::geojson_feature;
use crate::{App, AppError};
use sahelwatch_core::Viewer;
use sahelwatch_ingest::acled::AcledWriter;
use std::io::Write;

const EXPORT_BATCH: usize = 2000;

/// Export file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV in the current ACLED export layout (31 columns).
    AcledCsv,
    /// A GeoJSON FeatureCollection of Points.
    GeoJson,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Result<ExportFormat, AppError> {
        match s {
            "csv" | "acled" | "acled-csv" => Ok(ExportFormat::AcledCsv),
            "geojson" => Ok(ExportFormat::GeoJson),
            other => Err(AppError::BadRequest(vec![crate::ParamError::new(
                "format",
                other,
                "must be csv (ACLED layout) or geojson",
            )])),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::AcledCsv => "text/csv; charset=utf-8",
            ExportFormat::GeoJson => "application/geo+json",
        }
    }
}

impl App {
    /// Write every incident matching `q` that `viewer` may see to `out`,
    /// oldest first. Returns the number written.
    pub async fn export<W: Write + Send>(
        &self,
        viewer: &Viewer,
        q: &IncidentQuery,
        format: ExportFormat,
        out: W,
    ) -> Result<u64, AppError> {
        let ids = self.matching_ids(viewer, q).await?;
        let mut n = 0u64;
        match format {
            ExportFormat::AcledCsv => {
                let mut w = AcledWriter::new(out).map_err(csv_err)?;
                for chunk in ids.chunks(EXPORT_BATCH) {
                    for inc in self.fetch_visible(viewer, chunk).await? {
                        w.write(&inc).map_err(csv_err)?;
                        n += 1;
                    }
                }
                w.finish()?;
            }
            ExportFormat::GeoJson => {
                let mut out = out;
                out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
                for chunk in ids.chunks(EXPORT_BATCH) {
                    let incidents = self.fetch_visible(viewer, chunk).await?;
                    for v in self.views(incidents, false).await? {
                        if n > 0 {
                            out.write_all(b",\n")?;
                        }
                        serde_json::to_writer(&mut out, &geojson_feature(&v)).map_err(|e| AppError::Internal(e.to_string()))?;
                        n += 1;
                    }
                }
                out.write_all(b"\n]}\n")?;
                out.flush()?;
            }
        }
        Ok(n)
    }
}

fn csv_err(e: csv::Error) -> AppError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => AppError::Io(io),
        other => AppError::Internal(format!("{other:?}")),
    }
}
