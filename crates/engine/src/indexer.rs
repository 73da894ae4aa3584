//! The indexer thread: turns repository changes into index updates, in commit order, batching
//! whatever piled up while it worked. It holds the only path to the index writer.

use crate::{Inner, discussions};
use casebook_core::{PagePath, Revision};
use casebook_search::IndexDoc;
use casebook_store::FileDelta;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

/// The longest a change waits for others to share its index commit.
const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(300);
/// A burst is over when nothing arrived for this long.
const QUIET: std::time::Duration = std::time::Duration::from_millis(60);

pub(crate) enum Job {
    Update { revision: Revision, deltas: Vec<FileDelta> },
    Rebuild { revision: Revision, progress: Option<crate::Progress> },
    Flush(Sender<()>),
    Stop,
}

pub(crate) struct Handle {
    tx: Sender<Job>,
    thread: Option<JoinHandle<()>>,
}

impl Handle {
    pub(crate) fn send(&self, job: Job) {
        let _ = self.tx.send(job);
    }
    pub(crate) fn stop(mut self) {
        let _ = self.tx.send(Job::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(crate) fn start(inner: Weak<Inner>) -> Handle {
    let (tx, rx) = channel();
    let thread = crate::in_background_thread("casebook-indexer", move || run(inner, rx));
    Handle { tx, thread: Some(thread) }
}

fn run(inner: Weak<Inner>, rx: Receiver<Job>) {
    // Updates taken off the channel so far; all are searchable once the batch they came in is
    // applied (or, during a build, once `Arrivals::take` has committed them).
    let mut taken = 0u64;
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        // Gather a burst of saves into one index commit: each commit writes and syncs a handful
        // of files, which would otherwise be paid per save. The wait is bounded well under the
        // one second in which a save must become searchable; a flush cuts it short.
        let started = std::time::Instant::now();
        loop {
            if jobs.iter().any(|j| matches!(j, Job::Flush(_) | Job::Stop | Job::Rebuild { .. })) {
                break;
            }
            let left = BATCH_WINDOW.saturating_sub(started.elapsed());
            match rx.recv_timeout(left.min(QUIET)) {
                Ok(more) => jobs.push(more),
                Err(_) => break,
            }
        }
        taken += jobs.iter().filter(|j| matches!(j, Job::Update { .. })).count() as u64;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let mut pending: Vec<(Revision, Vec<FileDelta>)> = Vec::new();
        let mut done = 0;
        let mut flushes = Vec::new();
        let mut stop = false;
        // A build stopped half way: the index is marked as incomplete, and no update may mark it
        // as at a revision (the next start builds it again).
        let mut incomplete = false;
        let mut jobs: std::collections::VecDeque<Job> = jobs.into();
        while let Some(job) = jobs.pop_front() {
            match job {
                Job::Update { revision, deltas } => {
                    pending.push((revision, deltas));
                    done += 1;
                }
                Job::Rebuild { revision, progress } => {
                    pending.clear();
                    // Searches meanwhile answer from what is indexed so far, and say how far
                    // (`stage_pages` counts what is committed).
                    let report = |done: u64, total: u64| {
                        inner.rebuilt[1].store(total, std::sync::atomic::Ordering::SeqCst);
                        if let Some(f) = &progress {
                            f(done, total);
                        }
                    };
                    let mut arrivals = Arrivals::new(&rx, taken);
                    if let Err(e) = rebuild(&inner, &revision, Some(&report), &mut arrivals) {
                        tracing::error!(error = %e, "rebuilding the search index failed");
                    }
                    // What arrived meanwhile is handled as if it came now (the saves among it
                    // once more, in full: their pages were indexed, not their past versions).
                    incomplete |= arrivals.stopped;
                    taken = arrivals.taken;
                    jobs.extend(arrivals.later);
                    inner.rebuilding.store(false, std::sync::atomic::Ordering::SeqCst);
                    inner.pending.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                }
                Job::Flush(tx) => {
                    if !incomplete {
                        apply(&inner, std::mem::take(&mut pending));
                    }
                    inner
                        .pending
                        .fetch_sub(std::mem::take(&mut done), std::sync::atomic::Ordering::SeqCst);
                    flushes.push(tx);
                }
                Job::Stop => stop = true,
            }
        }
        if !incomplete {
            apply(&inner, pending);
        }
        inner.saves[1].store(taken, std::sync::atomic::Ordering::SeqCst);
        inner.pending.fetch_sub(done, std::sync::atomic::Ordering::SeqCst);
        if let Some(s) = &inner.semantic {
            s.wake();
        }
        for f in flushes {
            let _ = f.send(());
        }
        if stop {
            return;
        }
    }
}

fn apply(inner: &Inner, batches: Vec<(Revision, Vec<FileDelta>)>) {
    let Some(revision) = batches.last().map(|(r, _)| r.clone()) else {
        return;
    };
    // Versions that this batch replaces or removes, each with the last commit that had it: the
    // commit the index reflected before its batch.
    let indexed = inner.search.indexed_revision();
    let mut before = indexed.as_deref().and_then(|r| Revision::parse(r).ok());
    let mut past = Vec::new();
    for (rev, deltas) in &batches {
        if let Some(prev) = &before {
            for d in deltas {
                if let (Some(old), Some(page)) = (d.old, PagePath::from_file(&d.path))
                    && d.new != d.old
                    && let Some(doc) = past_doc_for(inner, &page, old, prev)
                {
                    past.push(doc);
                }
            }
        }
        before = Some(rev.clone());
    }
    // The newest state of each path wins.
    let mut latest: std::collections::HashMap<String, bool> = Default::default();
    for (_, deltas) in &batches {
        for d in deltas {
            latest.insert(d.path.clone(), d.new.is_some());
        }
    }
    let mut remove = Vec::new();
    let mut present_pages = Vec::new();
    let mut threads = std::collections::BTreeSet::new();
    for (file, present) in latest {
        if let Some(key) = discussions::parse_file(&file) {
            // A thread's document is rebuilt from what is at the head now.
            remove.push(casebook_core::thread_doc_id(&key.page, &key.thread));
            threads.insert(key.thread);
            continue;
        }
        let Some(page) = PagePath::from_file(&file) else {
            continue;
        };
        // Replaced or removed either way; present pages are added back below.
        remove.push(page.as_str().to_string());
        if present {
            present_pages.push(page);
        }
    }
    let hook = inner.progress.lock().unwrap_or_else(|e| e.into_inner()).take();
    let started = std::time::Instant::now();
    // A large batch is committed in parts as the index it was before: after a crash in between,
    // the whole batch is applied again, which is harmless.
    let checkpoint = indexed.unwrap_or_default();
    let staged = inner.search.stage(&remove, Vec::new()).and_then(|()| {
        stage_pages(inner, &present_pages, hook.as_deref(), &checkpoint, None)?;
        inner.search.stage_new(thread_docs(inner, threads))
    });
    match staged.and_then(|()| inner.search.commit_at(revision.as_str())) {
        Ok(()) => {
            tracing::debug!(revision = %revision.short(), took_ms = started.elapsed().as_millis() as u64, "index updated")
        }
        Err(e) => tracing::error!(error = %e, "updating the search index failed"),
    }
    if let Err(e) = inner.history.append(past, revision.as_str()) {
        tracing::error!(error = %e, "recording past versions in the index failed");
    }
}

/// The text of a page's version, or `None` (with a warning) when it cannot be read, as a page
/// over the page limit is not: it came from outside and is left out of the index.
pub(crate) fn page_bytes(
    inner: &Inner,
    page: &PagePath,
    blob: casebook_store::BlobId,
) -> Option<Vec<u8>> {
    match inner.store.blob(blob, inner.opts.max_page_bytes) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind == casebook_core::ErrorKind::TooLarge => {
            tracing::warn!(page = %page, error = %e, "a page over the page limit is not indexed");
            None
        }
        Err(e) => {
            tracing::warn!(page = %page, error = %e, "cannot read a page to index it");
            None
        }
    }
}

/// The index document of a page as it is at the head now (`None` when it is gone).
fn doc_for(inner: &Inner, page: &PagePath) -> Option<IndexDoc> {
    let (blob, last) = {
        let snap = inner.snap.read().unwrap_or_else(|e| e.into_inner());
        let meta = snap.pages.get(page.as_str())?;
        (meta.blob, snap.last_change.get(page.as_str()).cloned())
    };
    let (doc, links) = version_doc(inner, page, blob, "page")?;
    Some(IndexDoc {
        author: last.as_ref().map(|c| c.author.name.clone()).unwrap_or_default(),
        updated: last.as_ref().map(|c| c.date.seconds).unwrap_or(0),
        links,
        ..doc
    })
}

/// The index document of the version `blob` of a page, as it was at the commit `at`, for the
/// index of past versions.
fn past_doc_for(
    inner: &Inner,
    page: &PagePath,
    blob: casebook_store::BlobId,
    at: &Revision,
) -> Option<IndexDoc> {
    let (doc, _) = version_doc(inner, page, blob, "revision")?;
    let commit = inner.store.commit_info(at).ok();
    Some(IndexDoc {
        updated: commit.map(|c| c.date.seconds).unwrap_or(0),
        revision: at.as_str().to_string(),
        ..doc
    })
}

/// What the text of one version of a page gives the index (title, headings, body, tags, fields),
/// with no author, date, links or revision yet, and the paths it links to.
fn version_doc(
    inner: &Inner,
    page: &PagePath,
    blob: casebook_store::BlobId,
    kind: &str,
) -> Option<(IndexDoc, Vec<String>)> {
    let bytes = page_bytes(inner, page, blob)?;
    let text = String::from_utf8_lossy(&bytes);
    let rendered = {
        let snap = inner.snap.read().unwrap_or_else(|e| e.into_inner());
        let cx = crate::link_context(page.as_str(), &*snap);
        casebook_markdown::analyze(&text, &cx)
    };
    let doc = IndexDoc {
        path: page.as_str().to_string(),
        title: rendered.title.clone().unwrap_or_else(|| page.name().to_string()),
        headings: rendered.headings.iter().map(|h| h.text.clone()).collect(),
        body: rendered.text,
        tags: rendered.tags,
        kind: kind.into(),
        author: String::new(),
        updated: 0,
        links: Vec::new(),
        fields: rendered.front_matter.0,
        revision: String::new(),
    };
    Some((doc, rendered.links.into_iter().map(|l| l.path).collect()))
}

/// Jobs that arrive while a build runs. Saves are indexed between the build's chunks, ahead of
/// the rest of it: a page saved during the half minute a large wiki's first build takes is found
/// at once, not when the build ends. A stop ends the build there (it is committed as incomplete,
/// so the next start builds again).
pub(crate) struct Arrivals<'a> {
    rx: &'a Receiver<Job>,
    /// Taken off the queue during the build, for the loop to handle after it.
    later: Vec<Job>,
    /// Pages a save changed, indexed as saved: the rest of the build leaves them be.
    done: std::collections::HashSet<String>,
    stopped: bool,
    /// Updates taken off the channel so far (see `run`).
    taken: u64,
}

