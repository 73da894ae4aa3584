//! Discussions: threads of comments on a page, kept in the content repository beside the pages.
//!
//! Layout (all under a hidden folder, so a discussion can never be mistaken for a page):
//!
//! ```text
//! .casebook/discussions/<page path>/<thread id>/thread.md      title, status, who started it, when
//! .casebook/discussions/<page path>/<thread id>/<comment id>.md one comment: author, date, markdown
//! ```
//!
//! Each file is YAML front matter followed by markdown (`thread.md` has no body). Ids are the UTC
//! time plus four hex digits (`20261201-093000-3fa2`), so a folder listing is in order of time
//! and two people starting a thread in the same second do not collide. Every action (start,
//! reply, edit, resolve, reopen) is one commit by the person acting; an edited comment's old text
//! stays in git history.
//!
//! This file holds the files' format and reading threads; the actions that commit are in
//! `discuss.rs`.

pub use crate::threads::ROOT;
pub(crate) use crate::threads::{parse_file, thread_dir};
use crate::{Engine, Inner};
use casebook_core::{Author, Error, PagePath, ReadScope, Result, Timestamp};
use casebook_search::IndexDoc;
use casebook_store::{BlobId, Change};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Longest thread title accepted, in characters.
pub const MAX_TITLE: usize = 200;

/// Whether a thread is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Resolved,
}

impl std::str::FromStr for Status {
    type Err = Error;
    fn from_str(s: &str) -> Result<Status> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" | "reopen" | "reopened" => Ok(Status::Open),
            "resolved" | "resolve" | "closed" => Ok(Status::Resolved),
            other => {
                Err(Error::invalid(format!("a discussion is open or resolved, not '{other}'")))
            }
        }
    }
}

/// One comment of a thread.
#[derive(Debug, Clone, Serialize)]
pub struct Comment {
    pub id: String,
    pub author: Author,
    pub date: Timestamp,
    /// When the text was last changed, if ever.
    pub edited: Option<Timestamp>,
    pub markdown: String,
    /// Sanitised HTML of the markdown.
    pub html: String,
    /// The text without markup (for search).
    #[serde(skip)]
    pub text: String,
    /// People mentioned as `@name`.
    pub mentions: Vec<String>,
    /// The pages its links lead to (those that exist).
    #[serde(skip)]
    pub links: Vec<String>,
}

/// A thread with its comments, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct Thread {
    pub id: String,
    /// The page the thread is about.
    pub page: String,
    pub title: String,
    pub status: Status,
    pub author: Author,
    pub created: Timestamp,
    /// The newest comment's date (or the start).
    pub updated: Timestamp,
    pub comments: Vec<Comment>,
}

/// `thread.md`'s front matter.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ThreadHead {
    pub title: String,
    pub status: Status,
    pub author: String,
    #[serde(default)]
    pub email: String,
    pub created: String,
}

/// A comment file's front matter.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CommentHead {
    pub author: String,
    #[serde(default)]
    pub email: String,
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited: Option<String>,
}

/// The page a discussion file of the repository is about (`None` for other files).
pub fn discussed_page(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(ROOT)?;
    let (dir, _) = rest.rsplit_once('/')?;
    let (page, thread) = dir.rsplit_once('/')?;
    is_id(thread).then_some(page)
}

/// The page a file of the repository stands for: a page's own file, or one of its discussions.
pub fn page_of_file(path: &str) -> Option<&str> {
    discussed_page(path).or_else(|| PagePath::from_file(path).map(|_| &path[..path.len() - 3]))
}

/// Whether `s` is a thread or comment id (the rule lives with the folder mapping in core).
pub use casebook_core::is_discussion_id as is_id;

