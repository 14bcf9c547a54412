//! UCDP Georeferenced Event Dataset (GED) CSV, 49 columns, mapped onto the
//! ACLED-based model. Every original column is also kept verbatim in
//! `original`, so nothing UCDP says is lost.
//!
//! Mapping (UCDP GED codebook 23.1 -> ACLED codebook):
//!
//! | UCDP | model |
//! |---|---|
//! | `id` | `external_id` (dataset `ucdp-ged`) |
//! | `date_start`, `date_end` | `event_date`, `event_date_end` |
//! | `date_prec` 1 (day) | `time_precision` 1 |
//! | `date_prec` 2 (2-6 days), 3 (week) | `time_precision` 2 |
//! | `date_prec` 4 (month), 5 (longer) | `time_precision` 3 |
//! | `type_of_violence` 1 state-based, 2 non-state | Battles / Armed clash |
//! | `type_of_violence` 3 one-sided | Violence against civilians / Attack, `civilian_targeting` |
//! | `side_a`, `side_b` | `actor1`, `actor2` (no `inter` class: UCDP has none) |
//! | `where_prec` 1 (exact) | `geo_precision` 1 |
//! | `where_prec` 2 (within 25 km), 3 (admin-2), 5 (linear feature) | `geo_precision` 2 |
//! | `where_prec` 4 (admin-1), 6 (country), 7 (waters/airspace) | `geo_precision` 3 |
//! | `best`, `low`, `high` | `fatalities.best/low/high`, as given (UCDP's bounds do not always bracket `best`) |
//! | `country_id` (Gleditsch-Ward), else `country` | `country` (ISO alpha-2) |
//! | `region`, `adm_1`, `adm_2`, `where_coordinates` | `region`, `admin1`, `admin2`, `place` |
//! | `source_headline` | `notes` |
//! | `source_office` | `sources` |

use crate::csvrow::{self, Col, Columns, FileError, Row, RowIssue, column_set};
use crate::{IncidentRows, ParsedIncident};
use csv::ByteRecord;
use rustc_hash::FxHashMap;
use sahelwatch_core::country::{self, CountryCode};
use sahelwatch_core::incident::round_coord;
use sahelwatch_core::{
    Actors, DisorderType, Fatalities, IncidentData, Location, Precision, SubEventType,
};
use std::collections::BTreeMap;
use std::io::Read;

pub const DATASET: &str = "ucdp-ged";

const REQUIRED: &[&str] = &[
    "id",
    "type_of_violence",
    "side_a",
    "side_b",
    "where_prec",
    "latitude",
    "longitude",
    "country",
    "date_prec",
    "date_start",
    "date_end",
    "best",
    "high",
    "low",
];

column_set! {
    /// The UCDP columns the reader uses, resolved once per file.
    UcdpCols {
        id, type_of_violence, side_a, side_b, where_prec, where_coordinates, adm_1, adm_2,
        latitude, longitude, country, country_id, region, date_prec, date_start, date_end,
        best, high, low, source_headline, source_office,
    }
}

/// Streaming reader of a UCDP GED CSV file.
pub struct UcdpReader<R: Read> {
    rdr: csv::Reader<R>,
    cols: Columns,
    c: UcdpCols,
    rec: ByteRecord,
    seen: FxHashMap<String, u64>,
    fatal: Option<FileError>,
    done: bool,
}

impl<R: Read> UcdpReader<R> {
    pub fn new(reader: R) -> Result<Self, FileError> {
        let mut rdr = csvrow::csv_reader(reader);
        let header = csvrow::read_header(&mut rdr)?;
        let cols = Columns::from_header(&header)?;
        cols.require("a UCDP GED export", REQUIRED)?;
        Ok(UcdpReader {
            rdr,
            c: UcdpCols::resolve(&cols),
            cols,
            rec: ByteRecord::new(),
            seen: FxHashMap::default(),
            fatal: None,
            done: false,
        })
    }

    fn parse(&mut self, rec: &ByteRecord, line: u64) -> Result<IncidentData, RowIssue> {
        let row = Row::new(line, rec, &self.cols)?;
        let data = parse_row(&row, &self.c)?;
        let id = data.external_id.clone().unwrap_or_default();
        if let Some(first) = self.seen.get(&id) {
            return Err(row.issue(
                self.c.id,
                &id,
                format!("duplicate id: the same id is on line {first}"),
            ));
        }
        self.seen.insert(id, line);
        Ok(data)
    }
}

