//! A page's attachments: the JSON API under `/api/v1/pages/{path}/attachments` (list, put,
//! delete), the form for browsers without scripts at `/attachments/{path}`, and the list the
//! page and its editor show. The files are served where they live, at
//! `/wiki/<page>.files/<name>` (`read.rs`).
//!
//! The API's page route is a wildcard, so the attachments are found inside it by this rule:
//! a path ending in `/attachments` or `/attachments/<name>` whose part before names a page
//! the asker sees is that page's attachments, even when a page of the whole path exists too
//! (a page literally named `…/attachments` is then reached only by its page view). A path
//! whose part before is a page in a folder hidden from the asker is answered as missing.

use crate::http::{ApiResult, WebResult};
use crate::permission::{PageToWrite, page_to_read, page_to_write};
use crate::{Actor, ApiError, AppState};
use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use casebook_core::{ATTACHMENTS_SUFFIX, AttachmentName, Error, PagePath, url_encode_path};
use casebook_engine::AttachmentInfo;
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::json;

/// What an API path under `/pages/` names when it is an attachments resource.
pub(super) enum Target {
    /// `…/attachments`: the page's list.
    List(PagePath),
    /// `…/attachments/<name>`: one of them (the name as given, checked when used).
    One(PagePath, String),
}

/// Reads an API path as a page's attachments resource, by the rule of this module's doc:
/// `Ok(None)` when it is not one.
pub(super) fn target(st: &AppState, actor: &Actor, raw: &str) -> Result<Option<Target>, ApiError> {
    let mut candidates = Vec::new();
    if let Some(page) = raw.strip_suffix("/attachments") {
        candidates.push((page, None));
    }
    if let Some((rest, name)) = raw.rsplit_once('/')
        && let Some(page) = rest.strip_suffix("/attachments")
    {
        candidates.push((page, Some(name)));
    }
    for (page, name) in candidates {
        let Ok(path) = PagePath::parse(page) else { continue };
        // A page hidden from the asker is missing, and so are its attachments.
        page_to_read(actor, path.as_str())?;
        if st.engine.exists(&path, &actor.scope) {
            return Ok(Some(match name {
                None => Target::List(path),
                Some(name) => Target::One(path, name.to_string()),
            }));
        }
    }
    Ok(None)
}

/// One attachment as the API and the templates show it.
#[derive(Debug, Serialize)]
pub(crate) struct Listed {
    pub name: String,
    pub size: u64,
    /// Where it is served; `?v=` names its content, so the URL may be cached for good.
    pub url: String,
}

/// Where an attachment is served: `/wiki/<page>.files/<name>?v=<blob's first 12 hex digits>`.
pub(crate) fn url(page: &PagePath, name: &str, blob: &str) -> String {
    format!(
        "/wiki/{}{ATTACHMENTS_SUFFIX}/{}?v={}",
        page.url_encoded(),
        url_encode_path(name),
        &blob[..blob.len().min(12)]
    )
}

fn listed(page: &PagePath, a: AttachmentInfo) -> Listed {
    Listed { url: url(page, &a.name, &a.blob), name: a.name, size: a.size }
}

