//! Meaning-based search: the embedder thread that keeps a vector for every passage of every
//! page (following the head as the text index does, never holding up a save), and the hybrid
//! ranking that answers a query from both the text index and the nearest passages.

use crate::{Engine, Inner};
use casebook_core::{PagePath, ReadScope, Result};
use casebook_search::{Hit, Results, SearchOptions};
use casebook_semantic::{Model, Query, Vectors};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

/// Pages embedded between two writes of the vector log (and two looks at the head).
const BATCH_PAGES: usize = 24;
/// How many hits of each side the fusion looks at.
pub(crate) const DEPTH: usize = 50;
/// Query embeddings kept, by query text.
const QUERY_CACHE: usize = 512;
/// How often a long embedding run says how far it is.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// How far the vectors are: `indexed` of `total` pages have vectors of their current text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SemanticStatus {
    pub model: String,
    pub indexed: usize,
    pub total: usize,
}

pub(crate) struct Semantic {
    model: Arc<Model>,
    vectors: RwLock<Vectors>,
    wake: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    indexed: AtomicUsize,
    total: AtomicUsize,
    queries: Mutex<HashMap<String, Arc<Query>>>,
}

impl Semantic {
    /// Loads the model in `dir` and the vectors kept for it in `data`.
    pub(crate) fn open(dir: &std::path::Path, data: &std::path::Path) -> Result<Semantic> {
        let started = Instant::now();
        let model = Model::load(dir)?;
        let file = data.join("vectors").join(format!("{}.log", model.name()));
        let vectors = Vectors::open(&file, model.name(), model.dim())?;
        tracing::info!(
            model = model.name(),
            pages = vectors.pages(),
            passages = vectors.passages(),
            took_ms = started.elapsed().as_millis() as u64,
            "search by meaning is on"
        );
        Ok(Semantic {
            model: Arc::new(model),
            vectors: RwLock::new(vectors),
            wake: Mutex::new(None),
            thread: Mutex::new(None),
            indexed: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
            queries: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn start(&self, inner: Weak<Inner>) {
        let (tx, rx) = channel();
        let thread = crate::in_background_thread("casebook-embedder", move || run(inner, rx));
        *self.wake.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        *self.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread);
        self.wake();
    }

    /// Tells the embedder the head moved.
    pub(crate) fn wake(&self) {
        if let Some(tx) = self.wake.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = tx.send(());
        }
    }

    /// Stops the embedder after the batch it is on.
    pub(crate) fn stop(&self) {
        self.wake.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }

    fn status(&self) -> SemanticStatus {
        SemanticStatus {
            model: self.model.name().to_string(),
            indexed: self.indexed.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
        }
    }

    /// The query's embedding, from the cache when it was asked lately.
    fn query(&self, text: &str) -> Arc<Query> {
        let key = text.trim().to_lowercase();
        if let Some(q) = self.queries.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return q.clone();
        }
        let q = Arc::new(Query::new(&self.model.embed(&key)));
        let mut cache = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= QUERY_CACHE {
            cache.clear();
        }
        cache.insert(key, q.clone());
        q
    }
}

fn run(inner: Weak<Inner>, rx: Receiver<()>) {
    while rx.recv().is_ok() {
        // A wake-up that arrives during a run means the head moved meanwhile: run again.
        let again = std::sync::atomic::AtomicBool::new(true);
        while again.swap(false, Ordering::SeqCst) {
            while rx.try_recv().is_ok() {}
            let Some(inner) = inner.upgrade() else { return };
            match catch_up(&inner, &rx, &again) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => tracing::error!(error = %e, "embedding pages failed"),
            }
        }
    }
}

