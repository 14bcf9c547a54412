//! ACLED CSV exports, in and out.
//!
//! Two layouts are recognised by their header (column order does not matter):
//! - the 2021-era export, 31 columns: `data_id, iso, event_id_cnty,
//!   event_id_no_cnty, event_date, year, time_precision, event_type, ...,
//!   timestamp, iso3`;
//! - the current export/API layout, 31 columns: `event_id_cnty, event_date,
//!   year, time_precision, disorder_type, event_type, sub_event_type, ...,
//!   civilian_targeting, iso, ..., tags, timestamp`.
//!
//! An HXL hashtag row (`#event+code, #date+occurred, ...`) directly after the
//! header, as in HDX exports, is recognised and skipped.
//!
//! The ACLED vocabulary is enforced: an event type, sub-event type, inter
//! class, precision or disorder type that is not in the codebook refuses the
//! row with its line number; nothing is guessed. `inter1`/`inter2` may be
//! codes (1-8, 0 for none) or the class labels current exports write.

use crate::csvrow::{self, Col, Columns, FileError, Row, RowIssue, column_set};
use crate::{IncidentRows, ParsedIncident};
use chrono::Datelike;
use csv::ByteRecord;
use rustc_hash::FxHashMap;
use sahelwatch_core::country::{self, CountryCode};
use sahelwatch_core::incident::round_coord;
use sahelwatch_core::{
    Actors, DisorderType, EventType, Fatalities, Incident, IncidentData, Inter, Location,
    Precision, SubEventType,
};
use std::collections::BTreeMap;
use std::io::{Read, Write};

pub const DATASET: &str = "acled";

/// Which ACLED header was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 2021-era exports (`data_id`, `iso3`, numeric `inter`).
    Legacy2021,
    /// Current exports (`disorder_type`, `civilian_targeting`, `tags`).
    Current,
}

/// Columns of the current layout, in ACLED's order. Exports use this.
pub const CURRENT_COLUMNS: [&str; 31] = [
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
];

/// Columns of the 2021-era layout, in ACLED's order.
pub const LEGACY_COLUMNS: [&str; 31] = [
    "data_id",
    "iso",
    "event_id_cnty",
    "event_id_no_cnty",
    "event_date",
    "year",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "timestamp",
    "iso3",
];

const REQUIRED: &[&str] = &[
    "event_id_cnty",
    "event_date",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "inter1",
    "country",
    "latitude",
    "longitude",
    "geo_precision",
    "fatalities",
];

/// Columns the model holds (or derives) itself; any other column is kept verbatim in `original`.
const MODELLED: &[&str] = &[
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "iso3",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
];

column_set! {
    /// The ACLED columns the reader uses, resolved once per file.
    AcledCols {
        event_id_cnty, event_date, year, time_precision, disorder_type, event_type, sub_event_type,
        actor1, assoc_actor_1, inter1, actor2, assoc_actor_2, inter2, civilian_targeting, iso, iso3,
        region, country, admin1, admin2, admin3, location, latitude, longitude, geo_precision,
        source, source_scale, notes, fatalities, tags, timestamp,
    }
}

/// Streaming reader of an ACLED CSV export.
pub struct AcledReader<R: Read> {
    rdr: csv::Reader<R>,
    cols: Columns,
    c: AcledCols,
    layout: Layout,
    hxl_skipped: bool,
    pending: Option<ByteRecord>,
    rec: ByteRecord,
    seen: FxHashMap<String, u64>,
    fatal: Option<FileError>,
    unmodelled: Vec<usize>,
    done: bool,
}

