//! `/api/v1/convoys` (registration, reads, tracks), `/api/v1/alerts` (list,
//! acknowledgement, live stream), `/api/v1/webhooks`, and the device side:
//! `/api/v1/positions` (JSON batches) and the OsmAnd protocol, served on
//! its own port by [`osmand_router`].

use super::Json;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Code};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use futures_util::Stream;
use sahelwatch_app::convoys::{AlertView, ConvoyView, RawConvoy, RawWebhook, WebhookView};
use sahelwatch_app::tracker::{
    IntakeStats, JsonBatch, LiveAlert, MAX_JSON_POSITIONS, PositionResult, Source,
    parse_json_position, parse_osmand,
};
use sahelwatch_app::{AppError, ParamError};
use sahelwatch_core::{Principal, Viewer};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register, list))
        .routes(routes!(get_convoy))
        .routes(routes!(end))
        .routes(routes!(track))
        .routes(routes!(alerts))
        .routes(routes!(ack))
        .routes(routes!(alert_stream))
        .routes(routes!(create_webhook, webhooks))
        .routes(routes!(delete_webhook))
        .routes(routes!(positions))
        .routes(routes!(intake_stats))
}

fn member(caller: &Caller) -> Result<&Arc<Principal>, ApiError> {
    match &caller.viewer {
        Viewer::User(p) => Ok(p),
        _ => Err(ApiError::authentication_required()),
    }
}

fn uuid(id: &str) -> Result<Uuid, ApiError> {
    id.parse().map_err(|_| ApiError::not_found())
}

