//! The real router, driven in-process: the JSON API, the pages, and bad input that must change
//! nothing.

mod common;

use axum::http::StatusCode;
use casebook_server::{Access, ServerOptions};
use common::{App, call, each, encode};
use serde_json::{Value, json};

impl App {
    /// A JSON API call as an anonymous visitor: the status and the answer's JSON.
    async fn json(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let req = call(method, uri);
        let r = self
            .send(match body {
                Some(v) => req.json(&v),
                None => req.empty(),
            })
            .await;
        (r.status, r.json())
    }

    /// `PUT /api/v1/pages/{path}` with `body`, as an anonymous visitor.
    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.json("PUT", &format!("/api/v1/pages/{path}"), Some(body)).await
    }

    /// `POST uri` with `body`, as an anonymous visitor.
    async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.json("POST", uri, Some(body)).await
    }

    /// `GET uri` of the JSON API, as an anonymous visitor.
    async fn api_get(&self, uri: &str) -> (StatusCode, Value) {
        self.json("GET", uri, None).await
    }

    /// `GET uri` as an anonymous visitor: the status and the page.
    async fn get(&self, uri: &str) -> (StatusCode, String) {
        let r = self.send(call("GET", uri).empty()).await;
        (r.status, r.body)
    }
}

#[tokio::test]
async fn page_lifecycle_over_the_api() {
    let app = App::new(Access::Edit);
    let (s, v) = app
        .put(
            "deals/Acme%20Renewal",
            json!({"markdown": "# Acme Renewal\n\nFirst.\n", "message": "write it up"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let r1 = v["revision"].as_str().unwrap().to_string();
    let (s, v) = app.api_get("/api/v1/pages/deals/Acme%20Renewal").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["title"], "Acme Renewal");
    assert_eq!(v["revision"], r1.as_str());
    assert!(v["html"].as_str().unwrap().contains("<p>First.</p>"));
    let (s, v) = app
        .put(
            "deals/Acme%20Renewal",
            json!({"markdown": "# Acme Renewal\n\nSecond.\n", "base_revision": r1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["merged"], false);
    let r2 = v["revision"].as_str().unwrap().to_string();
    let (_, v) = app.api_get("/api/v1/pages/deals/Acme%20Renewal/history").await;
    assert_eq!(each(&v, "revisions", "revision"), [r2.as_str(), r1.as_str()]);
    let (_, v) =
        app.api_get(&format!("/api/v1/pages/deals/Acme%20Renewal/diff?from={r1}&to={r2}")).await;
    assert!(v["diff"].as_str().unwrap().contains("+Second."), "{v}");
    let (_, v) = app.api_get("/api/v1/search?q=second").await;
    assert_eq!(v["hits"][0]["path"], "deals/Acme Renewal", "{v}");
    assert!(v["hits"][0]["updated"].as_str().unwrap().ends_with('Z'), "dates are RFC 3339");
    assert!(v["hits"][0]["snippet"].as_str().unwrap().contains("<mark>Second</mark>"));
    let (_, v) = app.api_get("/api/v1/changes?limit=2").await;
    assert_eq!(v["changes"][0]["paths"][0], "deals/Acme Renewal");
    let (s, v) = app.api_get("/api/v1/pages?prefix=deals").await;
    assert_eq!((s, v["total"].as_u64()), (StatusCode::OK, Some(1)));
    let (s, _) = app
        .json("DELETE", &format!("/api/v1/pages/deals/Acme%20Renewal?base_revision={r1}"), None)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "a stale delete is refused");
    let (s, _) = app.json("DELETE", "/api/v1/pages/deals/Acme%20Renewal", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app.api_get("/api/v1/pages/deals/Acme%20Renewal").await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

#[tokio::test]
async fn conflicting_stale_save_answers_409_with_both_sides() {
    let app = App::new(Access::Edit);
    let (_, v) = app.put("C", json!({"markdown": "line\n"})).await;
    let r0 = v["revision"].as_str().unwrap().to_string();
    app.put("C", json!({"markdown": "theirs\n", "base_revision": r0})).await;
    let n = app.commits();
    let (s, v) = app.put("C", json!({"markdown": "yours\n", "base_revision": r0})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["conflict"]["theirs"], "theirs\n");
    assert_eq!(v["conflict"]["yours"], "yours\n");
    assert_eq!(v["conflict"]["base"], "line\n");
    assert_eq!(v["conflict"]["reason"], "overlap");
    assert_eq!(
        v["error"]["message"],
        "the page changed since your base revision and the edits overlap; nothing was saved"
    );
    assert_eq!(app.commits(), n);
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let app = App::new(Access::Edit);
    let n = app.commits();
    for path in [
        "..%2Fescape",
        "%2e%2e/escape",
        "a/%2E%2E/%2E%2E/b",
        ".git/config",
        "a/.hidden",
        "a%5Cb",
        "%2Fabs",
        "a%00b",
        "a//b",
        "x%0Ay",
    ] {
        let (s, v) = app.put(path, json!({"markdown": "x"})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {v}");
        assert_eq!(v["error"]["code"], "invalid_input", "{path}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    let big = "x".repeat(6 * 1024 * 1024);
    let (s, _) = app.put("Big", json!({"markdown": big})).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let just_over = "y".repeat(5 * 1024 * 1024 + 1);
    let (s, v) = app.put("Big", json!({"markdown": just_over})).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    let req = call("PUT", "/api/v1/pages/Utf")
        .header("content-type", "application/json")
        .body(&b"{\"markdown\": \"\xff\xfe\"}"[..]);
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("UTF-8"));
    let (s, _) = app.put("Json", json!({"text": "no markdown field"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = app.put("Rev", json!({"markdown": "x", "base_revision": "not-hex"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = app.put("Rev", json!({"markdown": "x", "base_revision": "abcdef1234"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "an unknown base revision");
    assert_eq!(app.commits(), n, "no bad request made a commit");
}

#[tokio::test]
async fn read_only_visitors_cannot_write() {
    let app = App::new(Access::Read);
    let n = app.commits();
    let (s, v) = app.put("X", json!({"markdown": "x"})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, _) = app.get("/edit/Home").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(app.commits(), n);
    let (s, _) = app.get("/wiki/Home").await;
    assert_eq!(s, StatusCode::OK);
    let closed = App::new(Access::None);
    assert_eq!(closed.get("/wiki/Home").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(closed.api_get("/api/v1/search?q=x").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(closed.get("/healthz").await.0, StatusCode::OK);
}

#[tokio::test]
async fn pages_for_people() {
    let app = App::new(Access::Edit);
    let (s, body) = app.get("/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("Recent changes"));
    let (s, body) = app.get("/wiki/Home").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("Linked from") && body.contains("data-shortcut=\"edit\""));
    let (s, body) = app.get("/wiki/No%20Such%20Page").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body.contains("/edit/No%20Such%20Page"), "the 404 offers to create the page");
    assert_eq!(app.get("/wiki/guide/").await.0, StatusCode::OK);
    assert_eq!(app.get("/wiki/guide").await.0, StatusCode::SEE_OTHER);
    assert_eq!(app.get("/browse").await.0, StatusCode::OK);
    assert_eq!(app.get("/changes").await.0, StatusCode::OK);
    let (s, body) = app.get("/search?q=renewal").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("<mark>"), "search highlights");
    assert_eq!(app.get("/history/Home").await.0, StatusCode::OK);
    assert_eq!(app.get("/diff/Home").await.0, StatusCode::OK);
    let (s, body) = app.get("/edit/Home").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("name=\"base_revision\" value=\"") && body.contains("id=\"cb-editor\""));
    let (s, body) = app.get("/feed.atom").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("<feed"));
    let (s, body) = app.get("/nowhere/at/all").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body.contains("Go home"), "a friendly error page");
    let (s, _) = app.get("/wiki/..%2F..%2Fetc").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/static/casebook.css").await.0, StatusCode::OK);
    assert_eq!(app.get("/static/../Cargo.toml").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_editor_form_saves_merges_and_shows_conflicts() {
    let app = App::new(Access::Edit);
    let form = |md: &str, base: &str| {
        call("POST", "/edit/F")
            .form_body(format!("markdown={}&message=m&base_revision={base}", encode(md)))
    };
    let r = app.send(form("a\n\nb\n\nc\n", "")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/wiki/F?saved=1");
    let (_, v) = app.api_get("/api/v1/pages/F").await;
    let r0 = v["revision"].as_str().unwrap().to_string();
    app.send(form("A\n\nb\n\nc\n", &r0)).await;
    let r = app.send(form("a\n\nb\n\nC\n", &r0)).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/wiki/F?merged=1"));
    let r = app.send(form("X\n\nb\n\nc\n", &r0)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let body = r.body;
    assert!(body.contains("Someone saved this page while you were editing"));
    assert!(
        body.contains(
            ">&lt;&lt;&lt;&lt;&lt;&lt;&lt; yours\nX\n=======\nA\n&gt;&gt;&gt;&gt;&gt;&gt;&gt; theirs (saved by Anonymous at "
        ) && body.contains(")\n\nb\n\nC\n</textarea>"),
        "the editor holds both sides of the conflict and the merged rest: {body}"
    );
}

#[tokio::test]
async fn security_headers_and_cross_site_posts() {
    let app = App::new(Access::Edit);
    let h = app.send(call("GET", "/").empty()).await.headers;
    assert!(h["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let n = app.commits();
    let req = call("POST", "/edit/Forged")
        .header("origin", "https://evil.example")
        .header("host", "wiki.example")
        .form_body("markdown=pwned");
    assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.commits(), n);
}

/// Images from other sites (tracking pixels in a page) load only when the wiki allows them.
#[tokio::test]
async fn remote_images_are_an_option_off_by_default() {
    let csp = |app: App| async move {
        let h = app.send(call("GET", "/").empty()).await.headers;
        let csp = h["content-security-policy"].to_str().unwrap().to_string();
        csp.split(';').map(str::trim).find(|d| d.starts_with("img-src")).unwrap().to_string()
    };
    assert_eq!(csp(App::new(Access::Read)).await, "img-src 'self' data:");
    let allowing = App::with(ServerOptions { remote_images: true, ..ServerOptions::default() });
    assert_eq!(csp(allowing).await, "img-src 'self' data: https:");
}

/// The feed's links never come from the request's `Host` header: with `public_url` they are
/// absolute at that address, without it they stay on the site that served the feed.
#[tokio::test]
async fn the_feed_links_to_the_public_address_not_the_host_header() {
    let app = App::new(Access::Edit);
    app.put("Fed", json!({"markdown": "# Fed\n"})).await;
    let feed = || call("GET", "/feed.atom").header("host", "evil.example").empty();
    let body = String::from_utf8(app.send(feed()).await.bytes).unwrap();
    assert!(!body.contains("evil.example"), "{body}");
    assert!(body.contains("<link href=\"/wiki/Fed\"/>"), "{body}");
    let public = App::with(ServerOptions {
        anonymous: Access::Edit,
        public_url: Some("https://wiki.example.org/".into()),
        ..ServerOptions::default()
    });
    public.put("Fed", json!({"markdown": "# Fed\n"})).await;
    let body = String::from_utf8(public.send(feed()).await.bytes).unwrap();
    assert!(!body.contains("evil.example"), "{body}");
    assert!(body.contains("<link href=\"https://wiki.example.org/wiki/Fed\"/>"), "{body}");
}

#[tokio::test]
async fn link_reports_tags_and_scoped_feeds() {
    let app = App::new(Access::Edit);
    app.put("r/Linker", json!({"markdown": "---\ntags: [Pricing]\n---\n[[Never Written]] and [[Never Written]] again, and [[r/Other]].\n"})).await;
    app.put("r/Second", json!({"markdown": "[[Never Written]]\n"})).await;
    app.put("r/Other", json!({"markdown": "---\ntags: [pricing, renewal]\n---\nfine\n"})).await;
    app.state.engine.wait_indexed();
    let wanted = app.state.engine.wanted_pages(&casebook_core::ReadScope::everything()).unwrap();
    assert_eq!(
        wanted.iter().find(|(p, _)| p == "r/Never Written").map(|w| w.1),
        Some(2),
        "{wanted:?}"
    );
    let orphans: Vec<String> = app
        .state
        .engine
        .orphans(&casebook_core::ReadScope::everything())
        .unwrap()
        .into_iter()
        .map(|p| p.path)
        .collect();
    assert!(
        orphans.contains(&"r/Linker".to_string()) && !orphans.contains(&"r/Other".to_string()),
        "{orphans:?}"
    );
    let (s, body) = app.get("/special/wanted").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("Never%20Written") && body.contains("2 pages link here"), "{body}");
    assert_eq!(app.get("/special/orphans").await.0, StatusCode::OK);
    assert_eq!(app.get("/special/nonsense").await.0, StatusCode::NOT_FOUND);
    let (s, body) = app.get("/tags").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("/tags/Pricing") || body.contains("/tags/pricing"));
    let (s, body) = app.get("/tags/pricing").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains(">Linker<") && body.contains(">Other<"),
        "tags match without regard to case"
    );
    let (_, feed) = app.get("/feed.atom?folder=r").await;
    assert!(
        feed.contains("changes in r") && feed.contains("r/Other") && !feed.contains("guide/"),
        "{feed}"
    );
    let (_, body) = app.get("/changes?folder=guide").await;
    assert!(!body.contains("r/Other"));
}

#[tokio::test]
async fn the_case_story_browser_filters_by_fields() {
    let app = App::new(Access::Edit);
    let (s, body) = app.get("/cases").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("Northwind Renewal Rescue") && body.contains("Bellhaven"),
        "the starter cases are listed"
    );
    let (_, won) = app.get("/cases?outcome=won").await;
    assert!(
        won.contains("Northwind Renewal Rescue") && !won.contains(">Bellhaven Health"),
        "filtered by outcome"
    );
    let (_, big) = app.get("/cases?min=300000&sort=size").await;
    assert!(
        big.contains("Harbor City") && !big.contains(">Northwind Renewal Rescue<"),
        "filtered by deal size"
    );
    let (_, emea) = app.get("/cases?region=EMEA").await;
    assert!(emea.contains("selected>emea"), "facet values are matched without regard to case");
    let (s, _) = app.get("/cases?min=lots&from=not-a-date").await;
    assert_eq!(s, StatusCode::OK, "odd filter values are ignored, not errors");
}

#[tokio::test]
async fn discussions_over_the_api_and_on_the_page() {
    let app = App::new(Access::Edit);
    app.put("cases/Deal%20X", json!({"markdown": "# Deal X\n\nWhat happened.\n"})).await;
    let n0 = app.commits();
    let (s, t) = app
        .post(
            "/api/v1/pages/cases/Deal%20X/discussions",
            json!({"title": "Why did we win?", "body": "Was it the pilot?"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(t["status"], "open");
    assert_eq!(t["comments"][0]["markdown"], "Was it the pilot?");
    let (s, c) = app
        .post(
            &format!("/api/v1/discussions/{id}/comments"),
            json!({"body": "The quokkaworkshop <script>alert(1)</script>"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert!(!c["comment"]["html"].as_str().unwrap().contains("<script"));
    assert_eq!(app.commits(), n0 + 2);

    let (s, list) = app.api_get("/api/v1/pages/cases/Deal%20X/discussions").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["threads"].as_array().unwrap().len(), 1);
    assert_eq!(list["threads"][0]["comments"].as_array().unwrap().len(), 2);

    let (s, page) = app.get("/wiki/cases/Deal%20X").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Why did we win?") && page.contains("quokkaworkshop"));
    assert!(!page.contains("<script>alert(1)"));
    assert!(page.contains(&format!("id=\"thread-{id}\"")));

    let (_, res) = app.api_get("/api/v1/search?q=quokkaworkshop").await;
    assert_eq!(res["hits"][0]["kind"], "discussion", "{res}");
    assert_eq!(res["hits"][0]["path"], "cases/Deal X");
    assert_eq!(res["hits"][0]["thread"], id.as_str());
    let (_, html) = app.get("/search?q=quokkaworkshop").await;
    assert!(html.contains(&format!("Deal%20X#thread-{id}\"")), "{html}");

    // Resolve over the API; the open list is empty then, the resolved one is not.
    let (s, r) = app
        .json("PATCH", &format!("/api/v1/discussions/{id}"), Some(json!({"status": "resolved"})))
        .await;
    assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("resolved")));
    let (_, open) = app.api_get("/api/v1/discussions").await;
    assert!(open["threads"].as_array().unwrap().is_empty());
    let (_, resolved) = app.api_get("/api/v1/discussions?status=resolved").await;
    assert_eq!(resolved["threads"][0]["id"], id.as_str());
    let (s, _) = app.get("/discussions?status=all").await;
    assert_eq!(s, StatusCode::OK);
    // The page's feed and recent changes tell of its discussion as of the page.
    let (_, feed) = app.get("/feed.atom?folder=cases/Deal%20X").await;
    assert!(feed.contains("Why did we win?"), "{feed}");
    assert!(!feed.contains(".casebook"), "{feed}");
    let (_, changes) = app.get("/changes").await;
    assert!(!changes.contains(".casebook"));

    // Forms for people: reply, and bad input changes nothing.
    let n1 = app.commits();
    let form = |uri: &str, body: &str| call("POST", uri).form_body(body);
    let r = app.send(form(&format!("/discussions/{id}/reply"), "body=Agreed")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/wiki/cases/Deal%20X#comment-"));
    assert_eq!(app.commits(), n1 + 1);
    for (uri, body) in [
        (format!("/discussions/{id}/reply"), "body=%20%20".to_string()),
        ("/discussions/nope/reply".to_string(), "body=x".to_string()),
        ("/discuss/Missing%20Page".to_string(), "title=t&body=b".to_string()),
        ("/discuss/cases/Deal%20X".to_string(), "title=&body=b".to_string()),
    ] {
        let s = app.send(form(&uri, &body)).await.status;
        assert!(s.is_client_error(), "{uri}: {s}");
    }
    for (method, uri, body) in [
        ("POST", format!("/api/v1/discussions/{id}/comments"), json!({"body": ""})),
        ("POST", "/api/v1/discussions/../comments".to_string(), json!({"body": "x"})),
        ("PATCH", format!("/api/v1/discussions/{id}"), json!({"status": "sideways"})),
        ("POST", "/api/v1/pages/Nope/discussions".to_string(), json!({"title": "t", "body": "b"})),
    ] {
        let (s, v) = app.json(method, &uri, Some(body)).await;
        assert!(s.is_client_error(), "{method} {uri}: {s} {v}");
    }
    // A reply larger than any request the server reads is refused as too large, like a page.
    let huge = format!("body={}", "x".repeat(7 * 1024 * 1024));
    let r = app.send(form(&format!("/discussions/{id}/reply"), &huge)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.commits(), n1 + 1, "refused input made no commit");

    // Mentions link to the person's page; a person's page shows what they wrote.
    let (_, c) = app
        .post(
            &format!("/api/v1/discussions/{id}/comments"),
            json!({"body": "Ask @Dana.K about it, or mail dana@example.com. `@notme`"}),
        )
        .await;
    let html = c["comment"]["html"].as_str().unwrap();
    assert!(html.contains("href=\"/people/Dana%2EK\"") && html.contains(">@Dana.K</a>"), "{html}");
    assert_eq!(html.matches("/people/").count(), 1, "{html}");
    let (s, person) = app.get("/people/Anonymous").await;
    assert_eq!(s, StatusCode::OK);
    assert!(person.contains("Why did we win?") && person.contains("Deal X"));
    let (s, dana) = app.get("/people/dana.k").await;
    assert_eq!(s, StatusCode::OK, "mentioned people have a page");
    assert!(dana.contains("Mentioned in"));
    let (s, _) = app.get("/people/Nobody%20Here").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn read_only_visitors_cannot_discuss() {
    let app = App::new(Access::Read);
    let (s, _) =
        app.post("/api/v1/pages/Home/discussions", json!({"title": "t", "body": "b"})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, page) = app.get("/wiki/Home").await;
    assert!(!page.contains("Start a discussion"));
}

#[path = "integration/editor.rs"]
mod editor;
#[path = "integration/git.rs"]
mod git;
#[path = "integration/types.rs"]
mod types;

#[tokio::test]
async fn search_facets_count_and_filter_on_click() {
    let app = App::new(Access::Edit);
    for (path, md) in [
        (
            "deals/Alpha",
            "---\ntype: case-story\ntags: [pricing, renewal]\n---\n# Alpha\n\nThe quokka deal.\n",
        ),
        (
            "deals/Beta",
            "---\ntype: case-story\ntags: [renewal]\n---\n# Beta\n\nAnother quokka deal.\n",
        ),
        ("notes/Gamma", "---\ntype: insight\n---\n# Gamma\n\nWhat the quokka taught us.\n"),
    ] {
        let (s, _) = app.put(&path.replace(' ', "%20"), json!({"markdown": md})).await;
        assert_eq!(s, StatusCode::CREATED, "{path}");
    }
    let (s, v) = app.api_get("/api/v1/search?q=quokka&limit=1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["total"], 3);
    assert_eq!(v["hits"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["facets"]["type"],
        json!([
            {"value": "case-story", "count": 2, "filter": "type:case-story", "active": false},
            {"value": "insight", "count": 1, "filter": "type:insight", "active": false},
        ])
    );
    assert_eq!(v["facets"]["tag"][0]["value"], "renewal");
    assert_eq!(v["facets"]["tag"][0]["count"], 2);
    assert_eq!(v["facets"]["folder"][0]["filter"], "in:deals/");

    // The page links each value to the query with its filter added…
    let (s, body) = app.get("/search?q=quokka").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("href=\"/search?q=quokka%20type%3Acase-story\""), "{body}");
    // …which narrows the results and shows the filter as removable.
    let (s, body) = app.get("/search?q=quokka%20type%3Acase-story").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("2 results"), "{body}");
    assert!(body.contains("Remove the filter type:case-story"));
    assert!(body.contains("href=\"/search?q=quokka\""), "removing leads back");
    let (_, v) = app.api_get("/api/v1/search?q=quokka%20type%3Acase-story").await;
    assert_eq!(v["total"], 2);
    assert_eq!(v["facets"]["type"][0]["active"], true);
    // Hostile values stay text.
    let (s, body) = app.get("/search?q=tag%3A%3Cscript%3E").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains("<script>"));
}

#[tokio::test]
async fn search_offers_a_spelling_that_finds_more() {
    let app = App::new(Access::Edit);
    let (s, _) = app.put("Quarterly%20Review", json!({"markdown": "# Quarterly review\n\nThe stakeholder map and the renewal forecast.\n"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = app.api_get("/api/v1/search?q=stakholder%20forecats").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["did_you_mean"], "stakeholder forecast");
    let (_, v) = app.api_get("/api/v1/search?q=stakeholder").await;
    assert_eq!(v["did_you_mean"], Value::Null);
    let (s, body) = app.get("/search?q=stakholder%20forecats").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains(
            "Did you mean <a href=\"/search?q=stakeholder%20forecast\">stakeholder forecast</a>?"
        ),
        "{body}"
    );
}

#[tokio::test]
async fn search_of_past_versions_answers_with_revisions() {
    let app = App::new(Access::Edit);
    let (_, v1) = app
        .put("deals/Acme", json!({"markdown": "# Acme\n\nThe discount was quetzal percent.\n"}))
        .await;
    let r1 = v1["revision"].as_str().unwrap().to_string();
    let (s, _) = app
        .put("deals/Acme", json!({"markdown": "# Acme\n\nThe discount is thirty percent now.\n"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, now) = app.api_get("/api/v1/search?q=quetzal").await;
    assert_eq!((now["total"].clone(), now["past"].clone()), (json!(0), json!(false)));
    for uri in ["/api/v1/search?q=quetzal&past=1", "/api/v1/search?q=quetzal%20history%3Ayes"] {
        let (s, v) = app.json("GET", uri, None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["past"], true, "{uri}");
        assert_eq!(v["total"], 1, "{uri}");
        assert_eq!(v["hits"][0]["path"], "deals/Acme");
        assert_eq!(v["hits"][0]["revision"], r1.as_str());
    }
    let (s, body) = app.get("/search?q=quetzal&past=1").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains(&format!("deals&#x2f;Acme?rev={r1}\"")),
        "a hit leads to the page as it read then: {body}"
    );
    assert!(body.contains("name=\"past\" value=\"1\" checked"));
}

#[path = "integration/attachments.rs"]
mod attachments;
#[path = "integration/meaning.rs"]
mod meaning;