fn code(row: &Row<'_>, name: Col, range: std::ops::RangeInclusive<i64>) -> Result<i64, RowIssue> {
    let v = row.int(name)?;
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(row.issue(
            name,
            row.text(name),
            format!("must be {}..{}", range.start(), range.end()),
        ))
    }
}

fn parse_row(row: &Row<'_>, c: &UcdpCols) -> Result<IncidentData, RowIssue> {
    let id = row.int(c.id)?;
    let (sub_event_type, civilian_targeting) = match code(row, c.type_of_violence, 1..=3)? {
        1 | 2 => (SubEventType::ArmedClash, false),
        _ => (SubEventType::Attack, true),
    };
    let geo_precision = match code(row, c.where_prec, 1..=7)? {
        1 => Precision::EXACT,
        2 | 3 | 5 => Precision::NEAR,
        _ => Precision::COARSE,
    };
    let time_precision = match code(row, c.date_prec, 1..=5)? {
        1 => Precision::EXACT,
        2 | 3 => Precision::NEAR,
        _ => Precision::COARSE,
    };
    let date = |name: Col| -> Result<chrono::NaiveDate, RowIssue> {
        let t = row.required(name)?;
        csvrow::parse_date(t)
            .ok_or_else(|| row.issue(name, t, "is not a date (expected YYYY-MM-DD)"))
    };
    let event_date = date(c.date_start)?;
    let event_date_end = date(c.date_end)?;
    let country = {
        let gw = row
            .opt_int(c.country_id)?
            .and_then(|n| u16::try_from(n).ok());
        let name = row.required(c.country)?;
        gw.and_then(country::from_gleditsch_ward)
            .or_else(|| CountryCode::parse(name))
            .ok_or_else(|| {
                row.issue(
                    c.country,
                    name,
                    "is not a known country (nor is country_id a known Gleditsch-Ward number)",
                )
            })?
    };
    let location = Location {
        country,
        region: row.opt_string(c.region),
        admin1: row.opt_string(c.adm_1),
        admin2: row.opt_string(c.adm_2),
        admin3: None,
        place: row.opt_string(c.where_coordinates),
        latitude: round_coord(row.float(c.latitude)?),
        longitude: round_coord(row.float(c.longitude)?),
        geo_precision,
    };
    let mut original = BTreeMap::new();
    for (i, name) in row.cols.names.iter().enumerate() {
        let t = row.at(i);
        if !t.is_empty() {
            original.insert(name.clone(), t.to_string());
        }
    }
    let data = IncidentData {
        dataset: Some(DATASET.to_string()),
        external_id: Some(id.to_string()),
        event_date,
        event_date_end: Some(event_date_end),
        time_precision,
        sub_event_type,
        disorder_type: Some(DisorderType::PoliticalViolence),
        actors: Actors {
            actor1: Some(row.required(c.side_a)?.to_string()),
            actor2: Some(row.required(c.side_b)?.to_string()),
            ..Default::default()
        },
        civilian_targeting,
        location,
        fatalities: Fatalities {
            best: row.count(c.best)?,
            low: Some(row.count(c.low)?),
            high: Some(row.count(c.high)?),
        },
        notes: row.text(c.source_headline).to_string(),
        sources: row.list(c.source_office),
        source_scale: None,
        tags: Vec::new(),
        source_timestamp: None,
        original,
    };
    // UCDP's low and high estimates do not always bracket best; they are kept
    // as UCDP gives them rather than refused or altered.
    if let Some(e) = data.validate_as_sourced().into_iter().next() {
        let column = match e.field {
            "event_date_end" => "date_end",
            f => f,
        };
        let col = row.cols.col(column);
        let value = row.text(col).to_string();
        return Err(row.issue(col, &value, e.message));
    }
    Ok(data)
}

impl<R: Read + Send> Iterator for UcdpReader<R> {
    type Item = Result<ParsedIncident, RowIssue>;

