//! Finding things: search, recent changes, tags and the special lists (wanted and orphaned
//! pages) as pages (`web`), and search, suggestions and changes as JSON (`api`).

mod api;
mod web;

use crate::AppState;
use axum::Router;
use axum::routing::get;

/// The pages that find things.
pub(crate) fn web_routes() -> Router<AppState> {
    Router::new()
        .route("/search", get(web::search))
        .route("/changes", get(web::changes))
        .route("/tags", get(web::tags))
        .route("/tags/{tag}", get(web::tag_page))
        .route("/special/{list}", get(web::special))
}

/// Search, suggestions and changes as JSON, under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    api::routes()
}
