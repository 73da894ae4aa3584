//! Typed pages as records: checking a page against its type, creating a page of a type from
//! its template and a form's values, and browsing the records of a type by facet (filters on
//! the fields marked `facet`, with counts; an order; a page of results).
//!
//! Enum, text and list fields filter by value, counted over the records that pass every other
//! filter; money and number fields by a range; dates by a span. A filter value that does not
//! read as its kind (`min=lots`, a date that is not one) is left out.

use crate::Engine;
use crate::fields::{Field, FieldKind, parse_date, parse_money, parse_number};
use crate::types::{PageType, TypeProblem, TypeSet, new_page_text};
use casebook_core::{Author, Error, FolderPath, PagePath, ReadScope, Result, Timestamp};
use casebook_markdown::FrontMatter;
use casebook_store::Change;
use serde::Serialize;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A typed page as a record.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub path: String,
    pub title: String,
    pub tags: Vec<String>,
    pub fields: Arc<casebook_markdown::FrontMatter>,
    pub updated: Option<Timestamp>,
}

/// A page's type and what does not fit it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TypeCheck {
    pub page_type: Option<Arc<PageType>>,
    /// For the page's readers; empty when the page fits its type (or has none).
    pub warnings: Vec<String>,
}

/// A new page of a type, its fields already read by [`PageType::read_form`].
#[derive(Debug, Clone)]
pub struct NewRecord<'a> {
    pub type_name: &'a str,
    pub title: &'a str,
    pub folder: &'a str,
    pub tags: &'a [String],
    pub values: &'a [(String, Value)],
    pub author: &'a Author,
    /// What the person creating it may read: a template page they may not see is not used.
    pub scope: &'a ReadScope,
}

impl Engine {
    /// The page types at the head.
    pub fn types(&self) -> Arc<TypeSet> {
        self.snapshot().types.clone()
    }

    /// The type a page's front matter names and what does not fit it.
    pub fn check_type(&self, fm: &FrontMatter) -> TypeCheck {
        let (page_type, warnings) = self.types().check(fm);
        TypeCheck { page_type, warnings }
    }

    /// The text a new page of `t` starts from: its template page (if `scope` sees it) without
    /// the front matter, else its inline body, else nothing.
    pub fn template_body(&self, t: &PageType, scope: &ReadScope) -> String {
        if let Some(tpl) = t.template.as_deref().and_then(|p| PagePath::parse(p).ok())
            && let Ok(page) = self.page(&tpl, None, scope)
        {
            return casebook_markdown::split_front_matter(&page.markdown).1.to_string();
        }
        t.body.clone().unwrap_or_default()
    }

    /// Where a new record would go: `folder/title`, refused with a message when the title or
    /// folder cannot make a page path.
    pub fn record_path(folder: &str, title: &str) -> Result<PagePath> {
        let title = title.trim();
        if title.is_empty() {
            return Err(Error::invalid("give the page a title"));
        }
        if title.contains('/') {
            return Err(Error::invalid(
                "a title cannot contain `/`; choose the folder in its own field",
            ));
        }
        let folder = FolderPath::parse(folder.trim().trim_matches('/'))?;
        PagePath::parse(&folder.join(title))
    }

    /// Creates a page of a type in one commit, refusing (conflict) when a page of that path
    /// exists already. Returns the new page's path.
    pub fn create_record(&self, r: NewRecord<'_>) -> Result<PagePath> {
        let t =
            self.types().get(r.type_name).cloned().ok_or_else(|| {
                Error::not_found(format!("there is no page type {}", r.type_name))
            })?;
        let path = Self::record_path(r.folder, r.title)?;
        let text = new_page_text(
            r.title.trim(),
            &t.name,
            r.tags,
            r.values,
            &self.template_body(&t, r.scope),
        );
        if text.len() > self.max_page_bytes() {
            return Err(Error::too_large("the new page is larger than the limit"));
        }
        let file = path.file();
        let message = format!("Create {} {path}", t.label.to_lowercase());
        self.with_writer(|w| {
            if let Some(head) = w.head()?
                && w.blob_at(&head, &file)?.is_some()
            {
                return Err(Error::conflict(format!("a page {path} exists already")).into());
            }
            w.commit(
                &[Change::Put { path: file.clone(), content: text.clone().into_bytes() }],
                r.author,
                &message,
            )
        })?;
        Ok(path)
    }
}

/// Records shown per page when browsing a type.
pub const RECORDS_PER_PAGE: usize = 60;

