//! Page types for people: the list of types (`/types`), the form that starts a new page of a
//! type (`/new/{type}`), the routes of the record browser (`cases.rs`), and the card of typed
//! fields on a page.

use crate::http::FormBody;
use crate::http::encode;
use crate::permission::Editor;
use crate::views::show_value;
use crate::{Actor, AppState, PageError};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use casebook_core::{Error, ErrorKind};
use casebook_engine::{Engine, FieldKind, FrontMatter, NewRecord, PageType};
use minijinja::context;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/types", get(list))
        .route("/new/{name}", get(form).post(create))
        .route("/records/{name}", get(crate::cases::browse_type))
}

/// What the page shows of its front matter: the type, the fields as a card (the type's fields
/// first, in its order and with its labels), and what does not fit the type.
#[derive(Debug, Serialize, Default)]
pub(crate) struct Card {
    pub type_label: Option<String>,
    pub type_name: Option<String>,
    pub fields: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

pub(crate) fn card(engine: &Engine, fm: &FrontMatter) -> Card {
    let check = engine.check_type(fm);
    let Some(t) = check.page_type else {
        return Card { fields: fm.display_fields(), warnings: check.warnings, ..Card::default() };
    };
    // A money field shows the page's currency with the amount, so it is not repeated.
    let shown_currency = t.fields.iter().any(|f| f.kind == FieldKind::Money);
    let mut fields: Vec<(String, String)> = t
        .fields
        .iter()
        .filter(|f| !(shown_currency && f.key == "currency"))
        .filter_map(|f| Some((f.label.clone(), show_value(&t, &f.key, fm)?)))
        .collect();
    // Fields the type does not know come after its own.
    for (k, v) in fm.display_fields() {
        if k == "type" || t.field(&k).is_some() || (k == "currency" && shown_currency) {
            continue;
        }
        fields.push((k.replace('_', " "), v));
    }
    Card {
        type_label: Some(t.label.clone()),
        type_name: Some(t.name.clone()),
        fields,
        warnings: check.warnings,
    }
}

/// Links to the form of every type, for the "New page" page.
pub(crate) fn new_links(engine: &Engine) -> Vec<minijinja::Value> {
    engine
        .types()
        .types
        .values()
        .map(|t| context! { label => t.label, url => format!("/new/{}", t.name), description => t.description })
        .collect()
}

async fn list(State(st): State<AppState>, actor: Actor) -> Result<Response, PageError> {
    actor.require_read()?;
    let set = st.engine.types();
    let types: Vec<minijinja::Value> = set
        .types
        .values()
        .map(|t| {
            context! {
                name => t.name,
                label => t.label,
                description => t.description,
                folder => t.folder,
                template => t.template.as_ref().filter(|p| actor.sees(p)).map(|p| context! { path => p, url => format!("/wiki/{}", encode(p)) }),
                browse => if t.name == "case-story" { "/cases".to_string() } else { format!("/records/{}", encode(&t.name)) },
                records => st.engine.records(&t.name, &actor.scope).len(),
                fields => t.fields.iter().map(|f| context! {
                    key => f.key, label => f.label, kind => f.kind.as_str(), required => f.required,
                    options => f.options, facet => f.facet, help => f.help,
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    Ok(st.page(
        "types.html",
        &actor,
        context! {
            title => "Page types",
            types => types,
            problems => set.problems,
            builtin => set.builtin,
        },
    ))
}

fn find_type(st: &AppState, name: &str) -> Result<std::sync::Arc<PageType>, PageError> {
    let set = st.engine.types();
    if let Some(t) = set.get(name) {
        return Ok(t.clone());
    }
    Err(PageError(match set.problem_for(name) {
        Some(p) => Error::invalid(format!(
            "the definition of the page type {} ({}) cannot be read: {}",
            p.name, p.file, p.message
        )),
        None => Error::not_found(format!("there is no page type {name}")),
    }))
}

/// The form of a new page of type `t`, with what the person typed and what to fix.
fn form_page(
    st: &AppState,
    actor: &Actor,
    status: StatusCode,
    t: &PageType,
    inputs: &HashMap<String, String>,
    errors: &BTreeMap<String, String>,
    error: Option<String>,
) -> Response {
    let value = |k: &str| inputs.get(k).cloned().unwrap_or_default();
    let fields: Vec<minijinja::Value> = t
        .fields
        .iter()
        .map(|f| {
            let (input, step) = match f.kind {
                FieldKind::Text | FieldKind::List => ("text", None),
                FieldKind::Number => ("number", Some("any")),
                // Money accepts `$120k`, which a number input would refuse.
                FieldKind::Money => ("text", None),
                FieldKind::Date => ("date", None),
                FieldKind::Enum => ("select", None),
            };
            let name = format!("f_{}", f.key);
            context! {
                key => f.key,
                name => name,
                label => f.label,
                kind => f.kind.as_str(),
                input => input,
                step => step,
                required => f.required,
                options => f.options,
                help => f.help,
                value => value(&name),
                error => errors.get(&f.key),
            }
        })
        .collect();
    let folder = if inputs.contains_key("folder") { value("folder") } else { t.folder.clone() };
    let page = st.page(
        "new-record.html",
        actor,
        context! {
            title => format!("New {}", t.label.to_lowercase()),
            type_name => t.name,
            type_label => t.label,
            description => t.description,
            page_title => value("title"),
            folder => folder,
            tags => value("tags"),
            fields => fields,
            error => error,
            errors => !errors.is_empty(),
        },
    );
    (status, page).into_response()
}

async fn form(
    State(st): State<AppState>,
    Editor(actor): Editor,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let t = find_type(&st, &name)?;
    Ok(form_page(&st, &actor, StatusCode::OK, &t, &HashMap::new(), &BTreeMap::new(), None))
}

async fn create(
    State(st): State<AppState>,
    Editor(actor): Editor,
    Path(name): Path<String>,
    form: Result<FormBody<Vec<(String, String)>>, PageError>,
) -> Result<Response, PageError> {
    let t = find_type(&st, &name)?;
    let FormBody(pairs) = form?;
    let inputs: HashMap<String, String> = pairs.into_iter().collect();
    let fields: HashMap<String, String> = inputs
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("f_")?.to_string(), v.clone())))
        .collect();
    let title = inputs
        .get("title")
        .map(|s| s.replace(['\r', '\n'], " ").trim().to_string())
        .unwrap_or_default();
    let folder = inputs.get("folder").cloned().unwrap_or_default();
    let tags: Vec<String> = inputs
        .get("tags")
        .map(|s| {
            s.split(',')
                .map(|t| t.trim().trim_start_matches('#').trim().to_string())
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let values = t.read_form(&fields);
    let path_check = Engine::record_path(&folder, &title);
    let (values, _) = match (values, path_check) {
        (Ok(v), Ok(p)) => (v, p),
        (values, path) => {
            let errors = values.err().unwrap_or_default();
            let error = path
                .err()
                .map(|e| e.message)
                .or_else(|| Some("some fields need another look; nothing was saved".to_string()));
            return Ok(form_page(
                &st,
                &actor,
                StatusCode::BAD_REQUEST,
                &t,
                &inputs,
                &errors,
                error,
            ));
        }
    };
    if let Ok(target) = casebook_engine::Engine::record_path(&folder, &title) {
        actor.require_writes(target.as_str())?;
    }
    let (type_name, author) = (t.name.clone(), actor.author.clone());
    let (title2, folder2) = (title.clone(), folder.clone());
    let created = st
        .read(&actor, move |engine, scope| {
            engine.create_record(NewRecord {
                type_name: &type_name,
                title: &title2,
                folder: &folder2,
                tags: &tags,
                values: &values,
                author: &author,
                scope,
            })
        })
        .await;
    match created {
        Ok(path) => Ok(Redirect::to(&format!("/edit/{}", path.url_encoded())).into_response()),
        Err(e) if matches!(e.kind, ErrorKind::Conflict | ErrorKind::InvalidInput) => {
            let status = if e.kind == ErrorKind::Conflict {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            Ok(form_page(&st, &actor, status, &t, &inputs, &BTreeMap::new(), Some(e.message)))
        }
        Err(e) => Err(PageError(e)),
    }
}
