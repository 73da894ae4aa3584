//! The JSON API for finding things (CONTRACT.md): search, suggestions as you type, recent changes.

use crate::AppState;
use crate::http::ApiResult;
use crate::http::encode;
use crate::permission::Reader;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use casebook_engine::Versions;
use serde::Deserialize;
use serde_json::{Value, json};

/// Search, suggestions and changes as JSON, under `/api/v1`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/search", get(search))
        .route("/suggest", get(suggest))
        .route("/changes", get(changes))
}

/// Whether a search is of past versions (`past=1` or `history:yes`), and the query to run.
pub(crate) fn past_and_query(q: &str, past: Option<&str>) -> (bool, String) {
    let (asked, rest) = casebook_engine::wants_history(q);
    let flag = matches!(past, Some("1" | "true" | "yes" | "on"));
    (asked || flag, rest)
}

async fn search(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Query(q): Query<SearchQuery>,
) -> ApiResult {
    let started = std::time::Instant::now();
    let limit = q.limit.unwrap_or(20).clamp(1, 200);
    let offset = q.offset.unwrap_or(0).min(10_000);
    let (past, text) = past_and_query(&q.q, q.past.as_deref());
    let res = st
        .run(move |engine| {
            let opts = casebook_engine::SearchOptions {
                facets: true,
                did_you_mean: !past,
                scope: actor.scope,
            };
            let found = engine.search_in(
                if past { Versions::Past } else { Versions::Current },
                &text,
                limit,
                offset,
                opts,
            )?;
            Ok((found, engine.semantic_status(), engine.indexing_status()))
        })
        .await?;
    let (res, semantic, indexing) = res;
    let took = started.elapsed().as_secs_f64() * 1000.0;
    Ok(Json(json!({
        "total": res.total,
        "past": past,
        "took_ms": (took * 100.0).round() / 100.0,
        "relaxed": res.relaxed,
        "hits": res.hits.iter().map(|h| json!({
            "path": casebook_core::split_doc_id(&h.path).0,
            "thread": casebook_core::split_doc_id(&h.path).1,
            "url": crate::discussions::hit_url(&h.path),
            "title": h.title,
            "snippet": h.snippet,
            "score": h.score,
            "kind": h.kind,
            "author": h.author,
            "updated": (h.updated > 0).then(|| casebook_core::Timestamp::new(h.updated, 0)),
            "tags": h.tags,
            "revision": h.revision,
        })).collect::<Vec<_>>(),
        "facets": facets_json(&res.facets),
        "did_you_mean": res.did_you_mean,
        "semantic": semantic,
        "indexing": indexing.map(|i| json!({
            "indexed": i.indexed, "total": i.total, "percent": i.percent(),
        })),
    }))
    .into_response())
}

/// Facet counts keyed by family (`type`, `tag`, `folder`), each value with the filter to add.
fn facets_json(groups: &[casebook_engine::FacetGroup]) -> Value {
    let mut out = serde_json::Map::new();
    for key in ["type", "tag", "folder"] {
        let name = if key == "folder" { "in" } else { key };
        let values: Vec<Value> = groups
            .iter()
            .filter(|g| g.name == name)
            .flat_map(|g| g.values.iter())
            .map(|v| json!({"value": v.value, "count": v.count, "filter": v.filter, "active": v.active}))
            .collect();
        out.insert(key.to_string(), Value::Array(values));
    }
    Value::Object(out)
}

async fn suggest(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Query(q): Query<SearchQuery>,
) -> ApiResult {
    let text = q.q.trim().to_string();
    if text.is_empty() {
        return Ok(Json(json!({"suggestions": []})).into_response());
    }
    let query = if text.ends_with(['*', '"', ' ']) { text } else { format!("{text}*") };
    let res = st
        .run(move |engine| {
            engine.search_in(
                Versions::Current,
                &query,
                8,
                0,
                casebook_engine::SearchOptions {
                    facets: false,
                    did_you_mean: false,
                    scope: actor.scope,
                },
            )
        })
        .await?;
    let suggestions: Vec<Value> = res
        .hits
        .into_iter()
        .filter(|h| h.kind != "discussion")
        .map(|h| json!({"path": h.path, "title": h.title, "url": format!("/wiki/{}", encode(&h.path))}))
        .collect();
    Ok(Json(json!({"suggestions": suggestions})).into_response())
}

async fn changes(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Query(q): Query<ChangesQuery>,
) -> ApiResult {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let log =
        st.run(move |engine| engine.changes(limit, q.offset.unwrap_or(0), &actor.scope)).await?;
    let changes: Vec<Value> = log
        .into_iter()
        .map(|c| {
            json!({
                "revision": c.revision,
                "author": c.author.name,
                "date": c.date,
                "message": c.summary,
                "paths": c.paths.iter().map(|p| p.strip_suffix(".md").unwrap_or(p)).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({"changes": changes})).into_response())
}

#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    pub q: String,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// `1` (or `history:yes` in the query): search past versions of pages instead.
    pub past: Option<String>,
}

#[derive(Deserialize)]
struct ChangesQuery {
    limit: Option<usize>,
    offset: Option<usize>,
}
