//! Pages alike in words: tantivy's more-like-this on a page's title and text.

use crate::{SearchIndex, ix_err};
use casebook_core::Result;
use tantivy::Term;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, MoreLikeThisQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, OwnedValue};
use tantivy::tokenizer::TokenStream;

/// How much of a page's text is read for its telling words: the start of a page says what it is
/// about, and the bound keeps the cost down (reading the words and looking up how common each
/// is was a quarter of showing a page for the first time at 3,000 bytes).
const TEXT_BYTES: usize = 1_500;
/// Telling words searched for.
const QUERY_TERMS: usize = 20;
/// English words that tell nothing about a page, whatever the wiki's size (in a large wiki the
/// document-frequency bound drops them anyway).
const STOP_WORDS: &str = "about above after again against all also and any are because been \
    before being between both but can could did does doing down during each few for from further \
    had has have having here how into its itself just more most much not now off once only other \
    our out over own same she should some such than that the their them then there these they \
    this those through too under until very was were what when where which while who whom why \
    will with would you your";

/// The stop words as an English analyser spells them (lowercased, stemmed). In a wiki of another
/// language they match little, and the document-frequency bound does their work.
fn stop_words() -> &'static Vec<String> {
    static WORDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        let mut analyzer = crate::schema::text_analyzer(crate::SearchLanguage::default());
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(STOP_WORDS);
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out.sort();
        out.dedup();
        out
    })
}

/// A page like another, with how alike.
#[derive(Debug, Clone, PartialEq)]
pub struct Similar {
    pub path: String,
    /// The page's score against the query made of the other page's telling words, relative to
    /// the other page's own score: 1.0 is as alike as the page itself, whatever the wiki's size.
    pub likeness: f32,
}

impl SearchIndex {
    /// Pages most like the page at `path`, whose title and text (as indexed) are given, best
    /// first, the page itself left out, down to a likeness of `min_likeness`. The query is made
    /// of the page's words that are neither rare (on this page alone) nor common (on more than a
    /// fifth of the pages), weighted by tf-idf; an unindexed page has none.
    pub fn similar(
        &self,
        path: &str,
        title: &str,
        text: &str,
        limit: usize,
        min_likeness: f32,
    ) -> Result<Vec<Similar>> {
        let searcher = self.reader.searcher();
        let by_path =
            TermQuery::new(Term::from_field_text(self.f.path, path), IndexRecordOption::Basic);
        let Some((_, me)) = searcher
            .search(&by_path, &TopDocs::with_limit(1).order_by_score())
            .map_err(ix_err("cannot find the page"))?
            .into_iter()
            .next()
        else {
            return Ok(Vec::new());
        };
        let title = title.to_string();
        let mut end = text.len().min(TEXT_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let body = text[..end].to_string();
        let pages = searcher.num_docs();
        let mlt = |min_tf: usize| {
            MoreLikeThisQuery::builder()
                .with_min_doc_frequency(2)
                .with_max_doc_frequency((pages / 5).max(4))
                .with_min_term_frequency(min_tf)
                .with_min_word_length(3)
                .with_max_query_terms(QUERY_TERMS)
                .with_stop_words(stop_words().clone())
        };
        // Every word of the title tells; in the text, the words said more than once (which also
        // spares looking up how common each word said once is).
        let query = BooleanQuery::new(vec![
            (
                Occur::Should,
                Box::new(
                    mlt(1).with_document_fields(vec![(self.f.title, vec![OwnedValue::Str(title)])]),
                ) as Box<dyn Query>,
            ),
            (
                Occur::Should,
                Box::new(
                    mlt(2).with_document_fields(vec![(self.f.body, vec![OwnedValue::Str(body)])]),
                ),
            ),
        ]);
        let top = searcher
            .search(&query, &TopDocs::with_limit(limit.saturating_add(1)).order_by_score())
            .map_err(ix_err("cannot find similar pages"))?;
        let Some(own) = top
            .iter()
            .find(|(_, a)| *a == me)
            .or(top.first())
            .map(|(s, _)| *s)
            .filter(|s| *s > 0.0)
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(top.len());
        let (mut paths, mut kinds) =
            (self.paths.reader(&searcher), crate::StrColumns::new(&searcher, "kind"));
        for (score, addr) in top {
            if addr == me {
                continue;
            }
            // Best first: the rest are weaker still. The bar applies to the likeness as
            // reported, which is at most 1.0.
            let likeness = (score / own).min(1.0);
            if likeness < min_likeness {
                break;
            }
            if kinds.first(addr)?.as_deref() != Some("page") {
                continue;
            }
            if let Some(path) = paths.of(addr)? {
                out.push(Similar { path, likeness });
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}
