//! Discussions: the JSON API of CONTRACT.md for threads and comments, the forms on a page, and
//! the "Discussions" page of open threads.

use crate::http::ApiResult;
use crate::http::FormBody;
use crate::http::{JsonBody, encode};
use crate::permission::{Discussant, Reader};
use crate::{Actor, AppState, PageError};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use casebook_core::{Error, PagePath, ReadScope};
use casebook_engine::{Comment, Thread, ThreadStatus};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

/// Routes under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/discussions", get(api_list))
        .route("/discussions/{id}", get(api_thread).patch(api_status))
        .route("/discussions/{id}/comments", post(api_reply))
        .route("/discussions/{id}/comments/{comment}", axum::routing::put(api_edit))
}

/// Routes for people.
pub(crate) fn web_routes() -> Router<AppState> {
    Router::new()
        .route("/discussions", get(list_page))
        .route("/discussions/{id}", get(goto_thread))
        .route("/discussions/{id}/reply", post(reply_form))
        .route("/discussions/{id}/status", post(status_form))
        .route("/discussions/{id}/comments/{comment}/edit", get(edit_form).post(edit_save))
        .route("/discuss/{*path}", post(start_form))
}

/// A thread as the API answers it.
pub(crate) fn thread_json(t: &Thread) -> Value {
    json!({
        "id": t.id,
        "page": t.page,
        "url": format!("/wiki/{}#thread-{}", encode(&t.page), t.id),
        "title": t.title,
        "status": t.status,
        "author": t.author.name,
        "created": t.created,
        "updated": t.updated,
        "comments": t.comments.iter().map(comment_json).collect::<Vec<_>>(),
    })
}

fn comment_json(c: &Comment) -> Value {
    json!({
        "id": c.id,
        "author": c.author.name,
        "date": c.date,
        "edited": c.edited,
        "markdown": c.markdown,
        "html": c.html,
    })
}

/// `GET /api/v1/pages/{path}/discussions`.
pub(crate) async fn api_page_threads(st: AppState, page: PagePath, scope: ReadScope) -> ApiResult {
    let threads = st
        .run(move |engine| {
            if !engine.exists(&page, &scope) {
                return Err(Error::not_found(format!("there is no page {page}")));
            }
            engine.threads(&page, &scope)
        })
        .await?;
    Ok(Json(json!({"threads": threads.iter().map(|t| thread_json(t)).collect::<Vec<_>>()}))
        .into_response())
}

/// `POST /api/v1/pages/{path}/discussions`.
pub(crate) async fn api_start(
    st: AppState,
    actor: Actor,
    page: PagePath,
    body: StartBody,
) -> ApiResult {
    actor.require_discuss()?;
    let (author, scope) = (actor.author.clone(), actor.scope.clone());
    let t = st
        .run(move |engine| engine.start_thread(&page, &body.title, &body.body, &author, &scope))
        .await?;
    crate::notify::after(&st, &actor, crate::notify::Event::Thread(t.clone())).await;
    Ok((StatusCode::CREATED, Json(thread_json(&t))).into_response())
}

fn status_filter(raw: Option<&str>) -> casebook_core::Result<Option<ThreadStatus>> {
    match raw.map(str::trim).unwrap_or("open") {
        "all" | "" => Ok(None),
        s => s.parse().map(Some),
    }
}

async fn api_list(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Query(q): Query<ListQuery>,
) -> ApiResult {
    let status = status_filter(q.status.as_deref())?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let threads = st.run(move |engine| engine.all_threads(status, limit, &actor.scope)).await?;
    Ok(Json(json!({"threads": threads.iter().map(|t| thread_json(t)).collect::<Vec<_>>()}))
        .into_response())
}

async fn api_thread(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Path(id): Path<String>,
) -> ApiResult {
    let t = st.run(move |engine| engine.thread(&id, &actor.scope)).await?;
    Ok(Json(thread_json(&t)).into_response())
}

async fn api_status(
    State(st): State<AppState>,
    Discussant(actor): Discussant,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<StatusBody>,
) -> ApiResult {
    let status: ThreadStatus = body.status.parse()?;
    let t = st
        .run(move |engine| engine.set_thread_status(&id, status, &actor.author, &actor.scope))
        .await?;
    Ok(Json(thread_json(&t)).into_response())
}

