//! The page as a resource to read: a page (or the attachment, folder or other spelling at its
//! address), a folder's listing, a page's history and the difference between two revisions.

use crate::http::WebResult;
use crate::http::encode;
use crate::permission::{PageToRead, Reader};
use crate::views::{self, Crumb};
use crate::{Actor, AppState, PageError};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use casebook_core::{Error, FolderPath, PagePath, Revision};
use casebook_engine::Attachment;
use minijinja::context;
use serde::Deserialize;

pub(crate) async fn view(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Path(raw): Path<String>,
    Query(q): Query<ViewQuery>,
    headers: HeaderMap,
) -> WebResult {
    if let Some(folder) = raw.strip_suffix('/') {
        return folder_page(&st, &actor, folder);
    }
    let path = PagePath::parse(&raw)?;
    let rev = match q.rev.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => Some(Revision::parse(r)?),
        None => None,
    };
    if !actor.sees(path.as_str()) || rev.is_none() && !st.engine.exists(&path, &actor.scope) {
        let served =
            Served { if_none_match: headers.get(header::IF_NONE_MATCH), versioned: q.v.is_some() };
        return missing(&st, &actor, &raw, &path, served).await;
    }
    let p = path.clone();
    let (page, backlinks, related, threads) = st
        .read(&actor, move |engine, scope| {
            let page = engine.page(&p, rev.as_ref(), scope)?;
            let backlinks = engine.backlinks(&p, scope)?;
            let related = engine.related(&page, 6, scope)?;
            let threads = if page.historic { Vec::new() } else { engine.threads(&p, scope)? };
            Ok((page, backlinks, related, threads))
        })
        .await?;
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
        Some(("ok", "Restored the earlier version as a new revision.".to_string()))
    } else {
        None
    };
    let attachments = if page.historic {
        Vec::new()
    } else {
        super::attachments::for_page(&st, &actor, &path).await
    };
    let card = crate::records::card(&st.engine, &page.rendered.front_matter);
    let marks = crate::notify::page_marks(&st, &actor, path.as_str());
    let mut threads = crate::discussions::thread_views(&threads, &actor);
    for c in threads.iter_mut().flat_map(|t| t.comments.iter_mut()) {
        c.helpful = marks.counts.get(&c.id).copied().unwrap_or(0);
        c.helped_me = marks.mine.contains(&c.id);
    }
    Ok(st.page(
        "page.html",
        &actor,
        context! {
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
            attachments => attachments,
            attach_name => path.name(),
            can_discuss => actor.can_discuss(),
            watching => marks.watching,
            helpful => marks.counts.get("").copied().unwrap_or(0),
            helped_me => marks.mine.iter().any(String::is_empty),
            ..views::page_head(&path, page.title),
        },
    ))
}

/// How a request for a file asks for it: a validator it holds, and whether its URL names the
/// content (`?v=`, as the attachments' listing gives it).
struct Served<'a> {
    if_none_match: Option<&'a HeaderValue>,
    versioned: bool,
}

/// A page that does not exist (or that the reader may not see): an attachment of that name, a
/// folder, another spelling, or an offer to create it.
async fn missing(
    st: &AppState,
    actor: &Actor,
    raw: &str,
    path: &PagePath,
    served: Served<'_>,
) -> WebResult {
    let file = raw.to_string();
    if actor.sees(raw)
        && let Some(found) = st.run(move |engine| engine.attachment(&file)).await?
    {
        // The blob id names the content, so it is the validator. A URL carrying `?v=` (the
        // blob's start, from the listing) names one content for good; it is private all the
        // same, since folder rules may hide the file from others behind a shared cache.
        let etag = HeaderValue::from_str(&format!("\"{}\"", found.blob()))
            .map_err(|_| Error::internal("a blob id is not a header value"))?;
        let cache = HeaderValue::from_static(if served.versioned {
            "private, max-age=31536000, immutable"
        } else {
            "private, no-cache"
        });
        if served.if_none_match.is_some_and(|given| matches_etag(given, found.blob())) {
            let mut resp = StatusCode::NOT_MODIFIED.into_response();
            resp.headers_mut().insert(header::ETAG, etag);
            resp.headers_mut().insert(header::CACHE_CONTROL, cache);
            return Ok(resp);
        }
        let (body, len) = match found {
            Attachment::Read { content, .. } => {
                let len = content.len() as u64;
                (Body::from(content), len)
            }
            Attachment::Large { blob, size } => {
                (crate::git::blob_body(st.engine.repo_path(), &blob)?, size)
            }
        };
        let mut resp = attachment(raw, body, len);
        resp.headers_mut().insert(header::ETAG, etag);
        resp.headers_mut().insert(header::CACHE_CONTROL, cache);
        return Ok(resp);
    }
    let folder = FolderPath::parse(raw)?;
    let listing = st.engine.listing(&folder, &actor.scope);
    if !listing.pages.is_empty() || !listing.folders.is_empty() {
        return Ok(Redirect::to(&format!("/wiki/{}/", folder.url_encoded())).into_response());
    }
    let p = path.clone();
    // Only a page the reader may see at its old address leads on: following a move out of a
    // hidden folder would tell the hidden name.
    if actor.sees(path.as_str())
        && let Some(moved) = st.run(move |engine| Ok(engine.moved_to(&p))).await?
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
    let page = st.page("missing.html", actor, views::page_head(path, path.name()));
    Ok((StatusCode::NOT_FOUND, page).into_response())
}

