//! Request pieces shared by the handler modules; this module imports none of them.

use crate::{ApiError, AppState, PageError};
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::Response;
use casebook_core::{Error, PagePath};
use serde::de::DeserializeOwned;

/// What a page handler answers: the page, or the themed error page.
pub(crate) type WebResult = Result<Response, PageError>;

/// What an API handler answers: the JSON response, or the error as JSON.
pub(crate) type ApiResult = Result<Response, ApiError>;

/// The fields of a form post, or the themed error page: 413 when it is too large, 400 when it is
/// malformed. Every form handler reads its form through this; a handler that must check who is
/// asking first takes `Result<FormBody<T>, PageError>` and answers the error after its checks.
pub(crate) struct FormBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for FormBody<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        Form::<T>::from_request(req, state)
            .await
            .map(|Form(f)| FormBody(f))
            .map_err(|e| PageError(form_error(e)))
    }
}

/// A form that could not be read: too large (413) or malformed (400).
fn form_error(e: FormRejection) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::too_large("the text is larger than the server accepts")
    } else {
        Error::invalid(format!("the form could not be read: {e}"))
    }
}

/// A value for a URL's query string: everything but unreserved characters percent-encoded.
pub(crate) fn encode_query(s: &str) -> String {
    const QUERY: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(s, QUERY).to_string()
}

/// A JSON request body: valid UTF-8, valid JSON, within the size limit, or a clear 4xx.
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::too_large("the request body is larger than the server accepts")
            } else {
                Error::invalid(format!("cannot read the request body: {rej}"))
            }
        })?;
        if std::str::from_utf8(&bytes).is_err() {
            return Err(Error::invalid("the request body is not valid UTF-8").into());
        }
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            Error::invalid(format!("the request body is not the JSON expected: {e}")).into()
        })
    }
}

/// A page path as it goes in a URL (each segment percent-encoded); empty for a string that is
/// not a page path.
pub(crate) fn encode(path: &str) -> String {
    PagePath::parse(path).map(|p| p.url_encoded()).unwrap_or_default()
}
