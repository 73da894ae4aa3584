//! The one harness of the server's tests: an app over a fresh wiki in a temp dir driven through
//! the real router (or served on 127.0.0.1:0), requests built the way browsers and scripts send
//! them, a signed-in person carrying a session cookie and its CSRF token, the real git CLI on the
//! app's repository, and a mail sink that records what the server sends.
//!
//! Each test binary uses only part of it.
#![allow(dead_code)]

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use casebook_engine::{Engine, Options};
use casebook_server::{Access, Accounts, AppState, Role, ServerOptions, router};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tower::ServiceExt;

/// The password of every account the tests make.
pub const PW: &str = "correct horse battery";

/// A wiki in a temp dir (the starter content, committed) and the state the router serves it with.
pub struct App {
    pub tmp: tempfile::TempDir,
    pub state: AppState,
    pub repo: PathBuf,
}

/// An answer, read whole.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
    /// The body as text (lossy).
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    pub fn cookie(&self) -> Option<String> {
        self.headers.get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_string())
    }

    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).map(|v| v.to_str().unwrap()).unwrap_or("")
    }
}

/// A person signed in through the form: their session cookie and the CSRF token of its pages.
pub struct SignedIn {
    pub session: String,
    pub csrf: String,
}

impl SignedIn {
    /// The hidden form field that carries the CSRF token, as the theme writes it.
    pub fn csrf_field(&self) -> String {
        format!("name=\"csrf_token\" value=\"{}\"", self.csrf)
    }
}

impl App {
    /// Visitors get `anonymous`; there are no accounts.
    pub fn new(anonymous: Access) -> App {
        App::with(visitors(anonymous))
    }

    /// No accounts, unless `opts` brings them.
    pub fn with(opts: ServerOptions) -> App {
        App::open(opts, false)
    }

    /// Visitors get `anonymous`, and people sign in to accounts kept in the data dir.
    pub fn with_accounts(anonymous: Access) -> App {
        App::with_accounts_and(visitors(anonymous))
    }

    /// `opts`, with accounts kept in the data dir.
    pub fn with_accounts_and(opts: ServerOptions) -> App {
        App::open(opts, true)
    }

    fn open(opts: ServerOptions, accounts: bool) -> App {
        App::open_with(opts, accounts, |_| {})
    }

    /// An app whose engine is opened with the options `adjust` makes of the defaults.
    pub fn open_with(
        mut opts: ServerOptions,
        accounts: bool,
        adjust: impl FnOnce(&mut Options),
    ) -> App {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("wiki.git");
        let data = tmp.path().join("data");
        let mut engine_opts = Options::new(&repo, &data);
        adjust(&mut engine_opts);
        let engine = Engine::open(engine_opts).unwrap();
        engine.wait_indexed();
        if accounts {
            opts.accounts = Some(Arc::new(Accounts::open(&data).unwrap()));
        }
        let state = AppState::new(engine, opts).unwrap();
        App { tmp, state, repo }
    }

    /// The accounts database the app was opened with.
    pub fn accounts(&self) -> &Arc<Accounts> {
        self.state.opts.accounts.as_ref().expect("an app with accounts")
    }

    /// An account `name` with the address `name@example.com` and the password [`PW`].
    pub fn user(&self, name: &str, role: Role) {
        self.accounts().add_user(name, &format!("{name}@example.com"), role, PW).unwrap();
    }

    /// One request through the real router.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        Resp { status, headers, bytes, body }
    }

    /// One request through the real router that must succeed (any 2xx).
    pub async fn send_ok(&self, req: Request<Body>) -> Resp {
        let r = self.send(req).await;
        assert!(r.status.is_success(), "{}", r.body);
        r
    }

    /// One request through the real router, as if it came from `from`.
    pub async fn send_from(&self, mut req: Request<Body>, from: SocketAddr) -> Resp {
        req.extensions_mut().insert(ConnectInfo(from));
        self.send(req).await
    }

    /// Signs in through the form (from [`addr`]`(1)`) and returns the session secret.
    pub async fn login(&self, name: &str) -> String {
        let r = self.send_from(sign_in_request(name, PW, "/wiki/Home"), addr(1)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        session_of(&r.cookie().unwrap())
    }

    /// The CSRF token the server put into the account page of this session.
    pub async fn csrf(&self, session: &str) -> String {
        let page = self.send(call("GET", "/account").session(Some(session)).empty()).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let at = page.body.find("name=\"csrf_token\" value=\"").unwrap() + 25;
        page.body[at..at + 64].to_string()
    }

    /// Signs in and reads the session's CSRF token.
    pub async fn sign_in(&self, name: &str) -> SignedIn {
        let session = self.login(name).await;
        let csrf = self.csrf(&session).await;
        SignedIn { session, csrf }
    }

    /// The real git CLI on the app's repository: its output; a failure fails the test.
    pub fn git(&self, args: &[&str]) -> String {
        let mut git = Command::new("git");
        git.arg("--git-dir").arg(&self.repo);
        run_git(git, args)
    }

    pub fn commits(&self) -> u32 {
        self.git(&["rev-list", "--count", "HEAD"]).trim().parse().unwrap()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// Clones the app's repository with the git CLI, lets `change` edit the clone, commits all
    /// of it as `author` and pushes; then lets the engine notice. Whether the engine saw a
    /// change.
    pub fn change_with_git(
        &self,
        author: (&str, &str),
        message: &str,
        change: impl FnOnce(&Path),
    ) -> bool {
        let tmp = tempfile::tempdir().unwrap();
        let clone = tmp.path().join("clone");
        git_as(
            author,
            tmp.path(),
            &["clone", "-q", self.repo.to_str().unwrap(), clone.to_str().unwrap()],
        );
        change(&clone);
        git_as(author, &clone, &["add", "-A"]);
        git_as(author, &clone, &["commit", "-q", "-m", message]);
        git_as(author, &clone, &["push", "-q", "origin", "HEAD"]);
        self.state.engine.sync().unwrap()
    }

    /// Serves the app on `listener` with the real server, until the test ends.
    pub fn serve(&self, listener: tokio::net::TcpListener) {
        tokio::spawn(casebook_server::serve(
            listener,
            self.state.clone(),
            std::future::pending::<()>(),
        ));
    }
}

/// The default options, but for what visitors may do.
pub fn visitors(anonymous: Access) -> ServerOptions {
    ServerOptions { anonymous, ..ServerOptions::default() }
}

/// The real git CLI in `dir` as `(name, email)`; a failure fails the test.
pub fn git_as(author: (&str, &str), dir: &Path, args: &[&str]) -> String {
    let mut git = Command::new("git");
    git.current_dir(dir)
        .env("GIT_AUTHOR_NAME", author.0)
        .env("GIT_AUTHOR_EMAIL", author.1)
        .env("GIT_COMMITTER_NAME", author.0)
        .env("GIT_COMMITTER_EMAIL", author.1);
    run_git(git, args)
}

/// Runs `git` with `args`: its output; a failure fails the test.
fn run_git(mut git: Command, args: &[&str]) -> String {
    let out = git.args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A listener on 127.0.0.1:0 and its base URL.
pub async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    (listener, base)
}

/// The `field` of each element of the list `v[list]`, as text.
pub fn each<'a>(v: &'a Value, list: &str, field: &str) -> Vec<&'a str> {
    let items = v[list].as_array().unwrap();
    items.iter().map(|i| i[field].as_str().unwrap()).collect()
}