async fn api_reply(
    State(st): State<AppState>,
    Discussant(actor): Discussant,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CommentBody>,
) -> ApiResult {
    let author = actor.author.clone();
    let (t, cid) =
        st.read(&actor, move |engine, scope| engine.reply(&id, &body.body, &author, scope)).await?;
    crate::notify::after(&st, &actor, crate::notify::Event::Reply(t.clone(), cid.clone())).await;
    let comment = t.comments.iter().find(|c| c.id == cid).map_or(Value::Null, comment_json);
    Ok((
        StatusCode::CREATED,
        Json(json!({"thread": t.id, "page": t.page, "comment": comment, "id": cid})),
    )
        .into_response())
}

async fn api_edit(
    State(st): State<AppState>,
    Discussant(actor): Discussant,
    Path((id, comment)): Path<(String, String)>,
    JsonBody(body): JsonBody<CommentBody>,
) -> ApiResult {
    let t = edit_comment(&st, &actor, id, comment, body.body).await?;
    Ok(Json(thread_json(&t)).into_response())
}

/// Changes a comment (as the engine allows: its author, or an administrator) and tells the
/// people it newly mentions. The API and the form both come here.
async fn edit_comment(
    st: &AppState,
    actor: &Actor,
    id: String,
    comment: String,
    body: String,
) -> casebook_core::Result<Arc<Thread>> {
    let (author, admin, scope) = (actor.author.clone(), actor.is_admin(), actor.scope.clone());
    let cid = comment.clone();
    let (t, before) = st
        .run(move |engine| {
            let before = engine
                .thread(&id, &scope)?
                .comments
                .iter()
                .find(|c| c.id == comment)
                .map(|c| c.mentions.clone())
                .unwrap_or_default();
            let t = engine.edit_comment(&id, &comment, &body, &author, admin, &scope)?;
            Ok((t, before))
        })
        .await?;
    let event = crate::notify::Event::CommentEdit { thread: t.clone(), comment: cid, before };
    crate::notify::after(st, actor, event).await;
    Ok(t)
}

// ----- pages for people -----

