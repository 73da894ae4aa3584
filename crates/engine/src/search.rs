//! Searching the wiki: full text (current and past versions), backlinks, wanted and orphaned
//! pages, and related pages.

use crate::browse::PageEntry;
use crate::read::Page;
use crate::{CACHE_LIMIT, Engine};
use casebook_core::{FolderPath, PagePath, ReadScope, Result, Revision};
use casebook_search::{LinkingPage, Results, SearchOptions};
use std::collections::HashMap;

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

/// Which versions of the pages a search looks through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    /// The pages as they are at the head.
    Current,
    /// Versions replaced or removed since the index of past versions was started; each hit
    /// carries the revision at which the page read so.
    Past,
}

/// Related pages by path, with the head they were computed at.
pub(crate) type RelatedCache = HashMap<String, (Option<Revision>, Vec<LinkingPage>)>;

/// How far the search index is built, while it is built from scratch (the first start on a
/// repository, or after the index was removed): searches meanwhile answer from the pages
/// indexed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IndexingStatus {
    pub indexed: u64,
    pub total: u64,
}

impl IndexingStatus {
    /// The share indexed, in whole percent (never 100 while under way).
    pub fn percent(&self) -> u64 {
        (self.indexed * 100).checked_div(self.total).unwrap_or(0).min(99)
    }
}

/// A build of the index from scratch of at most this many pages is waited for (it takes a
/// moment); a search during a larger one answers at once from what is indexed so far.
const SMALL_BUILD: u64 = 2_000;
/// The longest a search during such a build waits for the saves made before it (the build takes
/// them in at its next chunk, a second or two away at most on a small machine).
const SAVES_DURING_BUILD: std::time::Duration = std::time::Duration::from_secs(3);

impl Engine {
    /// Read your writes: waits for the index jobs pending, so a save acknowledged a moment ago
    /// is in the answer of a search that follows. While a large wiki's index is built from scratch,
    /// does not wait for the build: the answer holds the pages indexed so far
    /// ([`Engine::indexing_status`]) and the pages saved so far, which the build takes in
    /// between its chunks.
    pub(crate) fn read_your_writes(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        if self.inner.pending.load(SeqCst) == 0 {
            return;
        }
        match self.indexing_status() {
            Some(building) if building.total > SMALL_BUILD => {
                let sent = self.inner.saves[0].load(SeqCst);
                let give_up = std::time::Instant::now() + SAVES_DURING_BUILD;
                while self.inner.saves[1].load(SeqCst) < sent
                    && self.inner.rebuilding.load(SeqCst)
                    && std::time::Instant::now() < give_up
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
            _ => self.wait_indexed(),
        }
    }

    /// How far the index is built while it is built from scratch; `None` when it is complete.
    pub fn indexing_status(&self) -> Option<IndexingStatus> {
        use std::sync::atomic::Ordering::SeqCst;
        self.inner.rebuilding.load(SeqCst).then(|| IndexingStatus {
            indexed: self.inner.rebuilt[0].load(SeqCst),
            total: self.inner.rebuilt[1].load(SeqCst),
        })
    }

    /// Full-text search over the pages as they are now.
    pub fn search(&self, q: &str, limit: usize, offset: usize) -> Result<Results> {
        self.search_in(Versions::Current, q, limit, offset, SearchOptions::default())
    }

    /// Full-text search over the pages now or over their past versions, computing only what
    /// `opts` asks for besides the hits.
    pub fn search_in(
        &self,
        versions: Versions,
        q: &str,
        limit: usize,
        offset: usize,
        opts: SearchOptions,
    ) -> Result<Results> {
        self.read_your_writes();
        match versions {
            Versions::Current => self.hybrid(q, offset..offset + limit, opts),
            Versions::Past => self.inner.history.search_with(q, limit, offset, opts),
        }
    }

    /// Casebook's ranking by words alone, without search by meaning: for measuring relevance.
    pub fn search_words_only(&self, q: &str, limit: usize) -> Result<Vec<String>> {
        self.read_your_writes();
        let found = self.inner.search.search_with(q, limit, 0, SearchOptions::default())?;
        Ok(found.hits.into_iter().map(|h| h.path).collect())
    }

    /// Plain BM25 over the same index, without Casebook's ranking: for measuring relevance.
    pub fn search_plain_bm25(&self, q: &str, limit: usize) -> Result<Vec<String>> {
        self.read_your_writes();
        self.inner.search.search_plain_bm25(q, limit)
    }

    /// Pages that `scope` sees linking to `path`.
    /// The linking pages are found in the index, their paths read from its column and their
    /// titles from the engine's picture of the head (reading each stored document meant
    /// decompressing a block of the document store per linking page, on every view).
    pub fn backlinks(&self, path: &PagePath, scope: &ReadScope) -> Result<Vec<LinkingPage>> {
        let paths = self.inner.search.linking_paths(path.as_str(), 1000)?;
        let snap = self.snapshot();
        let mut found: Vec<LinkingPage> = paths
            .into_iter()
            .filter(|p| scope.sees(p))
            .filter_map(|p| {
                let title = snap.pages.get(p.as_str())?.title.clone();
                Some(LinkingPage { path: p, title })
            })
            .collect();
        found.sort_by_cached_key(|l| l.title.to_lowercase());
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
        let linked: std::collections::HashSet<String> =
            self.inner.search.link_targets(scope)?.into_iter().map(|(p, _)| p).collect();
        Ok(self
            .list_pages(&FolderPath::root(), None, scope)
            .into_iter()
            .filter(|p| p.path != "Home" && !linked.contains(&p.path))
            .collect())
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
            && let Some((h, r)) =
                self.inner.related.lock().unwrap_or_else(|e| e.into_inner()).get(&key)
            && *h == head
        {
            return Ok(r.clone());
        }
        let me = page.path.as_str();
        let mut score: HashMap<String, f32> = HashMap::new();
        {
            let snap = self.snapshot();
            let mut mine: Vec<String> =
                page.rendered.tags.iter().map(|t| t.to_lowercase()).collect();
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
            for other in self.inner.search.linking_paths(&link.path, 50)? {
                *score.entry(other).or_default() += related::SHARED_TARGET;
            }
        }
        for b in self.inner.search.linking_paths(me, 50)? {
            *score.entry(b).or_default() += related::LINK;
        }
        let similar = self.inner.search.similar(
            me,
            &page.title,
            &page.rendered.text,
            related::SIMILAR_CANDIDATES,
            related::MIN_LIKENESS,
        )?;
        for s in similar {
            *score.entry(s.path).or_default() += related::LIKENESS * s.likeness;
        }
        score.remove(me);
        let mut ranked: Vec<(String, f32)> =
            score.into_iter().filter(|(_, s)| *s >= related::THRESHOLD).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let out: Vec<LinkingPage> = ranked
            .into_iter()
            .filter_map(|(p, _)| Some(LinkingPage { title: self.title_of(&p)?, path: p }))
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
}
