//! Single sign-on against a small OpenID Connect provider written here: discovery, an
//! authorization endpoint that sends the browser back with a code, a token endpoint that checks
//! the client's secret and the PKCE verifier, and a key set. Casebook's real router runs on a real
//! server on 127.0.0.1:0, driven by a browser that keeps its cookies (one jar per browser).
//!
//! The provider signs with a fixed RSA key kept below for this test only (ring can generate
//! P-256 keys but not RSA ones); its P-256 key is generated at run time.

mod common;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use casebook_accounts::User;
use casebook_server::{Accounts, OidcOptions, Role, ServerOptions};
use common::{App, PW, listen};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// A 2048-bit RSA key in PKCS#8, made for this test and used nowhere else.
const TEST_RSA_PKCS8: &[&str] = &[
    "MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDrnUfWtqPMx31xd1WP/0/8J6OW9yGV9zZI7WyYinBgpySv6Fmj",
    "Lxu8zttaBLFwjMO+/+Yuj28zS3YuuaZRVZM9mqUMTbnCMNughnzYGWMpfMWVRG4HkTU+tRAUbqaZZhHUWfxhVPM/sDa8gdzNqsr3",
    "8i+kcH9My1sFHOuxSMHtTbJGN2NPbf0vAf381bGSFMN3s98GdYhAZwhdmrvV4QeVEHXhT8IdQR8BrSCk0oJUmuxPJU+71MIrI5MM",
    "MSKOygwu5UEvG+OIK8gs9XzdG/N39Dd4lGsFha9q2ABO7X6Ghcx0uWXzkzzScJtH05kp4kERmu04czVP1BMTNFQFgijhAgMBAAEC",
    "ggEAC5ADi1cZhmj7JXst5kFTxglAnx3P9qGT9uk74pKB/aRGNHcVFbaFSHM9qCxsdBxcVikNvUGJu1KGjA139YGFwR4FNSuH+a6B",
    "y14TjgaqQJ91vM5dDfRY0L58TwcNGEsThesdQROKVRj13rNgHXG2azY7PfkiridD92YaGkWlSrAPfDZ1aejis7y7yF610NudQSVX",
    "LyLKo0YtudFm41f+4fLWrFoFXBKUtX+0RB/t4biuza8Qrgzj/0w8x2akA3VgFxV8HhgBtOAyBoa1fj7kF6g0YMWyaLlXzWnexykl",
    "5yK/sJEjTmqD6t1n0QZjnLkS4DjaTJ0n/2GFRZnnngl0FwKBgQD1o60LppP6BJYDlYsQM2c5RnjCX5twSQGx7VHzyXx950E3cYIC",
    "2qdmSPq/tO4U3u7/5yHIVA3tNHmSTNO+K1Bp7PqzJvp8RejCp24NV1mG65xWD9djW4wqYtbUGZEpip0LiPnulEzyd/YmqX/bKkC0",
    "UVa4A4mRUmJo9IGWXUOZhwKBgQD1jVvLTJmzn9jXA5UegWomujKwJgLunC2UUB3ZONSzIJk9hPzg9mCCEjmKkS6Lwtz0Khjb1hSY",
    "X+MU7YZTVV5eH/0BZxFM+XAD9w6GYktpXEhGysijBM1k0EJSUfEzkfPOGIJHZZqBRbDcCO6djbLNKXaePR1iMw09Wl6JEv4kVwKB",
    "gQDEEhoWqqiDcRWtVrjh/aXveej6fgY84omP1LcNuU690NGlx9zXGmF0q9w7GdjQoAJ2EbBNj4puROylct2xdjGB279hMUPP3p2k",
    "grC9xXOY1oi7yXlLvc9sJekE9EOCvToN8xBM9+NTx52bzsBX2Ko9RI/L4kb00KXs0P5/X4KOEQKBgQCul5H7HT30D+XYC74NcKsP",
    "WjkMMhrHmdh2qfhvKQ9jRfxvV42OTuAT2+157vyPd0Avg3claDRAm30UtkZaHkr41fnI84XDm1/gEdwMBPvlsC3b1/eMoa+AzOs7",
    "KPQ9XLtjgN2w8jdHT0wPR3KSJ9xIMAEdRgsMdYwmYYjyIcT+BQKBgQCN9GZ2sZ/YMKATD0wh2Pb7GZh6gss3O+ncGsqrXvwhORvh",
    "1iq98xLVnrFMNWbFu3pCKy8NdVxd39ypxBZHmYqCUp/hlOcYYWZutAduCwao3v4jD2/K2LBrB9EMpP0eqFCR3hTLwIEvsXaUbFPI",
    "NiIAkxwerocLDOkvwCpNbCMwtA==",
];

