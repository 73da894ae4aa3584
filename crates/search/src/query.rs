//! The query language people type, and its translation into tantivy queries.
//!
//! `plain words` (all of them, else any of them), `"exact phrases"`, `prefix*`, `-exclude`,
//! `a OR b`, and filters `title:`, `tag:`, `type:`, `kind:`, `author:`, `in:folder/` plus any
//! front matter field (`outcome:won`). Parsing never fails: what cannot be read as syntax is read
//! as words.

use crate::schema::{Fields, SearchLanguage, keyword_analyzer, text_analyzer};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, EmptyQuery, FuzzyTermQuery, Occur, PhrasePrefixQuery,
    PhraseQuery, Query, RegexQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Index, Term};

const MAX_QUERY: usize = 1000;
/// The most terms a query is read as, the alternatives of an `OR` included: the rest is dropped.
const MAX_CLAUSES: usize = 32;

/// What a field filter or a free-standing term matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Atom {
    Word(String),
    Prefix(String),
    Phrase(String),
    Field {
        name: String,
        value: Box<Atom>,
    },
    /// A lone `*`: every page.
    All,
}

/// A clause: one atom or several joined by `OR`, possibly excluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub negated: bool,
    pub any_of: Vec<Atom>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedQuery {
    pub clauses: Vec<Clause>,
}

impl ParsedQuery {
    /// Free-text clauses (not filters, not exclusions): the ones that may be loosened.
    pub fn words(&self) -> usize {
        self.clauses.iter().filter(|c| !c.negated && c.any_of.iter().all(is_free_text)).count()
    }
}

impl ParsedQuery {
    /// The words a person typed, lowercased, for finding where a page matches.
    pub fn needles(&self) -> Vec<String> {
        self.free_atoms()
            .into_iter()
            .flat_map(|t| t.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>())
            .collect()
    }

    /// The words a person typed to say what they look for, as written (filters, exclusions and
    /// operators left out; a `title:` filter's words kept): what a meaning-based search reads.
    pub fn free_text(&self) -> String {
        self.free_atoms().join(" ")
    }

    /// The text of every word, prefix and phrase not excluded, a `title:` filter's included.
    fn free_atoms(&self) -> Vec<&str> {
        fn collect<'a>(a: &'a Atom, out: &mut Vec<&'a str>) {
            match a {
                Atom::Word(w) | Atom::Prefix(w) | Atom::Phrase(w) => out.push(w),
                Atom::Field { name, value } if name == "title" => collect(value, out),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for c in self.clauses.iter().filter(|c| !c.negated) {
            for a in &c.any_of {
                collect(a, &mut out);
            }
        }
        out
    }

    /// The clauses that narrow a search without naming what is looked for: field filters and
    /// exclusions.
    pub fn filters_only(&self) -> ParsedQuery {
        let clauses = self
            .clauses
            .iter()
            .filter(|c| c.negated || !c.any_of.iter().all(is_free_text))
            .cloned()
            .collect();
        ParsedQuery { clauses }
    }
}

/// A clause of one plain word that is a stop word.
fn is_stop_clause(c: &Clause, language: SearchLanguage) -> bool {
    match c.any_of.as_slice() {
        [Atom::Word(w)] => {
            let words = analyze_plain(w);
            !words.is_empty() && words.iter().all(|w| crate::schema::is_stop_word(language, w))
        }
        _ => false,
    }
}

fn is_free_text(a: &Atom) -> bool {
    matches!(a, Atom::Word(_) | Atom::Prefix(_) | Atom::Phrase(_))
}

#[derive(Debug, PartialEq)]
enum Tok {
    Text { negated: bool, text: String, quoted: bool },
    Or,
    Not,
}

impl Tok {
    /// The text of a word typed plainly: neither excluded (`-word`) nor quoted.
    fn plain(&self) -> Option<&str> {
        match self {
            Tok::Text { negated: false, text, quoted: false } => Some(text),
            _ => None,
        }
    }
}

/// The tokens of a query with the byte range each was read from.
fn tokenize(q: &str) -> Vec<(Tok, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let chars: Vec<char> = q.chars().collect();
    let offsets: Vec<usize> =
        q.char_indices().map(|(at, _)| at).chain(std::iter::once(q.len())).collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == '(' || c == ')' {
            i += 1;
            continue;
        }
        let start = offsets[i];
        let mut negated = false;
        if (c == '-' || c == '!') && i + 1 < chars.len() && !chars[i + 1].is_whitespace() {
            negated = true;
            i += 1;
        } else if c == '+' {
            i += 1;
            continue;
        }
        let mut text = String::new();
        let mut quoted = false;
        while i < chars.len() {
            let c = chars[i];
            if c == '"' {
                // `field:"a phrase"` stays one field token; a bare `"…"` is a phrase.
                let field_value = text.ends_with(':');
                quoted = !field_value;
                if field_value {
                    text.push('"');
                }
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    text.push(chars[i]);
                    i += 1;
                }
                if field_value {
                    text.push('"');
                }
                i += 1; // the closing quote, or the end
                break;
            }
            if c.is_whitespace() || c == '(' || c == ')' {
                break;
            }
            text.push(c);
            i += 1;
        }
        let span = start..offsets[i.min(chars.len())];
        if !negated && !quoted && (text == "OR" || text == "|" || text == "||") {
            out.push((Tok::Or, span));
        } else if !negated && !quoted && text == "NOT" {
            out.push((Tok::Not, span));
        } else if !negated && !quoted && (text == "AND" || text == "&&") {
        } else if !text.is_empty() || quoted {
            out.push((Tok::Text { negated, text, quoted }, span));
        }
    }
    out
}

