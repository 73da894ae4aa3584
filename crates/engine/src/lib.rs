#![doc = include_str!("../README.md")]

mod discussions;
mod import;
mod indexer;
mod links;
mod records;
mod state;
mod threads;
mod types;

pub use discussions::{
    Activity, Comment, Status as ThreadStatus, Thread, discussed_page, page_of_file, same_author,
};

pub use casebook_markdown::LinkPrefixes;
pub use casebook_markdown::{FrontMatter, Heading, Link, Rendered, display_value};
pub use casebook_search::{
    ActiveFilter, FacetGroup, FacetValue, Hit, LinkingPage, Results, SearchLanguage, SearchOptions,
    active_filters, wants_history,
};
pub use casebook_store::{CommitInfo, unified_diff};
pub use import::ImportReport;
pub use links::{LINKS_FILE, parse_pairs as parse_link_prefixes};
pub use records::{NewRecord, TypeCheck};
pub use state::PageMeta;
pub use types::{
    Field, FieldKind, PageType, TYPES_DIR, TypeProblem, TypeSet, new_page_text, parse_date,
    parse_money, parse_number,
};

use casebook_core::{Author, Error, FolderPath, PagePath, ReadScope, Result, Revision, Timestamp};
use casebook_markdown::Context;
use casebook_search::SearchIndex;
use casebook_store::{BlobId, Change, CommitError, MERGE_LINES, MergeOutcome, Opened, Store};
use serde::Serialize;
use state::Snapshot;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// URL prefix of page views; links in rendered pages point here.
pub const VIEW_PREFIX: &str = "/wiki/";
/// URL prefix of the editor; links to missing pages point here.
pub const EDIT_PREFIX: &str = "/edit/";

/// How links render on the page at `page` of this wiki: targets looked up in `pages`, with the
/// site's view and editor prefixes.
pub(crate) fn link_context<'a>(
    page: &'a str,
    pages: &'a dyn casebook_markdown::Pages,
) -> Context<'a> {
    Context {
        page,
        pages,
        view_prefix: VIEW_PREFIX,
        edit_prefix: EDIT_PREFIX,
    }
}

/// The starter content, compiled in from the project's `content/` folder.
#[derive(rust_embed::RustEmbed)]
#[folder = "../../content/"]
struct Starter;

/// A progress report: `(done, total)`.
pub type Progress = Box<dyn Fn(u64, u64) + Send + Sync>;

/// How to open the wiki.
#[derive(Debug, Clone)]
pub struct Options {
    /// The content repository; created with the starter content when absent.
    pub repo: PathBuf,
    /// The data dir: search index and other derived state.
    pub data: PathBuf,
    /// Largest page accepted, in bytes.
    pub max_page_bytes: usize,
    /// Who the first commit of a new repository is by.
    pub system_author: Author,
    /// How search folds word forms; changing it rebuilds the index.
    pub search_language: SearchLanguage,
}

impl Options {
    pub fn new(repo: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Options {
        Options {
            repo: repo.into(),
            data: data.into(),
            max_page_bytes: 5 * 1024 * 1024,
            system_author: Author::new("Casebook", "casebook@localhost"),
            search_language: SearchLanguage::default(),
        }
    }
}

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
    /// Its content, read.
    Read(Vec<u8>),
    /// Too large to read at once: its blob id (hex) and size, to stream from git.
    Large { blob: String, size: u64 },
}

/// The largest attachment read into memory to be served; larger ones are streamed.
pub const ATTACHMENT_READ_MAX: usize = 1 << 20;

/// A page in a list.
#[derive(Debug, Clone, Serialize)]
pub struct PageEntry {
    pub path: String,
    pub title: String,
    pub updated: Option<Timestamp>,
    pub tags: Vec<String>,
}

/// A typed page as a record.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub path: String,
    pub title: String,
    pub tags: Vec<String>,
    pub fields: Arc<casebook_markdown::FrontMatter>,
    pub updated: Option<Timestamp>,
}

/// What is inside a folder.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Listing {
    pub folders: Vec<FolderEntry>,
    pub pages: Vec<PageEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FolderEntry {
    pub path: String,
    pub name: String,
    pub pages: usize,
}

/// The result of a save.
#[derive(Debug, Clone, Serialize)]
pub enum SaveOutcome {
    Saved {
        path: PagePath,
        revision: Revision,
        /// True when the save was merged with edits made since its base revision.
        merged: bool,
        created: bool,
        /// True when the text was the same as the page's, so nothing was committed.
        unchanged: bool,
    },
    /// The edits could not be merged with edits made since the base revision; nothing was
    /// committed.
    Conflict {
        base: String,
        theirs: String,
        yours: String,
        /// The revision the page is at now, to base a new attempt on.
        current: Option<Revision>,
        /// Why the edits were not merged.
        reason: ConflictReason,
    },
}

/// A page's history as one reader may see it.
#[derive(Debug, Clone)]
pub struct History {
    /// Newest first.
    pub entries: Vec<CommitInfo>,
    /// How many older commits (within the limit asked for) are from before the page came into
    /// a folder the reader sees: shown as one neutral line, never listed.
    pub hidden_earlier: usize,
}

/// Why a save's edits were not merged with the page as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConflictReason {
    /// Both changed the same lines, or lines next to each other.
    Overlap,
    /// The page was deleted since the base revision.
    Deleted,
    /// The edits overlap and span `lines` lines, more than a save merges (`limit`): the merge
    /// was not tried.
    TooLarge { lines: usize, limit: usize },
    /// The page changed again each time the save was merged with it.
    Busy,
}

impl ConflictReason {
    /// A short code for the reason, as the API reports it.
    pub fn code(&self) -> &'static str {
        match self {
            ConflictReason::Overlap => "overlap",
            ConflictReason::Deleted => "deleted",
            ConflictReason::TooLarge { .. } => "too_large",
            ConflictReason::Busy => "busy",
        }
    }
}

impl std::fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConflictReason::Overlap => {
                f.write_str("the page changed since your base revision and the edits overlap")
            }
            ConflictReason::Deleted => f.write_str("the page was deleted since your base revision"),
            ConflictReason::TooLarge { lines, limit } => write!(
                f,
                "the page changed since your base revision and the edits span {lines} lines, \
                 more than the {limit} a save merges automatically"
            ),
            ConflictReason::Busy => {
                f.write_str("the page kept changing while your edits were being merged with it")
            }
        }
    }
}

/// What a move did.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    pub revision: Revision,
    /// Pages whose links to the moved page were rewritten.
    pub updated_pages: Vec<String>,
}

/// A save request.
#[derive(Debug, Clone)]
pub struct Save<'a> {
    pub path: &'a PagePath,
    pub markdown: &'a str,
    pub message: &'a str,
    pub base: Option<&'a Revision>,
    pub author: &'a Author,
}

/// The wiki: the one API the server and the command line use. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("repo", &self.inner.store.path())
            .finish()
    }
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) search: SearchIndex,
    /// Past versions of pages, as they were replaced or removed.
    pub(crate) history: SearchIndex,
    pub(crate) snap: RwLock<Snapshot>,
    /// Serialises catching up with the repository, so index jobs go out in commit order.
    sync: Mutex<()>,
    cache: Mutex<RenderCache>,
    /// Related pages by path, with the head they were computed at.
    related: Mutex<RelatedCache>,
    /// Discussions read and rendered, by thread id.
    pub(crate) threads: Mutex<HashMap<String, discussions::CachedThread>>,
    indexer: Mutex<Option<indexer::Handle>>,
    /// Index jobs sent and not yet applied: a search waits for them, so it never misses an
    /// acknowledged save.
    pub(crate) pending: std::sync::atomic::AtomicUsize,
    /// True while the index is built from scratch; the wiki reports itself not ready meanwhile.
    pub(crate) rebuilding: std::sync::atomic::AtomicBool,
    /// What saves about to commit know of their pages, worked out before they take the writer;
    /// `meta_for` finds them there, so catching up with a save (with the sync lock held) does
    /// not read and summarise a large page again. Each save removes its own when done.
    prepared: Mutex<Vec<(String, PageMeta)>>,
    /// Told how the next large index update goes (for the command line's progress bars).
    pub(crate) progress: Mutex<Option<Progress>>,
    opts: Options,
}

