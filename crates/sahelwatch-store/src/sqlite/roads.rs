//! SQLite: road networks and saved routes.

use crate::row::{ts_parse, ts_text};
use crate::{
    NewRoadNetwork, NewSavedRoute, Result, RoadNetworkRecord, SavedRouteRecord, StoreError,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sahelwatch_core::{OrgId, UserId};

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

const ROUTE_COLUMNS: &str =
    "id, owner_org, name, network_id, network_name, created_by, created_at, plan";

fn read_route(r: &rusqlite::Row) -> Result<SavedRouteRecord> {
    let id: i64 = r.get(0)?;
    let plan: String = r.get(7)?;
    Ok(SavedRouteRecord {
        id,
        owner_org: OrgId(r.get(1)?),
        name: r.get(2)?,
        network_id: r.get(3)?,
        network_name: r.get(4)?,
        created_by: r.get::<_, Option<i64>>(5)?.map(UserId),
        created_at: ts_parse(&r.get::<_, String>(6)?)?,
        plan: serde_json::from_str(&plan)
            .map_err(|e| StoreError::Corrupt(format!("saved route {id} plan: {e}")))?,
    })
}

pub(super) fn put_route(c: &mut Connection, n: &NewSavedRoute) -> Result<SavedRouteRecord> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "DELETE FROM saved_routes WHERE owner_org = ?1 AND name = ?2",
        params![n.owner_org.0, n.name],
    )?;
    tx.execute(
        "INSERT INTO saved_routes (owner_org, name, network_id, network_name, created_by, \
         created_at, plan) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            n.owner_org.0,
            n.name,
            n.network_id,
            n.network_name,
            n.created_by.map(|u| u.0),
            ts_text(n.created_at),
            n.plan.to_string()
        ],
    )?;
    let id = tx.last_insert_rowid();
    let rec = tx.query_row(
        &format!("SELECT {ROUTE_COLUMNS} FROM saved_routes WHERE id = ?1"),
        params![id],
        |r| Ok(read_route(r)),
    )??;
    tx.commit()?;
    Ok(rec)
}

pub(super) fn routes(c: &Connection, org: OrgId, id: Option<i64>) -> Result<Vec<SavedRouteRecord>> {
    let mut st = c.prepare(&format!(
        "SELECT {ROUTE_COLUMNS} FROM saved_routes WHERE owner_org = ?1 AND (?2 IS NULL OR id = ?2) \
         ORDER BY name, id"
    ))?;
    let mut rows = st.query(params![org.0, id])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read_route(r)?);
    }
    Ok(out)
}

pub(super) fn delete_route(c: &Connection, org: OrgId, id: i64) -> Result<bool> {
    Ok(c.execute(
        "DELETE FROM saved_routes WHERE owner_org = ?1 AND id = ?2",
        params![org.0, id],
    )? > 0)
}
