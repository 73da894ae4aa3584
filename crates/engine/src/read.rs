//! Reading pages at the head or at a revision, as one reader sees them: rendered (through a
//! shared cache of renderings), titles, the last change of a page, and attachments.

use crate::{CACHE_LIMIT, Engine, link_context, state};
use casebook_core::{Author, Error, PagePath, ReadScope, Result, Revision, Timestamp};
use casebook_markdown::Rendered;
use casebook_store::{BlobId, CommitInfo};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// A page as read at some revision, rendered.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub path: PagePath,
    pub title: String,
    pub markdown: String,
    pub rendered: Arc<Rendered>,
    /// The commit that last changed the page (at or before the revision read).
    pub revision: Option<Revision>,
    pub updated: Option<Timestamp>,
    pub author: Option<Author>,
    /// True when read at an older revision than the head.
    pub historic: bool,
    /// True when some of its links lead into folders closed to the reader, and were rendered
    /// for the reader alone as links to missing pages.
    pub links_hidden: bool,
}

/// A file to serve as it is (see [`Engine::attachment`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attachment {
    /// Its content, read, and its blob id (hex).
    Read { content: Vec<u8>, blob: String },
    /// Too large to read at once: its blob id (hex) and size, to stream from git.
    Large { blob: String, size: u64 },
}

impl Attachment {
    /// The blob id (hex): the same exactly when the content is, so a validator for caches.
    pub fn blob(&self) -> &str {
        match self {
            Attachment::Read { blob, .. } | Attachment::Large { blob, .. } => blob,
        }
    }
}

/// The largest attachment read into memory to be served; larger ones are streamed.
pub const ATTACHMENT_READ_MAX: usize = 1 << 20;

/// Rendered pages by (path, blob), with the snapshot generation they were rendered at.
#[derive(Default)]
pub(crate) struct RenderCache {
    pages: HashMap<(String, BlobId), (u64, Arc<Rendered>)>,
    /// Roughly the memory the cached renderings take (their HTML and text).
    bytes: usize,
}

/// The most the render cache may hold (HTML and text), so a large wiki read page after page
/// does not grow the server without bound; it is emptied when full.
const RENDER_CACHE_BYTES: usize = 96 << 20;

impl Engine {
    /// Whether the page exists at the head for a reader who sees `scope`: a page in a folder
    /// hidden from them does not.
    pub fn exists(&self, path: &PagePath, scope: &ReadScope) -> bool {
        scope.sees(path.as_str()) && self.snapshot().pages.contains_key(path.as_str())
    }

    /// The page's path if a page of that name exists in another spelling of case.
    pub fn find_page(&self, name: &str) -> Option<String> {
        use casebook_markdown::Pages;
        self.snapshot().find(name)
    }

    /// Titles of pages by path, for showing links.
    pub fn title_of(&self, path: &str) -> Option<String> {
        self.snapshot().pages.get(path).map(|m| m.title.clone())
    }

    /// Reads a page at the head, or at `rev`, as a reader with `scope` sees it: a page in a
    /// folder closed to the reader is missing, and links into such folders lead nowhere.
    pub fn page(&self, path: &PagePath, rev: Option<&Revision>, scope: &ReadScope) -> Result<Page> {
        if !scope.sees(path.as_str()) {
            return Err(Error::not_found(format!("there is no page {path}")));
        }
        let file = path.file();
        let (blob, historic, at) = match rev {
            None => {
                let snap = self.snapshot();
                let blob = snap
                    .pages
                    .get(path.as_str())
                    .map(|m| m.blob)
                    .ok_or_else(|| Error::not_found(format!("there is no page {path}")))?;
                (blob, false, snap.head.clone())
            }
            Some(rev) => {
                let rev = self.inner.store.resolve(rev)?;
                let blob = self.inner.store.blob_at(&rev, &file)?.ok_or_else(|| {
                    Error::not_found(format!("there was no page {path} at {}", rev.short()))
                })?;
                let historic = Some(&rev) != self.head().as_ref();
                (blob, historic, Some(rev))
            }
        };
        let markdown = self.page_text(path, blob)?;
        let mut rendered = self.render_cached(path, blob, &markdown);
        // The shared rendering shows every link as it is; one into a folder the reader may not
        // see is rendered again for this reader (rarely: only such pages, for such readers).
        let links_hidden = rendered.links.iter().any(|l| l.exists && !scope.sees(&l.path));
        if links_hidden {
            rendered = Arc::new(self.render_for(path, &markdown, scope));
        }
        let last = if historic {
            let at = at.expect("historic implies a revision");
            self.last_change_at(&file, &at)?
        } else {
            self.last_change(path)
        };
        Ok(Page {
            title: rendered.title.clone().unwrap_or_else(|| path.name().to_string()),
            path: path.clone(),
            markdown,
            rendered,
            revision: last.as_ref().map(|c| c.revision.clone()),
            updated: last.as_ref().map(|c| c.date),
            author: last.as_ref().map(|c| c.author.clone()),
            historic,
            links_hidden,
        })
    }