/// Brings the vectors to the head: pages gone are dropped, new and changed pages embedded, a
/// batch at a time (each batch written to the log), until none is left or the engine stops
/// (then `false`). A wake-up seen between batches sets `again`.
fn catch_up(
    inner: &Arc<Inner>,
    rx: &Receiver<()>,
    again: &std::sync::atomic::AtomicBool,
) -> Result<bool> {
    let Some(sem) = inner.semantic.as_ref() else { return Ok(false) };
    let head: HashMap<String, String> = {
        let snap = inner.snap.read().unwrap_or_else(|e| e.into_inner());
        snap.pages
            .iter()
            .filter(|(_, m)| m.too_large.is_none())
            .map(|(p, m)| (p.clone(), m.blob.hex()))
            .collect()
    };
    let have = sem.vectors.read().unwrap_or_else(|e| e.into_inner()).versions();
    {
        let mut v = sem.vectors.write().unwrap_or_else(|e| e.into_inner());
        for page in have.keys().filter(|p| !head.contains_key(*p)) {
            v.remove(page)?;
        }
        v.flush()?;
    }
    let mut todo: Vec<(&String, &String)> =
        head.iter().filter(|(p, blob)| have.get(*p) != Some(*blob)).collect();
    todo.sort();
    sem.total.store(head.len(), Ordering::Relaxed);
    sem.indexed.store(head.len() - todo.len(), Ordering::Relaxed);
    if todo.is_empty() {
        return Ok(true);
    }
    let started = Instant::now();
    let mut reported = Instant::now();
    let (all, mut done) = (todo.len(), 0);
    tracing::info!(pages = all, "embedding pages for search by meaning");
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    for batch in todo.chunks(BATCH_PAGES) {
        // Passages of each page, as the model reads them.
        let mut pages = Vec::with_capacity(batch.len());
        for (path, blob) in batch {
            let Ok(page) = PagePath::parse(path) else { continue };
            pages.push((path.to_string(), blob.to_string(), passages_of(inner, &page)));
        }
        let texts: Vec<&str> =
            pages.iter().flat_map(|(_, _, ps)| ps.iter().map(|(_, _, m)| m.as_str())).collect();
        let mut vectors = sem.model.embed_all(&texts, threads, &|_| {}).into_iter();
        {
            let mut v = sem.vectors.write().unwrap_or_else(|e| e.into_inner());
            for (path, blob, ps) in pages {
                let rows = ps
                    .into_iter()
                    .map(|(heading, text, _)| (heading, text, vectors.next().unwrap_or_default()))
                    .collect();
                v.put(&path, &blob, rows)?;
            }
            v.flush()?;
        }
        done += batch.len();
        sem.indexed.fetch_add(batch.len(), Ordering::Relaxed);
        if reported.elapsed() >= REPORT_EVERY {
            tracing::info!(done, of = all, "embedding pages");
            reported = Instant::now();
        }
        // Stopping, or the engine is gone: the rest waits for the next start.
        match rx.try_recv() {
            Ok(()) => again.store(true, Ordering::SeqCst),
            Err(std::sync::mpsc::TryRecvError::Disconnected) => return Ok(false),
            Err(std::sync::mpsc::TryRecvError::Empty) => {}
        }
    }
    let passages = sem.vectors.read().unwrap_or_else(|e| e.into_inner()).passages();
    tracing::info!(
        pages = all,
        passages,
        took_ms = started.elapsed().as_millis() as u64,
        "pages embedded"
    );
    // Pages changed while this ran are picked up by the wake-up their change sent.
    Ok(true)
}

/// The passages of the page at the head: (heading, text, what the model reads).
fn passages_of(inner: &Inner, page: &PagePath) -> Vec<(String, String, String)> {
    let blob = {
        let snap = inner.snap.read().unwrap_or_else(|e| e.into_inner());
        match snap.pages.get(page.as_str()) {
            Some(m) => m.blob,
            None => return Vec::new(),
        }
    };
    let Some(bytes) = crate::indexer::page_bytes(inner, page, blob) else { return Vec::new() };
    let text = String::from_utf8_lossy(&bytes);
    let rendered = {
        let snap = inner.snap.read().unwrap_or_else(|e| e.into_inner());
        let cx = crate::link_context(page.as_str(), &*snap);
        casebook_markdown::analyze(&text, &cx)
    };
    let title = rendered.title.clone().unwrap_or_else(|| page.name().to_string());
    let headings: Vec<(u8, String)> =
        rendered.headings.iter().map(|h| (h.level, h.text.clone())).collect();
    let mut out: Vec<(String, String, String)> =
        casebook_semantic::split(&rendered.text, &headings)
            .into_iter()
            .map(|p| {
                let model = p.for_model(&title);
                (p.headings.last().cloned().unwrap_or_default(), p.text, model)
            })
            .collect();
    // The page as a whole, by its title and headings: what it is about when no one passage
    // says so alone.
    let outline: Vec<&str> =
        headings.iter().map(|(_, h)| h.as_str()).filter(|h| *h != title).collect();
    let whole =
        if outline.is_empty() { title.clone() } else { format!("{title}\n{}", outline.join("; ")) };
    out.push((String::new(), String::new(), whole));
    out
}