impl<R: Read> AcledReader<R> {
    pub fn new(reader: R) -> Result<Self, FileError> {
        let mut rdr = csvrow::csv_reader(reader);
        let header = csvrow::read_header(&mut rdr)?;
        let cols = Columns::from_header(&header)?;
        cols.require("an ACLED export", REQUIRED)?;
        let layout =
            if cols.has("disorder_type") || cols.has("civilian_targeting") || cols.has("tags") {
                Layout::Current
            } else {
                Layout::Legacy2021
            };
        let unmodelled = (0..cols.len())
            .filter(|&i| !MODELLED.contains(&cols.names[i].as_str()))
            .collect();
        let c = AcledCols::resolve(&cols);
        let mut me = AcledReader {
            rdr,
            c,
            cols,
            layout,
            hxl_skipped: false,
            pending: None,
            rec: ByteRecord::new(),
            seen: FxHashMap::default(),
            fatal: None,
            unmodelled,
            done: false,
        };
        // Look at the first data row: an HXL hashtag row is skipped.
        let mut first = ByteRecord::new();
        match me.rdr.read_byte_record(&mut first) {
            Ok(true) => {
                if is_hxl_row(&first) {
                    me.hxl_skipped = true;
                } else {
                    me.pending = Some(first);
                }
            }
            Ok(false) => me.done = true,
            Err(e) => return Err(csvrow::csv_error(e)),
        }
        Ok(me)
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn hxl_skipped(&self) -> bool {
        self.hxl_skipped
    }

    fn parse(&mut self, rec: &ByteRecord, line: u64) -> Result<IncidentData, RowIssue> {
        let row = Row::new(line, rec, &self.cols)?;
        let data = parse_row(&row, &self.c, &self.unmodelled)?;
        let id = data.external_id.clone().unwrap_or_default();
        if let Some(first) = self.seen.get(&id) {
            return Err(row.issue(
                self.c.event_id_cnty,
                &id,
                format!("duplicate event_id_cnty: the same id is on line {first}"),
            ));
        }
        self.seen.insert(id, line);
        Ok(data)
    }
}

/// A row is an HXL hashtag row when every non-empty cell starts with `#`.
fn is_hxl_row(rec: &ByteRecord) -> bool {
    let mut any = false;
    for f in rec.iter() {
        let t = f.trim_ascii();
        if t.is_empty() {
            continue;
        }
        if t[0] != b'#' {
            return false;
        }
        any = true;
    }
    any
}

fn parse_row(row: &Row<'_>, c: &AcledCols, unmodelled: &[usize]) -> Result<IncidentData, RowIssue> {
    let external_id = row.required(c.event_id_cnty)?.to_string();
    let date_text = row.required(c.event_date)?;
    let event_date = csvrow::parse_date(date_text).ok_or_else(|| {
        row.issue(
            c.event_date,
            date_text,
            "is not a date (expected 2024-01-18 or 18 January 2024)",
        )
    })?;
    if let Some(year) = row.opt_int(c.year)?
        && year != event_date.year() as i64
    {
        return Err(row.issue(
            c.year,
            row.text(c.year),
            format!("does not match event_date {event_date}"),
        ));
    }
    let time_precision = precision(row, c.time_precision)?;
    let et_text = row.required(c.event_type)?;
    let event_type = EventType::parse(et_text)
        .ok_or_else(|| row.issue(c.event_type, et_text, "is not an ACLED event type"))?;
    let st_text = row.required(c.sub_event_type)?;
    let sub_event_type = SubEventType::parse(st_text)
        .ok_or_else(|| row.issue(c.sub_event_type, st_text, "is not an ACLED sub-event type"))?;
    if sub_event_type.event_type() != event_type {
        return Err(row.issue(
            c.sub_event_type,
            st_text,
            format!(
                "belongs to event type '{}', not '{}'",
                sub_event_type.event_type(),
                event_type
            ),
        ));
    }
    let disorder_type = match row.text(c.disorder_type) {
        "" => None,
        t => Some(
            DisorderType::parse(t)
                .ok_or_else(|| row.issue(c.disorder_type, t, "is not an ACLED disorder type"))?,
        ),
    };
    let actors = Actors {
        actor1: Some(row.required(c.actor1)?.to_string()),
        assoc_actor_1: row.list(c.assoc_actor_1),
        inter1: inter(row, c.inter1)?,
        actor2: row.opt_string(c.actor2),
        assoc_actor_2: row.list(c.assoc_actor_2),
        inter2: inter(row, c.inter2)?,
    };
    let civilian_targeting = match row.text(c.civilian_targeting) {
        "" => false,
        t if t.eq_ignore_ascii_case("civilian targeting") => true,
        t => {
            return Err(row.issue(
                c.civilian_targeting,
                t,
                "must be empty or 'Civilian targeting'",
            ));
        }
    };
    let country = country_of(row, c)?;
    let location = Location {
        country,
        region: row.opt_string(c.region),
        admin1: row.opt_string(c.admin1),
        admin2: row.opt_string(c.admin2),
        admin3: row.opt_string(c.admin3),
        place: row.opt_string(c.location),
        latitude: round_coord(row.float(c.latitude)?),
        longitude: round_coord(row.float(c.longitude)?),
        geo_precision: precision(row, c.geo_precision)?,
    };
    let mut original = BTreeMap::new();
    for &i in unmodelled {
        let t = row.at(i);
        if !t.is_empty() {
            original.insert(row.cols.names[i].clone(), t.to_string());
        }
    }
    let data = IncidentData {
        dataset: Some(DATASET.to_string()),
        external_id: Some(external_id),
        event_date,
        event_date_end: None,
        time_precision,
        sub_event_type,
        disorder_type,
        actors,
        civilian_targeting,
        location,
        fatalities: Fatalities {
            best: row.count(c.fatalities)?,
            low: None,
            high: None,
        },
        notes: row.text(c.notes).to_string(),
        sources: row.list(c.source),
        source_scale: row.opt_string(c.source_scale),
        tags: row.list(c.tags),
        source_timestamp: row.opt_int(c.timestamp)?,
        original,
    };
    if let Some(e) = data.validate().into_iter().next() {
        let col = row.cols.col(e.field);
        let value = row.text(col).to_string();
        return Err(row.issue(col, &value, e.message));
    }
    Ok(data)
}

fn precision(row: &Row<'_>, name: Col) -> Result<Precision, RowIssue> {
    let t = row.required(name)?;
    csvrow::parse_int(t)
        .and_then(|v| u8::try_from(v).ok())
        .and_then(Precision::new)
        .ok_or_else(|| row.issue(name, t, "must be 1, 2 or 3"))
}

fn inter(row: &Row<'_>, name: Col) -> Result<Option<Inter>, RowIssue> {
    let t = row.text(name);
    Inter::parse(t)
        .map_err(|_| row.issue(name, t, "is not an ACLED inter code (1-8) or actor class"))
}

fn country_of(row: &Row<'_>, c: &AcledCols) -> Result<CountryCode, RowIssue> {
    let iso = row.text(c.iso);
    if !iso.is_empty() {
        let n = csvrow::parse_int(iso).and_then(|n| u16::try_from(n).ok());
        return n
            .and_then(country::from_iso_numeric)
            .ok_or_else(|| row.issue(c.iso, iso, "is not an ISO 3166-1 numeric country code"));
    }
    let iso3 = row.text(c.iso3);
    if !iso3.is_empty() {
        return CountryCode::parse(iso3)
            .ok_or_else(|| row.issue(c.iso3, iso3, "is not an ISO 3166-1 alpha-3 country code"));
    }
    let name = row.required(c.country)?;
    CountryCode::parse(name).ok_or_else(|| row.issue(c.country, name, "is not a known country"))
}

impl<R: Read + Send> Iterator for AcledReader<R> {
    type Item = Result<ParsedIncident, RowIssue>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(rec) = self.pending.take() {
            let line = rec.position().map(|p| p.line()).unwrap_or(2);
            return Some(
                self.parse(&rec, line)
                    .map(|data| ParsedIncident { line, data }),
            );
        }
        if self.done {
            return None;
        }
        let mut rec = std::mem::take(&mut self.rec);
        let out = match self.rdr.read_byte_record(&mut rec) {
            Ok(true) => {
                let line = rec.position().map(|p| p.line()).unwrap_or(0);
                Some(
                    self.parse(&rec, line)
                        .map(|data| ParsedIncident { line, data }),
                )
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                // A broken read stops the import: what follows cannot be trusted.
                self.done = true;
                self.fatal = Some(csvrow::csv_error(e));
                None
            }
        };
        self.rec = rec;
        out
    }
}

