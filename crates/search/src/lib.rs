#![doc = include_str!("../README.md")]

mod dir;
mod paths;
mod query;
mod schema;
mod similar;

pub use query::{
    ActiveFilter, ParsedQuery, active_filters, filter_text, parse_query, wants_history,
};
pub use schema::SearchLanguage;
pub use similar::Similar;

use casebook_core::{Error, ReadScope, Result};
use schema::Fields;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tantivy::collector::{Count, FacetCollector, FacetCounts, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// Version of the schema and analysis; an index written with another version is rebuilt.
const SCHEMA_VERSION: &str = "casebook-index-8";
/// Below this many results for the query as typed, a spelling correction is looked for.
const FEW_HITS: usize = 3;
/// Values shown per facet family.
const FACET_VALUES: usize = 12;
/// Heap of the one index writer; small, because the machine is small and batches are too.
const WRITER_HEAP: usize = 32 * 1024 * 1024;

/// One page (or discussion) as the index sees it.
#[derive(Debug, Clone, Default)]
pub struct IndexDoc {
    pub path: String,
    pub title: String,
    pub headings: Vec<String>,
    pub body: String,
    pub tags: Vec<String>,
    /// `page` or `discussion`.
    pub kind: String,
    pub author: String,
    /// Seconds since the epoch of the last change.
    pub updated: i64,
    /// Paths of the pages this one links to.
    pub links: Vec<String>,
    /// Front matter fields, searchable as `name:value`.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// For a past version of a page: the commit it was read at. Empty for the current version.
    pub revision: String,
}

/// A search hit.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub path: String,
    pub title: String,
    /// HTML in which only `<mark>` is markup.
    pub snippet: String,
    pub score: f32,
    pub kind: String,
    pub author: String,
    pub updated: i64,
    pub tags: Vec<String>,
    /// For a past version: the commit at which the page had this text.
    pub revision: Option<String>,
}

/// A page of results.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub total: usize,
    pub hits: Vec<Hit>,
    /// The query that was actually run when the one asked found nothing and a looser one did.
    pub relaxed: bool,
    /// Counts by page type, tag and top-level folder over the whole result set (empty when not
    /// asked for).
    pub facets: Vec<FacetGroup>,
    /// A corrected query that finds more, offered when the one typed found few or no pages.
    pub did_you_mean: Option<String>,
}

/// The values of one facet family among the results, most frequent first.
#[derive(Debug, Clone, Serialize)]
pub struct FacetGroup {
    /// The filter name: `type`, `tag` or `in`.
    pub name: String,
    pub values: Vec<FacetValue>,
}

/// One facet value: how many results have it, and the filter that narrows to it.
#[derive(Debug, Clone, Serialize)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
    /// The query text to add, e.g. `tag:pricing`.
    pub filter: String,
    /// True when the query already has this filter.
    pub active: bool,
}

/// What to compute besides the hits, and for whom.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Facet counts over the whole result set.
    pub facets: bool,
    /// A spelling correction when the query finds few pages.
    pub did_you_mean: bool,
    /// What the reader may see: documents in hidden folders are not hits, are not counted in
    /// the total or the facets, and lend no words to "did you mean".
    pub scope: ReadScope,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions { facets: true, did_you_mean: true, scope: ReadScope::everything() }
    }
}

/// A page that links to another.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LinkingPage {
    pub path: String,
    pub title: String,
}

/// How the index merges its segments. Tantivy's log merge policy puts every segment of fewer
/// than 10,000 documents in one level, so in a wiki of about that many pages the segment of
/// the first build was merged again with the one-page segments of every eighth save batch:
/// the whole index rewritten, taking a core from the saves, every few seconds. Levels start at
/// 250 documents here, so small segments merge among themselves; a segment is merged on its own
/// once a third of it is deleted (pages changed since), so old versions do not pile up.
fn merge_policy() -> tantivy::indexer::LogMergePolicy {
    let mut policy = tantivy::indexer::LogMergePolicy::default();
    policy.set_min_layer_size(250);
    policy.set_del_docs_ratio_before_merge(0.33);
    policy
}

/// The tantivy index in the data dir. Holds the only `IndexWriter`; searches use a reader that is
/// reloaded after every commit.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
    paths: paths::PathTables,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").field("dir", &self.dir).finish()
    }
}

