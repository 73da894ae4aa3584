//! Who is asking: Bearer tokens, Basic credentials and the session cookie resolved to an
//! `Actor` once per request, the session cookie itself, and where a sign-in may send the
//! browser back, and the places where the sign-in throttle (`throttle.rs`) is applied; the CSRF
//! check that rides on the session is in `csrf.rs`. The pages that change who is asking
//! (sign-in, account, administrators, setup) are in `accounts.rs`.
//!
//! A request is signed in by an `Authorization: Bearer` API token or by the session cookie.
//! A session's CSRF token is derived from its secret; a state-changing request that rides on
//! the cookie must carry it (form field `csrf_token` or header `X-CSRF-Token`). Requests with a
//! Bearer token need none: browsers never add that header by themselves.

use crate::throttle::{Throttle, Wait};
use crate::{Access, Actor, AppState, PageError, blocking};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use casebook_accounts::{Accounts, Role, User, csrf_token};
use casebook_core::{Error, ReadScope};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "casebook_session";

/// A signed-in account as the templates and handlers see it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub name: String,
    pub role: Role,
    /// The session's CSRF token; none when signed in by an API token.
    pub csrf: Option<String>,
}

/// What the sign-in pages keep between requests.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    pub(crate) throttle: Throttle,
    /// HTTP basic credentials verified lately (a keyed hash of the header → account name and
    /// when it was checked), so that the several requests of one `git clone` pay for one
    /// password hash, not one each.
    basic: Mutex<HashMap<u64, (String, Instant)>>,
    /// The one-time code of the setup link, while no administrator exists.
    setup_code: Mutex<Option<String>>,
}

impl AuthState {
    pub(crate) fn new(accounts: Option<&Accounts>) -> casebook_core::Result<AuthState> {
        let state = AuthState::default();
        if let Some(acc) = accounts
            && !acc.has_admin()?
        {
            *state.lock_code() = Some(casebook_accounts::new_secret());
        }
        Ok(state)
    }

    pub(crate) fn lock_code(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.setup_code.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn setup_link(&self) -> Option<String> {
        self.lock_code().as_ref().map(|c| format!("/setup?code={c}"))
    }
}

/// How long a verified password given by HTTP basic auth is trusted without checking it again.
const BASIC_TTL: Duration = Duration::from_secs(120);

/// `Authorization: Basic …` as (user name, password or API token).
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = decode_base64(b64.trim())?;
    let text = String::from_utf8(raw).ok()?;
    let (user, secret) = text.split_once(':')?;
    Some((user.trim().to_string(), secret.to_string()))
}

/// Standard base64 (with or without padding) of at most 8 KiB; `None` on anything else.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    if s.len() > 8192 {
        return None;
    }
    base64::Engine::decode(&LENIENT, s).ok()
}