/// Which records of a type to show: filters on its facet fields, kept apart from the order
/// and the page asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecordQuery {
    /// Filter values as typed, by name: a field's key for a value (enum, text and list
    /// fields), `<key>_min` and `<key>_max` for a range of a money or number field,
    /// `<key>_from` and `<key>_to` for a span of dates (`YYYY-MM-DD`). `min` and `max` alone
    /// stand for the first money facet's range, `from` and `to` for the first date facet's
    /// span. Other names filter nothing.
    pub filters: BTreeMap<String, String>,
    /// The order: a money, number or date field's key (largest or newest first), `size` for
    /// the first money or number field, or `title`; by default the first date field, newest
    /// first, else the last change.
    pub sort: Option<String>,
    /// The page of results, from 1 (0 counts as 1; past the last is the last).
    pub page: usize,
}

impl RecordQuery {
    /// The query of a query string's pairs: `sort` and `page` apart, every other pair a filter.
    /// Values are trimmed; empty ones are left out, and a page that is not a number is the
    /// first.
    pub fn from_params(pairs: impl IntoIterator<Item = (String, String)>) -> RecordQuery {
        let mut q = RecordQuery { page: 1, ..RecordQuery::default() };
        for (name, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match name.as_str() {
                "sort" => q.sort = Some(value.to_string()),
                "page" => q.page = value.parse().unwrap_or(1),
                _ => {
                    q.filters.insert(name, value.to_string());
                }
            }
        }
        q
    }

    fn filter(&self, name: &str) -> &str {
        self.filters.get(name).map(String::as_str).unwrap_or("")
    }

    /// The same query with the short names of `t`'s first money range and date span (`min`,
    /// `max`, `from`, `to`) replaced by the fields' own; a field's own name, when also given,
    /// wins. Short names with no such field are dropped.
    fn resolved(&self, t: &PageType) -> RecordQuery {
        let mut q = self.clone();
        let first = |kind: FieldKind| t.fields.iter().find(|f| f.facet && f.kind == kind);
        for (short, kind) in [
            ("min", FieldKind::Money),
            ("max", FieldKind::Money),
            ("from", FieldKind::Date),
            ("to", FieldKind::Date),
        ] {
            if let (Some(v), Some(f)) = (q.filters.remove(short), first(kind)) {
                q.filters.entry(format!("{}_{short}", f.key)).or_insert(v);
            }
        }
        q
    }
}

/// One page of the records of a type, as one reader sees them.
#[derive(Debug, Clone, Serialize)]
pub struct RecordPage {
    /// The type; a stand-in with no fields (so nothing filters) when its definition cannot be
    /// read.
    pub page_type: Arc<PageType>,
    /// Why the type's definition cannot be read.
    pub problem: Option<TypeProblem>,
    /// The query as applied: short filter names replaced by the fields' own.
    pub query: RecordQuery,
    /// Each facet field with its values and counts, or the ends of its range as typed.
    pub facets: Vec<RecordFacet>,
    /// The key the records are ordered by: the one asked for, `size` made the field's key;
    /// empty for the default order.
    pub sort: String,
    /// The fields the records may also be ordered by (money, number and date fields, the first
    /// date aside, which is the default), by key.
    pub sorts: Vec<String>,
    /// The records on this page, in order.
    pub records: Vec<Record>,
    /// Records of the type the reader sees.
    pub total: usize,
    /// Those that pass the filters.
    pub matching: usize,
    /// Whether some filter is in force.
    pub filtered: bool,
    /// This page, from 1, and how many there are (at least 1).
    pub page: usize,
    pub pages: usize,
}

/// How a facet filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FacetMode {
    /// By one value, with a count for each (enum, text and list fields).
    Values,
    /// By a range of numbers (money and number fields).
    Range,
    /// By a span of dates.
    Dates,
}

/// A facet field of a record page.
#[derive(Debug, Clone, Serialize)]
pub struct RecordFacet {
    pub key: String,
    pub label: String,
    pub mode: FacetMode,
    /// For `Values`: each value (lowercased) with the records that have it and pass the other
    /// filters, by value.
    pub values: Vec<FacetCount>,
    /// For `Range` and `Dates`: the low and high ends as typed.
    pub low: String,
    pub high: String,
}

/// A value of a facet and how many records have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    pub value: String,
    pub count: usize,
    /// Whether it is the value filtered by.
    pub active: bool,
}