fn ix_err(what: &str) -> impl Fn(tantivy::TantivyError) -> Error + '_ {
    move |e| Error::internal(format!("{what}: {e}"))
}

impl SearchIndex {
    /// Opens the index in `dir` with English stemming; see [`SearchIndex::open_with_language`].
    pub fn open(dir: &Path) -> Result<(SearchIndex, bool)> {
        Self::open_with_language(dir, SearchLanguage::default())
    }

    /// Opens the index in `dir`, or creates an empty one. An index that cannot be read, or was
    /// written by another schema version or for another stemming language, is thrown away and
    /// created anew (it is derived data); `rebuilt` in the answer tells the caller to fill it
    /// again.
    pub fn open_with_language(dir: &Path, language: SearchLanguage) -> Result<(SearchIndex, bool)> {
        let version = format!("{SCHEMA_VERSION}\nlanguage={language}\n");
        match Self::try_open(dir, &version, language) {
            Ok(Some(ix)) => return Ok((ix, false)),
            Ok(None) => {}
            Err(e) if e.kind == casebook_core::ErrorKind::Unavailable => return Err(e),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "search index unreadable; rebuilding it")
            }
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| {
                Error::unavailable(format!("cannot clear the index folder {}: {e}", dir.display()))
            })?;
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::unavailable(format!("cannot create the index folder {}: {e}", dir.display()))
        })?;
        let (schema, f) = schema::build(language);
        // Stored documents in blocks of about one page each: showing a hit decompresses its
        // block, and a smaller block means less of the store read (and held) per hit.
        let settings = tantivy::IndexSettings { docstore_blocksize: 4096, ..Default::default() };
        let index = Index::create(dir::IndexDir::open(dir)?, schema, settings)
            .map_err(ix_err("cannot create the index"))?;
        std::fs::write(dir.join("casebook-version"), &version)
            .map_err(|e| Error::unavailable(format!("cannot write to {}: {e}", dir.display())))?;
        Ok((Self::with_index(dir, index, f)?, true))
    }

    fn try_open(
        dir: &Path,
        version: &str,
        language: SearchLanguage,
    ) -> Result<Option<SearchIndex>> {
        let found = std::fs::read_to_string(dir.join("casebook-version")).unwrap_or_default();
        if found != version {
            if !found.is_empty() {
                tracing::info!(dir = %dir.display(), "the search index was built by another version or language; rebuilding it");
            }
            return Ok(None);
        }
        let index =
            Index::open(dir::IndexDir::open(dir)?).map_err(ix_err("cannot open the index"))?;
        let (schema, f) = schema::build(language);
        if index.schema() != schema {
            return Ok(None);
        }
        Self::with_index(dir, index, f).map(Some)
    }

    fn with_index(dir: &Path, index: Index, f: Fields) -> Result<SearchIndex> {
        schema::register_tokenizers(&index, f.language);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(ix_err("cannot read the index"))?;
        // One thread indexes and one merges: the machine is small, and each merge holds its
        // segments' data while it runs.
        let options = tantivy::indexer::IndexWriterOptions::builder()
            .memory_budget_per_thread(WRITER_HEAP)
            .num_worker_threads(1)
            .num_merge_threads(1)
            .build();
        let writer: IndexWriter = index.writer_with_options(options).map_err(|e| match e {
            // Another process writes this index now: it is theirs, not to be thrown away.
            tantivy::TantivyError::LockFailure(..) => Error::unavailable(format!(
                "the search index in {} is in use by another process: is another Casebook running on this data dir?",
                dir.display()
            )),
            other => ix_err("cannot open the index for writing")(other),
        })?;
        writer.set_merge_policy(Box::new(merge_policy()));
        Ok(SearchIndex {
            dir: dir.to_path_buf(),
            index,
            reader,
            writer: Mutex::new(writer),
            f,
            paths: Default::default(),
        })
    }

    /// The stemming language of the index.
    pub fn language(&self) -> SearchLanguage {
        self.f.language
    }

    /// The commit the index reflects, as recorded with its last commit.
    pub fn indexed_revision(&self) -> Option<String> {
        self.index.load_metas().ok().and_then(|m| m.payload).filter(|p| !p.is_empty())
    }

    /// Number of documents searchable now.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Replaces the documents of `remove` and `add` (by path) and commits, recording `revision`
    /// as the commit the index now reflects. Applying the same batch twice is harmless.
    pub fn apply(&self, remove: &[String], add: Vec<IndexDoc>, revision: &str) -> Result<()> {
        self.stage(remove, add)?;
        self.commit_at(revision)
    }

    /// Like [`SearchIndex::apply`] without the commit: a large update is staged in parts (so its
    /// documents need not all be in memory at once), then committed once with
    /// [`SearchIndex::commit_at`]. Searches see none of it until then.
    pub fn stage(&self, remove: &[String], add: Vec<IndexDoc>) -> Result<()> {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        for path in remove.iter().chain(add.iter().map(|d| &d.path)) {
            w.delete_term(Term::from_field_text(self.f.path, path));
        }
        self.add_all(&w, add)
    }

    /// Like [`SearchIndex::stage`] for documents whose paths are known to be absent from the
    /// index (after [`SearchIndex::clear`], or removed earlier in the same batch): no delete is
    /// queued for each, which a rebuild of 100,000 pages would otherwise queue 100,000 times.
    pub fn stage_new(&self, add: Vec<IndexDoc>) -> Result<()> {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.add_all(&w, add)
    }

    fn add_all(&self, w: &IndexWriter, add: Vec<IndexDoc>) -> Result<()> {
        for doc in add {
            w.add_document(self.f.to_document(&doc)).map_err(ix_err("cannot add a document"))?;
        }
        Ok(())
    }

    /// Commits what was staged, recording `revision` as the commit the index now reflects.
    pub fn commit_at(&self, revision: &str) -> Result<()> {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.commit(w, revision)
    }

    /// Adds documents without replacing any (past versions of pages, several per path) and
    /// commits, recording `revision`.
    pub fn append(&self, add: Vec<IndexDoc>, revision: &str) -> Result<()> {
        if add.is_empty() {
            return Ok(());
        }
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.add_all(&w, add)?;
        self.commit(w, revision)
    }

    /// Commits what the writer holds, recording `revision`, and makes it searchable.
    fn commit(&self, mut w: std::sync::MutexGuard<'_, IndexWriter>, revision: &str) -> Result<()> {
        let mut prepared = w.prepare_commit().map_err(ix_err("cannot commit the index"))?;
        prepared.set_payload(revision);
        prepared.commit().map_err(ix_err("cannot commit the index"))?;
        drop(w);
        self.reader.reload().map_err(ix_err("cannot reload the index"))
    }

    /// Removes every document (before a full rebuild).
    pub fn clear(&self) -> Result<()> {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.delete_all_documents().map_err(ix_err("cannot clear the index"))?;
        self.commit(w, "")
    }

    /// Runs a query in the Casebook query language. Never fails on what a person typed.
    pub fn search(&self, q: &str, limit: usize, offset: usize) -> Result<Results> {
        self.search_with(q, limit, offset, SearchOptions::default())
    }

    /// Like [`SearchIndex::search`], computing only what `opts` asks for besides the hits.
    pub fn search_with(
        &self,
        q: &str,
        limit: usize,
        offset: usize,
        opts: SearchOptions,
    ) -> Result<Results> {
        let parsed = parse_query(q);
        let searcher = self.reader.searcher();
        let limit = limit.clamp(1, 200);
        // Hits, total and facet counts in one pass over the matching documents.
        let run = |query: &dyn Query| -> Result<Pass> {
            let facets = opts.facets.then(|| {
                let mut c = FacetCollector::for_field("facets");
                for family in schema::FACET_FAMILIES {
                    c.add_facet(tantivy::schema::Facet::from_path([family]));
                }
                c
            });
            searcher
                .search(
                    query,
                    &(
                        Count,
                        TopDocs::with_limit(limit).and_offset(offset).order_by_score(),
                        facets,
                    ),
                )
                .map_err(ix_err("search failed"))
        };
        let hidden = self.hidden_terms(&searcher, &opts.scope)?;
        let scoped = |q: Box<dyn Query>| self.scoped(q, &hidden);
        let strict =
            scoped(query::to_tantivy(&parsed, &self.f, &self.index, query::Mode::AllTerms));
        let (mut total, mut top, mut counts) = run(strict.as_ref())?;
        let strict_total = total;
        let mut used = strict;
        let mut relaxed = false;
        if total == 0 && parsed.words() > 1 {
            let loose =
                scoped(query::to_tantivy(&parsed, &self.f, &self.index, query::Mode::AnyTerm));
            (total, top, counts) = run(loose.as_ref())?;
            used = loose;
            relaxed = true;
        }
        if total == 0 && parsed.words() > 0 {
            let fuzzy =
                scoped(query::to_tantivy(&parsed, &self.f, &self.index, query::Mode::Fuzzy));
            (total, top, counts) = run(fuzzy.as_ref())?;
            used = fuzzy;
            relaxed = true;
        }
        let facets = counts.map(|c| facet_groups(&c, q)).unwrap_or_default();
        let did_you_mean = if opts.did_you_mean && strict_total < FEW_HITS && parsed.words() > 0 {
            self.did_you_mean(&searcher, q, strict_total, &hidden)?
        } else {
            None
        };
        let mut snippets = SnippetGenerator::create(&searcher, used.as_ref(), self.f.body)
            .map_err(ix_err("cannot make snippets"))?;
        snippets.set_max_num_chars(180);
        let needles = parsed.needles();
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr).map_err(ix_err("cannot read a hit"))?;
            let path = self.f.text(&doc, self.f.path);
            if !opts.scope.sees(&path) {
                // The query leaves hidden folders out; this only guards against a path whose
                // folders were indexed in another spelling.
                continue;
            }
            let body = self.f.text(&doc, self.f.body);
            // The snippet generator tokenises and stems all the text it is given; give it the
            // neighbourhood of the first match rather than a whole (possibly long) page.
            let window = match_window(&body, &needles);
            let snippet = snippet_html(&snippets.snippet(window), window);
            hits.push(Hit {
                path,
                title: self.f.text(&doc, self.f.title),
                snippet,
                score,
                kind: self.f.text(&doc, self.f.kind),
                author: self.f.text(&doc, self.f.author_stored),
                updated: self.f.i64(&doc, self.f.updated),
                tags: self.f.texts(&doc, self.f.tags),
                revision: Some(self.f.text(&doc, self.f.revision)).filter(|r| !r.is_empty()),
            });
        }
        Ok(Results { total, hits, relaxed, facets, did_you_mean })
    }

    /// The words of `q` a snippet marks: what was typed to be found, stop words of the index's
    /// language left out.
    pub fn snippet_words(&self, q: &str) -> Vec<String> {
        let language = self.f.language;
        parse_query(q)
            .needles()
            .into_iter()
            .filter(|n| !schema::is_stop_word(language, n))
            .collect()
    }

    /// `text` as snippet HTML (one line, escaped) in which `words` (from [`Self::snippet_words`])
    /// are marked: a word of the text matches one of them, or starts with one of four letters
    /// or more.
    pub fn highlight(&self, text: &str, words: &[String]) -> String {
        let hit = |w: &str| {
            let w = w.to_lowercase();
            words.iter().any(|n| w == *n || (n.chars().count() >= 4 && w.starts_with(n.as_str())))
        };
        let mut out = String::with_capacity(text.len() + 32);
        let mut rest = text;
        while !rest.is_empty() {
            let start = rest.find(char::is_alphanumeric).unwrap_or(rest.len());
            out.push_str(&escape(&rest[..start]));
            rest = &rest[start..];
            let end = rest.find(|c: char| !c.is_alphanumeric()).unwrap_or(rest.len());
            let word = &rest[..end];
            if !word.is_empty() && hit(word) {
                out.push_str("<mark>");
                out.push_str(&escape(word));
                out.push_str("</mark>");
            } else {
                out.push_str(&escape(word));
            }
            rest = &rest[end..];
        }
        out
    }

    /// The pages with any word of `q` (its filters all holding), best first with their scores,
    /// at most `limit`: the loose reading of a query, for ranking together with other signals.
    pub fn any_word(&self, q: &str, limit: usize, scope: &ReadScope) -> Result<Vec<(String, f32)>> {
        let parsed = parse_query(q);
        if parsed.words() == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let hidden = self.hidden_terms(&searcher, scope)?;
        let q = self.scoped(
            query::to_tantivy(&parsed, &self.f, &self.index, query::Mode::AnyTerm),
            &hidden,
        );
        let top = searcher
            .search(q.as_ref(), &TopDocs::with_limit(limit.max(1)).order_by_score())
            .map_err(ix_err("search failed"))?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr).map_err(ix_err("cannot read a hit"))?;
            let path = self.f.text(&doc, self.f.path);
            if scope.sees(&path) {
                out.push((path, score));
            }
        }
        Ok(out)
    }

    /// Hits for `pages` (path, snippet HTML, score), in that order, leaving out those the
    /// filters and exclusions of `q` do not let through or `scope` hides: for pages found by
    /// other means than the words (meaning-based search), shown like any other hit.
    pub fn hits_for(
        &self,
        q: &str,
        pages: &[(String, String, f32)],
        scope: &ReadScope,
    ) -> Result<Vec<Hit>> {
        if pages.is_empty() {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let filters = parse_query(q).filters_only();
        let paths: Vec<(Occur, Box<dyn Query>)> = pages
            .iter()
            .map(|(p, _, _)| {
                let term = Term::from_field_text(self.f.path, p);
                (Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as _)
            })
            .collect();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, Box::new(BooleanQuery::new(paths)))];
        if !filters.clauses.is_empty() {
            let f = query::to_tantivy(&filters, &self.f, &self.index, query::Mode::AllTerms);
            clauses.push((Occur::Must, f));
        }
        let hidden = self.hidden_terms(&searcher, scope)?;
        let q = self.scoped(Box::new(BooleanQuery::new(clauses)), &hidden);
        let top = searcher
            .search(q.as_ref(), &TopDocs::with_limit(pages.len()).order_by_score())
            .map_err(ix_err("search failed"))?;
        let mut found: std::collections::HashMap<String, TantivyDocument> = Default::default();
        for (_, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr).map_err(ix_err("cannot read a hit"))?;
            let path = self.f.text(&doc, self.f.path);
            if scope.sees(&path) && self.f.text(&doc, self.f.revision).is_empty() {
                found.insert(path, doc);
            }
        }
        Ok(pages
            .iter()
            .filter_map(|(path, snippet, score)| {
                let doc = found.get(path)?;
                Some(Hit {
                    path: path.clone(),
                    title: self.f.text(doc, self.f.title),
                    snippet: snippet.clone(),
                    score: *score,
                    kind: self.f.text(doc, self.f.kind),
                    author: self.f.text(doc, self.f.author_stored),
                    updated: self.f.i64(doc, self.f.updated),
                    tags: self.f.texts(doc, self.f.tags),
                    revision: None,
                })
            })
            .collect())
    }

    /// The query with each word that no page contains replaced by the closest word the pages
    /// do contain (fewest edits, then most pages), when that query finds something, and at least
    /// the `found` pages the query as typed finds (a misspelling can share a stem with the word).
    fn did_you_mean(
        &self,
        searcher: &tantivy::Searcher,
        q: &str,
        found: usize,
        hidden: &[String],
    ) -> Result<Option<String>> {
        let mut corrected = q.to_string();
        let mut changed = false;
        // Right to left, so the earlier byte ranges stay valid.
        for (span, word) in query::correctable_words(q).into_iter().rev() {
            if self.pages_with_word(searcher, &word, hidden)? > 0 {
                continue;
            }
            if let Some(better) = self.closest_word(searcher, &word, hidden)? {
                corrected.replace_range(span, &better);
                changed = true;
            }
        }
        if !changed {
            return Ok(None);
        }
        let parsed = parse_query(&corrected);
        let strict = self.scoped(
            query::to_tantivy(&parsed, &self.f, &self.index, query::Mode::AllTerms),
            hidden,
        );
        let n = searcher.search(strict.as_ref(), &Count).map_err(ix_err("search failed"))?;
        Ok((n > 0 && n >= found).then_some(corrected))
    }

    /// The folder terms of the index that `scope` hides: every spelling the index holds of a
    /// hidden folder (the dictionary of folders is read and each term case folded, so an index
    /// written before case folding, or a folder written in another case, is covered), and the
    /// hidden folders as the scope writes them. A document carries the term of each folder above
    /// it, so excluding a folder's terms excludes everything below it.
    fn hidden_terms(&self, searcher: &tantivy::Searcher, scope: &ReadScope) -> Result<Vec<String>> {
        if scope.is_everything() {
            return Ok(Vec::new());
        }
        let mut terms: std::collections::BTreeSet<String> =
            scope.hidden().iter().cloned().collect();
        for segment in searcher.segment_readers() {
            let inverted =
                segment.inverted_index(self.f.folder).map_err(ix_err("cannot read the folders"))?;
            let mut stream = inverted
                .terms()
                .stream()
                .map_err(|e| Error::internal(format!("cannot read the folders: {e}")))?;
            while stream.advance() {
                if let Ok(t) = std::str::from_utf8(stream.key())
                    && scope.hidden().binary_search(&casebook_core::fold_case(t)).is_ok()
                {
                    terms.insert(t.to_string());
                }
            }
        }
        Ok(terms.into_iter().collect())
    }

    /// `q` without the documents in the folders `hidden` names (see [`Self::hidden_terms`]).
    fn scoped(&self, q: Box<dyn Query>, hidden: &[String]) -> Box<dyn Query> {
        if hidden.is_empty() {
            return q;
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, q)];
        for folder in hidden {
            clauses.push((
                Occur::MustNot,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.f.folder, folder),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// How many pages `scope` sees hold `word` in the unstemmed dictionary field. With nothing
    /// hidden, the dictionary's own count (deleted documents included, as before merging).
    fn pages_with_word(
        &self,
        searcher: &tantivy::Searcher,
        word: &str,
        hidden: &[String],
    ) -> Result<u64> {
        let term = Term::from_field_text(self.f.spell, word);
        if hidden.is_empty() {
            return searcher.doc_freq(&term).map_err(ix_err("cannot read the dictionary"));
        }
        let q = self.scoped(Box::new(TermQuery::new(term, IndexRecordOption::Basic)), hidden);
        let n =
            searcher.search(q.as_ref(), &Count).map_err(ix_err("cannot read the dictionary"))?;
        Ok(n as u64)
    }

    /// The indexed word closest to `word` (at most one edit for short words, two for longer
    /// ones; a swap of two letters is one edit), preferring fewer edits, then more pages. Words
    /// starting with the same letter, or with its second (for a swapped first pair), are read.
    /// Only words of pages `scope` sees are offered, and only those pages are counted: a word
    /// that only hidden pages hold is never suggested.
    fn closest_word(
        &self,
        searcher: &tantivy::Searcher,
        word: &str,
        hidden: &[String],
    ) -> Result<Option<String>> {
        let chars: Vec<char> = word.chars().collect();
        let max = if chars.len() <= 4 { 1 } else { 2 };
        let mut starts = vec![chars[0]];
        if chars.len() > 1 && chars[1] != chars[0] {
            starts.push(chars[1]);
        }
        let mut found: std::collections::HashMap<String, (usize, u64)> = Default::default();
        for segment in searcher.segment_readers() {
            let inverted = segment
                .inverted_index(self.f.spell)
                .map_err(ix_err("cannot read the dictionary"))?;
            for &first in &starts {
                let from = first.to_string();
                let mut range = inverted.terms().range().ge(from.as_bytes());
                if let Some(next) = char::from_u32(first as u32 + 1) {
                    range = range.lt(next.to_string().as_bytes());
                }
                let mut stream = range
                    .into_stream()
                    .map_err(|e| Error::internal(format!("cannot read the dictionary: {e}")))?;
                while stream.advance() {
                    let Ok(term) = std::str::from_utf8(stream.key()) else {
                        continue;
                    };
                    if term.len().abs_diff(word.len()) > max * 4 {
                        continue;
                    }
                    let Some(d) = edit_distance(&chars, term, max) else {
                        continue;
                    };
                    let entry = found.entry(term.to_string()).or_insert((d, 0));
                    entry.1 += u64::from(stream.value().doc_freq);
                }
            }
        }
        if !hidden.is_empty() {
            // Counted again over the pages this reader sees (a few dozen words at most: those
            // within two edits of one word), and dropped when none of them holds the word.
            let mut seen = std::collections::HashMap::with_capacity(found.len());
            for (w, (d, _)) in found {
                let n = self.pages_with_word(searcher, &w, hidden)?;
                if n > 0 {
                    seen.insert(w, (d, n));
                }
            }
            found = seen;
        }
        Ok(found
            .into_iter()
            .min_by(|(a, (da, na)), (b, (db, nb))| {
                da.cmp(db).then(nb.cmp(na)).then_with(|| a.cmp(b))
            })
            .map(|(w, _)| w))
    }

    /// Plain BM25 for comparison: the words of `q` as tantivy's own query parser reads them,
    /// any word matching, over title, headings and body with equal weight, without Casebook's
    /// field boosts or "every word first". Returns the paths of the top `limit` pages.
    pub fn search_plain_bm25(&self, q: &str, limit: usize) -> Result<Vec<String>> {
        let searcher = self.reader.searcher();
        let parser = tantivy::query::QueryParser::for_index(
            &self.index,
            vec![self.f.title, self.f.headings, self.f.body],
        );
        let (query, _) = parser.parse_query_lenient(q);
        let top = searcher
            .search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())
            .map_err(ix_err("search failed"))?;
        top.into_iter()
            .map(|(_, addr)| {
                let doc: TantivyDocument =
                    searcher.doc(addr).map_err(ix_err("cannot read a hit"))?;
                Ok(self.f.text(&doc, self.f.path))
            })
            .collect()
    }

    /// The paths of up to `limit` documents linking to `target`, read from the path's column
    /// rather than from the stored documents (related pages look at the pages linking to
    /// each link of a page: reading and decompressing every one of them was most of the cost
    /// of showing a page for the first time).
    pub fn linking_paths(&self, target: &str, limit: usize) -> Result<Vec<String>> {
        let searcher = self.reader.searcher();
        let q =
            TermQuery::new(Term::from_field_text(self.f.links, target), IndexRecordOption::Basic);
        let top = searcher
            .search(&q, &TopDocs::with_limit(limit.max(1)).order_by_score())
            .map_err(ix_err("cannot find backlinks"))?;
        let mut paths = self.paths.reader(&searcher);
        let mut out = Vec::with_capacity(top.len());
        for (_, addr) in top {
            out.extend(paths.of(addr)?);
        }
        Ok(out)
    }

    /// Every link target of the index with the number of documents `scope` sees linking to it
    /// (targets only hidden documents link to are left out).
    pub fn link_targets(&self, scope: &ReadScope) -> Result<Vec<(String, usize)>> {
        let searcher = self.reader.searcher();
        let mut seen: std::collections::BTreeSet<String> = Default::default();
        for segment in searcher.segment_readers() {
            let inverted =
                segment.inverted_index(self.f.links).map_err(ix_err("cannot read links"))?;
            let mut stream = inverted
                .terms()
                .stream()
                .map_err(|e| Error::internal(format!("cannot read links: {e}")))?;
            while stream.advance() {
                if let Ok(t) = std::str::from_utf8(stream.key()) {
                    seen.insert(t.to_string());
                }
            }
        }
        let hidden = self.hidden_terms(&searcher, scope)?;
        let mut out = Vec::with_capacity(seen.len());
        for target in seen {
            // Count live documents only: the dictionary may still hold deleted ones.
            let q = self.scoped(
                Box::new(TermQuery::new(
                    Term::from_field_text(self.f.links, &target),
                    IndexRecordOption::Basic,
                )),
                &hidden,
            );
            let n = searcher.search(q.as_ref(), &Count).map_err(ix_err("cannot count links"))?;
            if n > 0 {
                out.push((target, n));
            }
        }
        Ok(out)
    }
}