/// A client's address, `127.0.0.n`.
pub fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, n], 40000))
}

/// Every byte but letters and digits percent-encoded.
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A form body, `application/x-www-form-urlencoded`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// The session secret from a `Set-Cookie` header.
pub fn session_of(set_cookie: &str) -> String {
    let first = set_cookie.split(';').next().unwrap();
    let (k, v) = first.split_once('=').unwrap();
    assert_eq!(k, "casebook_session");
    v.to_string()
}

/// The sign-in form posted with `name`, `password` and where to go next.
pub fn sign_in_request(name: &str, password: &str, next: &str) -> Request<Body> {
    call("POST", "/login").form(&[("name", name), ("password", password), ("next", next)])
}

/// A request being built: `call("POST", uri).session(..).form(..)`.
pub struct Call(axum::http::request::Builder);

pub fn call(method: &str, uri: &str) -> Call {
    Call(Request::builder().method(method).uri(uri))
}

impl Call {
    pub fn header(self, name: &str, value: impl AsRef<str>) -> Call {
        Call(self.0.header(name, value.as_ref()))
    }

    /// With `Authorization: Bearer`, when there is a token.
    pub fn token(self, token: Option<&str>) -> Call {
        match token {
            Some(t) => self.header(header::AUTHORIZATION.as_str(), format!("Bearer {t}")),
            None => self,
        }
    }

    /// With the session cookie, when there is a session.
    pub fn session(self, session: Option<&str>) -> Call {
        match session {
            Some(s) => self.header(header::COOKIE.as_str(), format!("casebook_session={s}")),
            None => self,
        }
    }

    pub fn empty(self) -> Request<Body> {
        self.0.body(Body::empty()).unwrap()
    }

    pub fn json(self, body: &Value) -> Request<Body> {
        self.header(header::CONTENT_TYPE.as_str(), "application/json")
            .0
            .body(Body::from(body.to_string()))
            .unwrap()
    }

    pub fn form(self, pairs: &[(&str, &str)]) -> Request<Body> {
        self.form_body(form(pairs))
    }

    /// A form body given whole.
    pub fn form_body(self, body: impl Into<String>) -> Request<Body> {
        self.header(header::CONTENT_TYPE.as_str(), "application/x-www-form-urlencoded")
            .0
            .body(Body::from(body.into()))
            .unwrap()
    }

    pub fn body(self, body: impl Into<Body>) -> Request<Body> {
        self.0.body(body.into()).unwrap()
    }
}

/// An SMTP sink on 127.0.0.1:0: answers every command as a relay would and hands over each
/// message's envelope recipient and data.
pub fn smtp_sink() -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut w) = conn else { return };
            let mut r = BufReader::new(w.try_clone().unwrap());
            w.write_all(b"220 sink ready\r\n").unwrap();
            let (mut rcpt, mut data, mut in_data) = (String::new(), String::new(), false);
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                let l = line.trim_end_matches(['\r', '\n']).to_string();
                line.clear();
                if in_data {
                    if l == "." {
                        in_data = false;
                        tx.send((rcpt.clone(), data.clone())).unwrap();
                        w.write_all(b"250 queued\r\n").unwrap();
                    } else {
                        data.push_str(&l);
                        data.push('\n');
                    }
                    continue;
                }
                let reply: &[u8] = match l.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
                    "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                    "RCPT" => {
                        rcpt = l[8..].to_string();
                        b"250 ok\r\n"
                    }
                    "DATA" => {
                        in_data = true;
                        b"354 go on\r\n"
                    }
                    "QUIT" => {
                        let _ = w.write_all(b"221 bye\r\n");
                        break;
                    }
                    _ => b"250 ok\r\n",
                };
                w.write_all(reply).unwrap();
            }
        }
    });
    (addr, rx)
}
