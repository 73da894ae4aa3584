//! Atom feeds of recent changes.

use crate::http::encode;
use crate::views::escape;
use crate::{Actor, AppState};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The feeds.
pub(crate) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/feed.atom", axum::routing::get(site))
}

/// The site's feed: the 50 newest commits.
#[derive(serde::Deserialize)]
pub(crate) struct FeedQuery {
    /// A folder or a page: only changes touching it.
    #[serde(default)]
    folder: String,
}

async fn site(
    State(st): State<AppState>,
    actor: Actor,
    axum::extract::Query(q): axum::extract::Query<FeedQuery>,
) -> Response {
    if let Err(e) = actor.require_read() {
        return crate::ApiError(e).into_response();
    }
    // Links are absolute only at the configured address: a request's `Host` header is the
    // client's word, and a feed is read far from the request that fetched it.
    let base = st.opts.public_url.as_deref().unwrap_or("").trim_end_matches('/').to_string();
    let folder = q.folder.trim().trim_matches('/').to_string();
    let f = folder.clone();
    let log = match st.run(move |engine| engine.changes_in(&f, None, 50, 0, &actor.scope)).await {
        Ok(l) => l,
        Err(e) => return crate::ApiError(e).into_response(),
    };
    let updated =
        log.first().map(|c| c.date.rfc3339()).unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    let mut xml = String::with_capacity(4096);
    xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    let what = if folder.is_empty() {
        "recent changes".to_string()
    } else {
        format!("changes in {folder}")
    };
    xml.push_str(&format!("  <title>{} – {}</title>\n", escape(&st.opts.site_name), escape(&what)));
    xml.push_str(&format!(
        "  <id>{}</id>\n  <updated>{updated}</updated>\n",
        escape(&if base.is_empty() {
            format!("urn:casebook:feed:{}", encode(&folder))
        } else {
            format!("{base}/feed.atom")
        })
    ));
    xml.push_str(&format!(
        "  <link rel=\"self\" href=\"{0}/feed.atom\"/>\n  <link href=\"{0}/changes\"/>\n",
        escape(&base)
    ));
    for c in &log {
        let page = c.paths.iter().find_map(|p| casebook_engine::page_of_file(p));
        let link = match page {
            Some(p) => format!("{base}/wiki/{}", encode(p)),
            None => format!("{base}/changes"),
        };
        let title = match page {
            Some(p) if !c.summary.contains(p) => format!("{} ({p})", c.summary),
            _ => c.summary.clone(),
        };
        let mut pages: Vec<String> = Vec::new();
        for p in &c.paths {
            let shown = escape(casebook_engine::page_of_file(p).unwrap_or(p));
            if !pages.contains(&shown) {
                pages.push(shown);
            }
        }
        xml.push_str(&format!(
            "  <entry>\n    <title>{}</title>\n    <id>urn:casebook:commit:{}</id>\n    <updated>{}</updated>\n    <author><name>{}</name></author>\n    <link href=\"{}\"/>\n    <summary>{}</summary>\n  </entry>\n",
            escape(&title),
            c.revision,
            c.date.rfc3339(),
            escape(&c.author.name),
            escape(&link),
            pages.join(", "),
        ));
    }
    xml.push_str("</feed>\n");
    let mut resp = (StatusCode::OK, xml).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/atom+xml; charset=utf-8"),
    );
    resp
}
