//! Pages for finding pages: recent changes, search, tags, and the reports of wanted and
//! orphaned pages.

use crate::http::encode;
use crate::http::{WebResult, encode_query};
use crate::permission::Reader;
use crate::views;
use crate::{AppState, PageError};
use axum::extract::{Path, Query, State};
use casebook_core::{Error, FolderPath};
use casebook_engine::Versions;
use minijinja::context;
use serde::Deserialize;

pub(crate) async fn changes(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Query(q): Query<ChangesQuery>,
) -> WebResult {
    let page = q.page.unwrap_or(1).clamp(1, 1000);
    let per = 50;
    let (folder, author) =
        (q.folder.trim().trim_matches('/').to_string(), q.author.trim().to_string());
    let (f, a, scope) = (folder.clone(), author.clone(), actor.scope.clone());
    let log = st
        .run(move |engine| engine.changes_in(&f, Some(&a), per + 1, (page - 1) * per, &scope))
        .await?;
    let more = log.len() > per;
    let filter = |p: usize| {
        let mut qs = format!("?page={p}");
        if !folder.is_empty() {
            qs.push_str(&format!("&folder={}", encode_query(&folder)));
        }
        if !author.is_empty() {
            qs.push_str(&format!("&author={}", encode_query(&author)));
        }
        qs
    };
    Ok(st.page(
        "changes.html",
        &actor,
        context! {
            title => "Recent changes",
            changes => views::changes(&log[..log.len().min(per)]),
            page => page,
            folder => folder,
            author => author,
            prev => (page > 1).then(|| filter(page - 1)),
            next => more.then(|| filter(page + 1)),
        },
    ))
}

pub(crate) async fn tags(State(st): State<AppState>, Reader(actor): Reader) -> WebResult {
    let tags = st.engine.tags(&actor.scope);
    Ok(st.page(
        "tags.html",
        &actor,
        context! {
            title => "Tags",
            tags => tags.iter().map(|(t, n)| context! { name => t, count => n, url => encode_query(t) }).collect::<Vec<_>>(),
        },
    ))
}

pub(crate) async fn tag_page(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Path(tag): Path<String>,
) -> WebResult {
    let pages = st.engine.list_pages(&FolderPath::root(), Some(&tag), &actor.scope);
    if pages.is_empty() {
        return Err(PageError(Error::not_found(format!("no page is tagged '{tag}'"))));
    }
    Ok(st.page(
        "report.html",
        &actor,
        context! {
            title => format!("Tagged “{tag}”"),
            intro => format!("{} page{} tagged “{tag}”. Also as a search: tag:{tag}.", pages.len(), if pages.len() == 1 { "" } else { "s" }),
            crumbs => vec![views::Crumb { name: "Tags".into(), url: "/tags".into() }],
            items => pages.iter().map(|p| context! { title => p.title, url => format!("/wiki/{}", encode(&p.path)), note => p.path }).collect::<Vec<_>>(),
        },
    ))
}

/// The reports: `/special/wanted` (linked to but missing, most wanted first) and
/// `/special/orphans` (linked from nowhere).
pub(crate) async fn special(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Path(list): Path<String>,
) -> WebResult {
    let (title, intro, items) = match list.as_str() {
        "wanted" => {
            let wanted = st.read(&actor, |engine, scope| engine.wanted_pages(scope)).await?;
            let items = wanted.iter().map(|(p, n)| {
                context! {
                    title => p, url => format!("/edit/{}", encode(p)), missing => true,
                    note => format!("{n} page{} link here", if *n == 1 { "" } else { "s" }),
                }
            });
            (
                "Wanted pages",
                "Pages that are linked to but do not exist yet, most wanted first. Write one and every link to it lights up.",
                items.collect::<Vec<_>>(),
            )
        }
        "orphans" => {
            let pages = st.read(&actor, |engine, scope| engine.orphans(scope)).await?;
            let items = pages.iter().map(|p| context! { title => p.title, url => format!("/wiki/{}", encode(&p.path)), note => p.path });
            (
                "Orphaned pages",
                "Pages no other page links to. Link them from somewhere people look, or they will only be found by search.",
                items.collect(),
            )
        }
        _ => return Err(Error::not_found(format!("there is no report called “{list}”")).into()),
    };
    let context = context! { title, intro, items };
    Ok(st.page("report.html", &actor, context))
}