fn atom(text: &str, quoted: bool) -> Option<Atom> {
    if !quoted && let Some((name, value)) = text.split_once(':') {
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name.chars().next().is_some_and(|c| c.is_alphabetic())
            && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if name_ok && !value.is_empty() {
            let (value, quoted) = match value.strip_prefix('"') {
                Some(v) => (v.trim_end_matches('"'), true),
                None => (value, false),
            };
            // A field's value is never another field: `tag:a:b` is the tag `a:b`.
            let inner = value_atom(value, quoted)?;
            return Some(Atom::Field { name: name.to_lowercase(), value: Box::new(inner) });
        }
    }
    value_atom(text, quoted)
}

/// A word, prefix, phrase or `*`, whatever colons the text holds.
fn value_atom(text: &str, quoted: bool) -> Option<Atom> {
    if quoted {
        return (!text.trim().is_empty()).then(|| Atom::Phrase(text.to_string()));
    }
    let trimmed = text.trim_matches(|c: char| c == ':' || c == '"');
    if trimmed.chars().all(|c| c == '*') {
        return (!trimmed.is_empty()).then_some(Atom::All);
    }
    if let Some(stem) = trimmed.strip_suffix('*') {
        let stem = stem.trim_end_matches('*');
        return Some(Atom::Prefix(stem.to_string()));
    }
    (!trimmed.is_empty()).then(|| Atom::Word(trimmed.to_string()))
}

/// Reads a query as typed. Never fails.
pub fn parse_query(q: &str) -> ParsedQuery {
    let mut end = q.len().min(MAX_QUERY);
    while !q.is_char_boundary(end) {
        end -= 1;
    }
    let mut clauses: Vec<Clause> = Vec::new();
    let mut join_next = false;
    let mut negate_next = false;
    let mut terms = 0;
    for (tok, _) in tokenize(&q[..end]) {
        match tok {
            Tok::Or => join_next = !clauses.is_empty(),
            Tok::Not => negate_next = true,
            Tok::Text { negated, text, quoted } => {
                let Some(a) = atom(&text, quoted) else {
                    continue;
                };
                let negated = negated || std::mem::take(&mut negate_next);
                if terms == MAX_CLAUSES {
                    break;
                }
                terms += 1;
                match clauses.last_mut() {
                    Some(last) if join_next && !negated && !last.negated => last.any_of.push(a),
                    _ => clauses.push(Clause { negated, any_of: vec![a] }),
                }
                join_next = false;
            }
        }
    }
    ParsedQuery { clauses }
}

