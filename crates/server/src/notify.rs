//! Staying informed and "this helped me": the inbox, watches and helpful marks, and telling
//! people after a change. Who is told is decided by the accounts crate (`Accounts::deliver`)
//! from a plain event; this module turns a thread or a save into that event and mails what was
//! delivered. All of it lives in the accounts database, never in the repository. Pushes have
//! no acting account and notify nobody.

use crate::http::ApiResult;
use crate::http::FormBody;
use crate::http::{JsonBody, encode};
use crate::mail::{Mail, Mailer};
use crate::{Actor, AppState, PageError, blocking};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use casebook_accounts::{
    Accounts, CommentEvent, NewNotification, Notification, User, WatchKind, What,
};
use casebook_core::{Error, FolderPath, PagePath, Result};
use casebook_engine::Thread;
use minijinja::context;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Helpful counts: page → comment id (`""` for the page) → people.
pub(crate) type HelpfulCounts = HashMap<String, HashMap<String, usize>>;

/// How many notifications the inbox shows.
const INBOX_LIMIT: usize = 100;

/// What the server keeps for notifications: the mailer, and helpful counts cached in memory
/// until a mark changes.
#[derive(Debug, Default)]
pub(crate) struct Notices {
    mailer: Option<Mailer>,
    helpful: RwLock<Option<Arc<HelpfulCounts>>>,
}

impl Notices {
    pub(crate) fn new(relay: Option<&str>, from: Option<&str>) -> Result<Notices> {
        let mailer = match (relay, from) {
            (Some(relay), Some(from)) => Some(
                Mailer::start(relay.to_string(), from.to_string())
                    .map_err(|e| Error::internal(format!("cannot start the mail thread: {e}")))?,
            ),
            _ => None,
        };
        Ok(Notices { mailer, helpful: RwLock::new(None) })
    }

