//! The page as a resource to change: a new page, the editor and its preview, saving, reverting,
//! deleting and moving.

use super::fields::{FIELD_PREFIX, FieldErrors, TypedPage};
use crate::http::{FormBody, WebResult};
use crate::permission::{Editor, PageToWrite, page_to_write};
use crate::views;
use crate::{Actor, AppState, PageError};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use casebook_core::{Error, ErrorKind, PagePath, Revision};
use casebook_engine::{ConflictReason, Save, SaveOutcome};
use minijinja::context;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// "New page": one form asking for the title, the kind of page (plain, or one of the wiki's
/// types) and the folder, which opens the editor on the new page, filled from the type's
/// template. The older `?path=` form still leads straight to the editor.
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
    let types = st.engine.types();
    let kind = q.kind.as_deref().map(str::trim).unwrap_or("");
    let page_type = types.get(kind).cloned();
    if !kind.is_empty() && page_type.is_none() {
        error = Some(format!("there is no page type {kind}"));
    }
    if let Some(title) = q.title.as_deref().filter(|_| error.is_none()) {
        // An empty folder means the type's own folder, or the top of the wiki.
        let folder = match q.folder.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            Some(f) => f.to_string(),
            None => page_type.as_ref().map(|t| t.folder.clone()).unwrap_or_default(),
        };
        match casebook_engine::Engine::record_path(&folder, title)
            .and_then(|p| actor.require_writes(p.as_str()).map(|()| p))
        {
            Ok(p) if st.engine.exists(&p, &actor.scope) => {
                error = Some(format!("a page {p} exists already; choose another title or folder"));
            }
            Ok(p) => {
                let mut to = format!("/edit/{}", p.url_encoded());
                if let Some(t) = &page_type {
                    let title = crate::http::encode(title.trim());
                    to.push_str(&format!("?type={}&title={title}", t.name));
                }
                return Ok(Redirect::to(&to).into_response());
            }
            Err(e) => error = Some(e.message),
        }
    }
    let kinds: Vec<minijinja::Value> = types
        .types
        .values()
        .map(|t| {
            context! {
                name => t.name, label => t.label, description => t.description,
                folder => t.folder, checked => page_type.as_ref().is_some_and(|p| p.name == t.name),
            }
        })
        .collect();
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let context = context! {
        title => "New page",
        error,
        page_title => q.title,
        folder => q.folder.as_deref().map(|f| f.trim().trim_matches('/')).unwrap_or(""),
        kinds,
        plain_checked => page_type.is_none(),
        types => crate::records::new_links(&st.engine),
    };
    Ok((status, st.page("new.html", &actor, context)).into_response())
}

pub(crate) async fn edit_form(
    State(st): State<AppState>,
    PageToWrite(actor, path): PageToWrite,
    Query(q): Query<EditQuery>,
) -> WebResult {
    let p = path.clone();
    let (kind, title) = (q.kind.clone(), q.title.clone());
    let (page, starter) = st
        .read(&actor, move |engine, scope| match engine.page(&p, None, scope) {
            Ok(page) => Ok((Some(page), None)),
            Err(e) if e.kind == ErrorKind::NotFound => {
                // A new page of a type starts from the type's template, under its title.
                let title =
                    title.as_deref().map(str::trim).filter(|t| !t.is_empty() && !t.contains('/'));
                let title = title.unwrap_or(p.name()).to_string();
                let types = engine.types();
                let starter = kind.as_deref().and_then(|k| types.get(k)).map(|t| {
                    casebook_engine::new_page_text(
                        &title,
                        &t.name,
                        &[],
                        &[],
                        &engine.template_body(t, scope),
                    )
                });
                Ok((None, Some(starter.unwrap_or_else(|| format!("# {title}\n\n")))))
            }
            Err(e) => Err(e),
        })
        .await?;
    let (markdown, base, title, new) = match page {
        Some(p) => (p.markdown, p.revision.map(|r| r.to_string()), p.title, false),
        None => (starter.unwrap_or_default(), None, path.name().to_string(), true),
    };
    let attachments = super::attachments::for_page(&st, &actor, &path).await;
    let view = EditorView {
        text: &markdown,
        title: &title,
        base: base.as_deref(),
        new,
        as_text: q.as_text.as_deref() == Some("text"),
        attachments,
        ..EditorView::new(&path)
    };
    Ok(editor_page(&st, &actor, StatusCode::OK, view))
}

