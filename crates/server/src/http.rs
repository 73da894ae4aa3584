//! Request pieces shared by the handler modules; this module imports none of them.

use crate::{AppState, PageError};
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequest, Request};
use axum::http::StatusCode;
use casebook_core::Error;
use serde::de::DeserializeOwned;

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
            .map_err(|e| state.fail(form_error(e)))
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
