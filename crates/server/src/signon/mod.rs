//! Single sign-on with an OpenID Connect provider: the authorization-code flow with PKCE (S256)
//! and a confidential client (`client_secret_basic`).
//!
//! `/login/oidc` keeps a pending sign-in on the server (a random state → nonce, PKCE verifier,
//! where to go afterwards, the browser's binding cookie, when it started; ten minutes at most,
//! a bounded number at once), sets the binding cookie and sends the browser to the provider.
//! `/login/oidc/callback` takes the pending sign-in by its state (once: a replay finds
//! nothing), refuses it when the binding cookie differs (a state carried to another browser),
//! exchanges the code at the token endpoint, and accepts the ID token only once `jwt::verify`
//! has checked its signature against the provider's keys and its claims. The person's account
//! comes from `Accounts::sign_on`, and the session starts exactly as after a password.
//!
//! The provider client (discovery, keys, the code exchange, who may come in) is in
//! `provider.rs`.

mod jwt;
mod provider;

pub use provider::{OidcOptions, check_allowed_domain, check_provider_url, redirect_uri};

use crate::auth::{self, local, same};
use crate::{AppState, PageError};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use casebook_accounts::{SignOn, new_secret};
use casebook_core::{Error, Result};
use provider::{Client, admit};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use std::time::Instant;

/// The cookie that binds a pending sign-in to the browser that started it.
pub const BINDING_COOKIE: &str = "casebook_oidc";
/// How long a sign-in may take at the provider.
pub const PENDING_TTL: Duration = Duration::from_secs(10 * 60);
/// Most sign-ins pending at once; past it the oldest is forgotten.
pub const MAX_PENDING: usize = 10_000;

/// A sign-in sent to the provider and not back yet.
struct Pending {
    nonce: String,
    verifier: String,
    next: String,
    /// The binding cookie of the browser that started it.
    browser: String,
    created: Instant,
}

/// The sign-on state the server keeps.
pub(crate) struct Oidc {
    client: Client,
    pending: Mutex<HashMap<String, Pending>>,
}

impl Oidc {
    pub(crate) fn new(opts: OidcOptions, public_url: Option<&str>) -> Result<Oidc> {
        Ok(Oidc { client: Client::new(opts, public_url)?, pending: Mutex::new(HashMap::new()) })
    }

