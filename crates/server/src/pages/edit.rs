//! The page as a resource to change: a new page, the editor and its preview, saving, reverting,
//! deleting and moving.

use crate::http::{FormBody, WebResult};
use crate::permission::{Editor, PageToWrite, page_to_write};
use crate::views;
use crate::{Actor, AppState, PageError};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use casebook_core::{Error, ErrorKind, PagePath, Revision};
use casebook_engine::{Save, SaveOutcome};
use minijinja::context;
use serde::Deserialize;

pub(crate) async fn new_page(
    State(st): State<AppState>,
    Editor(actor): Editor,
    Query(q): Query<NewQuery>,
) -> WebResult {
    let mut error = None;
    if let Some(raw) =
        q.path.as_deref().map(|p| p.trim().trim_matches('/')).filter(|p| !p.is_empty())
    {
        let raw = raw.strip_suffix(".md").unwrap_or(raw);
        match PagePath::parse(raw) {
            Ok(p) => return Ok(Redirect::to(&format!("/edit/{}", p.url_encoded())).into_response()),
            Err(e) => error = Some(e.message),
        }
    }
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let context = context! { title => "New page", error, value => q.path, types => crate::records::new_links(&st.engine) };
    Ok((status, st.page("new.html", &actor, context)).into_response())
}