impl Record {
    /// The values of a field, lowercased, for matching and counting: a list's items, or a
    /// text's parts between commas.
    pub fn values(&self, key: &str) -> Vec<String> {
        match self.fields.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s.trim().to_lowercase()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .filter(|s| !s.is_empty())
                .collect(),
            Some(Value::String(s)) if s.contains(',') => {
                s.split(',').map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).collect()
            }
            _ => self.fields.text(key).map(|v| v.to_lowercase()).into_iter().collect(),
        }
    }

    /// The value of a money or number field as a number.
    pub fn number(&self, f: &Field) -> Option<f64> {
        f.number_of(self.fields.get(&f.key)?)
    }

    /// The value of a date field, if it is a date (`YYYY-MM-DD`, which compares as text).
    pub fn date(&self, key: &str) -> Option<String> {
        self.fields.text(key).filter(|d| parse_date(d).is_some())
    }
}

/// One filter in force, read once per query.
enum Cond {
    /// The value, lowercased.
    Value(String),
    Range(Option<f64>, Option<f64>),
    /// Dates as `YYYY-MM-DD`, which compare as text.
    Span(Option<String>, Option<String>),
}

fn amount(f: &Field, s: &str) -> Option<f64> {
    match f.kind {
        FieldKind::Money => parse_money(s),
        _ => parse_number(s),
    }
}

/// The filters in force: odd values are left out.
fn conditions<'a>(t: &'a PageType, q: &RecordQuery) -> Vec<(&'a Field, Cond)> {
    let param = |f: &Field, suffix: &str| q.filter(&format!("{}_{suffix}", f.key)).to_string();
    t.fields
        .iter()
        .filter(|f| f.facet)
        .filter_map(|f| {
            let cond = match f.kind {
                FieldKind::Number | FieldKind::Money => {
                    let (min, max) = (amount(f, &param(f, "min")), amount(f, &param(f, "max")));
                    (min.is_some() || max.is_some()).then_some(Cond::Range(min, max))?
                }
                FieldKind::Date => {
                    let day = |s: String| parse_date(&s).map(|_| s);
                    let (from, to) = (day(param(f, "from")), day(param(f, "to")));
                    (from.is_some() || to.is_some()).then_some(Cond::Span(from, to))?
                }
                _ => Some(q.filter(&f.key).to_lowercase())
                    .filter(|v| !v.is_empty())
                    .map(Cond::Value)?,
            };
            Some((f, cond))
        })
        .collect()
}

/// Whether a record passes every filter, leaving out the field `except`.
fn passes(r: &Record, conds: &[(&Field, Cond)], except: Option<&str>) -> bool {
    conds.iter().filter(|(f, _)| Some(f.key.as_str()) != except).all(|(f, cond)| match cond {
        Cond::Range(min, max) => {
            let n = r.number(f);
            min.is_none_or(|m| n.is_some_and(|n| n >= m))
                && max.is_none_or(|m| n.is_some_and(|n| n <= m))
        }
        Cond::Span(from, to) => {
            let d = r.date(&f.key);
            from.as_deref().is_none_or(|m| d.as_deref().is_some_and(|d| d >= m))
                && to.as_deref().is_none_or(|m| d.as_deref().is_some_and(|d| d <= m))
        }
        Cond::Value(want) => r.values(&f.key).contains(want),
    })
}

/// The facets of `t` over `all`, each value counted over the records passing the other
/// filters.
fn facets(
    t: &PageType,
    q: &RecordQuery,
    conds: &[(&Field, Cond)],
    all: &[Record],
) -> Vec<RecordFacet> {
    t.fields
        .iter()
        .filter(|f| f.facet)
        .map(|f| {
            let (mode, low, high) = match f.kind {
                FieldKind::Number | FieldKind::Money => (FacetMode::Range, "min", "max"),
                FieldKind::Date => (FacetMode::Dates, "from", "to"),
                _ => (FacetMode::Values, "", ""),
            };
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            if mode == FacetMode::Values {
                for r in all.iter().filter(|r| passes(r, conds, Some(&f.key))) {
                    for v in r.values(&f.key) {
                        *counts.entry(v).or_default() += 1;
                    }
                }
            }
            let active = q.filter(&f.key).to_lowercase();
            let end = |suffix: &str| {
                if suffix.is_empty() {
                    String::new()
                } else {
                    q.filter(&format!("{}_{suffix}", f.key)).to_string()
                }
            };
            RecordFacet {
                key: f.key.clone(),
                label: f.label.clone(),
                mode,
                values: counts
                    .into_iter()
                    .map(|(value, count)| FacetCount { active: value == active, value, count })
                    .collect(),
                low: end(low),
                high: end(high),
            }
        })
        .collect()
}