/// A filter in a query as typed: `tag:pricing`, `type:case-story`, `in:sales/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveFilter {
    /// The filter's name: `type`, `tag` or `in`.
    pub name: String,
    /// The value as typed, without quotes or a trailing `/`.
    pub value: String,
    /// The query without this filter.
    pub without: String,
}

/// The `type:`, `tag:` and `in:` filters of a query that narrow it (not excluded, not part of an
/// `OR`), each with the query that is left when it is taken away.
pub fn active_filters(q: &str) -> Vec<ActiveFilter> {
    let toks = tokenize(q);
    let mut out = Vec::new();
    for (i, (tok, span)) in toks.iter().enumerate() {
        let Some(text) = tok.plain() else {
            continue;
        };
        let joined = |j: Option<usize>| {
            j.and_then(|j| toks.get(j)).is_some_and(|(t, _)| matches!(t, Tok::Or | Tok::Not))
        };
        if joined(i.checked_sub(1)) || joined(Some(i + 1)) {
            continue;
        }
        let Some(Atom::Field { name, value }) = atom(text, false) else {
            continue;
        };
        let Some(name) = filter_family(&name) else {
            continue;
        };
        let value = match *value {
            Atom::Word(v) | Atom::Phrase(v) => v,
            _ => continue,
        };
        let value = if name == "in" { value.trim_matches('/').to_string() } else { value };
        out.push(ActiveFilter {
            name: name.to_string(),
            value,
            without: join_words(&q[..span.start], &q[span.end..]),
        });
    }
    out
}

/// The free words of a query that a spelling correction may replace: single words (not
/// phrases, prefixes, filters or exclusions), each with its byte range in `q` and its form as
/// indexed without stemming.
pub(crate) fn correctable_words(q: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let mut out = Vec::new();
    for (tok, span) in tokenize(q) {
        let Some(text) = tok.plain() else {
            continue;
        };
        let Some(Atom::Word(w)) = atom(text, false) else {
            continue;
        };
        let words = analyze_plain(&w);
        if let [word] = words.as_slice()
            && word.chars().count() >= 3
            && word.chars().all(|c| c.is_alphabetic() && !crate::schema::is_cjk(c))
        {
            out.push((span, word.clone()));
        }
    }
    out
}

/// Whether the query asks for past versions (`history:yes`), and the query without that filter.
pub fn wants_history(q: &str) -> (bool, String) {
    let mut rest = q.to_string();
    let mut wanted = false;
    for (tok, span) in tokenize(q).into_iter().rev() {
        let Some(text) = tok.plain() else {
            continue;
        };
        if let Some(Atom::Field { name, value }) = atom(text, false)
            && matches!(name.as_str(), "history" | "past")
            && let Atom::Word(v) = *value
        {
            wanted |= matches!(v.to_lowercase().as_str(), "yes" | "true" | "1" | "on");
            // Right to left, and nothing left of the span moves.
            rest = format!("{} {}", rest[..span.start].trim_end(), rest[span.end..].trim_start());
        }
    }
    (wanted, rest.trim().to_string())
}

/// The family a filter name belongs to, under its main name.
pub(crate) fn filter_family(name: &str) -> Option<&'static str> {
    match name {
        "type" => Some("type"),
        "tag" | "tags" => Some("tag"),
        "in" | "folder" | "path" => Some("in"),
        _ => None,
    }
}

/// The filter text that narrows a search to one value: `tag:pricing`, `in:"Case Stories/"`.
pub fn filter_text(name: &str, value: &str) -> String {
    let value: String = value.chars().filter(|c| *c != '"').collect();
    let slash = if name == "in" { "/" } else { "" };
    let plain = !value.is_empty()
        && value.chars().all(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | ':' | '*'))
        && !value.starts_with(['-', '!', '+']);
    if plain { format!("{name}:{value}{slash}") } else { format!("{name}:\"{value}{slash}\"") }
}

