//! The index schema and its analysers.

use crate::IndexDoc;
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, JsonObjectOptions, STORED,
    STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, RemoveLongFilter, Stemmer,
    TextAnalyzer, Token, TokenStream, Tokenizer,
};
use tantivy::{Index, TantivyDocument};

/// Words: split on non-alphanumerics (CJK runs as character pairs), lowercased, accents folded,
/// stemmed in the configured language.
pub(crate) const TEXT: &str = "cb_text";
/// Whole values, lowercased: tags, authors, front matter fields.
pub(crate) const KEYWORD: &str = "cb_keyword";
/// Words as written (lowercased, accents folded, not stemmed): the dictionary of spellings.
pub(crate) const WORDS: &str = "cb_words";

/// The language whose word forms are folded together by stemming ("renewals" finds "renewal"),
/// or none. Part of the index's version: a change rebuilds the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchLanguage(Option<Language>);

const LANGUAGES: &[(&str, Language)] = &[
    ("arabic", Language::Arabic),
    ("danish", Language::Danish),
    ("dutch", Language::Dutch),
    ("english", Language::English),
    ("finnish", Language::Finnish),
    ("french", Language::French),
    ("german", Language::German),
    ("greek", Language::Greek),
    ("hungarian", Language::Hungarian),
    ("italian", Language::Italian),
    ("norwegian", Language::Norwegian),
    ("portuguese", Language::Portuguese),
    ("romanian", Language::Romanian),
    ("russian", Language::Russian),
    ("spanish", Language::Spanish),
    ("swedish", Language::Swedish),
    ("tamil", Language::Tamil),
    ("turkish", Language::Turkish),
];

impl SearchLanguage {
    pub const ENGLISH: SearchLanguage = SearchLanguage(Some(Language::English));
    /// No stemming: words match as written (after lowercasing and folding accents).
    pub const NONE: SearchLanguage = SearchLanguage(None);

    /// Every accepted name, `none` last.
    pub fn names() -> Vec<&'static str> {
        LANGUAGES.iter().map(|(n, _)| *n).chain(std::iter::once("none")).collect()
    }

    pub fn name(self) -> &'static str {
        LANGUAGES.iter().find(|(_, l)| Some(*l) == self.0).map(|(n, _)| *n).unwrap_or("none")
    }

    fn is_english(self) -> bool {
        self.0 == Some(Language::English)
    }
}

impl Default for SearchLanguage {
    fn default() -> Self {
        SearchLanguage::ENGLISH
    }
}

impl std::fmt::Display for SearchLanguage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SearchLanguage {
    type Err = casebook_core::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_lowercase();
        if s == "none" {
            return Ok(SearchLanguage::NONE);
        }
        LANGUAGES.iter().find(|(n, _)| *n == s).map(|(_, l)| SearchLanguage(Some(*l))).ok_or_else(
            || {
                casebook_core::Error::invalid(format!(
                    "search language '{s}' is not known; use one of: {}",
                    SearchLanguage::names().join(", ")
                ))
            },
        )
    }
}

#[derive(Clone)]
pub(crate) struct Fields {
    pub path: Field,
    pub title: Field,
    pub headings: Field,
    pub body: Field,
    pub tags: Field,
    pub folder: Field,
    pub kind: Field,
    pub author: Field,
    pub author_stored: Field,
    pub updated: Field,
    pub links: Field,
    pub meta: Field,
    /// `/type/<page type>`, `/tag/<tag>`, `/folder/<top-level folder>`: counted per search.
    pub facets: Field,
    /// Title, headings and body as unstemmed words, without positions: for "did you mean".
    pub spell: Field,
    /// How free text is stemmed, in the index and in queries alike.
    pub language: SearchLanguage,
    /// The commit a past version of a page was read at (past versions only).
    pub revision: Field,
}

/// The facet families counted for a result set, by the filter name that narrows to one value.
pub(crate) const FACET_FAMILIES: [&str; 3] = ["type", "tag", "in"];