pub(crate) async fn search(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Query(q): Query<SearchPageQuery>,
) -> WebResult {
    let per = 20;
    let page = q.page.unwrap_or(1).clamp(1, 500);
    let query = q.q.trim().to_string();
    let (past, text) = super::api::past_and_query(&query, q.past.as_deref());
    let started = std::time::Instant::now();
    let results = if text.is_empty() {
        None
    } else {
        let opts = casebook_engine::SearchOptions {
            facets: true,
            did_you_mean: !past,
            scope: actor.scope.clone(),
        };
        Some(
            st.run(move |engine| {
                engine.search_in(
                    if past { Versions::Past } else { Versions::Current },
                    &text,
                    per,
                    (page - 1) * per,
                    opts,
                )
            })
            .await?,
        )
    };
    let took = format!("{:.1}", started.elapsed().as_secs_f64() * 1000.0);
    let semantic = st.engine.semantic_status();
    let indexing = st.engine.indexing_status();
    let total = results.as_ref().map(|r| r.total).unwrap_or(0);
    let facets = results.as_ref().map(|r| search_facets(&query, &r.facets)).unwrap_or_default();
    let filters: Vec<_> = casebook_engine::active_filters(&query)
        .into_iter()
        .map(|f| context! { name => f.name, value => f.value, without => f.without })
        .collect();
    Ok(st.page(
        "search.html",
        &actor,
        context! {
            title => if query.is_empty() { "Search".to_string() } else { format!("{query} – search") },
            q => query,
            took => took,
            total => total,
            relaxed => results.as_ref().map(|r| r.relaxed).unwrap_or(false),
            semantic => semantic.map(|s| context! {
                model => s.model, indexed => s.indexed, total => s.total,
                catching_up => s.indexed < s.total,
            }),
            indexing => indexing.map(|i| context! {
                indexed => i.indexed, total => i.total, percent => i.percent(),
            }),
            facets => facets,
            filters => filters,
            did_you_mean => results.as_ref().and_then(|r| r.did_you_mean.clone()),
            past => past,
            hits => results.map(|r| r.hits.into_iter().map(|h| context! {
                url => crate::discussions::hit_url(&h.path),
                title => h.title,
                crumbs => h.path.rsplit_once('/').map(|(f, _)| f.replace('/', " › ")),
                snippet => h.snippet,
                kind => h.kind,
                author => h.author,
                updated => (h.updated > 0).then(|| casebook_core::Timestamp::new(h.updated, 0).date()),
                revision => h.revision.clone(),
                short_revision => h.revision.as_ref().map(|r| r.chars().take(8).collect::<String>()),
            }).collect::<Vec<_>>()),
            page => page,
            prev => (page > 1).then(|| page - 1),
            next => (page * per < total).then_some(page + 1),
        },
    ))
}

/// The search page's facet groups: a label, and each value with the query that adds its filter
/// (or, when it is on already, the query without it).
fn search_facets(q: &str, groups: &[casebook_engine::FacetGroup]) -> Vec<minijinja::Value> {
    let active = casebook_engine::active_filters(q);
    groups
        .iter()
        .map(|g| {
            let label = match g.name.as_str() {
                "type" => "Type",
                "tag" => "Tags",
                _ => "Folder",
            };
            let values: Vec<_> = g
                .values
                .iter()
                .map(|v| {
                    let target = if v.active {
                        active
                            .iter()
                            .find(|a| {
                                a.name == g.name && a.value.to_lowercase() == v.value.to_lowercase()
                            })
                            .map(|a| a.without.clone())
                            .unwrap_or_else(|| q.to_string())
                    } else {
                        format!("{q} {}", v.filter)
                    };
                    context! { value => v.value, count => v.count, active => v.active, q => target }
                })
                .collect();
            context! { name => g.name, label => label, values => values }
        })
        .collect()
}

#[derive(Deserialize)]
pub(crate) struct ChangesQuery {
    page: Option<usize>,
    #[serde(default)]
    folder: String,
    #[serde(default)]
    author: String,
}

#[derive(Deserialize)]
pub(crate) struct SearchPageQuery {
    #[serde(default)]
    q: String,
    page: Option<usize>,
    past: Option<String>,
}