/// A new id for a thread or comment made at `now`. The four hex digits are the millisecond
/// (times 64) plus six random bits, so ids sort in order of time even within one second.
pub(crate) fn new_id(now: Timestamp) -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(nanos);
    let millis = ((nanos / 1_000_000) % 1000) as u64;
    let stamp: String = now.rfc3339().chars().filter(|c| c.is_ascii_digit()).collect();
    format!("{}-{}-{:04x}", &stamp[..8], &stamp[8..14], millis * 64 + (h.finish() & 63))
}

/// A new id that sorts after `last` (the newest comment of a thread), whatever the clock says.
pub(crate) fn new_id_after(now: Timestamp, last: Option<&str>) -> String {
    let id = new_id(now);
    match last {
        Some(last) if id.as_str() <= last => {
            let n = u16::from_str_radix(&last[16..], 16).unwrap_or(0);
            match n.checked_add(1) {
                Some(n) => format!("{}{n:04x}", &last[..16]),
                None => format!("{}ffff", &last[..16]),
            }
        }
        _ => id,
    }
}

pub(crate) fn write_file<T: Serialize>(head: &T, body: &str) -> Result<Vec<u8>> {
    let front = serde_norway::to_string(head)
        .map_err(|e| Error::internal(format!("cannot write a discussion file: {e}")))?;
    let mut out = format!("---\n{front}---\n");
    if !body.is_empty() {
        out.push('\n');
        out.push_str(body.trim_end());
        out.push('\n');
    }
    Ok(out.into_bytes())
}

/// A discussion file's head (its front matter) and its markdown, as [`write_file`] writes them:
/// the blank line between the two is not part of the markdown.
pub(crate) fn read_head<T: for<'de> Deserialize<'de>>(text: &str) -> Option<(T, &str)> {
    let (front, body) = casebook_markdown::split_front_matter(text);
    let head = serde_norway::from_str(front?).ok()?;
    let body = body.strip_prefix("\r\n").or_else(|| body.strip_prefix('\n')).unwrap_or(body);
    Some((head, body))
}

/// Checks a comment body and a thread title.
pub(crate) fn check_body(body: &str, max: usize) -> Result<&str> {
    let body = body.trim();
    if body.is_empty() {
        return Err(Error::invalid("write something first: the comment is empty"));
    }
    if body.len() > max {
        return Err(Error::too_large(format!(
            "the comment is {} bytes; the limit is {max} bytes",
            body.len()
        )));
    }
    Ok(body)
}

pub(crate) fn check_title(title: &str) -> Result<String> {
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() {
        return Err(Error::invalid("give the discussion a title"));
    }
    if title.chars().count() > MAX_TITLE {
        return Err(Error::invalid(format!("the title is longer than {MAX_TITLE} characters")));
    }
    Ok(title)
}

/// A thread read from the head, with the blobs it was read from (to know when it is stale).
pub(crate) type CachedThread = (u64, Vec<BlobId>, Arc<Thread>);

/// Whether `a` and `b` are the same author of a thread or comment: the same account name, case
/// aside (account names are unique regardless of case). E-mail addresses are never compared:
/// they are not unique, and one may come unverified from a sign-on provider.
pub fn same_author(a: &Author, b: &Author) -> bool {
    !a.name.is_empty() && a.name.eq_ignore_ascii_case(&b.name)
}

/// The pages a rendering's links lead to, those that exist.
fn existing_links(r: &casebook_markdown::Rendered) -> Vec<String> {
    r.links.iter().filter(|l| l.exists).map(|l| l.path.clone()).collect()
}

/// The thread as a reader with `scope` sees it: a comment whose links lead into folders closed
/// to the reader is rendered again for them, those links shown as missing (the cached thread
/// keeps the rendering everyone else sees).
fn as_seen(inner: &Inner, t: Arc<Thread>, scope: &ReadScope) -> Arc<Thread> {
    let hides = |c: &Comment| c.links.iter().any(|l| !scope.sees(l));
    if !t.comments.iter().any(hides) {
        return t;
    }
    let mut t = (*t).clone();
    let page = t.page.clone();
    let snap = inner.snap.read().unwrap_or_else(|e| e.into_inner());
    let seen = crate::state::Visible { snap: &snap, scope };
    let cx = crate::link_context(&page, &seen);
    for c in t.comments.iter_mut().filter(|c| hides(c)) {
        let r = casebook_markdown::render_fragment(&c.markdown, &cx);
        c.links = existing_links(&r);
        c.html = r.html;
    }
    Arc::new(t)
}

