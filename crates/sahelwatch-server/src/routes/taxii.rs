//! TAXII 2.1 under `/taxii2/`: discovery, one API root (`/taxii2/api/`),
//! one collection (every incident the caller may see, as STIX 2.1), its
//! objects, manifest and versions, POST of objects for analysts and admins,
//! and status resources.
//!
//! Authentication is the API's: `Authorization: Bearer <token>`, or HTTP
//! Basic with an API token as the password (what TAXII clients send).
//! Requests must accept `application/taxii+json;version=2.1` (or `*/*`);
//! responses carry that media type, and errors are TAXII error messages
//! (`title`, `description`, `http_status`, `error_code`, `details`).

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Code};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sahelwatch_app::taxii::{
    COLLECTION_ID, DEFAULT_LIMIT, FeedCursor, FeedPage, MAX_LIMIT, TaxiiFilter, taxii_time,
};
use sahelwatch_core::Viewer;
use serde_json::{Value, json};

/// The TAXII 2.1 media type.
pub const TAXII_MEDIA: &str = "application/taxii+json;version=2.1";
/// The STIX 2.1 media type, the only one the collection holds.
pub const STIX_MEDIA: &str = "application/stix+json;version=2.1";
/// Largest envelope accepted by POST.
pub const MAX_ENVELOPE_BYTES: usize = 64 << 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/taxii2/", get(discovery))
        .route("/taxii2/api/", get(api_root))
        .route("/taxii2/api/status/{status}/", get(status))
        .route("/taxii2/api/collections/", get(collections))
        .route("/taxii2/api/collections/{collection}/", get(collection))
        .route(
            "/taxii2/api/collections/{collection}/manifest/",
            get(manifest),
        )
        .route(
            "/taxii2/api/collections/{collection}/objects/",
            get(objects).post(add_objects),
        )
        .route(
            "/taxii2/api/collections/{collection}/objects/{object}/",
            get(object),
        )
        .route(
            "/taxii2/api/collections/{collection}/objects/{object}/versions/",
            get(versions),
        )
        .layer(DefaultBodyLimit::max(MAX_ENVELOPE_BYTES))
}

/// An error, rendered as a TAXII error message.
pub struct TaxiiError(ApiError);

impl<E: Into<ApiError>> From<E> for TaxiiError {
    fn from(e: E) -> TaxiiError {
        TaxiiError(e.into())
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = e.code.status();
        let mut body = json!({
            "title": status.canonical_reason().unwrap_or("error"),
            "description": e.message,
            "http_status": status.as_u16().to_string(),
            "error_code": e.code,
        });
        if !e.details.is_empty() {
            body["details"] = json!({ "parameters": e.details });
        }
        let mut resp = (status, body.to_string()).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_MEDIA));
        if status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"sahelwatch TAXII\""),
            );
        }
        if let Some(secs) = e.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            h.insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

type TaxiiResult = Result<Response, TaxiiError>;

fn taxii_json(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_MEDIA))],
        body.to_string(),
    )
        .into_response()
}

/// Authenticate, and check that the client accepts TAXII 2.1.
fn check(caller: Result<Caller, ApiError>, headers: &HeaderMap) -> Result<Caller, TaxiiError> {
    let caller = caller?;
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*");
    let ok = accept.split(',').any(|a| {
        let a = a.trim().to_ascii_lowercase();
        let media = a.split(';').next().unwrap_or("").trim().to_string();
        let version = a
            .split(';')
            .skip(1)
            .find_map(|p| p.trim().strip_prefix("version=").map(str::to_string));
        match media.as_str() {
            "*/*" | "application/*" => true,
            "application/taxii+json" => version.is_none_or(|v| v == "2.1"),
            _ => false,
        }
    });
    if !ok {
        return Err(TaxiiError(ApiError::new(
            Code::NotAcceptable,
            format!("this server speaks TAXII 2.1 only: accept '{TAXII_MEDIA}'"),
        )));
    }
    Ok(caller)
}

fn collection_id(id: &str) -> Result<(), TaxiiError> {
    if id == COLLECTION_ID.to_string() {
        Ok(())
    } else {
        Err(ApiError::new(Code::NotFound, "no such collection").into())
    }
}

