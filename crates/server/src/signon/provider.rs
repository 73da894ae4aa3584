//! The single sign-on provider client: the settings and their checks, who may come in (allowed
//! domains, required group), the provider's discovery document and keys, and the code exchange
//! at its token endpoint. The routes and the pending sign-ins are in `signon/mod.rs`.
//!
//! The provider's discovery document and keys are fetched on first use and kept for an hour;
//! a failure is not kept, so the next sign-in tries again. Keys are fetched again (at most once
//! a minute) when a token names a key id the set does not have.

use super::jwt::{self, Jwks};
use axum::http::header;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use casebook_accounts::Role;
use casebook_core::{Error, Result};
use reqwest::Url;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

/// How long the discovery document and keys are kept.
const PROVIDER_TTL: Duration = Duration::from_secs(3600);
/// Least time between two fetches of the keys for an unknown key id.
const JWKS_REFRESH: Duration = Duration::from_secs(60);
/// Largest answer read from the provider.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// Single sign-on settings (validated by the binary; `AppState::new` checks them again).
#[derive(Clone)]
pub struct OidcOptions {
    /// The provider's issuer URL, exactly as its tokens carry it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The provider's name on the sign-in button.
    pub name: String,
    /// The role of accounts made on first sign-on.
    pub role: Role,
    /// When not empty, only people whose e-mail address the provider verified and whose domain
    /// is one of these (lowercase, compared whole: `example.com` does not admit
    /// `sales.example.com`) may sign on.
    pub allowed_domains: Vec<String>,
    /// When set, only people whose ID token lists this group in its `groups` claim may sign on.
    pub required_group: Option<String>,
}

impl OidcOptions {
    /// Options with no restriction on who may sign on.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        name: impl Into<String>,
        role: Role,
    ) -> OidcOptions {
        OidcOptions {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            name: name.into(),
            role,
            allowed_domains: Vec::new(),
            required_group: None,
        }
    }
}

/// An e-mail domain as `oidc_allowed_domains` lists it: lowercased, a leading `@` dropped; an
/// error for anything that is not a plain domain name.
pub fn check_allowed_domain(domain: &str) -> Result<String> {
    let d = domain.trim().trim_start_matches('@').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && !d.starts_with(['.', '-'])
        && !d.ends_with(['.', '-'])
        && !d.contains("..")
        && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if ok {
        Ok(d)
    } else {
        Err(Error::invalid(format!(
            "oidc_allowed_domains: '{}' is not an e-mail domain such as example.com",
            casebook_core::truncate(domain, 80)
        )))
    }
}

/// Whether the person an ID token names may sign on under `opts`: a refusal (403) says why.
pub(crate) fn admit(opts: &OidcOptions, claims: &jwt::Claims) -> Result<()> {
    if !opts.allowed_domains.is_empty() {
        let listed = opts.allowed_domains.join(", ");
        let email = claims
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| casebook_accounts::check_email(e).is_ok());
        let Some(email) = email else {
            return Err(Error::forbidden(format!(
                "this wiki admits people with an e-mail address at {listed}, and the sign-on provider sent no valid e-mail address for you"
            )));
        };
        if !claims.email_verified {
            return Err(Error::forbidden(format!(
                "this wiki admits people with an e-mail address at {listed}, and the sign-on provider has not verified that {} is yours",
                casebook_core::truncate(email, 100)
            )));
        }
        let domain =
            email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
        if !opts.allowed_domains.contains(&domain) {
            return Err(Error::forbidden(format!(
                "this wiki admits people with an e-mail address at {listed}, not {}",
                casebook_core::truncate(email, 100)
            )));
        }
    }
    if let Some(group) = &opts.required_group
        && !claims.groups.iter().any(|g| g == group)
    {
        return Err(Error::forbidden(format!(
            "this wiki admits members of the group '{group}', and the sign-on provider does not list you in it"
        )));
    }
    Ok(())
}

impl std::fmt::Debug for OidcOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcOptions")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"…")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("allowed_domains", &self.allowed_domains)
            .field("required_group", &self.required_group)
            .finish()
    }
}

/// An address of the provider: `https`, or plain `http` only on a loopback host (for a
/// provider on the same machine, as in tests).
pub fn check_provider_url(what: &str, url: &str) -> Result<Url> {
    let parsed =
        Url::parse(url).map_err(|e| Error::invalid(format!("{what} '{url}' is not a URL: {e}")))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" if !host.is_empty() => Ok(parsed),
        "http" if loopback => Ok(parsed),
        "http" => Err(Error::invalid(format!(
            "{what} '{url}' must use https (plain http only on a loopback address)"
        ))),
        _ => Err(Error::invalid(format!("{what} '{url}' must be an https:// address"))),
    }
}

/// The redirect URI registered at the provider.
pub fn redirect_uri(public_url: &str) -> String {
    format!("{}/login/oidc/callback", public_url.trim_end_matches('/'))
}