/// How related pages are scored: a page needs [`related::THRESHOLD`] points to be shown.
mod related {
    /// Per tag shared.
    pub const SHARED_TAG: f32 = 2.0;
    /// A link either way between the two pages.
    pub const LINK: f32 = 2.0;
    /// Per link target both pages link to.
    pub const SHARED_TARGET: f32 = 1.0;
    /// Times the likeness in words (1.0: as alike as the page itself): alone, a page must be at
    /// least half as alike as the page itself to be shown; with a shared link target, a quarter.
    pub const LIKENESS: f32 = 4.0;
    /// Less alike than this counts for nothing.
    pub const MIN_LIKENESS: f32 = 0.2;
    /// Pages alike in words looked at.
    pub const SIMILAR_CANDIDATES: usize = 8;
    pub const THRESHOLD: f32 = 2.0;
    /// Related pages kept per page, before the reader's folder rules leave some out.
    pub const KEPT: usize = 30;
}

/// Related pages by path, with the head they were computed at.
type RelatedCache = HashMap<String, (Option<Revision>, Vec<LinkingPage>)>;

/// Rendered pages by (path, blob), with the snapshot generation they were rendered at.
#[derive(Default)]
struct RenderCache {
    pages: HashMap<(String, BlobId), (u64, Arc<Rendered>)>,
    /// Roughly the memory the cached renderings take (their HTML and text).
    bytes: usize,
}

/// The most the render cache may hold (HTML and text), so a large wiki read page after page
/// does not grow the server without bound; it is emptied when full.
const RENDER_CACHE_BYTES: usize = 96 << 20;

const CACHE_LIMIT: usize = 20_000;
/// Commits walked at start-up to learn who changed each page last.
const START_WALK: usize = 500;

impl Engine {
    /// Opens the wiki: the repository (created with the starter content if absent) and the
    /// index (rebuilt if missing or unreadable, caught up if behind). Indexing runs in the
    /// background; [`Engine::wait_indexed`] waits for it.
    pub fn open(opts: Options) -> Result<Engine> {
        Self::open_with(opts, true)
    }

    /// Like [`Engine::open`], but leaves the index alone until asked (for `reindex`).
    pub fn open_without_indexing(opts: Options) -> Result<Engine> {
        Self::open_with(opts, false)
    }

    fn open_with(opts: Options, catch_up_index: bool) -> Result<Engine> {
        let (store, opened) =
            Store::open_or_create(&opts.repo, starter_files, &opts.system_author)?;
        if opened == Opened::Created {
            tracing::info!(repo = %opts.repo.display(), "created a new wiki repository with the starter content");
        }
        std::fs::create_dir_all(&opts.data).map_err(|e| {
            Error::unavailable(format!(
                "cannot create the data dir {}: {e}",
                opts.data.display()
            ))
        })?;
        let (search, rebuilt) =
            SearchIndex::open_with_language(&opts.data.join("index"), opts.search_language)?;
        let (history, _) =
            SearchIndex::open_with_language(&opts.data.join("history"), opts.search_language)?;
        let inner = Arc::new(Inner {
            store,
            search,
            history,
            snap: RwLock::new(Snapshot::default()),
            sync: Mutex::new(()),
            cache: Mutex::new(RenderCache::default()),
            related: Mutex::new(HashMap::new()),
            threads: Mutex::new(HashMap::new()),
            indexer: Mutex::new(None),
            progress: Mutex::new(None),
            prepared: Mutex::new(Vec::new()),
            pending: std::sync::atomic::AtomicUsize::new(0),
            rebuilding: std::sync::atomic::AtomicBool::new(false),
            opts,
        });
        let engine = Engine { inner };
        engine.load_head()?;
        let handle = indexer::start(Arc::downgrade(&engine.inner));
        *engine
            .inner
            .indexer
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(handle);
        if catch_up_index {
            engine.catch_up_index(rebuilt)?;
        }
        Ok(engine)
    }

    fn load_head(&self) -> Result<()> {
        let inner = &self.inner;
        let Some(head) = inner.store.head()? else {
            return Ok(());
        };
        let files = inner.store.files(&head)?;
        let mut snap = Snapshot {
            head: Some(head.clone()),
            ..Snapshot::default()
        };
        for f in &files {
            snap.put_file(&f.path, f.blob);
            if let Some(path) = PagePath::from_file(&f.path) {
                let meta = self.meta_for(f.blob, &path)?;
                snap.insert_page(path.as_str().to_string(), meta);
            }
        }
        snap.types = Arc::new(self.read_types(&snap.files));
        snap.link_prefixes = self.read_link_prefixes(snap.files.get(links::LINKS_FILE).copied());
        let log = inner.store.log(START_WALK, 0)?;
        for mut c in log.into_iter().rev() {
            // Kept per page: who and when. Not the commit's list of files, which for an import
            // names every page of the wiki.
            let paths = std::mem::take(&mut c.paths);
            let c = Arc::new(c);
            for p in &paths {
                if let Some(page) = PagePath::from_file(p) {
                    snap.last_change
                        .insert(page.as_str().to_string(), c.clone());
                }
            }
        }
        *inner.snap.write().unwrap_or_else(|e| e.into_inner()) = snap;
        Ok(())
    }

    /// The page types of a tree: its `.casebook/types/*.toml` files, or the built-in types
    /// when it has none. Never fails: a file that cannot be read is a problem of the set.
    fn read_types(&self, files: &HashMap<String, BlobId>) -> TypeSet {
        let mut found = Vec::new();
        let mut unreadable = Vec::new();
        for (path, blob) in files.iter().filter(|(p, _)| p.starts_with(TYPES_DIR)) {
            match self.inner.store.blob(*blob, self.inner.opts.max_page_bytes) {
                Ok(bytes) => found.push((path.clone(), bytes)),
                Err(e) => unreadable.push((path.clone(), e.message)),
            }
        }
        if found.iter().any(|(p, _)| p.ends_with(".toml")) || !unreadable.is_empty() {
            let mut set = TypeSet::from_files(found);
            for (path, message) in unreadable {
                set.add_problem(&path, message);
            }
            return set;
        }
        let builtin = Starter::iter()
            .filter(|name| name.starts_with(TYPES_DIR))
            .filter_map(|name| Some((name.to_string(), Starter::get(&name)?.data.into_owned())));
        let mut set = TypeSet::from_files(builtin);
        set.builtin = true;
        set
    }