/// The account behind HTTP basic credentials (what git sends): an API token as the password
/// (any user name), or the account's own password, under the same throttle as the sign-in form
/// (`addr` is the client's address). `Err` says how long this client must wait before its next
/// password attempt.
fn basic_user(
    st: &AppState,
    acc: &Accounts,
    addr: Option<IpAddr>,
    user: &str,
    secret: &str,
) -> Result<Option<User>, Wait> {
    if secret.starts_with("cbt_") {
        return Ok(acc.token_user(secret).ok().flatten());
    }
    let key = {
        use std::hash::{BuildHasher, Hasher};
        static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> =
            std::sync::OnceLock::new();
        let mut h = KEYS.get_or_init(Default::default).build_hasher();
        h.write(user.as_bytes());
        h.write_u8(0);
        h.write(secret.as_bytes());
        h.finish()
    };
    let cached = {
        let mut map = st.auth.basic.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, at)| at.elapsed() < BASIC_TTL);
        map.get(&key).map(|(name, _)| name.clone())
    };
    if let Some(name) = cached {
        return Ok(acc.user(&name).ok().flatten());
    }
    let throttle = &st.auth.throttle;
    if let Err(wait) = throttle.attempt(user, addr) {
        tracing::info!(user, address = ?addr, "sign-in over HTTP basic auth throttled");
        return Err(wait);
    }
    match acc.check_password(user, secret) {
        Ok(Some(u)) => {
            throttle.succeeded(user, addr);
            let mut map = st.auth.basic.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > 1000 {
                map.clear();
            }
            map.insert(key, (u.name.clone(), Instant::now()));
            Ok(Some(u))
        }
        _ => {
            throttle.failed(user, addr);
            tracing::info!(user, address = ?addr, "failed sign-in over HTTP basic auth");
            Ok(None)
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

pub(crate) fn session_secret(headers: &HeaderMap) -> Option<&str> {
    cookie_value(headers, SESSION_COOKIE)
}

/// The value of the cookie `name`, if the request carries it and it is not empty.
pub(crate) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Compares two secrets in time independent of where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn anonymous(st: &AppState) -> Actor {
    let actor = Actor {
        author: st.opts.anonymous_author.clone(),
        signed_in: false,
        access: st.opts.anonymous,
        account: None,
        refused: None,
        scope: ReadScope::everything(),
    };
    with_scope(st, actor, None)
}

/// Someone whose credentials were not accepted: nothing is allowed, and every request answers
/// `why`. Their folder rules are never read.
fn refused(st: &AppState, why: Error) -> Actor {
    Actor {
        author: st.opts.anonymous_author.clone(),
        signed_in: false,
        access: Access::None,
        account: None,
        refused: Some(why),
        scope: ReadScope::everything(),
    }
}

/// Refused because the accounts (or the folder rules) cannot be read.
fn unavailable(st: &AppState) -> Actor {
    refused(st, Error::unavailable("the accounts cannot be read just now; try again"))
}

/// The actor with what their folder rules let them read. When the rules cannot be read the
/// actor may read nothing: a failing database never opens a restricted folder.
fn with_scope(st: &AppState, actor: Actor, user: Option<&User>) -> Actor {
    let Some(acc) = &st.opts.accounts else {
        return actor;
    };
    match acc.read_scope(user) {
        Ok(scope) => Actor { scope, ..actor },
        Err(e) => {
            tracing::error!(error = %e.message, "cannot read the folder rules");
            unavailable(st)
        }
    }
}

fn signed_in(st: &AppState, user: User, csrf: Option<String>) -> Actor {
    let by_role = match user.role {
        Role::Reader => Access::Read,
        Role::Editor | Role::Admin => Access::Edit,
    };
    let actor = Actor {
        author: user.author(),
        signed_in: true,
        // Signing in never gives less than visitors have.
        access: by_role.max(st.opts.anonymous),
        account: Some(SignedIn { name: user.name.clone(), role: user.role, csrf }),
        refused: None,
        scope: ReadScope::everything(),
    };
    with_scope(st, actor, Some(&user))
}

/// Who is asking: the owner of a valid API token, the owner of a live session, or the
/// anonymous visitor. A token that is not valid is refused outright rather than ignored, so a
/// script with a revoked token learns it; a stale session cookie just means anonymous. `Err`:
/// Basic credentials with a password from a client (`addr`) that must wait first.
fn resolve(st: &AppState, headers: &HeaderMap, addr: Option<IpAddr>) -> Result<Actor, Wait> {
    let Some(acc) = &st.opts.accounts else {
        return Ok(anonymous(st));
    };
    if let Some(token) = bearer(headers) {
        return Ok(match acc.token_user(token) {
            Ok(Some(user)) => signed_in(st, user, None),
            Ok(None) => refused(
                st,
                Error::unauthorized(
                    "the API token is not valid: it is mistyped or has been revoked",
                ),
            ),
            Err(e) => {
                tracing::error!(error = %e.message, "cannot check an API token");
                unavailable(st)
            }
        });
    }
    if let Some((user, secret)) = basic(headers) {
        return Ok(match basic_user(st, acc, addr, &user, &secret)? {
            Some(user) => signed_in(st, user, None),
            None => refused(
                st,
                Error::unauthorized("the user name and password (or API token) are not valid"),
            ),
        });
    }
    if let Some(secret) = session_secret(headers) {
        match acc.session_user(secret) {
            Ok(Some(user)) => return Ok(signed_in(st, user, Some(csrf_token(secret)))),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e.message, "cannot check a session"),
        }
    }
    Ok(anonymous(st))
}

/// The acting person of the request, as [`with_actor`] put it in the request's extensions.
/// Missing only for a route mounted outside that middleware, which is a programming error:
/// answered 500.
impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = crate::ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Actor>().cloned().ok_or_else(|| {
            crate::ApiError(Error::internal(format!(
                "no acting person for {}: the route is mounted outside the auth::with_actor middleware",
                parts.uri.path()
            )))
        })
    }
}

