//! Every route of the router, walked by every kind of person: the anonymous visitor (once with
//! `anonymous = read`, once with `anonymous = none`), a reader, an editor and an administrator,
//! and in a third pass, with the folder `walk/**` (where every row's fixtures live) restricted to
//! a group, an editor outside that group. The table below says what each may do; a route in the
//! source that the table does not list (or a row whose route is gone) fails the test, so a new
//! route cannot arrive without its rules.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use casebook_server::{Access, Role};
use common::{App, PW, call, form};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

/// Route sources, read at build time so the table is compared with the router as written.
const SOURCES: &[(&str, &str)] = &[
    ("web.rs", include_str!("../src/web.rs")),
    ("pages/mod.rs", include_str!("../src/pages/mod.rs")),
    ("pages/api.rs", include_str!("../src/pages/api.rs")),
    ("search/mod.rs", include_str!("../src/search/mod.rs")),
    ("search/api.rs", include_str!("../src/search/api.rs")),
    ("auth.rs", include_str!("../src/auth.rs")),
    ("accounts.rs", include_str!("../src/accounts.rs")),
    ("discussions.rs", include_str!("../src/discussions.rs")),
    ("people.rs", include_str!("../src/people.rs")),
    ("records.rs", include_str!("../src/records.rs")),
    ("notify.rs", include_str!("../src/notify.rs")),
    ("git/mod.rs", include_str!("../src/git/mod.rs")),
    ("cases.rs", include_str!("../src/cases.rs")),
    ("feed.rs", include_str!("../src/feed.rs")),
    ("signon/mod.rs", include_str!("../src/signon/mod.rs")),
];

/// What came back, as far as access is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// 2xx, or a redirect anywhere but the sign-in page.
    Ok,
    /// 401, or a redirect to `/login`.
    Unauth,
    Forbidden,
    NotFound,
    /// 400, 409, 415 or 422: the request was let in and its content refused.
    Bad,
}
use Class::*;

fn classify(status: StatusCode, headers: &HeaderMap) -> Option<Class> {
    let location = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    match status.as_u16() {
        200..=299 => Some(Ok),
        300..=399 if location.starts_with("/login") => Some(Unauth),
        300..=399 => Some(Ok),
        401 => Some(Unauth),
        403 => Some(Forbidden),
        404 => Some(NotFound),
        400 | 409 | 415 | 422 => Some(Bad),
        _ => None,
    }
}

/// Expected classes for: anonymous with `anonymous = read`, anonymous with `anonymous = none`,
/// reader, editor, administrator. Signed-in people get the same in every pass.
type Expect = [Class; 5];
const PUBLIC: Expect = [Ok, Ok, Ok, Ok, Ok];
const READ: Expect = [Ok, Unauth, Ok, Ok, Ok];
const EDIT: Expect = [Unauth, Unauth, Forbidden, Ok, Ok];
const DISCUSS: Expect = [Unauth, Unauth, Ok, Ok, Ok];
const SIGNED_IN: Expect = [Unauth, Unauth, Ok, Ok, Ok];
const ADMIN: Expect = [Unauth, Unauth, Forbidden, Forbidden, Ok];

/// How the request carries who is asking.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    /// A browser: the session cookie, and the CSRF token in every form post.
    Browser,
    /// A script: a Bearer API token.
    Token,
}