impl<R: Read + Send> IncidentRows for AcledReader<R> {
    fn bytes_read(&self) -> u64 {
        self.rdr.position().byte()
    }

    fn describe(&self) -> String {
        let layout = match self.layout {
            Layout::Legacy2021 => "ACLED 2021-era layout",
            Layout::Current => "ACLED current layout",
        };
        if self.hxl_skipped {
            format!("{layout}, HXL hashtag row skipped")
        } else {
            layout.to_string()
        }
    }

    fn dataset(&self) -> &'static str {
        DATASET
    }

    fn fatal_error(&mut self) -> Option<FileError> {
        self.fatal.take()
    }
}

/// The `event_id_cnty` an incident is exported under: its ACLED id when it
/// came from ACLED, otherwise `dataset:id`, or `sahelwatch:uuid` for incidents
/// created here.
pub fn export_id(inc: &Incident) -> String {
    match (&inc.data.dataset, &inc.data.external_id) {
        (Some(d), Some(e)) if d == DATASET => e.clone(),
        (Some(d), Some(e)) => format!("{d}:{e}"),
        _ => format!("sahelwatch:{}", inc.id),
    }
}

/// Writes incidents as an ACLED CSV export in the current layout.
pub struct AcledWriter<W: Write> {
    w: csv::Writer<W>,
}

