//! Pages: reading them (`read`), changing them through the editor's forms (`edit`), and the
//! same for scripts as JSON (`api`).

mod api;
mod edit;
mod fields;
mod read;

use crate::AppState;
use axum::Router;
use axum::routing::{get, post};

/// The pages people read and edit.
pub(crate) fn web_routes() -> Router<AppState> {
    Router::new()
        .route("/wiki/{*path}", get(read::view))
        .route("/edit/{*path}", get(edit::edit_form).post(edit::edit_save))
        .route("/preview/{*path}", post(edit::preview))
        .route("/history/{*path}", get(read::history))
        .route("/diff/{*path}", get(read::diff))
        .route("/revert/{*path}", post(edit::revert))
        .route("/delete/{*path}", get(edit::delete_form).post(edit::delete))
        .route("/move/{*path}", get(edit::move_form).post(edit::move_page))
        .route("/new", get(edit::new_page))
        .route("/browse", get(read::browse_root))
}

/// The JSON API for pages, under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    api::routes()
}
