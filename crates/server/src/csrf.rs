//! The CSRF check on every state-changing request of a browser signed in by its session cookie:
//! the session's token must come along, as the header `X-CSRF-Token`, a form field
//! `csrf_token`, or the first field of a multipart upload (read from the start of the body,
//! which then goes on streamed).

use crate::auth::same;
use crate::{Actor, AppState, PageError};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use casebook_core::Error;
use futures_util::StreamExt;

/// The CSRF check, in one place for every route: a state-changing request of someone signed in
/// by their session cookie must also carry the session's CSRF token. A request signed in by a
/// token or Basic credentials (which take precedence over a cookie) needs none: a browser may
/// resend cached Basic credentials on its own, but `security::guard` refuses every state-changing
/// request from another site before it gets here.
pub(crate) async fn csrf(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let Some(actor) = req.extensions().get::<Actor>() else {
        return crate::ApiError(Error::internal(
            "the CSRF check runs outside the auth::with_actor middleware",
        ))
        .into_response();
    };
    let Some(expected) = actor.account.as_ref().and_then(|a| a.csrf.clone()) else {
        // Not signed in by a session: anonymous, or a script with a token.
        return next.run(req).await;
    };
    if let Some(given) = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return if same(given, &expected) { next.run(req).await } else { csrf_refused(&req) };
    }
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Some(boundary) = multipart_boundary(content_type) {
        return multipart_csrf(req, next, &boundary, &expected).await;
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return csrf_refused(&req);
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::body_limit(&st.engine)).await {
        Ok(b) => b,
        Err(_) => {
            return PageError(Error::too_large("the form is larger than the server accepts"))
                .into_response();
        }
    };
    let ok = form_urlencoded::parse(&bytes).any(|(k, v)| k == "csrf_token" && same(&v, &expected));
    let req = Request::from_parts(parts, Body::from(bytes));
    if ok { next.run(req).await } else { csrf_refused(&req) }
}

/// The boundary of a `multipart/form-data` body, from its content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case("boundary").then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The most of a multipart body read to find its first field.
const MULTIPART_HEAD: usize = 16 * 1024;

/// The CSRF check of a `multipart/form-data` form (a file upload): its first field must be
/// `csrf_token`, as the theme's forms put it. Only the start of the body is read for it; the
/// body goes on whole, streamed, to the handler.
async fn multipart_csrf(req: Request, next: Next, boundary: &str, expected: &str) -> Response {
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    let mut head = Vec::new();
    let mut token = None;
    while head.len() < MULTIPART_HEAD {
        match stream.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(_)) | None => {
                token = first_field(&head, boundary, "csrf_token");
                break;
            }
        }
        token = first_field(&head, boundary, "csrf_token");
        if token.is_some() {
            break;
        }
    }
    let ok = token.is_some_and(|t| same(&t, expected));
    let rest = futures_util::stream::once(async move { Ok::<_, axum::Error>(Bytes::from(head)) })
        .chain(stream);
    let req = Request::from_parts(parts, Body::from_stream(rest));
    if ok { next.run(req).await } else { csrf_refused(&req) }
}

/// The value of a multipart body's first field when it is named `name` and whole in `head`.
fn first_field(head: &[u8], boundary: &str, name: &str) -> Option<String> {
    let start = format!("--{boundary}\r\n");
    let rest = head.strip_prefix(start.as_bytes())?;
    let end_of_headers = find(rest, b"\r\n\r\n")?;
    let headers = std::str::from_utf8(&rest[..end_of_headers]).ok()?;
    let named = headers.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("content-disposition:")
            && l.split(';').any(|p| p.trim() == format!("name=\"{name}\""))
    });
    if !named {
        return None;
    }
    let value = &rest[end_of_headers + 4..];
    let end = find(value, format!("\r\n--{boundary}").as_bytes())?;
    String::from_utf8(value[..end].to_vec()).ok()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn csrf_refused(req: &Request) -> Response {
    let e = Error::forbidden(
        "this form has expired or did not come from this wiki; reload the page and try again",
    );
    if req.uri().path().starts_with("/api/") {
        crate::ApiError(e).into_response()
    } else {
        PageError(e).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_form_shows_its_first_field_only_when_whole() {
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"abc\"").as_deref(),
            Some("abc")
        );
        assert_eq!(multipart_boundary("multipart/form-data;boundary=x").as_deref(), Some("x"));
        assert_eq!(multipart_boundary("application/json; boundary=x"), None);
        let body =
            b"--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n--b\r\n";
        assert_eq!(first_field(body, "b", "csrf_token").as_deref(), Some("tok"));
        assert_eq!(first_field(&body[..body.len() - 6], "b", "csrf_token"), None, "cut short");
        assert_eq!(first_field(body, "b", "other"), None);
        let second = b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--b\r\n";
        assert_eq!(first_field(second, "b", "csrf_token"), None, "only the first field counts");
    }
}