enum Payload {
    None,
    Form(&'static [(&'static str, &'static str)]),
    Json(Value),
}

struct Row {
    method: &'static str,
    /// The route as written in the source (API routes with their `/api/v1` prefix).
    pattern: &'static str,
    /// A concrete path; `{who}`, `{thread}`, `{comment}`, `{token}` and `{rev}` are filled in
    /// for each person from what the setup made for them, `{zed_token}` with the id of a token
    /// of a bystander.
    path: &'static str,
    payload: Payload,
    via: Via,
    expect: Expect,
    /// An editor outside the group that may read `walk/**`: as an editor unless said otherwise.
    outside: Class,
}

fn row(method: &'static str, pattern: &'static str, path: &'static str, expect: Expect) -> Row {
    Row {
        method,
        pattern,
        path,
        payload: Payload::None,
        via: if pattern.starts_with("/api/") { Via::Token } else { Via::Browser },
        expect,
        outside: expect[3],
    }
}

impl Row {
    fn form(mut self, pairs: &'static [(&'static str, &'static str)]) -> Row {
        self.payload = Payload::Form(pairs);
        self
    }
    fn json(mut self, v: Value) -> Row {
        self.payload = Payload::Json(v);
        self
    }
    fn token(mut self) -> Row {
        self.via = Via::Token;
        self
    }
    /// What the editor outside `walk/**` gets: reads of it are not found (as if it did not
    /// exist), changes to it forbidden.
    fn outside(mut self, class: Class) -> Row {
        self.outside = class;
        self
    }
}

/// The whole table. Order matters only where a request ends something: signing out is last.
fn table() -> Vec<Row> {
    vec![
        // Pages for people.
        row("GET", "/", "/", READ),
        row("GET", "/healthz", "/healthz", PUBLIC),
        row("GET", "/wiki/{*path}", "/wiki/walk/Page", READ).outside(NotFound),
        row(
            "GET",
            "/wiki/{*path}",
            "/wiki/walk/Nowhere",
            [NotFound, Unauth, NotFound, NotFound, NotFound],
        ),
        row("GET", "/browse", "/browse", READ),
        row("GET", "/new", "/new", EDIT),
        row("GET", "/edit/{*path}", "/edit/walk/Page", EDIT).outside(Forbidden),
        row("POST", "/edit/{*path}", "/edit/walk/{who}/Edited", EDIT)
            .form(&[
                ("markdown", "# Edited\n\nby {who}\n"),
                ("message", "walk"),
                ("base_revision", ""),
            ])
            .outside(Forbidden),
        row("POST", "/preview/{*path}", "/preview/walk/Page", EDIT)
            .form(&[("markdown", "# Hi\n")])
            .outside(Forbidden),
        row("GET", "/history/{*path}", "/history/walk/Page", READ).outside(NotFound),
        row("GET", "/diff/{*path}", "/diff/walk/Page", READ).outside(NotFound),
        row("POST", "/revert/{*path}", "/revert/walk/{who}/Rev", EDIT)
            .form(&[("rev", "{rev}")])
            .outside(Forbidden),
        row("GET", "/delete/{*path}", "/delete/walk/Page", EDIT).outside(Forbidden),
        row("POST", "/delete/{*path}", "/delete/walk/{who}/Gone", EDIT)
            .form(&[("base_revision", ""), ("message", "walk")])
            .outside(Forbidden),
        row("POST", "/attachments/{*path}", "/attachments/walk/{who}/Attached", EDIT)
            .form(&[("delete", "web.txt")])
            .outside(Forbidden),
        row("GET", "/move/{*path}", "/move/walk/Page", EDIT).outside(Forbidden),
        row("POST", "/move/{*path}", "/move/walk/{who}/Moving", EDIT)
            .form(&[("to", "walk/{who}/Moved")])
            .outside(Forbidden),
        row("GET", "/changes", "/changes", READ),
        row("GET", "/cases", "/cases", READ),
        row("GET", "/tags", "/tags", READ),
        // The only page tagged so is in the restricted folder.
        row("GET", "/tags/{tag}", "/tags/walkers", READ).outside(NotFound),
        row("GET", "/special/{list}", "/special/wanted", READ),
        row("GET", "/special/{list}", "/special/orphans", READ),
        row("GET", "/search", "/search?q=walk", READ),
        row("GET", "/feed.atom", "/feed.atom", READ),
        // The theme's files are the same for everyone, even where the wiki is closed.
        row("GET", "/static/{*file}", "/static/casebook.css", PUBLIC),
        // Typed pages.
        row("GET", "/types", "/types", READ),
        row("GET", "/new/{name}", "/new/insight", EDIT),
        row("POST", "/new/{name}", "/new/insight", EDIT).form(&[
            ("title", "Insight of {who}"),
            ("folder", "insights"),
            ("f_audience", "everyone"),
        ]),
        row("GET", "/records/{name}", "/records/insight", READ),
        // Discussions for people.
        row("GET", "/discussions", "/discussions", READ),
        row("GET", "/discussions/{id}", "/discussions/{thread}", READ).outside(NotFound),
        row("POST", "/discussions/{id}/reply", "/discussions/{thread}/reply", DISCUSS)
            .form(&[("body", "a reply by {who}")])
            .outside(NotFound),
        row("POST", "/discussions/{id}/status", "/discussions/{thread}/status", DISCUSS)
            .form(&[("status", "resolved")])
            .outside(NotFound),
        // Only the author (the editor here) and administrators may change a comment.
        row(
            "GET",
            "/discussions/{id}/comments/{comment}/edit",
            "/discussions/{thread}/comments/{comment}/edit",
            [Unauth, Unauth, Forbidden, Ok, Ok],
        )
        .outside(NotFound),
        row(
            "POST",
            "/discussions/{id}/comments/{comment}/edit",
            "/discussions/{thread}/comments/{comment}/edit",
            [Unauth, Unauth, Forbidden, Ok, Ok],
        )
        .form(&[("body", "changed by {who}")])
        .outside(NotFound),
        row("POST", "/discuss/{*path}", "/discuss/walk/Page", DISCUSS)
            .form(&[("title", "Asked by {who}"), ("body", "why?")])
            .outside(NotFound),
        row("GET", "/people/{name}", "/people/ed", READ),
        // What people follow.
        row("GET", "/inbox", "/inbox", SIGNED_IN),
        row("POST", "/inbox/read", "/inbox/read", SIGNED_IN).form(&[]),
        row("POST", "/watch", "/watch", SIGNED_IN)
            .form(&[("kind", "page"), ("path", "walk/Page"), ("on", "1")])
            .outside(NotFound),
        row("POST", "/helpful", "/helpful", SIGNED_IN)
            .form(&[("page", "walk/Page"), ("comment", ""), ("on", "1")])
            .outside(NotFound),
        // Accounts.
        row("GET", "/login", "/login", PUBLIC),
        row("POST", "/login", "/login", PUBLIC).form(&[
            ("name", "zed"),
            ("password", PW),
            ("next", "/"),
        ]),
        row("GET", "/logout", "/logout", PUBLIC),
        // Single sign-on is not configured here: both ends say so to everyone (the flow
        // itself is tested in tests/oidc.rs).
        row("GET", "/login/oidc", "/login/oidc", [NotFound; 5]),
        row("GET", "/login/oidc/callback", "/login/oidc/callback?state=x&code=y", [NotFound; 5]),
        row("GET", "/account", "/account", SIGNED_IN),
        // A wrong current password: let in, refused, nothing changed.
        row("POST", "/account/password", "/account/password", [Unauth, Unauth, Bad, Bad, Bad])
            .form(&[
                ("current", "not the password"),
                ("new", "another long password"),
                ("confirm", "another long password"),
            ]),
        row("POST", "/account/tokens", "/account/tokens", SIGNED_IN).form(&[("label", "walk")]),
        row("POST", "/account/tokens/{id}/revoke", "/account/tokens/{token}/revoke", SIGNED_IN)
            .form(&[]),
        // Another person's token is not found, for administrators too.
        row(
            "POST",
            "/account/tokens/{id}/revoke",
            "/account/tokens/{zed_token}/revoke",
            [Unauth, Unauth, NotFound, NotFound, NotFound],
        )
        .form(&[]),
        row("GET", "/admin", "/admin", ADMIN),
        row("POST", "/admin/role", "/admin/role", ADMIN)
            .form(&[("name", "zed"), ("role", "reader")]),
        row("POST", "/admin/users", "/admin/users", ADMIN).form(&[
            ("name", "new-{who}"),
            ("email", "new-{who}@example.com"),
            ("role", "reader"),
            ("password", PW),
        ]),
        row("POST", "/admin/groups", "/admin/groups", ADMIN)
            .form(&[("action", "create"), ("group", "group-of-{who}")]),
        // An administrator exists, so the setup link is spent for everyone.
        row("GET", "/setup", "/setup?code=whatever", [NotFound; 5]),
        row("POST", "/setup", "/setup", [NotFound; 5]).form(&[
            ("code", "whatever"),
            ("name", "eve"),
            ("email", "eve@example.com"),
            ("password", PW),
            ("confirm", PW),
        ]),
        // The JSON API.
        row("GET", "/api/v1/pages", "/api/v1/pages", READ),
        row("GET", "/api/v1/pages/{*path}", "/api/v1/pages/walk/Page", READ).outside(NotFound),
        row("PUT", "/api/v1/pages/{*path}", "/api/v1/pages/walk/{who}/Put", EDIT)
            .json(json!({"markdown": "# Put\n"}))
            .outside(Forbidden),
        row("DELETE", "/api/v1/pages/{*path}", "/api/v1/pages/walk/{who}/Doomed", EDIT)
            .outside(Forbidden),
        row("POST", "/api/v1/pages/{*path}", "/api/v1/pages/walk/{who}/Shifting/move", EDIT)
            .json(json!({"to": "walk/{who}/Shifted"}))
            // Moving a page one may not see is answered as moving one that is not there.
            .outside(NotFound),
        // A page's attachments, inside the pages route; hidden with the page.
        row("GET", "/api/v1/pages/{*path}", "/api/v1/pages/walk/Page/attachments", READ)
            .outside(NotFound),
        row(
            "PUT",
            "/api/v1/pages/{*path}",
            "/api/v1/pages/walk/{who}/Attached/attachments/put.txt",
            EDIT,
        )
        .json(json!({"any": "bytes"}))
        .outside(NotFound),
        row(
            "DELETE",
            "/api/v1/pages/{*path}",
            "/api/v1/pages/walk/{who}/Attached/attachments/api.txt",
            EDIT,
        )
        .outside(NotFound),
        row("POST", "/api/v1/pages/{*path}", "/api/v1/pages/walk/Page/discussions", DISCUSS)
            .json(json!({"title": "API question", "body": "from {who}"}))
            .outside(NotFound),
        row("GET", "/api/v1/search", "/api/v1/search?q=walk", READ),
        row("GET", "/api/v1/suggest", "/api/v1/suggest?q=wal", READ),
        row("GET", "/api/v1/people", "/api/v1/people?q=e", READ),
        row("GET", "/api/v1/changes", "/api/v1/changes", READ),
        row("GET", "/api/v1/discussions", "/api/v1/discussions", READ),
        row("GET", "/api/v1/discussions/{id}", "/api/v1/discussions/{thread}", READ)
            .outside(NotFound),
        row("PATCH", "/api/v1/discussions/{id}", "/api/v1/discussions/{thread}", DISCUSS)
            .json(json!({"status": "open"}))
            .outside(NotFound),
        row(
            "POST",
            "/api/v1/discussions/{id}/comments",
            "/api/v1/discussions/{thread}/comments",
            DISCUSS,
        )
        .json(json!({"body": "api reply by {who}"}))
        .outside(NotFound),
        row(
            "PUT",
            "/api/v1/discussions/{id}/comments/{comment}",
            "/api/v1/discussions/{thread}/comments/{comment}",
            [Unauth, Unauth, Forbidden, Ok, Ok],
        )
        .json(json!({"body": "api change by {who}"}))
        .outside(NotFound),
        row("GET", "/api/v1/inbox", "/api/v1/inbox", SIGNED_IN),
        row("POST", "/api/v1/inbox/read", "/api/v1/inbox/read", SIGNED_IN).json(json!({})),
        // git over HTTP: fetching is reading, the push advertisement is editing.
        row("GET", "/wiki.git/{*rest}", "/wiki.git/info/refs?service=git-upload-pack", READ)
            .token()
            .outside(Forbidden),
        row("GET", "/wiki.git/{*rest}", "/wiki.git/info/refs?service=git-receive-pack", EDIT)
            .token()
            .outside(Forbidden),
        // A push that is not one: refused before git runs unless the pusher may edit, and then
        // by git itself (415), with nothing changed.
        row(
            "POST",
            "/wiki.git/{*rest}",
            "/wiki.git/git-receive-pack",
            [Unauth, Unauth, Forbidden, Bad, Bad],
        )
        .token()
        .outside(Forbidden),
        // Near the end, since a new rule closes git to everyone it keeps out of a folder.
        row("POST", "/admin/rules", "/admin/rules", ADMIN).form(&[
            ("action", "set"),
            ("folder", "closed-by-{who}/**"),
            ("groups", ""),
        ]),
        // Last: signing out ends the session the rows above used.
        row("POST", "/logout", "/logout", PUBLIC).form(&[]),
    ]
}

/// `(METHOD, pattern)` of every route in the source: each `.route("…", …)` with the methods its
/// handler chain names, prefixed with `/api/v1` inside a room's `api.rs` and in any `fn api_routes`.
fn source_routes() -> BTreeSet<(String, String)> {
    let methods = ["get", "post", "put", "delete", "patch", "any"];
    let mut found = BTreeSet::new();
    for (file, text) in SOURCES {
        let mut from = 0;
        while let Some(at) = text[from..].find(".route(") {
            let start = from + at + ".route(".len();
            from = start;
            let lit = text[start..].trim_start();
            let lit = lit
                .strip_prefix('"')
                .unwrap_or_else(|| panic!("{file}: a route whose pattern is not a string literal"));
            let pattern = &lit[..lit.find('"').unwrap()];
            // The handler chain: up to the parenthesis that closes `.route(`.
            let mut depth = 1;
            let mut end = start;
            for (i, c) in text[start..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = start + i;
                    break;
                }
            }
            let chain = &text[start..end];
            let enclosing = text[..start]
                .rfind("fn ")
                .map(|f| &text[f + 3..])
                .and_then(|s| s.split('(').next())
                .unwrap_or("");
            let prefix =
                if file.ends_with("api.rs") || enclosing == "api_routes" { "/api/v1" } else { "" };
            let mut any = false;
            for m in methods {
                let needle = format!("{m}(");
                for (i, _) in chain.match_indices(&needle) {
                    let before = chain[..i].chars().last().unwrap_or(' ');
                    if !(before.is_alphanumeric() || before == '_') {
                        found.insert((m.to_uppercase(), format!("{prefix}{pattern}")));
                        any = true;
                    }
                }
            }
            assert!(any, "{file}: no method found for route {pattern}");
        }
    }
    found
}

