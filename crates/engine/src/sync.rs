//! Catching up with the repository: loading the head at start, applying new commits (the
//! writer's own, or pushed from outside) to the snapshot, and handing the changes to the
//! indexer in commit order.

use crate::state::{PageMeta, Snapshot};
use crate::types::{TYPES_DIR, TypeSet};
use crate::{Engine, Progress, Starter, indexer, links, startcache};
use casebook_core::{PagePath, Result, Revision};
use casebook_store::{BlobId, CommitInfo};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Commits walked at start-up to learn who changed each page last.
const START_WALK: usize = 500;

impl Engine {
    pub(crate) fn load_head(&self) -> Result<()> {
        let inner = &self.inner;
        let Some(head) = inner.store.head()? else {
            return Ok(());
        };
        let files = inner.store.files(&head)?;
        let cache = startcache::load(&inner.opts.data);
        let mut stale = cache.is_none();
        let mut snap = Snapshot { head: Some(head.clone()), ..Snapshot::default() };
        for f in &files {
            snap.put_file(&f.path, f.blob);
            if let Some(path) = PagePath::from_file(&f.path) {
                let cached = cache.as_ref().and_then(|c| c.metas.get(path.as_str()));
                let meta = match cached.filter(|m| m.blob == f.blob) {
                    Some(m) => m.clone(),
                    None => {
                        stale = true;
                        self.meta_for(f.blob, &path)?
                    }
                };
                snap.insert_page(path.as_str().to_string(), meta);
            }
        }
        snap.types = Arc::new(self.read_types(&snap.files));
        snap.link_prefixes = self.read_link_prefixes(snap.files.get(links::LINKS_FILE).copied());
        // Who changed each page last: as the cache knows it, and the commits since on top; or
        // from the newest commits.
        let (since, log) = match cache {
            Some(c) if inner.store.is_ancestor(&c.head, &head) => {
                snap.last_change = c.last_change;
                snap.last_change.retain(|p, _| snap.pages.contains_key(p));
                let log = if c.head == head {
                    Vec::new()
                } else {
                    stale = true;
                    inner.store.commits_between(Some(&c.head), &head, START_WALK)?
                };
                (true, log)
            }
            _ => {
                stale = true;
                (false, inner.store.log(START_WALK, 0)?)
            }
        };
        for mut c in log.into_iter().rev() {
            // Kept per page: who and when. Not the commit's list of files, which for an import
            // names every page of the wiki.
            let paths = std::mem::take(&mut c.paths);
            let c = Arc::new(c);
            for p in &paths {
                if let Some(page) = PagePath::from_file(p)
                    && (!since || snap.pages.contains_key(page.as_str()))
                {
                    snap.last_change.insert(page.as_str().to_string(), c.clone());
                }
            }
        }
        if stale && let Err(e) = startcache::save(&inner.opts.data, &snap) {
            tracing::warn!(error = %e, "cannot write the start cache; the next start reads every page again");
        }
        *inner.snap.write().unwrap_or_else(|e| e.into_inner()) = snap;
        Ok(())
    }

    /// The page types of a tree: its `.casebook/types/*.toml` files, or the built-in types
    /// when it has none. Never fails: a file that cannot be read is a problem of the set.
    fn read_types(&self, files: &BTreeMap<String, BlobId>) -> TypeSet {
        let mut found = Vec::new();
        let mut unreadable = Vec::new();
        let below =
            files.range(TYPES_DIR.to_string()..).take_while(|(p, _)| p.starts_with(TYPES_DIR));
        for (path, blob) in below {
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
                    authors.entry(page.as_str().to_string()).or_insert_with(|| c.clone());
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
    pub(crate) fn advance_by(&self, commits: Vec<casebook_store::Committed>) -> Result<()> {
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
        self.send(indexer::Job::Update { revision: new, deltas });
        Ok(())
    }

    /// Brings the index up to the head: from the revision it records, or from scratch.
    pub(crate) fn catch_up_index(&self, rebuilt: bool) -> Result<()> {
        let head = self.head();
        let indexed = if rebuilt { None } else { self.inner.search.indexed_revision() };
        let indexed = indexed.and_then(|r| Revision::parse(&r).ok());
        match (indexed, head) {
            (_, None) => Ok(()),
            (Some(i), Some(h)) if i == h => Ok(()),
            (Some(i), Some(h)) if self.inner.store.resolve(&i).is_ok() => {
                let deltas = self.inner.store.changes_between(Some(&i), &h)?;
                tracing::info!(from = %i.short(), to = %h.short(), files = deltas.len(), "catching the search index up");
                self.send(indexer::Job::Update { revision: h, deltas });
                Ok(())
            }
            (_, Some(h)) => {
                tracing::info!(revision = %h.short(), "building the search index");
                self.send(indexer::Job::Rebuild { revision: h, progress: None });
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
        self.send(indexer::Job::Rebuild { revision: head, progress: Some(progress) });
        self.wait_indexed();
        Ok(self.inner.search.num_docs() as usize)
    }

    fn send(&self, job: indexer::Job) {
        use std::sync::atomic::Ordering;
        match &job {
            indexer::Job::Update { .. } => {
                self.inner.pending.fetch_add(1, Ordering::SeqCst);
                self.inner.saves[0].fetch_add(1, Ordering::SeqCst);
            }
            indexer::Job::Rebuild { .. } => {
                self.inner.pending.fetch_add(1, Ordering::SeqCst);
                let pages = self.snapshot().pages.len() as u64;
                self.inner.rebuilt[0].store(0, Ordering::SeqCst);
                self.inner.rebuilt[1].store(pages, Ordering::SeqCst);
                self.inner.rebuilding.store(true, Ordering::SeqCst);
            }
            _ => {}
        }
        if let Some(h) = self.inner.indexer.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            h.send(job);
        }
    }

    /// Reports the progress of the next index update through `progress`.
    pub fn on_next_index_update(&self, progress: Progress) {
        *self.inner.progress.lock().unwrap_or_else(|e| e.into_inner()) = Some(progress);
    }

    /// Waits until every change sent to the index so far is searchable.
    pub fn wait_indexed(&self) {
        let (tx, rx) = std::sync::mpsc::channel();
        self.send(indexer::Job::Flush(tx));
        let _ = rx.recv();
    }

    /// Packs the repository's loose objects now (the maintenance thread does so by itself
    /// during and after saves).
    pub fn pack_repository(&self) -> Result<casebook_store::Loose> {
        let loose = self.inner.store.loose_objects()?;
        self.inner.store.pack()?;
        Ok(loose)
    }

    /// Stops the indexer after it has finished the work it was given, except a build of the
    /// whole index, which stops where it is (the next start builds the index again).
    pub fn shutdown(&self) {
        if let Some(h) = self.inner.indexer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            h.stop();
        }
        if let Some(s) = &self.inner.semantic {
            s.stop();
        }
        if let Some(m) = self.inner.maintenance.lock().unwrap_or_else(|e| e.into_inner()).take() {
            m.stop();
        }
        if let Err(e) = startcache::save(&self.inner.opts.data, &self.snapshot()) {
            tracing::warn!(error = %e, "cannot write the start cache; the next start reads every page again");
        }
    }
}

/// What the engine knows of the page at `path` whose text, blob `blob`, is `text`.
pub(crate) fn meta_of(blob: BlobId, path: &PagePath, text: &str) -> PageMeta {
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