    /// Every helpful count, read from the database once and kept until a mark changes.
    pub(crate) fn helpful_counts(&self, acc: &Accounts) -> Arc<HelpfulCounts> {
        if let Some(c) = self.helpful.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return c.clone();
        }
        let counts = Arc::new(acc.helpful_counts().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read helpful counts");
            HashMap::new()
        }));
        *self.helpful.write().unwrap_or_else(|p| p.into_inner()) = Some(counts.clone());
        counts
    }

    fn forget_helpful(&self) {
        *self.helpful.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// What happened, as far as notifications care.
pub(crate) enum Event {
    /// A thread was started (its first comment may mention people).
    Thread(Arc<Thread>),
    /// A comment was added to a thread.
    Reply(Arc<Thread>, String),
    /// A comment was changed: names it mentions now and did not before are told.
    CommentEdit { thread: Arc<Thread>, comment: String, before: Vec<String> },
    /// A page was edited.
    Edit { page: String },
}

/// After a save: the page's watchers are told, unless the save changed nothing.
pub(crate) async fn after_save(
    st: &AppState,
    actor: &Actor,
    path: &PagePath,
    outcome: &casebook_engine::SaveOutcome,
) {
    if let casebook_engine::SaveOutcome::Saved { unchanged: false, .. } = outcome {
        let page = path.as_str().to_string();
        after(st, actor, Event::Edit { page }).await;
    }
}

/// Tells everyone concerned about `event`, done by `actor`. Runs after the change succeeded;
/// a failure here is logged and never undoes or fails the change.
pub(crate) async fn after(st: &AppState, actor: &Actor, event: Event) {
    let (Some(acc), Some(me)) = (st.opts.accounts.clone(), actor.account.clone()) else {
        return;
    };
    let engine = st.engine.clone();
    let st2 = st.clone();
    let done = blocking(move || {
        let event = plain(event, me.name, &engine);
        let sent = acc.deliver(&event)?;
        if let Some(mailer) = &st2.notices.mailer {
            for (user, n) in sent {
                mailer.send(mail_of(&st2, &user, &n));
            }
        }
        Ok(())
    })
    .await;
    if let Err(e) = done {
        tracing::warn!(error = %e, "cannot deliver notifications");
    }
}

/// The event as the accounts crate takes it: names, titles and ids, no engine values.
fn plain(
    event: Event,
    actor: String,
    engine: &casebook_engine::Engine,
) -> casebook_accounts::Event {
    let comment = |t: &Thread, id: Option<&str>| {
        let c = match id {
            Some(id) => t.comments.iter().find(|c| c.id == id),
            None => t.comments.first(),
        };
        CommentEvent {
            thread: t.id.clone(),
            thread_title: t.title.clone(),
            comment: c.map(|c| c.id.clone()).unwrap_or_default(),
            mentions: c.map(|c| c.mentions.clone()).unwrap_or_default(),
        }
    };
    let (page, what) = match event {
        Event::Thread(t) => (t.page.clone(), What::Thread(comment(&t, None))),
        Event::Reply(t, cid) => (
            t.page.clone(),
            What::Reply {
                comment: comment(&t, Some(&cid)),
                participants: std::iter::once(&t.author)
                    .chain(t.comments.iter().map(|c| &c.author))
                    .cloned()
                    .collect(),
            },
        ),
        Event::CommentEdit { thread, comment: cid, before } => {
            let mut c = comment(&thread, Some(&cid));
            c.comment = cid;
            (thread.page.clone(), What::CommentEdit { comment: c, before })
        }
        Event::Edit { page } => (page, What::Edit),
    };
    let page_title = engine.title_of(&page).unwrap_or_else(|| page.clone());
    casebook_accounts::Event { actor, page, page_title, what }
}

/// Where a notification leads.
fn url_of(n: &NewNotification) -> String {
    let base = format!("/wiki/{}", encode(&n.page));
    if !n.comment.is_empty() {
        format!("{base}#comment-{}", n.comment)
    } else if !n.thread.is_empty() {
        format!("{base}#thread-{}", n.thread)
    } else {
        base
    }
}

fn mail_of(st: &AppState, user: &User, n: &Notification) -> Mail {
    let n = &n.what;
    let url = url_of(n);
    let link = match st.opts.public_url.as_deref() {
        Some(base) => format!("{}{url}", base.trim_end_matches('/')),
        None => url,
    };
    Mail {
        to: user.email.clone(),
        subject: format!("[{}] {}", st.opts.site_name, n.summary),
        body: format!(
            "{}\n\n{link}\n\nYour inbox: /inbox. You get this because of your account on {}.\n",
            n.summary, st.opts.site_name
        ),
    }
}

/// Routes for people.
pub(crate) fn web_routes() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(inbox_page))
        .route("/inbox/read", post(read_form))
        .route("/watch", post(watch_form))
        .route("/helpful", post(helpful_form))
}

/// Routes under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new().route("/inbox", get(api_inbox)).route("/inbox/read", post(api_read))
}

/// The signed-in account, or why not.
fn account(st: &AppState, actor: &Actor) -> Result<(Arc<Accounts>, String)> {
    actor.require_read()?;
    match (st.opts.accounts.clone(), actor.account.as_ref()) {
        (Some(acc), Some(me)) => Ok((acc, me.name.clone())),
        _ => Err(Error::unauthorized(
            "sign in to have an inbox, watch pages and mark what helped you",
        )),
    }
}

fn notification_json(n: &Notification) -> Value {
    let w = &n.what;
    json!({
        "id": n.id,
        "kind": w.kind.as_str(),
        "page": w.page,
        "thread": (!w.thread.is_empty()).then_some(&w.thread),
        "comment": (!w.comment.is_empty()).then_some(&w.comment),
        "actor": w.actor,
        "summary": w.summary,
        "url": url_of(w),
        "created": casebook_core::Timestamp::new(n.created, 0).rfc3339(),
        "read": n.read,
    })
}

