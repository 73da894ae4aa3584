//! The browser of typed records (case stories at `/cases`, any type at `/records/{type}`):
//! filters and sort orders come from the type's fields marked `facet`. Enum, text and list
//! fields filter by value, with counts; money and number fields by a range; dates by a span.

use crate::http::encode;
use crate::views::{money, show_value};
use crate::{Actor, AppState, PageError};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use casebook_engine::{Field, FieldKind, PageType, Record, parse_date, parse_money, parse_number};
use minijinja::context;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The query string, by parameter name.
struct Filters(HashMap<String, String>);

impl Filters {
    fn new(pairs: Vec<(String, String)>, t: Option<&PageType>) -> Filters {
        let mut map: HashMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k, v.trim().to_string()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        // Short names for the first money range and date span (`?min=…&from=…`).
        if let Some(t) = t {
            let first = |kind: FieldKind| t.fields.iter().find(|f| f.facet && f.kind == kind);
            for (short, kind, long) in [
                ("min", FieldKind::Money, "min"),
                ("max", FieldKind::Money, "max"),
                ("from", FieldKind::Date, "from"),
                ("to", FieldKind::Date, "to"),
            ] {
                if let (Some(v), Some(f)) = (map.remove(short), first(kind)) {
                    map.entry(format!("{}_{long}", f.key)).or_insert(v);
                }
            }
        }
        Filters(map)
    }

    fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }
}

/// The values of a record's field, lowercased, for matching and counting.
fn values(r: &Record, key: &str) -> Vec<String> {
    match r.fields.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.trim().to_lowercase()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) if s.contains(',') => s
            .split(',')
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => r
            .fields
            .text(key)
            .map(|v| v.to_lowercase())
            .into_iter()
            .collect(),
    }
}

fn number(r: &Record, f: &Field) -> Option<f64> {
    f.number_of(r.fields.get(&f.key)?)
}

fn date(r: &Record, key: &str) -> Option<String> {
    r.fields.text(key).filter(|d| parse_date(d).is_some())
}

fn amount(f: &Field, s: &str) -> Option<f64> {
    match f.kind {
        FieldKind::Money => parse_money(s),
        _ => parse_number(s),
    }
}

/// One filter in force, read once per request.
enum Cond {
    /// The value, lowercased.
    Value(String),
    Range(Option<f64>, Option<f64>),
    /// Dates as `YYYY-MM-DD`, which compare as text.
    Span(Option<String>, Option<String>),
}

/// The filters in force: odd values (`min=lots`, a date that is not one) are left out.
fn conditions<'a>(t: &'a PageType, q: &Filters) -> Vec<(&'a Field, Cond)> {
    let param = |f: &Field, suffix: &str| q.get(&format!("{}_{suffix}", f.key)).to_string();
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
                _ => Some(q.get(&f.key).to_lowercase())
                    .filter(|v| !v.is_empty())
                    .map(Cond::Value)?,
            };
            Some((f, cond))
        })
        .collect()
}

/// Whether a record passes every filter, leaving out the field `except`.
fn passes(r: &Record, conds: &[(&Field, Cond)], except: Option<&str>) -> bool {
    conds
        .iter()
        .filter(|(f, _)| Some(f.key.as_str()) != except)
        .all(|(f, cond)| match cond {
            Cond::Range(min, max) => {
                let n = number(r, f);
                min.is_none_or(|m| n.is_some_and(|n| n >= m))
                    && max.is_none_or(|m| n.is_some_and(|n| n <= m))
            }
            Cond::Span(from, to) => {
                let d = date(r, &f.key);
                from.as_deref()
                    .is_none_or(|m| d.as_deref().is_some_and(|d| d >= m))
                    && to
                        .as_deref()
                        .is_none_or(|m| d.as_deref().is_some_and(|d| d <= m))
            }
            Cond::Value(want) => values(r, &f.key).contains(want),
        })
}

/// Cards shown per page of the browser.
const PAGE_SIZE: usize = 60;

/// The browser's address with the same filters on another page.
fn page_url(action: &str, q: &Filters, page: usize) -> String {
    let mut pairs: Vec<(&String, &String)> = q.0.iter().filter(|(k, _)| *k != "page").collect();
    pairs.sort();
    let mut parts: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                crate::http::encode_query(k),
                crate::http::encode_query(v)
            )
        })
        .collect();
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        action.to_string()
    } else {
        format!("{action}?{}", parts.join("&"))
    }
}

#[derive(Serialize)]
struct FacetValue {
    value: String,
    count: usize,
    active: bool,
}

#[derive(Serialize)]
struct Facet {
    key: String,
    label: String,
    /// `values`, `range` (numbers) or `dates`.
    mode: &'static str,
    values: Vec<FacetValue>,
    low: String,
    high: String,
}

pub(crate) async fn browse(
    st: State<AppState>,
    actor: Actor,
    q: Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    browse_type(st, actor, Path("case-story".to_string()), q).await
}

