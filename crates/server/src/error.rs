//! Errors become responses here, once: JSON for the API, a themed page for people.

use crate::AppState;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use casebook_core::{Error, ErrorKind};
use serde_json::json;

pub(crate) fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub(crate) fn code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "not_found",
        ErrorKind::InvalidInput => "invalid_input",
        ErrorKind::Conflict => "conflict",
        ErrorKind::TooLarge => "too_large",
        ErrorKind::Unauthorized => "unauthorized",
        ErrorKind::Forbidden => "forbidden",
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::Internal => "internal",
    }
}

/// An error answered as `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        if e.kind == ErrorKind::Internal {
            tracing::error!(error = %e.message, "request failed");
        }
        let message = if e.kind == ErrorKind::Internal {
            "something went wrong on the server; the details are in its log".to_string()
        } else {
            e.message
        };
        let mut resp =
            (status(e.kind), Json(json!({"error": {"code": code(e.kind), "message": message}})))
                .into_response();
        if e.kind == ErrorKind::Unauthorized {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"casebook\""),
            );
        }
        resp
    }
}

/// An error answered with the theme's error page (or, under `/api/`, as [`ApiError`] does). It
/// carries only the error: the answer is drawn by [`themed`], the one layer that knows the
/// theme and the request's address, so a handler answers any `casebook_core::Error` with `?`.
#[derive(Debug)]
pub struct PageError(pub Error);

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        PageError(e)
    }
}

/// The error a response stands for, left in its extensions for [`themed`] to draw.
#[derive(Clone)]
struct Failure(Error);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut resp = status(self.0.kind).into_response();
        resp.extensions_mut().insert(Failure(self.0));
        resp
    }
}

/// The layer that draws every [`PageError`]: as JSON under `/api/`, else as the theme's error
/// page, keeping its status.
pub(crate) async fn themed(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut resp = next.run(req).await;
    match resp.extensions_mut().remove::<Failure>() {
        Some(Failure(e)) if api => ApiError(e).into_response(),
        Some(Failure(e)) => error_page(&st, e),
        None => resp,
    }
}

fn error_page(st: &AppState, e: Error) -> Response {
    if e.kind == ErrorKind::Internal {
        tracing::error!(error = %e.message, "request failed");
    }
    let status = status(e.kind);
    let (title, message) = match e.kind {
        ErrorKind::NotFound => ("Not found", e.message),
        ErrorKind::InvalidInput => ("That request cannot be answered", e.message),
        ErrorKind::Conflict => ("Somebody got there first", e.message),
        ErrorKind::TooLarge => ("That is too large", e.message),
        ErrorKind::Unauthorized => ("Please sign in", e.message),
        ErrorKind::Forbidden => ("Not allowed", e.message),
        ErrorKind::Unavailable => ("Casebook cannot serve this right now", e.message),
        ErrorKind::Internal => (
            "Something went wrong",
            "Casebook ran into a problem it did not expect. The details are in the server's log; please try again.".to_string(),
        ),
    };
    let html = st.theme.render(
        "error.html",
        minijinja::context! {
            site => st.opts.site_name,
            status => status.as_u16(),
            title => title,
            message => message,
        },
    );
    (status, Html(html)).into_response()
}
