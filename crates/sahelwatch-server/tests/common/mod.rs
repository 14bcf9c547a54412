//! Helpers shared by the HTTP test files: requests through the router, and a
//! small multi-organisation world.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sahelwatch_app::App;
use sahelwatch_core::accounts::NewUser;
use sahelwatch_core::{Principal, Role};
use sahelwatch_server::{AppState, router};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

/// A response: status, headers, body.
pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Send a request through the router; a body is sent as JSON.
pub async fn send(
    state: &AppState,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    match body {
        Some(b) => {
            let mut h = headers.to_vec();
            h.push(("content-type", "application/json"));
            send_bytes(state, method, uri, &h, b.as_bytes().to_vec()).await
        }
        None => send_bytes(state, method, uri, headers, Vec::new()).await,
    }
}

/// Send a request with a raw body (set its content-type in `headers`).
pub async fn send_bytes(
    state: &AppState,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Resp {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Body::from(body)).expect("request");
    let resp = router(state.clone()).oneshot(req).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

/// GET with a bearer token (or anonymously with `None`).
pub async fn get(state: &AppState, token: Option<&str>, uri: &str) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    send(state, "GET", uri, &headers, None).await
}

/// A user of the test world, with an API token.
#[derive(Clone)]
pub struct TestUser {
    pub name: String,
    pub principal: Arc<Principal>,
    pub token: String,
    pub uid: uuid::Uuid,
}

/// Create a user in `org` with a token.
pub async fn user(app: &App, org: sahelwatch_core::OrgId, name: &str, role: Role) -> TestUser {
    let u = app
        .store()
        .create_user(NewUser {
            org,
            username: name.into(),
            display_name: name.into(),
            role,
            superadmin: false,
            password_hash: Some(
                sahelwatch_app::auth::hash_password("a long enough password").expect("hash"),
            ),
        })
        .await
        .expect("user");
    let token = app.issue_token(&u, "test", None).await.expect("token");
    let principal = app.principal_of(&u).await.expect("principal");
    TestUser {
        name: name.into(),
        principal,
        token: token.token,
        uid: u.uid,
    }
}

/// The shared data folder: `$SAHELWATCH_SHARED_DATA`, else `shared/data`
/// beside the repository.
pub fn shared(rel: &str) -> std::path::PathBuf {
    let root = std::env::var_os("SAHELWATCH_SHARED_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    let p = root.join(rel);
    assert!(
        p.exists(),
        "{} not found: set SAHELWATCH_SHARED_DATA to the shared data folder",
        p.display()
    );
    p
}

/// The bundled GeoNames places of the region.
pub async fn import_region_gazetteer(app: &App) {
    let name = "geonames_cities500_sahel_region.tsv.gz";
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/starter")
        .join(name);
    let gz = Box::new(flate2::read::GzDecoder::new(
        std::fs::File::open(p).unwrap(),
    ));
    app.import_gazetteer(name, gz, None, true, Arc::new(sahelwatch_app::NoProgress))
        .await
        .unwrap();
}

/// The real Burkina Faso road lines (VMap0) as network `bf`, read in place.
pub async fn import_bf_roads(app: &App) {
    let roads = shared("roads/bfa_roadlines_vmap0_divagis.geojson");
    let file: Box<dyn std::io::Read + Send> = Box::new(std::fs::File::open(&roads).unwrap());
    app.import_roads(
        vec![(roads.display().to_string(), file)],
        sahelwatch_app::roads::RoadImportOptions {
            name: "bf".into(),
            snap_m: None,
            profile: Default::default(),
            class: None,
            created_at: chrono::Utc::now(),
        },
    )
    .await
    .unwrap();
}

/// A request as `who` (bearer token), a body sent as JSON; the status and
/// the JSON answer (`Null` when empty).
pub async fn call(
    state: &AppState,
    who: &TestUser,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = format!("Bearer {}", who.token);
    let body = body.map(|b| b.to_string());
    let r = send(
        state,
        method,
        uri,
        &[("authorization", &auth)],
        body.as_deref(),
    )
    .await;
    let value = if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    };
    (r.status.as_u16(), value)
}
