//! Errors become responses here, once: JSON for the API, a themed page for people.

use crate::AppState;
use axum::Json;
use axum::http::StatusCode;
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
        let mut resp = (
            status(e.kind),
            Json(json!({"error": {"code": code(e.kind), "message": message}})),
        )
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

/// An error answered with the theme's error page.
pub struct PageError {
    pub error: Error,
    pub state: AppState,
}

impl std::fmt::Debug for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.error;
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
        let html = self.state.theme.render(
            "error.html",
            minijinja::context! {
                site => self.state.opts.site_name,
                status => status.as_u16(),
                title => title,
                message => message,
            },
        );
        (status, Html(html)).into_response()
    }
}
