//! Pages for people: reading, browsing, editing, history, search, and the theme's static files.

use crate::api::encode;
use crate::http::FormBody;
use crate::views::{self, Crumb};
use crate::{Actor, AppState, PageError, feed};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use casebook_core::{Error, ErrorKind, FolderPath, PagePath, Revision};
use casebook_engine::{Attachment, Save, SaveOutcome};
use minijinja::context;
use serde::Deserialize;

type WebResult = Result<Response, PageError>;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/wiki/{*path}", get(view))
        .route("/browse", get(browse_root))
        .route("/new", get(new_page))
        .route("/edit/{*path}", get(edit_form).post(edit_save))
        .route("/preview/{*path}", axum::routing::post(preview))
        .route("/history/{*path}", get(history))
        .route("/diff/{*path}", get(diff))
        .route("/revert/{*path}", axum::routing::post(revert))
        .route("/delete/{*path}", get(delete_form).post(delete))
        .route("/move/{*path}", get(move_form).post(move_page))
        .route("/changes", get(changes))
        .route("/cases", get(crate::cases::browse))
        .route("/tags", get(tags))
        .route("/tags/{tag}", get(tag_page))
        .route("/special/wanted", get(wanted))
        .route("/special/orphans", get(orphans))
        .route("/search", get(search))
        .route("/feed.atom", get(feed::site))
        .fallback(fallback)
}

/// Routes that answer the same to everyone, and so need no actor (nor its reads of the
/// accounts database): the health check and the theme's static files.
pub(crate) fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/static/{*file}", get(static_file))
}

impl AppState {
    pub(crate) fn fail(&self, error: Error) -> PageError {
        PageError {
            error,
            state: self.clone(),
        }
    }

    /// Renders a page template with what every page needs (the site's name, whether the
    /// visitor may edit) added to `ctx`.
    pub(crate) fn page(
        &self,
        status: StatusCode,
        template: &str,
        actor: &Actor,
        ctx: minijinja::Value,
    ) -> Response {
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
        (status, Html(html)).into_response()
    }
}

fn parse_page(st: &AppState, raw: &str) -> Result<PagePath, PageError> {
    PagePath::parse(raw).map_err(|e| st.fail(e))
}

/// A page the actor asks to read: one in a folder they may not read does not exist for them.
fn page_to_read(st: &AppState, actor: &Actor, raw: &str) -> Result<PagePath, PageError> {
    let path = parse_page(st, raw)?;
    actor.require_sees(path.as_str()).map_err(|e| st.fail(e))?;
    Ok(path)
}

/// A page the actor asks to change, make or move to: not in a folder they may not read.
fn page_to_write(st: &AppState, actor: &Actor, raw: &str) -> Result<PagePath, PageError> {
    let path = parse_page(st, raw)?;
    actor
        .require_writes(path.as_str())
        .map_err(|e| st.fail(e))?;
    Ok(path)
}

fn reader(st: &AppState, actor: Actor) -> Result<Actor, PageError> {
    actor.require_read().map_err(|e| st.fail(e))?;
    Ok(actor)
}

fn editor(st: &AppState, actor: Actor) -> Result<Actor, PageError> {
    actor.require_edit().map_err(|e| st.fail(e))?;
    Ok(actor)
}

async fn healthz(State(st): State<AppState>) -> Response {
    match st.run(move |engine| engine.health()).await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unavailable: {}\n", e.message),
        )
            .into_response(),
    }
}

async fn fallback(State(st): State<AppState>) -> PageError {
    st.fail(Error::not_found("there is nothing at this address"))
}

