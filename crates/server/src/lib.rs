#![doc = include_str!("../README.md")]

mod api;
mod cases;
mod discussions;
mod error;
mod feed;
mod githttp;
mod records;
mod security;
mod theme;
mod views;
mod web;

pub use error::{ApiError, PageError};
pub use theme::Theme;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use casebook_core::{Author, Error, Result};
use casebook_engine::Engine;
use serde::Deserialize;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// What a visitor who is not signed in may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    None,
    #[default]
    Read,
    Edit,
}

impl std::str::FromStr for Access {
    type Err = Error;
    fn from_str(s: &str) -> Result<Access> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Access::None),
            "read" => Ok(Access::Read),
            "edit" => Ok(Access::Edit),
            other => Err(Error::invalid(format!(
                "anonymous access must be none, read or edit, not '{other}'"
            ))),
        }
    }
}

/// The server's settings (parsed and validated by the binary).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub anonymous: Access,
    /// Who anonymous edits are attributed to.
    pub anonymous_author: Author,
    /// A folder whose files override the default theme's, file by file.
    pub theme_dir: Option<PathBuf>,
    /// The wiki's name, shown in the header and feeds.
    pub site_name: String,
    /// How often to look for commits made outside Casebook.
    pub poll_interval: Duration,
    /// Largest request body a git client may send (a push's pack), in bytes.
    pub max_push_bytes: u64,
    /// How long the git backend may go without reading or writing before it is stopped.
    pub git_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            anonymous: Access::Read,
            anonymous_author: Author::new("Anonymous", "anonymous@casebook.invalid"),
            theme_dir: None,
            site_name: "Casebook".into(),
            poll_interval: Duration::from_secs(1),
            max_push_bytes: 1 << 30,
            git_timeout: Duration::from_secs(120),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub opts: Arc<ServerOptions>,
    pub theme: Arc<Theme>,
}

/// The one acting person of a request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub author: Author,
    pub signed_in: bool,
    pub access: Access,
}

impl AppState {
    pub fn new(engine: Engine, opts: ServerOptions) -> Result<AppState> {
        let theme = Theme::load(opts.theme_dir.clone())?;
        Ok(AppState {
            engine,
            opts: Arc::new(opts),
            theme: Arc::new(theme),
        })
    }

    /// Who is asking. Until accounts exist, everyone is the anonymous visitor.
    pub(crate) fn actor(&self, _headers: &axum::http::HeaderMap) -> Actor {
        Actor {
            author: self.opts.anonymous_author.clone(),
            signed_in: false,
            access: self.opts.anonymous,
        }
    }
}

impl Actor {
    pub(crate) fn require_read(&self) -> Result<()> {
        if self.access >= Access::Read {
            Ok(())
        } else {
            Err(Error::unauthorized("sign in to read this wiki"))
        }
    }
    pub(crate) fn require_edit(&self) -> Result<()> {
        if self.access >= Access::Edit {
            Ok(())
        } else if self.signed_in {
            Err(Error::forbidden("you may read this wiki but not change it"))
        } else {
            Err(Error::unauthorized("sign in to change this wiki"))
        }
    }
    pub(crate) fn can_edit(&self) -> bool {
        self.access >= Access::Edit
    }
    /// Whether the person may start threads and comment: whoever may edit.
    pub(crate) fn can_discuss(&self) -> bool {
        self.can_edit()
    }
    pub(crate) fn require_discuss(&self) -> Result<()> {
        if self.can_discuss() {
            Ok(())
        } else if self.signed_in {
            Err(Error::forbidden(
                "you may read this wiki but not take part in discussions",
            ))
        } else {
            Err(Error::unauthorized("sign in to take part in discussions"))
        }
    }
    /// Administrators may change anyone's comments.
    pub(crate) fn is_admin(&self) -> bool {
        false
    }
}

/// Largest request body: a page at the limit plus room for JSON escaping and the other fields.
fn body_limit(engine: &Engine) -> usize {
    engine.max_page_bytes() + engine.max_page_bytes() / 8 + 64 * 1024
}

/// The whole application: pages, editor, API, feeds, static files.
pub fn router(state: AppState) -> Router {
    let limit = body_limit(&state.engine);
    Router::new()
        .merge(web::routes())
        .merge(discussions::web_routes())
        .merge(records::routes())
        .nest("/api/v1", api::routes())
        .merge(githttp::routes())
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(security::guard))
        .with_state(state)
}

/// Serves on `listener` until `shutdown` resolves; requests in flight (and their writes) are
/// finished first. Also watches the repository for commits made outside Casebook.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let engine = state.engine.clone();
    let interval = state.opts.poll_interval;
    let watcher = tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let e = engine.clone();
            match tokio::task::spawn_blocking(move || e.sync()).await {
                Ok(Ok(true)) => tracing::info!("picked up commits made outside Casebook"),
                Ok(Ok(false)) => {}
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "cannot check the repository for outside commits")
                }
                Err(_) => {}
            }
        }
    });
    let app = router(state);
    // Small answers go out at once instead of waiting on the peer's delayed ACK (40 ms).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    watcher.abort();
    result
}

/// Runs blocking engine work off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("a worker failed: {e}")))?
}