pub(crate) fn build(language: SearchLanguage) -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TEXT)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored { o.set_stored() } else { o }
    };
    let keyword = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(KEYWORD)
            .set_index_option(IndexRecordOption::Basic),
    );
    let f = Fields {
        path: b.add_text_field("path", STRING | STORED | FAST),
        title: b.add_text_field("title", text(true)),
        headings: b.add_text_field("headings", text(false)),
        body: b.add_text_field("body", text(true)),
        tags: b.add_text_field("tags", keyword.clone().set_stored()),
        folder: b.add_text_field("folder", STRING),
        kind: b.add_text_field("kind", STRING | STORED | FAST),
        author: b.add_text_field("author", text(false)),
        author_stored: b.add_text_field("author_name", STORED),
        updated: b.add_i64_field("updated", INDEXED | STORED | FAST),
        links: b.add_text_field("links", STRING),
        meta: b.add_json_field(
            "meta",
            JsonObjectOptions::default()
                .set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(KEYWORD)
                        .set_index_option(IndexRecordOption::Basic),
                )
                .set_expand_dots_enabled(),
        ),
        facets: b.add_facet_field("facets", FacetOptions::default()),
        spell: b.add_text_field(
            "spell",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(WORDS)
                    .set_index_option(IndexRecordOption::Basic),
            ),
        ),
        language,
        revision: b.add_text_field("revision", STRING | STORED),
    };
    (b.build(), f)
}

pub(crate) fn text_analyzer(language: SearchLanguage) -> TextAnalyzer {
    let words = TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter);
    match language.0 {
        Some(l) => words.filter(CachedStemmer(l)).build(),
        None => words.build(),
    }
}

/// Words as in [`text_analyzer`] but not stemmed: for reading prefixes.
pub(crate) fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

pub(crate) fn keyword_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

pub(crate) fn register_tokenizers(index: &Index, language: SearchLanguage) {
    index.tokenizers().register(TEXT, text_analyzer(language));
    index.tokenizers().register(KEYWORD, keyword_analyzer());
    index.tokenizers().register(WORDS, plain_analyzer());
}

impl Fields {
    pub(crate) fn to_document(&self, d: &IndexDoc) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.path, &d.path);
        doc.add_text(self.title, &d.title);
        for h in &d.headings {
            doc.add_text(self.headings, h);
        }
        doc.add_text(self.body, &d.body);
        doc.add_text(self.spell, &d.title);
        for h in &d.headings {
            doc.add_text(self.spell, h);
        }
        doc.add_text(self.spell, &d.body);
        for t in &d.tags {
            doc.add_text(self.tags, t);
        }
        // The folder and each folder above it, as the folder rules see them (`folder_of`), so
        // a must-not clause on one hides everything below it. Lowercased, as always; a search
        // for a reader with hidden folders case folds the dictionary's terms to compare them.
        let folder = casebook_core::folder_of(&d.path).to_lowercase();
        if !folder.is_empty() {
            for (i, _) in folder.match_indices('/') {
                doc.add_text(self.folder, &folder[..i]);
            }
            doc.add_text(self.folder, &folder);
        }
        doc.add_text(self.kind, &d.kind);
        doc.add_text(self.author, &d.author);
        doc.add_text(self.author_stored, &d.author);
        doc.add_i64(self.updated, d.updated);
        for l in &d.links {
            doc.add_text(self.links, l);
        }
        if !d.fields.is_empty() {
            let mut map = d.fields.clone();
            // `type` is the page type; keep the kind (page/discussion) apart from it.
            map.remove("title");
            let value: tantivy::schema::OwnedValue = serde_json::Value::Object(map).into();
            doc.add_field_value(self.meta, &value);
        }
        if !d.revision.is_empty() {
            doc.add_text(self.revision, &d.revision);
        }
        for (family, value) in facet_values(d) {
            doc.add_facet(self.facets, Facet::from_path([family, value.as_str()]));
        }
        doc
    }

    pub(crate) fn text(&self, doc: &TantivyDocument, field: Field) -> String {
        doc.get_first(field).and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }

    pub(crate) fn texts(&self, doc: &TantivyDocument, field: Field) -> Vec<String> {
        doc.get_all(field).filter_map(|v| v.as_str().map(str::to_string)).collect()
    }

    pub(crate) fn i64(&self, doc: &TantivyDocument, field: Field) -> i64 {
        doc.get_first(field).and_then(|v| v.as_i64()).unwrap_or(0)
    }
}

