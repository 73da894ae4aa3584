//! The case-story browser: typed pages as records, filtered by their fields with facet counts.

use crate::api::encode;
use crate::{AppState, PageError};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use casebook_engine::Record;
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The fields offered as facets, in the order shown.
const FACETS: &[(&str, &str)] = &[
    ("outcome", "Outcome"),
    ("industry", "Industry"),
    ("region", "Region"),
    ("deal_type", "Deal type"),
];

#[derive(Deserialize, Default)]
pub(crate) struct CasesQuery {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    industry: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    deal_type: String,
    /// Smallest deal size.
    min: Option<String>,
    /// Largest deal size.
    max: Option<String>,
    /// Closed on or after this date (YYYY-MM-DD).
    #[serde(default)]
    from: String,
    /// Closed on or before this date.
    #[serde(default)]
    to: String,
    #[serde(default)]
    sort: String,
}

impl CasesQuery {
    fn facet(&self, key: &str) -> &str {
        match key {
            "outcome" => &self.outcome,
            "industry" => &self.industry,
            "region" => &self.region,
            "deal_type" => &self.deal_type,
            _ => "",
        }
    }
}

fn field(r: &Record, key: &str) -> Option<String> {
    r.fields.text(key).map(|v| v.to_lowercase())
}

fn number(r: &Record, key: &str) -> Option<f64> {
    match r.fields.get(key)? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.replace([',', '_', ' '], "").parse().ok(),
        _ => None,
    }
}

fn parse_amount(s: &Option<String>) -> Option<f64> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .and_then(|s| s.replace([',', '_', ' '], "").parse().ok())
}

/// Whether a record passes every filter, leaving out the facet `except`.
fn passes(r: &Record, q: &CasesQuery, except: Option<&str>) -> bool {
    for (key, _) in FACETS {
        if Some(*key) == except {
            continue;
        }
        let want = q.facet(key).trim().to_lowercase();
        if !want.is_empty() && field(r, key).as_deref() != Some(want.as_str()) {
            return false;
        }
    }
    let size = number(r, "deal_size");
    if let Some(min) = parse_amount(&q.min)
        && size.is_none_or(|s| s < min)
    {
        return false;
    }
    if let Some(max) = parse_amount(&q.max)
        && size.is_none_or(|s| s > max)
    {
        return false;
    }
    let closed = r.fields.text("closed").unwrap_or_default();
    if !q.from.trim().is_empty() && (closed.is_empty() || closed.as_str() < q.from.trim()) {
        return false;
    }
    if !q.to.trim().is_empty() && (closed.is_empty() || closed.as_str() > q.to.trim()) {
        return false;
    }
    true
}

#[derive(Serialize)]
struct FacetValue {
    value: String,
    count: usize,
    active: bool,
}

#[derive(Serialize)]
struct Facet {
    key: &'static str,
    label: &'static str,
    values: Vec<FacetValue>,
}

fn money(n: f64, currency: Option<String>) -> String {
    let whole = n.round() as i64;
    let digits = whole.abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match currency {
        Some(c) => format!("{c} {grouped}"),
        None => grouped,
    }
}

pub(crate) async fn browse(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CasesQuery>,
) -> Result<Response, PageError> {
    let actor = st.actor(&headers);
    actor.require_read().map_err(|e| st.fail(e))?;
    let all = st.engine.records("case-story");
    let facets: Vec<Facet> = FACETS
        .iter()
        .map(|(key, label)| {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for r in all.iter().filter(|r| passes(r, &q, Some(key))) {
                if let Some(v) = field(r, key) {
                    *counts.entry(v).or_default() += 1;
                }
            }
            let active = q.facet(key).trim().to_lowercase();
            Facet {
                key,
                label,
                values: counts
                    .into_iter()
                    .map(|(value, count)| FacetValue {
                        active: value == active,
                        value,
                        count,
                    })
                    .collect(),
            }
        })
        .collect();
    let mut shown: Vec<&Record> = all.iter().filter(|r| passes(r, &q, None)).collect();
    match q.sort.as_str() {
        "size" => shown.sort_by(|a, b| {
            number(b, "deal_size")
                .unwrap_or(0.0)
                .total_cmp(&number(a, "deal_size").unwrap_or(0.0))
        }),
        "title" => shown.sort_by_key(|r| r.title.to_lowercase()),
        _ => shown.sort_by(|a, b| {
            b.fields
                .text("closed")
                .cmp(&a.fields.text("closed"))
                .then_with(|| a.title.cmp(&b.title))
        }),
    }
    let cards: Vec<minijinja::Value> = shown
        .iter()
        .map(|r| {
            context! {
                title => r.title,
                url => format!("/wiki/{}", encode(&r.path)),
                outcome => field(r, "outcome"),
                pills => ["industry", "region", "deal_type"].iter().filter_map(|k| r.fields.text(k)).collect::<Vec<_>>(),
                size => number(r, "deal_size").map(|n| money(n, r.fields.text("currency"))),
                closed => r.fields.text("closed"),
                customer => r.fields.text("customer"),
                summary => r.fields.text("summary"),
            }
        })
        .collect();
    Ok(st.page(
        StatusCode::OK,
        "cases.html",
        &actor,
        context! {
            title => "Case stories",
            facets => facets,
            cards => cards,
            total => all.len(),
            shown => shown.len(),
            min => q.min.clone().unwrap_or_default(),
            max => q.max.clone().unwrap_or_default(),
            from => q.from.clone(),
            to => q.to.clone(),
            sort => q.sort.clone(),
            filtered => FACETS.iter().any(|(k, _)| !q.facet(k).trim().is_empty()) || parse_amount(&q.min).is_some() || parse_amount(&q.max).is_some() || !q.from.trim().is_empty() || !q.to.trim().is_empty(),
        },
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_groups_thousands() {
        assert_eq!(super::money(1234567.0, Some("EUR".into())), "EUR 1,234,567");
        assert_eq!(super::money(950.0, None), "950");
    }
}
