//! Imports of real and malformed files through the application layer, on
//! both storage backends.

use sahelwatch_app::{App, AppError, ImportOptions, ImportReport, NoProgress, RawIncidentQuery};
use sahelwatch_core::{Tlp, Viewer};
use sahelwatch_ingest::{FileError, IncidentFormat};
use sahelwatch_store::conformance::TestDb;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn starter(name: &str) -> Box<dyn Read + Send> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/starter")
        .join(name);
    Box::new(flate2::read::GzDecoder::new(
        std::fs::File::open(path).expect("starter file"),
    ))
}

async fn import_file(
    app: &App,
    format: IncidentFormat,
    name: &str,
    strict: bool,
) -> Result<ImportReport, AppError> {
    let org = app.ensure_org("Test org").await?;
    let opts = ImportOptions {
        marking: sahelwatch_core::Marking::new(org.id, Tlp::Clear),
        strict,
    };
    let file = std::fs::File::open(fixture(name)).expect("fixture");
    app.import_incidents(
        format,
        name,
        Box::new(file),
        None,
        &opts,
        Arc::new(NoProgress),
    )
    .await
}

async fn count(app: &App) -> u64 {
    let q = RawIncidentQuery::default()
        .resolve(&app.gazetteer().await.unwrap())
        .unwrap();
    app.aggregate(&Viewer::Local, &q, &[], "test")
        .await
        .unwrap()
        .count
}

async fn acled_layouts_import_and_reimport_idempotently(db: TestDb) {
    let app = App::new(db.store.clone());
    let r = import_file(&app, IncidentFormat::Acled, "acled_2021_bfa.csv", true)
        .await
        .unwrap();
    assert_eq!(r.detected, "ACLED 2021-era layout");
    assert_eq!(
        (r.rows_read, r.outcome.inserted, r.refused.len()),
        (5, 5, 0)
    );
    let r = import_file(&app, IncidentFormat::Acled, "acled_hdx_mali_hxl.csv", true)
        .await
        .unwrap();
    assert_eq!(r.detected, "ACLED 2021-era layout, HXL hashtag row skipped");
    assert_eq!(
        (r.rows_read, r.outcome.inserted, r.refused.len()),
        (3, 3, 0)
    );
    let r = import_file(&app, IncidentFormat::Acled, "acled_current_sahel.csv", true)
        .await
        .unwrap();
    assert_eq!(r.detected, "ACLED current layout");
    assert_eq!((r.rows_read, r.outcome.inserted), (3, 3));
    assert_eq!(count(&app).await, 11);
    for name in [
        "acled_2021_bfa.csv",
        "acled_hdx_mali_hxl.csv",
        "acled_current_sahel.csv",
    ] {
        let r = import_file(&app, IncidentFormat::Acled, name, true)
            .await
            .unwrap();
        assert_eq!(
            (r.outcome.inserted, r.outcome.updated),
            (0, 0),
            "{name} re-import changes nothing"
        );
        assert_eq!(r.outcome.unchanged, r.rows_read);
    }
    assert_eq!(count(&app).await, 11);
    // The 2021 layout's data_id is kept verbatim as an original field.
    let q = RawIncidentQuery {
        country: Some("BF".into()),
        actor: Some("jnim".into()),
        ..Default::default()
    }
    .resolve(&app.gazetteer().await.unwrap())
    .unwrap();
    let page = app.search(&Viewer::Local, &q, "test").await.unwrap();
    assert_eq!(page.items.len(), 2, "two Burkina Faso incidents name JNIM");
    let detail = app
        .incident(&Viewer::Local, page.items[1].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        detail.data.original.get("data_id").map(String::as_str),
        Some("9876502")
    );
}

