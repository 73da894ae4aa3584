#![doc = include_str!("../README.md")]

mod attachments;
mod browse;
mod discuss;
mod discussions;
mod fields;
mod history;
mod import;
mod indexer;
mod links;
mod maintenance;
mod read;
mod records;
mod save;
mod search;
mod semantic;
mod startcache;
mod state;
mod sync;
mod threads;
mod types;
mod write;
mod writer;

pub use discussions::{
    Comment, Status as ThreadStatus, Thread, discussed_page, page_of_file, same_author,
};

pub use attachments::{Attached, AttachmentInfo};
pub use browse::{FolderEntry, Listing, PageEntry};
pub use casebook_markdown::LinkPrefixes;
pub use casebook_markdown::{
    FrontMatter, Heading, Link, Rendered, display_value, front_matter_parts, is_blank, set_fields,
};
pub use casebook_search::{
    ActiveFilter, FacetGroup, FacetValue, Hit, LinkingPage, Results, SearchLanguage, SearchOptions,
    active_filters, wants_history,
};
pub use casebook_store::{CommitInfo, has_conflict_markers, merge3_marked, unified_diff};
pub use fields::{Field, FieldKind, parse_date, parse_money, parse_number};
pub use history::{Activity, History};
pub use import::ImportReport;
pub use links::{LINKS_FILE, parse_pairs as parse_link_prefixes};
pub use read::{ATTACHMENT_READ_MAX, Attachment, Page};
pub use records::{
    FacetCount, FacetMode, NewRecord, RECORDS_PER_PAGE, Record, RecordFacet, RecordPage,
    RecordQuery, TypeCheck,
};
pub use save::{ConflictReason, Save, SaveOutcome};
pub use search::{IndexingStatus, Versions};
pub use semantic::{SemanticStatus, Signals, fuse};
pub use state::PageMeta;
pub use types::{PageType, TYPES_DIR, TypeProblem, TypeSet, new_page_text};
pub use write::Moved;

use casebook_core::{Author, Error, Result, Revision};
use casebook_markdown::Context;
use casebook_search::SearchIndex;
use casebook_store::{Opened, Store};
use read::RenderCache;
use search::RelatedCache;
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
    Context { page, pages, view_prefix: VIEW_PREFIX, edit_prefix: EDIT_PREFIX }
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
    /// Largest attachment accepted, in bytes.
    pub max_attachment_bytes: usize,
    /// Who the first commit of a new repository is by.
    pub system_author: Author,
    /// How search folds word forms; changing it rebuilds the index.
    pub search_language: SearchLanguage,
    /// The folder of a sentence-embedding model for search by meaning; `None`: words only.
    pub semantic_model: Option<PathBuf>,
}

impl Options {
    pub fn new(repo: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Options {
        Options {
            repo: repo.into(),
            data: data.into(),
            max_page_bytes: 5 * 1024 * 1024,
            max_attachment_bytes: 20 * 1024 * 1024,
            system_author: Author::new("Casebook", "casebook@localhost"),
            search_language: SearchLanguage::default(),
            semantic_model: None,
        }
    }
}

/// The wiki: the one API the server and the command line use. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("repo", &self.inner.store.path()).finish()
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
    /// How far that build is: pages indexed, and of how many.
    pub(crate) rebuilt: [std::sync::atomic::AtomicU64; 2],
    /// Saves sent to the indexer, and how many of them (the first ones, in order) searches find:
    /// during a build a search waits for the second to reach the first, which takes no longer
    /// than the build's current chunk.
    pub(crate) saves: [std::sync::atomic::AtomicU64; 2],
    /// What saves about to commit know of their pages, worked out before they take the writer;
    /// `meta_for` finds them there, so catching up with a save (with the sync lock held) does
    /// not read and summarise a large page again. Each save removes its own when done.
    prepared: Mutex<Vec<(String, PageMeta)>>,
    /// Told how the next large index update goes (for the command line's progress bars).
    pub(crate) progress: Mutex<Option<Progress>>,
    pub(crate) semantic: Option<semantic::Semantic>,
    /// Packs the repository in the background (not for `reindex` and other one-off commands).
    maintenance: Mutex<Option<maintenance::Maintenance>>,
    opts: Options,
}

/// Lowers the calling thread's scheduling priority (`nice` 10), so that the work it does in the
/// background (indexing, embedding, packing) yields the processor to requests; threads it starts
/// afterwards inherit the priority. On Linux only, where a priority is a thread's own (elsewhere
/// it would be the whole process's).
pub(crate) fn in_background() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, 10) {
        tracing::debug!(error = %e, "cannot lower the priority of a background thread");
    }
}

/// Starts the thread `name` running `work` in the background (see [`in_background`]).
pub(crate) fn in_background_thread(
    name: &str,
    work: impl FnOnce() + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            in_background();
            work()
        })
        .unwrap_or_else(|e| panic!("cannot start the thread {name}: {e}"))
}

/// The most pages a cache keyed by page (renderings, related pages) holds; it is emptied when
/// full.
const CACHE_LIMIT: usize = 20_000;

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
            Error::unavailable(format!("cannot create the data dir {}: {e}", opts.data.display()))
        })?;
        // The index writers start their threads (indexing, merging) from a thread in the
        // background, so those threads are: requests go first.
        let ((search, rebuilt), (history, _)) = std::thread::scope(|s| {
            s.spawn(|| {
                in_background();
                let lang = opts.search_language;
                Ok::<_, Error>((
                    SearchIndex::open_with_language(&opts.data.join("index"), lang)?,
                    SearchIndex::open_with_language(&opts.data.join("history"), lang)?,
                ))
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })?;
        let semantic = match &opts.semantic_model {
            Some(dir) => Some(semantic::Semantic::open(dir, &opts.data)?),
            None => None,
        };
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
            rebuilt: Default::default(),
            saves: Default::default(),
            semantic,
            maintenance: Mutex::new(None),
            opts,
        });
        let engine = Engine { inner };
        engine.load_head()?;
        let handle = indexer::start(Arc::downgrade(&engine.inner));
        *engine.inner.indexer.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        if catch_up_index {
            engine.catch_up_index(rebuilt)?;
            *engine.inner.maintenance.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(maintenance::Maintenance::start(Arc::downgrade(&engine.inner)));
        }
        if let Some(s) = &engine.inner.semantic {
            s.start(Arc::downgrade(&engine.inner));
        }
        Ok(engine)
    }

    /// The commit the wiki shows now.
    pub fn head(&self) -> Option<Revision> {
        self.inner.snap.read().unwrap_or_else(|e| e.into_inner()).head.clone()
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

    pub(crate) fn snapshot(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.inner.snap.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks that the repository and the index can be read.
    pub fn health(&self) -> Result<()> {
        self.inner.store.head()?;
        if self.inner.rebuilding.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::unavailable("building the search index; ready in a moment"));
        }
        let _ = self.inner.search.num_docs();
        Ok(())
    }

    /// Number of documents in the search index.
    pub fn indexed_docs(&self) -> u64 {
        self.inner.search.num_docs()
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
