//! `/api/v1/stream`: server-sent events of new and changed incidents.

use super::split_query;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Code};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use sahelwatch_app::{IncidentQuery, RawIncidentQuery, StreamPosition};
use sahelwatch_core::Viewer;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How often a subscriber looks for writes made by other processes.
const POLL: Duration = Duration::from_secs(1);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}

/// New and changed incidents, live, as server-sent events.
///
/// Takes the filters of the search (paging parameters are ignored). The
/// first event is `ready` (data: `{"position": ...}`); then one `incident`
/// event per new or changed incident the caller may see, in the order they
/// were written, with the incident as in the search (coarsened outside its
/// owner) and its position as the event id. A client that reconnects with
/// `Last-Event-ID` (or `?last_event_id=`) resumes after that event.
/// The credential is checked again before each batch: when it expires or is
/// revoked, an `end` event closes the stream. With `follow=false` the stream
/// sends what was written after the resume point and ends (`end` event,
/// data `caught up`) instead of waiting for more.
#[utoipa::path(
    get,
    path = "/api/v1/stream",
    tag = "incidents",
    params(
        RawIncidentQuery,
        ("last_event_id" = Option<String>, Query, description = "Resume after this event id"),
        ("follow" = Option<bool>, Query, description = "false: end once caught up (default true)"),
    ),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream"),
        (status = 400, description = "A parameter is invalid", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let (picked, rest) = split_query(raw.as_deref(), &["last_event_id", "follow"])?;
    let follow = match picked
        .iter()
        .rev()
        .find(|(k, _)| k == "follow")
        .map(|(_, v)| v.as_str())
    {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(ApiError::new(
                Code::InvalidQueryParameter,
                format!("follow={other}: expected true or false"),
            ));
        }
    };
    let raw: RawIncidentQuery = serde_urlencoded::from_str(&rest)
        .map_err(|e| ApiError::new(Code::InvalidQueryParameter, e.to_string()))?;
    let gazetteer = state.app.gazetteer().await?;
    let q = raw.resolve(&gazetteer).map_err(ApiError::invalid_params)?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            picked
                .iter()
                .rev()
                .find(|(k, _)| k == "last_event_id")
                .map(|(_, v)| v.clone())
        });
    let position = match resume {
        Some(id) => StreamPosition::decode(&id)?,
        None => state.app.stream_now().await?,
    };
    let updates = state.app.index_updates();
    let sub = Subscriber {
        viewer: caller.viewer.clone(),
        caller,
        state,
        q,
        position,
        path: super::audit_path(&uri),
        updates,
        pending: VecDeque::new(),
        started: false,
        follow,
        done: false,
    };
    let events = futures_util::stream::unfold(sub, |mut s| async move {
        let e = s.next().await?;
        Some((Ok(e), s))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

struct Subscriber {
    caller: Caller,
    viewer: Viewer,
    state: AppState,
    q: IncidentQuery,
    position: StreamPosition,
    path: String,
    updates: tokio::sync::watch::Receiver<i64>,
    pending: VecDeque<Event>,
    started: bool,
    follow: bool,
    done: bool,
}

impl Subscriber {
    async fn next(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        if !self.started {
            self.started = true;
            return Some(
                Event::default()
                    .event("ready")
                    .id(self.position.encode())
                    .data(serde_json::json!({ "position": self.position.encode() }).to_string()),
            );
        }
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            match self.caller.recheck(&self.state).await {
                Ok(Some(v)) => self.viewer = v,
                Ok(None) => return self.end("the credentials are no longer valid"),
                Err(_) => return self.end("the service is unavailable; reconnect later"),
            }
            let batch = match self
                .state
                .app
                .stream_after(&self.viewer, &self.q, self.position, &self.path)
                .await
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "live stream failed");
                    return self.end("the service is unavailable; reconnect later");
                }
            };
            self.position = batch.position;
            for (p, view) in batch.events {
                let data = serde_json::to_string(&view).unwrap_or_default();
                self.pending
                    .push_back(Event::default().event("incident").id(p.encode()).data(data));
            }
            if !self.pending.is_empty() || batch.more {
                continue;
            }
            if !self.follow {
                return self.end("caught up");
            }
            tokio::select! {
                _ = self.updates.changed() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    fn end(&mut self, why: &str) -> Option<Event> {
        self.done = true;
        Some(Event::default().event("end").data(why))
    }
}