/// The number of edits (insert, delete, substitute, swap two neighbours) from `a` to `b`, or
/// `None` when it is more than `max`.
/// A string column read document by document, each segment's column opened once. Reading a
/// value is a lookup in the column's dictionary, where reading a stored document decompresses a
/// block of the store: what a page view reads per hit (paths, kinds) comes from here.
struct StrColumns<'s> {
    searcher: &'s tantivy::Searcher,
    name: &'static str,
    open: std::collections::HashMap<u32, Option<tantivy::columnar::StrColumn>>,
}

impl<'s> StrColumns<'s> {
    fn new(searcher: &'s tantivy::Searcher, name: &'static str) -> Self {
        StrColumns { searcher, name, open: std::collections::HashMap::new() }
    }

    /// The document's first value in the column, if it has one.
    fn first(&mut self, addr: tantivy::DocAddress) -> Result<Option<String>> {
        let column = match self.open.entry(addr.segment_ord) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(
                self.searcher
                    .segment_reader(addr.segment_ord)
                    .fast_fields()
                    .str(self.name)
                    .map_err(ix_err("cannot read a column of the index"))?,
            ),
        };
        let Some(column) = column.as_ref() else { return Ok(None) };
        let Some(ord) = column.term_ords(addr.doc_id).next() else { return Ok(None) };
        let mut value = String::new();
        Ok(column.ord_to_str(ord, &mut value).unwrap_or(false).then_some(value))
    }
}