/// Whether an `If-None-Match` header names the blob `blob` (or is `*`); weak validators
/// compare as strong ones, as RFC 9110 has it for `If-None-Match`.
fn matches_etag(given: &HeaderValue, blob: &str) -> bool {
    let Ok(given) = given.to_str() else {
        return false;
    };
    given
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == blob)
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
        HeaderValue::from_static(if inline { ct } else { "application/octet-stream" }),
    );
    if !inline {
        let file = name.rsplit('/').next().unwrap_or("file").replace(['"', '\\', '\r', '\n'], "_");
        if let Ok(v) =
            HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.escape_default()))
        {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    resp
}

pub(crate) async fn browse_root(State(st): State<AppState>, Reader(actor): Reader) -> WebResult {
    folder_page(&st, &actor, "")
}

fn folder_page(st: &AppState, actor: &Actor, raw: &str) -> WebResult {
    let folder = FolderPath::parse(raw)?;
    let listing = st.engine.listing(&folder, &actor.scope);
    if !folder.is_root() && listing.pages.is_empty() && listing.folders.is_empty() {
        return Err(PageError(Error::not_found(format!("there is no folder {folder}"))));
    }
    let crumbs: Vec<Crumb> = match folder.parent() {
        Some(parent) => views::crumbs(&parent),
        None => Vec::new(),
    };
    Ok(st.page(
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

pub(crate) async fn history(
    State(st): State<AppState>,
    PageToRead(actor, path): PageToRead,
) -> WebResult {
    let p = path.clone();
    let history = st.read(&actor, move |engine, scope| engine.history(&p, 500, scope)).await?;
    let revs = history.entries;
    if revs.is_empty() {
        return Err(Error::not_found(format!("{path} has no history")).into());
    }
    Ok(st.page(
        "history.html",
        &actor,
        context! {
            revisions => views::changes(&revs),
            hidden_earlier => history.hidden_earlier > 0,
            ..views::page_head(&path, st.engine.title_of(path.as_str()).unwrap_or_else(|| path.name().to_string())),
        },
    ))
}

pub(crate) async fn diff(
    State(st): State<AppState>,
    PageToRead(actor, path): PageToRead,
    Query(q): Query<DiffQuery>,
) -> WebResult {
    let parse = |r: Option<&str>| -> Result<Option<Revision>, PageError> {
        match r.map(str::trim).filter(|s| !s.is_empty()) {
            Some(r) => Revision::parse(r).map(Some).map_err(PageError),
            None => Ok(None),
        }
    };
    let from = parse(q.from.as_deref())?;
    let to = parse(q.to.as_deref())?;
    let p = path.clone();
    let (from, to, text) = st
        .read(&actor, move |engine, scope| {
            let history = engine.history(&p, 2, scope)?.entries;
            let to = match to {
                Some(t) => t,
                None => history
                    .first()
                    .map(|c| c.revision.clone())
                    .ok_or_else(|| Error::not_found("the page has no history"))?,
            };
            let from = match from {
                Some(f) => f,
                None => history.get(1).map(|c| c.revision.clone()).unwrap_or_else(|| to.clone()),
            };
            let text = engine.diff(&p, &from, &to)?;
            Ok((from, to, text))
        })
        .await?;
    Ok(st.page(
        "diff.html",
        &actor,
        context! {
            from => from.to_string(),
            to => to.to_string(),
            lines => views::diff_lines(&text),
            empty => text.trim().is_empty(),
            ..views::page_head(&path, st.engine.title_of(path.as_str()).unwrap_or_else(|| path.name().to_string())),
        },
    ))
}

#[derive(Deserialize, Default)]
pub(crate) struct ViewQuery {
    rev: Option<String>,
    saved: Option<String>,
    merged: Option<String>,
    moved: Option<String>,
    reverted: Option<String>,
    /// On an attachment's URL: the start of its blob id, naming the content for caches.
    v: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}