impl<'a> Arrivals<'a> {
    fn new(rx: &'a Receiver<Job>, taken: u64) -> Self {
        Arrivals { rx, later: Vec::new(), done: Default::default(), stopped: false, taken }
    }

    /// Indexes the pages of the saves that arrived, committed with the build's `checkpoint` so
    /// that searches find them now; notes a stop.
    fn take(&mut self, inner: &Inner, checkpoint: &str) -> casebook_core::Result<()> {
        // The newest state of each page wins, as in `apply`.
        let mut latest: std::collections::HashMap<String, bool> = Default::default();
        while let Ok(job) = self.rx.try_recv() {
            match &job {
                Job::Update { deltas, .. } => {
                    self.taken += 1;
                    for d in deltas {
                        // Discussions are indexed after the build, as all its threads are.
                        if discussions::parse_file(&d.path).is_none()
                            && let Some(page) = PagePath::from_file(&d.path)
                        {
                            latest.insert(page.as_str().to_string(), d.new.is_some());
                        }
                    }
                }
                Job::Stop => self.stopped = true,
                Job::Rebuild { .. } | Job::Flush(_) => {}
            }
            self.later.push(job);
        }
        if !latest.is_empty() {
            let remove: Vec<String> = latest.keys().cloned().collect();
            let present: Vec<PagePath> = latest
                .iter()
                .filter(|(_, present)| **present)
                .filter_map(|(p, _)| PagePath::parse(p).ok())
                .collect();
            let docs = build_docs(inner, &present, None);
            self.done.extend(remove.iter().cloned());
            inner.search.stage(&remove, docs)?;
            inner.search.commit_at(checkpoint)?;
        }
        inner.saves[1].store(self.taken, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

fn rebuild(
    inner: &Arc<Inner>,
    revision: &Revision,
    progress: Option<&(dyn Fn(u64, u64) + Send + Sync)>,
    arrivals: &mut Arrivals<'_>,
) -> casebook_core::Result<()> {
    let started = std::time::Instant::now();
    inner.search.clear()?;
    let pages: Vec<PagePath> = {
        let snap = inner.snap.read().unwrap_or_else(|e| e.into_inner());
        snap.pages.keys().filter_map(|p| PagePath::parse(p).ok()).collect()
    };
    // Committed in parts with no revision: after a crash in between, the index is rebuilt.
    stage_pages(inner, &pages, progress, "", Some(arrivals))?;
    if arrivals.stopped {
        inner.search.commit_at("")?;
        tracing::info!("search index build stopped; the next start builds it again");
        return Ok(());
    }
    let threads: Vec<String> = {
        let snap = inner.snap.read().unwrap_or_else(|e| e.into_inner());
        snap.threads.threads.keys().cloned().collect()
    };
    let n = pages.len() + threads.len();
    inner.search.stage_new(thread_docs(inner, threads))?;
    inner.search.commit_at(revision.as_str())?;
    tracing::info!(pages = n, took_ms = started.elapsed().as_millis() as u64, "search index built");
    Ok(())
}

/// Pages whose documents are built and staged together: enough to keep every core busy, few
/// enough that a large import or rebuild never holds all its documents in memory at once.
const STAGE_CHUNK: usize = 2048;

/// Builds the documents of `pages` and stages them in the index, a chunk at a time. Between
/// chunks the index is committed with `checkpoint` as its revision, so that the documents the
/// index writer queues never pile up beyond one chunk (memory stays flat however large the wiki),
/// and a build takes in the saves that arrived (see [`Arrivals`]).
fn stage_pages(
    inner: &Inner,
    pages: &[PagePath],
    progress: Option<&(dyn Fn(u64, u64) + Send + Sync)>,
    checkpoint: &str,
    mut arrivals: Option<&mut Arrivals<'_>>,
) -> casebook_core::Result<()> {
    let total = pages.len() as u64;
    for (i, chunk) in pages.chunks(STAGE_CHUNK).enumerate() {
        let offset = (i * STAGE_CHUNK) as u64;
        if i > 0 {
            inner.search.commit_at(checkpoint)?;
            // What a search finds from now on (a build's progress as searches report it).
            inner.rebuilt[0].store(offset, std::sync::atomic::Ordering::SeqCst);
        }
        let report = |n: u64, _: u64| {
            if let Some(f) = progress {
                f(offset + n, total);
            }
        };
        let docs = match arrivals.as_deref_mut() {
            Some(arrivals) => {
                arrivals.take(inner, checkpoint)?;
                if arrivals.stopped {
                    return Ok(());
                }
                let left: Vec<PagePath> =
                    chunk.iter().filter(|p| !arrivals.done.contains(p.as_str())).cloned().collect();
                build_docs(inner, &left, Some(&report))
            }
            None => build_docs(inner, chunk, Some(&report)),
        };
        inner.search.stage_new(docs)?;
    }
    Ok(())
}

/// The documents of discussion threads as they are at the head (threads gone are skipped).
fn thread_docs(inner: &Inner, ids: impl IntoIterator<Item = String>) -> Vec<IndexDoc> {
    ids.into_iter()
        .filter_map(|id| match discussions::load(inner, &id) {
            Ok(t) => t.map(|t| discussions::index_doc(&t)),
            Err(e) => {
                tracing::warn!(thread = %id, error = %e, "cannot index a discussion");
                None
            }
        })
        .collect()
}

/// Builds the documents of many pages, on every core.
fn build_docs(
    inner: &Inner,
    pages: &[PagePath],
    progress: Option<&(dyn Fn(u64, u64) + Send + Sync)>,
) -> Vec<IndexDoc> {
    let total = pages.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(4);
    let chunk = pages.len().div_ceil(threads).max(1);
    if pages.len() < 64 {
        let docs = pages.iter().filter_map(|p| doc_for(inner, p)).collect();
        // The last part of a large build is often this small; its progress still counts.
        if let Some(f) = progress {
            f(total, total);
        }
        return docs;
    }
    let docs: Vec<IndexDoc> = std::thread::scope(|s| {
        let handles: Vec<_> = pages
            .chunks(chunk)
            .map(|part| {
                let done = &done;
                s.spawn(move || {
                    let mut out = Vec::with_capacity(part.len());
                    for p in part {
                        if let Some(d) = doc_for(inner, p) {
                            out.push(d);
                        }
                        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        if let Some(f) = progress
                            && (n.is_multiple_of(64) || n == total)
                        {
                            f(n, total);
                        }
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    docs
}