fn edit_distance(a: &[char], b: &str, max: usize) -> Option<usize> {
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let width = b.len() + 1;
    let mut prev2 = vec![0usize; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur = vec![0usize; width];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

/// What one pass over the matches yields: the total, the top documents, the facet counts.
type Pass = (usize, Vec<(f32, tantivy::DocAddress)>, Option<FacetCounts>);

/// The counted facet values by family, most frequent first, with the filter for each and
/// whether the query `q` has it already.
fn facet_groups(counts: &FacetCounts, q: &str) -> Vec<FacetGroup> {
    let active = active_filters(q);
    let mut groups = Vec::new();
    for family in schema::FACET_FAMILIES {
        let mut values: Vec<FacetValue> = counts
            .get(tantivy::schema::Facet::from_path([family]))
            .filter_map(|(facet, count)| {
                let value = facet.to_path().get(1)?.to_string();
                let is_active = active
                    .iter()
                    .any(|a| a.name == family && a.value.to_lowercase() == value.to_lowercase());
                Some(FacetValue {
                    filter: filter_text(family, &value),
                    value,
                    count,
                    active: is_active,
                })
            })
            .collect();
        values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        values.truncate(FACET_VALUES);
        if !values.is_empty() {
            groups.push(FacetGroup { name: family.to_string(), values });
        }
    }
    groups
}

/// Around the first place where one of `needles` (lowercase) occurs in `body`: a few hundred
/// bytes, on character boundaries. The start of the body when none occurs literally (a match
/// through stemming or a typo).
fn match_window<'a>(body: &'a str, needles: &[String]) -> &'a str {
    const BEFORE: usize = 200;
    const SPAN: usize = 700;
    let lower = body.to_lowercase();
    let at = if lower.len() == body.len() {
        needles
            .iter()
            .filter(|n| !n.is_empty())
            .filter_map(|n| lower.find(n.as_str()))
            .min()
            .unwrap_or(0)
    } else {
        0 // lowercasing changed byte offsets (rare scripts); stay at the start
    };
    let mut start = at.saturating_sub(BEFORE);
    while !body.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + SPAN).min(body.len());
    while !body.is_char_boundary(end) {
        end += 1;
    }
    &body[start..end]
}