/// What the editor shows.
struct EditorView<'a> {
    path: &'a PagePath,
    title: &'a str,
    /// The page's whole text; a typed page shows its body only, under its fields.
    text: &'a str,
    base: Option<&'a str>,
    message: &'a str,
    new: bool,
    /// The whole text even for a typed page (`?as=text`, and after a conflict).
    as_text: bool,
    /// The form's inputs as sent, with what to fix, when a typed page comes back.
    typed_inputs: Option<(&'a HashMap<String, String>, &'a FieldErrors)>,
    conflict: Option<minijinja::Value>,
    attachments: Vec<minijinja::Value>,
}

impl<'a> EditorView<'a> {
    fn new(path: &'a PagePath) -> EditorView<'a> {
        EditorView {
            path,
            title: path.name(),
            text: "",
            base: None,
            message: "",
            new: false,
            as_text: false,
            typed_inputs: None,
            conflict: None,
            attachments: Vec::new(),
        }
    }
}

fn editor_page(st: &AppState, actor: &Actor, status: StatusCode, v: EditorView<'_>) -> Response {
    let types = st.engine.types();
    let typed = TypedPage::split(&types, v.text);
    let (markdown, fields, typed_as_text) = match &typed {
        Some(t) if !v.as_text => {
            let (inputs, errors) = match v.typed_inputs {
                Some((i, e)) => (Some(i), e.clone()),
                None => (None, BTreeMap::new()),
            };
            (t.body.as_str(), Some(t.view(inputs, &errors)), false)
        }
        Some(_) => (v.text, None, true),
        None => (v.text, None, false),
    };
    let context = context! {
            markdown => markdown,
            base_revision => v.base,
            message => v.message,
            new => v.new,
            conflict => v.conflict,
            typed => fields,
            typed_as_text => typed_as_text,
            max_bytes => st.engine.max_page_bytes(),
            attachments => v.attachments,
            attach_name => v.path.name(),
            attach_in_editor => true,
            ..views::page_head(v.path, v.title),
    };
    (status, st.page("edit.html", actor, context)).into_response()
}

pub(crate) async fn edit_save(
    State(st): State<AppState>,
    PageToWrite(actor, path): PageToWrite,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult {
    let form = EditForm::read(pairs);
    let base = optional_revision(&form.base_revision)?;
    // Browsers send CRLF line ends from a textarea; pages keep the plain newline.
    let mut markdown = form.markdown.replace("\r\n", "\n");
    let types = st.engine.types();
    // A typed page sent as a form: its text before the body as it went out, the body, and the
    // fields; only the lines of the fields changed are rewritten.
    let typed = form
        .front_matter
        .as_deref()
        .and_then(|head| serde_json::from_str::<String>(head).ok())
        .map(|head| {
            let body = if head.contains("\r\n") {
                markdown.replace('\n', "\r\n")
            } else {
                markdown.clone()
            };
            (head, body)
        });
    if let Some((head, body)) = &typed {
        let whole = format!("{head}{body}");
        if let Some(page) = TypedPage::split(&types, &whole) {
            match page.changes(&form.fields) {
                Ok(changes) => markdown = page.rebuild(&page.body, &changes),
                Err(errors) => {
                    let view = EditorView {
                        text: &whole,
                        base: Some(form.base_revision.as_str()).filter(|b| !b.trim().is_empty()),
                        message: &form.message,
                        new: base.is_none() && !st.engine.exists(&path, &actor.scope),
                        typed_inputs: Some((&form.fields, &errors)),
                        ..EditorView::new(&path)
                    };
                    return Ok(editor_page(&st, &actor, StatusCode::BAD_REQUEST, view));
                }
            }
        } else {
            markdown = whole;
        }
    }
    if !form.save_anyway && casebook_engine::has_conflict_markers(&markdown) {
        let view = EditorView {
            text: &markdown,
            base: Some(form.base_revision.as_str()).filter(|b| !b.trim().is_empty()),
            message: &form.message,
            as_text: true,
            conflict: Some(context! { markers_left => true }),
            ..EditorView::new(&path)
        };
        return Ok(editor_page(&st, &actor, StatusCode::CONFLICT, view));
    }
    let (p, author, message) = (path.clone(), actor.author.clone(), form.message.clone());
    let md = markdown.clone();
    let (outcome, marked) = st
        .run(move |engine| {
            let outcome = engine.save(Save {
                path: &p,
                markdown: &md,
                message: &message,
                base: base.as_ref(),
                author: &author,
            })?;
            // Both sides of each conflicting region, marked, so nothing typed is lost.
            let marked = match &outcome {
                SaveOutcome::Conflict { reason: ConflictReason::Deleted, yours, .. } => {
                    Some((yours.clone(), None))
                }
                SaveOutcome::Conflict { base, theirs, yours, current, .. } => {
                    let by = current.as_ref().and_then(|_| engine.last_change(&p));
                    let label = by
                        .as_ref()
                        .map(|c| format!("saved by {} at {}", c.author.name, c.date.short()))
                        .unwrap_or_default();
                    let text = casebook_engine::merge3_marked(base, theirs, yours, &label);
                    Some((text, by.map(|c| (c.author.name.clone(), c.date.short()))))
                }
                SaveOutcome::Saved { .. } => None,
            };
            Ok((outcome, marked))
        })
        .await?;
    crate::notify::after_save(&st, &actor, &path, &outcome).await;
    match outcome {
        SaveOutcome::Saved { merged, .. } => {
            let flag = if merged { "merged=1" } else { "saved=1" };
            Ok(Redirect::to(&format!("/wiki/{}?{flag}", path.url_encoded())).into_response())
        }
        SaveOutcome::Conflict { theirs, yours, current, reason, .. } => {
            let (merged, by) = marked.unwrap_or_else(|| (yours.clone(), None));
            let conflict = context! {
                theirs => theirs,
                yours => yours,
                deleted => reason == ConflictReason::Deleted,
                reason => reason.to_string(),
                by => by.as_ref().map(|b| b.0.clone()),
                at => by.as_ref().map(|b| b.1.clone()),
            };
            let current = current.map(|r| r.to_string());
            let attachments = super::attachments::for_page(&st, &actor, &path).await;
            // A conflict shows the whole file, typed or not: the markers may be anywhere.
            let view = EditorView {
                text: &merged,
                base: current.as_deref(),
                message: &form.message,
                as_text: true,
                conflict: Some(conflict),
                attachments,
                ..EditorView::new(&path)
            };
            Ok(editor_page(&st, &actor, StatusCode::CONFLICT, view))
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
    /// The older form: the new page's path.
    path: Option<String>,
    title: Option<String>,
    /// A page type's name; none or empty for a plain page.
    kind: Option<String>,
    folder: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct EditQuery {
    /// `text`: the whole file in the text area, front matter included.
    #[serde(rename = "as")]
    as_text: Option<String>,
    /// A new page's type and title (from "New page").
    #[serde(rename = "type")]
    kind: Option<String>,
    title: Option<String>,
}

/// The editor's form: the text, and for a typed page its fields (`field.<key>`) and the text
/// before its body (`front_matter`).
struct EditForm {
    markdown: String,
    message: String,
    base_revision: String,
    front_matter: Option<String>,
    fields: HashMap<String, String>,
    save_anyway: bool,
}

impl EditForm {
    fn read(pairs: Vec<(String, String)>) -> EditForm {
        let mut form = EditForm {
            markdown: String::new(),
            message: String::new(),
            base_revision: String::new(),
            front_matter: None,
            fields: HashMap::new(),
            save_anyway: false,
        };
        for (k, v) in pairs {
            match k.as_str() {
                "markdown" => form.markdown = v,
                "message" => form.message = v,
                "base_revision" => form.base_revision = v,
                "front_matter" => form.front_matter = Some(v),
                "save_anyway" => form.save_anyway = !v.is_empty(),
                _ => {
                    if let Some(key) = k.strip_prefix(FIELD_PREFIX) {
                        form.fields.insert(key.to_string(), v);
                    }
                }
            }
        }
        form
    }
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