    fn meta_for(&self, blob: BlobId, path: &PagePath) -> Result<PageMeta> {
        let prepared = self
            .inner
            .prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(p, m)| m.blob == blob && p == path.as_str())
            .map(|(_, m)| m.clone());
        if let Some(meta) = prepared {
            return Ok(meta);
        }
        // Content from outside (a push, a commit by hand) may be of any size: a page over the
        // limit is known by its size alone, never read.
        let size = self.inner.store.blob_size(blob)?;
        let max = self.inner.opts.max_page_bytes;
        if size > max as u64 {
            tracing::warn!(page = %path, bytes = size, limit = max, "a page is over the page limit; it is not read, indexed or shown");
            return Ok(PageMeta {
                blob,
                title: path.name().to_string(),
                tags: Vec::new(),
                page_type: None,
                fields: Arc::default(),
                too_large: Some(size),
            });
        }
        let bytes = self.inner.store.blob(blob, max)?;
        Ok(meta_of(blob, path, &String::from_utf8_lossy(&bytes)))
    }

    /// The text of a page's blob, if it is within the page limit; otherwise an error saying so.
    fn page_text(&self, path: &PagePath, blob: BlobId) -> Result<String> {
        let max = self.inner.opts.max_page_bytes;
        match self.inner.store.blob(blob, max) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind == casebook_core::ErrorKind::TooLarge => Err(too_large_page(path, e)),
            Err(e) => Err(e),
        }
    }

    /// Brings the index up to the head: from the revision it records, or from scratch.
    fn catch_up_index(&self, rebuilt: bool) -> Result<()> {
        let head = self.head();
        let indexed = if rebuilt {
            None
        } else {
            self.inner.search.indexed_revision()
        };
        let indexed = indexed.and_then(|r| Revision::parse(&r).ok());
        match (indexed, head) {
            (_, None) => Ok(()),
            (Some(i), Some(h)) if i == h => Ok(()),
            (Some(i), Some(h)) if self.inner.store.resolve(&i).is_ok() => {
                let deltas = self.inner.store.changes_between(Some(&i), &h)?;
                tracing::info!(from = %i.short(), to = %h.short(), files = deltas.len(), "catching the search index up");
                self.send(indexer::Job::Update {
                    revision: h,
                    deltas,
                });
                Ok(())
            }
            (_, Some(h)) => {
                tracing::info!(revision = %h.short(), "building the search index");
                self.send(indexer::Job::Rebuild {
                    revision: h,
                    progress: None,
                });
                Ok(())
            }
        }
    }

    /// Rebuilds the index from the repository, calling `progress(done, total)` as it goes, and
    /// returns when it is committed.
    pub fn reindex(&self, progress: Progress) -> Result<usize> {
        let Some(head) = self.head() else {
            return Ok(0);
        };
        self.send(indexer::Job::Rebuild {
            revision: head,
            progress: Some(progress),
        });
        self.wait_indexed();
        Ok(self.inner.search.num_docs() as usize)
    }

    fn send(&self, job: indexer::Job) {
        use std::sync::atomic::Ordering;
        match &job {
            indexer::Job::Update { .. } => {
                self.inner.pending.fetch_add(1, Ordering::SeqCst);
            }
            indexer::Job::Rebuild { .. } => {
                self.inner.pending.fetch_add(1, Ordering::SeqCst);
                self.inner.rebuilding.store(true, Ordering::SeqCst);
            }
            _ => {}
        }
        if let Some(h) = self
            .inner
            .indexer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            h.send(job);
        }
    }

    /// Reports the progress of the next index update through `progress`.
    pub fn on_next_index_update(&self, progress: Progress) {
        *self
            .inner
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(progress);
    }

    /// Waits until every change sent to the index so far is searchable.
    pub fn wait_indexed(&self) {
        let (tx, rx) = std::sync::mpsc::channel();
        self.send(indexer::Job::Flush(tx));
        let _ = rx.recv();
    }

    /// Stops the indexer after it has finished the work it was given.
    pub fn shutdown(&self) {
        self.wait_indexed();
        if let Some(h) = self
            .inner
            .indexer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            h.stop();
        }
    }

    /// The commit the wiki shows now.
    pub fn head(&self) -> Option<Revision> {
        self.inner
            .snap
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .head
            .clone()
    }

    pub fn repo_path(&self) -> &Path {
        self.inner.store.path()
    }

    /// The data dir: the search indexes and other state derived or kept beside the repository.
    pub fn data_path(&self) -> &Path {
        &self.inner.opts.data
    }

    /// The branch the wiki shows and commits to, e.g. `refs/heads/main`.
    pub fn branch(&self) -> &str {
        self.inner.store.branch()
    }

    /// Whether the repository has no working tree. Git clients may push only to a bare one.
    pub fn is_bare(&self) -> bool {
        self.inner.store.workdir().is_none()
    }

    pub fn max_page_bytes(&self) -> usize {
        self.inner.opts.max_page_bytes
    }

    /// Notices commits made outside (a push, another process) and brings pages, caches and the
    /// index up to them. Cheap when nothing changed: one ref read.
    pub fn sync(&self) -> Result<bool> {
        let _guard = self.inner.sync.lock().unwrap_or_else(|e| e.into_inner());
        self.sync_locked()
    }

    fn sync_locked(&self) -> Result<bool> {
        let new = self.inner.store.head()?;
        let old = self.head();
        if new == old {
            return Ok(false);
        }
        let Some(new) = new else {
            return Ok(false);
        };
        let deltas = self.inner.store.changes_between(old.as_ref(), &new)?;
        // Who changed what: the new commits (a push may bring many), newest wins.
        let mut authors: HashMap<String, Arc<CommitInfo>> = HashMap::new();
        for mut c in self.inner.store.commits_between(old.as_ref(), &new, 1000)? {
            let paths = std::mem::take(&mut c.paths);
            let c = Arc::new(c);
            for p in &paths {
                if let Some(page) = PagePath::from_file(p) {
                    authors
                        .entry(page.as_str().to_string())
                        .or_insert_with(|| c.clone());
                }
            }
        }
        self.advance(new, deltas, authors)?;
        Ok(true)
    }

    /// Moves the engine forward by the commits its own writer just made. When they sit right on
    /// the head the engine knows, their recorded changes are applied as they are (no tree diff,
    /// no history walk); otherwise (someone else committed in between) it falls back to `sync`.
    /// Called with the sync lock held.
    fn advance_by(&self, commits: Vec<casebook_store::Committed>) -> Result<()> {
        for c in commits {
            if self.head() != c.parent {
                self.sync_locked()?;
                return Ok(());
            }
            let info = Arc::new(c.info);
            let authors = c
                .deltas
                .iter()
                .filter_map(|d| PagePath::from_file(&d.path))
                .map(|p| (p.as_str().to_string(), info.clone()))
                .collect();
            self.advance(info.revision.clone(), c.deltas, authors)?;
        }
        // A commit from elsewhere may have landed right after ours.
        self.sync_locked()?;
        Ok(())
    }

    /// Applies `deltas` (the head moving to `new`) to the snapshot, and queues them for the
    /// index. `authors` holds the newest commit that changed each page. Called with the sync
    /// lock held, so index jobs go out in commit order.
    fn advance(
        &self,
        new: Revision,
        deltas: Vec<casebook_store::FileDelta>,
        mut authors: HashMap<String, Arc<CommitInfo>>,
    ) -> Result<()> {
        let mut metas = Vec::new();
        for d in &deltas {
            if let (Some(page), Some(blob)) = (PagePath::from_file(&d.path), d.new) {
                metas.push((page.as_str().to_string(), self.meta_for(blob, &page)?));
            }
        }
        {
            let mut snap = self.inner.snap.write().unwrap_or_else(|e| e.into_inner());
            for d in &deltas {
                match d.new {
                    Some(b) => {
                        snap.put_file(&d.path, b);
                    }
                    None => {
                        snap.remove_file(&d.path);
                        if let Some(page) = PagePath::from_file(&d.path) {
                            snap.remove_page(page.as_str());
                        }
                    }
                }
            }
            for (path, meta) in metas {
                snap.insert_page(path, meta);
            }
            for d in &deltas {
                if let Some(page) = PagePath::from_file(&d.path) {
                    match authors.remove(page.as_str()) {
                        Some(c) => {
                            snap.last_change.insert(page.as_str().to_string(), c);
                        }
                        None => {
                            snap.last_change.remove(page.as_str());
                        }
                    }
                }
            }
            if deltas.iter().any(|d| d.path.starts_with(TYPES_DIR)) {
                snap.types = Arc::new(self.read_types(&snap.files));
            }
            snap.head = Some(new.clone());
        }
        let mut deltas = deltas;
        let relinked = self.apply_link_prefixes(&deltas);
        deltas.extend(relinked);
        self.send(indexer::Job::Update {
            revision: new,
            deltas,
        });
        Ok(())
    }

    fn snapshot(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.inner.snap.read().unwrap_or_else(|e| e.into_inner())
    }

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

    fn render_cached(&self, path: &PagePath, blob: BlobId, source: &str) -> Arc<Rendered> {
        let snap = self.snapshot();
        let generation = snap.generation;
        let key = (path.as_str().to_string(), blob);
        if let Some((g, r)) = self
            .inner
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pages
            .get(&key)
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
            cache.bytes = cache
                .bytes
                .saturating_sub(old.html.len() + old.text.len() + 256);
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
        let links_hidden = rendered
            .links
            .iter()
            .any(|l| l.exists && !scope.sees(&l.path));
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
            title: rendered
                .title
                .clone()
                .unwrap_or_else(|| path.name().to_string()),
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

    /// The last commit that changed the page at the head.
    pub fn last_change(&self, path: &PagePath) -> Option<Arc<CommitInfo>> {
        if let Some(c) = self.snapshot().last_change.get(path.as_str()) {
            return Some(c.clone());
        }
        let found = self.inner.store.file_history(&path.file(), 1).ok()?.pop()?;
        let found = Arc::new(found);
        let mut snap = self.inner.snap.write().unwrap_or_else(|e| e.into_inner());
        if snap.pages.contains_key(path.as_str()) {
            snap.last_change
                .insert(path.as_str().to_string(), found.clone());
        }
        Some(found)
    }

    /// The newest commit at or before `at` that changed the file (a walk back from `at`, not
    /// from the head, bounded like every history walk).
    fn last_change_at(&self, file: &str, at: &Revision) -> Result<Option<Arc<CommitInfo>>> {
        Ok(self
            .inner
            .store
            .file_history_at(at, file, 1)?
            .pop()
            .map(Arc::new))
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
            return Ok(Some(Attachment::Large {
                blob: blob.hex(),
                size,
            }));
        }
        self.inner
            .store
            .blob(blob, ATTACHMENT_READ_MAX)
            .map(|b| Some(Attachment::Read(b)))
    }

    /// Pages below `folder` (all of them for the root), optionally only those with `tag`.
    pub fn list_pages(
        &self,
        folder: &FolderPath,
        tag: Option<&str>,
        scope: &ReadScope,
    ) -> Vec<PageEntry> {
        let snap = self.snapshot();
        let tag = tag.map(str::to_lowercase);
        snap.pages
            .iter()
            .filter(|(p, _)| folder.contains(p) && scope.sees(p))
            .filter(|(_, m)| match &tag {
                Some(t) => m.tags.iter().any(|x| x.to_lowercase() == *t),
                None => true,
            })
            .map(|(p, m)| PageEntry {
                path: p.clone(),
                title: m.title.clone(),
                updated: snap.last_change.get(p).map(|c| c.date),
                tags: m.tags.clone(),
            })
            .collect()
    }

    /// The pages and sub-folders directly in `folder` that `scope` sees (a folder with nothing
    /// to see is not listed).
    pub fn listing(&self, folder: &FolderPath, scope: &ReadScope) -> Listing {
        let snap = self.snapshot();
        let mut out = Listing::default();
        let mut folders: std::collections::BTreeMap<String, usize> = Default::default();
        let prefix = if folder.is_root() {
            String::new()
        } else {
            format!("{}/", folder.as_str())
        };
        for (p, m) in snap.pages.range(prefix.clone()..) {
            let Some(rest) = p.strip_prefix(&prefix) else {
                break;
            };
            if !scope.sees(p) {
                continue;
            }
            match rest.split_once('/') {
                Some((sub, _)) => *folders.entry(sub.to_string()).or_default() += 1,
                None => out.pages.push(PageEntry {
                    path: p.clone(),
                    title: m.title.clone(),
                    updated: snap.last_change.get(p).map(|c| c.date),
                    tags: m.tags.clone(),
                }),
            }
        }
        out.folders = folders
            .into_iter()
            .map(|(name, pages)| FolderEntry {
                path: folder.join(&name),
                name,
                pages,
            })
            .collect();
        out.pages.sort_by_key(|a| a.title.to_lowercase());
        out
    }

    /// Number of pages in the wiki that `scope` sees.
    pub fn page_count(&self, scope: &ReadScope) -> usize {
        let snap = self.snapshot();
        if scope.is_everything() {
            snap.pages.len()
        } else {
            snap.pages.keys().filter(|p| scope.sees(p)).count()
        }
    }

    /// Titles of pages by path, for showing links.
    pub fn title_of(&self, path: &str) -> Option<String> {
        self.snapshot().pages.get(path).map(|m| m.title.clone())
    }

    /// Saves a page: one commit, merged three ways if the page moved on since `base`.
    ///
    /// The page is read and merged without the writer, so a long merge holds up no other
    /// write; with the writer held, the save commits only if the page's blob at the head is
    /// still the one merged with (a commit meanwhile to another file does not matter: the
    /// commit is built on the head). If the page changed, the save is planned again, a few
    /// times; then once more with the writer held, merging only what costs a millisecond or two.
    pub fn save(&self, req: Save<'_>) -> Result<SaveOutcome> {
        if req.markdown.len() > self.inner.opts.max_page_bytes {
            return Err(Error::too_large(format!(
                "the page is {} bytes; the limit is {} bytes",
                req.markdown.len(),
                self.inner.opts.max_page_bytes
            )));
        }
        let file = req.path.file();
        let store = &self.inner.store;
        let max = self.inner.opts.max_page_bytes;
        let mut planned = None;
        for _ in 0..SAVE_PLANS {
            let head = store.head()?;
            let plan = plan_save(&req, &file, head.as_ref(), store, MERGE_LINES, max)?;
            let SavePlan::Write {
                against,
                text,
                merged,
            } = plan
            else {
                // Nothing to write: the answer holds for this head, which the engine catches
                // up with, as it would have after taking the writer.
                self.sync()?;
                planned = Some((head, plan));
                break;
            };
            // The blob is written ahead, so the commit only finds it there, and the page's
            // title and type are worked out ahead for the engine to catch up with.
            let blob = store.write_blob(text.as_bytes())?;
            let prepared = Prepared::new(self, req.path, meta_of(blob, req.path, &text));
            let committed = self.with_writer(|w| {
                let now = match w.head()? {
                    Some(h) => w.blob_at(&h, &file)?,
                    None => None,
                };
                if now != against {
                    return Ok(None);
                }
                let rev = self.commit_page(w, &req, &file, &text, against.is_none())?;
                Ok(Some(rev))
            })?;
            drop(prepared);
            if let Some(rev) = committed {
                return Ok(SaveOutcome::Saved {
                    path: req.path.clone(),
                    revision: rev,
                    merged,
                    created: against.is_none(),
                    unchanged: false,
                });
            }
        }
        let (head, plan) = match planned {
            Some(done) => done,
            // The page kept changing: plan under the writer, so nothing can change it again.
            None => self.with_writer(|w| {
                let head = w.head()?;
                let plan =
                    match plan_save(&req, &file, head.as_ref(), &*w, LOCKED_MERGE_LINES, max)? {
                        SavePlan::Conflict {
                            base,
                            theirs,
                            reason: ConflictReason::TooLarge { lines, .. },
                        } if lines <= MERGE_LINES => SavePlan::Conflict {
                            base,
                            theirs,
                            reason: ConflictReason::Busy,
                        },
                        SavePlan::Write {
                            against,
                            text,
                            merged,
                        } => SavePlan::Committed {
                            rev: self.commit_page(w, &req, &file, &text, against.is_none())?,
                            merged,
                            created: against.is_none(),
                        },
                        other => other,
                    };
                Ok((head, plan))
            })?,
        };
        match plan {
            SavePlan::Committed {
                rev,
                merged,
                created,
            } => Ok(SaveOutcome::Saved {
                path: req.path.clone(),
                revision: rev,
                merged,
                created,
                unchanged: false,
            }),
            SavePlan::Unchanged { merged } => Ok(SaveOutcome::Saved {
                path: req.path.clone(),
                revision: self
                    .last_change(req.path)
                    .map(|c| c.revision.clone())
                    .or_else(|| self.head())
                    .ok_or_else(|| Error::internal("no revision after save"))?,
                merged,
                created: false,
                unchanged: true,
            }),
            SavePlan::Conflict {
                base,
                theirs,
                reason,
            } => Ok(SaveOutcome::Conflict {
                base,
                theirs,
                yours: req.markdown.to_string(),
                // A revision whose page is `theirs`: the commit that last changed it, or if
                // the head moved on since, the head it was read at.
                current: if self.head() == head {
                    self.last_change(req.path).map(|c| c.revision.clone())
                } else {
                    head
                },
                reason,
            }),
            SavePlan::Write { .. } => Err(Error::internal("a save planned and not written")),
        }
    }

    /// Commits `text` as the page of `req`, with the writer held.
    fn commit_page(
        &self,
        w: &mut casebook_store::Writer<'_>,
        req: &Save<'_>,
        file: &str,
        text: &str,
        created: bool,
    ) -> std::result::Result<Revision, CommitError> {
        let message = default_message(
            req.message,
            if created { "Create" } else { "Update" },
            req.path,
        );
        let change = Change::Put {
            path: file.to_string(),
            content: text.as_bytes().to_vec(),
        };
        w.commit(&[change], req.author, &message)
    }

    /// Runs a planned write with the writer held, planning it again (up to
    /// [`MOVED_BRANCH_RETRIES`] times) when another process moved the branch meanwhile; then
    /// brings the engine's state up to the new head.
    fn with_writer<T>(
        &self,
        mut plan: impl FnMut(&mut casebook_store::Writer<'_>) -> std::result::Result<T, CommitError>,
    ) -> Result<T> {
        let mut retries = 0;
        loop {
            let mut w = self.inner.store.writer();
            match plan(&mut w) {
                Err(CommitError::BranchMoved) if retries < MOVED_BRANCH_RETRIES => {
                    retries += 1;
                    drop(w);
                    continue;
                }
                other => {
                    // The engine catches up with our commits once the writer is free: reading
                    // a changed page for its title takes a while for a large page, and the next
                    // write need not wait for it. The sync lock is taken before the writer
                    // goes, so our commits are applied in order, and a write that plans from
                    // the snapshot waits for them (`caught_up`). A commit landing meanwhile
                    // is caught up with by a tree diff.
                    let committed = w.take_committed();
                    let guard = self.inner.sync.lock().unwrap_or_else(|e| e.into_inner());
                    drop(w);
                    let caught_up = self.advance_by(committed);
                    drop(guard);
                    caught_up?;
                    return other.map_err(Error::from);
                }
            }
        }
    }

    /// Waits until the engine has applied the commits its writer made so far. Called with the
    /// writer held by a write planned from the snapshot (the discussions of a page, the titles
    /// links resolve to).
    fn caught_up(&self) {
        drop(self.inner.sync.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Deletes a page. With `base`, refuses (conflict) when the page changed since.
    pub fn delete(
        &self,
        path: &PagePath,
        base: Option<&Revision>,
        author: &Author,
        message: &str,
    ) -> Result<Revision> {
        let file = path.file();
        self.with_writer(|w| {
            self.caught_up();
            let head = w.head()?.ok_or_else(|| Error::not_found(format!("there is no page {path}")))?;
            let current = w.blob_at(&head, &file)?.ok_or_else(|| Error::not_found(format!("there is no page {path}")))?;
            if let Some(base) = base {
                let base_blob = w.blob_at(base, &file).map_err(|e| Error::invalid(format!("the base revision is not in this wiki ({})", e.message)))?;
                if base_blob != Some(current) {
                    return Err(Error::conflict(format!(
                        "{path} changed since revision {}; look at the new version before deleting it",
                        base.short()
                    )).into());
                }
            }
            let message = default_message(message, "Delete", path);
            // The page's discussions go with it (git history keeps them).
            let mut changes = vec![Change::Delete { path: file.clone() }];
            changes.extend(self.discussion_changes(path, None));
            w.commit(&changes, author, &message)
        })
    }

    /// Moves (renames) a page; its history follows. With `update_links`, every link to it in
    /// the other pages `scope` sees is rewritten in the same commit (links inside code are left
    /// alone); a page the mover may not read is never written nor named, and its links keep
    /// leading to the page through [`Engine::moved_to`].
    pub fn move_page(
        &self,
        from: &PagePath,
        to: &PagePath,
        update_links: bool,
        scope: &ReadScope,
        author: &Author,
        message: &str,
    ) -> Result<Moved> {
        if from == to {
            return Err(Error::invalid("the page is already there"));
        }
        if update_links {
            // Backlinks come from the index: make sure it has every commit so far.
            self.wait_indexed();
        }
        let linking: Vec<String> = if update_links {
            // Only pages the mover may read are rewritten (and named in the answer); links
            // from the others keep the old path, which leads to the page's new place
            // (`moved_to`).
            self.backlinks(from, scope)?
                .into_iter()
                .map(|b| b.path)
                .filter(|p| p != from.as_str())
                .collect()
        } else {
            Vec::new()
        };
        let mut updated = Vec::new();
        let max = self.inner.opts.max_page_bytes;
        let revision = self.with_writer(|w| {
            self.caught_up();
            updated.clear();
            let head = w
                .head()?
                .ok_or_else(|| Error::not_found(format!("there is no page {from}")))?;
            if w.blob_at(&head, &from.file())?.is_none() {
                return Err(Error::not_found(format!("there is no page {from}")).into());
            }
            if w.blob_at(&head, &to.file())?.is_some() {
                return Err(Error::conflict(format!("a page {to} exists already")).into());
            }
            let mut changes = vec![Change::Move {
                from: from.file(),
                to: to.file(),
            }];
            changes.extend(self.discussion_changes(from, Some(to)));
            for path in &linking {
                // A page over the limit is left as it is: it is never read.
                let bytes = match w.read(&head, &format!("{path}.md"), max) {
                    Ok(Some(bytes)) => bytes,
                    Ok(None) => continue,
                    Err(e) if e.kind == casebook_core::ErrorKind::TooLarge => continue,
                    Err(e) => return Err(e.into()),
                };
                let source = String::from_utf8_lossy(&bytes);
                let snap = self.snapshot();
                if let Some(new) = casebook_markdown::rewrite_links(
                    &source,
                    path,
                    &*snap,
                    from.as_str(),
                    to.as_str(),
                ) && new.len() <= max
                {
                    // (A page the longer link would take over the limit keeps the old link,
                    // which still leads here through the move.)
                    changes.push(Change::Put {
                        path: format!("{path}.md"),
                        content: new.into_bytes(),
                    });
                    updated.push(path.clone());
                }
            }
            let message = if message.trim().is_empty() {
                match updated.len() {
                    0 => format!("Move {from} to {to}"),
                    n => format!(
                        "Move {from} to {to} and update links in {n} page{}",
                        if n == 1 { "" } else { "s" }
                    ),
                }
            } else {
                message.to_string()
            };
            w.commit(&changes, author, &message)
        })?;
        Ok(Moved {
            revision,
            updated_pages: updated,
        })
    }

    /// Where a page that no longer exists went, if it was moved (following several moves).
    pub fn moved_to(&self, path: &PagePath) -> Option<PagePath> {
        let mut current = path.file();
        for _ in 0..5 {
            let next = self.inner.store.renamed_to(&current).ok()??;
            let page = PagePath::from_file(&next)?;
            if self.exists(&page, &ReadScope::everything()) {
                return Some(page);
            }
            current = next;
        }
        None
    }

    /// Restores the page's text as it was at `rev`, as a new commit.
    pub fn revert(&self, path: &PagePath, rev: &Revision, author: &Author) -> Result<SaveOutcome> {
        let old = self.page(path, Some(rev), &ReadScope::everything())?;
        let message = format!(
            "Revert {path} to {}",
            old.revision
                .as_ref()
                .map(|r| r.short())
                .unwrap_or(rev.short())
        );
        self.save(Save {
            path,
            markdown: &old.markdown,
            message: &message,
            base: None,
            author,
        })
    }

    /// Commits that changed the page, newest first (following renames), as `scope` may see
    /// them: the commits from before the page came into a folder the reader sees are left out
    /// and counted in `hidden_earlier`, the move that brought it into view does not name where
    /// it came from, and a commit that also changed files the reader may not see is shown with
    /// a neutral message (one tree diff per commit listed, for such readers only).
    pub fn history(&self, path: &PagePath, limit: usize, scope: &ReadScope) -> Result<History> {
        if !scope.sees(path.as_str()) {
            return Err(Error::not_found(format!("there is no page {path}")));
        }
        let mut entries = self.inner.store.file_history(&path.file(), limit)?;
        if scope.is_everything() {
            return Ok(History {
                entries,
                hidden_earlier: 0,
            });
        }
        let hidden = |c: &CommitInfo| c.paths.first().is_some_and(|p| !scope.sees(p));
        let kept = entries.iter().position(hidden).unwrap_or(entries.len());
        let hidden_earlier = entries.len() - kept;
        entries.truncate(kept);
        for c in &mut entries {
            if c.paths.get(1).is_some_and(|old| !scope.sees(old)) {
                c.paths.truncate(1);
                c.summary = "Moved here from a folder you cannot read".to_string();
            } else if !scope.sees_all(
                self.inner
                    .store
                    .changed_files(&c.revision)?
                    .iter()
                    .map(String::as_str),
            ) {
                // The commit also changed files the reader may not see, which its message
                // may name (a move into a hidden folder, say): as recent changes show it.
                c.summary = "Changed this page (and files in folders you cannot read)".to_string();
            }
        }
        Ok(History {
            entries,
            hidden_earlier,
        })
    }

    /// Unified diff of the page between two revisions (the page absent at one is an empty text).
    pub fn diff(&self, path: &PagePath, from: &Revision, to: &Revision) -> Result<String> {
        let from = self.inner.store.resolve(from)?;
        let to = self.inner.store.resolve(to)?;
        let text = |rev: &Revision| -> Result<String> {
            Ok(match self.inner.store.blob_at(rev, &path.file())? {
                Some(b) => self.page_text(path, b)?,
                None => String::new(),
            })
        };
        let (a, b) = (text(&from)?, text(&to)?);
        let file = path.file();
        Ok(casebook_store::unified_diff(&a, &b, &file, &file))
    }

    /// The newest commits of the wiki, as `scope` may see them (see [`Engine::changes_in`]).
    pub fn changes(&self, limit: usize, skip: usize, scope: &ReadScope) -> Result<Vec<CommitInfo>> {
        self.changes_in("", None, limit, skip, scope)
    }

    /// Full-text search.
    pub fn search(&self, q: &str, limit: usize, offset: usize) -> Result<Results> {
        self.search_with(q, limit, offset, SearchOptions::default())
    }

    /// Full-text search, computing only what `opts` asks for besides the hits.
    pub fn search_with(
        &self,
        q: &str,
        limit: usize,
        offset: usize,
        opts: SearchOptions,
    ) -> Result<Results> {
        // Read your writes: a save acknowledged a moment ago is in the answer.
        if self.inner.pending.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            self.wait_indexed();
        }
        self.inner.search.search_with(q, limit, offset, opts)
    }

    /// Full-text search over past versions of pages (those replaced or removed since the index
    /// of past versions was started); each hit carries the revision at which the page read so.
    pub fn search_past(
        &self,
        q: &str,
        limit: usize,
        offset: usize,
        opts: SearchOptions,
    ) -> Result<Results> {
        if self.inner.pending.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            self.wait_indexed();
        }
        self.inner.history.search_with(q, limit, offset, opts)
    }

    /// Plain BM25 over the same index, without Casebook's ranking: for measuring relevance.
    pub fn search_plain_bm25(&self, q: &str, limit: usize) -> Result<Vec<String>> {
        if self.inner.pending.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            self.wait_indexed();
        }
        self.inner.search.search_plain_bm25(q, limit)
    }

    /// Pages that `scope` sees linking to `path`.
    pub fn backlinks(&self, path: &PagePath, scope: &ReadScope) -> Result<Vec<LinkingPage>> {
        let mut found = self.inner.search.backlinks(path.as_str(), 1000)?;
        found.retain(|l| scope.sees(&l.path));
        Ok(found)
    }

    /// Links to pages that do not exist, with how many pages link to each, most wanted first;
    /// only links written in pages that `scope` sees count.
    pub fn wanted_pages(&self, scope: &ReadScope) -> Result<Vec<(String, usize)>> {
        let targets = self.inner.search.link_targets(scope)?;
        let mut out: Vec<(String, usize)> = {
            let snap = self.snapshot();
            targets
                .into_iter()
                .filter(|(p, _)| !snap.pages.contains_key(p) && scope.sees(p))
                .collect()
        };
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(out)
    }

    /// Pages that `scope` sees and no other page links to (the home page aside).
    /// A link from a page the reader may not see does not count: to them, the page is as
    /// orphaned as it looks.
    pub fn orphans(&self, scope: &ReadScope) -> Result<Vec<PageEntry>> {
        let linked: std::collections::HashSet<String> = self
            .inner
            .search
            .link_targets(scope)?
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        Ok(self
            .list_pages(&FolderPath::root(), None, scope)
            .into_iter()
            .filter(|p| p.path != "Home" && !linked.contains(&p.path))
            .collect())
    }

    /// Pages whose front matter says `type: <page_type>` (case stories, insights), with their
    /// fields, for browsing and filtering as records.
    pub fn records(&self, page_type: &str, scope: &ReadScope) -> Vec<Record> {
        let snap = self.snapshot();
        // Blanks to start from are not records: the types' templates, wherever they are, and
        // whatever is kept in the templates folder.
        let templates: std::collections::HashSet<&str> = snap
            .types
            .types
            .values()
            .filter_map(|t| t.template.as_deref())
            .map(|t| t.strip_suffix(".md").unwrap_or(t))
            .collect();
        snap.pages
            .iter()
            .filter(|(p, _)| scope.sees(p))
            .filter(|(p, _)| !p.starts_with("templates/") && !templates.contains(p.as_str()))
            .filter(|(_, m)| {
                m.page_type
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(page_type))
            })
            .map(|(p, m)| Record {
                path: p.clone(),
                title: m.title.clone(),
                tags: m.tags.clone(),
                fields: m.fields.clone(),
                updated: snap.last_change.get(p).map(|c| c.date),
            })
            .collect()
    }

    /// Pages related to `page`, best first: sharing its tags, linking to the same pages, linked
    /// with it either way, or alike in words (more-like-this on title and text). Cached until
    /// the wiki changes. Only pages `scope` sees are named.
    pub fn related(
        &self,
        page: &Page,
        limit: usize,
        scope: &ReadScope,
    ) -> Result<Vec<LinkingPage>> {
        let mut found = self.related_all(page)?;
        found.retain(|l| scope.sees(&l.path));
        found.truncate(limit);
        Ok(found)
    }

    /// The best related pages, whoever may see them; cached until the wiki changes. A page
    /// rendered for one reader (some links hidden) is worked out from the links that reader
    /// sees, and not cached.
    fn related_all(&self, page: &Page) -> Result<Vec<LinkingPage>> {
        let limit = related::KEPT;
        let head = self.head();
        // Scores come from the search index, which catches up with the head a moment after a
        // save: what is computed before it has caught up is shown but not cached for the head.
        let index_current = self.inner.pending.load(std::sync::atomic::Ordering::SeqCst) == 0;
        let key = page.path.as_str().to_string();
        if !page.links_hidden
            && let Some((h, r)) = self
                .inner
                .related
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
            && *h == head
        {
            return Ok(r.clone());
        }
        let me = page.path.as_str();
        let mut score: HashMap<String, f32> = HashMap::new();
        {
            let snap = self.snapshot();
            let mut mine: Vec<String> = page
                .rendered
                .tags
                .iter()
                .map(|t| t.to_lowercase())
                .collect();
            mine.sort();
            mine.dedup();
            for t in &mine {
                for p in snap.by_tag.get(t).into_iter().flatten() {
                    *score.entry(p.clone()).or_default() += related::SHARED_TAG;
                }
            }
        }
        for link in page.rendered.links.iter().filter(|l| l.exists).take(40) {
            *score.entry(link.path.clone()).or_default() += related::LINK;
            for other in self.inner.search.backlinks(&link.path, 50)? {
                *score.entry(other.path).or_default() += related::SHARED_TARGET;
            }
        }
        for b in self.inner.search.backlinks(me, 50)? {
            *score.entry(b.path).or_default() += related::LINK;
        }
        let similar =
            self.inner
                .search
                .similar(me, related::SIMILAR_CANDIDATES, related::MIN_LIKENESS)?;
        for s in similar {
            *score.entry(s.path).or_default() += related::LIKENESS * s.likeness;
        }
        score.remove(me);
        let mut ranked: Vec<(String, f32)> = score
            .into_iter()
            .filter(|(_, s)| *s >= related::THRESHOLD)
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let out: Vec<LinkingPage> = ranked
            .into_iter()
            .filter_map(|(p, _)| {
                Some(LinkingPage {
                    title: self.title_of(&p)?,
                    path: p,
                })
            })
            .take(limit)
            .collect();
        if index_current
            && !page.links_hidden
            && self.inner.pending.load(std::sync::atomic::Ordering::SeqCst) == 0
        {
            let mut cache = self.inner.related.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() > CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key, (head, out.clone()));
        }
        Ok(out)
    }

    /// Every tag with the number of pages `scope` sees carrying it, most used first.
    pub fn tags(&self, scope: &ReadScope) -> Vec<(String, usize)> {
        let snap = self.snapshot();
        let mut counts: HashMap<String, (String, usize)> = HashMap::new();
        for (_, m) in snap.pages.iter().filter(|(p, _)| scope.sees(p)) {
            for t in &m.tags {
                let e = counts
                    .entry(t.to_lowercase())
                    .or_insert_with(|| (t.clone(), 0));
                e.1 += 1;
            }
        }
        let mut out: Vec<(String, usize)> = counts.into_values().collect();
        out.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| a.0.to_lowercase().cmp(&b.0.to_lowercase()))
        });
        out
    }

    /// Recent commits that touched `folder` (a page path works too; the root is `""`) and, if
    /// given, are by `author` (a name, without regard to case); looks back at most 2,000
    /// commits when filtering. Commits are shown as `scope` may see them: one that changed only
    /// files it does not see is left out, and one that changed some of them lists only the
    /// others and has its message (which may name them) replaced.
    pub fn changes_in(
        &self,
        folder: &str,
        author: Option<&str>,
        limit: usize,
        skip: usize,
        scope: &ReadScope,
    ) -> Result<Vec<CommitInfo>> {
        let limit = limit.clamp(1, 500);
        let folder = folder.trim_matches('/');
        let author = author.map(str::to_lowercase).filter(|a| !a.is_empty());
        let touches = |c: &CommitInfo| {
            folder.is_empty()
                || c.paths.iter().any(|p| {
                    // A discussion's files count as its page's.
                    let page = page_of_file(p).unwrap_or(p);
                    page == folder || page.starts_with(&format!("{folder}/"))
                })
        };
        let by = |c: &CommitInfo| {
            author
                .as_ref()
                .is_none_or(|a| c.author.name.to_lowercase() == *a)
        };
        if folder.is_empty() && author.is_none() && scope.is_everything() {
            return self.inner.store.log(limit, skip);
        }
        let visible = |c: CommitInfo| -> Option<CommitInfo> {
            if scope.sees_all(c.paths.iter().map(String::as_str)) {
                return Some(c);
            }
            let paths: Vec<String> = c.paths.into_iter().filter(|p| scope.sees(p)).collect();
            (!paths.is_empty()).then(|| CommitInfo {
                summary: format!(
                    "Changed {} {} (and files in folders you cannot read)",
                    paths.len(),
                    if paths.len() == 1 { "file" } else { "files" }
                ),
                paths,
                ..c
            })
        };
        let mut out = Vec::new();
        let mut skipped = 0;
        let mut offset = 0;
        const SCAN: usize = 2000;
        while offset < SCAN && out.len() < limit {
            let batch = self.inner.store.log(100, offset)?;
            if batch.is_empty() {
                break;
            }
            offset += batch.len();
            for c in batch {
                let Some(c) = visible(c) else { continue };
                if touches(&c) && by(&c) {
                    if skipped < skip {
                        skipped += 1;
                    } else if out.len() < limit {
                        out.push(c);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Checks that the repository and the index can be read.
    pub fn health(&self) -> Result<()> {
        self.inner.store.head()?;
        if self
            .inner
            .rebuilding
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(Error::unavailable(
                "building the search index; ready in a moment",
            ));
        }
        let _ = self.inner.search.num_docs();
        Ok(())
    }

    /// Number of documents in the search index.
    pub fn indexed_docs(&self) -> u64 {
        self.inner.search.num_docs()
    }
}

/// A page summary in `Inner::prepared`, there for as long as this lives.
struct Prepared<'a> {
    engine: &'a Engine,
    path: String,
    blob: BlobId,
}

impl<'a> Prepared<'a> {
    fn new(engine: &'a Engine, path: &PagePath, meta: PageMeta) -> Prepared<'a> {
        let mut prepared = engine
            .inner
            .prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let blob = meta.blob;
        prepared.push((path.as_str().to_string(), meta));
        Prepared {
            engine,
            path: path.as_str().to_string(),
            blob,
        }
    }
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        let mut prepared = self
            .engine
            .inner
            .prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(i) = prepared
            .iter()
            .position(|(p, m)| m.blob == self.blob && *p == self.path)
        {
            prepared.swap_remove(i);
        }
    }
}

/// Times a write is planned again when another process moved the branch between its plan and
/// its commit; then the write fails as a conflict, to be tried again.
const MOVED_BRANCH_RETRIES: usize = 5;

/// Times a save is read and merged without the writer before it is planned with the writer
/// held (when the page keeps changing in between).
const SAVE_PLANS: usize = 3;

/// The most lines a save's merge may compare with the writer held (see [`MERGE_LINES`]): a
/// millisecond or two of work.
const LOCKED_MERGE_LINES: usize = 1_000;

/// What a save does, worked out from the page at one head.
enum SavePlan {
    /// Write `text` over the page whose blob at the head is `against` (`None`: no page).
    Write {
        against: Option<BlobId>,
        text: String,
        merged: bool,
    },
    /// Written, with the writer held.
    Committed {
        rev: Revision,
        merged: bool,
        created: bool,
    },
    /// The page has the text already.
    Unchanged { merged: bool },
    /// A person must decide.
    Conflict {
        base: String,
        theirs: String,
        reason: ConflictReason,
    },
}

/// Reads of the repository a save is planned with: the store's own (no writer held) or the
/// writer's.
trait Reads {
    fn blob_at(&self, at: &Revision, file: &str) -> Result<Option<BlobId>>;
    /// A blob's content, refused (`TooLarge`) from its header when over `max` bytes.
    fn blob(&self, id: BlobId, max: usize) -> Result<Vec<u8>>;
}

impl Reads for Store {
    fn blob_at(&self, at: &Revision, file: &str) -> Result<Option<BlobId>> {
        Store::blob_at(self, at, file)
    }
    fn blob(&self, id: BlobId, max: usize) -> Result<Vec<u8>> {
        Store::blob(self, id, max)
    }
}

impl Reads for casebook_store::Writer<'_> {
    fn blob_at(&self, at: &Revision, file: &str) -> Result<Option<BlobId>> {
        casebook_store::Writer::blob_at(self, at, file)
    }
    fn blob(&self, id: BlobId, max: usize) -> Result<Vec<u8>> {
        casebook_store::Writer::blob(self, id, max)
    }
}

/// Plans the save `req` of `file` on `head`: the text to write (yours, or yours merged with
/// the page as it is when it changed since the base), or why not. Merges compare at most
/// `merge_lines` lines. Texts are compared by their blobs and read only to be merged, under the
/// page limit `max`: a page at the head that came from outside over the limit is replaced
/// without being read.
fn plan_save(
    req: &Save<'_>,
    file: &str,
    head: Option<&Revision>,
    read: &dyn Reads,
    merge_lines: usize,
    max: usize,
) -> Result<SavePlan> {
    let against = match head {
        Some(h) => read.blob_at(h, file)?,
        None => None,
    };
    let text_of = |id: BlobId| -> Result<String> {
        match read.blob(id, max) {
            Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
            Err(e) if e.kind == casebook_core::ErrorKind::TooLarge => {
                Err(too_large_page(req.path, e))
            }
            Err(e) => Err(e),
        }
    };
    let mut merged = false;
    let text = match req.base {
        None => req.markdown.to_string(),
        Some(base) => {
            let base_blob = read.blob_at(base, file).map_err(|e| {
                Error::invalid(format!(
                    "the base revision is not in this wiki ({})",
                    e.message
                ))
            })?;
            if base_blob == against {
                req.markdown.to_string()
            } else {
                let base = base_blob.map(text_of).transpose()?.unwrap_or_default();
                let Some(current) = against else {
                    // Deleted since the editor opened: a person must decide.
                    return Ok(SavePlan::Conflict {
                        base,
                        theirs: String::new(),
                        reason: ConflictReason::Deleted,
                    });
                };
                let theirs = text_of(current)?;
                match casebook_store::merge3_within(&base, &theirs, req.markdown, merge_lines) {
                    MergeOutcome::Clean(m) => {
                        merged = true;
                        m
                    }
                    MergeOutcome::Conflict => {
                        return Ok(SavePlan::Conflict {
                            base,
                            theirs,
                            reason: ConflictReason::Overlap,
                        });
                    }
                    MergeOutcome::TooLarge { lines, limit } => {
                        return Ok(SavePlan::Conflict {
                            base,
                            theirs,
                            reason: ConflictReason::TooLarge { lines, limit },
                        });
                    }
                }
            }
        }
    };
    if text.len() > max {
        // Two edits, each within the limit, can merge into a page over it.
        return Err(Error::too_large(format!(
            "merged with the changes saved since your base revision, the page would be {} bytes; \
             the limit is {max} bytes",
            text.len()
        )));
    }
    if against == Some(BlobId::of(text.as_bytes())) {
        return Ok(SavePlan::Unchanged { merged });
    }
    Ok(SavePlan::Write {
        against,
        text,
        merged,
    })
}

/// What the engine knows of the page at `path` whose text, blob `blob`, is `text`.
fn meta_of(blob: BlobId, path: &PagePath, text: &str) -> PageMeta {
    let s = casebook_markdown::summary(text);
    PageMeta {
        blob,
        title: s.title.unwrap_or_else(|| path.name().to_string()),
        tags: s.tags,
        page_type: s.page_type,
        fields: Arc::new(s.fields),
        too_large: None,
    }
}

/// The error for a page over the limit, which is never read.
fn too_large_page(path: &PagePath, e: Error) -> Error {
    Error::too_large(format!(
        "the page {path} is {}, so it is not shown; it came from outside Casebook (a push or a \
         commit by hand) and can be read, split or removed with git",
        e.message
    ))
}

fn default_message(given: &str, verb: &str, path: &PagePath) -> String {
    let given = given.trim();
    if given.is_empty() {
        format!("{verb} {path}")
    } else {
        given.to_string()
    }
}

fn starter_files() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Starter::iter()
        .filter_map(|name| {
            let file = Starter::get(&name)?;
            Some((name.to_string(), file.data.into_owned()))
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(path: &str) -> Vec<Change> {
        vec![Change::Put {
            path: path.to_string(),
            content: b"# Retried\n".to_vec(),
        }]
    }

    #[test]
    fn a_write_is_planned_again_when_the_branch_moved() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("wiki.git");
        let engine =
            Engine::open_without_indexing(Options::new(&repo, tmp.path().join("data"))).unwrap();
        let ann = Author::new("Ann", "ann@example.com");
        // Another process moves the branch while the first plan commits: git holds the
        // branch's lock file meanwhile.
        let lock = repo.join("refs/heads/main.lock");
        let mut plans = 0;
        let rev = engine
            .with_writer(|w| {
                plans += 1;
                if plans == 1 {
                    std::fs::write(&lock, "").unwrap();
                }
                let committed = w.commit(&put("Retried.md"), &ann, "Retry");
                let _ = std::fs::remove_file(&lock);
                committed
            })
            .unwrap();
        assert_eq!(plans, 2, "planned again once");
        assert_eq!(engine.head(), Some(rev.clone()));
        assert_eq!(engine.title_of("Retried").as_deref(), Some("Retried"));
        // A branch that keeps moving: the write gives up after its retries, as a conflict to
        // try again, and nothing is committed.
        std::fs::write(&lock, "").unwrap();
        let mut plans = 0;
        let err = engine
            .with_writer(|w| {
                plans += 1;
                w.commit(&put("Never.md"), &ann, "Never")
            })
            .unwrap_err();
        std::fs::remove_file(&lock).unwrap();
        assert_eq!(plans, MOVED_BRANCH_RETRIES + 1);
        assert_eq!(err.kind, casebook_core::ErrorKind::Conflict, "{err}");
        assert_eq!(engine.head(), Some(rev));
        assert_eq!(engine.title_of("Never"), None);
        engine.shutdown();
    }
}
