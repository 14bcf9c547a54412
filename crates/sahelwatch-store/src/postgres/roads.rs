//! PostgreSQL: road networks and saved routes.

use super::PgStore;
use crate::{NewRoadNetwork, NewSavedRoute, Result, RoadNetworkRecord, SavedRouteRecord};
use sahelwatch_core::{OrgId, UserId};
use tokio_postgres::Row;
use tokio_postgres::types::Json;

const COLUMNS: &str = "id, name, source, created_at, report, length(data)::BIGINT";

fn read(r: &Row) -> RoadNetworkRecord {
    let report: Json<serde_json::Value> = r.get(4);
    RoadNetworkRecord {
        id: r.get(0),
        name: r.get(1),
        source: r.get(2),
        created_at: r.get(3),
        report: report.0,
        size_bytes: r.get(5),
    }
}

impl PgStore {
    pub(super) async fn put_road_network_(&self, n: &NewRoadNetwork) -> Result<RoadNetworkRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("DELETE FROM road_networks WHERE name = $1", &[&n.name])
            .await?;
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO road_networks (name, source, created_at, report, data) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
                ),
                &[&n.name, &n.source, &n.created_at, &Json(&n.report), &n.data],
            )
            .await?;
        tx.commit().await?;
        Ok(read(&row))
    }

    pub(super) async fn road_networks_(&self) -> Result<Vec<RoadNetworkRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {COLUMNS} FROM road_networks ORDER BY id DESC"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(read).collect())
    }

    pub(super) async fn road_network_data_(&self, id: i64) -> Result<Option<Vec<u8>>> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT data FROM road_networks WHERE id = $1", &[&id])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }
}

const ROUTE_COLUMNS: &str =
    "id, owner_org, name, network_id, network_name, created_by, created_at, plan";

fn read_route(r: &Row) -> SavedRouteRecord {
    let plan: Json<serde_json::Value> = r.get(7);
    SavedRouteRecord {
        id: r.get(0),
        owner_org: OrgId(r.get(1)),
        name: r.get(2),
        network_id: r.get(3),
        network_name: r.get(4),
        created_by: r.get::<_, Option<i64>>(5).map(UserId),
        created_at: r.get(6),
        plan: plan.0,
    }
}

impl PgStore {
    pub(super) async fn put_saved_route_(&self, n: &NewSavedRoute) -> Result<SavedRouteRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "DELETE FROM saved_routes WHERE owner_org = $1 AND name = $2",
            &[&n.owner_org.0, &n.name],
        )
        .await?;
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO saved_routes (owner_org, name, network_id, network_name, \
                     created_by, created_at, plan) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     RETURNING {ROUTE_COLUMNS}"
                ),
                &[
                    &n.owner_org.0,
                    &n.name,
                    &n.network_id,
                    &n.network_name,
                    &n.created_by.map(|u| u.0),
                    &n.created_at,
                    &Json(&n.plan),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(read_route(&row))
    }

    pub(super) async fn saved_routes_(
        &self,
        org: OrgId,
        id: Option<i64>,
    ) -> Result<Vec<SavedRouteRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {ROUTE_COLUMNS} FROM saved_routes \
                     WHERE owner_org = $1 AND ($2::BIGINT IS NULL OR id = $2) ORDER BY name, id"
                ),
                &[&org.0, &id],
            )
            .await?;
        Ok(rows.iter().map(read_route).collect())
    }

    pub(super) async fn delete_saved_route_(&self, org: OrgId, id: i64) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.execute(
            "DELETE FROM saved_routes WHERE owner_org = $1 AND id = $2",
            &[&org.0, &id],
        )
        .await?
            > 0)
    }
}