/// Register a convoy for the caller's organisation (operators, analysts,
/// admins). The route is one of the organisation's saved routes
/// (`{"saved": ID}`) or a GeoJSON LineString (`{"geojson": ...}`); each
/// piece of it takes the road risk the organisation's incidents give it
/// today. Device secrets not given are generated and shown once, here.
#[utoipa::path(
    post,
    path = "/api/v1/convoys",
    tag = "convoys",
    request_body = RawConvoy,
    responses(
        (status = 201, description = "Registered", body = ConvoyView),
        (status = 400, description = "Fields are invalid (each named)", body = ApiError),
        (status = 403, description = "The role may not run convoys", body = ApiError),
        (status = 409, description = "A device already tracks an active convoy", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Json(raw): Json<RawConvoy>,
) -> Result<(StatusCode, axum::Json<ConvoyView>), ApiError> {
    let p = member(&caller)?;
    let v = state.app.register_convoy(p, &raw, Utc::now()).await?;
    Ok((StatusCode::CREATED, axum::Json(v)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Include ended convoys.
    all: Option<bool>,
}

/// The convoys the caller may see, newest first (active ones unless `all`).
#[utoipa::path(
    get,
    path = "/api/v1/convoys",
    tag = "convoys",
    params(ListQuery),
    responses(
        (status = 200, description = "Convoys", body = Vec<ConvoyView>),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    super::Query(q): super::Query<ListQuery>,
) -> Result<axum::Json<Vec<ConvoyView>>, ApiError> {
    member(&caller)?;
    Ok(axum::Json(
        state
            .app
            .convoys(&caller.viewer, q.all.unwrap_or(false))
            .await?,
    ))
}

/// One convoy, with each vehicle's last position.
#[utoipa::path(
    get,
    path = "/api/v1/convoys/{id}",
    tag = "convoys",
    params(("id" = Uuid, Path, description = "Convoy id")),
    responses(
        (status = 200, description = "The convoy", body = ConvoyView),
        (status = 404, description = "No such convoy, or not visible", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn get_convoy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<ConvoyView>, ApiError> {
    member(&caller)?;
    Ok(axum::Json(
        state.app.convoy(&caller.viewer, uuid(&id)?).await?,
    ))
}

/// End a convoy (its owner organisation's operators, analysts, admins):
/// its devices are released and their positions refused from now on.
#[utoipa::path(
    post,
    path = "/api/v1/convoys/{id}/end",
    tag = "convoys",
    params(("id" = Uuid, Path, description = "Convoy id")),
    responses(
        (status = 200, description = "Ended", body = ConvoyView),
        (status = 404, description = "No such convoy, or not visible", body = ApiError),
        (status = 409, description = "Already ended", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn end(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<ConvoyView>, ApiError> {
    let p = member(&caller)?;
    Ok(axum::Json(
        state.app.end_convoy(p, uuid(&id)?, Utc::now()).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct TrackQuery {
    /// From this time (RFC 3339; default: the start).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Up to this time, excluded (RFC 3339; default: now).
    #[param(format = DateTime)]
    to: Option<String>,
}

/// A convoy's track as GeoJSON: a LineString per vehicle, then every
/// stored position as a Point with its time, speed, battery, SOS flag and
/// how it was taken.
#[utoipa::path(
    get,
    path = "/api/v1/convoys/{id}/track",
    tag = "convoys",
    params(("id" = Uuid, Path, description = "Convoy id"), TrackQuery),
    responses(
        (status = 200, description = "A GeoJSON FeatureCollection", content_type = "application/geo+json"),
        (status = 400, description = "A time is invalid", body = ApiError),
        (status = 404, description = "No such convoy, or not visible", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn track(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    super::Query(q): super::Query<TrackQuery>,
) -> Result<Response, ApiError> {
    member(&caller)?;
    let id = uuid(&id)?;
    let fc = state
        .app
        .convoy_track(
            &caller.viewer,
            id,
            q.from.as_deref(),
            q.to.as_deref(),
            Utc::now(),
        )
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        fc.to_string(),
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct AlertQuery {
    /// Only this convoy's.
    convoy: Option<Uuid>,
    /// Only alerts with a greater id.
    after: Option<i64>,
    /// Only those not acknowledged yet.
    unacknowledged: Option<bool>,
    /// At most this many (1 to 1000; default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// Alerts of the convoys the caller may see, oldest first, with their
/// acknowledgement.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "convoys",
    params(AlertQuery),
    responses(
        (status = 200, description = "Alerts", body = Vec<AlertView>),
        (status = 400, description = "A parameter is invalid", body = ApiError),
        (status = 404, description = "No such convoy, or not visible", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn alerts(
    State(state): State<AppState>,
    caller: Caller,
    super::Query(q): super::Query<AlertQuery>,
) -> Result<axum::Json<Vec<AlertView>>, ApiError> {
    member(&caller)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::bad("limit", &limit.to_string(), "is 1 to 1000").into());
    }
    Ok(axum::Json(
        state
            .app
            .convoy_alerts(
                &caller.viewer,
                q.convoy,
                q.after.unwrap_or(0),
                q.unacknowledged.unwrap_or(false),
                limit,
            )
            .await?,
    ))
}

/// An acknowledgement.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    /// What was done (at most 1000 characters).
    pub note: Option<String>,
}

/// Acknowledge an alert (operators, analysts, admins). The first
/// acknowledgement stays; a second is a conflict that says by whom.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/ack",
    tag = "convoys",
    params(("id" = i64, Path, description = "Alert id")),
    request_body = AckBody,
    responses(
        (status = 200, description = "Acknowledged", body = AlertView),
        (status = 403, description = "The role may not acknowledge", body = ApiError),
        (status = 404, description = "No such alert, or not visible", body = ApiError),
        (status = 409, description = "Already acknowledged", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn ack(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<axum::Json<AlertView>, ApiError> {
    let p = member(&caller)?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    // The body is optional: an acknowledgement without a note.
    let note = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<AckBody>(&body)
            .map_err(|e| ApiError::new(Code::InvalidBody, format!("invalid JSON body: {e}")))?
            .note
    };
    Ok(axum::Json(
        state
            .app
            .ack_alert(p, id, note.as_deref(), Utc::now())
            .await?,
    ))
}

/// How long a quiet alert stream waits before checking the credential again.
const RECHECK: Duration = Duration::from_secs(15);

/// Alerts, live, as server-sent events: `ready`, then one `alert` event
/// per alert of a convoy the caller may see, its id as the event id. A
/// client that reconnects with `Last-Event-ID` (or `?last_event_id=`)
/// first gets the alerts it missed. The credential is checked again as the
/// stream goes; an `end` event closes it when it is no longer valid.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/stream",
    tag = "convoys",
    params(("last_event_id" = Option<i64>, Query, description = "Resume after this alert id")),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream"),
        (status = 401, description = "Authentication required", body = ApiError),
        (status = 503, description = "Tracking is not running on this instance", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn alert_stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    member(&caller)?;
    let (picked, rest) = super::split_query(raw.as_deref(), &["last_event_id"])?;
    if !rest.is_empty() {
        return Err(ApiError::new(
            Code::InvalidQueryParameter,
            format!("unknown parameter in '{rest}': only last_event_id is taken"),
        ));
    }
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| picked.last().map(|(_, v)| v.clone()));
    let after = match resume {
        None => None,
        Some(s) => Some(s.parse::<i64>().map_err(|_| {
            ApiError::new(
                Code::InvalidQueryParameter,
                format!("last_event_id={s}: an alert id is a whole number"),
            )
        })?),
    };
    let rx = state.app.alert_receiver().ok_or_else(|| {
        ApiError::from(AppError::Unavailable(
            "tracking is not running on this instance".into(),
        ))
    })?;
    let sub = AlertSub {
        viewer: caller.viewer.clone(),
        caller,
        state,
        rx,
        after,
        last: 0,
        pending: VecDeque::new(),
        started: false,
        done: false,
    };
    let events = futures_util::stream::unfold(sub, |mut s| async move {
        let e = s.next().await?;
        Some((Ok(e), s))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

struct AlertSub {
    caller: Caller,
    viewer: Viewer,
    state: AppState,
    rx: broadcast::Receiver<Arc<LiveAlert>>,
    /// Replay stored alerts after this id first.
    after: Option<i64>,
    /// The last alert id sent.
    last: i64,
    pending: VecDeque<AlertView>,
    started: bool,
    done: bool,
}

impl AlertSub {
    fn event(&mut self, a: &AlertView) -> Event {
        self.last = self.last.max(a.id);
        Event::default()
            .event("alert")
            .id(a.id.to_string())
            .data(serde_json::to_string(a).unwrap_or_default())
    }

    /// Stored alerts after `after` the viewer may see (to resume, or to
    /// cover a gap when the stream lagged).
    async fn replay(&mut self, after: i64) -> Result<(), AppError> {
        let missed = self
            .state
            .app
            .convoy_alerts(&self.viewer, None, after, false, 1000)
            .await?;
        self.pending.extend(missed);
        Ok(())
    }

    async fn next(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        if !self.started {
            self.started = true;
            if let Some(after) = self.after {
                self.last = after;
                if self.replay(after).await.is_err() {
                    return self.end("the service is unavailable; reconnect later");
                }
            }
            return Some(Event::default().event("ready").data("{}"));
        }
        loop {
            if let Some(a) = self.pending.pop_front() {
                if a.id <= self.last {
                    continue;
                }
                return Some(self.event(&a));
            }
            let got = tokio::time::timeout(RECHECK, self.rx.recv()).await;
            match self.caller.recheck(&self.state).await {
                Ok(Some(v)) => self.viewer = v,
                Ok(None) => return self.end("the credentials are no longer valid"),
                Err(_) => return self.end("the service is unavailable; reconnect later"),
            }
            match got {
                Err(_) => continue,
                Ok(Ok(live)) => {
                    if live.alert.id > self.last
                        && self.viewer.can_see(&live.marking)
                        && live
                            .incident
                            .as_ref()
                            .is_none_or(|m| self.viewer.can_see(m))
                    {
                        let a = live.alert.clone();
                        return Some(self.event(&a));
                    }
                }
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                    if self.replay(self.last).await.is_err() {
                        return self.end("the service is unavailable; reconnect later");
                    }
                }
                Ok(Err(broadcast::error::RecvError::Closed)) => {
                    return self.end("tracking stopped");
                }
            }
        }
    }

    fn end(&mut self, why: &str) -> Option<Event> {
        self.done = true;
        Some(Event::default().event("end").data(why))
    }
}

/// Register a webhook for the caller's organisation (operators, analysts, admins).
/// Every alert of a convoy the organisation may see, from `min_severity`
/// up, is POSTed to it as JSON with `X-Sahelwatch-Signature: sha256=HEX`,
/// the HMAC-SHA256 of `"{X-Sahelwatch-Timestamp}.{body}"` under the
/// webhook's secret. A delivery not answered with 2xx is retried after
/// 5 s, 10 s, 20 s ... (8 attempts in all).
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "convoys",
    request_body = RawWebhook,
    responses(
        (status = 201, description = "Registered (the secret is shown once)", body = WebhookView),
        (status = 400, description = "A field is invalid (named)", body = ApiError),
        (status = 403, description = "The role may not register webhooks", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Json(raw): Json<RawWebhook>,
) -> Result<(StatusCode, axum::Json<WebhookView>), ApiError> {
    let p = member(&caller)?;
    let w = state.app.create_webhook(p, &raw, Utc::now()).await?;
    Ok((StatusCode::CREATED, axum::Json(w)))
}

/// The organisation's webhooks, each with its latest deliveries and their status.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "convoys",
    responses((status = 200, description = "Webhooks", body = Vec<WebhookView>)),
    security(("bearer" = []), ("session" = []))
)]
async fn webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<WebhookView>>, ApiError> {
    let p = member(&caller)?;
    Ok(axum::Json(state.app.webhooks(p.org).await?))
}

/// Delete one of the organisation's webhooks (and its pending deliveries).
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "convoys",
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such webhook in the organisation", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let p = member(&caller)?;
    state.app.delete_webhook(p, uuid(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The answer to a batch of positions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PositionsAnswer {
    /// Stored, or already stored: the device may drop them.
    pub acknowledged: usize,
    /// Not stored: refused, unknown device, wrong secret, unreadable.
    pub refused: usize,
    /// One result per position, in order.
    pub results: Vec<PositionResult>,
}

/// Positions from devices, as JSON (`{"positions": [{device, secret, time,
/// lat, lon, speed_kmh, bearing, altitude, accuracy, battery, sos}]}`, at
/// most 1000). Each position is authenticated by its device's secret and
/// answered on its own, in order: an unreadable, unknown or refused one
/// does not stop the others. The answer comes once the acknowledged ones
/// are committed to the database.
#[utoipa::path(
    post,
    path = "/api/v1/positions",
    tag = "convoys",
    request_body = JsonBatch,
    responses(
        (status = 200, description = "Each position's result", body = PositionsAnswer),
        (status = 400, description = "The body is not a batch", body = ApiError),
        (status = 503, description = "Nothing was stored; send again", body = ApiError),
    )
)]
async fn positions(
    State(state): State<AppState>,
    Json(batch): Json<JsonBatch>,
) -> Result<axum::Json<PositionsAnswer>, ApiError> {
    if batch.positions.len() > MAX_JSON_POSITIONS {
        return Err(AppError::bad(
            "positions",
            &batch.positions.len().to_string(),
            format!("a batch has at most {MAX_JSON_POSITIONS} positions"),
        )
        .into());
    }
    let mut parsed = Vec::new();
    let mut slots: Vec<Result<usize, PositionResult>> = Vec::new();
    for (k, v) in batch.positions.iter().enumerate() {
        match parse_json_position(&format!("positions[{k}]"), v) {
            Ok(p) => {
                slots.push(Ok(parsed.len()));
                parsed.push(p);
            }
            Err((device, message)) => {
                state.app.count_malformed();
                slots.push(Err(PositionResult::refused(&device, message)));
            }
        }
    }
    let mut done = if parsed.is_empty() {
        Vec::new()
    } else {
        state.app.intake(Source::Json, parsed).await?
    };
    let mut results = Vec::with_capacity(slots.len());
    for s in slots {
        results.push(match s {
            Ok(k) => std::mem::replace(&mut done[k], PositionResult::refused("", String::new())),
            Err(r) => r,
        });
    }
    let acknowledged = results.iter().filter(|r| r.acknowledged()).count();
    Ok(axum::Json(PositionsAnswer {
        acknowledged,
        refused: results.len() - acknowledged,
        results,
    }))
}

/// Intake counts since this instance started: positions from unknown
/// devices, with a wrong secret, or unreadable.
#[utoipa::path(
    get,
    path = "/api/v1/positions/stats",
    tag = "convoys",
    responses((status = 200, description = "Counts", body = IntakeStats)),
    security(("bearer" = []), ("session" = []))
)]
async fn intake_stats(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<IntakeStats>, ApiError> {
    member(&caller)?;
    Ok(axum::Json(state.app.intake_stats()))
}

/// The OsmAnd protocol as the Traccar Client sends it: `GET` or `POST` on
/// any path with the position in the query string (or a form body). `200`
/// once stored; `400` for a request that cannot be read, `401` for an
/// unknown device or a wrong secret, `503` when nothing could be stored.
/// A position the engine refuses (impossible coordinates or speed, far
/// future) is answered `200` with the reason in the body and counted: the
/// app would otherwise resend it forever and hold back every later
/// position behind it.
pub fn osmand_router(state: AppState) -> Router {
    Router::new()
        .fallback(osmand)
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
        .with_state(state)
}

async fn osmand(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let mut params: Vec<(String, String)> =
        match serde_urlencoded::from_str(raw.as_deref().unwrap_or("")) {
            Ok(p) => p,
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("malformed query: {e}")),
        };
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form && !body.is_empty() {
        match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) {
            Ok(mut p) => params.append(&mut p),
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("malformed form body: {e}")),
        }
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
        });
    let position = match parse_osmand(&params, basic) {
        Ok(p) => p,
        Err(e) => {
            state.app.count_malformed();
            let msg = match e {
                AppError::BadRequest(errs) => errs
                    .iter()
                    .map(ParamError::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.to_string(),
            };
            return text(StatusCode::BAD_REQUEST, msg);
        }
    };
    match state.app.intake(Source::Osmand, vec![position]).await {
        Ok(mut r) => {
            let r = r
                .pop()
                .unwrap_or_else(|| PositionResult::refused("", "no result".into()));
            match r.status.as_str() {
                "not_accepted" => text(StatusCode::UNAUTHORIZED, r.message.unwrap_or_default()),
                "refused" => text(
                    StatusCode::OK,
                    format!("refused: {}", r.message.unwrap_or_default()),
                ),
                _ => text(StatusCode::OK, String::new()),
            }
        }
        Err(e) => text(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}