/// Puts `shown` in the order `sort` (a resolved key, or empty) asks for. Sort keys are read
/// once per record, not once per comparison.
fn order(t: &PageType, sort: &str, shown: &mut Vec<&Record>) {
    let first_date = t.fields.iter().find(|f| f.kind == FieldKind::Date);
    let by_date = |shown: &mut Vec<&Record>, f: &Field| {
        shown.sort_by_cached_key(|r| (Reverse(r.date(&f.key)), r.title.clone()))
    };
    match t.field(sort) {
        Some(f) if matches!(f.kind, FieldKind::Money | FieldKind::Number) => {
            let mut keyed: Vec<(f64, &Record)> =
                shown.iter().map(|r| (r.number(f).unwrap_or(f64::MIN), *r)).collect();
            keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.title.cmp(&b.1.title)));
            *shown = keyed.into_iter().map(|(_, r)| r).collect();
        }
        Some(f) if f.kind == FieldKind::Date => by_date(shown, f),
        _ if sort == "title" => shown.sort_by_cached_key(|r| r.title.to_lowercase()),
        // By the first date field, newest first; else by last change.
        _ => match first_date {
            Some(f) => by_date(shown, f),
            None => {
                shown.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| a.title.cmp(&b.title)))
            }
        },
    }
}

impl Engine {
    /// Pages whose front matter says `type: <page_type>` (case stories, insights), with their
    /// fields, for browsing and filtering as records.
    pub fn records(&self, page_type: &str, scope: &ReadScope) -> Vec<Record> {
        let snap = self.snapshot();
        // Blanks to start from are not records: the types' templates, wherever they are, and
        // whatever is kept in the templates folder.
        let templates: std::collections::HashSet<&str> = snap
            .types
            .types
            .values()
            .filter_map(|t| t.template.as_deref())
            .map(|t| t.strip_suffix(".md").unwrap_or(t))
            .collect();
        snap.pages
            .iter()
            .filter(|(p, _)| scope.sees(p))
            .filter(|(p, _)| !p.starts_with("templates/") && !templates.contains(p.as_str()))
            .filter(|(_, m)| {
                m.page_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(page_type))
            })
            .map(|(p, m)| Record {
                path: p.clone(),
                title: m.title.clone(),
                tags: m.tags.clone(),
                fields: m.fields.clone(),
                updated: snap.last_change.get(p).map(|c| c.date),
            })
            .collect()
    }

    /// The records of the type `type_name` that `scope` sees, filtered, counted by facet,
    /// ordered and cut to one page as `query` asks. A type whose definition cannot be read
    /// still lists its records, unfiltered; a type neither defined nor broken is not found.
    pub fn browse_records(
        &self,
        type_name: &str,
        query: &RecordQuery,
        scope: &ReadScope,
    ) -> Result<RecordPage> {
        let set = self.types();
        let problem = set.problem_for(type_name).cloned();
        let t = match (set.get(type_name), &problem) {
            (Some(t), _) => t.clone(),
            (None, Some(_)) => Arc::new(PageType {
                name: type_name.to_ascii_lowercase(),
                label: type_name.to_string(),
                description: String::new(),
                folder: String::new(),
                template: None,
                body: None,
                fields: Vec::new(),
            }),
            (None, None) => {
                return Err(Error::not_found(format!("there is no page type {type_name}")));
            }
        };
        let query = query.resolved(&t);
        let conds = conditions(&t, &query);
        let all = self.records(&t.name, scope);
        let facets = facets(&t, &query, &conds, &all);
        let mut shown: Vec<&Record> = all.iter().filter(|r| passes(r, &conds, None)).collect();
        let first_date = t.fields.iter().find(|f| f.kind == FieldKind::Date);
        let first_amount =
            t.fields.iter().find(|f| matches!(f.kind, FieldKind::Money | FieldKind::Number));
        let sort = match query.sort.as_deref().unwrap_or("") {
            "size" => first_amount.map(|f| f.key.as_str()).unwrap_or(""),
            s => s,
        }
        .to_string();
        let sorts = t
            .fields
            .iter()
            .filter(|f| f.kind.is_range())
            // The first date is the default order.
            .filter(|f| first_date.is_none_or(|d| d.key != f.key))
            .map(|f| f.key.clone())
            .collect();
        order(&t, &sort, &mut shown);
        let pages = shown.len().div_ceil(RECORDS_PER_PAGE).max(1);
        let page = query.page.clamp(1, pages);
        let records = shown
            .iter()
            .skip((page - 1) * RECORDS_PER_PAGE)
            .take(RECORDS_PER_PAGE)
            .map(|r| (*r).clone())
            .collect();
        Ok(RecordPage {
            problem,
            facets,
            sort,
            sorts,
            records,
            total: all.len(),
            matching: shown.len(),
            filtered: !conds.is_empty(),
            page,
            pages,
            query,
            page_type: t,
        })
    }
}