pub(crate) async fn edit_form(
    State(st): State<AppState>,
    PageToWrite(actor, path): PageToWrite,
) -> WebResult {
    let p = path.clone();
    let page = st
        .read(&actor, move |engine, scope| match engine.page(&p, None, scope) {
            Ok(page) => Ok(Some(page)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
        .await?;
    let (markdown, base, title, new) = match page {
        Some(p) => (p.markdown, p.revision.map(|r| r.to_string()), p.title, false),
        None => (format!("# {}\n\n", path.name()), None, path.name().to_string(), true),
    };
    let attachments = super::attachments::for_page(&st, &actor, &path).await;
    Ok(editor_page(
        &st,
        &actor,
        StatusCode::OK,
        &path,
        &title,
        &markdown,
        base.as_deref(),
        "",
        new,
        None,
        attachments,
    ))
}

#[allow(clippy::too_many_arguments)]
fn editor_page(
    st: &AppState,
    actor: &Actor,
    status: StatusCode,
    path: &PagePath,
    title: &str,
    markdown: &str,
    base: Option<&str>,
    message: &str,
    new: bool,
    conflict: Option<minijinja::Value>,
    attachments: Vec<minijinja::Value>,
) -> Response {
    let context = context! {
            markdown => markdown,
            base_revision => base,
            message => message,
            new => new,
            conflict => conflict,
            max_bytes => st.engine.max_page_bytes(),
            attachments => attachments,
            attach_name => path.name(),
            attach_in_editor => true,
            ..views::page_head(path, title),
    };
    (status, st.page("edit.html", actor, context)).into_response()
}

pub(crate) async fn edit_save(
    State(st): State<AppState>,
    PageToWrite(actor, path): PageToWrite,
    FormBody(form): FormBody<EditForm>,
) -> WebResult {
    let base = optional_revision(&form.base_revision)?;
    // Browsers send CRLF line ends from a textarea; pages keep the plain newline.
    let markdown = form.markdown.replace("\r\n", "\n");
    let (p, author, message) = (path.clone(), actor.author.clone(), form.message.clone());
    let md = markdown.clone();
    let outcome = st
        .run(move |engine| {
            engine.save(Save {
                path: &p,
                markdown: &md,
                message: &message,
                base: base.as_ref(),
                author: &author,
            })
        })
        .await?;
    crate::notify::after_save(&st, &actor, &path, &outcome).await;
    match outcome {
        SaveOutcome::Saved { merged, .. } => {
            let flag = if merged { "merged=1" } else { "saved=1" };
            Ok(Redirect::to(&format!("/wiki/{}?{flag}", path.url_encoded())).into_response())
        }
        SaveOutcome::Conflict { theirs, yours, current, .. } => {
            let diff = views::text_diff(&theirs, &yours);
            let conflict = context! {
                theirs => theirs,
                diff => views::diff_lines(&diff),
            };
            let current = current.map(|r| r.to_string());
            let attachments = super::attachments::for_page(&st, &actor, &path).await;
            Ok(editor_page(
                &st,
                &actor,
                StatusCode::CONFLICT,
                &path,
                path.name(),
                &yours,
                current.as_deref(),
                &form.message,
                false,
                Some(conflict),
                attachments,
            ))
        }
    }
}

/// A revision from a form field; empty means none.
fn optional_revision(raw: &str) -> Result<Option<Revision>, PageError> {
    match raw.trim() {
        "" => Ok(None),
        r => Revision::parse(r).map(Some).map_err(PageError),
    }
}

pub(crate) async fn preview(
    State(st): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
    form: Result<FormBody<PreviewForm>, PageError>,
) -> Response {
    // The editor's preview: rendering a page-sized body is work only for those who may edit.
    if let Err(e) = actor.require_edit() {
        return crate::ApiError(e).into_response();
    }
    let path =
        match PagePath::parse(&raw).and_then(|p| actor.require_writes(p.as_str()).map(|()| p)) {
            Ok(p) => p,
            Err(e) => return crate::ApiError(e).into_response(),
        };
    let Ok(FormBody(form)) = form else {
        return crate::ApiError(Error::invalid("send the markdown as a form field"))
            .into_response();
    };
    match st
        .read(&actor, move |engine, scope| Ok(engine.preview(&path, &form.markdown, scope)))
        .await
    {
        Ok(r) => {
            let mut html = String::new();
            if let Some(e) = &r.front_matter_error {
                html.push_str(&format!("<div class=\"flash warn\">{}</div>", views::escape(e)));
            }
            let warnings = st.engine.check_type(&r.front_matter).warnings;
            if !warnings.is_empty() {
                html.push_str("<div class=\"type-warnings flash warn\">The fields do not fit the page's type:<ul>");
                for w in &warnings {
                    html.push_str(&format!("<li>{}</li>", views::escape(w)));
                }
                html.push_str("</ul></div>");
            }
            html.push_str(&r.html);
            Html(html).into_response()
        }
        Err(e) => crate::ApiError(e).into_response(),
    }
}

pub(crate) async fn revert(
    State(st): State<AppState>,
    PageToWrite(actor, path): PageToWrite,
    FormBody(form): FormBody<RevForm>,
) -> WebResult {
    let rev = Revision::parse(&form.rev)?;
    let p = path.clone();
    let author = actor.author.clone();
    let outcome = st.run(move |engine| engine.revert(&p, &rev, &author)).await?;
    crate::notify::after_save(&st, &actor, &path, &outcome).await;
    Ok(Redirect::to(&format!("/wiki/{}?reverted=1", path.url_encoded())).into_response())
}

pub(crate) async fn delete_form(
    State(st): State<AppState>,
    PageToWrite(actor, path): PageToWrite,
) -> WebResult {
    let Some(last) = st.engine.last_change(&path).filter(|_| st.engine.exists(&path, &actor.scope))
    else {
        return Err(PageError(Error::not_found(format!("there is no page {path}"))));
    };
    Ok(st.page(
        "delete.html",
        &actor,
        context! {
            base_revision => last.revision.to_string(),
            ..views::page_head(&path, st.engine.title_of(path.as_str())),
        },
    ))
}

pub(crate) async fn delete(
    State(st): State<AppState>,
    PageToWrite(actor, path): PageToWrite,
    FormBody(form): FormBody<DeleteForm>,
) -> WebResult {
    let base = optional_revision(&form.base_revision)?;
    let p = path.clone();
    st.run(move |engine| engine.delete(&p, base.as_ref(), &actor.author, &form.message)).await?;
    let folder = path.folder();
    let to = if folder.is_root() {
        "/browse".to_string()
    } else {
        format!("/wiki/{}/", folder.url_encoded())
    };
    Ok(Redirect::to(&to).into_response())
}

pub(crate) async fn move_form(
    State(st): State<AppState>,
    PageToWrite(actor, path): PageToWrite,
) -> WebResult {
    if !st.engine.exists(&path, &actor.scope) {
        return Err(PageError(Error::not_found(format!("there is no page {path}"))));
    }
    let head = views::page_head(&path, st.engine.title_of(path.as_str()));
    Ok(st.page("move.html", &actor, head))
}

pub(crate) async fn move_page(
    State(st): State<AppState>,
    PageToWrite(actor, path): PageToWrite,
    FormBody(form): FormBody<MoveForm>,
) -> WebResult {
    let to_raw = form.to.trim().trim_matches('/');
    let to = page_to_write(&actor, to_raw.strip_suffix(".md").unwrap_or(to_raw))?;
    let t = to.clone();
    let update = form.update_links.is_some();
    let moved = st
        .run(move |engine| engine.move_page(&path, &t, update, &actor.scope, &actor.author, ""))
        .await?;
    Ok(Redirect::to(&format!("/wiki/{}?moved={}", to.url_encoded(), moved.updated_pages.len()))
        .into_response())
}

#[derive(Deserialize)]
pub(crate) struct NewQuery {
    path: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct EditForm {
    markdown: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    base_revision: String,
}

#[derive(Deserialize)]
pub(crate) struct PreviewForm {
    markdown: String,
}

#[derive(Deserialize)]
pub(crate) struct RevForm {
    rev: String,
}

#[derive(Deserialize)]
pub(crate) struct DeleteForm {
    #[serde(default)]
    base_revision: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
pub(crate) struct MoveForm {
    to: String,
    #[serde(default)]
    update_links: Option<String>,
}