const CLIENT_ID: &str = "casebook-wiki";
/// With characters that client_secret_basic must form-encode.
const CLIENT_SECRET: &str = "s3cr+t/with:colon";

/// What the provider puts in its next ID token, and how it behaves.
#[derive(Clone)]
struct Behaviour {
    down: bool,
    token_down: bool,
    sub: String,
    email: Option<String>,
    email_verified: bool,
    preferred_username: Option<String>,
    /// The `groups` claim, when sent.
    groups: Option<Value>,
    alg: &'static str,
    aud: Value,
    iss: Option<String>,
    nonce: Option<String>,
    exp_in: i64,
    bad_signature: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            down: false,
            token_down: false,
            sub: "sub-ann".into(),
            email: Some("ann@corp.example".into()),
            email_verified: false,
            preferred_username: Some("ann".into()),
            groups: None,
            alg: "RS256",
            aud: json!(CLIENT_ID),
            iss: None,
            nonce: None,
            exp_in: 300,
            bad_signature: false,
        }
    }
}

struct Granted {
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

struct Idp {
    issuer: String,
    rsa: RsaKeyPair,
    ec: EcdsaKeyPair,
    behaviour: Mutex<Behaviour>,
    codes: Mutex<HashMap<String, Granted>>,
    /// What the token endpoint refused, for the test to look at.
    refusals: Mutex<Vec<String>>,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

impl Idp {
    fn behave(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().unwrap());
    }

    fn jwks(&self) -> Value {
        let rsa = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(self.rsa.public());
        let ec = self.ec.public_key().as_ref();
        json!({"keys": [
            {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
             "n": URL_SAFE_NO_PAD.encode(&rsa.n), "e": URL_SAFE_NO_PAD.encode(&rsa.e)},
            {"kty": "EC", "kid": "ec-1", "use": "sig", "crv": "P-256",
             "x": URL_SAFE_NO_PAD.encode(&ec[1..33]), "y": URL_SAFE_NO_PAD.encode(&ec[33..])},
        ]})
    }