/// Two pieces of a query joined with one space between them.
fn join_words(a: &str, b: &str) -> String {
    let (a, b) = (a.trim(), b.trim());
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a} {b}"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every free-text clause must match.
    AllTerms,
    /// Any free-text clause may match (ranked by how many do).
    AnyTerm,
    /// Like `AnyTerm`, with each word allowed a typo or two.
    Fuzzy,
}

/// The terms of `text` as indexed: stemmed words in `language`, or one whole keyword.
fn analyze(text: &str, keyword: Option<SearchLanguage>) -> Vec<String> {
    let mut analyzer = match keyword {
        None => keyword_analyzer(),
        Some(language) => text_analyzer(language),
    };
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

fn boxed(q: impl Query + 'static) -> Box<dyn Query> {
    Box::new(q)
}

fn any(mut qs: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    match qs.len() {
        0 => boxed(EmptyQuery),
        1 => qs.pop().expect("one"),
        _ => boxed(BooleanQuery::new(qs.into_iter().map(|q| (Occur::Should, q)).collect())),
    }
}

fn term(field: Field, text: &str) -> Box<dyn Query> {
    boxed(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs))
}

/// The text fields searched by free text, with their weights.
fn text_fields(f: &Fields) -> [(Field, f32); 3] {
    [(f.title, 3.0), (f.headings, 1.5), (f.body, 1.0)]
}

fn text_query(
    a: &Atom,
    fields: &[(Field, f32)],
    mode: Mode,
    language: SearchLanguage,
) -> Box<dyn Query> {
    let mut per_field: Vec<Box<dyn Query>> = Vec::new();
    for &(field, weight) in fields {
        let q: Box<dyn Query> = match a {
            Atom::Word(w) | Atom::Phrase(w) => {
                let tokens = analyze(w, Some(language));
                match tokens.len() {
                    0 => continue,
                    1 if mode == Mode::Fuzzy && matches!(a, Atom::Word(_)) => {
                        let t = &tokens[0];
                        let distance = if t.chars().count() >= 8 { 2 } else { 1 };
                        boxed(FuzzyTermQuery::new(Term::from_field_text(field, t), distance, true))
                    }
                    1 => term(field, &tokens[0]),
                    _ => boxed(PhraseQuery::new(
                        tokens.iter().map(|t| Term::from_field_text(field, t)).collect(),
                    )),
                }
            }
            Atom::Prefix(p) => match prefix_query(p, field, language) {
                Some(q) => q,
                None => continue,
            },
            Atom::All => boxed(AllQuery),
            Atom::Field { .. } => continue,
        };
        per_field.push(if weight == 1.0 { q } else { boxed(BoostQuery::new(q, weight)) });
    }
    any(per_field)
}

/// `negotiat*`, `get-ad*`: the words before the last as a phrase, the last as a prefix of the
/// indexed (stemmed) words, expanded to at most 50 terms so a short prefix stays cheap.
fn prefix_query(p: &str, field: Field, language: SearchLanguage) -> Option<Box<dyn Query>> {
    let plain = analyze_plain(p);
    let (last, rest) = plain.split_last()?;
    // Indexed words are stems ("negotiated" is stored as "negoti"), and the stem of a word's
    // beginning is not always a beginning of its stem; so also try the stem and the prefix less
    // its last two letters, keeping the shortest that the others start with.
    let stem = analyze(last, Some(language)).into_iter().next().unwrap_or_default();
    let mut prefix = last.clone();
    for candidate in
        [stem, last.chars().take(last.chars().count().saturating_sub(2)).collect::<String>()]
    {
        if candidate.chars().count() >= 4 && prefix.starts_with(&candidate) {
            prefix = candidate;
        }
    }
    let mut terms: Vec<Term> = rest
        .iter()
        .filter_map(|w| analyze(w, Some(language)).into_iter().next())
        .map(|w| Term::from_field_text(field, &w))
        .collect();
    terms.push(Term::from_field_text(field, &prefix));
    let mut q = PhrasePrefixQuery::new(terms);
    q.set_max_expansions(50);
    Some(boxed(q))
}