fn can_write(v: &Viewer) -> bool {
    matches!(v, Viewer::User(p) if p.role.can_write())
}

async fn discovery(caller: Result<Caller, ApiError>, headers: HeaderMap) -> TaxiiResult {
    check(caller, &headers)?;
    Ok(taxii_json(
        StatusCode::OK,
        json!({
            "title": "sahelwatch",
            "description": "Security incidents of the Sahel as STIX 2.1, shared under TLP 2.0.",
            "default": "/taxii2/api/",
            "api_roots": ["/taxii2/api/"],
        }),
    ))
}

async fn api_root(caller: Result<Caller, ApiError>, headers: HeaderMap) -> TaxiiResult {
    check(caller, &headers)?;
    Ok(taxii_json(
        StatusCode::OK,
        json!({
            "title": "sahelwatch incidents",
            "description": "Every incident the caller may see, coarsened as the caller sees it.",
            "versions": [TAXII_MEDIA],
            "max_content_length": MAX_ENVELOPE_BYTES,
        }),
    ))
}

fn collection_resource(viewer: &Viewer) -> Value {
    json!({
        "id": COLLECTION_ID.to_string(),
        "title": "Incidents",
        "description": "Every incident the caller may see: TLP:CLEAR and GREEN from every organisation, \
            AMBER of the caller's organisation and sharing groups, AMBER+STRICT of the caller's \
            organisation, RED addressed to the caller. Objects the caller posts belong to the \
            caller's organisation.",
        "can_read": true,
        "can_write": can_write(viewer),
        "media_types": [STIX_MEDIA],
    })
}

async fn collections(caller: Result<Caller, ApiError>, headers: HeaderMap) -> TaxiiResult {
    let caller = check(caller, &headers)?;
    Ok(taxii_json(
        StatusCode::OK,
        json!({ "collections": [collection_resource(&caller.viewer)] }),
    ))
}

async fn collection(
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> TaxiiResult {
    let caller = check(caller, &headers)?;
    collection_id(&id)?;
    Ok(taxii_json(
        StatusCode::OK,
        collection_resource(&caller.viewer),
    ))
}

/// The filter, cursor and limit of a request.
fn page_params(
    raw: Option<&str>,
    extra_id: Option<&str>,
) -> Result<(TaxiiFilter, Option<FeedCursor>, usize), TaxiiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|e| {
            ApiError::new(
                Code::InvalidQueryParameter,
                format!("malformed query string: {e}"),
            )
        })?;
    let mut f = TaxiiFilter::parse(&pairs)?;
    if let Some(id) = extra_id {
        f.ids = vec![id.to_string()];
    }
    let mut cursor = None;
    let mut limit = DEFAULT_LIMIT;
    for (k, v) in &pairs {
        match k.as_str() {
            "next" => cursor = Some(FeedCursor::decode(v)?),
            "limit" => {
                limit = match v.parse::<usize>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                    _ => {
                        return Err(sahelwatch_app::AppError::bad(
                            "limit",
                            v,
                            format!("must be an integer from 1 to {MAX_LIMIT}"),
                        )
                        .into());
                    }
                }
            }
            _ => {}
        }
    }
    Ok((f, cursor, limit))
}

/// The envelope (or manifest) response, with the date-added headers.
fn paged(page: &FeedPage, key: &str, items: Vec<Value>) -> Response {
    let mut body = json!({ "more": page.next.is_some() });
    if let Some(n) = &page.next {
        body["next"] = json!(n);
    }
    if !items.is_empty() {
        body[key] = Value::Array(items);
    }
    let mut resp = taxii_json(StatusCode::OK, body);
    let h = resp.headers_mut();
    let first = page.objects.iter().map(|o| o.date_added).min();
    let last = page.objects.iter().map(|o| o.date_added).max();
    for (name, t) in [
        ("x-taxii-date-added-first", first),
        ("x-taxii-date-added-last", last),
    ] {
        if let Some(t) = t
            && let Ok(v) = HeaderValue::from_str(&taxii_time(t))
        {
            h.insert(name, v);
        }
    }
    resp
}