    /// The text of a page's blob, if it is within the page limit; otherwise an error saying so.
    pub(crate) fn page_text(&self, path: &PagePath, blob: BlobId) -> Result<String> {
        let max = self.inner.opts.max_page_bytes;
        match self.inner.store.blob(blob, max) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind == casebook_core::ErrorKind::TooLarge => Err(too_large_page(path, e)),
            Err(e) => Err(e),
        }
    }

    fn render_cached(&self, path: &PagePath, blob: BlobId, source: &str) -> Arc<Rendered> {
        let snap = self.snapshot();
        let generation = snap.generation;
        let key = (path.as_str().to_string(), blob);
        if let Some((g, r)) =
            self.inner.cache.lock().unwrap_or_else(|e| e.into_inner()).pages.get(&key)
            && *g == generation
        {
            return r.clone();
        }
        let cx = link_context(path.as_str(), &*snap);
        let rendered = Arc::new(casebook_markdown::render(source, &cx));
        drop(snap);
        let size = rendered.html.len() + rendered.text.len() + 256;
        let mut cache = self.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.bytes + size > RENDER_CACHE_BYTES || cache.pages.len() >= CACHE_LIMIT {
            cache.pages.clear();
            cache.bytes = 0;
        }
        if let Some((_, old)) = cache.pages.insert(key, (generation, rendered.clone())) {
            cache.bytes = cache.bytes.saturating_sub(old.html.len() + old.text.len() + 256);
        }
        cache.bytes += size;
        rendered
    }

    /// Renders markdown as it would appear to a reader with `scope` on the page at `path`.
    /// Links to pages in folders closed to the reader show as links to missing pages, and a
    /// link by title does not find such a page (so its path is not told either).
    fn render_for(&self, path: &PagePath, markdown: &str, scope: &ReadScope) -> Rendered {
        let snap = self.snapshot();
        let seen = state::Visible { snap: &snap, scope };
        let cx = link_context(path.as_str(), &seen);
        casebook_markdown::render(markdown, &cx)
    }

    /// Renders markdown as it would appear on the page at `path` (for the editor's preview).
    pub fn preview(&self, path: &PagePath, markdown: &str, scope: &ReadScope) -> Rendered {
        self.render_for(path, markdown, scope)
    }

    /// The last commit that changed the page at the head.
    pub fn last_change(&self, path: &PagePath) -> Option<Arc<CommitInfo>> {
        if let Some(c) = self.snapshot().last_change.get(path.as_str()) {
            return Some(c.clone());
        }
        let found = self.inner.store.file_history(&path.file(), 1).ok()?.pop()?;
        let found = Arc::new(found);
        let mut snap = self.inner.snap.write().unwrap_or_else(|e| e.into_inner());
        if snap.pages.contains_key(path.as_str()) {
            snap.last_change.insert(path.as_str().to_string(), found.clone());
        }
        Some(found)
    }

    /// The newest commit at or before `at` that changed the file (a walk back from `at`, not
    /// from the head, bounded like every history walk).
    fn last_change_at(&self, file: &str, at: &Revision) -> Result<Option<Arc<CommitInfo>>> {
        Ok(self.inner.store.file_history_at(at, file, 1)?.pop().map(Arc::new))
    }

    /// A file at the head (an attachment), for serving as it is: read when it is small,
    /// otherwise named for the caller to stream from git (`git cat-file blob`), so that its size
    /// never has to fit in memory.
    pub fn attachment(&self, path: &str) -> Result<Option<Attachment>> {
        let Some(blob) = self.snapshot().files.get(path).copied() else {
            return Ok(None);
        };
        let size = self.inner.store.blob_size(blob)?;
        if size > ATTACHMENT_READ_MAX as u64 {
            return Ok(Some(Attachment::Large { blob: blob.hex(), size }));
        }
        let content = self.inner.store.blob(blob, ATTACHMENT_READ_MAX)?;
        Ok(Some(Attachment::Read { content, blob: blob.hex() }))
    }
}

/// The error for a page over the limit, which is never read.
pub(crate) fn too_large_page(path: &PagePath, e: Error) -> Error {
    Error::too_large(format!(
        "the page {path} is {}, so it is not shown; it came from outside Casebook (a push or a \
         commit by hand) and can be read, split or removed with git",
        e.message
    ))
}