/// The facet values of a document: its page type and tags as the filters match them (lowercased,
/// accents folded), and its top-level folder as written.
fn facet_values(d: &IndexDoc) -> Vec<(&'static str, String)> {
    let clean = |s: &str| s.replace('\0', "").trim().to_string();
    let keyword = |s: &str| {
        let mut a = keyword_analyzer();
        let mut stream = a.token_stream(s);
        let mut out = String::new();
        while let Some(t) = stream.next() {
            out.push_str(&t.text);
        }
        clean(&out)
    };
    let mut out = Vec::new();
    if let Some(t) = d.fields.get("type").and_then(|v| v.as_str()) {
        out.push(("type", keyword(t)));
    }
    let mut tags: Vec<String> = d.tags.iter().map(|t| keyword(t)).collect();
    tags.sort();
    tags.dedup();
    out.extend(tags.into_iter().map(|t| ("tag", t)));
    let folder = casebook_core::folder_of(&d.path);
    if !folder.is_empty() {
        let top = folder.split_once('/').map_or(folder, |(top, _)| top);
        out.push(("in", clean(top)));
    }
    out.retain(|(_, v)| !v.is_empty());
    out
}

/// Han, Hiragana, Katakana and Hangul: scripts written without spaces between words.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF       // Hiragana, Katakana
        | 0x31F0..=0x31FF     // Katakana phonetic extensions
        | 0x3400..=0x4DBF     // CJK extension A
        | 0x4E00..=0x9FFF     // CJK unified ideographs
        | 0xF900..=0xFAFF     // CJK compatibility ideographs
        | 0xFF66..=0xFF9F     // half-width Katakana
        | 0x1100..=0x11FF     // Hangul Jamo
        | 0x3130..=0x318F     // Hangul compatibility Jamo
        | 0xAC00..=0xD7AF     // Hangul syllables
        | 0x20000..=0x2FA1F   // CJK extensions B and later, compatibility supplement
    )
}

/// Little words that carry no topic of their own: in a query they rank pages but are not required
/// of them ("how do I get a discount approved" needs *discount* and *approved*).
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "get", "gets", "got", "has", "have", "how", "i", "if", "in", "into",
    "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "should", "so", "such",
    "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "us", "was",
    "we", "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with", "would",
    "you", "your",
];

/// True when `word` (lowercased, unstemmed) is a stop word of `language` (only English has a
/// list so far).
pub(crate) fn is_stop_word(language: SearchLanguage, word: &str) -> bool {
    language.is_english() && ENGLISH_STOP_WORDS.binary_search(&word).is_ok()
}

/// Splits text into words at every character that is neither a letter nor a digit, like
/// tantivy's simple tokenizer, except that runs of Han, Hiragana, Katakana and Hangul (written
/// without spaces) become overlapping pairs of characters: 销售团队 is 销售, 售团, 团队. A query
/// word is split the same way and searched as a phrase of its pairs, so any word of two or more
/// characters is found wherever it is written. A lone character is a token of its own.
#[derive(Clone, Default)]
pub(crate) struct WordTokenizer {
    tokens: Vec<Token>,
}

pub(crate) struct WordTokens<'a> {
    tokens: &'a mut [Token],
    next: usize,
}

impl TokenStream for WordTokens<'_> {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordTokens<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordTokens<'a> {
        self.tokens.clear();
        let push = |tokens: &mut Vec<Token>, from: usize, to: usize| {
            let position = tokens.len();
            tokens.push(Token {
                offset_from: from,
                offset_to: to,
                position,
                text: text[from..to].to_string(),
                position_length: 1,
            });
        };
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if is_cjk(c) {
                // A run: each character with the next one, or alone when the run is one long.
                let mut run = vec![(at, c)];
                while let Some(&(i, d)) = chars.peek() {
                    if !is_cjk(d) {
                        break;
                    }
                    run.push((i, d));
                    chars.next();
                }
                if let [(from, only)] = run.as_slice() {
                    push(&mut self.tokens, *from, from + only.len_utf8());
                } else {
                    for pair in run.windows(2) {
                        let (from, (last_at, last)) = (pair[0].0, pair[1]);
                        push(&mut self.tokens, from, last_at + last.len_utf8());
                    }
                }
            } else if c.is_alphanumeric() {
                let mut to = at + c.len_utf8();
                while let Some(&(i, d)) = chars.peek() {
                    if !d.is_alphanumeric() || is_cjk(d) {
                        break;
                    }
                    to = i + d.len_utf8();
                    chars.next();
                }
                push(&mut self.tokens, at, to);
            }
        }
        WordTokens { tokens: &mut self.tokens, next: 0 }
    }
}

