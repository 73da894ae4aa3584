//! A small WebDriver client for the browser tests: Debian's `chromedriver` driving a real
//! headless Chromium, spoken to over HTTP as the W3C WebDriver protocol says. Only what the
//! tests use: open a page, find elements, click, type, run a script, read the page, screenshot.
//!
//! Without Chromium or its driver, [`Browser::start`] answers `None` after printing why, so
//! the test can pass as skipped, unless `CASEBOOK_REQUIRE_BROWSER=1` (CI), where it panics.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Control key, as WebDriver's key actions spell it; `NULL` releases held modifiers.
pub const CONTROL: &str = "\u{E009}";
pub const NULL: &str = "\u{E000}";
pub const ENTER: &str = "\u{E007}";
pub const ARROW_DOWN: &str = "\u{E015}";

/// How long a wait for the page may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(15);

/// One headless Chromium, driven by its own chromedriver, closed on drop.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
    _profile: tempfile::TempDir,
}

fn find(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

/// Whether a missing browser fails the test (CI) rather than skipping it.
fn required() -> bool {
    std::env::var("CASEBOOK_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// A free port on the loopback interface, for chromedriver to listen on.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium `width`×`height` pixels in `scheme` (light
    /// or dark), or says why it cannot.
    pub async fn start(width: u32, height: u32, scheme: &str) -> Option<Browser> {
        let chromium = find("CASEBOOK_CHROMIUM", &["chromium", "chromium-browser"]);
        let driver = find("CASEBOOK_CHROMEDRIVER", &["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            let why =
                "skipped: chromium and chromedriver (Debian: chromium-driver) are not installed";
            assert!(!required(), "CASEBOOK_REQUIRE_BROWSER=1 but {why}");
            eprintln!("{why}");
            return None;
        };
        let port = free_port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(started.elapsed() < PATIENCE, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "unhandledPromptBehavior": "accept",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-sync",
                    "--disable-component-update", "--hide-scrollbars",
                    // No smooth scrolling: a click lands where the element is, not where it
                    // is still scrolling to.
                    "--force-prefers-reduced-motion",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--blink-settings=preferredColorScheme={}", if scheme == "dark" { 0 } else { 1 }),
                ],
            },
        }}});
        let resp: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver made no session: {resp}"))
            .to_string();
        Some(Browser {
            driver: child,
            http,
            session: format!("{base}/session/{id}"),
            _profile: profile,
        })
    }

    /// Ends the session (and with it Chromium) and the driver.
    pub async fn quit(self) {
        let _ = self.http.delete(&self.session).send().await;
    }

    /// Opens `url` with the theme set to `scheme` (`light` or `dark`), as a reader who chose it
    /// with the theme button would have it.
    pub async fn open_in(&self, url: &str, scheme: &str) {
        self.open(url).await;
        self.run("localStorage.setItem('casebook-theme', arguments[0])", json!([scheme])).await;
        self.open(url).await;
    }

    /// One WebDriver command: its value, or the driver's error as `error: message`.
    async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.session);
        let mut req = self.http.request(method, &url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp: Value = req.send().await.unwrap().json().await.unwrap();
        match resp["value"]["error"].as_str() {
            Some(err) => Err(format!("{err}: {}", resp["value"]["message"])),
            None => Ok(resp["value"].clone()),
        }
    }

    /// One WebDriver command; an error fails the test.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body).await.unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
    }

    /// Opens `url` and waits for it to load.
    pub async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    /// The address the browser shows.
    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap().to_string()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and answers what it returns.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.execute("sync", script, args).await
    }

    /// Runs `script`, which calls `arguments[arguments.length - 1]` with its answer when done.
    pub async fn run_async(&self, script: &str, args: Value) -> Value {
        self.execute("async", script, args).await
    }

    async fn execute(&self, how: &str, script: &str, args: Value) -> Value {
        let body = json!({"script": script, "args": args});
        self.call(reqwest::Method::POST, &format!("/execute/{how}"), Some(body)).await
    }

    /// Waits until `script` returns something truthy, and answers it; fails the test past the
    /// patience, saying `what`.
    pub async fn wait_for(&self, what: &str, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let v = self.run(script, json!([])).await;
            let truthy = match &v {
                Value::Null | Value::Bool(false) => false,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return v;
            }
            assert!(started.elapsed() < PATIENCE, "waited {PATIENCE:?} for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The WebDriver id of the first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> String {
        let started = Instant::now();
        let query = json!({"using": "css selector", "value": css});
        loop {
            let found = self.try_call(reqwest::Method::POST, "/element", Some(query.clone())).await;
            if let Ok(Value::Object(element)) = found
                && let Some(id) = element.values().next().and_then(Value::as_str)
            {
                return id.to_string();
            }
            assert!(started.elapsed() < PATIENCE, "no element {css}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    /// Types `text` into the element `css` as keystrokes (WebDriver key codes allowed).
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Empties the input or textarea `css`, as selecting all and deleting would.
    pub async fn clear(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({}))).await;
    }

    /// Types `text` (plain characters) into whatever has the focus, at its caret or over its
    /// selection, as a keyboard would (`type_into` moves the caret to the end first).
    pub async fn keys(&self, text: &str) {
        let strokes: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                let c = c.to_string();
                [json!({"type": "keyDown", "value": c}), json!({"type": "keyUp", "value": c})]
            })
            .collect();
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": strokes}]});
        self.call(reqwest::Method::POST, "/actions", Some(actions)).await;
    }

    /// The page's HTML as the browser has it now.
    pub async fn html(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None).await.as_str().unwrap_or("").to_string()
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64_decode(b64.as_str().unwrap_or(""))
    }

    /// Saves a screenshot and the page's HTML for a failed test, and says where.
    pub async fn save_failure(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-failures");
        std::fs::create_dir_all(&dir).unwrap();
        let png = dir.join(format!("{name}.png"));
        let html = dir.join(format!("{name}.html"));
        std::fs::write(&png, self.screenshot().await).unwrap();
        std::fs::write(&html, self.html().await).unwrap();
        eprintln!("the failed page: {} and {}", png.display(), html.display());
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing the session ends Chromium; ending the driver ends whatever is left.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64, as WebDriver sends screenshots.
fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in s.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