    pub(crate) fn name(&self) -> &str {
        &self.client.opts.name
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.client.opts.issuer
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn remember(&self, state: String, p: Pending) {
        let mut map = self.pending();
        map.retain(|_, p| p.created.elapsed() < PENDING_TTL);
        if map.len() >= MAX_PENDING
            && let Some(oldest) = map.iter().min_by_key(|(_, p)| p.created).map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(state, p);
    }

    /// Takes the pending sign-in of `state` if `browser` started it. One from another browser
    /// stays, so that it cannot be cancelled from outside.
    fn take(&self, state: &str, browser: Option<&str>) -> Result<Pending> {
        let mut map = self.pending();
        let expired = || {
            Error::invalid(
                "this sign-in has expired or was finished already; start again from the sign-in page",
            )
        };
        let Some(p) = map.get(state) else {
            return Err(expired());
        };
        if p.created.elapsed() >= PENDING_TTL {
            map.remove(state);
            return Err(expired());
        }
        if !browser.is_some_and(|b| same(b, &p.browser)) {
            return Err(Error::forbidden(
                "this sign-in was started in another browser (or its cookie was lost); start again from the sign-in page",
            ));
        }
        map.remove(state).ok_or_else(expired)
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/login/oidc", get(start)).route("/login/oidc/callback", get(callback))
}

fn oidc(st: &AppState) -> std::result::Result<&Oidc, PageError> {
    auth::accounts(st)?;
    st.oidc.as_deref().ok_or_else(|| {
        PageError(Error::not_found(
            "single sign-on is not set up on this wiki; sign in with a password",
        ))
    })
}

fn binding(headers: &HeaderMap) -> Option<&str> {
    auth::cookie_value(headers, BINDING_COOKIE).filter(|v| v.len() == 64)
}

#[derive(Deserialize, Default)]
struct StartQuery {
    #[serde(default)]
    next: String,
}

/// Sends the browser to the provider.
async fn start(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> std::result::Result<Response, PageError> {
    let o = oidc(&st)?;
    let p = o.client.provider().await?;
    // One cookie per browser, kept while it lasts, so sign-ins in two tabs both work.
    let browser = binding(&headers).map(str::to_string).unwrap_or_else(new_secret);
    let (state, nonce, verifier) = (new_secret(), new_secret(), new_secret());
    let challenge =
        URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()));
    let mut url = p.authorization.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &o.client.opts.client_id)
        .append_pair("redirect_uri", &o.client.redirect_uri)
        .append_pair("scope", "openid email profile")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    o.remember(
        state,
        Pending {
            nonce,
            verifier,
            next: local(&q.next).to_string(),
            browser: browser.clone(),
            created: Instant::now(),
        },
    );
    let secure = if auth::https(&st, &headers) { "; Secure" } else { "" };
    let cookie = format!(
        "{BINDING_COOKIE}={browser}; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        PENDING_TTL.as_secs()
    );
    let mut resp = Redirect::to(url.as_str()).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[derive(Deserialize, Default)]
struct CallbackQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Where the provider sends the browser back.
async fn callback(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> std::result::Result<Response, PageError> {
    let o = oidc(&st)?;
    let fail = |e: Error| {
        tracing::info!(reason = %e.message, "single sign-on refused");
        PageError(e)
    };
    if q.state.is_empty() {
        return Err(fail(Error::invalid(
            "the provider sent no state back; start again from the sign-in page",
        )));
    }
    let pending = o.take(&q.state, binding(&headers)).map_err(fail)?;
    if !q.error.is_empty() {
        return Err(fail(Error::unauthorized(format!(
            "the sign-on provider did not sign you in: {}",
            casebook_core::truncate(&format!("{} {}", q.error, q.error_description), 200).trim()
        ))));
    }
    if q.code.is_empty() {
        return Err(fail(Error::invalid(
            "the provider sent no code back; start again from the sign-in page",
        )));
    }
    let mut p = o.client.provider().await.map_err(&fail)?;
    let id_token = o.client.exchange(&p, &q.code, &pending.verifier).await.map_err(&fail)?;
    if let Some(kid) = jwt::kid(&id_token)
        && !p.jwks.has_kid(&kid)
    {
        o.client.refresh_keys(&mut p).await.map_err(&fail)?;
    }
    let now = casebook_core::Timestamp::now().seconds;
    let expect = jwt::Expect {
        issuer: &o.client.opts.issuer,
        client_id: &o.client.opts.client_id,
        nonce: &pending.nonce,
        now,
    };
    let claims = jwt::verify(&id_token, &p.jwks, &expect).map_err(|r| {
        fail(Error::unauthorized(format!(
            "single sign-on failed: {r}. Start again, or sign in with a password"
        )))
    })?;
    // Who may come in is decided before any account is found, linked or made, and on every
    // sign-on: someone who left the domain or the group is refused with their old identity too.
    admit(&o.client.opts, &claims).map_err(&fail)?;
    let acc = auth::accounts(&st)?;
    let role = o.client.opts.role;
    let (user, how) = crate::blocking(move || {
        acc.sign_on(&SignOn {
            issuer: &claims.issuer,
            subject: &claims.subject,
            email: claims.email.as_deref(),
            email_verified: claims.email_verified,
            preferred_username: claims.preferred_username.as_deref(),
            role,
        })
    })
    .await
    .map_err(&fail)?;
    tracing::info!(user = %user.name, how = ?how, "signed in through single sign-on");
    Ok(auth::start_session(&st, &headers, &user, &pending.next).await)
}

#[cfg(test)]
mod tests {
    use super::provider::tests::options;
    use super::*;

    #[test]
    fn options_need_a_public_url_and_hide_the_secret() {
        assert!(Oidc::new(options(), None).is_err());
        assert!(Oidc::new(options(), Some("https://wiki.example.com")).is_ok());
        assert!(!format!("{:?}", options()).contains("s3cret"));
    }

    #[test]
    fn pending_sign_ins_are_taken_once_by_their_browser_and_bounded() {
        let o = Oidc::new(options(), Some("https://wiki.example.com")).unwrap();
        let pending = |browser: &str| Pending {
            nonce: "n".into(),
            verifier: "v".into(),
            next: "/".into(),
            browser: browser.into(),
            created: Instant::now(),
        };
        o.remember("s1".into(), pending("b1"));
        assert_eq!(
            o.take("s1", Some("b2")).err().unwrap().kind,
            casebook_core::ErrorKind::Forbidden
        );
        assert!(o.take("s1", None).is_err());
        assert!(o.take("s1", Some("b1")).is_ok());
        assert_eq!(
            o.take("s1", Some("b1")).err().unwrap().kind,
            casebook_core::ErrorKind::InvalidInput
        );
        let old = Pending { created: Instant::now() - PENDING_TTL, ..pending("b1") };
        o.remember("old".into(), old);
        assert!(o.take("old", Some("b1")).is_err());
        for i in 0..MAX_PENDING + 5 {
            o.remember(format!("s{i}"), pending("b"));
        }
        assert_eq!(o.pending().len(), MAX_PENDING);
    }
}