/// Builds the snippet's HTML by hand: the text escaped, the matches in `<mark>`. When nothing
/// matched in the body (a title-only hit), the start of the body stands in.
fn snippet_html(snippet: &tantivy::snippet::Snippet, body: &str) -> String {
    let fragment = snippet.fragment();
    if fragment.is_empty() {
        let mut end = body.len().min(180);
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        let mut s = escape(&body[..end]);
        if end < body.len() {
            s.push('…');
        }
        return s;
    }
    let mut out = String::with_capacity(fragment.len() + 32);
    let mut at = 0;
    for r in snippet.highlighted() {
        if r.start < at || r.end > fragment.len() {
            continue;
        }
        out.push_str(&escape(&fragment[at..r.start]));
        out.push_str("<mark>");
        out.push_str(&escape(&fragment[r.start..r.end]));
        out.push_str("</mark>");
        at = r.end;
    }
    out.push_str(&escape(&fragment[at..]));
    out
}

/// Escaped text for a snippet, on one line.
fn escape(s: &str) -> String {
    casebook_core::escape_html(s).replace(['\n', '\r', '\t'], " ")
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        let d = |a: &str, b: &str, max| edit_distance(&a.chars().collect::<Vec<_>>(), b, max);
        assert_eq!(d("champoin", "champion", 2), Some(1));
        assert_eq!(d("procurment", "procurement", 2), Some(1));
        assert_eq!(d("pricng", "pricing", 1), Some(1));
        assert_eq!(d("kitten", "sitting", 2), None);
        assert_eq!(d("kitten", "sitting", 3), Some(3));
        assert_eq!(d("same", "same", 0), Some(0));
    }
}