/// Reads a thread at the head, rendering its comments; cached until one of its files changes.
pub(crate) fn load(inner: &Inner, id: &str) -> Result<Option<Arc<Thread>>> {
    let (page, files, generation) = {
        let snap = inner.snap.read().unwrap_or_else(|e| e.into_inner());
        let Some(t) = snap.threads.threads.get(id) else {
            return Ok(None);
        };
        if !t.has_head {
            return Ok(None);
        }
        let dir = thread_dir(&t.page, id);
        let mut files = Vec::with_capacity(t.comments.len() + 1);
        for name in std::iter::once("thread").chain(t.comments.iter().map(String::as_str)) {
            let path = format!("{dir}{name}.md");
            if let Some(b) = snap.files.get(&path) {
                files.push((name.to_string(), *b));
            }
        }
        (t.page.clone(), files, snap.generation)
    };
    let blobs: Vec<BlobId> = files.iter().map(|(_, b)| *b).collect();
    if let Some((g, b, t)) = inner.threads.lock().unwrap_or_else(|e| e.into_inner()).get(id)
        && *g == generation
        && *b == blobs
    {
        return Ok(Some(t.clone()));
    }
    let mut thread: Option<Thread> = None;
    let mut comments = Vec::new();
    for (name, blob) in &files {
        // A file pushed over the page limit is never read: a thread without its head is not
        // shown, a comment shows that it is too large.
        let bytes = match inner.store.blob(*blob, inner.opts.max_page_bytes) {
            Ok(bytes) => bytes,
            Err(e) if e.kind == casebook_core::ErrorKind::TooLarge => {
                tracing::warn!(thread = id, file = %name, error = %e, "a discussion's file is over the page limit; it is not read");
                if name == "thread" {
                    return Ok(None);
                }
                format!(
                    "---\nauthor: unknown\ndate: ''\n---\n*This comment is {}, so it is not shown.*\n",
                    e.message
                )
                .into_bytes()
            }
            Err(e) => return Err(e),
        };
        let text = String::from_utf8_lossy(&bytes);
        if name == "thread" {
            let Some((head, _)) = read_head::<ThreadHead>(&text) else {
                tracing::warn!(thread = id, "cannot read a discussion's thread.md");
                return Ok(None);
            };
            let created = Timestamp::parse_rfc3339(&head.created).unwrap_or(Timestamp::new(0, 0));
            thread = Some(Thread {
                id: id.to_string(),
                page: page.clone(),
                title: head.title,
                status: head.status,
                author: Author::new(head.author, head.email),
                created,
                updated: created,
                comments: Vec::new(),
            });
            continue;
        }
        // A comment that cannot be read is shown as its raw text rather than dropped.
        let (author, date, edited, markdown) = match read_head::<CommentHead>(&text) {
            Some((h, body)) => (
                Author::new(h.author, h.email),
                Timestamp::parse_rfc3339(&h.date),
                h.edited.as_deref().and_then(Timestamp::parse_rfc3339),
                body.trim_end().to_string(),
            ),
            None => (Author::new("unknown", ""), None, None, text.to_string()),
        };
        let rendered = {
            let snap = inner.snap.read().unwrap_or_else(|e| e.into_inner());
            let cx = crate::link_context(&page, &*snap);
            casebook_markdown::render_fragment(&markdown, &cx)
        };
        comments.push(Comment {
            date: date.unwrap_or_else(|| id_time(name)),
            id: name.clone(),
            author,
            edited,
            links: existing_links(&rendered),
            html: rendered.html,
            text: rendered.text,
            mentions: rendered.mentions,
            markdown,
        });
    }
    let Some(mut thread) = thread else {
        return Ok(None);
    };
    if let Some(last) = comments.iter().map(|c| c.edited.unwrap_or(c.date)).max() {
        thread.updated = thread.updated.max(last);
    }
    thread.comments = comments;
    let thread = Arc::new(thread);
    let mut cache = inner.threads.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() > 10_000 {
        cache.clear();
    }
    cache.insert(id.to_string(), (generation, blobs, thread.clone()));
    Ok(Some(thread))
}