async fn ucdp_sample_imports_every_row_with_its_original_fields(db: TestDb) {
    let app = App::new(db.store.clone());
    let org = app.ensure_org("Test org").await.unwrap();
    let opts = ImportOptions {
        marking: sahelwatch_core::Marking::new(org.id, Tlp::Clear),
        strict: true,
    };
    let r = app
        .import_incidents(
            IncidentFormat::Ucdp,
            "ucdp",
            starter("ucdp_ged_23_1_sample.csv.gz"),
            None,
            &opts,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert!(
        r.refused.is_empty(),
        "{:?}",
        &r.refused[..r.refused.len().min(5)]
    );
    assert_eq!((r.rows_read, r.outcome.inserted), (1000, 1000));
    let again = app
        .import_incidents(
            IncidentFormat::Ucdp,
            "ucdp",
            starter("ucdp_ged_23_1_sample.csv.gz"),
            None,
            &opts,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            again.outcome.inserted,
            again.outcome.updated,
            again.outcome.unchanged
        ),
        (0, 0, 1000)
    );
    let gaz = app.gazetteer().await.unwrap();
    let q = RawIncidentQuery {
        country: Some("ML,BF,NE".into()),
        ..Default::default()
    }
    .resolve(&gaz)
    .unwrap();
    let sahel = app
        .aggregate(&Viewer::Local, &q, &[], "test")
        .await
        .unwrap()
        .count;
    assert_eq!(
        sahel, 12,
        "the sample has 7 Malian, 4 Burkinabe and 1 Nigerien events"
    );
    // The first row of the sample: Syria, 2013-01-03, id 300380.
    let q = RawIncidentQuery {
        from: Some("2013-01-03".into()),
        to: Some("2013-01-03".into()),
        country: Some("SY".into()),
        ..Default::default()
    }
    .resolve(&gaz)
    .unwrap();
    let page = app.search(&Viewer::Local, &q, "test").await.unwrap();
    let inc = page
        .items
        .iter()
        .find(|i| i.data.external_id.as_deref() == Some("300380"))
        .expect("row 300380");
    let full = app.incident(&Viewer::Local, inc.id).await.unwrap().unwrap();
    assert_eq!(
        full.data.original.get("relid").map(String::as_str),
        Some("SYR-2013-1-11973-99")
    );
    assert_eq!(
        full.data.original.get("where_prec").map(String::as_str),
        Some("1.0")
    );
    assert_eq!(full.data.fatalities.best, 2);
    assert_eq!(
        full.data.actors.actor1.as_deref(),
        Some("Government of Syria")
    );
}

/// Each malformed file has one bad row on line 3 between good rows.
async fn malformed_rows_are_refused_with_line_and_column(db: TestDb) {
    let app = App::new(db.store.clone());
    let cases = [
        ("bad_column_count.csv", None, "expected 31 fields, found 30"),
        ("bad_date.csv", Some("event_date"), "is not a date"),
        ("latitude_95.csv", Some("latitude"), "outside -90..90"),
        (
            "unknown_sub_event_type.csv",
            Some("sub_event_type"),
            "is not an ACLED sub-event type",
        ),
        ("non_utf8.csv", Some("notes"), "invalid UTF-8"),
    ];
    for (name, column, reason) in cases {
        // Strict: all-or-nothing, so nothing is written and every problem is reported.
        let before = count(&app).await;
        let seq = db.store.incident_seq().await.unwrap();
        let r = import_file(&app, IncidentFormat::Acled, name, true)
            .await
            .unwrap();
        assert!(!r.outcome.committed, "{name}");
        assert_eq!(
            count(&app).await,
            before,
            "{name}: a strict import with a refused row writes nothing"
        );
        assert_eq!(db.store.incident_seq().await.unwrap(), seq, "{name}");
        assert_eq!(r.refused.len(), 1, "{name}: {:?}", r.refused);
        let issue = &r.refused[0];
        assert_eq!(issue.line, 3, "{name}");
        assert_eq!(issue.column.as_deref(), column, "{name}");
        assert!(issue.reason.contains(reason), "{name}: {issue}");
        // Row by row: the good rows load, the bad one is reported.
        let r = import_file(&app, IncidentFormat::Acled, name, false)
            .await
            .unwrap();
        assert!(r.outcome.committed);
        assert_eq!(
            (
                r.rows_read,
                r.outcome.inserted + r.outcome.unchanged,
                r.refused.len()
            ),
            (3, 2, 1),
            "{name}"
        );
    }
    assert_eq!(
        count(&app).await,
        2,
        "the same two good rows, upserted each time"
    );
    let log = db.store.imports(100).await.unwrap();
    assert_eq!(log.len(), 5, "only the committed imports are recorded");
    assert_eq!(log[0].refused_rows[0]["line"], 3);
}

async fn empty_and_header_only_files(db: TestDb) {
    let app = App::new(db.store.clone());
    let err = import_file(&app, IncidentFormat::Acled, "empty.csv", false)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AppError::File {
                error: FileError::Empty,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "empty.csv: the file is empty: expected a header line"
    );
    let r = import_file(&app, IncidentFormat::Acled, "header_only.csv", false)
        .await
        .unwrap();
    assert!(r.outcome.committed);
    assert_eq!((r.rows_read, r.outcome.inserted), (0, 0));
    let err = import_file(&app, IncidentFormat::Ucdp, "acled_current_sahel.csv", false)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("this is not a UCDP GED export"),
        "{err}"
    );
}