    fn id_token(&self, b: &Behaviour, nonce: &str) -> String {
        let mut claims = json!({
            "iss": b.iss.clone().unwrap_or_else(|| self.issuer.clone()),
            "sub": b.sub, "aud": b.aud,
            "nonce": b.nonce.clone().unwrap_or_else(|| nonce.to_string()),
            "iat": now(), "exp": now() + b.exp_in,
            "email_verified": b.email_verified,
        });
        if let Some(e) = &b.email {
            claims["email"] = json!(e);
        }
        if let Some(p) = &b.preferred_username {
            claims["preferred_username"] = json!(p);
        }
        if let Some(g) = &b.groups {
            claims["groups"] = g.clone();
        }
        let kid = if b.alg == "ES256" { "ec-1" } else { "rsa-1" };
        let header = json!({"alg": b.alg, "kid": kid, "typ": "JWT"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let rng = SystemRandom::new();
        let mut sig = match b.alg {
            "RS256" => {
                let mut sig = vec![0; self.rsa.public().modulus_len()];
                self.rsa
                    .sign(&signature::RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig)
                    .unwrap();
                sig
            }
            "ES256" => self.ec.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
            _ => Vec::new(),
        };
        if b.bad_signature {
            let last = sig.len() - 1;
            sig[last] ^= 1;
        }
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

async fn discovery(State(idp): State<Arc<Idp>>) -> Response {
    if idp.behaviour.lock().unwrap().down {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down for maintenance").into_response();
    }
    Json(json!({
        "issuer": idp.issuer,
        "authorization_endpoint": format!("{}/authorize", idp.issuer),
        "token_endpoint": format!("{}/token", idp.issuer),
        "jwks_uri": format!("{}/jwks", idp.issuer),
        "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }))
    .into_response()
}

async fn jwks(State(idp): State<Arc<Idp>>) -> Json<Value> {
    Json(idp.jwks())
}

async fn authorize(
    State(idp): State<Arc<Idp>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID
        || get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || !get("scope").split(' ').any(|s| s == "openid")
        || get("state").is_empty()
        || get("nonce").is_empty()
    {
        return (StatusCode::BAD_REQUEST, format!("bad authorization request {q:?}"))
            .into_response();
    }
    let code = casebook_accounts::new_secret();
    idp.codes.lock().unwrap().insert(
        code.clone(),
        Granted {
            nonce: get("nonce"),
            challenge: get("code_challenge"),
            redirect_uri: get("redirect_uri"),
        },
    );
    let back = format!(
        "{}?code={code}&state={}",
        get("redirect_uri"),
        form_urlencoded::byte_serialize(get("state").as_bytes()).collect::<String>()
    );
    Redirect::to(&back).into_response()
}

async fn token(
    State(idp): State<Arc<Idp>>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let refuse = |why: String| {
        idp.refusals.lock().unwrap().push(why.clone());
        (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant", "error_description": why})))
            .into_response()
    };
    let b = idp.behaviour.lock().unwrap().clone();
    if b.token_down {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok())
        .unwrap_or_default();
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    if basic != format!("{}:{}", enc(CLIENT_ID), enc(CLIENT_SECRET)) {
        return refuse(format!("wrong client credentials {basic:?}"));
    }
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    if get("grant_type") != "authorization_code" {
        return refuse("wrong grant type".into());
    }
    let Some(granted) = idp.codes.lock().unwrap().remove(&get("code")) else {
        return refuse("unknown or used code".into());
    };
    if granted.redirect_uri != get("redirect_uri") {
        return refuse("redirect_uri differs".into());
    }
    let verifier = get("code_verifier");
    let challenge =
        URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()));
    if verifier.len() < 43 || challenge != granted.challenge {
        return refuse("PKCE verifier does not match".into());
    }
    Json(json!({
        "access_token": "not-used",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": idp.id_token(&b, &granted.nonce),
    }))
    .into_response()
}

async fn start_idp() -> Arc<Idp> {
    let (listener, issuer) = listen().await;
    let pkcs8 = STANDARD.decode(TEST_RSA_PKCS8.concat()).unwrap();
    let rng = SystemRandom::new();
    let ec_pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let idp = Arc::new(Idp {
        issuer,
        rsa: RsaKeyPair::from_pkcs8(&pkcs8).unwrap(),
        ec: EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            ec_pkcs8.as_ref(),
            &rng,
        )
        .unwrap(),
        behaviour: Mutex::new(Behaviour::default()),
        codes: Mutex::new(HashMap::new()),
        refusals: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/jwks", get(jwks))
        .with_state(idp.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    idp
}

/// A wiki served on 127.0.0.1:0, signing people on with the provider at `issuer`.
struct Wiki {
    app: App,
    base: String,
}

async fn start_wiki(issuer: &str) -> Wiki {
    start_wiki_admitting(issuer, &[], None).await
}

/// A wiki whose single sign-on admits only verified addresses at `domains` (when any) and
/// members of `group` (when set).
async fn start_wiki_admitting(issuer: &str, domains: &[&str], group: Option<&str>) -> Wiki {
    let (listener, base) = listen().await;
    let opts = ServerOptions {
        public_url: Some(base.clone()),
        oidc: Some(OidcOptions {
            allowed_domains: domains.iter().map(|d| d.to_string()).collect(),
            required_group: group.map(str::to_string),
            ..OidcOptions::new(issuer, CLIENT_ID, CLIENT_SECRET, "Corp ID", Role::Editor)
        }),
        ..ServerOptions::default()
    };
    let app = tokio::task::spawn_blocking(move || App::with_accounts_and(opts)).await.unwrap();
    app.serve(listener);
    Wiki { app, base }
}

/// A browser: follows nothing by itself, keeps the wiki's cookies.
struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

struct Page {
    status: StatusCode,
    location: String,
    set_cookies: Vec<String>,
    body: String,
}

impl Page {
    fn sets_session(&self) -> bool {
        self.set_cookies
            .iter()
            .any(|c| c.starts_with("casebook_session=") && !c.starts_with("casebook_session=;"))
    }
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    async fn get(&mut self, url: &str) -> Page {
        let mut req = self.http.get(url);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header(header::COOKIE, jar.join("; "));
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let body = resp.text().await.unwrap();
        Page { status, location, set_cookies, body }
    }
}

impl Wiki {
    fn accounts(&self) -> &Accounts {
        self.app.accounts()
    }

    /// Everyone's sessions, counted.
    fn sessions(&self) -> usize {
        let users = self.accounts().users().unwrap();
        users.iter().map(|u| self.accounts().session_count(&u.name).unwrap()).sum()
    }

    /// An account with a password, made by an administrator before anyone signed on.
    fn add_user(&self, name: &str, email: &str, role: Role) {
        self.accounts().add_user(name, email, role, PW).unwrap();
    }

    /// The account linked to the provider's `sub`, if any.
    fn linked(&self, issuer: &str, sub: &str) -> Option<User> {
        self.accounts().identity_user(issuer, sub).unwrap()
    }

    /// Starts a sign-on in `b` and lets the provider answer: the callback URL it sends back.
    async fn to_provider_and_back(&self, b: &mut Browser, next: &str) -> String {
        let start = b.get(&format!("{}/login/oidc?next={next}", self.base)).await;
        assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
        assert!(
            start.set_cookies.iter().any(|c| c.starts_with("casebook_oidc=")
                && c.contains("HttpOnly")
                && c.contains("Max-Age=600")),
            "{:?}",
            start.set_cookies
        );
        let at_idp = b.get(&start.location).await;
        assert_eq!(at_idp.status, StatusCode::SEE_OTHER, "{}", at_idp.body);
        assert!(
            at_idp.location.starts_with(&format!("{}/login/oidc/callback?", self.base)),
            "{}",
            at_idp.location
        );
        at_idp.location
    }

    /// A whole sign-on in `b`: the wiki's last answer.
    async fn sign_on(&self, b: &mut Browser) -> Page {
        let back = self.to_provider_and_back(b, "/wiki/Home").await;
        b.get(&back).await
    }

    async fn account_page(&self, b: &mut Browser) -> Page {
        b.get(&format!("{}/account", self.base)).await
    }
}

fn expect_signed_in(p: &Page) {
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location, "/wiki/Home");
    assert!(p.sets_session(), "{:?}", p.set_cookies);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_on_creates_reuses_and_links_accounts() {
    let idp = start_idp().await;
    let wiki = start_wiki(&idp.issuer).await;

    // The sign-in page offers the provider beside the password form.
    let mut ann = Browser::new();
    let login = ann.get(&format!("{}/login?next=/wiki/Home", wiki.base)).await;
    assert!(login.body.contains("Sign in with Corp ID"), "{}", login.body);
    assert!(login.body.contains("href=\"/login/oidc?next=&#x2f;wiki&#x2f;Home\""));
    assert!(login.body.contains("name=\"password\""));

    // The authorization request carries state, nonce and an S256 challenge.
    let start = ann.get(&format!("{}/login/oidc", wiki.base)).await;
    for part in [
        "response_type=code",
        "code_challenge_method=S256",
        "code_challenge=",
        "state=",
        "nonce=",
        "scope=openid+email+profile",
    ] {
        assert!(start.location.contains(part), "{part}: {}", start.location);
    }
    let redirect = format!(
        "redirect_uri={}",
        form_urlencoded::byte_serialize(format!("{}/login/oidc/callback", wiki.base).as_bytes())
            .collect::<String>()
    );
    assert!(start.location.contains(&redirect), "{}", start.location);

    // First sign-on: a new account with the configured role, and a session.
    let users_before = wiki.accounts().users().unwrap().len();
    let done = wiki.sign_on(&mut ann).await;
    expect_signed_in(&done);
    let user = wiki.linked(&idp.issuer, "sub-ann").unwrap();
    assert_eq!((user.name.as_str(), user.role), ("ann", Role::Editor));
    assert_eq!(user.email, "ann@corp.example");
    assert_eq!(wiki.accounts().users().unwrap().len(), users_before + 1);
    let account = wiki.account_page(&mut ann).await;
    assert_eq!(account.status, StatusCode::OK, "{}", account.body);
    assert!(account.body.contains("You can sign in through Corp ID"));
    assert!(account.body.contains("has no password"));
    assert!(!account.body.contains("name=\"current\""));
    assert!(idp.refusals.lock().unwrap().is_empty());

    // Second sign-on, from another browser: the same account.
    let mut ann2 = Browser::new();
    expect_signed_in(&wiki.sign_on(&mut ann2).await);
    assert_eq!(wiki.accounts().users().unwrap().len(), users_before + 1);
    assert_eq!(wiki.accounts().session_count("ann").unwrap(), 2);
    assert!(wiki.account_page(&mut ann2).await.body.contains(">ann<"));

    // An existing account whose e-mail the provider verified is linked, whatever the name.
    wiki.add_user("bob", "bob@corp.example", Role::Reader);
    idp.behave(|b| {
        b.sub = "sub-bob".into();
        b.email = Some("Bob@Corp.example".into());
        b.email_verified = true;
        b.preferred_username = Some("robert".into());
        b.alg = "ES256";
    });
    let mut bob = Browser::new();
    expect_signed_in(&wiki.sign_on(&mut bob).await);
    let linked = wiki.linked(&idp.issuer, "sub-bob").unwrap();
    assert_eq!((linked.name.as_str(), linked.role), ("bob", Role::Reader));
    let page = wiki.account_page(&mut bob).await;
    assert!(page.body.contains(">bob<") && page.body.contains("name=\"current\""));

    // The same e-mail unverified is not enough: a new account, the old one untouched.
    wiki.add_user("carol", "carol@corp.example", Role::Reader);
    idp.behave(|b| {
        b.sub = "sub-carol".into();
        b.email = Some("carol@corp.example".into());
        b.email_verified = false;
        b.preferred_username = Some("carol".into());
        b.alg = "RS256";
    });
    let mut mallory = Browser::new();
    expect_signed_in(&wiki.sign_on(&mut mallory).await);
    let made = wiki.linked(&idp.issuer, "sub-carol").unwrap();
    assert_eq!(made.name, "carol-2");
    assert!(wiki.accounts().identities("carol").unwrap().is_empty());
    assert_eq!(wiki.accounts().session_count("carol").unwrap(), 0);

    // Removing an account removes its link: the next sign-on makes a new account.
    wiki.accounts().remove_user("carol-2").unwrap();
    assert!(wiki.linked(&idp.issuer, "sub-carol").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_replayed_and_bad_sign_ons_are_refused() {
    let idp = start_idp().await;
    let wiki = start_wiki(&idp.issuer).await;

    // A state nobody issued.
    let mut b = Browser::new();
    let back = wiki.to_provider_and_back(&mut b, "/").await;
    let forged = back.replace("state=", "state=0").to_string();
    let p = b.get(&forged).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("expired or was finished already"), "{}", p.body);
    assert!(!p.sets_session());

    // A state carried to another browser is refused there, and still works where it began.
    let mut other = Browser::new();
    let p = other.get(&back).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("started in another browser"), "{}", p.body);
    assert!(!p.sets_session());
    // Even with a binding cookie of its own.
    let _ = wiki.to_provider_and_back(&mut other, "/").await;
    let p = other.get(&back).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(wiki.sessions(), 0);
    let p = b.get(&back).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(p.sets_session());
    assert_eq!(wiki.sessions(), 1);

    // The same answer replayed: refused, no second session.
    let p = b.get(&back).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("expired or was finished already"));
    assert!(!p.sets_session());
    assert_eq!(wiki.sessions(), 1);

    // ID tokens that must not be trusted.
    type Spoil = fn(&mut Behaviour);
    let cases: [(&str, Spoil, &str); 7] = [
        ("wrong nonce", |b| b.nonce = Some("someone-elses".into()), "nonce"),
        ("wrong audience", |b| b.aud = json!("another-app"), "another client"),
        ("expired", |b| b.exp_in = -3600, "expired"),
        ("bad signature", |b| b.bad_signature = true, "signature does not verify"),
        ("alg none", |b| b.alg = "none", "not signed"),
        ("wrong issuer", |b| b.iss = Some("http://127.0.0.1:1".into()), "issued by"),
        ("several audiences without azp", |b| b.aud = json!([CLIENT_ID, "another-app"]), "azp"),
    ];
    for (what, spoil, says) in cases {
        idp.behave(|b| {
            *b = Behaviour { sub: format!("sub-{what}"), ..Behaviour::default() };
            spoil(b);
        });
        let users = wiki.accounts().users().unwrap().len();
        let mut b = Browser::new();
        let p = wiki.sign_on(&mut b).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{what}: {}", p.body);
        assert!(p.body.contains("single sign-on failed"), "{what}: {}", p.body);
        assert!(p.body.contains(says), "{what}: {}", p.body);
        assert!(!p.sets_session(), "{what}");
        assert_eq!(wiki.accounts().users().unwrap().len(), users, "{what}");
        assert_eq!(wiki.sessions(), 1, "{what}");
        assert_eq!(wiki.account_page(&mut b).await.status, StatusCode::UNAUTHORIZED);
    }

    // The provider refusing the person, or the code, is a clear page too.
    idp.behave(|b| *b = Behaviour::default());
    let mut b = Browser::new();
    let back = wiki.to_provider_and_back(&mut b, "/").await;
    let code = back.split("code=").nth(1).unwrap().split('&').next().unwrap();
    let p = b.get(&back.replace(code, "not-a-code")).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.body.contains("refused to complete the sign-in"), "{}", p.body);
    let back = wiki.to_provider_and_back(&mut b, "/").await;
    let state = back.split("state=").nth(1).unwrap().split('&').next().unwrap();
    let p = b
        .get(&format!(
            "{}/login/oidc/callback?state={state}&error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E",
            wiki.base
        ))
        .await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(
        p.body.contains("did not sign you in: access_denied &lt;b&gt;no&lt;&#x2f;b&gt;"),
        "{}",
        p.body
    );
    assert!(!p.sets_session());

    // Only a path on this wiki is a place to return to: not another site, nor anything a
    // browser would turn into one (a tab or newline dropped, a backslash read as a slash).
    for next in [
        "https%3A%2F%2Fevil.example%2F",
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%5Cevil.example",
        "%2F%2Fevil.example",
        "%20/wiki/Home",
    ] {
        let back = wiki.to_provider_and_back(&mut b, next).await;
        let p = b.get(&back).await;
        assert_eq!((p.status, p.location.as_str()), (StatusCode::SEE_OTHER, "/"), "{next}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_verified_addresses_at_the_listed_domains_in_the_group_are_admitted() {
    let idp = start_idp().await;
    let wiki = start_wiki_admitting(&idp.issuer, &["corp.example"], Some("sales")).await;
    // An account of the listed domain made before, which an unverified claim must not reach.
    wiki.add_user("carol", "carol@corp.example", Role::Admin);

    type Spoil = fn(&mut Behaviour);
    let refused: [(&str, Spoil, &str); 8] = [
        (
            "outside the listed domains",
            |b| b.email = Some("eve@evil.example".into()),
            "not eve@evil.example",
        ),
        (
            "a domain that only ends like a listed one",
            |b| b.email = Some("eve@evilcorp.example".into()),
            "not eve@evilcorp.example",
        ),
        (
            "a listed domain inside another",
            |b| b.email = Some("eve@corp.example.evil.example".into()),
            "not eve@corp.example.evil.example",
        ),
        (
            "unverified",
            |b| b.email_verified = false,
            "has not verified that ann@corp.example is yours",
        ),
        (
            "unverified, claiming an existing account's address",
            |b| {
                b.email = Some("carol@corp.example".into());
                b.email_verified = false;
            },
            "has not verified",
        ),
        ("no e-mail", |b| b.email = None, "no valid e-mail address"),
        (
            "not in the group",
            |b| b.groups = Some(json!(["support", "Sales"])),
            "members of the group &#x27;sales&#x27;",
        ),
        ("no groups claim", |b| b.groups = None, "members of the group &#x27;sales&#x27;"),
    ];
    for (what, spoil, says) in refused {
        idp.behave(|b| {
            *b = Behaviour {
                sub: format!("sub-{what}"),
                email_verified: true,
                groups: Some(json!(["sales"])),
                ..Behaviour::default()
            };
            spoil(b);
        });
        let users = wiki.accounts().users().unwrap().len();
        let mut b = Browser::new();
        let p = wiki.sign_on(&mut b).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{what}: {}", p.body);
        assert!(p.body.contains("this wiki admits"), "{what}: {}", p.body);
        assert!(p.body.contains(says), "{what}: {}", p.body);
        assert!(!p.sets_session(), "{what}");
        assert_eq!(wiki.accounts().users().unwrap().len(), users, "{what}");
        assert!(wiki.linked(&idp.issuer, &format!("sub-{what}")).is_none(), "{what}");
        assert_eq!(wiki.sessions(), 0, "{what}");
    }
    assert!(wiki.accounts().identities("carol").unwrap().is_empty());

    // The right person: a verified address at the domain (case aside), in the group.
    idp.behave(|b| {
        *b = Behaviour {
            sub: "sub-ann".into(),
            email: Some("Ann@Corp.Example".into()),
            email_verified: true,
            groups: Some(json!(["support", "sales"])),
            ..Behaviour::default()
        };
    });
    let mut ann = Browser::new();
    expect_signed_in(&wiki.sign_on(&mut ann).await);
    let user = wiki.linked(&idp.issuer, "sub-ann").unwrap();
    assert_eq!((user.name.as_str(), user.role), ("ann", Role::Editor));

    // Leaving the group shuts the door on the existing account too.
    idp.behave(|b| b.groups = Some(json!(["support"])));
    let mut again = Browser::new();
    let p = wiki.sign_on(&mut again).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    assert!(!p.sets_session());
    assert_eq!(wiki.accounts().session_count("ann").unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_gives_an_error_page_and_is_tried_again() {
    let idp = start_idp().await;
    let wiki = start_wiki(&idp.issuer).await;
    let mut b = Browser::new();

    idp.behave(|b| b.down = true);
    let p = b.get(&format!("{}/login/oidc", wiki.base)).await;
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(p.body.contains("sign-on provider answered 500"), "{}", p.body);

    // Back up: the next attempt fetches the discovery document again.
    idp.behave(|b| b.down = false);
    expect_signed_in(&wiki.sign_on(&mut b).await);

    // A token endpoint that fails mid-way: an error page, no session.
    idp.behave(|b| b.token_down = true);
    let mut c = Browser::new();
    let p = wiki.sign_on(&mut c).await;
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE, "{}", p.body);
    assert!(p.body.contains("failed at its token endpoint"), "{}", p.body);
    assert!(!p.sets_session());

    // A provider nobody answers for.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let nowhere = start_wiki(&dead).await;
    let p = b.get(&format!("{}/login/oidc", nowhere.base)).await;
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(p.body.contains("cannot be reached"), "{}", p.body);
    assert!(nowhere.accounts().users().unwrap().is_empty());
}