    fn next(&mut self) -> Option<Self::Item> {
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

impl<R: Read + Send> IncidentRows for UcdpReader<R> {
    fn bytes_read(&self) -> u64 {
        self.rdr.position().byte()
    }

    fn describe(&self) -> String {
        format!("UCDP GED, {} columns", self.cols.len())
    }

    fn dataset(&self) -> &'static str {
        DATASET
    }

    fn fatal_error(&mut self) -> Option<FileError> {
        self.fatal.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "id,relid,year,active_year,code_status,type_of_violence,conflict_dset_id,conflict_new_id,conflict_name,dyad_dset_id,dyad_new_id,dyad_name,side_a_dset_id,side_a_new_id,side_a,side_b_dset_id,side_b_new_id,side_b,number_of_sources,source_article,source_office,source_date,source_headline,source_original,where_prec,where_coordinates,where_description,adm_1,adm_2,latitude,longitude,geom_wkt,priogrid_gid,country,country_id,region,event_clarity,date_prec,date_start,date_end,deaths_a,deaths_b,deaths_civilians,deaths_unknown,best,high,low,gwnoa,gwnob\n";

    fn row(
        tov: &str,
        where_prec: &str,
        date_prec: &str,
        best: &str,
        low: &str,
        high: &str,
    ) -> String {
        format!(
            "{HEADER}412.0,MLI-2019-1,2019.0,1.0,Clear,{tov},1,1,Mali: Government,1,1,Government of Mali - JNIM,1,1,Government of Mali,2,2,JNIM,1.0,art,Reuters;AFP,2019-01-01,Attack near Boni,src,{where_prec},Boni village,near Boni,Mopti region,Douentza cercle,15.0,-1.9,POINT (-1.9 15.0),1,Mali,432.0,Africa,1.0,{date_prec},2019-01-01,2019-01-03,1,2,0,0,{best},{high},{low},432.0,\n"
        )
    }

    fn read(csv: &str) -> (Vec<ParsedIncident>, Vec<RowIssue>) {
        let r = UcdpReader::new(std::io::Cursor::new(csv.as_bytes().to_vec())).unwrap();
        let (mut ok, mut bad) = (vec![], vec![]);
        for item in r {
            match item {
                Ok(p) => ok.push(p),
                Err(e) => bad.push(e),
            }
        }
        (ok, bad)
    }

    #[test]
    fn maps_codes_onto_the_model_and_keeps_originals() {
        let (ok, bad) = read(&row("3.0", "4.0", "2.0", "3.0", "2.0", "5.0"));
        assert!(bad.is_empty(), "{bad:?}");
        let d = &ok[0].data;
        assert_eq!(d.external_id.as_deref(), Some("412"));
        assert_eq!(d.sub_event_type, SubEventType::Attack);
        assert!(d.civilian_targeting);
        assert_eq!(d.location.geo_precision, Precision::COARSE);
        assert_eq!(d.time_precision, Precision::NEAR);
        assert_eq!(d.location.country.as_str(), "ML");
        assert_eq!(
            d.fatalities,
            Fatalities {
                best: 3,
                low: Some(2),
                high: Some(5)
            }
        );
        assert_eq!(
            d.original.get("type_of_violence").map(String::as_str),
            Some("3.0")
        );
        assert_eq!(
            d.original.len(),
            48,
            "every non-empty original column is kept"
        );
        assert_eq!(d.sources, vec!["Reuters", "AFP"]);
    }

    #[test]
    fn refuses_out_of_range_codes() {
        let (_, bad) = read(&row("4.0", "1", "1", "1", "1", "1"));
        assert_eq!(bad[0].column.as_deref(), Some("type_of_violence"));
        assert_eq!(bad[0].line, 2);
        let (_, bad) = read(&row("1", "8", "1", "1", "1", "1"));
        assert_eq!(bad[0].column.as_deref(), Some("where_prec"));
        let (_, bad) = read(&row("1", "1", "1", "-2", "1", "1"));
        assert_eq!(bad[0].column.as_deref(), Some("best"));
    }

    #[test]
    fn keeps_bounds_that_do_not_bracket_best_as_given() {
        // Real UCDP GED 23.1 row 236880: best 2, low 3, high 3.
        let (ok, bad) = read(&row("1", "1", "1", "2.0", "3.0", "3.0"));
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(
            ok[0].data.fatalities,
            Fatalities {
                best: 2,
                low: Some(3),
                high: Some(3)
            }
        );
    }
}