/// Works out who is asking once per request, before any handler. A token or a session and the
/// folder rules are two indexed reads of the accounts database, done in place; Basic credentials may carry a password
/// to verify (argon2, tens of milliseconds), which goes to the blocking pool rather than hold up
/// one of the few threads every request is served on.
///
/// A client that must wait before its next password attempt (see [`crate::throttle`]) is
/// answered `429 Too Many Requests` with `Retry-After` here, whatever it asked for.
pub(crate) async fn with_actor(
    State(st): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let addr = client_ip(&st, req.headers(), req.extensions());
    let actor = if basic(req.headers()).is_some() {
        let headers = req.headers().clone();
        let state = st.clone();
        match tokio::task::spawn_blocking(move || resolve(&state, &headers, addr)).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "working out who is asking failed");
                Ok(unavailable(&st))
            }
        }
    } else {
        resolve(&st, req.headers(), addr)
    };
    match actor {
        Ok(actor) => {
            req.extensions_mut().insert(actor);
            next.run(req).await
        }
        Err(wait) => too_many(&req, &wait),
    }
}

/// `429` with `Retry-After`: JSON under `/api/`, plain text elsewhere (git shows it).
fn too_many(req: &Request, wait: &Wait) -> Response {
    let message = wait.message();
    let mut resp = if req.uri().path().starts_with("/api/") {
        (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(serde_json::json!({
                "error": {"code": "too_many_requests", "message": message}
            })),
        )
            .into_response()
    } else {
        (StatusCode::TOO_MANY_REQUESTS, format!("{message}\n")).into_response()
    };
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.seconds()));
    resp
}

/// The client's address: the peer, or with `trusted_proxy` the address the proxy put last in
/// `X-Forwarded-For`.
pub(crate) struct ClientAddr(pub(crate) Option<IpAddr>);

/// The client's address as a trusted proxy reports it.
fn forwarded_ip(st: &AppState, headers: &HeaderMap) -> Option<IpAddr> {
    if !st.opts.trusted_proxy {
        return None;
    }
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse().ok())
}

/// The client's address from a request's headers and extensions (see [`ClientAddr`]).
fn client_ip(
    st: &AppState,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> Option<IpAddr> {
    forwarded_ip(st, headers)
        .or_else(|| extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_ip(st, &parts.headers, &parts.extensions)))
    }
}

/// Whether the site is served over HTTPS, so the cookie may only travel that way.
pub(crate) fn https(st: &AppState, headers: &HeaderMap) -> bool {
    st.opts.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
        || (st.opts.trusted_proxy
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https")))
}

pub(crate) fn cookie(st: &AppState, headers: &HeaderMap, value: &str, max_age: u64) -> HeaderValue {
    let secure = if https(st, headers) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("casebook_session=; Max-Age=0"))
}