fn analyze_plain(text: &str) -> Vec<String> {
    let mut analyzer = crate::schema::plain_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !c.is_alphanumeric() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn keyword_terms(field: Field, value: &Atom) -> Box<dyn Query> {
    match value {
        Atom::Word(w) | Atom::Phrase(w) => {
            let k = analyze(w, None).join("");
            term(field, &k)
        }
        Atom::Prefix(p) => {
            let k = analyze(p, None).join("");
            match RegexQuery::from_pattern(&format!("{}.*", regex_escape(&k)), field) {
                Ok(q) => boxed(q),
                Err(_) => boxed(EmptyQuery),
            }
        }
        _ => boxed(AllQuery),
    }
}

fn field_query(name: &str, value: &Atom, f: &Fields, mode: Mode) -> Box<dyn Query> {
    match name {
        "title" => text_query(value, &[(f.title, 1.0)], mode, f.language),
        "tag" | "tags" => keyword_terms(f.tags, value),
        "author" | "by" => text_query(value, &[(f.author, 1.0)], Mode::AllTerms, f.language),
        "kind" => keyword_terms(f.kind, value),
        "in" | "folder" | "path" => match value {
            Atom::Word(w) | Atom::Phrase(w) | Atom::Prefix(w) => {
                term(f.folder, &w.trim_matches('/').to_lowercase())
            }
            _ => boxed(AllQuery),
        },
        _ => meta_query(name, value, f),
    }
}

/// A front matter field: `outcome:won`, `deal_size:120000`, `industry:retail*`.
fn meta_query(name: &str, value: &Atom, f: &Fields) -> Box<dyn Query> {
    let path_term = || Term::from_field_json_path(f.meta, name, true);
    match value {
        Atom::Word(w) | Atom::Phrase(w) => {
            let k = analyze(w, None).join("");
            let mut t = path_term();
            t.append_type_and_str(&k);
            let mut alts = vec![boxed(TermQuery::new(t, IndexRecordOption::Basic))];
            if let Ok(n) = w.trim().parse::<i64>() {
                let mut t = path_term();
                t.append_type_and_fast_value(n);
                alts.push(boxed(TermQuery::new(t, IndexRecordOption::Basic)));
            }
            any(alts)
        }
        _ => boxed(EmptyQuery),
    }
}

/// Turns the parsed query into one tantivy query for the given mode.
pub(crate) fn to_tantivy(
    p: &ParsedQuery,
    f: &Fields,
    _index: &Index,
    mode: Mode,
) -> Box<dyn Query> {
    let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    // In the loose modes the free-text clauses are alternatives, but at least one must match
    // (beside filters, which must all match).
    let mut loose: Vec<Box<dyn Query>> = Vec::new();
    let mut words: Vec<Box<dyn Query>> = Vec::new();
    // Stop words need not match when some other word must.
    let optional_words = p.clauses.iter().any(|c| !c.negated && !is_stop_clause(c, f.language));
    let mut positive = 0;
    for clause in &p.clauses {
        let alts: Vec<Box<dyn Query>> = clause
            .any_of
            .iter()
            .map(|a| match a {
                Atom::Field { name, value } => field_query(name, value, f, mode),
                other => text_query(other, &text_fields(f), mode, f.language),
            })
            .collect();
        let q = any(alts);
        if clause.negated {
            parts.push((Occur::MustNot, q));
            continue;
        }
        positive += 1;
        let free = clause.any_of.iter().all(is_free_text);
        if free && mode != Mode::AllTerms {
            loose.push(q);
        } else if free && optional_words && is_stop_clause(clause, f.language) {
            parts.push((Occur::Should, q));
        } else if matches!(clause.any_of.as_slice(), [Atom::Word(_)]) {
            words.push(q);
        } else {
            parts.push((Occur::Must, q));
        }
    }
    // Plain words must all match, except that from three on, a page may miss one: a long
    // question rarely has every word on the page that answers it. Pages with every word still
    // score higher.
    if words.len() >= 3 {
        let n = words.len();
        parts.push((
            Occur::Must,
            boxed(BooleanQuery::with_minimum_required_clauses(
                words.into_iter().map(|q| (Occur::Should, q)).collect(),
                n - 1,
            )),
        ));
    } else {
        parts.extend(words.into_iter().map(|q| (Occur::Must, q)));
    }
    if !loose.is_empty() {
        parts.push((Occur::Must, any(loose)));
    }
    if positive == 0 {
        if parts.is_empty() {
            return boxed(EmptyQuery);
        }
        // Only exclusions: everything but them.
        parts.push((Occur::Must, boxed(AllQuery)));
    }
    boxed(BooleanQuery::new(parts))
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn words(q: &str) -> Vec<(bool, Vec<Atom>)> {
        parse_query(q).clauses.into_iter().map(|c| (c.negated, c.any_of)).collect()
    }

    fn word(w: &str) -> Atom {
        Atom::Word(w.into())
    }

    /// A clause of one atom, not negated.
    fn plain(atom: Atom) -> (bool, Vec<Atom>) {
        (false, vec![atom])
    }

    /// A clause of one `name:value` filter, not negated.
    fn field(name: &str, value: Atom) -> (bool, Vec<Atom>) {
        plain(Atom::Field { name: name.into(), value: Box::new(value) })
    }

    #[test]
    fn parses_the_language() {
        use Atom::*;
        assert_eq!(
            words(r#"pricing "exact phrase" nego* -churn a OR b tag:retail outcome:won"#),
            vec![
                plain(word("pricing")),
                plain(Phrase("exact phrase".into())),
                plain(Prefix("nego".into())),
                (true, vec![word("churn")]),
                (false, vec![word("a"), word("b")]),
                field("tag", word("retail")),
                field("outcome", word("won")),
            ]
        );
    }

    #[test]
    fn hostile_input_degrades_to_words() {
        use Atom::*;
        assert_eq!(words(r#""unbalanced"#), vec![plain(Phrase("unbalanced".into()))]);
        assert_eq!(words("title:"), vec![plain(word("title"))]);
        assert_eq!(words("((("), vec![]);
        assert_eq!(words("AND OR NOT"), vec![]);
        assert_eq!(words("*"), vec![plain(All)]);
        assert_eq!(words("- -"), vec![plain(word("-")), plain(word("-"))]);
        assert!(parse_query(&"a ".repeat(5000)).clauses.len() <= MAX_CLAUSES);
        // Alternatives count against the limit too, and a word past it joins nothing.
        let many_ors = parse_query(&format!("x{}", " OR x".repeat(100)));
        assert_eq!(many_ors.clauses.len(), 1);
        assert_eq!(many_ors.clauses[0].any_of.len(), MAX_CLAUSES);
        let past_the_limit = parse_query(&format!("{}late OR later", "w ".repeat(MAX_CLAUSES)));
        assert_eq!(past_the_limit.clauses.len(), MAX_CLAUSES);
        assert!(past_the_limit.clauses.iter().all(|c| c.any_of == [word("w")]));
        // A field's value is never another field.
        assert_eq!(
            words("a:a:x tag:in:sales"),
            vec![field("a", word("a:x")), field("tag", word("in:sales"))]
        );
        assert_eq!(
            words("in:sales/ title:\"big deal\""),
            vec![field("in", word("sales/")), field("title", Phrase("big deal".into()))]
        );
    }

    #[test]
    fn filters_read_back_as_written() {
        for (name, value) in [("type", "*"), ("tag", "x*"), ("in", "a b"), ("tag", "a:b")] {
            let text = filter_text(name, value);
            let found = active_filters(&text);
            assert_eq!(found.len(), 1, "{text:?}");
            assert_eq!((found[0].name.as_str(), found[0].value.as_str()), (name, value));
        }
    }
}
