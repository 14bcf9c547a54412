//! The conformance suite on both backends, plus backend-specific upgrade tests.

use sahelwatch_store::conformance::TestDb;

mod sqlite {
    use super::*;
    sahelwatch_store::conformance_suite!(TestDb::sqlite());
}

mod postgres {
    use super::*;
    sahelwatch_store::conformance_suite!(TestDb::postgres());
}

/// An incident row written the way schema V1 stores it (by an older sahelwatch).
const V1_INCIDENT: &str = "INSERT INTO incidents (uid, seq, owner_org, tlp, dataset, external_id, event_date,
    time_precision, event_type, sub_event_type, actor1, civilian_targeting, country, latitude, longitude,
    geo_precision, fatalities, notes, row_hash, created_at, updated_at)
  VALUES ({uid}, 1, 1, 'CLEAR', 'acled', 'OLD1', '2019-05-01', 1, 'Battles', 'Armed clash', 'JNIM', {false},
    'ML', 14.5, -4.2, 1, 3, 'written by schema v1', 0, {now}, {now})";

mod upgrade {
    use super::*;
    use sahelwatch_store::{StoreError, postgres::PgStore, sqlite::SqliteStore};

    #[tokio::test]
    async fn sqlite_database_from_schema_v1_opens_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        SqliteStore::migrate_to(&path, 1).unwrap();
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute_batch(
                "INSERT INTO organisations (uid, name, created_at) VALUES (x'0123456789abcdef0123456789abcdef', 'old org', '2020-01-01T00:00:00.000000Z');
                 UPDATE counters SET value = 1 WHERE name = 'incidents';",
            )
            .unwrap();
            let sql = V1_INCIDENT
                .replace("{uid}", "x'00112233445566778899aabbccddeeff'")
                .replace("{false}", "0")
                .replace("{now}", "'2020-01-01T00:00:00.000000Z'");
            c.execute_batch(&sql).unwrap();
            let tables: i64 = c
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'places'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(tables, 0, "v1 has no gazetteer");
        }
        let store = sahelwatch_store::open(path.to_str().unwrap())
            .await
            .unwrap();
        let rows = store
            .index_changes(0, store.incident_seq().await.unwrap())
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        let inc = store.incidents_by_ids(&[rows[0].id]).await.unwrap();
        assert_eq!(inc[0].1.data.notes, "written by schema v1");
        assert!(
            store.places().await.unwrap().is_empty(),
            "v2 tables now exist"
        );
        assert_eq!(store.places_seq().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn sqlite_database_from_a_newer_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        drop(
            sahelwatch_store::open(path.to_str().unwrap())
                .await
                .unwrap(),
        );
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (99, 'future', '2030-01-01', '0')")
            .unwrap();
        let err = sahelwatch_store::open(path.to_str().unwrap())
            .await
            .err()
            .expect("refused");
        assert!(
            matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("upgrade sahelwatch"));
    }

    #[tokio::test]
    async fn postgres_database_from_schema_v1_opens_and_keeps_its_data() {
        let (url, name) = TestDb::fresh_pg_database().await;
        PgStore::migrate_to(&url, 1).await.unwrap();
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(
                "INSERT INTO organisations (uid, name, created_at) VALUES ('01234567-89ab-cdef-0123-456789abcdef', 'old org', now());
                 UPDATE counters SET value = 1 WHERE name = 'incidents';",
            )
            .await
            .unwrap();
        let sql = V1_INCIDENT
            .replace("{uid}", "'00112233-4455-6677-8899-aabbccddeeff'")
            .replace("{false}", "false")
            .replace("{now}", "now()");
        client.batch_execute(&sql).await.unwrap();
        let store = sahelwatch_store::open(&url).await.unwrap();
        let db = TestDb::adopt_pg(store, url, name);
        let s = &db.store;
        let rows = s
            .index_changes(0, s.incident_seq().await.unwrap())
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        let inc = s.incidents_by_ids(&[rows[0].id]).await.unwrap();
        assert_eq!(inc[0].1.data.notes, "written by schema v1");
        assert!(s.places().await.unwrap().is_empty());
        let geom: String = client
            .query_one("SELECT ST_AsText(geom) FROM incidents", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            geom, "POINT(-4.2 14.5)",
            "PostGIS geometry is derived from the coordinates"
        );
    }

    #[tokio::test]
    async fn postgres_database_from_a_newer_version_is_refused() {
        let db = TestDb::postgres().await;
        let (client, conn) = tokio_postgres::connect(&db.location, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute("INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (99, 'future', '2030-01-01', '0')")
            .await
            .unwrap();
        let err = sahelwatch_store::open(&db.location)
            .await
            .err()
            .expect("refused");
        assert!(
            matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn sqlite_in_a_missing_directory_is_a_clear_error() {
        let err = sahelwatch_store::open("/nonexistent-dir/x/sahelwatch.db")
            .await
            .err()
            .expect("error");
        assert!(
            err.to_string()
                .contains("/nonexistent-dir/x does not exist"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn unreachable_postgres_is_a_clear_error_without_password() {
        let err = sahelwatch_store::open("postgres://user:secret@127.0.0.1:1/db")
            .await
            .err()
            .expect("error");
        let msg = err.to_string();
        assert!(msg.contains("127.0.0.1:1"), "{msg}");
        assert!(!msg.contains("secret"), "{msg}");
    }
}