/// What the provider's discovery document and key set say.
#[derive(Clone)]
pub(crate) struct Provider {
    pub(crate) authorization: Url,
    token: Url,
    jwks_uri: Url,
    pub(crate) jwks: Jwks,
    fetched: Instant,
    jwks_fetched: Instant,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// The client of the provider: the settings, an HTTPS client and the provider's cached
/// endpoints and keys.
pub(crate) struct Client {
    pub(crate) opts: OidcOptions,
    pub(crate) redirect_uri: String,
    http: reqwest::Client,
    provider: tokio::sync::Mutex<Option<Provider>>,
}

impl Client {
    pub(crate) fn new(mut opts: OidcOptions, public_url: Option<&str>) -> Result<Client> {
        check_provider_url("oidc_issuer", &opts.issuer)?;
        opts.allowed_domains =
            opts.allowed_domains.iter().map(|d| check_allowed_domain(d)).collect::<Result<_>>()?;
        if opts.required_group.as_deref().is_some_and(|g| g.trim().is_empty()) {
            return Err(Error::invalid("oidc_required_group is empty"));
        }
        if opts.client_id.trim().is_empty() || opts.client_secret.is_empty() {
            return Err(Error::invalid(
                "single sign-on needs oidc_client_id and oidc_client_secret",
            ));
        }
        let Some(public_url) = public_url.filter(|u| !u.trim().is_empty()) else {
            return Err(Error::invalid(
                "single sign-on needs public_url: the provider sends people back to PUBLIC_URL/login/oidc/callback",
            ));
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("casebook/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("cannot make an HTTPS client: {e}")))?;
        Ok(Client {
            redirect_uri: redirect_uri(public_url),
            opts,
            http,
            provider: tokio::sync::Mutex::new(None),
        })
    }

    /// The provider's endpoints and keys, from the cache or fetched now.
    pub(crate) async fn provider(&self) -> Result<Provider> {
        let mut cached = self.provider.lock().await;
        if let Some(p) = cached.as_ref()
            && p.fetched.elapsed() < PROVIDER_TTL
        {
            return Ok(p.clone());
        }
        let base = self.opts.issuer.trim_end_matches('/');
        let url = format!("{base}/.well-known/openid-configuration");
        let d: Discovery = self.get_json(&url, "its discovery document").await?;
        if d.issuer != self.opts.issuer {
            return Err(Error::unavailable(format!(
                "the provider calls itself '{}', not '{}' as configured (oidc_issuer must be exactly the provider's issuer)",
                casebook_core::truncate(&d.issuer, 100),
                self.opts.issuer
            )));
        }
        let endpoint = |what: &str, u: &str| {
            check_provider_url(what, u)
                .map_err(|e| Error::unavailable(format!("the provider's {}", e.message)))
        };
        let authorization = endpoint("authorization_endpoint", &d.authorization_endpoint)?;
        let token = endpoint("token_endpoint", &d.token_endpoint)?;
        let jwks_uri = endpoint("jwks_uri", &d.jwks_uri)?;
        let jwks: Jwks = self.get_json(jwks_uri.as_str(), "its keys").await?;
        let now = Instant::now();
        let p = Provider { authorization, token, jwks_uri, jwks, fetched: now, jwks_fetched: now };
        *cached = Some(p.clone());
        Ok(p)
    }

    /// The keys again, when a token names one the cached set lacks (the provider rotated).
    pub(crate) async fn refresh_keys(&self, p: &mut Provider) -> Result<()> {
        if p.jwks_fetched.elapsed() < JWKS_REFRESH {
            return Ok(());
        }
        let jwks: Jwks = self.get_json(p.jwks_uri.as_str(), "its keys").await?;
        p.jwks = jwks;
        p.jwks_fetched = Instant::now();
        if let Some(c) = self.provider.lock().await.as_mut() {
            c.jwks = p.jwks.clone();
            c.jwks_fetched = p.jwks_fetched;
        }
        Ok(())
    }

    async fn get_json<T: DeserializeOwned>(&self, url: &str, what: &str) -> Result<T> {
        let resp = self.http.get(url).send().await.map_err(|e| down(what, &e))?;
        if !resp.status().is_success() {
            return Err(Error::unavailable(format!(
                "the sign-on provider answered {} for {what}",
                resp.status()
            )));
        }
        let body = read_limited(resp, what).await?;
        serde_json::from_slice(&body).map_err(|e| {
            Error::unavailable(format!("the sign-on provider's {what} is not valid: {e}"))
        })
    }

    /// Exchanges the code for tokens and returns the ID token.
    pub(crate) async fn exchange(
        &self,
        p: &Provider,
        code: &str,
        verifier: &str,
    ) -> Result<String> {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = STANDARD.encode(format!(
            "{}:{}",
            enc(&self.opts.client_id),
            enc(&self.opts.client_secret)
        ));
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("code_verifier", verifier)
            .finish();
        let resp = self
            .http
            .post(p.token.clone())
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(form)
            .send()
            .await
            .map_err(|e| down("its token endpoint", &e))?;
        let status = resp.status();
        let body = read_limited(resp, "its token endpoint").await?;
        if status.is_server_error() {
            return Err(Error::unavailable(format!(
                "the sign-on provider failed at its token endpoint ({status}); try again in a moment, or sign in with a password"
            )));
        }
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if !status.is_success() {
            let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default();
            return Err(Error::unauthorized(format!(
                "the sign-on provider refused to complete the sign-in ({status}{}{}); start again",
                if text("error").is_empty() { "" } else { ": " },
                casebook_core::truncate(
                    &format!("{} {}", text("error"), text("error_description")),
                    200
                )
                .trim()
            )));
        }
        match v.get("id_token").and_then(|t| t.as_str()) {
            Some(t) => Ok(t.to_string()),
            None => Err(Error::unauthorized(
                "the sign-on provider sent no ID token; is the openid scope allowed for this client?",
            )),
        }
    }
}

fn down(what: &str, e: &reqwest::Error) -> Error {
    let why = if e.is_timeout() {
        "it did not answer in time".to_string()
    } else if e.is_connect() {
        "it cannot be reached".to_string()
    } else {
        e.to_string()
    };
    tracing::warn!(error = %e, "the sign-on provider failed for {what}");
    Error::unavailable(format!(
        "the sign-on provider failed for {what}: {why}. Try again in a moment, or sign in with a password"
    ))
}

async fn read_limited(mut resp: reqwest::Response, what: &str) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| down(what, &e))? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(Error::unavailable(format!(
                "the sign-on provider's answer for {what} is too large"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn provider_addresses_are_https_or_loopback() {
        for ok in [
            "https://id.example.com",
            "https://id.example.com/realms/x/",
            "http://127.0.0.1:8080",
            "http://localhost/x",
            "http://[::1]:9000",
        ] {
            assert!(check_provider_url("issuer", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://id.example.com",
            "http://10.0.0.1",
            "ftp://id.example.com",
            "id.example.com",
            "",
        ] {
            assert!(check_provider_url("issuer", bad).is_err(), "{bad}");
        }
        assert_eq!(
            redirect_uri("https://wiki.example.com/"),
            "https://wiki.example.com/login/oidc/callback"
        );
    }

    /// Settings for a provider at `https://id.example.com`, for the tests of both sign-on files.
    pub(crate) fn options() -> OidcOptions {
        OidcOptions::new("https://id.example.com", "wiki", "s3cret", "Example ID", Role::Reader)
    }

    #[test]
    fn allowed_domains_are_plain_domain_names() {
        assert_eq!(check_allowed_domain(" @Example.COM ").unwrap(), "example.com");
        assert_eq!(check_allowed_domain("sales.example.co.uk").unwrap(), "sales.example.co.uk");
        for bad in [
            "",
            "@",
            "ann@example.com",
            "*.example.com",
            "example..com",
            ".example.com",
            "exa mple.com",
            "example.com/",
        ] {
            assert!(check_allowed_domain(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_verified_addresses_at_listed_domains_and_group_members_are_admitted() {
        let claims = |email: Option<&str>, verified: bool, groups: &[&str]| jwt::Claims {
            issuer: "https://id.example.com".into(),
            subject: "s".into(),
            email: email.map(str::to_string),
            email_verified: verified,
            preferred_username: None,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        };
        let open = options();
        assert!(admit(&open, &claims(None, false, &[])).is_ok());
        let strict = OidcOptions {
            allowed_domains: vec!["example.com".into(), "example.org".into()],
            required_group: Some("sales".into()),
            ..options()
        };
        assert!(admit(&strict, &claims(Some("ann@example.com"), true, &["sales"])).is_ok());
        assert!(admit(&strict, &claims(Some("Ann@EXAMPLE.org"), true, &["x", "sales"])).is_ok());
        for (email, verified, groups, says) in [
            (None, true, &["sales"][..], "sent no valid e-mail address"),
            (Some("not-an-address"), true, &["sales"], "sent no valid e-mail address"),
            (Some("ann@example.com"), false, &["sales"], "not verified"),
            (Some("eve@evil.example"), true, &["sales"], "not eve@evil.example"),
            (Some("eve@example.com.evil.example"), true, &["sales"], "not eve@"),
            (Some("eve@evilexample.com"), true, &["sales"], "not eve@"),
            (Some("eve@sub.example.com"), true, &["sales"], "not eve@"),
            (
                Some("eve@evil.example@example.com"),
                true,
                &["sales"],
                "sent no valid e-mail address",
            ),
            (Some("ann@example.com"), true, &[], "group 'sales'"),
            (Some("ann@example.com"), true, &["Sales", "sales-team"], "group 'sales'"),
        ] {
            let e = admit(&strict, &claims(email, verified, groups)).unwrap_err();
            assert_eq!(e.kind, casebook_core::ErrorKind::Forbidden, "{email:?}");
            assert!(e.message.contains(says), "{email:?}: {}", e.message);
        }
        // A group alone needs no e-mail address.
        let group_only = OidcOptions { required_group: Some("sales".into()), ..options() };
        assert!(admit(&group_only, &claims(None, false, &["sales"])).is_ok());
        assert!(admit(&group_only, &claims(Some("a@b.example"), true, &[])).is_err());
    }
}