/// Starts a session for `user` and answers with a redirect to `to` carrying its cookie.
pub(crate) async fn start_session(
    st: &AppState,
    headers: &HeaderMap,
    user: &User,
    to: &str,
) -> Response {
    let Some(acc) = st.opts.accounts.clone() else {
        return PageError(no_accounts()).into_response();
    };
    let (id, ttl) = (user.id, st.opts.session_ttl);
    match blocking(move || acc.create_session(id, ttl)).await {
        Ok(s) => {
            let mut resp = Redirect::to(to).into_response();
            resp.headers_mut()
                .append(header::SET_COOKIE, cookie(st, headers, &s.secret, ttl.as_secs()));
            resp
        }
        Err(e) => PageError(e).into_response(),
    }
}

fn no_accounts() -> Error {
    Error::not_found("this wiki has no accounts")
}

pub(crate) fn accounts(st: &AppState) -> Result<Arc<Accounts>, PageError> {
    st.opts.accounts.clone().ok_or_else(|| PageError(no_accounts()))
}

/// Where to go after signing in (by the form or by single sign-on): `next` when it is a path on
/// this site, else `/`.
///
/// The value goes into `Location` as it is, and a browser parses it as a URL relative to this
/// site (WHATWG URL). It stays on this site only when it starts with exactly one `/` and a
/// browser cannot turn that into two: browsers drop ASCII tab, CR and LF anywhere (`/\t/evil`
/// becomes `//evil`), read `\` as `/` (`/\evil`), and trim leading spaces and controls. So a
/// path is accepted only without any whitespace, control character or backslash, and not
/// starting with `//`. Percent-escapes are left alone: a browser does not decode `%09` or `%2F`
/// before deciding the host, so `/%09/evil` is a path on this site.
pub(crate) fn local(next: &str) -> &str {
    let stays_here = next.starts_with('/')
        && !next.starts_with("//")
        && !next.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control());
    if stays_here { next } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_route_outside_with_actor_gets_a_server_error_not_an_anonymous_actor() {
        let (mut parts, ()) = Request::builder().uri("/somewhere").body(()).unwrap().into_parts();
        let refused = Actor::from_request_parts(&mut parts, &()).await.unwrap_err();
        assert_eq!(refused.0.kind, casebook_core::ErrorKind::Internal);
        assert!(refused.0.message.contains("with_actor"));
        assert_eq!(refused.into_response().status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn cookies_and_bearer_tokens_are_found() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("theme=dark; casebook_session=abc; x=y"));
        assert_eq!(session_secret(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer  t1 "));
        assert_eq!(bearer(&h), Some("t1"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic eA=="));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn only_local_redirects() {
        for ok in [
            "/",
            "/wiki/Home",
            "/wiki/Case%20Stories/Deal?x=1#top",
            "/search?q=a%2Fb",
            // Escapes stay escapes: a browser does not decode them before finding the host.
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "/wiki/Caf\u{e9}",
        ] {
            assert_eq!(local(ok), ok, "{ok:?}");
        }
        for hostile in [
            "",
            "//evil.example/",
            "///evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\t\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "\t//evil.example",
            "/x\r\nSet-Cookie: a=b",
            "/x\nLocation: https://evil.example",
            " /x",
            "\u{0}/x",
            "/\u{0}/evil.example",
            "/\u{b}/evil.example",
            "/\u{c}/evil.example",
            "/\u{7f}x",
            "/\u{85}/evil.example",
            "/\u{a0}/evil.example",
            "/\u{2028}/evil.example",
            "/x y",
            "https://evil.example/",
            "http:evil.example",
            "//",
            "javascript:alert(1)",
            "JavaScript:alert(1)//",
            "data:text/html,<script>alert(1)</script>",
            "evil.example",
            "wiki/Home",
            "?next=/",
            "#top",
        ] {
            assert_eq!(local(hostile), "/", "{hostile:?}");
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