async fn objects(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> TaxiiResult {
    let caller = check(caller, &headers)?;
    collection_id(&id)?;
    let (f, cursor, limit) = page_params(raw.as_deref(), None)?;
    let page = state
        .app
        .taxii_page(&caller.viewer, &f, cursor, limit, &super::audit_path(&uri))
        .await?;
    let items = page.objects.iter().map(|o| o.object.clone()).collect();
    Ok(paged(&page, "objects", items))
}

async fn object(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    uri: Uri,
    Path((id, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> TaxiiResult {
    let caller = check(caller, &headers)?;
    collection_id(&id)?;
    let (f, cursor, limit) = page_params(raw.as_deref(), Some(&object))?;
    let page = state
        .app
        .taxii_page(&caller.viewer, &f, cursor, limit, &super::audit_path(&uri))
        .await?;
    if page.objects.is_empty() && cursor.is_none() {
        return Err(ApiError::new(Code::NotFound, "no such object").into());
    }
    let items = page.objects.iter().map(|o| o.object.clone()).collect();
    Ok(paged(&page, "objects", items))
}

async fn versions(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    uri: Uri,
    Path((id, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> TaxiiResult {
    let caller = check(caller, &headers)?;
    collection_id(&id)?;
    let (mut f, cursor, limit) = page_params(raw.as_deref(), Some(&object))?;
    f.versions = vec![sahelwatch_app::taxii::VersionMatch::All];
    let page = state
        .app
        .taxii_page(&caller.viewer, &f, cursor, limit, &super::audit_path(&uri))
        .await?;
    if page.objects.is_empty() && cursor.is_none() {
        return Err(ApiError::new(Code::NotFound, "no such object").into());
    }
    let mut versions: Vec<String> = page
        .objects
        .iter()
        .filter_map(|o| o.version().map(taxii_time))
        .collect();
    // An actor named by several incidents is one object, one version.
    versions.sort();
    versions.dedup();
    Ok(paged(
        &page,
        "versions",
        versions.into_iter().map(Value::String).collect(),
    ))
}

async fn manifest(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> TaxiiResult {
    let caller = check(caller, &headers)?;
    collection_id(&id)?;
    let (f, cursor, limit) = page_params(raw.as_deref(), None)?;
    let page = state
        .app
        .taxii_page(&caller.viewer, &f, cursor, limit, &super::audit_path(&uri))
        .await?;
    let items = page
        .objects
        .iter()
        .map(|o| {
            let mut m = json!({
                "id": o.id(),
                "date_added": taxii_time(o.date_added),
                "media_type": STIX_MEDIA,
            });
            if let Some(v) = o.version() {
                m["version"] = json!(taxii_time(v));
            }
            m
        })
        .collect();
    Ok(paged(&page, "objects", items))
}

async fn add_objects(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> TaxiiResult {
    let caller = check(caller, &headers)?;
    collection_id(&id)?;
    let body = body.map_err(|e| {
        ApiError::from_body(e, || {
            format!(
                "the envelope is larger than {} MiB",
                MAX_ENVELOPE_BYTES >> 20
            )
        })
    })?;
    let Viewer::User(p) = &caller.viewer else {
        return Err(ApiError::authentication_required().into());
    };
    let base = super::media_type(&headers);
    if !matches!(base, "application/taxii+json" | "application/json") {
        return Err(ApiError::new(
            Code::UnsupportedMediaType,
            format!("the body must be a TAXII envelope (Content-Type: {TAXII_MEDIA})"),
        )
        .into());
    }
    let envelope: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            Code::InvalidBody,
            format!("the envelope is not valid JSON: {e}"),
        )
    })?;
    let status = state
        .app
        .taxii_add(p, &envelope, "taxii:POST objects")
        .await?;
    Ok(taxii_json(StatusCode::ACCEPTED, status))
}

async fn status(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> TaxiiResult {
    let caller = check(caller, &headers)?;
    let Viewer::User(p) = &caller.viewer else {
        return Err(ApiError::new(Code::NotFound, "no such status").into());
    };
    let status = state
        .app
        .taxii_status(p, &id)
        .map_err(|_| ApiError::new(Code::NotFound, "no such status"))?;
    Ok(taxii_json(StatusCode::OK, status))
}
