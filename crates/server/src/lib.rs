#![doc = include_str!("../README.md")]

mod accounts;
mod auth;
mod cases;
mod csrf;
mod discussions;
mod error;
mod feed;
mod git;
mod http;
mod mail;
mod notify;
mod pages;
mod people;
mod permission;
mod records;
mod search;
mod security;
mod signon;
mod theme;
mod throttle;
mod views;
mod web;

pub use auth::SignedIn;
pub use casebook_accounts::{Accounts, Role};
pub use error::{ApiError, PageError};
pub use permission::{Access, Actor};
pub use signon::{OidcOptions, check_allowed_domain, check_provider_url, redirect_uri};
pub use theme::Theme;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use casebook_core::{Author, Error, ReadScope, Result};
use casebook_engine::Engine;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

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
    /// The accounts database; without it everyone is the anonymous visitor.
    pub accounts: Option<Arc<Accounts>>,
    /// The address people reach the wiki at (`https://…` makes the session cookie Secure).
    pub public_url: Option<String>,
    /// Behind a reverse proxy: honour `X-Forwarded-Proto` and `X-Forwarded-For`.
    pub trusted_proxy: bool,
    /// How long a sign-in lasts (an absolute limit, not renewed by use).
    pub session_ttl: Duration,
    /// Largest request body a git client may send (a push's pack), in bytes.
    pub max_push_bytes: u64,
    /// How long the git backend may go without reading or writing before it is stopped.
    pub git_timeout: Duration,
    /// An SMTP relay (`host:port`) for notification e-mails; with `smtp_from`, e-mail is sent.
    pub smtp_relay: Option<String>,
    /// The sender address of notification e-mails.
    pub smtp_from: Option<String>,
    /// Single sign-on with an OpenID Connect provider (needs `public_url`).
    pub oidc: Option<OidcOptions>,
    /// Let pages show images from other sites (`https:`); off, only the wiki's own.
    pub remote_images: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            anonymous: Access::Read,
            anonymous_author: Author::new("Anonymous", "anonymous@casebook.invalid"),
            theme_dir: None,
            site_name: "Casebook".into(),
            poll_interval: Duration::from_secs(1),
            accounts: None,
            public_url: None,
            trusted_proxy: false,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            max_push_bytes: 1 << 30,
            git_timeout: Duration::from_secs(120),
            smtp_relay: None,
            smtp_from: None,
            oidc: None,
            remote_images: false,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub opts: Arc<ServerOptions>,
    pub theme: Arc<Theme>,
    pub(crate) auth: Arc<auth::AuthState>,
    pub(crate) notices: Arc<notify::Notices>,
    pub(crate) oidc: Option<Arc<signon::Oidc>>,
    /// The hooks git runs for a push (see `git::hook`), written at start.
    pub(crate) git_hooks: Arc<PathBuf>,
}

impl AppState {
    /// Runs `f` with the engine on the blocking pool, off the async runtime.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let engine = self.engine.clone();
        blocking(move || f(&engine)).await
    }

    /// Runs `f` on the blocking pool like [`AppState::run`], with what `actor` may read.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        actor: &Actor,
        f: impl FnOnce(&Engine, &ReadScope) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let scope = actor.scope.clone();
        self.run(move |engine| f(engine, &scope)).await
    }

    pub fn new(engine: Engine, opts: ServerOptions) -> Result<AppState> {
        let theme = Theme::load(opts.theme_dir.clone())?;
        let auth = auth::AuthState::new(opts.accounts.as_deref())?;
        let notices = if opts.accounts.is_some() {
            notify::Notices::new(opts.smtp_relay.as_deref(), opts.smtp_from.as_deref())?
        } else {
            notify::Notices::default()
        };
        let oidc = match &opts.oidc {
            Some(o) if opts.accounts.is_some() => {
                Some(Arc::new(signon::Oidc::new(o.clone(), opts.public_url.as_deref())?))
            }
            Some(_) => {
                return Err(Error::invalid("single sign-on needs the accounts database"));
            }
            None => None,
        };
        let git_hooks = Arc::new(git::hook::write(engine.data_path())?);
        Ok(AppState {
            git_hooks,
            oidc,
            engine,
            opts: Arc::new(opts),
            theme: Arc::new(theme),
            auth: Arc::new(auth),
            notices: Arc::new(notices),
        })
    }

    /// While no administrator exists: the one-time link (path and query) that lets the first
    /// person create the administrator account.
    pub fn setup_link(&self) -> Option<String> {
        self.auth.setup_link()
    }
}

/// Largest request body: a page at the limit plus room for JSON escaping and the other fields.
pub(crate) fn body_limit(engine: &Engine) -> usize {
    engine.max_page_bytes() + engine.max_page_bytes() / 8 + 64 * 1024
}

/// The whole application: pages, editor, API, feeds, static files.
pub fn router(state: AppState) -> Router {
    let limit = body_limit(&state.engine);
    Router::new()
        .merge(web::routes())
        .merge(pages::web_routes())
        .merge(search::web_routes())
        .merge(discussions::web_routes())
        .merge(people::web_routes())
        .merge(notify::web_routes())
        .merge(records::routes())
        .merge(accounts::routes())
        .merge(signon::routes())
        .merge(feed::routes())
        .nest("/api/v1", api_routes())
        .merge(git::routes())
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), csrf::csrf))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::with_actor))
        .merge(web::public_routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), error::themed))
        .layer(axum::middleware::from_fn_with_state(
            security::csp(state.opts.remote_images),
            security::guard,
        ))
        .with_state(state)
}

/// The JSON API of CONTRACT.md: each room's routes under `/api/v1`.
fn api_routes() -> Router<AppState> {
    Router::new()
        .merge(pages::api_routes())
        .merge(search::api_routes())
        .merge(discussions::api_routes())
        .merge(people::api_routes())
        .merge(notify::api_routes())
        .fallback(|| async {
            ApiError(Error::not_found("there is no such API route; see /api/v1 in the README"))
        })
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
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
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