async fn api_inbox(State(st): State<AppState>, actor: Actor) -> ApiResult {
    let (acc, name) = account(&st, &actor)?;
    let scope = actor.scope.clone();
    let (mut list, unread) =
        blocking(move || Ok((acc.inbox(&name, INBOX_LIMIT)?, acc.unread_count(&name, &scope)?)))
            .await?;
    // Told before a folder was closed to them: no longer theirs to read.
    list.retain(|n| actor.sees(&n.what.page));
    Ok(Json(json!({
        "unread": unread,
        "notifications": list.iter().map(notification_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReadBody {
    /// One notification; without it, all of them.
    id: Option<i64>,
}

async fn api_read(
    State(st): State<AppState>,
    actor: Actor,
    JsonBody(body): JsonBody<ReadBody>,
) -> ApiResult {
    let (acc, name) = account(&st, &actor)?;
    let unread = blocking(move || {
        match body.id {
            Some(id) => acc.mark_read(&name, id)?,
            None => {
                acc.mark_all_read(&name)?;
            }
        }
        acc.unread_count(&name, &actor.scope)
    })
    .await?;
    Ok(Json(json!({"unread": unread})).into_response())
}

async fn inbox_page(State(st): State<AppState>, actor: Actor) -> Result<Response, PageError> {
    let (acc, name) = account(&st, &actor)?;
    let (mut list, watches) =
        blocking(move || Ok((acc.inbox(&name, INBOX_LIMIT)?, acc.watches(&name)?))).await?;
    list.retain(|n| actor.sees(&n.what.page));
    let items: Vec<Value> = list
        .iter()
        .map(|n| {
            let created = casebook_core::Timestamp::new(n.created, 0);
            json!({
                "id": n.id,
                "kind": n.what.kind.as_str(),
                "summary": n.what.summary,
                "url": url_of(&n.what),
                "actor": n.what.actor,
                "date": created.short(),
                "date_iso": created.rfc3339(),
                "read": n.read,
            })
        })
        .collect();
    let watches: Vec<Value> = watches
        .iter()
        .map(|(kind, path)| {
            let url = match kind {
                WatchKind::Page => format!("/wiki/{}", encode(path)),
                WatchKind::Folder if path.is_empty() => "/browse".to_string(),
                WatchKind::Folder => format!("/wiki/{}/", encode(path)),
            };
            json!({"kind": kind.as_str(), "path": if path.is_empty() { "(all pages)" } else { path.as_str() }, "raw": path, "url": url})
        })
        .collect();
    let unread = items.iter().filter(|n| n["read"] == false).count();
    Ok(st.page(
        "inbox.html",
        &actor,
        context! { title => "Inbox", notifications => items, unread, watches },
    ))
}

#[derive(Deserialize)]
struct ReadForm {
    id: Option<i64>,
}

async fn read_form(
    State(st): State<AppState>,
    actor: Actor,
    form: std::result::Result<FormBody<ReadForm>, PageError>,
) -> Result<Response, PageError> {
    let (acc, name) = account(&st, &actor)?;
    let FormBody(form) = form?;
    blocking(move || match form.id {
        Some(id) => acc.mark_read(&name, id),
        None => acc.mark_all_read(&name).map(|_| ()),
    })
    .await?;
    Ok(Redirect::to("/inbox").into_response())
}

#[derive(Deserialize)]
struct WatchForm {
    kind: String,
    path: String,
    /// "1" to watch, "0" to stop.
    on: String,
}

async fn watch_form(
    State(st): State<AppState>,
    actor: Actor,
    form: std::result::Result<FormBody<WatchForm>, PageError>,
) -> Result<Response, PageError> {
    let (acc, name) = account(&st, &actor)?;
    let FormBody(form) = form?;
    let kind: WatchKind = form.kind.parse()?;
    let on = on_flag(&form.on)?;
    let (path, back) = match kind {
        WatchKind::Page => {
            let p = PagePath::parse(&form.path)?;
            if !st.engine.exists(&p, &actor.scope) {
                return Err(PageError(Error::not_found(format!("there is no page {p}"))));
            }
            (p.as_str().to_string(), format!("/wiki/{}", p.url_encoded()))
        }
        WatchKind::Folder => {
            let f = FolderPath::parse(form.path.trim_matches('/'))?;
            let back = if f.is_root() {
                "/browse".to_string()
            } else {
                format!("/wiki/{}/", f.url_encoded())
            };
            (f.as_str().to_string(), back)
        }
    };
    blocking(
        move || {
            if on { acc.watch(&name, kind, &path) } else { acc.unwatch(&name, kind, &path) }
        },
    )
    .await?;
    Ok(Redirect::to(&back).into_response())
}

fn on_flag(s: &str) -> Result<bool> {
    match s {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(Error::invalid("'on' is 1 or 0")),
    }
}

#[derive(Deserialize)]
struct HelpfulForm {
    page: String,
    #[serde(default)]
    comment: String,
    on: String,
}

async fn helpful_form(
    State(st): State<AppState>,
    actor: Actor,
    form: std::result::Result<FormBody<HelpfulForm>, PageError>,
) -> Result<Response, PageError> {
    let (acc, name) = account(&st, &actor)?;
    let FormBody(form) = form?;
    let on = on_flag(&form.on)?;
    let page = PagePath::parse(&form.page)?;
    actor.require_sees(page.as_str())?;
    let engine = st.engine.clone();
    let comment = form.comment.trim().to_string();
    let (p, c) = (page.clone(), comment.clone());
    let scope = actor.scope.clone();
    blocking(move || {
        if !engine.exists(&p, &scope) {
            return Err(Error::not_found(format!("there is no page {p}")));
        }
        if !c.is_empty()
            && !engine.threads(&p, &scope)?.iter().any(|t| t.comments.iter().any(|x| x.id == c))
        {
            return Err(Error::not_found("there is no such comment on this page"));
        }
        acc.set_helpful(&name, p.as_str(), &c, on)
    })
    .await?;
    st.notices.forget_helpful();
    let back = if comment.is_empty() {
        format!("/wiki/{}#helpful", page.url_encoded())
    } else {
        format!("/wiki/{}#comment-{comment}", page.url_encoded())
    };
    Ok(Redirect::to(&back).into_response())
}

/// What a page view shows of watches and helpful marks.
pub(crate) struct PageMarks {
    pub watching: bool,
    /// Helpful counts of the page (`""`) and its comments.
    pub counts: HashMap<String, usize>,
    /// What the viewer marked helpful here.
    pub mine: Vec<String>,
}

/// Watches and helpful marks for a page view: counts from the cache, and for a signed-in
/// viewer two indexed reads.
pub(crate) fn page_marks(st: &AppState, actor: &Actor, page: &str) -> PageMarks {
    let Some(acc) = st.opts.accounts.as_deref() else {
        return PageMarks { watching: false, counts: HashMap::new(), mine: Vec::new() };
    };
    let counts = st.notices.helpful_counts(acc).get(page).cloned().unwrap_or_default();
    let (watching, mine) = match &actor.account {
        Some(me) => (
            acc.is_watching(&me.name, WatchKind::Page, page).unwrap_or(false),
            acc.helpful_marks(&me.name, page).unwrap_or_default(),
        ),
        None => (false, Vec::new()),
    };
    PageMarks { watching, counts, mine }
}

/// Whether the viewer watches a folder.
pub(crate) fn watching_folder(st: &AppState, actor: &Actor, folder: &str) -> bool {
    match (st.opts.accounts.as_deref(), &actor.account) {
        (Some(acc), Some(me)) => {
            acc.is_watching(&me.name, WatchKind::Folder, folder).unwrap_or(false)
        }
        _ => false,
    }
}

/// The unread count for the header's badge (0 when it cannot be read: the badge is not worth
/// failing a page for).
pub(crate) fn unread(st: &AppState, actor: &Actor) -> usize {
    match (st.opts.accounts.as_deref(), &actor.account) {
        (Some(acc), Some(me)) => acc.unread_count(&me.name, &actor.scope).unwrap_or(0),
        _ => 0,
    }
}

/// The most helpful case stories for the home page: (path, title, count), most first.
pub(crate) fn top_case_stories(
    st: &AppState,
    actor: &Actor,
    limit: usize,
) -> Vec<(String, String, usize)> {
    let Some(acc) = st.opts.accounts.as_deref() else {
        return Vec::new();
    };
    let counts = st.notices.helpful_counts(acc);
    let mut out: Vec<(String, String, usize)> = st
        .engine
        .records("case-story", &actor.scope)
        .into_iter()
        .filter_map(|r| {
            let n = counts.get(&r.path).and_then(|c| c.get("")).copied()?;
            (n > 0).then_some((r.path, r.title, n))
        })
        .collect();
    out.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    out.truncate(limit);
    out
}
