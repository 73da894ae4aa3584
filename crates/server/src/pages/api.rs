//! The JSON API for pages (CONTRACT.md): list, read, history, diff, save, delete, move; a
//! page's attachments are found inside the same wildcard route (`attachments.rs` says how).

use super::attachments::{self, Target};
use crate::http::{ApiResult, JsonBody};
use crate::permission::{Editor, Reader};
use crate::{Actor, ApiError, AppState};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use casebook_core::{Error, FolderPath, PagePath, Revision};
use casebook_engine::{Save, SaveOutcome};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The JSON API for pages, under `/api/v1`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/pages", get(list_pages))
        .route("/pages/{*path}", get(get_page).put(put_page).delete(delete_page).post(post_page))
}

fn page_path(raw: &str) -> Result<PagePath, ApiError> {
    PagePath::parse(raw).map_err(ApiError)
}

fn revision(raw: Option<&str>) -> Result<Option<Revision>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(r) => Ok(Some(Revision::parse(r)?)),
        None => Ok(None),
    }
}

/// Splits `a/b/history` into the page `a/b` and the sub-resource, when `a/b` is a page the
/// actor may see (a hidden page is read as the page `a/b/history`, missing as any other).
fn split_sub<'a>(
    state: &AppState,
    actor: &Actor,
    raw: &'a str,
    subs: &[&'static str],
) -> (&'a str, Option<&'static str>) {
    for sub in subs {
        if let Some(prefix) = raw.strip_suffix(sub).and_then(|p| p.strip_suffix('/'))
            && let Ok(p) = PagePath::parse(prefix)
            && state.engine.exists(&p, &actor.scope)
        {
            return (prefix, Some(sub));
        }
    }
    (raw, None)
}

async fn list_pages(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Query(q): Query<ListQuery>,
) -> ApiResult {
    let folder = FolderPath::parse(q.prefix.as_deref().unwrap_or(""))?;
    let all = st.engine.list_pages(&folder, q.tag.as_deref(), &actor.scope);
    let total = all.len();
    let limit = q.limit.unwrap_or(100).clamp(1, 10_000);
    let pages: Vec<Value> = all
        .into_iter()
        .skip(q.offset.unwrap_or(0))
        .take(limit)
        .map(|p| {
            json!({
                "path": p.path,
                "title": p.title,
                "updated": p.updated,
                "tags": p.tags,
            })
        })
        .collect();
    Ok(Json(json!({"total": total, "pages": pages})).into_response())
}

async fn get_page(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Path(raw): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    match attachments::target(&st, &actor, &raw)? {
        Some(Target::List(page)) => return attachments::api_list(st, actor, page).await,
        Some(Target::One(page, name)) => return attachments::api_get(st, actor, page, name).await,
        None => {}
    }
    let (raw, sub) = split_sub(&st, &actor, &raw, &["history", "diff", "discussions"]);
    let path = page_path(raw)?;
    actor.require_sees(path.as_str())?;
    match sub {
        Some("history") => history(st, actor, path, q.limit).await,
        Some("diff") => diff(st, path, q).await,
        Some("discussions") => {
            crate::discussions::api_page_threads(st, path, actor.scope.clone()).await
        }
        _ => read_page(st, actor, path, revision(q.rev.as_deref())?).await,
    }
}

async fn read_page(st: AppState, actor: Actor, path: PagePath, rev: Option<Revision>) -> ApiResult {
    let (page, backlinks) = st
        .read(&actor, move |engine, scope| {
            let page = engine.page(&path, rev.as_ref(), scope)?;
            let backlinks = engine.backlinks(&path, scope)?;
            Ok((page, backlinks))
        })
        .await?;
    let links: Vec<Value> = page
        .rendered
        .links
        .iter()
        .map(|l| {
            // The page's own text names the link; the title is the target's, so only for
            // those who may read the target.
            let title = actor.sees(&l.path).then(|| st.engine.title_of(&l.path)).flatten();
            json!({"path": l.path, "exists": l.exists, "title": title})
        })
        .collect();
    Ok(Json(json!({
        "path": page.path,
        "title": page.title,
        "markdown": page.markdown,
        "html": page.rendered.html,
        "revision": page.revision,
        "updated": page.updated,
        "author": page.author.as_ref().map(|a| a.name.clone()),
        "front_matter": page.rendered.front_matter,
        "front_matter_error": page.rendered.front_matter_error,
        "type_warnings": st.engine.check_type(&page.rendered.front_matter).warnings,
        "tags": page.rendered.tags,
        "headings": page.rendered.headings,
        "links": links,
        "backlinks": backlinks,
    }))
    .into_response())
}

async fn history(st: AppState, actor: Actor, path: PagePath, limit: Option<usize>) -> ApiResult {
    let limit = limit.unwrap_or(100).clamp(1, 1000);
    let history = st.run(move |engine| engine.history(&path, limit, &actor.scope)).await?;
    let revisions: Vec<Value> = history
        .entries
        .into_iter()
        .map(|c| {
            json!({
                "revision": c.revision,
                "author": c.author.name,
                "email": c.author.email,
                "date": c.date,
                "message": c.summary,
                "path": c.paths.first().and_then(|f| f.strip_suffix(".md")),
            })
        })
        .collect();
    let mut body = json!({"revisions": revisions});
    if history.hidden_earlier > 0 {
        body["earlier"] = json!({
            "message": "Earlier changes, from when the page was in a folder you cannot read",
        });
    }
    Ok(Json(body).into_response())
}

