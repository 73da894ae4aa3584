//! The site itself: the home page, the page for an address that has none, the health check and
//! the theme's static files, and the helper every room renders its pages with.

use crate::http::WebResult;
use crate::http::encode;
use crate::permission::Reader;
use crate::views;
use crate::{Actor, AppState, PageError};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use casebook_core::{Error, FolderPath, PagePath};
use minijinja::context;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/cases", get(crate::cases::browse))
        .fallback(fallback)
}

/// Routes that answer the same to everyone, and so need no actor (nor its reads of the
/// accounts database): the health check and the theme's static files.
pub(crate) fn public_routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/static/{*file}", get(static_file))
}

impl AppState {
    /// Renders a page template (200 OK) with what every page needs (the site's name, whether the
    /// visitor may edit) added to `ctx`.
    pub(crate) fn page(&self, template: &str, actor: &Actor, ctx: minijinja::Value) -> Response {
        let ctx = context! {
            site => self.opts.site_name,
            can_edit => actor.can_edit(),
            accounts => self.opts.accounts.is_some(),
            me => actor.account.as_ref().map(|a| context! {
                name => a.name, admin => a.role == crate::Role::Admin, csrf => a.csrf,
                unread => crate::notify::unread(self, actor),
            }),
            ..ctx
        };
        let html = self.theme.render(template, ctx);
        Html(html).into_response()
    }
}

async fn healthz(State(st): State<AppState>) -> Response {
    match st.run(move |engine| engine.health()).await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("unavailable: {}\n", e.message))
            .into_response(),
    }
}

async fn fallback() -> PageError {
    PageError(Error::not_found("there is nothing at this address"))
}

async fn home(State(st): State<AppState>, Reader(actor): Reader) -> WebResult {
    let (home, changes) = st
        .read(&actor, move |engine, scope| {
            let home = PagePath::parse("Home")
                .ok()
                .filter(|p| scope.sees(p.as_str()))
                .and_then(|p| engine.page(&p, None, scope).ok());
            Ok((home, engine.changes(12, 0, scope)?))
        })
        .await?;
    let listing = st.engine.listing(&FolderPath::root(), &actor.scope);
    Ok(st.page(
        "home.html",
        &actor,
        context! {
            title => home.as_ref().map(|p| p.title.clone()).unwrap_or_else(|| st.opts.site_name.clone()),
            html => home.as_ref().map(|p| p.rendered.html.clone()),
            changes => views::changes(&changes),
            folders => listing.folders,
            page_count => st.engine.page_count(&actor.scope),
            helpful => crate::notify::top_case_stories(&st, &actor, 5).into_iter().map(|(path, title, count)| context! {
                url => encode(&path), title, count,
            }).collect::<Vec<_>>(),
        },
    ))
}

async fn static_file(State(st): State<AppState>, Path(file): Path<String>) -> Response {
    match st.theme.static_file(&file) {
        Some((data, ct)) => {
            let mut resp = (StatusCode::OK, data.into_owned()).into_response();
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
            resp
        }
        None => (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    }
}
