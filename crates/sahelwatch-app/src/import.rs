//! Imports: a reader thread parses the file and streams batches of rows to
//! the store, which writes them inside one transaction. Parsing and writing
//! thus run on two cores at once, and nothing is committed until the last
//! row has been seen.
//!
//! Row-level problems never stop an import: the row is refused and reported
//! with its line, column and reason, and the rest is loaded. With `strict`,
//! any refused row makes the whole import roll back (all-or-nothing).

use crate::{App, AppError, ParamError};
use chrono::Utc;
use flate2::read::GzDecoder;
use sahelwatch_core::coarsen::coarse_position;
use sahelwatch_core::{Marking, OrgId, Place, Tlp};
use sahelwatch_ingest::geonames::GeonamesReader;
use sahelwatch_ingest::{IncidentFormat, RowIssue};
use sahelwatch_store::{ImportJob, ImportMsg, ImportOutcome, ImportRow};
use serde::Serialize;
use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rows per batch sent from the reader to the store.
const BATCH: usize = 4096;

/// Receives progress of a long import (the CLI draws a bar with it).
pub trait Progress: Send + Sync {
    /// Total bytes, when known.
    fn start(&self, total_bytes: Option<u64>);
    fn at(&self, bytes: u64, rows: u64);
    fn finish(&self);
}

/// A progress sink that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: Option<u64>) {}
    fn at(&self, _: u64, _: u64) {}
    fn finish(&self) {}
}

/// How imported items are marked and how strict the import is.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Owner, TLP and the rest of the marking every imported item gets.
    pub marking: Marking,
    pub strict: bool,
}

/// What an import did, in full.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub source: String,
    pub detected: String,
    pub rows_read: u64,
    #[serde(flatten)]
    pub outcome: ImportOutcome,
    pub refused: Vec<RowIssue>,
    pub seconds: f64,
}

impl ImportReport {
    /// One line a person can read.
    pub fn summary(&self) -> String {
        let state = if self.outcome.committed {
            "committed".to_string()
        } else {
            format!(
                "NOT committed: strict mode and {} row(s) refused, nothing was written",
                self.refused.len()
            )
        };
        format!(
            "{} [{}]: {} rows read, {} inserted, {} updated, {} unchanged, {} refused; {} in {:.2}s ({:.0} rows/s)",
            self.source,
            self.detected,
            self.rows_read,
            self.outcome.inserted,
            self.outcome.updated,
            self.outcome.unchanged,
            self.refused.len(),
            state,
            self.seconds,
            self.rows_read as f64 / self.seconds.max(1e-9),
        )
    }
}

/// What loading the starter data did.
#[derive(Debug, Clone, Serialize)]
pub struct StarterReport {
    pub reports: Vec<ImportReport>,
}

const STARTER_GAZETTEER: &[(&str, &[u8])] = &[
    (
        "geonames_cities500_sahel_region.tsv",
        include_bytes!("../../../data/starter/geonames_cities500_sahel_region.tsv.gz"),
    ),
    (
        "geonames_BF_dump_2025-08.txt",
        include_bytes!("../../../data/starter/geonames_BF_dump_2025-08.txt.gz"),
    ),
    (
        "geonames_ML_dump_2014-12.txt",
        include_bytes!("../../../data/starter/geonames_ML_dump_2014-12.txt.gz"),
    ),
    (
        "geonames_NE_dump_2014-12.txt",
        include_bytes!("../../../data/starter/geonames_NE_dump_2014-12.txt.gz"),
    ),
    (
        "geonames_MR_dump_2014-12.txt",
        include_bytes!("../../../data/starter/geonames_MR_dump_2014-12.txt.gz"),
    ),
    (
        "geonames_SN_dump_2014-12.txt",
        include_bytes!("../../../data/starter/geonames_SN_dump_2014-12.txt.gz"),
    ),
];

const STARTER_UCDP: (&str, &[u8]) = (
    "ucdp_ged_23_1_sample.csv",
    include_bytes!("../../../data/starter/ucdp_ged_23_1_sample.csv.gz"),
);