async fn diff(st: AppState, path: PagePath, q: PageQuery) -> ApiResult {
    let from = revision(q.from.as_deref())?
        .ok_or_else(|| Error::invalid("give the revisions to compare as ?from=REV&to=REV"))?;
    let to = match revision(q.to.as_deref())? {
        Some(t) => t,
        None => st.engine.head().ok_or_else(|| Error::not_found("the wiki has no revisions"))?,
    };
    let (f, t) = (from.clone(), to.clone());
    let text = st.run(move |engine| engine.diff(&path, &f, &t)).await?;
    Ok(Json(json!({"from": from, "to": to, "diff": text})).into_response())
}

async fn put_page(
    State(st): State<AppState>,
    Editor(actor): Editor,
    Path(raw): Path<String>,
    req: Request,
) -> ApiResult {
    match attachments::target(&st, &actor, &raw)? {
        Some(Target::One(page, name)) => {
            return attachments::api_put(st, actor, page, name, req.into_body()).await;
        }
        Some(t) => return Err(attachments::not_here("PUT", &t)),
        None => {}
    }
    let path = page_path(&raw)?;
    actor.require_writes(path.as_str())?;
    let JsonBody(body) = JsonBody::<PutBody>::from_request(req, &st).await?;
    let base = revision(body.base_revision.as_deref())?;
    let author = actor.author.clone();
    let p = path.clone();
    let outcome = st
        .run(move |engine| {
            engine.save(Save {
                path: &p,
                markdown: &body.markdown,
                message: body.message.as_deref().unwrap_or(""),
                base: base.as_ref(),
                author: &author,
            })
        })
        .await?;
    crate::notify::after_save(&st, &actor, &path, &outcome).await;
    Ok(save_response(outcome))
}

pub(crate) fn save_response(outcome: SaveOutcome) -> Response {
    match outcome {
        SaveOutcome::Saved { path, revision, merged, created, unchanged } => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            (
                status,
                Json(json!({"path": path, "revision": revision, "merged": merged, "unchanged": unchanged})),
            )
                .into_response()
        }
        SaveOutcome::Conflict { base, theirs, yours, current, reason } => (
            StatusCode::CONFLICT,
            Json(json!({
                "error": {"code": "conflict", "message": format!("{reason}; nothing was saved")},
                "conflict": {"base": base, "theirs": theirs, "yours": yours, "current_revision": current, "reason": reason.code()},
            })),
        )
            .into_response(),
    }
}

async fn delete_page(
    State(st): State<AppState>,
    Editor(actor): Editor,
    Path(raw): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    match attachments::target(&st, &actor, &raw)? {
        Some(Target::One(page, name)) => {
            return attachments::api_delete(st, actor, page, name).await;
        }
        Some(t) => return Err(attachments::not_here("DELETE", &t)),
        None => {}
    }
    let path = page_path(&raw)?;
    actor.require_writes(path.as_str())?;
    let base = revision(q.base_revision.as_deref())?;
    st.run(move |engine| engine.delete(&path, base.as_ref(), &actor.author, "")).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn post_page(
    State(st): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    // Who may not read at all hears so before anything about the page.
    actor.require_read()?;
    if let Some(t) = attachments::target(&st, &actor, &raw)? {
        return Err(attachments::not_here("POST", &t));
    }
    let (raw, sub) = split_sub(&st, &actor, &raw, &["move", "discussions"]);
    match sub {
        Some("move") => {
            actor.require_edit()?;
            let body: MoveBody = parse_json(&body)?;
            let from = page_path(raw)?;
            actor.require_writes(from.as_str())?;
            let to = page_path(body.to.trim().trim_start_matches('/'))?;
            actor.require_writes(to.as_str())?;
            let message = body.message.unwrap_or_default();
            let update = body.update_links;
            let (to2, moved) = st
                .run(move |engine| {
                    let moved = engine.move_page(
                        &from,
                        &to,
                        update,
                        &actor.scope,
                        &actor.author,
                        &message,
                    )?;
                    Ok((to, moved))
                })
                .await?;
            Ok(Json(json!({"path": to2, "revision": moved.revision, "updated_pages": moved.updated_pages})).into_response())
        }
        Some(_) => {
            let body: crate::discussions::StartBody = parse_json(&body)?;
            let page = page_path(raw)?;
            crate::discussions::api_start(st, actor, page, body).await
        }
        // A page the actor may not see is as missing as one that is not there.
        None => Err(match raw.rsplit_once('/') {
            Some((page, "move" | "discussions")) => {
                Error::not_found(format!("there is no page {page}"))
            }
            _ => Error::not_found(format!(
                "POST goes to /pages/{raw}/move or /pages/{raw}/discussions of an existing page"
            )),
        }
        .into()),
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(Error::invalid("the request body is not valid UTF-8").into());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid(format!("the request body is not the JSON expected: {e}")).into()
    })
}

#[derive(Deserialize)]
struct ListQuery {
    prefix: Option<String>,
    tag: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

#[derive(Deserialize)]
struct PageQuery {
    rev: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    base_revision: Option<String>,
}

#[derive(Deserialize)]
struct PutBody {
    markdown: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    base_revision: Option<String>,
}

#[derive(Deserialize)]
struct MoveBody {
    to: String,
    #[serde(default)]
    update_links: bool,
    #[serde(default)]
    message: Option<String>,
}