pub(crate) async fn browse_type(
    State(st): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    actor.require_read().map_err(|e| st.fail(e))?;
    let set = st.engine.types();
    let t = set.get(&name).cloned();
    let problem = set.problem_for(&name).cloned();
    if t.is_none() && problem.is_none() {
        return Err(st.fail(casebook_core::Error::not_found(format!(
            "there is no page type {name}"
        ))));
    }
    // Without a readable definition, the records are still listed, unfiltered.
    let t = t.unwrap_or_else(|| {
        std::sync::Arc::new(PageType {
            name: name.to_ascii_lowercase(),
            label: name.clone(),
            description: String::new(),
            folder: String::new(),
            template: None,
            body: None,
            fields: Vec::new(),
        })
    });
    let q = Filters::new(pairs, Some(&t));
    let conds = conditions(&t, &q);
    let all = st.engine.records(&t.name, &actor.scope);
    let facets: Vec<Facet> = t
        .fields
        .iter()
        .filter(|f| f.facet)
        .map(|f| {
            let (mode, low, high) = match f.kind {
                FieldKind::Number | FieldKind::Money => ("range", "min", "max"),
                FieldKind::Date => ("dates", "from", "to"),
                _ => ("values", "", ""),
            };
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            if mode == "values" {
                for r in all.iter().filter(|r| passes(r, &conds, Some(&f.key))) {
                    for v in values(r, &f.key) {
                        *counts.entry(v).or_default() += 1;
                    }
                }
            }
            let active = q.get(&f.key).to_lowercase();
            Facet {
                key: f.key.clone(),
                label: f.label.clone(),
                mode,
                values: counts
                    .into_iter()
                    .map(|(value, count)| FacetValue {
                        active: value == active,
                        value,
                        count,
                    })
                    .collect(),
                low: if low.is_empty() {
                    String::new()
                } else {
                    q.get(&format!("{}_{low}", f.key)).to_string()
                },
                high: if high.is_empty() {
                    String::new()
                } else {
                    q.get(&format!("{}_{high}", f.key)).to_string()
                },
            }
        })
        .collect();
    let mut shown: Vec<&Record> = all.iter().filter(|r| passes(r, &conds, None)).collect();
    let first_date = t.fields.iter().find(|f| f.kind == FieldKind::Date);
    let first_money = t
        .fields
        .iter()
        .find(|f| matches!(f.kind, FieldKind::Money | FieldKind::Number));
    let sort = match q.get("sort") {
        "size" => first_money.map(|f| f.key.as_str()).unwrap_or(""),
        s => s,
    };
    let sorts: Vec<minijinja::Value> = t
        .fields
        .iter()
        .filter(|f| f.kind.is_range())
        // The first date is the default order.
        .filter(|f| first_date.is_none_or(|d| d.key != f.key))
        .map(|f| {
            let label = match f.kind {
                FieldKind::Date => format!("{}, newest first", f.label),
                _ => format!("{}, largest first", f.label),
            };
            context! { key => f.key, label => label, active => f.key == sort }
        })
        .collect();
    // Sort keys are read once per record, not once per comparison.
    use std::cmp::Reverse;
    let by_date = |shown: &mut Vec<&Record>, f: &Field| {
        shown.sort_by_cached_key(|r| (Reverse(date(r, &f.key)), r.title.clone()))
    };
    match t.field(sort) {
        Some(f) if matches!(f.kind, FieldKind::Money | FieldKind::Number) => {
            let mut keyed: Vec<(f64, &Record)> = shown
                .iter()
                .map(|r| (number(r, f).unwrap_or(f64::MIN), *r))
                .collect();
            keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.title.cmp(&b.1.title)));
            shown = keyed.into_iter().map(|(_, r)| r).collect();
        }
        Some(f) if f.kind == FieldKind::Date => by_date(&mut shown, f),
        _ if sort == "title" => shown.sort_by_cached_key(|r| r.title.to_lowercase()),
        // By the first date field, newest first; else by last change.
        _ => match first_date {
            Some(f) => by_date(&mut shown, f),
            None => shown.sort_by(|a, b| {
                b.updated
                    .cmp(&a.updated)
                    .then_with(|| a.title.cmp(&b.title))
            }),
        },
    }
    let first_text = t.fields.iter().find(|f| f.kind == FieldKind::Text);
    let pages = shown.len().div_ceil(PAGE_SIZE).max(1);
    let page = q.get("page").parse::<usize>().unwrap_or(1).clamp(1, pages);
    let cards: Vec<minijinja::Value> = shown
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|r| {
            let pills: Vec<minijinja::Value> = t
                .fields
                .iter()
                .filter(|f| f.facet && f.kind == FieldKind::Enum)
                .filter_map(|f| {
                    let v = r.fields.text(&f.key)?;
                    Some(context! { class => format!("{}-{}", f.key, v.to_lowercase()), value => v })
                })
                .collect();
            context! {
                title => r.title,
                url => format!("/wiki/{}", encode(&r.path)),
                pills => pills,
                size => first_money.and_then(|f| number(r, f).map(|n| if f.kind == FieldKind::Money { money(n, r.fields.text("currency")) } else { show_value(&t, &f.key, &r.fields).unwrap_or_default() })),
                date => first_date.and_then(|f| r.fields.text(&f.key)),
                date_label => first_date.map(|f| f.label.to_lowercase()),
                subtitle => first_text.and_then(|f| r.fields.text(&f.key)),
                summary => r.fields.text("summary"),
            }
        })
        .collect();
    let filtered = !conds.is_empty();
    let action = if t.name == "case-story" {
        "/cases".to_string()
    } else {
        format!("/records/{}", encode(&t.name))
    };
    Ok(st.page(
        "cases.html",
        &actor,
        context! {
            title => if t.name == "case-story" { "Case stories".to_string() } else { format!("{} pages", t.label) },
            type_name => t.name,
            type_label => t.label,
            description => t.description,
            action => action,
            problem => problem,
            facets => facets,
            sorts => sorts,
            default_sort => if first_date.is_some() { "newest first" } else { "recently changed first" },
            sort => sort,
            cards => cards,
            total => all.len(),
            shown => shown.len(),
            filtered => filtered,
            page => page,
            pages => pages,
            prev_url => (page > 1).then(|| page_url(&action, &q, page - 1)),
            next_url => (page < pages).then(|| page_url(&action, &q, page + 1)),
        },
    ))
}
