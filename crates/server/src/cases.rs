//! The browser of typed records (case stories at `/cases`, any type at `/records/{type}`): the
//! query string becomes a [`RecordQuery`], the engine filters, counts, orders and pages the
//! records the reader sees (`Engine::browse_records`), and this draws them as cards, with the
//! type's facets as filters and its money, number and date fields as orders.

use crate::AppState;
use crate::http::{WebResult, encode, encode_query};
use crate::permission::Reader;
use crate::views::{money, show_value};
use axum::extract::{Path, Query, State};
use casebook_engine::{FieldKind, RecordQuery};
use minijinja::context;

/// The browser's address with the same filters and order on another page.
fn page_url(action: &str, q: &RecordQuery, page: usize) -> String {
    let mut pairs: Vec<(&str, &str)> = q
        .filters
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(q.sort.as_deref().map(|s| ("sort", s)))
        .collect();
    pairs.sort();
    let mut parts: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v)))
        .collect();
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() { action.to_string() } else { format!("{action}?{}", parts.join("&")) }
}

pub(crate) async fn browse(
    st: State<AppState>,
    reader: Reader,
    q: Query<Vec<(String, String)>>,
) -> WebResult {
    browse_type(st, reader, Path("case-story".to_string()), q).await
}

pub(crate) async fn browse_type(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Path(name): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> WebResult {
    let query = RecordQuery::from_params(pairs);
    let found =
        st.read(&actor, move |engine, scope| engine.browse_records(&name, &query, scope)).await?;
    let t = &*found.page_type;
    let first = |kinds: &[FieldKind]| t.fields.iter().find(|f| kinds.contains(&f.kind));
    let first_date = first(&[FieldKind::Date]);
    let first_money = first(&[FieldKind::Money, FieldKind::Number]);
    let first_text = first(&[FieldKind::Text]);
    let sorts: Vec<minijinja::Value> = found
        .sorts
        .iter()
        .filter_map(|key| t.field(key))
        .map(|f| {
            let label = match f.kind {
                FieldKind::Date => format!("{}, newest first", f.label),
                _ => format!("{}, largest first", f.label),
            };
            context! { key => f.key, label => label, active => f.key == found.sort }
        })
        .collect();
    let cards: Vec<minijinja::Value> = found
        .records
        .iter()
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
                size => first_money.and_then(|f| r.number(f).map(|n| if f.kind == FieldKind::Money { money(n, r.fields.text("currency")) } else { show_value(t, &f.key, &r.fields).unwrap_or_default() })),
                date => first_date.and_then(|f| r.fields.text(&f.key)),
                date_label => first_date.map(|f| f.label.to_lowercase()),
                subtitle => first_text.and_then(|f| r.fields.text(&f.key)),
                summary => r.fields.text("summary"),
            }
        })
        .collect();
    let action = if t.name == "case-story" {
        "/cases".to_string()
    } else {
        format!("/records/{}", encode(&t.name))
    };
    let (page, pages) = (found.page, found.pages);
    Ok(st.page(
        "cases.html",
        &actor,
        context! {
            title => if t.name == "case-story" { "Case stories".to_string() } else { format!("{} pages", t.label) },
            type_name => t.name,
            type_label => t.label,
            description => t.description,
            action => action,
            problem => found.problem,
            facets => found.facets,
            sorts => sorts,
            default_sort => if first_date.is_some() { "newest first" } else { "recently changed first" },
            sort => found.sort,
            cards => cards,
            total => found.total,
            shown => found.matching,
            filtered => found.filtered,
            page => page,
            pages => pages,
            prev_url => (page > 1).then(|| page_url(&action, &found.query, page - 1)),
            next_url => (page < pages).then(|| page_url(&action, &found.query, page + 1)),
        },
    ))
}
