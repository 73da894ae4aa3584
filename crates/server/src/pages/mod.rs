//! Pages: reading them (`read`), changing them through the editor's forms (`edit`), the same
//! for scripts as JSON (`api`), and their attached files (`attachments`).

mod api;
mod attachments;
mod edit;
mod fields;
mod read;

use crate::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
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
        .route(
            "/attachments/{*path}",
            // The file's size is checked while it is read, against `max_attachment_bytes`.
            post(attachments::form_post).layer(DefaultBodyLimit::disable()),
        )
        .route("/new", get(edit::new_page))
        .route("/browse", get(read::browse_root))
}

/// The JSON API for pages, under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    api::routes()
}