/// Stemming as tantivy's [`Stemmer`] does it, with the stems of the words met before kept per
/// thread: most words of a text are words met before, and stemming one is a few hundred
/// nanoseconds where finding it again is a hash lookup. Stemming was a quarter of indexing a
/// page and a seventh of showing one (its related pages' query).
#[derive(Clone, Copy)]
pub(crate) struct CachedStemmer(Language);

/// Stems kept per thread; all are forgotten when there are more.
const STEMS_KEPT: usize = 50_000;

thread_local! {
    static STEMS: std::cell::RefCell<(Option<Language>, std::collections::HashMap<String, String>)> =
        Default::default();
}

impl tantivy::tokenizer::TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter {
            inner: tokenizer,
            language: self.0,
            stem: TextAnalyzer::builder(RawTokenizer::default())
                .filter(Stemmer::new(self.0))
                .build(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct CachedStemmerFilter<T> {
    inner: T,
    language: Language,
    /// Stems one word: the stemmer of tantivy behind a tokenizer that keeps the text whole.
    stem: TextAnalyzer,
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStems<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStems {
            tail: self.inner.token_stream(text),
            language: self.language,
            stem: &mut self.stem,
        }
    }
}

pub(crate) struct CachedStems<'a, T> {
    tail: T,
    language: Language,
    stem: &'a mut TextAnalyzer,
}

impl<T: TokenStream> TokenStream for CachedStems<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        STEMS.with_borrow_mut(|(language, stems)| {
            if *language != Some(self.language) {
                stems.clear();
                *language = Some(self.language);
            }
            if let Some(stemmed) = stems.get(token.text.as_str()) {
                token.text.clear();
                token.text.push_str(stemmed);
                return;
            }
            let word = std::mem::take(&mut token.text);
            let stemmed = {
                let mut one = self.stem.token_stream(&word);
                if one.advance() { one.token().text.clone() } else { word.clone() }
            };
            if stems.len() >= STEMS_KEPT {
                stems.clear();
            }
            token.text.push_str(&stemmed);
            stems.insert(word, stemmed);
        });
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_stems_are_the_stems_tantivy_gives_met_once_or_again() {
        let text = "Running runners ran; the runner runs. Negotiations negotiated a négociation \
            销售团队 x Running RUNNING";
        let words = |a: &mut TextAnalyzer| {
            let mut out = Vec::new();
            let mut stream = a.token_stream(text);
            while stream.advance() {
                let t = stream.token();
                out.push((t.text.clone(), t.offset_from, t.offset_to, t.position));
            }
            out
        };
        // The analyser as it was, with tantivy's stemmer.
        let plain = |l: Language| {
            TextAnalyzer::builder(WordTokenizer::default())
                .filter(RemoveLongFilter::limit(40))
                .filter(LowerCaser)
                .filter(AsciiFoldingFilter)
                .filter(Stemmer::new(l))
                .build()
        };
        let expected = words(&mut plain(Language::English));
        assert!(expected.iter().any(|w| w.0 == "run"), "{expected:?}");
        let mut cached = text_analyzer(SearchLanguage(Some(Language::English)));
        // Once with every stem new, then again with every stem found.
        assert_eq!(words(&mut cached), expected);
        assert_eq!(words(&mut cached), expected);
        // Another language on the same thread is not answered with English stems.
        let mut french = text_analyzer(SearchLanguage(Some(Language::French)));
        assert_eq!(words(&mut french), words(&mut plain(Language::French)));
    }

    #[test]
    fn cjk_runs_become_pairs_and_other_words_stay_whole() {
        let mut t = WordTokenizer::default();
        let mut stream = t.token_stream("GitLab中文abc, 销售团队 x 客 café");
        let mut got = Vec::new();
        while stream.advance() {
            let tok = stream.token();
            got.push((tok.text.clone(), tok.position));
        }
        let words: Vec<&str> = got.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(words, ["GitLab", "中文", "abc", "销售", "售团", "团队", "x", "客", "café"]);
        let positions: Vec<usize> = got.iter().map(|(_, p)| *p).collect();
        assert_eq!(positions, (0..9).collect::<Vec<_>>());
    }
}