/// The table's routes, in the same form (git's one handler answers every method).
fn table_routes(rows: &[Row]) -> BTreeSet<(String, String)> {
    rows.iter()
        .map(|r| {
            let m = if r.pattern == "/wiki.git/{*rest}" { "ANY" } else { r.method };
            (m.to_string(), r.pattern.to_string())
        })
        .collect()
}

#[test]
fn the_table_lists_every_route_and_only_routes() {
    // Every source file that declares routes is read above.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![src.clone()];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 20, "too few source files found: {files:?}");
    for path in files {
        let name = path.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains(".route(") {
            assert!(
                SOURCES.iter().any(|(f, _)| *f == name),
                "{name} declares routes: add it to SOURCES and its routes to the table"
            );
        }
    }
    let source = source_routes();
    let table = table_routes(&table());
    assert!(source.len() > 50, "too few routes found: {source:?}");
    let missing: Vec<_> = source.difference(&table).collect();
    let stale: Vec<_> = table.difference(&source).collect();
    assert!(
        missing.is_empty(),
        "routes with no row in the access table (say who may use them): {missing:?}"
    );
    assert!(stale.is_empty(), "rows for routes the router does not have: {stale:?}");
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Anon,
    Reader,
    Editor,
    Admin,
    /// An editor who is not in the group that may read `walk/**` (when that rule is set).
    Outsider,
}

impl Who {
    const ALL: [Who; 5] = [Who::Anon, Who::Reader, Who::Editor, Who::Admin, Who::Outsider];
    fn label(self) -> &'static str {
        match self {
            Who::Anon => "anon",
            Who::Reader => "reader",
            Who::Editor => "editor",
            Who::Admin => "admin",
            Who::Outsider => "outsider",
        }
    }
    fn account(self) -> Option<&'static str> {
        match self {
            Who::Anon => None,
            Who::Reader => Some("rita"),
            Who::Editor => Some("ed"),
            Who::Admin => Some("ada"),
            Who::Outsider => Some("otto"),
        }
    }
}