impl<W: Write> AcledWriter<W> {
    pub fn new(out: W) -> csv::Result<Self> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(CURRENT_COLUMNS)?;
        Ok(AcledWriter { w })
    }

    /// A writer that continues a file whose header was already written.
    pub fn continuing(out: W) -> Self {
        AcledWriter {
            w: csv::Writer::from_writer(out),
        }
    }

    pub fn write(&mut self, inc: &Incident) -> csv::Result<()> {
        let d = &inc.data;
        let l = &d.location;
        let info = l.country.info();
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let inter = |v: Option<Inter>| v.map(|i| i.code()).unwrap_or(0).to_string();
        let disorder = d
            .disorder_type
            .unwrap_or_else(|| d.sub_event_type.default_disorder_type());
        let rec: [String; 31] = [
            export_id(inc),
            d.event_date.to_string(),
            d.event_date.year().to_string(),
            d.time_precision.get().to_string(),
            disorder.label().to_string(),
            d.event_type().label().to_string(),
            d.sub_event_type.label().to_string(),
            opt(&d.actors.actor1),
            d.actors.assoc_actor_1.join("; "),
            inter(d.actors.inter1),
            opt(&d.actors.actor2),
            d.actors.assoc_actor_2.join("; "),
            inter(d.actors.inter2),
            Inter::interaction(d.actors.inter1, d.actors.inter2)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            if d.civilian_targeting {
                "Civilian targeting".into()
            } else {
                String::new()
            },
            info.numeric.to_string(),
            opt(&l.region),
            info.name.clone(),
            opt(&l.admin1),
            opt(&l.admin2),
            opt(&l.admin3),
            opt(&l.place),
            format!("{}", l.latitude),
            format!("{}", l.longitude),
            l.geo_precision.get().to_string(),
            d.sources.join("; "),
            opt(&d.source_scale),
            d.notes.clone(),
            d.fatalities.best.to_string(),
            d.tags.join("; "),
            d.source_timestamp
                .map(|t| t.to_string())
                .unwrap_or_default(),
        ];
        self.w.write_record(&rec)
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        self.w.flush()?;
        self.w
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(csv: &str) -> (Vec<ParsedIncident>, Vec<RowIssue>, String) {
        let r = AcledReader::new(std::io::Cursor::new(csv.as_bytes().to_vec())).unwrap();
        let desc = r.describe();
        let (mut ok, mut bad) = (vec![], vec![]);
        for item in r {
            match item {
                Ok(p) => ok.push(p),
                Err(e) => bad.push(e),
            }
        }
        (ok, bad, desc)
    }

    const CURRENT: &str = "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp\n";

    #[test]
    fn reads_current_layout_with_label_inters() {
        let csv = format!(
            "{CURRENT}BFO1,2025-01-18,2025,1,Political violence,Violence against civilians,Abduction/forced disappearance,Islamic State (Sahel),,Rebel group,Civilians (Morocco),,Civilians,27,Civilian targeting,854,Western Africa,Burkina Faso,Sahel,Seno,Dori,Dori,14.0341,-0.0326,2,Le Faso; AIB,National,Four drivers abducted.,0,,1737500000\n"
        );
        let (ok, bad, desc) = read(&csv);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(desc, "ACLED current layout");
        let d = &ok[0].data;
        assert_eq!(ok[0].line, 2);
        assert_eq!(d.actors.inter1, Some(Inter::RebelGroups));
        assert_eq!(d.actors.inter2, Some(Inter::Civilians));
        assert!(d.civilian_targeting);
        assert_eq!(d.location.country.as_str(), "BF");
        assert_eq!(d.sources, vec!["Le Faso", "AIB"]);
        assert!(d.original.is_empty());
    }

    #[test]
    fn refuses_unknown_vocabulary_with_line_and_column() {
        let csv = format!(
            "{CURRENT}BFO1,2025-01-18,2025,1,Political violence,Battles,Armed clashes,A,,1,,,0,10,,854,,Burkina Faso,,,,,14,-1,1,,,,0,,\nBFO2,2025-01-18,2025,4,Political violence,Battles,Armed clash,A,,1,,,0,10,,854,,Burkina Faso,,,,,14,-1,1,,,,0,,\n"
        );
        let (ok, bad, _) = read(&csv);
        assert!(ok.is_empty());
        assert_eq!(bad[0].line, 2);
        assert_eq!(bad[0].column.as_deref(), Some("sub_event_type"));
        assert_eq!(bad[1].line, 3);
        assert_eq!(bad[1].column.as_deref(), Some("time_precision"));
    }

    #[test]
    fn sub_event_type_must_belong_to_event_type() {
        let csv = format!(
            "{CURRENT}BFO1,2025-01-18,2025,1,Political violence,Battles,Attack,A,,1,,,0,10,,854,,Burkina Faso,,,,,14,-1,1,,,,0,,\n"
        );
        let (_, bad, _) = read(&csv);
        assert!(
            bad[0]
                .reason
                .contains("belongs to event type 'Violence against civilians'"),
            "{}",
            bad[0]
        );
    }

    #[test]
    fn empty_file_and_foreign_header_are_file_errors() {
        assert!(matches!(
            AcledReader::new(std::io::Cursor::new(Vec::new())),
            Err(FileError::Empty)
        ));
        let err = AcledReader::new(std::io::Cursor::new(b"a,b,c\n1,2,3\n".to_vec()))
            .err()
            .unwrap();
        assert!(err.to_string().contains("event_id_cnty"), "{err}");
    }

    #[test]
    fn header_only_yields_nothing() {
        let (ok, bad, _) = read(CURRENT);
        assert!(ok.is_empty() && bad.is_empty());
    }

    #[test]
    fn round_trips_through_the_writer() {
        let csv = format!(
            "{CURRENT}MLI9,2024-03-05,2024,2,Political violence,Explosions/Remote violence,Remote explosive/landmine/IED,JNIM: Jama'ah Nusrah al-Islam wal Muslimin,,2,Military Forces of Mali (2021-),Wagner Group,1,12,,466,Western Africa,Mali,Mopti,Douentza,Boni,Boni,15.0,-1.9,1,Studio Tamani,National,\"IED hit a convoy; 3 killed, \"\"several\"\" injured.\",3,,1710000000\n"
        );
        let (ok, bad, _) = read(&csv);
        assert!(bad.is_empty(), "{bad:?}");
        let inc = Incident {
            id: uuid::Uuid::nil(),
            marking: sahelwatch_core::Marking::new(sahelwatch_core::OrgId(1), Default::default()),
            coarse: (0.0, 0.0),
            data: ok[0].data.clone(),
            created_at: Default::default(),
            updated_at: Default::default(),
        };
        let mut w = AcledWriter::new(Vec::new()).unwrap();
        w.write(&inc).unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        let (again, bad, _) = read(&out);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(again[0].data, ok[0].data);
    }
}