/// A thread as the templates see it.
#[derive(Debug, Serialize)]
pub(crate) struct ThreadView {
    id: String,
    title: String,
    open: bool,
    author: String,
    created: String,
    created_iso: String,
    page: String,
    page_url: String,
    pub(crate) comments: Vec<CommentView>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CommentView {
    pub(crate) id: String,
    author: String,
    date: String,
    date_iso: String,
    edited: bool,
    html: String,
    mine: bool,
    /// How many people this comment helped, and whether the viewer is one of them.
    pub(crate) helpful: usize,
    pub(crate) helped_me: bool,
}

pub(crate) fn thread_views(threads: &[Arc<Thread>], actor: &Actor) -> Vec<ThreadView> {
    threads
        .iter()
        .map(|t| ThreadView {
            id: t.id.clone(),
            title: t.title.clone(),
            open: t.status == ThreadStatus::Open,
            author: t.author.name.clone(),
            created: t.created.short(),
            created_iso: t.created.rfc3339(),
            page: t.page.clone(),
            page_url: format!("/wiki/{}", encode(&t.page)),
            comments: t
                .comments
                .iter()
                .map(|c| CommentView {
                    id: c.id.clone(),
                    author: c.author.name.clone(),
                    date: c.date.short(),
                    date_iso: c.date.rfc3339(),
                    edited: c.edited.is_some(),
                    html: c.html.clone(),
                    helpful: 0,
                    helped_me: false,
                    mine: actor.can_discuss() && actor.may_change(&c.author),
                })
                .collect(),
        })
        .collect()
}

fn thread_url(t: &Thread) -> String {
    format!("/wiki/{}#thread-{}", encode(&t.page), t.id)
}

async fn start_form(
    State(st): State<AppState>,
    Discussant(actor): Discussant,
    Path(raw): Path<String>,
    FormBody(form): FormBody<StartForm>,
) -> Result<Response, PageError> {
    let page = PagePath::parse(&raw)?;
    let body = form.body.replace("\r\n", "\n");
    let author = actor.author.clone();
    let t = st
        .read(&actor, move |engine, scope| {
            engine.start_thread(&page, &form.title, &body, &author, scope)
        })
        .await?;
    crate::notify::after(&st, &actor, crate::notify::Event::Thread(t.clone())).await;
    Ok(Redirect::to(&thread_url(&t)).into_response())
}

async fn reply_form(
    State(st): State<AppState>,
    Discussant(actor): Discussant,
    Path(id): Path<String>,
    FormBody(form): FormBody<ReplyForm>,
) -> Result<Response, PageError> {
    let body = form.body.replace("\r\n", "\n");
    let author = actor.author.clone();
    let (t, cid) =
        st.read(&actor, move |engine, scope| engine.reply(&id, &body, &author, scope)).await?;
    crate::notify::after(&st, &actor, crate::notify::Event::Reply(t.clone(), cid.clone())).await;
    Ok(Redirect::to(&format!("/wiki/{}#comment-{cid}", encode(&t.page))).into_response())
}

async fn status_form(
    State(st): State<AppState>,
    Discussant(actor): Discussant,
    Path(id): Path<String>,
    FormBody(form): FormBody<StatusForm>,
) -> Result<Response, PageError> {
    let status: ThreadStatus = form.status.parse()?;
    let t = st
        .run(move |engine| engine.set_thread_status(&id, status, &actor.author, &actor.scope))
        .await?;
    Ok(Redirect::to(&thread_url(&t)).into_response())
}

async fn edit_form(
    State(st): State<AppState>,
    Discussant(actor): Discussant,
    Path((id, comment)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let t = st.read(&actor, move |engine, scope| engine.thread(&id, scope)).await?;
    let c = t
        .comments
        .iter()
        .find(|c| c.id == comment)
        .ok_or_else(|| PageError(Error::not_found("there is no such comment")))?;
    // The same rule as the save: the form is no use to someone whose change would be refused.
    if !actor.may_change(&c.author) {
        return Err(PageError(Error::forbidden("only the author of a comment may change it")));
    }
    Ok(st.page(
        "comment_edit.html",
        &actor,
        context! {
            title => format!("Edit a comment on “{}”", t.title),
            thread => t.title,
            thread_url => thread_url(&t),
            action => format!("/discussions/{}/comments/{}/edit", t.id, c.id),
            markdown => c.markdown,
        },
    ))
}

async fn edit_save(
    State(st): State<AppState>,
    Discussant(actor): Discussant,
    Path((id, comment)): Path<(String, String)>,
    FormBody(form): FormBody<ReplyForm>,
) -> Result<Response, PageError> {
    let body = form.body.replace("\r\n", "\n");
    let cid = comment.clone();
    let t = edit_comment(&st, &actor, id, comment, body).await?;
    Ok(Redirect::to(&format!("/wiki/{}#comment-{cid}", encode(&t.page))).into_response())
}

async fn goto_thread(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let t = st.run(move |engine| engine.thread(&id, &actor.scope)).await?;
    Ok(Redirect::to(&thread_url(&t)).into_response())
}

async fn list_page(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Query(q): Query<ListPageQuery>,
) -> Result<Response, PageError> {
    let status = status_filter(q.status.as_deref())?;
    let threads =
        st.read(&actor, move |engine, scope| engine.all_threads(status, 200, scope)).await?;
    let shown = match status {
        Some(ThreadStatus::Open) => "open",
        Some(ThreadStatus::Resolved) => "resolved",
        None => "all",
    };
    Ok(st.page(
        "discussions.html",
        &actor,
        context! {
            title => "Discussions",
            shown => shown,
            threads => thread_views(&threads, &actor),
        },
    ))
}

/// Where a search hit leads: a page, or a thread on a page (`page#thread`).
pub(crate) fn hit_url(path: &str) -> String {
    match casebook_core::split_doc_id(path) {
        (page, Some(thread)) => format!("/wiki/{}#thread-{thread}", encode(page)),
        (page, None) => format!("/wiki/{}", encode(page)),
    }
}

#[derive(Deserialize)]
pub(crate) struct StartBody {
    title: String,
    body: String,
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

#[derive(Deserialize)]
struct CommentBody {
    body: String,
}

#[derive(Deserialize)]
struct StartForm {
    title: String,
    body: String,
}

#[derive(Deserialize)]
struct ReplyForm {
    body: String,
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
}

#[derive(Deserialize)]
struct ListPageQuery {
    status: Option<String>,
}
