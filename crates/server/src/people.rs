//! People: a person's page (what they wrote and said, where they were mentioned) and the
//! names the editor completes after `@`.

use crate::discussions::thread_views;
use crate::http::{ApiResult, encode};
use crate::permission::Reader;
use crate::{AppState, PageError};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use casebook_core::Error;
use minijinja::context;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Routes for people.
pub(crate) fn web_routes() -> Router<AppState> {
    Router::new().route("/people/{name}", get(person_page))
}

/// Routes under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new().route("/people", get(api_people))
}

/// Names offered per question.
const PEOPLE_SHOWN: usize = 8;
/// Recent changes whose authors are offered.
const AUTHORS_LOOKED_AT: usize = 500;

/// A person's page: what they wrote and said, and where they were mentioned.
async fn person_page(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let name = name.trim().to_string();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(PageError(Error::invalid("that is not a name")));
    }
    let n = name.clone();
    let (activity, changes) = st
        .read(&actor, move |engine, scope| {
            let a = engine.activity(&n, 30, scope)?;
            let c = engine.changes_in("", Some(&n), 20, 0, scope)?;
            Ok((a, c))
        })
        .await?;
    let comments: Vec<Value> = activity
        .comments
        .iter()
        .filter_map(|(t, cid)| {
            let c = t.comments.iter().find(|c| &c.id == cid)?;
            Some(json!({
                "thread": t.title,
                "page": t.page,
                "url": format!("/wiki/{}#comment-{}", encode(&t.page), c.id),
                "date": c.date.short(),
                "date_iso": c.date.rfc3339(),
                "html": c.html,
            }))
        })
        .collect();
    let found = !(activity.pages.is_empty()
        && activity.threads.is_empty()
        && comments.is_empty()
        && changes.is_empty());
    let status = if found || !activity.mentioned_in.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let page = st.page(
        "person.html",
        &actor,
        context! {
            title => name,
            found => found,
            pages => activity.pages.iter().map(|p| context! {
                url => format!("/wiki/{}", encode(&p.path)),
                title => p.title,
                path => p.path,
                updated => p.updated.map(|t| t.short()),
            }).collect::<Vec<_>>(),
            threads => thread_views(&activity.threads, &actor),
            mentioned_in => thread_views(&activity.mentioned_in, &actor),
            comments => comments,
            changes => crate::views::changes(&changes),
            changes_url => format!("/changes?author={}", crate::http::encode_query(&name)),
        },
    );
    Ok((status, page).into_response())
}

/// `GET /api/v1/people?q=…`: up to eight names starting with (or else containing) `q`, any
/// case: the authors of recent changes the reader may see, and for someone signed in, the
/// accounts too (an anonymous reader learns no name that the history does not show).
async fn api_people(
    State(st): State<AppState>,
    Reader(actor): Reader,
    Query(q): Query<PeopleQuery>,
) -> ApiResult {
    let want = q.q.trim().to_lowercase();
    let accounts = match (&st.opts.accounts, &actor.account) {
        (Some(acc), Some(_)) => {
            let acc = acc.clone();
            crate::blocking(move || acc.users()).await?
        }
        _ => Vec::new(),
    };
    let changes =
        st.read(&actor, |engine, scope| engine.changes(AUTHORS_LOOKED_AT, 0, scope)).await?;
    // Lowercased name → the name as written, first spelling wins.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for name in
        accounts.into_iter().map(|u| u.name).chain(changes.iter().map(|c| c.author.name.clone()))
    {
        if !name.trim().is_empty() {
            names.entry(name.to_lowercase()).or_insert(name);
        }
    }
    let (starts, contains): (Vec<_>, Vec<_>) = names
        .iter()
        .filter(|(low, _)| low.contains(&want))
        .partition(|(low, _)| low.starts_with(&want));
    let people: Vec<Value> = starts
        .into_iter()
        .chain(contains)
        .take(PEOPLE_SHOWN)
        .map(|(_, name)| json!({"name": name, "url": format!("/people/{}", encode(name))}))
        .collect();
    Ok(Json(json!({"people": people})).into_response())
}

#[derive(Deserialize)]
struct PeopleQuery {
    #[serde(default)]
    q: String,
}