/// What one person has in one app: credentials and the things made for them to act on.
#[derive(Default)]
struct Kit {
    token: Option<String>,
    session: Option<String>,
    csrf: Option<String>,
    fill: Vec<(&'static str, String)>,
}

impl Kit {
    fn fill(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (k, v) in &self.fill {
            s = s.replace(k, v);
        }
        s
    }
}

impl App {
    async fn api(&self, method: &str, uri: &str, token: &str, body: Value) -> Value {
        let r = self.send(call(method, uri).token(Some(token)).json(&body)).await;
        assert!(r.status.is_success(), "{method} {uri}: {} {}", r.status, r.body);
        serde_json::from_str(&r.body).unwrap()
    }

    /// People, their credentials, and for each of them pages and a thread of their own, so a
    /// request that succeeds for one leaves the others' fixtures alone. With `restricted`,
    /// `walk/**` is restricted to a group the outsider is not in.
    async fn setup(&self, restricted: bool) -> (HashMap<&'static str, Kit>, String) {
        self.accounts().add_user("rita", "rita@example.com", Role::Reader, PW).unwrap();
        self.accounts().add_user("ed", "ed@example.com", Role::Editor, PW).unwrap();
        self.accounts().add_user("ada", "ada@example.com", Role::Admin, PW).unwrap();
        self.accounts().add_user("zed", "zed@example.com", Role::Reader, PW).unwrap();
        self.accounts().add_user("otto", "otto@example.com", Role::Editor, PW).unwrap();
        if restricted {
            self.accounts().add_group("walkers").unwrap();
            for member in ["rita", "ed", "zed"] {
                self.accounts().add_member("walkers", member).unwrap();
            }
            self.accounts().set_folder_rule("walk/**", &["walkers"]).unwrap();
        }
        let ada = self.accounts().create_token("ada", "setup").unwrap().1;
        let ed = self.accounts().create_token("ed", "setup").unwrap().1;
        let (zed_token, zed_secret) = self.accounts().create_token("zed", "keep").unwrap();
        let put = |path: String, md: &str| {
            let uri = format!("/api/v1/pages/{path}");
            let body = json!({ "markdown": md });
            let ada = ada.clone();
            async move { self.api("PUT", &uri, &ada, body).await }
        };
        put("walk/Page".into(), "---\ntags: [walkers]\n---\n# Walk page\n\nwalk text\n").await;
        let mut kits = HashMap::new();
        for who in Who::ALL {
            let l = who.label();
            for name in ["Gone", "Moving", "Doomed", "Shifting"] {
                put(format!("walk/{l}/{name}"), &format!("# {name}\n")).await;
            }
            put(format!("walk/{l}/Attached"), "# Attached\n").await;
            for file in ["web.txt", "api.txt"] {
                let uri = format!("/api/v1/pages/walk/{l}/Attached/attachments/{file}");
                let r = self.send(call("PUT", &uri).token(Some(&ada)).body("attached")).await;
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            }
            let first = put(format!("walk/{l}/Rev"), "# Rev\n\none\n").await;
            put(format!("walk/{l}/Rev"), "# Rev\n\ntwo\n").await;
            let thread = self
                .api(
                    "POST",
                    "/api/v1/pages/walk/Page/discussions",
                    &ed,
                    json!({"title": format!("Thread for {l}"), "body": "first"}),
                )
                .await;
            let mut kit = Kit::default();
            if let Some(name) = who.account() {
                kit.token = Some(self.accounts().create_token(name, "walk").unwrap().1);
                let signed_in = self.sign_in(name).await;
                kit.session = Some(signed_in.session);
                kit.csrf = Some(signed_in.csrf);
            }
            let spare =
                self.accounts().create_token(who.account().unwrap_or("zed"), "spare").unwrap().0;
            kit.fill = vec![
                ("{who}", l.to_string()),
                ("{rev}", first["revision"].as_str().unwrap().to_string()),
                ("{thread}", thread["id"].as_str().unwrap().to_string()),
                ("{comment}", thread["comments"][0]["id"].as_str().unwrap().to_string()),
                ("{token}", spare.id.to_string()),
                ("{zed_token}", zed_token.id.to_string()),
            ];
            kits.insert(l, kit);
        }
        (kits, zed_secret)
    }

    fn request(&self, row: &Row, kit: &Kit) -> Request<Body> {
        let b = call(row.method, &kit.fill(row.path));
        let b = match row.via {
            Via::Token => b.token(kit.token.as_deref()),
            Via::Browser => b.session(kit.session.as_deref()),
        };
        match &row.payload {
            Payload::None => b.empty(),
            Payload::Json(v) => b
                .header(header::CONTENT_TYPE.as_str(), "application/json")
                .body(kit.fill(&v.to_string())),
            Payload::Form(pairs) => {
                let mut pairs: Vec<(&str, String)> =
                    pairs.iter().map(|(k, v)| (*k, kit.fill(v))).collect();
                if let (Some(csrf), Via::Browser) = (&kit.csrf, row.via) {
                    pairs.push(("csrf_token", csrf.clone()));
                }
                let pairs: Vec<(&str, &str)> =
                    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                b.form_body(form(&pairs))
            }
        }
    }

