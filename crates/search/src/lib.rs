#![doc = include_str!("../README.md")]

mod query;
mod schema;
mod similar;

pub use query::{ParsedQuery, parse_query};
pub use similar::Similar;

use casebook_core::{Error, Result};
use schema::Fields;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// Version of the schema and analysis; an index written with another version is rebuilt.
const SCHEMA_VERSION: &str = "casebook-index-1";
/// Heap of the one index writer; small, because the machine is small and batches are too.
const WRITER_HEAP: usize = 64 * 1024 * 1024;

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
}

/// A page of results.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub total: usize,
    pub hits: Vec<Hit>,
    /// The query that was actually run when the one asked found nothing and a looser one did.
    pub relaxed: bool,
}

/// A page that links to another.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LinkingPage {
    pub path: String,
    pub title: String,
}

/// The tantivy index in the data dir. Holds the only `IndexWriter`; searches use a reader that is
/// reloaded after every commit.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("dir", &self.dir)
            .finish()
    }
}

fn ix_err(what: &str) -> impl Fn(tantivy::TantivyError) -> Error + '_ {
    move |e| Error::internal(format!("{what}: {e}"))
}

impl SearchIndex {
    /// Opens the index in `dir`, or creates an empty one. An index that cannot be read, or was
    /// written by another schema version, is thrown away and created anew (it is derived data);
    /// `rebuilt` in the answer tells the caller to fill it again.
    pub fn open(dir: &Path) -> Result<(SearchIndex, bool)> {
        match Self::try_open(dir) {
            Ok(Some(ix)) => return Ok((ix, false)),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "search index unreadable; rebuilding it")
            }
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| {
                Error::unavailable(format!(
                    "cannot clear the index folder {}: {e}",
                    dir.display()
                ))
            })?;
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::unavailable(format!(
                "cannot create the index folder {}: {e}",
                dir.display()
            ))
        })?;
        let (schema, f) = schema::build();
        let index = Index::create_in_dir(dir, schema).map_err(ix_err("cannot create the index"))?;
        std::fs::write(dir.join("casebook-version"), SCHEMA_VERSION)
            .map_err(|e| Error::unavailable(format!("cannot write to {}: {e}", dir.display())))?;
        Ok((Self::with_index(dir, index, f)?, true))
    }

    fn try_open(dir: &Path) -> Result<Option<SearchIndex>> {
        let version = std::fs::read_to_string(dir.join("casebook-version")).unwrap_or_default();
        if version.trim() != SCHEMA_VERSION {
            return Ok(None);
        }
        let index = Index::open_in_dir(dir).map_err(ix_err("cannot open the index"))?;
        let (schema, f) = schema::build();
        if index.schema() != schema {
            return Ok(None);
        }
        Self::with_index(dir, index, f).map(Some)
    }

    fn with_index(dir: &Path, index: Index, f: Fields) -> Result<SearchIndex> {
        schema::register_tokenizers(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(ix_err("cannot read the index"))?;
        let writer = index
            .writer_with_num_threads(1, WRITER_HEAP)
            .map_err(ix_err(
                "cannot lock the index (is another casebook running on this data dir?)",
            ))?;
        Ok(SearchIndex {
            dir: dir.to_path_buf(),
            index,
            reader,
            writer: Mutex::new(writer),
            f,
        })
    }

    /// The commit the index reflects, as recorded with its last commit.
    pub fn indexed_revision(&self) -> Option<String> {
        self.index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .filter(|p| !p.is_empty())
    }

    /// Number of documents searchable now.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Replaces the documents of `remove` and `add` (by path) and commits, recording `revision`
    /// as the commit the index now reflects. Applying the same batch twice is harmless.
    pub fn apply(&self, remove: &[String], add: Vec<IndexDoc>, revision: &str) -> Result<()> {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        for path in remove {
            w.delete_term(Term::from_field_text(self.f.path, path));
        }
        for doc in add {
            w.delete_term(Term::from_field_text(self.f.path, &doc.path));
            w.add_document(self.f.to_document(&doc))
                .map_err(ix_err("cannot add a document"))?;
        }
        self.commit(w, revision)
    }

    /// Commits what the writer holds, recording `revision`, and makes it searchable.
    fn commit(&self, mut w: std::sync::MutexGuard<'_, IndexWriter>, revision: &str) -> Result<()> {
        let mut prepared = w
            .prepare_commit()
            .map_err(ix_err("cannot commit the index"))?;
        prepared.set_payload(revision);
        prepared
            .commit()
            .map_err(ix_err("cannot commit the index"))?;
        drop(w);
        self.reader
            .reload()
            .map_err(ix_err("cannot reload the index"))
    }

    /// Removes every document (before a full rebuild).
    pub fn clear(&self) -> Result<()> {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.delete_all_documents()
            .map_err(ix_err("cannot clear the index"))?;
        self.commit(w, "")
    }

    /// Runs a query in the Casebook query language. Never fails on what a person typed.
    pub fn search(&self, q: &str, limit: usize, offset: usize) -> Result<Results> {
        let parsed = parse_query(q);
        let searcher = self.reader.searcher();
        let limit = limit.clamp(1, 200);
        let run = |query: &dyn Query| -> Result<(usize, Vec<(f32, tantivy::DocAddress)>)> {
            searcher
                .search(
                    query,
                    &(
                        Count,
                        TopDocs::with_limit(limit)
                            .and_offset(offset)
                            .order_by_score(),
                    ),
                )
                .map_err(ix_err("search failed"))
        };
        let strict = query::to_tantivy(&parsed, &self.f, &self.index, query::Mode::AllTerms);
        let (mut total, mut top) = run(strict.as_ref())?;
        let mut used = strict;
        let mut relaxed = false;
        if total == 0 && parsed.words() > 1 {
            let loose = query::to_tantivy(&parsed, &self.f, &self.index, query::Mode::AnyTerm);
            (total, top) = run(loose.as_ref())?;
            used = loose;
            relaxed = true;
        }
        if total == 0 && parsed.words() > 0 {
            let fuzzy = query::to_tantivy(&parsed, &self.f, &self.index, query::Mode::Fuzzy);
            (total, top) = run(fuzzy.as_ref())?;
            used = fuzzy;
            relaxed = true;
        }
        let mut snippets = SnippetGenerator::create(&searcher, used.as_ref(), self.f.body)
            .map_err(ix_err("cannot make snippets"))?;
        snippets.set_max_num_chars(180);
        let needles = parsed.needles();
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr).map_err(ix_err("cannot read a hit"))?;
            let body = self.f.text(&doc, self.f.body);
            // The snippet generator tokenises and stems all the text it is given; give it the
            // neighbourhood of the first match rather than a whole (possibly long) page.
            let window = match_window(&body, &needles);
            let snippet = snippet_html(&snippets.snippet(window), window);
            hits.push(Hit {
                path: self.f.text(&doc, self.f.path),
                title: self.f.text(&doc, self.f.title),
                snippet,
                score,
                kind: self.f.text(&doc, self.f.kind),
                author: self.f.text(&doc, self.f.author_stored),
                updated: self.f.i64(&doc, self.f.updated),
                tags: self.f.texts(&doc, self.f.tags),
            });
        }
        Ok(Results {
            total,
            hits,
            relaxed,
        })
    }

    /// Pages that link to `path`, by title.
    pub fn backlinks(&self, path: &str, limit: usize) -> Result<Vec<LinkingPage>> {
        let searcher = self.reader.searcher();
        let q = TermQuery::new(
            Term::from_field_text(self.f.links, path),
            IndexRecordOption::Basic,
        );
        let top = searcher
            .search(&q, &TopDocs::with_limit(limit.max(1)).order_by_score())
            .map_err(ix_err("cannot find backlinks"))?;
        let mut out = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr).map_err(ix_err("cannot read a hit"))?;
            out.push(LinkingPage {
                path: self.f.text(&doc, self.f.path),
                title: self.f.text(&doc, self.f.title),
            });
        }
        out.sort_by_key(|a| a.title.to_lowercase());
        Ok(out)
    }

    /// Every link target of the index with the number of documents linking to it.
    pub fn link_targets(&self) -> Result<Vec<(String, usize)>> {
        let searcher = self.reader.searcher();
        let mut seen: std::collections::BTreeSet<String> = Default::default();
        for segment in searcher.segment_readers() {
            let inverted = segment
                .inverted_index(self.f.links)
                .map_err(ix_err("cannot read links"))?;
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
        let mut out = Vec::with_capacity(seen.len());
        for target in seen {
            // Count live documents only: the dictionary may still hold deleted ones.
            let q = TermQuery::new(
                Term::from_field_text(self.f.links, &target),
                IndexRecordOption::Basic,
            );
            let n = searcher
                .search(&q, &Count)
                .map_err(ix_err("cannot count links"))?;
            if n > 0 {
                out.push((target, n));
            }
        }
        Ok(out)
    }
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
