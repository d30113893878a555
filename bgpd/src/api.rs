//! The HTTP API (axum), on 127.0.0.1:8179 unless `[api] listen` says otherwise. Every answer
//! is JSON; the shapes are the `Serialize` types of [`crate::daemon::query`] and
//! [`crate::events`], documented in README.md ("HTTP API").
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /api/v1/health` | `{"status":"ok"}` while the process runs |
//! | `GET /api/v1/ready` | `{"status":"ready"}` once the RIB task answers (503 otherwise) |
//! | `GET /api/v1/neighbors` | the neighbor table: `[NeighborRow]` |
//! | `GET /api/v1/neighbors/{address}` | one neighbor: `NeighborDetail` (404 if not configured) |
//! | `POST /api/v1/neighbors/{address}/reset?kind=hard\|soft-in\|soft-out` | resets (default `hard`) |
//! | `GET /api/v1/rib?family=&prefix=&class=&peer=&view=loc\|in\|out&limit=` | `[RibEntry]` |
//! | `GET /api/v1/events` | live NDJSON stream of `LiveEvent`s |
//! | `POST /api/v1/snapshot` | writes TABLE_DUMP_V2 snapshots: `{"loc_rib": path, "adj_rib_in": path}` |
//! | `GET /metrics` | Prometheus text format |
//!
//! With `[api] token` (or `token_file`) set, every request that changes state (any method but
//! GET and HEAD: the resets and the snapshot) needs `Authorization: Bearer TOKEN`; without
//! it, or with another token, the answer is 401 and nothing is done. GET stays open.
//!
//! The API only reads or asks: it sends [`Control`] messages to the RIB task and waits for
//! the answer, so it never touches routing state itself.

use crate::daemon::query::{NeighborDetail, NeighborRow, RibEntry, RibQuery};
use crate::daemon::{Control, ResetKind};
use crate::events::EventBus;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

#[derive(Clone)]
struct ApiState {
    control: mpsc::UnboundedSender<Control>,
    events: EventBus,
    /// The bearer token required on requests that change state.
    token: Option<std::sync::Arc<str>>,
}

/// Equal without an early exit on the first differing octet.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Requests that change state need the bearer token, when one is configured.
async fn require_token(
    State(s): State<ApiState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let reads = matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    if let (Some(token), false) = (&s.token, reads) {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !given.is_some_and(|g| same_secret(g.as_bytes(), token.as_bytes())) {
            tracing::warn!(method = %request.method(), path = %request.uri().path(), "API request refused: missing or wrong bearer token");
            let mut r = ApiError(
                StatusCode::UNAUTHORIZED,
                "this request needs `Authorization: Bearer TOKEN` ([api] token)".into(),
            )
            .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
            return r;
        }
    }
    next.run(request).await
}

/// An error answer: status and `{"error": "..."}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

async fn ask<T>(
    state: &ApiState,
    make: impl FnOnce(oneshot::Sender<T>) -> Control,
) -> Result<T, ApiError> {
    let (tx, rx) = oneshot::channel();
    state.control.send(make(tx)).map_err(|_| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "bgpd is shutting down".into(),
        )
    })?;
    match tokio::time::timeout(Duration::from_secs(10), rx).await {
        Ok(Ok(v)) => Ok(v),
        _ => Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "the RIB task did not answer".into(),
        )),
    }
}

/// Binds `address` and serves the API in a task of its own; `token`, if any, is required
/// as a bearer token on every request that changes state.
pub async fn serve(
    address: SocketAddr,
    control: mpsc::UnboundedSender<Control>,
    events: EventBus,
    token: Option<String>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let app = router(ApiState {
        control,
        events,
        token: token.map(std::sync::Arc::from),
    });
    tracing::info!(address = %address, "HTTP API and /metrics on http://{address}");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP API stopped");
        }
    });
    Ok(())
}

fn router(state: ApiState) -> Router {
    Router::new()
        .route(
            "/api/v1/health",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/api/v1/ready", get(ready))
        .route("/api/v1/neighbors", get(neighbors))
        .route("/api/v1/neighbors/:address", get(neighbor))
        .route("/api/v1/neighbors/:address/reset", post(reset))
        .route("/api/v1/rib", get(rib))
        .route("/api/v1/snapshot", post(snapshot))
        .route("/api/v1/events", get(events))
        .route("/metrics", get(metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .with_state(state)
}

async fn ready(State(s): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    ask(&s, Control::Metrics).await?;
    Ok(Json(serde_json::json!({"status": "ready"})))
}

async fn neighbors(State(s): State<ApiState>) -> Result<Json<Vec<NeighborRow>>, ApiError> {
    Ok(Json(ask(&s, Control::Neighbors).await?))
}

fn parse_address(a: &str) -> Result<IpAddr, ApiError> {
    a.parse().map_err(|_| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("{a:?} is not an IP address"),
        )
    })
}

async fn neighbor(
    State(s): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<NeighborDetail>, ApiError> {
    let a = parse_address(&address)?;
    ask(&s, |tx| Control::Neighbor(a, tx))
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                format!("{a} is not a configured neighbor"),
            )
        })
}

#[derive(serde::Deserialize)]
struct ResetParams {
    kind: Option<ResetKind>,
}

async fn reset(
    State(s): State<ApiState>,
    Path(address): Path<String>,
    Query(p): Query<ResetParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let a = parse_address(&address)?;
    let kind = p.kind.unwrap_or(ResetKind::Hard);
    ask(&s, |tx| Control::Reset(a, kind, tx))
        .await?
        .map_err(|e| ApiError(StatusCode::CONFLICT, e))?;
    Ok(Json(
        serde_json::json!({"status": "ok", "neighbor": a, "kind": format!("{kind:?}")}),
    ))
}

async fn snapshot(State(s): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    let (loc, adj) = ask(&s, Control::Snapshot)
        .await?
        .map_err(|e| ApiError(StatusCode::CONFLICT, e))?;
    Ok(Json(serde_json::json!({"loc_rib": loc, "adj_rib_in": adj})))
}

async fn rib(
    State(s): State<ApiState>,
    Query(q): Query<RibQuery>,
) -> Result<Json<Vec<RibEntry>>, ApiError> {
    if matches!(
        q.view,
        crate::daemon::query::RibView::In | crate::daemon::query::RibView::Out
    ) && q.peer.is_none()
    {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "view=in and view=out need peer=ADDRESS".into(),
        ));
    }
    Ok(Json(ask(&s, |tx| Control::Rib(q, tx)).await?))
}

async fn events(State(s): State<ApiState>) -> Response {
    let subscription = s.events.subscribe();
    let listening = subscription.listening;
    let stream =
        tokio_stream::wrappers::BroadcastStream::new(subscription.receiver).map(move |e| {
            // The stream owns the subscription's count: it ends when the client goes away.
            let _ = &listening;
            let line = match e {
                Ok(ev) => serde_json::to_string(&ev).unwrap_or_default(),
                Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
                    serde_json::json!({"type": "lagged", "missed": n}).to_string()
                }
            };
            Ok::<_, std::convert::Infallible>(format!("{line}\n"))
        });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn metrics(State(s): State<ApiState>) -> Result<Response, ApiError> {
    ask(&s, Control::Metrics).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::METRICS.render(),
    )
        .into_response())
}