impl App {
    /// Import an ACLED or UCDP file. `total_bytes` feeds the progress bar.
    pub async fn import_incidents(
        &self,
        format: IncidentFormat,
        source: &str,
        reader: Box<dyn Read + Send>,
        total_bytes: Option<u64>,
        opts: &ImportOptions,
        progress: Arc<dyn Progress>,
    ) -> Result<ImportReport, AppError> {
        let started = Instant::now();
        let rows =
            sahelwatch_ingest::open_incidents(format, BufReader::with_capacity(1 << 20, reader))
                .map_err(|error| AppError::File {
                    source_name: source.to_string(),
                    error,
                })?;
        let detected = rows.describe();
        let job = ImportJob {
            kind: match format {
                IncidentFormat::Acled => "acled",
                IncidentFormat::Ucdp => "ucdp",
            }
            .to_string(),
            source: source.to_string(),
            detected: detected.clone(),
            dataset: rows.dataset().to_string(),
            marking: opts.marking.clone(),
            strict: opts.strict,
            started_at: Utc::now(),
        };
        let gazetteer = self.gazetteer().await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<ImportMsg>(4);
        let (strict, marking) = (opts.strict, opts.marking.clone());
        progress.start(total_bytes);
        let reader_progress = Arc::clone(&progress);
        let reader = tokio::task::spawn_blocking(move || {
            let mut rows = rows;
            let mut batch = Vec::with_capacity(BATCH);
            let mut refused = Vec::new();
            let mut read = 0u64;
            let mut last_tick = Instant::now();
            while let Some(item) = rows.next() {
                read += 1;
                match item {
                    Ok(p) => {
                        let coarse = coarse_position(marking.coarsen, &p.data.location, &gazetteer);
                        batch.push(ImportRow::new(p.data, marking.clone(), coarse))
                    }
                    Err(issue) => refused.push(issue),
                }
                if batch.len() == BATCH {
                    // After a refused row in strict mode, keep reading to report every
                    // problem, but stop sending rows that will be rolled back anyway.
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    let doomed = strict && !refused.is_empty();
                    if !doomed && tx.blocking_send(ImportMsg::Rows(full)).is_err() {
                        return (read, refused, None);
                    }
                }
                if last_tick.elapsed() > Duration::from_millis(100) {
                    reader_progress.at(rows.bytes_read(), read);
                    last_tick = Instant::now();
                }
            }
            reader_progress.at(rows.bytes_read(), read);
            if let Some(fatal) = rows.fatal_error() {
                // Dropping the sender without Finish makes the store roll back.
                return (read, refused, Some(fatal));
            }
            let commit = !strict || refused.is_empty();
            if commit && !batch.is_empty() && tx.blocking_send(ImportMsg::Rows(batch)).is_err() {
                return (read, refused, None);
            }
            // If the store has gone (it failed), its error is reported below.
            let _ = tx.blocking_send(ImportMsg::Finish {
                commit,
                rows_read: read,
                refused: refused.clone(),
            });
            (read, refused, None)
        });
        let stored = self.store.import_incidents(job, rx).await;
        let (rows_read, refused, fatal) = reader
            .await
            .map_err(|e| AppError::Internal(format!("reader thread: {e}")))?;
        progress.finish();
        if let Some(error) = fatal {
            return Err(AppError::File {
                source_name: source.to_string(),
                error,
            });
        }
        let outcome = stored?;
        Ok(ImportReport {
            source: source.to_string(),
            detected,
            rows_read,
            outcome,
            refused,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Import a GeoNames dump (19 tab-separated columns).
    pub async fn import_gazetteer(
        &self,
        source: &str,
        reader: Box<dyn Read + Send>,
        total_bytes: Option<u64>,
        strict: bool,
        progress: Arc<dyn Progress>,
    ) -> Result<ImportReport, AppError> {
        let started = Instant::now();
        progress.start(total_bytes);
        let p2 = Arc::clone(&progress);
        let source_name = source.to_string();
        let parsed = tokio::task::spawn_blocking(
            move || -> Result<(Vec<Place>, Vec<RowIssue>, u64), AppError> {
                let mut buffered = BufReader::with_capacity(1 << 20, reader);
                let first = {
                    use std::io::BufRead;
                    let buf = buffered.fill_buf()?;
                    let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
                    String::from_utf8_lossy(&buf[..end]).into_owned()
                };
                if first.trim().is_empty() {
                    return Err(AppError::File {
                        source_name,
                        error: sahelwatch_ingest::FileError::Empty,
                    });
                }
                sahelwatch_ingest::geonames::check_first_line(first.trim_end_matches('\r'))
                    .map_err(|error| AppError::File {
                        source_name: source_name.clone(),
                        error,
                    })?;
                let mut reader = GeonamesReader::new(buffered);
                let mut places: Vec<Place> = Vec::new();
                let mut lines: HashMap<i64, u64> = HashMap::new();
                let mut refused = Vec::new();
                let mut n = 0u64;
                while let Some(item) = reader.next() {
                    n += 1;
                    match item {
                        Ok(p) => {
                            let line = reader.line();
                            if let Some(first) = lines.get(&p.id) {
                                refused.push(RowIssue {
                                    line,
                                    column: Some("geonameid".into()),
                                    value: Some(p.id.to_string()),
                                    reason: format!(
                                        "duplicate geonameid: the same id is on line {first}"
                                    ),
                                });
                            } else {
                                lines.insert(p.id, line);
                                places.push(p);
                            }
                        }
                        Err(issue) => refused.push(issue),
                    }
                    if n.is_multiple_of(10_000) {
                        p2.at(reader.bytes_read(), n);
                    }
                }
                p2.at(reader.bytes_read(), n);
                if let Some(error) = reader.fatal_error() {
                    return Err(AppError::File { source_name, error });
                }
                Ok((places, refused, n))
            },
        )
        .await
        .map_err(|e| AppError::Internal(format!("reader thread: {e}")))??;
        let (places, refused, rows_read) = parsed;
        progress.finish();
        let job = ImportJob {
            kind: "gazetteer".into(),
            source: source.to_string(),
            detected: "GeoNames dump, 19 columns".into(),
            dataset: "geonames".into(),
            marking: Marking::new(OrgId(0), Tlp::Clear),
            strict,
            started_at: Utc::now(),
        };
        let outcome = self
            .store
            .import_places(job, places, rows_read, refused.clone())
            .await?;
        Ok(ImportReport {
            source: source.to_string(),
            detected: "GeoNames dump, 19 columns".into(),
            rows_read,
            outcome,
            refused,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// True when the database holds nothing yet (no incidents, places or imports).
    pub async fn is_empty(&self) -> Result<bool, AppError> {
        let s = self.store.stats().await?;
        Ok(s.incidents == 0 && s.places == 0 && s.imports == 0)
    }

    /// Load the bundled starter data: the GeoNames gazetteer of the region and
    /// the UCDP GED sample (as TLP:CLEAR, owned by `owner`).
    pub async fn load_starter_data(
        &self,
        owner: OrgId,
        progress: Arc<dyn Progress>,
    ) -> Result<StarterReport, AppError> {
        let mut reports = Vec::new();
        for (name, gz) in STARTER_GAZETTEER {
            let reader: Box<dyn Read + Send> = Box::new(GzDecoder::new(*gz));
            reports.push(
                self.import_gazetteer(
                    &format!("starter:{name}"),
                    reader,
                    None,
                    true,
                    Arc::clone(&progress),
                )
                .await?,
            );
        }
        let (name, gz) = STARTER_UCDP;
        let reader: Box<dyn Read + Send> = Box::new(GzDecoder::new(gz));
        let opts = ImportOptions {
            marking: Marking::new(owner, Tlp::Clear),
            strict: true,
        };
        reports.push(
            self.import_incidents(
                IncidentFormat::Ucdp,
                &format!("starter:{name}"),
                reader,
                None,
                &opts,
                progress,
            )
            .await?,
        );
        Ok(StarterReport { reports })
    }

    /// Parse a TLP given by a user.
    pub fn parse_tlp(s: &str) -> Result<Tlp, AppError> {
        s.parse().map_err(|e: sahelwatch_core::tlp::TlpParseError| {
            AppError::BadRequest(vec![ParamError::new("tlp", s, e.to_string())])
        })
    }
}