/// The attachments of a page the actor sees, for the templates of a page view or the editor
/// (`_attachments.html`). A page with none, or one that cannot be listed, shows none.
pub(crate) async fn for_page(
    st: &AppState,
    actor: &Actor,
    page: &PagePath,
) -> Vec<minijinja::Value> {
    let p = page.clone();
    match st.read(actor, move |engine, scope| engine.attachments(&p, scope)).await {
        Ok(list) => list
            .into_iter()
            .map(|a| {
                let size_text = size_text(a.size);
                let l = listed(page, a);
                minijinja::context! { name => l.name, size => l.size, url => l.url, size_text }
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// A size as people read it: `812 bytes`, `14 KB`, `2.3 MB`.
fn size_text(bytes: u64) -> String {
    match bytes {
        0..1000 => format!("{bytes} bytes"),
        1000..1_000_000 => format!("{} KB", bytes.div_ceil(1000)),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

/// `GET …/attachments`: the list, `[{name, size, url}]`.
pub(super) async fn api_list(st: AppState, actor: Actor, page: PagePath) -> ApiResult {
    let page = page_to_read(&actor, page.as_str())?;
    let p = page.clone();
    let list = st.read(&actor, move |engine, scope| engine.attachments(&p, scope)).await?;
    let list: Vec<Listed> = list.into_iter().map(|a| listed(&page, a)).collect();
    Ok(Json(list).into_response())
}

/// `GET …/attachments/<name>`: sent on to where the file is served.
pub(super) async fn api_get(st: AppState, actor: Actor, page: PagePath, name: String) -> ApiResult {
    let page = page_to_read(&actor, page.as_str())?;
    let name = AttachmentName::parse(&name)?;
    let p = page.clone();
    let list = st.read(&actor, move |engine, scope| engine.attachments(&p, scope)).await?;
    let found = list
        .into_iter()
        .find(|a| a.name == name.as_str())
        .ok_or_else(|| Error::not_found(format!("{page} has no attachment {name}")))?;
    Ok(Redirect::temporary(&url(&page, &found.name, &found.blob)).into_response())
}

/// `PUT …/attachments/<name>` with the file's bytes as the body: 201 with the attachment
/// (`{name, size, url, revision, created}`) when it is new, 200 when it replaced one.
pub(super) async fn api_put(
    st: AppState,
    actor: Actor,
    page: PagePath,
    name: String,
    body: Body,
) -> ApiResult {
    let (page, name, author) = attachment_to_change(&actor, &page, &name)?;
    let content = read_limited(body, st.engine.max_attachment_bytes()).await?;
    let p = page.clone();
    let done = st.run(move |engine| engine.put_attachment(&p, &name, content, &author)).await?;
    let status = if done.created { StatusCode::CREATED } else { StatusCode::OK };
    let l = listed(&page, done.attachment);
    Ok((
        status,
        Json(json!({
            "name": l.name,
            "size": l.size,
            "url": l.url,
            "revision": done.revision,
            "created": done.created,
        })),
    )
        .into_response())
}

/// The page, the attachment's name and the author of a change the actor asks for, once the
/// actor may edit and may write that page.
fn attachment_to_change(
    actor: &Actor,
    page: &PagePath,
    name: &str,
) -> Result<(PagePath, AttachmentName, casebook_core::Author), Error> {
    actor.require_edit()?;
    let page = page_to_write(actor, page.as_str())?;
    Ok((page, AttachmentName::parse(name)?, actor.author.clone()))
}

/// `DELETE …/attachments/<name>`: 204.
pub(super) async fn api_delete(
    st: AppState,
    actor: Actor,
    page: PagePath,
    name: String,
) -> ApiResult {
    let (page, name, author) = attachment_to_change(&actor, &page, &name)?;
    st.run(move |engine| engine.delete_attachment(&page, &name, &author)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A method the attachments resource does not answer.
pub(super) fn not_here(method: &str, target: &Target) -> ApiError {
    let what = match target {
        Target::List(_) => {
            "GET lists a page's attachments; PUT and DELETE go to …/attachments/{name}"
        }
        Target::One(..) => "an attachment answers GET, PUT (its bytes) and DELETE",
    };
    ApiError(Error::invalid(format!("{method} is not for this address: {what}")))
}

/// The too-large error, naming the setting.
fn too_large(max: usize) -> Error {
    Error::too_large(format!(
        "the file is larger than this wiki accepts: at most {max} bytes (max_attachment_bytes)"
    ))
}

/// Reads a request body of at most `max` bytes. A larger one is refused (413) after reading
/// and dropping up to `max` bytes more, so a client that sends its whole body before reading
/// the answer hears why rather than a reset connection.
async fn read_limited(body: Body, max: usize) -> Result<Vec<u8>, Error> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    let mut dropped = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::invalid(format!("cannot read the file: {e}")))?;
        if dropped > 0 || out.len() + chunk.len() > max {
            dropped += chunk.len();
            out = Vec::new();
            if dropped > max {
                break;
            }
            continue;
        }
        out.extend_from_slice(&chunk);
    }
    if dropped > 0 {
        return Err(too_large(max));
    }
    Ok(out)
}

/// `POST /attachments/{*path}`, for browsers without scripts: a `multipart/form-data` upload
/// of one file (field `file`, named as the browser names it), or a form with `delete=<name>`;
/// either way back to the page (`back=edit`: its editor).
pub(crate) async fn form_post(
    State(st): State<AppState>,
    PageToWrite(actor, page): PageToWrite,
    req: Request,
) -> WebResult {
    if !st.engine.exists(&page, &actor.scope) {
        return Err(Error::not_found(format!("there is no page {page}")).into());
    }
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let author = actor.author.clone();
    let p = page.clone();
    let back =
        if multipart {
            let max = st.engine.max_attachment_bytes();
            let mut form = Multipart::from_request(req, &st)
                .await
                .map_err(|e| Error::invalid(format!("the form could not be read: {e}")))?;
            let mut back = None;
            let mut file = None;
            while let Some(mut field) = form
                .next_field()
                .await
                .map_err(|e| Error::invalid(format!("the form could not be read: {e}")))?
            {
                match field.name() {
                    Some("back") => {
                        // A word at most; a longer value is not one this form sends.
                        let mut text = Vec::new();
                        while let Ok(Some(chunk)) = field.chunk().await {
                            text.extend_from_slice(&chunk);
                            if text.len() > 64 {
                                break;
                            }
                        }
                        back = String::from_utf8(text).ok();
                    }
                    Some("file") => {
                        let name = field.file_name().unwrap_or_default().to_string();
                        // Browsers send the name alone; some old ones a whole path.
                        let name = name.rsplit(['/', '\\']).next().unwrap_or_default().to_string();
                        let mut content = Vec::new();
                        while let Some(chunk) = field.chunk().await.map_err(|e| {
                            Error::invalid(format!("the file could not be read: {e}"))
                        })? {
                            if content.len() + chunk.len() > max {
                                return Err(too_large(max).into());
                            }
                            content.extend_from_slice(&chunk);
                        }
                        file = Some((name, content));
                    }
                    _ => {}
                }
            }
            let (name, content) =
                file.ok_or_else(|| Error::invalid("choose a file to attach, then press Attach"))?;
            if name.is_empty() {
                return Err(Error::invalid("choose a file to attach, then press Attach").into());
            }
            let name = AttachmentName::parse(&name)?;
            st.run(move |engine| engine.put_attachment(&p, &name, content, &author).map(|_| ()))
                .await?;
            back
        } else {
            let crate::http::FormBody(form) =
                crate::http::FormBody::<DeleteForm>::from_request(req, &st).await?;
            let name = AttachmentName::parse(&form.delete)?;
            st.run(move |engine| engine.delete_attachment(&p, &name, &author).map(|_| ())).await?;
            form.back
        };
    let to = match back.as_deref() {
        Some("edit") => format!("/edit/{}", page.url_encoded()),
        _ => format!("/wiki/{}#attachments", page.url_encoded()),
    };
    Ok(Redirect::to(&to).into_response())
}

#[derive(serde::Deserialize)]
struct DeleteForm {
    delete: String,
    #[serde(default)]
    back: Option<String>,
}