    /// Walks the table (with `walk/**` restricted, or not); returns every difference from it.
    async fn walk(&self, restricted: bool) -> Vec<String> {
        let anonymous = self.state.opts.anonymous;
        let (kits, zed_secret) = self.setup(restricted).await;
        let mut wrong = Vec::new();
        for row in table() {
            for who in Who::ALL {
                if who == Who::Outsider && !restricted {
                    // Without the rule the outsider is one more editor.
                    continue;
                }
                let kit = &kits[who.label()];
                let column = match (who, anonymous) {
                    (Who::Anon, Access::None) => 1,
                    (Who::Anon, _) => 0,
                    (Who::Reader, _) => 2,
                    (Who::Editor | Who::Outsider, _) => 3,
                    (Who::Admin, _) => 4,
                };
                let expected = if who == Who::Outsider && restricted {
                    row.outside
                } else {
                    row.expect[column]
                };
                let changes = row.method != "GET";
                let before = if changes { self.commits() } else { 0 };
                let r = self.send(self.request(&row, kit)).await;
                let got = classify(r.status, &r.headers);
                let what = format!(
                    "anonymous={:?} restricted={} {:?}: {} {}",
                    anonymous,
                    restricted,
                    who,
                    row.method,
                    kit.fill(row.path)
                );
                if got != Some(expected) {
                    let body: String = r.body.chars().take(200).collect();
                    wrong.push(format!("{what}: expected {expected:?}, got {} ({body})", r.status));
                }
                if changes && got != Some(Ok) {
                    let after = self.commits();
                    if after != before {
                        wrong.push(format!(
                            "{what}: refused with {} but made {} commit(s)",
                            r.status,
                            after - before
                        ));
                    }
                }
            }
        }
        // Refused account changes are not commits: look at the accounts themselves.
        if self.accounts().token_user(&zed_secret).unwrap().is_none() {
            wrong.push(format!("anonymous={anonymous:?}: someone revoked another person's token"));
        }
        for who in Who::ALL {
            let name = format!("new-{}", who.label());
            let made = self.accounts().user(&name).unwrap().is_some();
            if made != (who == Who::Admin) {
                wrong.push(format!("anonymous={anonymous:?} {who:?}: account {name} made: {made}"));
            }
        }
        wrong
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_for_every_kind_of_person() {
    let mut wrong = Vec::new();
    for (anonymous, restricted) in
        [(Access::Read, false), (Access::None, false), (Access::None, true)]
    {
        let app = App::with_accounts(anonymous);
        wrong.extend(app.walk(restricted).await);
    }
    assert!(wrong.is_empty(), "{} differences:\n{}", wrong.len(), wrong.join("\n"));
}

impl App {
    /// `GET uri` as the owner of `token`: (status, body).
    async fn get(&self, uri: &str, token: &str) -> (StatusCode, String) {
        let r = self.send(call("GET", uri).token(Some(token)).empty()).await;
        (r.status, r.body)
    }
}

/// A restricted folder's pages, their words, titles, tags, fields, discussions, attachments and
/// links reach nobody outside it, through any door that lists, searches, suggests, links,
/// notifies or feeds; its members see all of it (so every probe below can tell the difference).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_folder_never_shows_to_people_outside_it() {
    let app = App::with_accounts(Access::Read);
    let acc = app.accounts();
    acc.add_user("ada", "ada@example.com", Role::Admin, PW).unwrap();
    acc.add_user("lee", "lee@example.com", Role::Editor, PW).unwrap();
    acc.add_user("otto", "otto@example.com", Role::Editor, PW).unwrap();
    acc.add_group("deal-desk").unwrap();
    acc.add_member("deal-desk", "lee").unwrap();
    acc.set_folder_rule("deals/**", &["deal-desk"]).unwrap();
    let lee = acc.create_token("lee", "t").unwrap().1;
    let otto = acc.create_token("otto", "t").unwrap().1;

    // The secret: a case story in the restricted folder (its path says nothing; its title,
    // fields, tags and words do) that links out, is linked to, wants a page that does not exist,
    // has an earlier version, a thread mentioning the outsider, and an attachment.
    for version in ["first", "second"] {
        app.api(
            "PUT",
            "/api/v1/pages/deals/D-17",
            &lee,
            json!({"markdown": format!("---\ntitle: Zanzibar Deal\ntype: case-story\ntags: [zanzitag, pricing]\ncustomer: Zanzibar Corp\nindustry: software\nregion: emea\noutcome: won\n---\n# Zanzibar Deal\n\nThe quokkaword discount ({version} telling), see [[Public Page]] and [[deals/Zanzibar Pricing Plan]].\n")}),
        )
        .await;
    }
    app.api(
        "PUT",
        "/api/v1/pages/deals/Floor",
        &lee,
        json!({"markdown": "# Floor Memo\n\nHow low we go.\n"}),
    )
    .await;
    app.api(
        "PUT",
        "/api/v1/pages/Public%20Page",
        &otto,
        json!({"markdown": "# Public Page\n\nOpen to all; see [[deals/D-17]] (if you may) and [[Floor Memo]].\n"}),
    )
    .await;
    app.api(
        "PUT",
        "/api/v1/pages/Lee%20Notes",
        &lee,
        json!({"markdown": "# Lee Notes\n\nNothing secret.\n"}),
    )
    .await;
    app.api(
        "POST",
        "/api/v1/pages/deals/D-17/discussions",
        &lee,
        json!({"title": "Zanzibar margin question", "body": "@otto and @lee: is the quokkaword discount too deep?"}),
    )
    .await;
    // An attachment, pushed with plain git.
    app.change_with_git(("Lee", "lee@example.com"), "Zanzibar terms", |work| {
        std::fs::write(work.join("deals/zanzibar-terms.txt"), "quokkaword terms\n").unwrap();
    });
    app.state.engine.wait_indexed();

    let secrets = ["zanzibar", "quokkaword", "zanzitag"];
    let leaks = |body: &str, except: &str| -> Vec<&str> {
        let lower = body.to_lowercase();
        secrets.iter().copied().filter(|s| *s != except && lower.contains(s)).collect()
    };
    // Doors that answer 200 to both, and must name the secret only to the member. A search
    // page repeats its query, so the word searched for is not counted there.
    let doors: &[(&str, &str)] = &[
        ("/", ""),
        ("/changes", ""),
        ("/changes?author=Lee", ""),
        ("/feed.atom", ""),
        ("/tags", ""),
        ("/cases", ""),
        ("/records/case-story", ""),
        ("/discussions", ""),
        ("/people/lee", ""),
        ("/special/wanted", ""),
        ("/wiki/Public%20Page", ""),
        ("/search?q=quokkaword", "quokkaword"),
        ("/search?q=zanzibar", "zanzibar"),
        ("/search?q=tag%3Azanzitag", "zanzitag"),
        ("/search?q=discount", ""),
        ("/api/v1/pages", ""),
        ("/api/v1/pages?tag=zanzitag", "zanzitag"),
        ("/api/v1/pages/Public%20Page", ""),
        ("/api/v1/changes", ""),
        ("/api/v1/discussions?status=all", ""),
        ("/api/v1/search?q=quokkaword", "quokkaword"),
        ("/api/v1/search?q=discount", ""),
        ("/api/v1/search?q=discount&past=1", ""),
        ("/api/v1/suggest?q=zanz", "zanz"),
    ];
    let mut wrong = Vec::new();
    for (door, asked) in doors {
        let (s_in, b_in) = app.get(door, &lee).await;
        let (s_out, b_out) = app.get(door, &otto).await;
        if s_in != StatusCode::OK || s_out != StatusCode::OK {
            wrong.push(format!("{door}: member {s_in}, outsider {s_out}"));
            continue;
        }
        if leaks(&b_in, asked).is_empty() {
            wrong.push(format!("{door}: the member does not see the folder ({b_in:.300})"));
        }
        let found = leaks(&b_out, asked);
        if !found.is_empty() {
            wrong.push(format!("{door}: the outsider sees {found:?}"));
        }
    }
    // Doors to the folder itself: the member gets in, the outsider finds nothing there.
    let thread = app.get("/api/v1/discussions?status=all", &lee).await.1;
    let thread: Value = serde_json::from_str(&thread).unwrap();
    let thread_id = thread["threads"][0]["id"].as_str().unwrap().to_string();
    let inside = [
        "/wiki/deals/D-17".to_string(),
        "/wiki/deals/".to_string(),
        "/wiki/deals/zanzibar-terms.txt".to_string(),
        "/history/deals/D-17".to_string(),
        "/api/v1/pages/deals/D-17".to_string(),
        "/api/v1/pages/deals/D-17/history".to_string(),
        "/api/v1/pages/deals/D-17/discussions".to_string(),
        format!("/api/v1/discussions/{thread_id}"),
        format!("/discussions/{thread_id}"),
    ];
    for door in &inside {
        let (s_in, _) = app.get(door, &lee).await;
        let (s_out, b_out) = app.get(door, &otto).await;
        let ok_in = s_in.is_success() || s_in.is_redirection();
        if !ok_in || s_out != StatusCode::NOT_FOUND {
            wrong.push(format!("{door}: member {s_in}, outsider {s_out}"));
        }
        let found = leaks(&b_out, "zanzibar");
        if !found.is_empty() {
            wrong.push(format!("{door}: the outsider's 404 names {found:?}"));
        }
    }
    // The folder's name in listings.
    for door in ["/browse", "/"] {
        let (_, b_in) = app.get(door, &lee).await;
        let (_, b_out) = app.get(door, &otto).await;
        if !b_in.contains("/wiki/deals/") || b_out.contains("/wiki/deals/") {
            wrong.push(format!(
                "{door}: the folder is listed for the member: {}, for the outsider: {}",
                b_in.contains("/wiki/deals/"),
                b_out.contains("/wiki/deals/")
            ));
        }
    }
    // "Did you mean" draws no word from the folder.
    let (_, dym) = app.get("/api/v1/search?q=quokkawrd", &otto).await;
    let dym: Value = serde_json::from_str(&dym).unwrap();
    if !dym["did_you_mean"].is_null() {
        wrong.push(format!("did you mean, for the outsider: {}", dym["did_you_mean"]));
    }
    let (_, dym) = app.get("/api/v1/search?q=quokkawrd", &lee).await;
    let dym: Value = serde_json::from_str(&dym).unwrap();
    if dym["did_you_mean"] != "quokkaword" {
        wrong.push(format!("did you mean, for the member: {}", dym["did_you_mean"]));
    }
    // The mention of the outsider in the folder's thread never reached their inbox.
    let (_, inbox) = app.get("/api/v1/inbox", &otto).await;
    if !leaks(&inbox, "").is_empty() || inbox.contains("mention") {
        wrong.push(format!("the outsider was told: {inbox}"));
    }
    // A page outside links to the folder: the link keeps the words its author wrote, but the
    // target's title and the page linking back stay hidden.
    let (_, public) = app.get("/api/v1/pages/Public%20Page", &otto).await;
    let public: Value = serde_json::from_str(&public).unwrap();
    if public["backlinks"] != json!([]) || public["links"][0]["title"] != Value::Null {
        wrong.push(format!("Public Page for the outsider: {public}"));
    }
    // Its links into the folder lead nowhere for the outsider (as links to missing pages), and
    // the link by title does not find the page, so its path is not told either.
    let (_, html_out) = app.get("/wiki/Public%20Page", &otto).await;
    let (_, html_in) = app.get("/wiki/Public%20Page", &lee).await;
    if html_out.contains("href=\"/wiki/deals/") || html_out.contains("deals/Floor") {
        wrong.push(format!("Public Page links into the folder for the outsider: {html_out}"));
    }
    if !html_in.contains("href=\"/wiki/deals/D-17\"")
        || !html_in.contains("href=\"/wiki/deals/Floor\"")
    {
        wrong.push(format!("Public Page links into the folder for the member: {html_in}"));
    }
    let hidden_links: Vec<&Value> = public["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["exists"] == true || l["path"] == "deals/Floor")
        .collect();
    if public["links"].as_array().unwrap().len() != 2 || !hidden_links.is_empty() {
        wrong.push(format!("Public Page's links for the outsider: {}", public["links"]));
    }
    // The same in a discussion of the open page, wherever its comments are shown.
    app.api(
        "POST",
        "/api/v1/pages/Public%20Page/discussions",
        &lee,
        json!({"title": "Where to look", "body": "Compare [[Floor Memo]] with [[deals/D-17]]."}),
    )
    .await;
    let (_, threads_in) = app.get("/api/v1/pages/Public%20Page/discussions", &lee).await;
    let threads_in: Value = serde_json::from_str(&threads_in).unwrap();
    let public_thread = threads_in["threads"][0]["id"].as_str().unwrap().to_string();
    for door in [
        "/wiki/Public%20Page".to_string(),
        "/api/v1/pages/Public%20Page/discussions".to_string(),
        format!("/api/v1/discussions/{public_thread}"),
    ] {
        let (_, b_in) = app.get(&door, &lee).await;
        let (_, b_out) = app.get(&door, &otto).await;
        let into = |b: &str| b.contains("/wiki/deals/Floor") && b.contains("/wiki/deals/D-17");
        if !into(&b_in) || b_out.contains("/wiki/deals/") || b_out.contains("deals/Floor") {
            wrong.push(format!(
                "{door}: the comment's links lead in for the member: {}, for the outsider: {}",
                into(&b_in),
                b_out.contains("/wiki/deals/")
            ));
        }
    }
    // Git copies everything, so the outsider may not clone.
    let (status, _) = app.get("/wiki.git/info/refs?service=git-upload-pack", &otto).await;
    if status != StatusCode::FORBIDDEN {
        wrong.push(format!("git for the outsider: {status}"));
    }
    // Nor write into the folder, nor move a page there.
    let req = call("PUT", "/api/v1/pages/deals/Otto%20Was%20Here")
        .token(Some(&otto))
        .json(&json!({"markdown": "# Hi\n"}));
    let r = app.send(req).await;
    if r.status != StatusCode::FORBIDDEN {
        wrong.push(format!("the outsider wrote into the folder: {}", r.status));
    }
    // Told about a page while it was open, then the folder closes: the inbox and its unread
    // count forget it.
    app.api("PUT", "/api/v1/pages/later/Plan", &lee, json!({"markdown": "# Plan\n"})).await;
    app.api(
        "POST",
        "/api/v1/pages/later/Plan/discussions",
        &lee,
        json!({"title": "Timing", "body": "@otto when?"}),
    )
    .await;
    let before: Value = serde_json::from_str(&app.get("/api/v1/inbox", &otto).await.1).unwrap();
    acc.set_folder_rule("later", &["deal-desk"]).unwrap();
    let after: Value = serde_json::from_str(&app.get("/api/v1/inbox", &otto).await.1).unwrap();
    if before["unread"] != 1 || after["unread"] != 0 || after["notifications"] != json!([]) {
        wrong.push(format!("inbox before the rule: {before}, after: {after}"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

impl App {
    /// `method uri` with an optional bearer token and JSON body: (status, body).
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, String) {
        let req = call(method, uri).token(token);
        let r = self
            .send(match body {
                Some(b) => req.json(&b),
                None => req.empty(),
            })
            .await;
        (r.status, r.body)
    }

    /// The file at the head of the repository, read with the git CLI.
    fn git_show(&self, file: &str) -> String {
        self.git(&["show", &format!("HEAD:{file}")])
    }
}

/// The doors a review found open: folder names holding URL characters, "did you mean", moves
/// that update links, history across a move, orphaned pages, and answers that told a hidden page
/// from a missing one. Each check names what it saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_folders_hold_whatever_the_names_and_the_door() {
    let app = App::with_accounts(Access::Read);
    let acc = app.accounts();
    acc.add_user("lee", "lee@example.com", Role::Editor, PW).unwrap();
    acc.add_user("otto", "otto@example.com", Role::Editor, PW).unwrap();
    acc.add_group("desk").unwrap();
    acc.add_member("desk", "lee").unwrap();
    let odd = ["C# team", "50% off", "a&b?c", "Q+A", "v1.2 notes", "Ärger"];
    for folder in odd.iter().chain(&["deals"]) {
        acc.set_folder_rule(&format!("{folder}/**"), &["desk"]).unwrap();
    }
    let lee = acc.create_token("lee", "t").unwrap().1;
    let otto = acc.create_token("otto", "t").unwrap().1;
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let url = |path: &str| path.split('/').map(enc).collect::<Vec<_>>().join("/");
    let mut wrong = Vec::new();

    // 1. Folder names with `#`, `%`, `&`, `?`, `+`, dots and accents: whole segments, any case.
    for folder in odd {
        let page = format!("{folder}/Plan");
        app.api(
            "PUT",
            &format!("/api/v1/pages/{}", url(&page)),
            &lee,
            json!({"markdown": "# Plan\n\nsecretword inside\n"}),
        )
        .await;
        for spelled in [page.clone(), page.to_uppercase()] {
            for door in [
                format!("/api/v1/pages/{}", url(&spelled)),
                format!("/wiki/{}", url(&spelled)),
                format!("/history/{}", url(&spelled)),
            ] {
                let want_in = if spelled == page { StatusCode::OK } else { StatusCode::NOT_FOUND };
                let (s_in, _) = app.call("GET", &door, Some(&lee), None).await;
                let (s_anon, b_anon) = app.call("GET", &door, None, None).await;
                let (s_out, _) = app.call("GET", &door, Some(&otto), None).await;
                let ok_in = s_in == want_in || s_in.is_redirection();
                if !ok_in || s_anon != StatusCode::NOT_FOUND || s_out != StatusCode::NOT_FOUND {
                    wrong.push(format!(
                        "{door}: member {s_in}, anonymous {s_anon}, outsider {s_out}"
                    ));
                }
                if b_anon.contains("secretword") {
                    wrong.push(format!("{door}: the anonymous answer shows the text"));
                }
            }
        }
    }
    // A rule written in another case than the folder's name, in a script whose case folding
    // is not one letter for one (`ß` and `SS`).
    acc.set_folder_rule("STRASSE/**", &["desk"]).unwrap();
    app.api(
        "PUT",
        &format!("/api/v1/pages/{}", url("Straße/Memo")),
        &lee,
        json!({"markdown": "# Memo\n\nsecretword on the street\n"}),
    )
    .await;
    app.state.engine.wait_indexed();
    for (who, token, want) in [("member", Some(&lee), 7), ("outsider", Some(&otto), 0)] {
        let (_, b) =
            app.call("GET", "/api/v1/search?q=secretword", token.map(|t| t.as_str()), None).await;
        let v: Value = serde_json::from_str(&b).unwrap();
        if v["total"] != want || b.contains("secretword") != (want > 0) {
            wrong.push(format!("search for the {who}: {b:.300}"));
        }
    }

    // 2. "Did you mean" offers no word that only hidden pages hold.
    app.api(
        "PUT",
        "/api/v1/pages/deals/Acme",
        &lee,
        json!({"markdown": "# Acme\n\nalpha bravo codename zanzibar\n"}),
    )
    .await;
    app.api(
        "PUT",
        "/api/v1/pages/Open%20Notes",
        &otto,
        json!({"markdown": "# Open Notes\n\nalpha bravo charlie\n"}),
    )
    .await;
    app.state.engine.wait_indexed();
    for (who, token, want) in [
        ("member", Some(lee.as_str()), Some("alpha bravo zanzibar")),
        ("outsider", Some(otto.as_str()), None),
        ("visitor", None, None),
    ] {
        let (_, b) = app.call("GET", "/api/v1/search?q=alpha%20bravo%20zanzibr", token, None).await;
        let v: Value = serde_json::from_str(&b).unwrap();
        if v["did_you_mean"].as_str() != want {
            wrong.push(format!("did you mean for the {who}: {}", v["did_you_mean"]));
        }
    }

    // 3. A move by someone outside the folder neither writes into it nor names it, and the old
    // path still leads to the page.
    app.api("PUT", "/api/v1/pages/Pricing", &otto, json!({"markdown": "# Pricing\n"})).await;
    app.api(
        "PUT",
        "/api/v1/pages/deals/Deal2",
        &lee,
        json!({"markdown": "# Deal2\n\nSee [[Pricing]].\n"}),
    )
    .await;
    app.api(
        "PUT",
        "/api/v1/pages/Overview",
        &otto,
        json!({"markdown": "# Overview\n\nSee [[Pricing]].\n"}),
    )
    .await;
    app.state.engine.wait_indexed();
    let moved = app
        .api(
            "POST",
            "/api/v1/pages/Pricing/move",
            &otto,
            json!({"to": "Price List", "update_links": true}),
        )
        .await;
    if moved["updated_pages"] != json!(["Overview"]) {
        wrong.push(format!("the move's answer: {moved}"));
    }
    if !app.git_show("deals/Deal2.md").contains("[[Pricing]]")
        || !app.git_show("Overview.md").contains("Price List")
    {
        wrong.push(format!(
            "after the move: deals/Deal2.md {:?}, Overview.md {:?}",
            app.git_show("deals/Deal2.md"),
            app.git_show("Overview.md")
        ));
    }
    let (status, _) = app.call("GET", "/wiki/Pricing", Some(&lee), None).await;
    let r = app.send(call("GET", "/wiki/Pricing").token(Some(&lee)).empty()).await;
    let location = r.headers.get(header::LOCATION).map(|l| l.to_str().unwrap().to_string());
    if !status.is_redirection() || location.as_deref() != Some("/wiki/Price%20List") {
        wrong.push(format!("the old path answers {status} to {location:?}"));
    }

    // 4. History across a move out of the folder: what came before is one neutral line.
    for text in ["first draft", "second draft"] {
        app.api(
            "PUT",
            "/api/v1/pages/deals/Secret%20Plan",
            &lee,
            json!({"markdown": format!("# Plan\n\n{text}\n"), "message": format!("Zanzibar {text}")}),
        )
        .await;
    }
    app.api("POST", "/api/v1/pages/deals/Secret%20Plan/move", &lee, json!({"to": "Open Plan"}))
        .await;
    app.api(
        "PUT",
        "/api/v1/pages/Open%20Plan",
        &lee,
        json!({"markdown": "# Plan\n\nthird, open\n", "message": "Open edit"}),
    )
    .await;
    for door in ["/api/v1/pages/Open%20Plan/history", "/history/Open%20Plan"] {
        let (s_out, b_out) = app.call("GET", door, Some(&otto), None).await;
        let (_, b_in) = app.call("GET", door, Some(&lee), None).await;
        for secret in ["deals", "Zanzibar"] {
            if !b_in.contains(secret) {
                wrong.push(format!("{door}: the member does not see {secret}"));
            }
            if b_out.contains(secret) {
                wrong.push(format!("{door}: the outsider sees {secret} ({s_out})"));
            }
        }
        if !b_out.contains("Open edit") || !b_out.contains("folder you cannot read") {
            wrong.push(format!("{door}: the outsider's history: {b_out:.600}"));
        }
    }
    let (_, h) = app.call("GET", "/api/v1/pages/Open%20Plan/history", Some(&otto), None).await;
    let h: Value = serde_json::from_str(&h).unwrap();
    if h["revisions"].as_array().map(Vec::len) != Some(2) || h["earlier"].is_null() {
        wrong.push(format!("the outsider's history: {h}"));
    }
    // The old address of a page moved out of the folder is as missing as any other there (for
    // the member it leads to the page), and a page moved into the folder leaves a history
    // that does not name where it went.
    let (s_out, _) = app.call("GET", "/wiki/deals/Secret%20Plan", Some(&otto), None).await;
    let (s_in, _) = app.call("GET", "/wiki/deals/Secret%20Plan", Some(&lee), None).await;
    if s_out != StatusCode::NOT_FOUND || !s_in.is_redirection() {
        wrong.push(format!("the moved page's old address: outsider {s_out}, member {s_in}"));
    }
    app.api("PUT", "/api/v1/pages/Roadmap", &otto, json!({"markdown": "# Roadmap\n"})).await;
    app.api("POST", "/api/v1/pages/Roadmap/move", &lee, json!({"to": "deals/Zanzibar Roadmap"}))
        .await;
    let (_, b_out) = app.call("GET", "/history/Roadmap", Some(&otto), None).await;
    if b_out.contains("Zanzibar") || !b_out.contains("folders you cannot read") {
        wrong.push(format!("the history of a page moved into the folder: {b_out:.300}"));
    }

    // 5. Orphaned pages: a link from a page the reader may not see does not count.
    app.api("PUT", "/api/v1/pages/Lonely", &otto, json!({"markdown": "# Lonely\n"})).await;
    app.api("PUT", "/api/v1/pages/deals/Fan", &lee, json!({"markdown": "# Fan\n\n[[Lonely]]\n"}))
        .await;
    app.state.engine.wait_indexed();
    let (_, orphans_in) = app.call("GET", "/special/orphans", Some(&lee), None).await;
    let (_, orphans_out) = app.call("GET", "/special/orphans", Some(&otto), None).await;
    let lonely = |b: &str| b.contains(">Lonely</a>");
    if lonely(&orphans_in) || !lonely(&orphans_out) {
        wrong.push(format!(
            "orphans: Lonely listed for the member: {}, for the outsider: {}",
            lonely(&orphans_in),
            lonely(&orphans_out)
        ));
    }

    // 6. No existence oracle: to the outsider and the visitor, every door answers the hidden
    // page `deals/Acme` (and folder `deals/Acme/`) exactly as the missing `deals/Nope` (its
    // name aside).
    app.api("PUT", "/api/v1/pages/deals/Acme/Inner", &lee, json!({"markdown": "# Inner\n"})).await;
    let probes: &[(&str, &str, Option<Value>)] = &[
        ("GET", "/api/v1/pages/{}", None),
        ("GET", "/api/v1/pages/{}/history", None),
        ("GET", "/api/v1/pages/{}/diff?from=HEAD&to=HEAD", None),
        ("GET", "/api/v1/pages/{}/discussions", None),
        ("GET", "/api/v1/pages/{}?rev=HEAD", None),
        ("POST", "/api/v1/pages/{}/move", Some(json!({"to": "Somewhere Else"}))),
        ("POST", "/api/v1/pages/{}/discussions", Some(json!({"title": "t", "body": "b"}))),
        ("PUT", "/api/v1/pages/{}", Some(json!({"markdown": "# x\n"}))),
        ("DELETE", "/api/v1/pages/{}", None),
        ("GET", "/wiki/{}", None),
        ("GET", "/wiki/{}?rev=HEAD", None),
        ("GET", "/history/{}", None),
        ("GET", "/diff/{}", None),
        ("GET", "/edit/{}", None),
        ("GET", "/move/{}", None),
        ("GET", "/delete/{}", None),
        ("GET", "/feed.atom?folder={}", None),
        ("GET", "/wiki/{}/", None),
        ("GET", "/wiki/{}/Inner", None),
        ("GET", "/api/v1/pages?prefix={}/", None),
        ("GET", "/search?q=inner+folder%3A{}", None),
    ];
    let head = app.commits();
    for (method, pattern, body) in probes {
        for (who, token) in [("outsider", Some(otto.as_str())), ("visitor", None)] {
            let hidden = pattern.replace("{}", "deals/Acme");
            let missing = pattern.replace("{}", "deals/Nope");
            let (s_h, b_h) = app.call(method, &hidden, token, body.clone()).await;
            let (s_m, b_m) = app.call(method, &missing, token, body.clone()).await;
            let (b_h, b_m) = (without_timings(&b_h), without_timings(&b_m.replace("Nope", "Acme")));
            if s_h != s_m || b_h != b_m {
                // Where the answers part, to say what told them apart.
                let at = b_h
                    .char_indices()
                    .zip(b_m.chars())
                    .find(|((_, a), b)| a != b)
                    .map_or(b_h.len().min(b_m.len()), |((i, _), _)| i);
                let from = b_h.floor_char_boundary(at.saturating_sub(80));
                wrong.push(format!(
                    "{method} {pattern} for the {who}: hidden {s_h} …{:.200} / missing {s_m} …{:.200}",
                    &b_h[from..],
                    &b_m[b_m.floor_char_boundary(from)..],
                ));
            }
        }
    }
    if app.commits() != head {
        wrong.push("a probe changed the repository".into());
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `text` with the figures of timings (`5.8 ms`, `"took_ms":5.8`) blanked: they differ between
/// any two requests.
fn without_timings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let end = from.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(from.len());
        let (number, after) = from.split_at(end);
        if after.starts_with(" ms") || before.ends_with("\"took_ms\":") {
            out.push('#');
        } else {
            out.push_str(number);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}
