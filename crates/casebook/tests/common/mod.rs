//! The one harness of the binary's tests: the real server (the same `serve` the binary runs) on
//! 127.0.0.1:0 over a wiki in a temp dir, spoken to over HTTP, and the real git CLI.
//!
//! Each test binary uses only part of it.
#![allow(dead_code)]

use casebook_engine::{Engine, Options};
use casebook_server::{Access, AppState, ServerOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The real server on 127.0.0.1:0, until [`Server::stop`].
pub struct Server {
    /// `http://127.0.0.1:port`
    pub base: String,
    pub repo: PathBuf,
    pub engine: Engine,
    /// Holds the repository and the data dir; tests may work in it too.
    pub tmp: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// A new wiki (the starter content) whose visitors get `access`.
    pub async fn start(access: Access) -> Server {
        Server::start_with(access, |_| {}).await
    }

    /// A new wiki whose visitors get `access`, with options changed by `tweak`.
    pub async fn start_with(access: Access, tweak: impl FnOnce(&mut ServerOptions)) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("wiki.git");
        let mut opts = ServerOptions { anonymous: access, ..ServerOptions::default() };
        tweak(&mut opts);
        Server::start_in(tmp, repo, |_| {}, opts).await
    }

    /// The repository `repo` (made if it does not exist) with its data in `tmp`, the engine's
    /// options changed by `engine_tweak`, served with `opts`.
    pub async fn start_in(
        tmp: tempfile::TempDir,
        repo: PathBuf,
        engine_tweak: impl FnOnce(&mut Options),
        opts: ServerOptions,
    ) -> Server {
        let mut engine_opts = Options::new(&repo, tmp.path().join("data"));
        engine_tweak(&mut engine_opts);
        let engine = Engine::open(engine_opts).unwrap();
        engine.wait_indexed();
        let state = AppState::new(engine.clone(), opts).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            casebook_server::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Server { base, repo, engine, tmp, stop: Some(tx), task: Some(task) }
    }

    /// `host:port`
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The API address of the page at `path`.
    pub fn page(&self, path: &str) -> String {
        page_url(&self.base, path)
    }

    /// The real git CLI on the server's repository.
    pub fn repo_git(&self, args: &[&str]) -> String {
        git(&self.repo, args)
    }

    /// How many commits the server's branch has.
    pub fn commits(&self) -> u32 {
        self.repo_git(&["rev-list", "--count", "HEAD"]).trim().parse().unwrap()
    }

    /// Stops serving, waits for the server to end, and shuts the engine down.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap();
        self.engine.shutdown();
    }
}

/// The real git CLI in `dir` (a work tree or a bare repository): its output; a failure fails
/// the test.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out =
        Command::new("git").arg("-C").arg(dir).env_remove("GIT_DIR").args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Sends `req`: the status and the answer as JSON (a body that is not JSON as a string).
pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

/// The `field` of each element of the list `v[list]`, as text.
pub fn each<'a>(v: &'a Value, list: &str, field: &str) -> Vec<&'a str> {
    let items = v[list].as_array().unwrap();
    items.iter().map(|i| i[field].as_str().unwrap()).collect()
}

/// Every byte but letters, digits and `-_.~` percent-encoded.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A page path for a URL: each segment encoded, the slashes kept.
pub fn enc_path(p: &str) -> String {
    p.split('/').map(enc).collect::<Vec<_>>().join("/")
}

/// The API address of the page at `path` on the wiki at `base`.
pub fn page_url(base: &str, path: &str) -> String {
    format!("{base}/api/v1/pages/{}", enc_path(path))
}