/// The time an id was made, for a comment whose front matter lost its date.
fn id_time(id: &str) -> Timestamp {
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &id[0..4],
        &id[4..6],
        &id[6..8],
        &id[9..11],
        &id[11..13],
        &id[13..15]
    );
    Timestamp::parse_rfc3339(&iso).unwrap_or(Timestamp::new(0, 0))
}

/// The search document of a thread: its title and every comment's text.
pub(crate) fn index_doc(t: &Thread) -> IndexDoc {
    IndexDoc {
        path: casebook_core::thread_doc_id(&t.page, &t.id),
        title: t.title.clone(),
        headings: Vec::new(),
        body: t.comments.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join("\n\n"),
        tags: Vec::new(),
        kind: "discussion".into(),
        author: t.author.name.clone(),
        updated: t.updated.seconds,
        links: Vec::new(),
        fields: Default::default(),
        revision: String::new(),
    }
}

impl Engine {
    /// The threads of a page, oldest first, as a reader with `scope` sees them.
    pub fn threads(&self, page: &PagePath, scope: &ReadScope) -> Result<Vec<Arc<Thread>>> {
        let ids: Vec<String> = self
            .snapshot()
            .threads
            .by_page
            .get(page.as_str())
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(t) = load(&self.inner, &id)?
                && scope.sees(&t.page)
            {
                out.push(as_seen(&self.inner, t, scope));
            }
        }
        Ok(out)
    }

    /// One thread by id.
    /// A thread on a page in a folder `scope` does not see is answered as one that does not
    /// exist, here and in every method that changes a thread.
    pub fn thread(&self, id: &str, scope: &ReadScope) -> Result<Arc<Thread>> {
        let missing = || Error::not_found(format!("there is no discussion {id}"));
        if !is_id(id) {
            return Err(missing());
        }
        load(&self.inner, id)?
            .filter(|t| scope.sees(&t.page))
            .map(|t| as_seen(&self.inner, t, scope))
            .ok_or_else(missing)
    }

    /// Threads across the wiki with the given status (all when `None`) on pages `scope` sees,
    /// most recently active first.
    pub fn all_threads(
        &self,
        status: Option<Status>,
        limit: usize,
        scope: &ReadScope,
    ) -> Result<Vec<Arc<Thread>>> {
        let ids: Vec<String> = self.snapshot().threads.threads.keys().cloned().collect();
        let mut out = Vec::new();
        for id in ids {
            if let Some(t) = load(&self.inner, &id)?
                && status.is_none_or(|s| s == t.status)
                && scope.sees(&t.page)
            {
                out.push(as_seen(&self.inner, t, scope));
            }
        }
        out.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| b.id.cmp(&a.id)));
        out.truncate(limit);
        Ok(out)
    }

    /// The changes that carry a page's discussions along when it moves to `to`, or remove them
    /// with it (`to = None`).
    pub(crate) fn discussion_changes(&self, from: &PagePath, to: Option<&PagePath>) -> Vec<Change> {
        let old_prefix = format!("{ROOT}{}/", from.as_str());
        self.snapshot()
            .threads
            .files_of_page(from.as_str())
            .into_iter()
            .map(|file| match to {
                Some(to) => Change::Move {
                    to: format!("{ROOT}{}/{}", to.as_str(), &file[old_prefix.len()..]),
                    from: file,
                },
                None => Change::Delete { path: file },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threads::{FileKey, ThreadIndex};
    use std::collections::BTreeSet;

    #[test]
    fn ids_are_recognised_and_unique_enough() {
        let now = Timestamp::new(1_795_763_327, 0);
        let a = new_id(now);
        assert!(is_id(&a), "{a}");
        assert!(a.starts_with("20261127-070847-"));
        let many: BTreeSet<String> = (0..50).map(|_| new_id(now)).collect();
        assert!(many.len() > 20, "ids of one second still differ");
        let later = new_id_after(now, Some("20261127-070847-fff0"));
        assert_eq!(later, "20261127-070847-fff1");
        assert!(is_id(&later));
        let past = Timestamp::new(1_000_000_000, 0);
        assert!(new_id_after(past, Some(&a)) > a, "a slow clock still sorts after");
        for bad in ["", "thread", "20261127-070847-zzzz", "20261127_070847-0000", "../../x"] {
            assert!(!is_id(bad), "{bad}");
        }
    }

    #[test]
    fn files_are_read_back_from_their_paths() {
        let k = parse_file(".casebook/discussions/cases/Deal X/20261127-070847-00af/thread.md");
        assert_eq!(
            k,
            Some(FileKey {
                page: "cases/Deal X".into(),
                thread: "20261127-070847-00af".into(),
                comment: None
            })
        );
        let c =
            parse_file(".casebook/discussions/Home/20261127-070847-00af/20261127-070900-1234.md")
                .unwrap();
        assert_eq!(c.page, "Home");
        assert_eq!(c.comment.as_deref(), Some("20261127-070900-1234"));
        for other in [
            "Home.md",
            ".casebook/discussions/Home/thread.md",
            ".casebook/discussions/20261127-070847-00af/thread.md",
            ".casebook/discussions/Home/20261127-070847-00af/notes.md",
            ".casebook/discussions/../x/20261127-070847-00af/thread.md",
        ] {
            assert_eq!(parse_file(other), None, "{other}");
        }
    }

    #[test]
    fn heads_round_trip_through_yaml() {
        let head = ThreadHead {
            title: "Why: \"we\" won --- or not?".into(),
            status: Status::Open,
            author: "Ann".into(),
            email: "ann@example.com".into(),
            created: "2026-11-27T07:08:47Z".into(),
        };
        let bytes = write_file(&head, "").unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let (back, body): (ThreadHead, &str) = read_head(&text).unwrap();
        assert_eq!(back.title, head.title);
        assert_eq!(back.status, Status::Open);
        assert_eq!(body, "");
        let c = write_file(
            &CommentHead {
                author: "Bo".into(),
                email: String::new(),
                date: "2026-11-27T07:08:47Z".into(),
                edited: None,
            },
            "Hello\n\n---\n\nworld\n",
        )
        .unwrap();
        let text = String::from_utf8(c).unwrap();
        let (_, body): (CommentHead, &str) = read_head(&text).unwrap();
        assert_eq!(body, "Hello\n\n---\n\nworld\n");
    }

    #[test]
    fn the_index_follows_files_coming_and_going() {
        let mut ix = ThreadIndex::default();
        let t = ".casebook/discussions/P/20261127-070847-00af/";
        for f in ["thread.md", "20261127-070900-0001.md", "20261127-070901-0002.md"] {
            ix.add(parse_file(&format!("{t}{f}")).unwrap());
        }
        assert_eq!(ix.files_of_page("P").len(), 3);
        for f in ["thread.md", "20261127-070900-0001.md", "20261127-070901-0002.md"] {
            ix.remove(&parse_file(&format!("{t}{f}")).unwrap());
        }
        assert!(ix.threads.is_empty() && ix.by_page.is_empty());
    }
}