impl Engine {
    /// How far the vectors of search by meaning are, or `None` when it is off (no model).
    pub fn semantic_status(&self) -> Option<SemanticStatus> {
        self.inner.semantic.as_ref().map(Semantic::status)
    }

    /// Whether every page at the head has vectors of its current text (true without a model).
    pub fn is_embedded(&self) -> bool {
        let Some(s) = &self.inner.semantic else { return true };
        let v = s.vectors.read().unwrap_or_else(|e| e.into_inner());
        let snap = self.snapshot();
        snap.pages
            .iter()
            .filter(|(_, m)| m.too_large.is_none())
            .all(|(p, m)| v.version(p) == Some(m.blob.hex().as_str()))
    }

    /// Waits until every page at the head has vectors (tests and `casebook reindex`).
    pub fn wait_embedded(&self) {
        let Some(s) = &self.inner.semantic else { return };
        s.wake();
        while !self.is_embedded() {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pages nearest in meaning to `q`, best first (for measuring and for the hybrid).
    pub fn search_by_meaning(&self, q: &str, limit: usize, scope: &ReadScope) -> Vec<String> {
        let Some(s) = &self.inner.semantic else { return Vec::new() };
        let query = s.query(q);
        let v = s.vectors.read().unwrap_or_else(|e| e.into_inner());
        v.nearest(&query, limit, &|p| scope.sees(p)).into_iter().map(|m| m.path).collect()
    }

    /// What the hybrid ranking weighs for `q`, for the reader `scope`: the words-only ranking,
    /// the any-word ranking, and the nearest pages by meaning (with the likeness of every page
    /// the other two found). `None` without a model or without free text in the query.
    pub fn search_signals(&self, q: &str, scope: &ReadScope) -> Result<Option<Signals>> {
        self.read_your_writes();
        let Some((sem, free)) = self.meaning_of(q) else { return Ok(None) };
        let opts = SearchOptions { facets: false, did_you_mean: false, scope: scope.clone() };
        let found = self.inner.search.search_with(q, DEPTH, 0, opts)?;
        Ok(Some(self.signals(sem, &free, q, scope, &found)?.0))
    }

    /// The model and the free text of `q`, when there is a model and the query has free text.
    fn meaning_of(&self, q: &str) -> Option<(&Semantic, String)> {
        let sem = self.inner.semantic.as_ref()?;
        let free = casebook_search::parse_query(q).free_text();
        (!free.trim().is_empty()).then_some((sem, free))
    }

    /// The signals of `q` given its words-only results `found`, with every candidate's nearest
    /// passage.
    fn signals(
        &self,
        sem: &Semantic,
        free: &str,
        q: &str,
        scope: &ReadScope,
        found: &Results,
    ) -> Result<(Signals, HashMap<String, casebook_semantic::PageMatch>)> {
        let words: Vec<(String, f32)> =
            found.hits.iter().take(DEPTH).map(|h| (h.path.clone(), h.score)).collect();
        let any = self.inner.search.any_word(q, DEPTH, scope)?;
        let query = sem.query(free);
        let v = sem.vectors.read().unwrap_or_else(|e| e.into_inner());
        let mut near: HashMap<String, casebook_semantic::PageMatch> = HashMap::new();
        let mut meaning: Vec<(String, f32)> = Vec::new();
        for m in v.nearest(&query, DEPTH, &|p| scope.sees(p)) {
            meaning.push((m.path.clone(), m.score));
            near.insert(m.path.clone(), m);
        }
        let mut likeness: HashMap<String, f32> = meaning.iter().cloned().collect();
        for (p, _) in words.iter().chain(&any) {
            if !likeness.contains_key(p)
                && let Some(m) = v.score(&query, p)
            {
                likeness.insert(p.clone(), m.score);
                near.insert(p.clone(), m);
            }
        }
        let signals = Signals {
            words,
            any,
            meaning,
            likeness,
            relaxed: found.relaxed,
            free_words: free.split_whitespace().count(),
        };
        Ok((signals, near))
    }

    /// A search over the pages now, from the text index and the nearest passages together;
    /// `shown` is the range of hits answered (offset to offset + limit).
    pub(crate) fn hybrid(
        &self,
        q: &str,
        shown: Range<usize>,
        opts: SearchOptions,
    ) -> Result<Results> {
        let (offset, limit) = (shown.start, shown.len());
        let index = &self.inner.search;
        let Some((sem, free)) = self.meaning_of(q) else {
            return index.search_with(q, limit, offset, opts);
        };
        // The words-only search runs once: its hits are a signal, its total, facets and "did
        // you mean" are the answer's.
        let depth = (offset + limit).max(DEPTH);
        let mut text = index.search_with(q, depth, 0, opts.clone())?;
        let (signals, near) = self.signals(sem, &free, q, &opts.scope, &text)?;
        let fused = fuse(&signals);
        // Pages not among the words-only hits go through the query's filters and the reader's
        // scope; their snippets are made below, for the hits shown.
        let by_text: HashMap<&str, &Hit> = text.hits.iter().map(|h| (h.path.as_str(), h)).collect();
        let extra: Vec<(String, String, f32)> = fused
            .iter()
            .filter(|(p, _)| !by_text.contains_key(p.as_str()))
            .map(|(p, score)| (p.clone(), String::new(), *score))
            .collect();
        let extra: HashMap<String, Hit> = index
            .hits_for(q, &extra, &opts.scope)?
            .into_iter()
            .map(|h| (h.path.clone(), h))
            .collect();
        let hits: Vec<Hit> = fused
            .into_iter()
            .filter_map(|(path, score)| {
                let mut h = match by_text.get(path.as_str()) {
                    Some(h) => (*h).clone(),
                    None => extra.get(&path)?.clone(),
                };
                h.score = score;
                Some(h)
            })
            .collect();
        text.total = text.total.max(hits.len());
        // A page that has every word shows where they are; otherwise its nearest passage.
        let words = index.snippet_words(q);
        text.hits = hits
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|mut h| {
                let from_words = !signals.relaxed && by_text.contains_key(h.path.as_str());
                if !from_words
                    && let Some(m) = near.get(&h.path)
                    && !m.excerpt.is_empty()
                {
                    h.snippet = index.highlight(&m.excerpt, &words);
                }
                h
            })
            .collect();
        Ok(text)
    }
}

/// What the hybrid ranking weighs (see [`Engine::search_signals`]).
#[derive(Debug, Clone)]
pub struct Signals {
    /// Casebook's words-only ranking (every word, or all but one), with scores.
    pub words: Vec<(String, f32)>,
    /// Pages with any of the words, with scores.
    pub any: Vec<(String, f32)>,
    /// The pages nearest in meaning, with their best passage's likeness.
    pub meaning: Vec<(String, f32)>,
    /// The likeness of every page in any of the three.
    pub likeness: HashMap<String, f32>,
    /// The words-only ranking had to loosen the query (no page had all its words).
    pub relaxed: bool,
    /// Words in the query's free text.
    pub free_words: usize,
}

/// The hybrid ranking: a page's nearest passage's likeness to the query, plus its words-only
/// score as a share of the best one's, weighed less for a long question or one whose words
/// no page has all of (there the words mislead more than they help). Measured on the
/// relevance sets of `tests/integration/meaning.rs`: better than reciprocal rank fusion of the
/// words, the any-word ranking and the vectors, which lost on both sets.
pub fn fuse(s: &Signals) -> Vec<(String, f32)> {
    let top = s.words.iter().map(|(_, v)| *v).fold(0f32, f32::max).max(1e-6);
    let words: HashMap<&str, f32> = s.words.iter().map(|(p, v)| (p.as_str(), v / top)).collect();
    let weight = weight_of_words(s.relaxed, s.free_words);
    let mut out: Vec<(String, f32)> = s
        .likeness
        .iter()
        .map(|(p, like)| (p.clone(), like + weight * words.get(p.as_str()).copied().unwrap_or(0.0)))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// How much the words-only score adds to the likeness.
fn weight_of_words(relaxed: bool, words: usize) -> f32 {
    if relaxed || words >= 6 { 0.04 } else { 0.2 }
}
