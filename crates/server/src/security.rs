//! Headers every response carries, and the cross-site request guard on every state-changing
//! request.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The Content-Security-Policy of every page. Images come from the wiki itself (attachments)
/// and `data:` URLs; with `remote_images`, also from any `https:` address (a page's author could
/// then make every reader's browser fetch a tracking image).
pub(crate) fn csp(remote_images: bool) -> HeaderValue {
    let img = if remote_images { "'self' data: https:" } else { "'self' data:" };
    HeaderValue::from_str(&format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src {img}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ))
    .expect("an ASCII header value")
}

/// A state-changing request from another site (a forged form post, a cross-site fetch) is
/// refused: browsers say where a request comes from in `Sec-Fetch-Site` and `Origin`.
fn cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && (site == "cross-site" || site == "same-site")
    {
        return true;
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let origin_host = origin.split("://").nth(1).unwrap_or(origin);
            !origin_host.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

pub(crate) async fn guard(State(csp): State<HeaderValue>, req: Request, next: Next) -> Response {
    if cross_site(req.method(), req.headers()) {
        let mut resp = (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({"error": {"code": "forbidden", "message": "cross-site requests may not change this wiki"}})),
        )
            .into_response();
        add_headers(resp.headers_mut(), &csp);
        return resp;
    }
    let mut resp = next.run(req).await;
    add_headers(resp.headers_mut(), &csp);
    resp
}

fn add_headers(h: &mut HeaderMap, csp: &HeaderValue) {
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert_with(|| csp.clone());
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn refuses_cross_site_writes_only() {
        assert!(cross_site(&Method::POST, &h(&[("sec-fetch-site", "cross-site")])));
        assert!(cross_site(
            &Method::POST,
            &h(&[("origin", "https://evil.example"), ("host", "wiki.example")])
        ));
        assert!(!cross_site(
            &Method::POST,
            &h(&[("origin", "https://wiki.example"), ("host", "wiki.example")])
        ));
        assert!(!cross_site(&Method::POST, &h(&[("sec-fetch-site", "same-origin")])));
        assert!(!cross_site(&Method::PUT, &h(&[])));
        assert!(!cross_site(&Method::GET, &h(&[("sec-fetch-site", "cross-site")])));
    }
}