async fn home(State(st): State<AppState>, actor: Actor) -> WebResult {
    let actor = reader(&st, actor)?;
    let scope = actor.scope.clone();
    let (home, changes) = st
        .run(move |engine| {
            let home = PagePath::parse("Home")
                .ok()
                .filter(|p| scope.sees(p.as_str()))
                .and_then(|p| engine.page(&p, None, &scope).ok());
            Ok((home, engine.changes(12, 0, &scope)?))
        })
        .await
        .map_err(|e| st.fail(e))?;
    let listing = st.engine.listing(&FolderPath::root(), &actor.scope);
    Ok(st.page(
        StatusCode::OK,
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

#[derive(Deserialize, Default)]
struct ViewQuery {
    rev: Option<String>,
    saved: Option<String>,
    merged: Option<String>,
    moved: Option<String>,
    reverted: Option<String>,
}

async fn view(
    State(st): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
    Query(q): Query<ViewQuery>,
) -> WebResult {
    let actor = reader(&st, actor)?;
    if let Some(folder) = raw.strip_suffix('/') {
        return folder_page(&st, &actor, folder);
    }
    let path = parse_page(&st, &raw)?;
    let rev = match q.rev.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => Some(Revision::parse(r).map_err(|e| st.fail(e))?),
        None => None,
    };
    if !actor.sees(path.as_str()) || rev.is_none() && !st.engine.exists(&path, &actor.scope) {
        return missing(&st, &actor, &raw, &path).await;
    }
    let p = path.clone();
    let scope = actor.scope.clone();
    let (page, backlinks, related, threads) = st
        .run(move |engine| {
            let page = engine.page(&p, rev.as_ref(), &scope)?;
            let backlinks = engine.backlinks(&p, &scope)?;
            let related = engine.related(&page, 6, &scope)?;
            let threads = if page.historic {
                Vec::new()
            } else {
                engine.threads(&p, &scope)?
            };
            Ok((page, backlinks, related, threads))
        })
        .await
        .map_err(|e| st.fail(e))?;
    let flash = if q.merged.is_some() {
        Some((
            "ok",
            "Saved. Someone else edited this page while you were writing; your changes were merged with theirs."
                .to_string(),
        ))
    } else if q.saved.is_some() {
        Some(("ok", "Saved.".to_string()))
    } else if let Some(n) = q.moved.as_deref() {
        Some((
            "ok",
            match n {
                "0" => "Moved. Links to the old address lead here.".to_string(),
                "1" => "Moved, and the link in 1 other page now points here.".to_string(),
                n => format!("Moved, and the links in {n} other pages now point here."),
            },
        ))
    } else if q.reverted.is_some() {
        Some((
            "ok",
            "Restored the earlier version as a new revision.".to_string(),
        ))
    } else {
        None
    };
    let card = crate::records::card(&st.engine, &page.rendered.front_matter);
    let marks = crate::notify::page_marks(&st, &actor, path.as_str());
    let mut threads = crate::discussions::thread_views(&threads, &actor);
    for c in threads.iter_mut().flat_map(|t| t.comments.iter_mut()) {
        c.helpful = marks.counts.get(&c.id).copied().unwrap_or(0);
        c.helped_me = marks.mine.contains(&c.id);
    }
    Ok(st.page(
        StatusCode::OK,
        "page.html",
        &actor,
        context! {
            path => path.as_str(),
            url => path.url_encoded(),
            title => page.title,
            crumbs => views::crumbs(&path.folder()),
            html => page.rendered.html,
            fields => card.fields,
            type_label => card.type_label,
            type_name => card.type_name,
            type_warnings => card.warnings,
            front_matter_error => page.rendered.front_matter_error,
            tags => page.rendered.tags,
            toc => page.rendered.headings.iter().filter(|h| (2..=4).contains(&h.level)).collect::<Vec<_>>(),
            author => page.author.map(|a| a.name),
            updated => page.updated.map(|t| t.short()),
            updated_iso => page.updated.map(|t| t.rfc3339()),
            revision => page.revision,
            historic => page.historic,
            backlinks => backlinks.iter().map(|b| views::link(&b.path, &b.title)).collect::<Vec<_>>(),
            related => related.iter().map(|b| views::link(&b.path, &b.title)).collect::<Vec<_>>(),
            flash => flash.map(|(kind, text)| context! { kind, text }),
            threads => threads,
            can_discuss => actor.can_discuss(),
            watching => marks.watching,
            helpful => marks.counts.get("").copied().unwrap_or(0),
            helped_me => marks.mine.iter().any(String::is_empty),
        },
    ))
}

/// A page that does not exist (or that the reader may not see): an attachment of that name, a
/// folder, another spelling, or an offer to create it.
async fn missing(st: &AppState, actor: &Actor, raw: &str, path: &PagePath) -> WebResult {
    let file = raw.to_string();
    if actor.sees(raw)
        && let Some(found) = st
            .run(move |engine| engine.attachment(&file))
            .await
            .map_err(|e| st.fail(e))?
    {
        let (body, len) = match found {
            Attachment::Read(bytes) => {
                let len = bytes.len() as u64;
                (Body::from(bytes), len)
            }
            Attachment::Large { blob, size } => (
                crate::githttp::blob_body(st.engine.repo_path(), &blob).map_err(|e| st.fail(e))?,
                size,
            ),
        };
        return Ok(attachment(raw, body, len));
    }
    let folder = FolderPath::parse(raw).map_err(|e| st.fail(e))?;
    let listing = st.engine.listing(&folder, &actor.scope);
    if !listing.pages.is_empty() || !listing.folders.is_empty() {
        return Ok(Redirect::to(&format!("/wiki/{}/", folder.url_encoded())).into_response());
    }
    let p = path.clone();
    // Only a page the reader may see at its old address leads on: following a move out of a
    // hidden folder would tell the hidden name.
    if actor.sees(path.as_str())
        && let Some(moved) = st
            .run(move |engine| Ok(engine.moved_to(&p)))
            .await
            .map_err(|e| st.fail(e))?
        && actor.sees(moved.as_str())
    {
        return Ok(Redirect::permanent(&format!("/wiki/{}", moved.url_encoded())).into_response());
    }
    if let Some(other) = st.engine.find_page(raw)
        && other != raw
        && actor.sees(&other)
    {
        return Ok(Redirect::to(&format!("/wiki/{}", encode(&other))).into_response());
    }
    Ok(st.page(
        StatusCode::NOT_FOUND,
        "missing.html",
        actor,
        context! {
            path => path.as_str(),
            url => path.url_encoded(),
            title => path.name(),
            crumbs => views::crumbs(&path.folder()),
        },
    ))
}

/// Serves a file of the repository, `len` bytes. Types a browser would run (HTML, SVG, anything
/// unknown) are sent as downloads so they cannot act on the wiki's origin.
fn attachment(name: &str, body: Body, len: u64) -> Response {
    let ct = crate::theme::content_type(name);
    let inline = ct.starts_with("image/") && ct != "image/svg+xml"
        || ct.starts_with("text/plain")
        || ct == "application/pdf";
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if inline {
            ct
        } else {
            "application/octet-stream"
        }),
    );
    if !inline {
        let file = name
            .rsplit('/')
            .next()
            .unwrap_or("file")
            .replace(['"', '\\', '\r', '\n'], "_");
        if let Ok(v) = HeaderValue::from_str(&format!(
            "attachment; filename=\"{}\"",
            file.escape_default()
        )) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    resp
}

async fn browse_root(State(st): State<AppState>, actor: Actor) -> WebResult {
    let actor = reader(&st, actor)?;
    folder_page(&st, &actor, "")
}

fn folder_page(st: &AppState, actor: &Actor, raw: &str) -> WebResult {
    let folder = FolderPath::parse(raw).map_err(|e| st.fail(e))?;
    let listing = st.engine.listing(&folder, &actor.scope);
    if !folder.is_root() && listing.pages.is_empty() && listing.folders.is_empty() {
        return Err(st.fail(Error::not_found(format!("there is no folder {folder}"))));
    }
    let crumbs: Vec<Crumb> = match folder.parent() {
        Some(parent) => views::crumbs(&parent),
        None => Vec::new(),
    };
    Ok(st.page(
        StatusCode::OK,
        "folder.html",
        actor,
        context! {
            title => if folder.is_root() { "All pages".to_string() } else { folder.name().to_string() },
            folder => folder.as_str(),
            folder_url => folder.url_encoded(),
            crumbs => crumbs,
            root => folder.is_root(),
            watching => crate::notify::watching_folder(st, actor, folder.as_str()),
            folders => listing.folders,
            pages => listing.pages.iter().map(|p| context! {
                title => p.title, url => encode(&p.path), updated => p.updated.map(|t| t.date()),
            }).collect::<Vec<_>>(),
        },
    ))
}

#[derive(Deserialize)]
struct NewQuery {
    path: Option<String>,
}

async fn new_page(
    State(st): State<AppState>,
    actor: Actor,
    Query(q): Query<NewQuery>,
) -> WebResult {
    let actor = editor(&st, actor)?;
    let mut error = None;
    if let Some(raw) = q
        .path
        .as_deref()
        .map(|p| p.trim().trim_matches('/'))
        .filter(|p| !p.is_empty())
    {
        let raw = raw.strip_suffix(".md").unwrap_or(raw);
        match PagePath::parse(raw) {
            Ok(p) => return Ok(Redirect::to(&format!("/edit/{}", p.url_encoded())).into_response()),
            Err(e) => error = Some(e.message),
        }
    }
    Ok(st.page(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        "new.html",
        &actor,
        context! { title => "New page", error, value => q.path, types => crate::records::new_links(&st.engine) },
    ))
}

async fn edit_form(State(st): State<AppState>, actor: Actor, Path(raw): Path<String>) -> WebResult {
    let actor = editor(&st, actor)?;
    let path = page_to_write(&st, &actor, &raw)?;
    let p = path.clone();
    let scope = actor.scope.clone();
    let page = st
        .run(move |engine| match engine.page(&p, None, &scope) {
            Ok(page) => Ok(Some(page)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
        .await
        .map_err(|e| st.fail(e))?;
    let (markdown, base, title, new) = match page {
        Some(p) => (
            p.markdown,
            p.revision.map(|r| r.to_string()),
            p.title,
            false,
        ),
        None => (
            format!("# {}\n\n", path.name()),
            None,
            path.name().to_string(),
            true,
        ),
    };
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
) -> Response {
    st.page(
        status,
        "edit.html",
        actor,
        context! {
            path => path.as_str(),
            url => path.url_encoded(),
            title => title,
            crumbs => views::crumbs(&path.folder()),
            markdown => markdown,
            base_revision => base,
            message => message,
            new => new,
            conflict => conflict,
            max_bytes => st.engine.max_page_bytes(),
        },
    )
}

#[derive(Deserialize)]
struct EditForm {
    markdown: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    base_revision: String,
}

async fn edit_save(
    State(st): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
    form: Result<FormBody<EditForm>, PageError>,
) -> WebResult {
    let (actor, path, form) = form_post(&st, actor, &raw, form)?;
    let base = optional_revision(&st, &form.base_revision)?;
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
        .await
        .map_err(|e| st.fail(e))?;
    crate::notify::after_save(&st, &actor, &path, &outcome).await;
    match outcome {
        SaveOutcome::Saved { merged, .. } => {
            let flag = if merged { "merged=1" } else { "saved=1" };
            Ok(Redirect::to(&format!("/wiki/{}?{flag}", path.url_encoded())).into_response())
        }
        SaveOutcome::Conflict {
            theirs,
            yours,
            current,
            ..
        } => {
            let diff = views::text_diff(&theirs, &yours);
            let conflict = context! {
                theirs => theirs,
                diff => views::diff_lines(&diff),
            };
            let current = current.map(|r| r.to_string());
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
            ))
        }
    }
}

/// The start of every form post that changes a page: the visitor may edit, the path is valid,
/// the form could be read.
fn form_post<T>(
    st: &AppState,
    actor: Actor,
    raw: &str,
    form: Result<FormBody<T>, PageError>,
) -> Result<(Actor, PagePath, T), PageError> {
    let actor = editor(st, actor)?;
    let path = page_to_write(st, &actor, raw)?;
    let FormBody(form) = form?;
    Ok((actor, path, form))
}

/// A revision from a form field; empty means none.
fn optional_revision(st: &AppState, raw: &str) -> Result<Option<Revision>, PageError> {
    match raw.trim() {
        "" => Ok(None),
        r => Revision::parse(r).map(Some).map_err(|e| st.fail(e)),
    }
}

#[derive(Deserialize)]
struct PreviewForm {
    markdown: String,
}

async fn preview(
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
    let scope = actor.scope.clone();
    match st
        .run(move |engine| Ok(engine.preview(&path, &form.markdown, &scope)))
        .await
    {
        Ok(r) => {
            let mut html = String::new();
            if let Some(e) = &r.front_matter_error {
                html.push_str(&format!(
                    "<div class=\"flash warn\">{}</div>",
                    views::escape(e)
                ));
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

async fn history(State(st): State<AppState>, actor: Actor, Path(raw): Path<String>) -> WebResult {
    let actor = reader(&st, actor)?;
    let path = page_to_read(&st, &actor, &raw)?;
    let p = path.clone();
    let scope = actor.scope.clone();
    let history = st
        .run(move |engine| engine.history(&p, 500, &scope))
        .await
        .map_err(|e| st.fail(e))?;
    let revs = history.entries;
    if revs.is_empty() {
        return Err(st.fail(Error::not_found(format!("{path} has no history"))));
    }
    Ok(st.page(
        StatusCode::OK,
        "history.html",
        &actor,
        context! {
            path => path.as_str(),
            url => path.url_encoded(),
            title => st.engine.title_of(path.as_str()).unwrap_or_else(|| path.name().to_string()),
            crumbs => views::crumbs(&path.folder()),
            revisions => views::changes(&revs),
            hidden_earlier => history.hidden_earlier > 0,
        },
    ))
}

#[derive(Deserialize)]
struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn diff(
    State(st): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
    Query(q): Query<DiffQuery>,
) -> WebResult {
    let actor = reader(&st, actor)?;
    let path = page_to_read(&st, &actor, &raw)?;
    let parse = |r: Option<&str>| -> Result<Option<Revision>, PageError> {
        match r.map(str::trim).filter(|s| !s.is_empty()) {
            Some(r) => Revision::parse(r).map(Some).map_err(|e| st.fail(e)),
            None => Ok(None),
        }
    };
    let from = parse(q.from.as_deref())?;
    let to = parse(q.to.as_deref())?;
    let p = path.clone();
    let scope = actor.scope.clone();
    let (from, to, text) = st
        .run(move |engine| {
            let history = engine.history(&p, 2, &scope)?.entries;
            let to = match to {
                Some(t) => t,
                None => history
                    .first()
                    .map(|c| c.revision.clone())
                    .ok_or_else(|| Error::not_found("the page has no history"))?,
            };
            let from = match from {
                Some(f) => f,
                None => history
                    .get(1)
                    .map(|c| c.revision.clone())
                    .unwrap_or_else(|| to.clone()),
            };
            let text = engine.diff(&p, &from, &to)?;
            Ok((from, to, text))
        })
        .await
        .map_err(|e| st.fail(e))?;
    Ok(st.page(
        StatusCode::OK,
        "diff.html",
        &actor,
        context! {
            path => path.as_str(),
            url => path.url_encoded(),
            title => st.engine.title_of(path.as_str()).unwrap_or_else(|| path.name().to_string()),
            crumbs => views::crumbs(&path.folder()),
            from => from.to_string(),
            to => to.to_string(),
            lines => views::diff_lines(&text),
            empty => text.trim().is_empty(),
        },
    ))
}

#[derive(Deserialize)]
struct RevForm {
    rev: String,
}

async fn revert(
    State(st): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
    form: Result<FormBody<RevForm>, PageError>,
) -> WebResult {
    let (actor, path, form) = form_post(&st, actor, &raw, form)?;
    let rev = Revision::parse(&form.rev).map_err(|e| st.fail(e))?;
    let p = path.clone();
    let author = actor.author.clone();
    let outcome = st
        .run(move |engine| engine.revert(&p, &rev, &author))
        .await
        .map_err(|e| st.fail(e))?;
    crate::notify::after_save(&st, &actor, &path, &outcome).await;
    Ok(Redirect::to(&format!("/wiki/{}?reverted=1", path.url_encoded())).into_response())
}

async fn delete_form(
    State(st): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
) -> WebResult {
    let actor = editor(&st, actor)?;
    let path = page_to_write(&st, &actor, &raw)?;
    let Some(last) = st
        .engine
        .last_change(&path)
        .filter(|_| st.engine.exists(&path, &actor.scope))
    else {
        return Err(st.fail(Error::not_found(format!("there is no page {path}"))));
    };
    Ok(st.page(
        StatusCode::OK,
        "delete.html",
        &actor,
        context! {
            path => path.as_str(),
            url => path.url_encoded(),
            title => st.engine.title_of(path.as_str()),
            crumbs => views::crumbs(&path.folder()),
            base_revision => last.revision.to_string(),
        },
    ))
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    base_revision: String,
    #[serde(default)]
    message: String,
}

async fn delete(
    State(st): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
    form: Result<FormBody<DeleteForm>, PageError>,
) -> WebResult {
    let (actor, path, form) = form_post(&st, actor, &raw, form)?;
    let base = optional_revision(&st, &form.base_revision)?;
    let p = path.clone();
    st.run(move |engine| engine.delete(&p, base.as_ref(), &actor.author, &form.message))
        .await
        .map_err(|e| st.fail(e))?;
    let folder = path.folder();
    let to = if folder.is_root() {
        "/browse".to_string()
    } else {
        format!("/wiki/{}/", folder.url_encoded())
    };
    Ok(Redirect::to(&to).into_response())
}

async fn move_form(State(st): State<AppState>, actor: Actor, Path(raw): Path<String>) -> WebResult {
    let actor = editor(&st, actor)?;
    let path = page_to_write(&st, &actor, &raw)?;
    if !st.engine.exists(&path, &actor.scope) {
        return Err(st.fail(Error::not_found(format!("there is no page {path}"))));
    }
    Ok(st.page(
        StatusCode::OK,
        "move.html",
        &actor,
        context! {
            path => path.as_str(),
            url => path.url_encoded(),
            title => st.engine.title_of(path.as_str()),
            crumbs => views::crumbs(&path.folder()),
        },
    ))
}

#[derive(Deserialize)]
struct MoveForm {
    to: String,
    #[serde(default)]
    update_links: Option<String>,
}

async fn move_page(
    State(st): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
    form: Result<FormBody<MoveForm>, PageError>,
) -> WebResult {
    let (actor, path, form) = form_post(&st, actor, &raw, form)?;
    let to_raw = form.to.trim().trim_matches('/');
    let to = page_to_write(&st, &actor, to_raw.strip_suffix(".md").unwrap_or(to_raw))?;
    let t = to.clone();
    let update = form.update_links.is_some();
    let moved = st
        .run(move |engine| engine.move_page(&path, &t, update, &actor.scope, &actor.author, ""))
        .await
        .map_err(|e| st.fail(e))?;
    Ok(Redirect::to(&format!(
        "/wiki/{}?moved={}",
        to.url_encoded(),
        moved.updated_pages.len()
    ))
    .into_response())
}

#[derive(Deserialize)]
struct ChangesQuery {
    page: Option<usize>,
    #[serde(default)]
    folder: String,
    #[serde(default)]
    author: String,
}

async fn changes(
    State(st): State<AppState>,
    actor: Actor,
    Query(q): Query<ChangesQuery>,
) -> WebResult {
    let actor = reader(&st, actor)?;
    let page = q.page.unwrap_or(1).clamp(1, 1000);
    let per = 50;
    let (folder, author) = (
        q.folder.trim().trim_matches('/').to_string(),
        q.author.trim().to_string(),
    );
    let (f, a, scope) = (folder.clone(), author.clone(), actor.scope.clone());
    let log = st
        .run(move |engine| engine.changes_in(&f, Some(&a), per + 1, (page - 1) * per, &scope))
        .await
        .map_err(|e| st.fail(e))?;
    let more = log.len() > per;
    let filter = |p: usize| {
        let mut qs = format!("?page={p}");
        if !folder.is_empty() {
            qs.push_str(&format!("&folder={}", encode_query(&folder)));
        }
        if !author.is_empty() {
            qs.push_str(&format!("&author={}", encode_query(&author)));
        }
        qs
    };
    Ok(st.page(
        StatusCode::OK,
        "changes.html",
        &actor,
        context! {
            title => "Recent changes",
            changes => views::changes(&log[..log.len().min(per)]),
            page => page,
            folder => folder,
            author => author,
            prev => (page > 1).then(|| filter(page - 1)),
            next => more.then(|| filter(page + 1)),
        },
    ))
}

/// A value for a URL's query string: everything but unreserved characters percent-encoded.
pub(crate) fn encode_query(s: &str) -> String {
    const QUERY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, QUERY).to_string()
}

async fn tags(State(st): State<AppState>, actor: Actor) -> WebResult {
    let actor = reader(&st, actor)?;
    let tags = st.engine.tags(&actor.scope);
    Ok(st.page(
        StatusCode::OK,
        "tags.html",
        &actor,
        context! {
            title => "Tags",
            tags => tags.iter().map(|(t, n)| context! { name => t, count => n, url => encode_query(t) }).collect::<Vec<_>>(),
        },
    ))
}

async fn tag_page(State(st): State<AppState>, actor: Actor, Path(tag): Path<String>) -> WebResult {
    let actor = reader(&st, actor)?;
    let pages = st
        .engine
        .list_pages(&FolderPath::root(), Some(&tag), &actor.scope);
    if pages.is_empty() {
        return Err(st.fail(Error::not_found(format!("no page is tagged '{tag}'"))));
    }
    Ok(st.page(
        StatusCode::OK,
        "report.html",
        &actor,
        context! {
            title => format!("Tagged “{tag}”"),
            intro => format!("{} page{} tagged “{tag}”. Also as a search: tag:{tag}.", pages.len(), if pages.len() == 1 { "" } else { "s" }),
            crumbs => vec![views::Crumb { name: "Tags".into(), url: "/tags".into() }],
            items => pages.iter().map(|p| context! { title => p.title, url => format!("/wiki/{}", encode(&p.path)), note => p.path }).collect::<Vec<_>>(),
        },
    ))
}

async fn wanted(State(st): State<AppState>, actor: Actor) -> WebResult {
    let actor = reader(&st, actor)?;
    let scope = actor.scope.clone();
    let wanted = st
        .run(move |engine| engine.wanted_pages(&scope))
        .await
        .map_err(|e| st.fail(e))?;
    Ok(st.page(
        StatusCode::OK,
        "report.html",
        &actor,
        context! {
            title => "Wanted pages",
            intro => "Pages that are linked to but do not exist yet, most wanted first. Write one and every link to it lights up.",
            items => wanted.iter().map(|(p, n)| context! {
                title => p, url => format!("/edit/{}", encode(p)), missing => true,
                note => format!("{n} page{} link here", if *n == 1 { "" } else { "s" }),
            }).collect::<Vec<_>>(),
        },
    ))
}

async fn orphans(State(st): State<AppState>, actor: Actor) -> WebResult {
    let actor = reader(&st, actor)?;
    let scope = actor.scope.clone();
    let pages = st
        .run(move |engine| engine.orphans(&scope))
        .await
        .map_err(|e| st.fail(e))?;
    Ok(st.page(
        StatusCode::OK,
        "report.html",
        &actor,
        context! {
            title => "Orphaned pages",
            intro => "Pages no other page links to. Link them from somewhere people look, or they will only be found by search.",
            items => pages.iter().map(|p| context! { title => p.title, url => format!("/wiki/{}", encode(&p.path)), note => p.path }).collect::<Vec<_>>(),
        },
    ))
}

#[derive(Deserialize)]
struct SearchPageQuery {
    #[serde(default)]
    q: String,
    page: Option<usize>,
    past: Option<String>,
}

async fn search(
    State(st): State<AppState>,
    actor: Actor,
    Query(q): Query<SearchPageQuery>,
) -> WebResult {
    let actor = reader(&st, actor)?;
    let per = 20;
    let page = q.page.unwrap_or(1).clamp(1, 500);
    let query = q.q.trim().to_string();
    let (past, text) = crate::api::past_and_query(&query, q.past.as_deref());
    let started = std::time::Instant::now();
    let results = if text.is_empty() {
        None
    } else {
        let opts = casebook_engine::SearchOptions {
            facets: true,
            did_you_mean: !past,
            scope: actor.scope.clone(),
        };
        Some(
            st.run(move |engine| {
                if past {
                    engine.search_past(&text, per, (page - 1) * per, opts)
                } else {
                    engine.search_with(&text, per, (page - 1) * per, opts)
                }
            })
            .await
            .map_err(|e| st.fail(e))?,
        )
    };
    let took = format!("{:.1}", started.elapsed().as_secs_f64() * 1000.0);
    let total = results.as_ref().map(|r| r.total).unwrap_or(0);
    let facets = results
        .as_ref()
        .map(|r| search_facets(&query, &r.facets))
        .unwrap_or_default();
    let filters: Vec<_> = casebook_engine::active_filters(&query)
        .into_iter()
        .map(|f| context! { name => f.name, value => f.value, without => f.without })
        .collect();
    Ok(st.page(
        StatusCode::OK,
        "search.html",
        &actor,
        context! {
            title => if query.is_empty() { "Search".to_string() } else { format!("{query} – search") },
            q => query,
            took => took,
            total => total,
            relaxed => results.as_ref().map(|r| r.relaxed).unwrap_or(false),
            facets => facets,
            filters => filters,
            did_you_mean => results.as_ref().and_then(|r| r.did_you_mean.clone()),
            past => past,
            hits => results.map(|r| r.hits.into_iter().map(|h| context! {
                url => crate::discussions::hit_url(&h.path),
                title => h.title,
                crumbs => h.path.rsplit_once('/').map(|(f, _)| f.replace('/', " › ")),
                snippet => h.snippet,
                kind => h.kind,
                author => h.author,
                updated => (h.updated > 0).then(|| casebook_core::Timestamp::new(h.updated, 0).date()),
                revision => h.revision.clone(),
                short_revision => h.revision.as_ref().map(|r| r.chars().take(8).collect::<String>()),
            }).collect::<Vec<_>>()),
            page => page,
            prev => (page > 1).then(|| page - 1),
            next => (page * per < total).then_some(page + 1),
        },
    ))
}

/// The search page's facet groups: a label, and each value with the query that adds its filter
/// (or, when it is on already, the query without it).
fn search_facets(q: &str, groups: &[casebook_engine::FacetGroup]) -> Vec<minijinja::Value> {
    let active = casebook_engine::active_filters(q);
    groups
        .iter()
        .map(|g| {
            let label = match g.name.as_str() {
                "type" => "Type",
                "tag" => "Tags",
                _ => "Folder",
            };
            let values: Vec<_> = g
                .values
                .iter()
                .map(|v| {
                    let target = if v.active {
                        active
                            .iter()
                            .find(|a| {
                                a.name == g.name && a.value.to_lowercase() == v.value.to_lowercase()
                            })
                            .map(|a| a.without.clone())
                            .unwrap_or_else(|| q.to_string())
                    } else {
                        format!("{q} {}", v.filter)
                    };
                    context! { value => v.value, count => v.count, active => v.active, q => target }
                })
                .collect();
            context! { name => g.name, label => label, values => values }
        })
        .collect()
}

async fn static_file(State(st): State<AppState>, Path(file): Path<String>) -> Response {
    match st.theme.static_file(&file) {
        Some((data, ct)) => {
            let mut resp = (StatusCode::OK, data.into_owned()).into_response();
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
            resp
        }
        None => (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    }
}
