//! PostgreSQL: road networks.

use super::PgStore;
use crate::{NewRoadNetwork, Result, RoadNetworkRecord};
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