/// A reader that fails after some bytes, like a network file system that
/// drops, or a truncated pipe.
struct FailingReader {
    data: Vec<u8>,
    pos: usize,
    fail_at: usize,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.fail_at {
            return Err(std::io::Error::other("connection reset while reading"));
        }
        let n = buf
            .len()
            .min(self.fail_at - self.pos)
            .min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

async fn an_import_that_breaks_midway_writes_nothing(db: TestDb) {
    let app = App::new(db.store.clone());
    let org = app.ensure_org("Test org").await.unwrap();
    let mut data = Vec::new();
    sahelwatch_ingest::synthetic::write_csv(&mut data, 3, 20_000).unwrap();
    let fail_at = data.len() * 3 / 4;
    let reader = FailingReader {
        data,
        pos: 0,
        fail_at,
    };
    let opts = ImportOptions {
        marking: sahelwatch_core::Marking::new(org.id, Tlp::Clear),
        strict: false,
    };
    let err = app
        .import_incidents(
            IncidentFormat::Acled,
            "synthetic",
            Box::new(reader),
            None,
            &opts,
            Arc::new(NoProgress),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("connection reset"), "{err}");
    assert_eq!(
        count(&app).await,
        0,
        "rows read before the failure were rolled back"
    );
    assert_eq!(db.store.imports(10).await.unwrap().len(), 0);
}

async fn gazetteer_import_and_place_search(db: TestDb) {
    let app = App::new(db.store.clone());
    let r = app
        .import_gazetteer(
            "NE",
            starter("geonames_NE_dump_2014-12.txt.gz"),
            None,
            true,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert!(
        r.outcome.committed && r.refused.is_empty(),
        "{:?}",
        r.refused
    );
    assert_eq!(r.outcome.inserted, 24320);
    let again = app
        .import_gazetteer(
            "NE",
            starter("geonames_NE_dump_2014-12.txt.gz"),
            None,
            true,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(again.outcome.unchanged, 24320);
    let gaz = app.gazetteer().await.unwrap();
    let hits = gaz.search(&sahelwatch_core::PlaceQuery {
        q: "tera".into(),
        limit: 5,
        ..Default::default()
    });
    assert_eq!(
        hits[0].place.id, 2438855,
        "Téra, the department seat, comes first"
    );
    assert_eq!(hits[0].place.name, "Téra");
    let bad = b"not\ta\tgeonames\tfile\n".to_vec();
    let err = app
        .import_gazetteer(
            "bad",
            Box::new(std::io::Cursor::new(bad)),
            None,
            false,
            Arc::new(NoProgress),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("expected 19 tab-separated fields, found 4"),
        "{err}"
    );
}

async fn export_round_trips_through_acled_csv(db: TestDb) {
    let app = App::new(db.store.clone());
    import_file(&app, IncidentFormat::Acled, "acled_current_sahel.csv", true)
        .await
        .unwrap();
    import_file(&app, IncidentFormat::Acled, "acled_2021_bfa.csv", true)
        .await
        .unwrap();
    let q = RawIncidentQuery::default()
        .resolve(&app.gazetteer().await.unwrap())
        .unwrap();
    let mut csv = Vec::new();
    let n = app
        .export(
            &Viewer::Local,
            &q,
            sahelwatch_app::ExportFormat::AcledCsv,
            &mut csv,
            "test",
        )
        .await
        .unwrap();
    assert_eq!(n, 8);
    // Into a second database: the same incidents come back.
    let other = TestDb::sqlite().await;
    let app2 = App::new(other.store.clone());
    let org = app2.ensure_org("Test org").await.unwrap();
    let opts = ImportOptions {
        marking: sahelwatch_core::Marking::new(org.id, Tlp::Clear),
        strict: true,
    };
    let r = app2
        .import_incidents(
            IncidentFormat::Acled,
            "export",
            Box::new(std::io::Cursor::new(csv)),
            None,
            &opts,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert_eq!((r.outcome.inserted, r.refused.len()), (8, 0));
    let mut geo = Vec::new();
    app.export(
        &Viewer::Local,
        &q,
        sahelwatch_app::ExportFormat::GeoJson,
        &mut geo,
        "test",
    )
    .await
    .unwrap();
    let fc: geojson::FeatureCollection = String::from_utf8(geo)
        .unwrap()
        .parse::<geojson::GeoJson>()
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(fc.features.len(), 8);
}

macro_rules! on_both_backends {
    ($($name:ident),+) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name(super::TestDb::sqlite().await).await }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name(super::TestDb::postgres().await).await }
            )+
        }
    };
}

on_both_backends!(
    acled_layouts_import_and_reimport_idempotently,
    ucdp_sample_imports_every_row_with_its_original_fields,
    malformed_rows_are_refused_with_line_and_column,
    empty_and_header_only_files,
    an_import_that_breaks_midway_writes_nothing,
    gazetteer_import_and_place_search,
    export_round_trips_through_acled_csv
);
