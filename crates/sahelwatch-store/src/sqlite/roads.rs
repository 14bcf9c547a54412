//! SQLite: road networks.

use crate::row::{ts_parse, ts_text};
use crate::{NewRoadNetwork, Result, RoadNetworkRecord, StoreError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

const COLUMNS: &str = "id, name, source, created_at, report, length(data)";

fn read(r: &rusqlite::Row) -> Result<RoadNetworkRecord> {
    let id: i64 = r.get(0)?;
    let report: String = r.get(4)?;
    Ok(RoadNetworkRecord {
        id,
        name: r.get(1)?,
        source: r.get(2)?,
        created_at: ts_parse(&r.get::<_, String>(3)?)?,
        report: serde_json::from_str(&report)
            .map_err(|e| StoreError::Corrupt(format!("road network {id} report: {e}")))?,
        size_bytes: r.get(5)?,
    })
}

pub(super) fn put(c: &mut Connection, n: &NewRoadNetwork) -> Result<RoadNetworkRecord> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute("DELETE FROM road_networks WHERE name = ?1", params![n.name])?;
    tx.execute(
        "INSERT INTO road_networks (name, source, created_at, report, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![n.name, n.source, ts_text(n.created_at), n.report.to_string(), n.data],
    )?;
    let id = tx.last_insert_rowid();
    let rec = tx.query_row(
        &format!("SELECT {COLUMNS} FROM road_networks WHERE id = ?1"),
        params![id],
        |r| Ok(read(r)),
    )??;
    tx.commit()?;
    Ok(rec)
}

pub(super) fn list(c: &Connection) -> Result<Vec<RoadNetworkRecord>> {
    let mut st = c.prepare(&format!(
        "SELECT {COLUMNS} FROM road_networks ORDER BY id DESC"
    ))?;
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read(r)?);
    }
    Ok(out)
}

pub(super) fn data(c: &Connection, id: i64) -> Result<Option<Vec<u8>>> {
    Ok(c.query_row(
        "SELECT data FROM road_networks WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )
    .optional()?)
}
