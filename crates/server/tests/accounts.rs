//! Accounts through the real router: sign-in and sign-out, API tokens, roles, the CSRF check,
//! cross-site refusals, the sign-in throttle, first-run setup, and the commit author.

mod common;

use axum::http::{StatusCode, header};
use casebook_server::{Access, Role, ServerOptions};
use common::{App, PW, Resp, SignedIn, addr, call, session_of, sign_in_request, smtp_sink};
use serde_json::{Value, json};
use std::net::SocketAddr;

impl App {
    async fn get(&self, uri: &str, session: Option<&str>) -> Resp {
        self.send(call("GET", uri).session(session).empty()).await
    }

    async fn post_form(&self, uri: &str, session: Option<&str>, pairs: &[(&str, &str)]) -> Resp {
        self.post_form_with(uri, session, pairs, &[]).await
    }

    /// A form post with `extra` headers.
    async fn post_form_with(
        &self,
        uri: &str,
        session: Option<&str>,
        pairs: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> Resp {
        let b = extra.iter().fold(call("POST", uri).session(session), |b, (k, v)| b.header(k, v));
        self.send(b.form(pairs)).await
    }

    /// `fields` posted to `uri` in ann's session, first without its CSRF token: refused, and
    /// nothing changes; then with it: one commit, by ann. The second answer.
    async fn post_needing_the_token(
        &self,
        ann: &SignedIn,
        uri: &str,
        fields: &[(&str, &str)],
    ) -> Resp {
        let before = self.commits();
        let r = self.post_form(uri, Some(&ann.session), fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "no token");
        assert_eq!(self.commits(), before);
        let mut good = fields.to_vec();
        good.push(("csrf_token", &ann.csrf));
        let r = self.post_form(uri, Some(&ann.session), &good).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(self.commits(), before + 1);
        assert_eq!(self.git_log_author(), "ann <ann@example.com>");
        r
    }

    async fn login_from(&self, name: &str, password: &str, from: SocketAddr) -> Resp {
        self.send_from(sign_in_request(name, password, "/wiki/Home"), from).await
    }

    async fn api(&self, method: &str, uri: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(call(method, uri).token(token).json(&body)).await
    }

    /// `PUT /api/v1/pages/{path}` with `body`, as the owner of `token`.
    async fn put_page(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.api("PUT", &format!("/api/v1/pages/{path}"), token, body).await
    }

    /// A new thread on the page at `path`, started by the owner of `token`.
    async fn post_thread(&self, path: &str, token: Option<&str>, title: &str, body: &str) -> Resp {
        let uri = format!("/api/v1/pages/{path}/discussions");
        self.api("POST", &uri, token, json!({"title": title, "body": body})).await
    }

    /// A comment in the thread `id` by the owner of `token`.
    async fn post_comment(&self, id: &str, token: Option<&str>, body: &str) -> Resp {
        let uri = format!("/api/v1/discussions/{id}/comments");
        self.api("POST", &uri, token, json!({ "body": body })).await
    }

    /// The comment `cid` of the thread `id` changed by the owner of `token`.
    async fn edit_comment(&self, id: &str, cid: &str, token: Option<&str>, body: &str) -> Resp {
        let uri = format!("/api/v1/discussions/{id}/comments/{cid}");
        self.api("PUT", &uri, token, json!({ "body": body })).await
    }

    fn git_log_author(&self) -> String {
        self.git(&["log", "-1", "--format=%an <%ae>"]).trim().to_string()
    }
}

#[tokio::test]
async fn sign_in_with_the_right_password_only() {
    let app = App::with_accounts(Access::Read);
    app.user("ann", Role::Editor);

    let bad = app.login_from("ann", "wrong password", addr(1)).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.cookie().is_none());
    assert!(bad.body.contains("Wrong user name or password"));
    let nobody = app.login_from("nobody", PW, addr(1)).await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);

    let ok = app.login_from("ann", PW, addr(1)).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.location(), "/wiki/Home");
    let cookie = ok.cookie().unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let session = session_of(&cookie);

    let page = app.get("/account", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("ann@example.com"));
    assert!(page.body.contains("Sign out"));
    // Without the cookie the account page asks to sign in.
    assert_eq!(app.get("/account", None).await.status, StatusCode::UNAUTHORIZED);
    // A forged cookie is just anonymous.
    assert_eq!(app.get("/account", Some(&"0".repeat(64))).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_open_redirect_after_sign_in_is_refused() {
    let app = App::with_accounts(Access::Read);
    app.user("ann", Role::Editor);
    let sign_in = |next: &str| sign_in_request("ann", PW, next);
    // Each of these is a place on another site once a browser has parsed the Location header
    // (tab, CR and LF dropped, a backslash read as a slash), or not a path at all.
    for next in [
        "//evil.example/",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/",
        "javascript:alert(document.cookie)",
        " /wiki/Home",
        "/wiki/Home\r\nSet-Cookie: casebook_session=x",
    ] {
        let r = app.send_from(sign_in(next), addr(1)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.body);
        assert_eq!(r.location(), "/", "{next:?}");
        assert!(r.cookie().is_some(), "{next:?}: the sign-in itself works");
    }
    // A path on this site, escapes and all, is where the browser goes.
    let r = app.send_from(sign_in("/wiki/Case%20Stories?q=a%2Fb#top"), addr(1)).await;
    assert_eq!(r.location(), "/wiki/Case%20Stories?q=a%2Fb#top");
    // The sign-in form carries only a local path forward: `next=/%09/evil.example` arrives as
    // a tab and is dropped.
    let page = app.get("/login?next=/%09/evil.example", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("evil.example"), "{}", page.body);
}

#[tokio::test]
async fn tokens_roles_and_the_commit_author() {
    let app = App::with_accounts(Access::Read);
    app.user("ann", Role::Editor);
    app.user("rita", Role::Reader);
    let (_, ann) = app.accounts().create_token("ann", "test").unwrap();
    let (_, rita) = app.accounts().create_token("rita", "test").unwrap();
    let body = json!({"markdown": "# Plan\n\nby ann\n"});
    let before = app.commits();

    let r = app.put_page("team/Plan", None, body.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "anonymous may only read");
    let r = app.put_page("team/Plan", Some("cbt_wrong"), body.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("token"));
    // A wrong token is refused even for reading, rather than silently ignored.
    let r = app.api("GET", "/api/v1/pages", Some("cbt_wrong"), json!(null)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.put_page("team/Plan", Some(&rita), body.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a reader may not write");
    assert_eq!(app.commits(), before, "refusals change nothing");
    let r = app.api("GET", "/api/v1/pages", Some(&rita), json!(null)).await;
    assert_eq!(r.status, StatusCode::OK, "a reader may read");

    let r = app.put_page("team/Plan", Some(&ann), body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(app.git_log_author(), "ann <ann@example.com>");

    // Promoted, Rita may write, and her commits carry her name.
    app.accounts().set_role("rita", Role::Editor).unwrap();
    let r = app.put_page("team/Rita", Some(&rita), body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(app.git_log_author(), "rita <rita@example.com>");

    // A revoked token stops working at once.
    let id = app.accounts().tokens("ann").unwrap()[0].id;
    app.accounts().revoke_token("ann", id).unwrap();
    let r = app.put_page("team/Plan", Some(&ann), body).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn form_posts_of_a_session_need_its_csrf_token() {
    let app = App::with_accounts(Access::Read);
    app.user("ann", Role::Editor);
    let ann = app.sign_in("ann").await;
    let (session, csrf) = (&ann.session, &ann.csrf);
    let before = app.commits();

    let fields = [("markdown", "# Notes\n\nfrom the browser\n"), ("message", "notes")];
    let mut wrong = fields.to_vec();
    wrong.push(("csrf_token", "0000"));
    let r = app.post_form("/edit/team/Notes", Some(session), &wrong).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a wrong token");
    // Another session's token does not fit this one.
    let other = app.login("ann").await;
    let other_csrf = app.csrf(&other).await;
    assert_ne!(&other_csrf, csrf);
    let mut theirs = fields.to_vec();
    theirs.push(("csrf_token", &other_csrf));
    let r = app.post_form("/edit/team/Notes", Some(session), &theirs).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.commits(), before);
    app.post_needing_the_token(&ann, "/edit/team/Notes", &fields).await;

    // The editor's page carries the token for its form and for the preview's fetch.
    let page = app.get("/edit/team/Notes", Some(session)).await;
    assert!(page.body.contains(&ann.csrf_field()));
    assert!(page.body.contains(&format!("<meta name=\"csrf-token\" content=\"{csrf}\">")));

    // JSON with the session cookie: the header carries the token.
    let req = |token: Option<&str>| {
        let mut b = call("PUT", "/api/v1/pages/team/Notes").session(Some(session));
        if let Some(t) = token {
            b = b.header("x-csrf-token", t);
        }
        b.json(&json!({"markdown": "# Notes\n\nagain\n"}))
    };
    assert_eq!(app.send(req(None)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.send(req(Some(csrf))).await.status, StatusCode::OK);
}

#[tokio::test]
async fn cross_site_posts_are_refused_even_with_the_token() {
    let app = App::with_accounts(Access::Read);
    app.user("ann", Role::Editor);
    let session = app.login("ann").await;
    let csrf = app.csrf(&session).await;
    let before = app.commits();
    let fields = [("markdown", "# X\n"), ("csrf_token", csrf.as_str())];
    for extra in [
        [("sec-fetch-site", "cross-site"), ("x-none", "")],
        [("origin", "https://evil.example"), ("host", "wiki.example")],
    ] {
        let r = app.post_form_with("/edit/team/X", Some(&session), &fields, &extra).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    // Nor can another site sign a visitor in (login CSRF).
    let r = app
        .post_form_with(
            "/login",
            None,
            &[("name", "ann"), ("password", PW)],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.cookie().is_none());
    assert_eq!(app.commits(), before);
}

/// `Authorization: Basic` for `user:password`, as git sends it.
fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

impl App {
    /// A JSON API read with Basic credentials from `from`.
    async fn api_basic(&self, user: &str, password: &str, from: SocketAddr) -> Resp {
        let req = call("GET", "/api/v1/pages")
            .header("authorization", basic_auth(user, password))
            .empty();
        self.send_from(req, from).await
    }
}

fn retry_after(r: &Resp) -> u64 {
    r.headers.get(header::RETRY_AFTER).expect("Retry-After").to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_guesser_at_one_address_cannot_lock_the_owner_out() {
    let app = App::with_accounts(Access::None);
    app.user("root", Role::Admin);
    app.user("bob", Role::Editor);
    let (guesser, owner) = (addr(1), addr(2));
    for i in 0..5 {
        let r = app.login_from("root", "wrong password", guesser).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "failure {i}");
    }
    // The guesser waits, even with the right password.
    let r = app.login_from("root", PW, guesser).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(retry_after(&r), 1);
    assert!(
        r.body.contains("Too many failed sign-ins for this account from your address"),
        "{}",
        r.body
    );
    assert!(r.cookie().is_none());
    // So do its Basic credentials, for git and the API.
    let r = app.api_basic("root", PW, guesser).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "too_many_requests");
    assert_eq!(retry_after(&r), 1);
    // The owner, elsewhere, signs in at once, by the form and by Basic credentials.
    let r = app.login_from("root", PW, owner).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.cookie().is_some());
    assert_eq!(app.api_basic("root", PW, owner).await.status, StatusCode::OK);
    // Other accounts from the guesser's address are not slowed.
    assert_eq!(app.login_from("bob", PW, guesser).await.status, StatusCode::SEE_OTHER);

    // The wait over, the next failure makes it longer.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = app.login_from("root", "wrong again", guesser).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let r = app.login_from("root", PW, guesser).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&r), 2);
    let r = app.api_basic("root", "wrong", guesser).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&r), 2);
}

#[tokio::test]
async fn failed_basic_credentials_count_like_failed_sign_ins() {
    let app = App::with_accounts(Access::None);
    app.user("ann", Role::Editor);
    for i in 0..5 {
        let r = app.api_basic("ann", "wrong password", addr(1)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "failure {i}: {}", r.body);
    }
    let r = app.api_basic("ann", PW, addr(1)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("Try again in 1 second"));
    // Git's paths get the wait as text.
    let req = call("GET", "/wiki.git/info/refs?service=git-upload-pack")
        .header("authorization", basic_auth("ann", PW))
        .empty();
    let r = app.send_from(req, addr(1)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Too many failed sign-ins"), "{}", r.body);
    assert_eq!(retry_after(&r), 1);
    // The same count as the form.
    assert_eq!(app.login_from("ann", PW, addr(1)).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.api_basic("ann", PW, addr(2)).await.status, StatusCode::OK);
    // A right password clears the count of its own address: a slip right after is not slowed.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(app.login_from("ann", PW, addr(1)).await.status, StatusCode::SEE_OTHER);
    let r = app.api_basic("ann", "wrong password", addr(1)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let r = app.login_from("ann", "wrong password", addr(1)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_slowed() {
    let app = App::with_accounts(Access::Read);
    app.user("bob", Role::Editor);
    // Twenty-one failures from one address, spread over many names, slow that address.
    for i in 0..21 {
        let r = app.login_from(&format!("guess{i}"), "wrong password", addr(3)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "failure {i}");
    }
    let r = app.login_from("bob", PW, addr(3)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("from your address"), "{}", r.body);
    assert_eq!(retry_after(&r), 1);
    assert_eq!(
        app.login_from("bob", PW, addr(4)).await.status,
        StatusCode::SEE_OTHER,
        "another address may still sign in"
    );
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = App::with_accounts(Access::Read);
    app.user("ann", Role::Editor);
    let session = app.login("ann").await;
    let csrf = app.csrf(&session).await;
    // Signing out is a form post like any other: no token, no sign-out.
    let r = app.post_form("/logout", Some(&session), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/account", Some(&session)).await.status, StatusCode::OK);

    let r = app.post_form("/logout", Some(&session), &[("csrf_token", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.cookie().unwrap().contains("Max-Age=0"));
    assert_eq!(
        app.get("/account", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED,
        "the old cookie no longer signs in"
    );
    assert_eq!(app.accounts().session_count("ann").unwrap(), 0);
}

#[tokio::test]
async fn a_password_change_ends_other_sessions_and_tokens_are_made_on_the_account_page() {
    let app = App::with_accounts(Access::Read);
    app.user("ann", Role::Editor);
    let elsewhere = app.login("ann").await;
    let session = app.login("ann").await;
    let csrf = app.csrf(&session).await;

    let r = app
        .post_form(
            "/account/password",
            Some(&session),
            &[
                ("csrf_token", &csrf),
                ("current", "not it at all"),
                ("new", "a new password"),
                ("confirm", "a new password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("current password is wrong"));
    let r = app
        .post_form(
            "/account/password",
            Some(&session),
            &[
                ("csrf_token", &csrf),
                ("current", PW),
                ("new", "a new password"),
                ("confirm", "a new password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let renewed = session_of(&r.cookie().unwrap());
    assert_eq!(app.get("/account", Some(&elsewhere)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/account", Some(&session)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/account", Some(&renewed)).await.status, StatusCode::OK);
    assert!(app.accounts().check_password("ann", "a new password").unwrap().is_some());

    // A token made on the account page is shown once and works.
    let csrf = app.csrf(&renewed).await;
    let r = app
        .post_form("/account/tokens", Some(&renewed), &[("csrf_token", &csrf), ("label", "laptop")])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let marker = "<code class=\"token\">";
    let at = r.body.find(marker).unwrap() + marker.len();
    let token = r.body[at..].split('<').next().unwrap().to_string();
    assert!(token.starts_with("cbt_"));
    let put = app.put_page("Laptop", Some(&token), json!({"markdown": "x"})).await;
    assert_eq!(put.status, StatusCode::CREATED);
    let page = app.get("/account", Some(&renewed)).await;
    assert!(page.body.contains("laptop"));
    assert!(!page.body.contains(&token), "the secret is shown only once");
    let id = app.accounts().tokens("ann").unwrap()[0].id;
    let r = app
        .post_form(
            &format!("/account/tokens/{id}/revoke"),
            Some(&renewed),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(app.accounts().tokens("ann").unwrap().is_empty());
}

#[tokio::test]
async fn only_administrators_manage_accounts() {
    let app = App::with_accounts(Access::Read);
    app.user("root", Role::Admin);
    app.user("ann", Role::Editor);
    let ann = app.login("ann").await;
    assert_eq!(app.get("/admin", Some(&ann)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/admin", None).await.status, StatusCode::UNAUTHORIZED);
    let ann_csrf = app.csrf(&ann).await;
    let r = app
        .post_form(
            "/admin/role",
            Some(&ann),
            &[("csrf_token", &ann_csrf), ("name", "ann"), ("role", "admin")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.accounts().require_user("ann").unwrap().role, Role::Editor);

    let root = app.login("root").await;
    let csrf = app.csrf(&root).await;
    let page = app.get("/admin", Some(&root)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("ann@example.com"));
    let r = app
        .post_form(
            "/admin/role",
            Some(&root),
            &[("csrf_token", &csrf), ("name", "ann"), ("role", "reader")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.accounts().require_user("ann").unwrap().role, Role::Reader);
    // The last administrator stays one.
    let r = app
        .post_form(
            "/admin/role",
            Some(&root),
            &[("csrf_token", &csrf), ("name", "root"), ("role", "editor")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("only administrator"));
    let r = app
        .post_form(
            "/admin/users",
            Some(&root),
            &[
                ("csrf_token", &csrf),
                ("name", "dan"),
                ("email", "dan@example.com"),
                ("role", "editor"),
                ("password", "dans password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(app.accounts().check_password("dan", "dans password").unwrap().is_some());
    let r = app
        .post_form(
            "/admin/users",
            Some(&root),
            &[
                ("csrf_token", &csrf),
                ("name", "<b>"),
                ("email", "x@example.com"),
                ("role", "editor"),
                ("password", "long enough"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!r.body.contains("<b>"), "input is escaped");
    assert_eq!(app.accounts().users().unwrap().len(), 3);
}

#[tokio::test]
async fn the_setup_link_creates_the_first_administrator_once() {
    let app = App::with_accounts(Access::None);
    let link = app.state.setup_link().expect("no administrator yet");
    let code = link.strip_prefix("/setup?code=").unwrap();
    assert_eq!(app.get("/setup?code=wrong", None).await.status, StatusCode::FORBIDDEN);
    let page = app.get(&link, None).await;
    assert_eq!(page.status, StatusCode::OK, "setup works while visitors may not read");
    // The sign-in page, too.
    assert_eq!(app.get("/login", None).await.status, StatusCode::OK);

    let fields = |pw: &str| {
        vec![
            ("code", code.to_string()),
            ("name", "root".into()),
            ("email", "root@example.com".into()),
            ("password", PW.into()),
            ("confirm", pw.to_string()),
        ]
    };
    let mismatch = fields("something else");
    let pairs: Vec<(&str, &str)> = mismatch.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.post_form("/setup", None, &pairs).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!app.accounts().has_admin().unwrap());

    let good = fields(PW);
    let pairs: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.post_form("/setup", None, &pairs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let session = session_of(&r.cookie().unwrap());
    assert_eq!(app.accounts().require_user("root").unwrap().role, Role::Admin);
    assert_eq!(app.get("/admin", Some(&session)).await.status, StatusCode::OK);

    // The link is spent.
    assert!(app.state.setup_link().is_none());
    assert_eq!(app.get(&link, None).await.status, StatusCode::NOT_FOUND);
    let r = app.post_form("/setup", None, &pairs).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.accounts().users().unwrap().len(), 1);
}

#[tokio::test]
async fn an_administrator_made_elsewhere_spends_the_setup_link() {
    let app = App::with_accounts(Access::Read);
    let link = app.state.setup_link().unwrap();
    app.user("root", Role::Admin);
    assert_eq!(app.get(&link, None).await.status, StatusCode::NOT_FOUND);
    assert!(app.state.setup_link().is_none());
}

#[tokio::test]
async fn anonymous_none_hides_everything_but_signing_in() {
    let app = App::with_accounts(Access::None);
    app.user("rita", Role::Reader);
    assert_eq!(app.get("/", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/search?q=x", None).await.status, StatusCode::UNAUTHORIZED);
    let session = app.login("rita").await;
    assert_eq!(app.get("/", Some(&session)).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/search?q=x", Some(&session)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_cookie_is_secure_behind_https() {
    let app = App::with_accounts_and(ServerOptions {
        public_url: Some("https://wiki.example".into()),
        ..ServerOptions::default()
    });
    app.user("ann", Role::Editor);
    let r = app.login_from("ann", PW, addr(1)).await;
    assert!(r.cookie().unwrap().contains("; Secure"));

    let proxied =
        App::with_accounts_and(ServerOptions { trusted_proxy: true, ..ServerOptions::default() });
    proxied.user("ann", Role::Editor);
    let req = |proto: &str| {
        call("POST", "/login")
            .header("x-forwarded-proto", proto)
            .form(&[("name", "ann"), ("password", PW)])
    };
    assert!(proxied.send(req("https")).await.cookie().unwrap().contains("; Secure"));
    assert!(!proxied.send(req("http")).await.cookie().unwrap().contains("Secure"));
    // Without trusting a proxy, its header is ignored.
    let direct = App::with_accounts(Access::Read);
    direct.user("ann", Role::Editor);
    assert!(!direct.send(req("https")).await.cookie().unwrap().contains("Secure"));
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_throttle_counts_the_forwarded_address() {
    let app =
        App::with_accounts_and(ServerOptions { trusted_proxy: true, ..ServerOptions::default() });
    app.user("ann", Role::Editor);
    let login = |name: &str, password: &str, forwarded: &str| {
        call("POST", "/login")
            .header("x-forwarded-for", forwarded)
            .form(&[("name", name), ("password", password)])
    };
    // Every request comes from the proxy's own address; the client is the last hop it added.
    for i in 0..21 {
        let r = app
            .send_from(
                login(&format!("guess{i}"), "wrong password", "9.9.9.9, 203.0.113.7"),
                addr(1),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app.send_from(login("ann", PW, "203.0.113.7"), addr(1)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = app.send_from(login("ann", PW, "203.0.113.8"), addr(1)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn discussions_from_a_session_need_the_token_and_carry_the_account() {
    let app = App::with_accounts(Access::Read);
    app.user("ann", Role::Editor);
    let ann = app.sign_in("ann").await;
    let fields = [("title", "Pricing?"), ("body", "Why the discount?")];
    app.post_needing_the_token(&ann, "/discuss/Home", &fields).await;
    // The page's discussion forms carry the token.
    let page = app.get("/wiki/Home", Some(&ann.session)).await;
    assert!(
        page.body.contains(&format!(
            "action=\"/discuss/Home\"><input type=\"hidden\" {}>",
            ann.csrf_field()
        )),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_typed_record_form_carries_the_token() {
    let app = App::with_accounts(Access::Read);
    app.user("ann", Role::Editor);
    let ann = app.sign_in("ann").await;
    let form_page = app.get("/new/insight", Some(&ann.session)).await;
    assert_eq!(form_page.status, StatusCode::OK);
    assert!(form_page.body.contains(&ann.csrf_field()));
    let fields = [("title", "Listen first"), ("folder", "insights")];
    app.post_needing_the_token(&ann, "/new/insight", &fields).await;
}

#[tokio::test]
async fn signed_in_readers_discuss_but_do_not_edit_and_admins_fix_any_comment() {
    let app = App::with_accounts(Access::Read);
    app.user("rita", Role::Reader);
    app.user("ann", Role::Editor);
    app.user("root", Role::Admin);
    let token = |n: &str| app.accounts().create_token(n, "t").unwrap().1;
    let (rita, ann, root) = (token("rita"), token("ann"), token("root"));
    let r = app.post_thread("Home", Some(&rita), "A reader asks", "Why this page?").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(app.git_log_author(), "rita <rita@example.com>");
    let id = r.json()["id"].as_str().unwrap().to_string();
    let cid = r.json()["comments"][0]["id"].as_str().unwrap().to_string();
    let r = app.put_page("Home", Some(&rita), json!({"markdown": "# Home\n\nmine now\n"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "discussing is not editing");
    let uri = format!("/api/v1/discussions/{id}/comments/{cid}");
    let r = app.api("PUT", &uri, Some(&ann), json!({"body": "tidied"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "not her comment");
    let r = app.api("PUT", &uri, Some(&root), json!({"body": "tidied"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["comments"][0]["markdown"], "tidied");
    let r = app.post_thread("Home", None, "x", "y").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "visitors who only read do not post");
}

#[tokio::test]
async fn a_comment_belongs_to_its_account_not_to_its_email_address() {
    let app = App::with_accounts(Access::Read);
    // E-mail addresses are not unique: an administrator may give two accounts the same one, and
    // single sign-on may make an account with an address its provider did not verify.
    for name in ["ann", "mallory"] {
        app.accounts().add_user(name, "team@example.com", Role::Editor, PW).unwrap();
    }
    let token = |n: &str| app.accounts().create_token(n, "t").unwrap().1;
    let (ann, mallory) = (token("ann"), token("mallory"));
    let r = app.post_thread("Home", Some(&ann), "Pricing", "Ann's words").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let cid = r.json()["comments"][0]["id"].as_str().unwrap().to_string();
    let before = app.commits();

    // Mallory, with the same address, may not change Ann's comment, nor see the way to.
    let uri = format!("/api/v1/discussions/{id}/comments/{cid}");
    let r = app.api("PUT", &uri, Some(&mallory), json!({"body": "Mallory's words"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(app.commits(), before);
    let session = app.login("mallory").await;
    let edit = format!("/discussions/{id}/comments/{cid}/edit");
    assert_eq!(app.get(&edit, Some(&session)).await.status, StatusCode::FORBIDDEN);
    let csrf = app.csrf(&session).await;
    let r = app
        .post_form(&edit, Some(&session), &[("body", "Mallory's words"), ("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(app.commits(), before);
    let page = app.get("/wiki/Home", Some(&session)).await;
    assert!(page.body.contains("<p>Ann's words</p>"), "{}", page.body);
    assert!(!page.body.contains(&edit), "{}", page.body);

    // Ann may, and sees the way to.
    let session = app.login("ann").await;
    let page = app.get("/wiki/Home", Some(&session)).await;
    assert!(page.body.contains(&edit), "{}", page.body);
    let r = app.api("PUT", &uri, Some(&ann), json!({"body": "Ann's better words"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.commits(), before + 1);
}

// Staying informed and "this helped me".

/// The inbox as the API answers it for `token`.
async fn inbox(app: &App, token: &str) -> Value {
    let r = app.api("GET", "/api/v1/inbox", Some(token), json!(null)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

async fn start_thread(app: &App, token: &str, page: &str, title: &str, body: &str) -> String {
    let r = app.post_thread(&page.replace(' ', "%20"), Some(token), title, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_mention_reaches_the_inbox_and_a_reply_the_thread_starter() {
    let app = App::with_accounts(Access::Read);
    app.user("ann", Role::Editor);
    app.user("Bob", Role::Reader);
    app.user("cy", Role::Reader);
    let (_, ann) = app.accounts().create_token("ann", "t").unwrap();
    let (_, bob) = app.accounts().create_token("Bob", "t").unwrap();
    let (_, cy) = app.accounts().create_token("cy", "t").unwrap();

    let id = start_thread(&app, &ann, "Home", "Renewals", "What do you think, @bob?").await;
    let b = inbox(&app, &bob).await;
    assert_eq!(b["unread"], 1, "{b}");
    let n = &b["notifications"][0];
    assert_eq!(n["kind"], "mention");
    assert_eq!(n["actor"], "ann");
    assert_eq!(n["thread"], id.as_str());
    assert!(n["url"].as_str().unwrap().starts_with("/wiki/Home#comment-"));
    assert!(n["summary"].as_str().unwrap().contains("Renewals"));
    // Not the author, and nobody unmentioned.
    assert_eq!(inbox(&app, &ann).await["unread"], 0);
    assert_eq!(inbox(&app, &cy).await["unread"], 0);

    // The header shows the unread count to the signed-in person.
    let session = app.login("Bob").await;
    let page = app.get("/wiki/Home", Some(&session)).await;
    assert!(page.body.contains("aria-label=\"1 unread\">1</span>"), "{}", page.body);
    let inbox_page = app.get("/inbox", Some(&session)).await;
    assert_eq!(inbox_page.status, StatusCode::OK);
    assert!(inbox_page.body.contains("mentioned you in “Renewals”"));

    let r = app.api("POST", "/api/v1/inbox/read", Some(&bob), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["unread"], 0);
    assert_eq!(inbox(&app, &bob).await["unread"], 0);

    // A reply tells whoever took part, never the one replying.
    let r = app.post_comment(&id, Some(&cy), "We lost it on price.").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let a = inbox(&app, &ann).await;
    assert_eq!(a["unread"], 1, "{a}");
    assert_eq!(a["notifications"][0]["kind"], "reply");
    assert_eq!(a["notifications"][0]["actor"], "cy");
    assert_eq!(inbox(&app, &cy).await["unread"], 0);
    // Bob was only mentioned: he did not take part.
    assert_eq!(inbox(&app, &bob).await["unread"], 0);

    // One notification per person per action: a mention wins over a reply.
    let r = app.post_comment(&id, Some(&cy), "@ann does that match your notes?").await;
    assert_eq!(r.status, StatusCode::CREATED);
    let a = inbox(&app, &ann).await;
    assert_eq!(a["unread"], 2);
    assert_eq!(a["notifications"][0]["kind"], "mention");

    // Changing a comment tells only the names it newly mentions.
    let cid = a["notifications"][0]["comment"].as_str().unwrap().to_string();
    let r = app.edit_comment(&id, &cid, Some(&cy), "@ann @bob does that match your notes?").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(inbox(&app, &ann).await["unread"], 2);
    let b = inbox(&app, &bob).await;
    assert_eq!(b["unread"], 1);
    assert_eq!(b["notifications"][0]["comment"], cid.as_str());

    // Marking one read, by its id; another's id is not found.
    let nid = a["notifications"][0]["id"].as_i64().unwrap();
    let r = app.api("POST", "/api/v1/inbox/read", Some(&bob), json!({"id": nid})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.api("POST", "/api/v1/inbox/read", Some(&ann), json!({"id": nid})).await;
    assert_eq!(r.json()["unread"], 1);
    // Visitors have no inbox.
    let r = app.api("GET", "/api/v1/inbox", None, json!(null)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn watching_a_folder_tells_of_edits_until_unwatched() {
    let app = App::with_accounts(Access::Read);
    app.user("ann", Role::Editor);
    app.user("bob", Role::Reader);
    let (_, ann) = app.accounts().create_token("ann", "t").unwrap();
    let (_, bob) = app.accounts().create_token("bob", "t").unwrap();
    let put = |text: &'static str| {
        let app = &app;
        let ann = ann.clone();
        async move {
            let r = app.put_page("team/deep/Plan", Some(&ann), json!({"markdown": text})).await;
            assert!(r.status.is_success(), "{}", r.body);
        }
    };
    put("# Plan\n\none\n").await;
    let bob_in = app.sign_in("bob").await;
    let (session, csrf) = (bob_in.session.clone(), bob_in.csrf.clone());

    // The folder page offers the button, with the token.
    let folder = app.get("/wiki/team/", Some(&session)).await;
    assert!(folder.body.contains("action=\"/watch\""), "{}", folder.body);
    assert!(folder.body.contains(&bob_in.csrf_field()));

    let watch = [("kind", "folder"), ("path", "team"), ("on", "1")];
    // Without the token: refused, nothing watched.
    let r = app.post_form("/watch", Some(&session), &watch).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(app.accounts().watches("bob").unwrap().is_empty());
    // A visitor cannot watch.
    let r = app.post_form("/watch", None, &watch).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Bad input changes nothing.
    let mut bad = watch.to_vec();
    bad[1] = ("path", "../etc");
    bad.push(("csrf_token", &csrf));
    let r = app.post_form("/watch", Some(&session), &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(app.accounts().watches("bob").unwrap().is_empty());

    let mut good = watch.to_vec();
    good.push(("csrf_token", &csrf));
    let r = app.post_form("/watch", Some(&session), &good).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/wiki/team/");
    let folder = app.get("/wiki/team/", Some(&session)).await;
    assert!(folder.body.contains("Unwatch folder"));

    put("# Plan\n\ntwo\n").await;
    let b = inbox(&app, &bob).await;
    assert_eq!(b["unread"], 1, "{b}");
    assert_eq!(b["notifications"][0]["kind"], "edit");
    assert_eq!(b["notifications"][0]["page"], "team/deep/Plan");
    // The editor is not told of their own edit, and an unchanged save tells nobody.
    assert_eq!(inbox(&app, &ann).await["unread"], 0);
    put("# Plan\n\ntwo\n").await;
    assert_eq!(inbox(&app, &bob).await["unread"], 1);
    // A new thread on a watched page is news too.
    start_thread(&app, &ann, "team/deep/Plan", "Scope", "Too wide?").await;
    let b = inbox(&app, &bob).await;
    assert_eq!(b["unread"], 2);
    assert_eq!(b["notifications"][0]["kind"], "thread");

    let mut stop = good.clone();
    stop[2] = ("on", "0");
    let r = app.post_form("/watch", Some(&session), &stop).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    put("# Plan\n\nthree\n").await;
    assert_eq!(inbox(&app, &bob).await["unread"], 2);

    // Watching one page works the same way.
    let page = [("kind", "page"), ("path", "team/deep/Plan"), ("on", "1"), ("csrf_token", &csrf)];
    let r = app.post_form("/watch", Some(&session), &page).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    put("# Plan\n\nfour\n").await;
    assert_eq!(inbox(&app, &bob).await["unread"], 3);
}

#[tokio::test]
async fn helpful_marks_toggle_count_and_feed_the_home_page() {
    let app = App::with_accounts(Access::Read);
    app.user("ann", Role::Reader);
    app.user("bob", Role::Reader);
    let story = app
        .state
        .engine
        .records("case-story", &casebook_core::ReadScope::everything())
        .into_iter()
        .next()
        .expect("the starter content has case stories");
    let url = format!(
        "/wiki/{}",
        percent_encoding::utf8_percent_encode(&story.path, percent_encoding::NON_ALPHANUMERIC)
            .to_string()
            .replace("%2F", "/")
    );
    let home = app.get("/", None).await;
    assert!(!home.body.contains("Most helpful case stories"));

    let mut sessions = Vec::new();
    for name in ["ann", "bob"] {
        let signed_in = app.sign_in(name).await;
        let page = app.get(&url, Some(&signed_in.session)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("This helped me"));
        assert!(page.body.contains(&signed_in.csrf_field()));
        let SignedIn { session: s, csrf } = signed_in;
        let mark = [("page", story.path.as_str()), ("on", "1"), ("csrf_token", &csrf)];
        let r = app.post_form("/helpful", Some(&s), &mark).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        // Twice is still one mark.
        app.post_form("/helpful", Some(&s), &mark).await;
        sessions.push((s, csrf));
    }
    let page = app.get(&url, None).await;
    assert!(page.body.contains("Helped 2 people"), "{}", page.body);
    // Visitors see counts but no buttons.
    assert!(!page.body.contains("action=\"/helpful\""));
    let home = app.get("/", None).await;
    assert!(home.body.contains("Most helpful case stories"));
    assert!(home.body.contains("helped 2"), "{}", home.body);
    assert!(home.body.contains(&story.title));

    let (s, csrf) = &sessions[0];
    let unmark = [("page", story.path.as_str()), ("on", "0"), ("csrf_token", csrf)];
    app.post_form("/helpful", Some(s), &unmark).await;
    assert!(app.get(&url, None).await.body.contains("Helped 1 person"));

    // A comment can help too; a comment that is not on the page cannot be marked.
    let (_, ann) = app.accounts().create_token("ann", "t").unwrap();
    start_thread(&app, &ann, &story.path, "Lesson", "Call early.").await;
    let thread = app
        .api(
            "GET",
            &format!("/api/v1/pages/{}/discussions", story.path.replace(' ', "%20")),
            Some(&ann),
            json!(null),
        )
        .await
        .json();
    let cid = thread["threads"][0]["comments"][0]["id"].as_str().unwrap().to_string();
    let on = [
        ("page", story.path.as_str()),
        ("comment", cid.as_str()),
        ("on", "1"),
        ("csrf_token", csrf),
    ];
    let r = app.post_form("/helpful", Some(s), &on).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().ends_with(&format!("#comment-{cid}")));
    assert_eq!(app.accounts().helpful_counts().unwrap()[&story.path][&cid], 1);
    let wrong = [("page", "Home"), ("comment", cid.as_str()), ("on", "1"), ("csrf_token", csrf)];
    let r = app.post_form("/helpful", Some(s), &wrong).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A visitor cannot mark.
    let r = app.post_form("/helpful", None, &[("page", "Home"), ("on", "1")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn with_smtp_configured_a_mention_is_also_mailed() {
    let (relay, mails) = smtp_sink();
    let app = App::with_accounts_and(ServerOptions {
        smtp_relay: Some(relay),
        smtp_from: Some("wiki@example.com".into()),
        ..ServerOptions::default()
    });
    app.user("ann", Role::Editor);
    app.user("bob", Role::Reader);
    let (_, ann) = app.accounts().create_token("ann", "t").unwrap();
    let started = std::time::Instant::now();
    start_thread(&app, &ann, "Home", "Pricing", "@bob see this\n.\nend").await;
    // The request does not wait for the mail.
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    let (rcpt, data) =
        tokio::task::spawn_blocking(move || mails.recv_timeout(std::time::Duration::from_secs(5)))
            .await
            .unwrap()
            .expect("the mention arrives at the sink");
    assert_eq!(rcpt, "<bob@example.com>");
    assert!(data.contains("To: bob@example.com\n"), "{data}");
    assert!(data.contains("From: wiki@example.com\n"), "{data}");
    let subject = data
        .lines()
        .find_map(|l| l.strip_prefix("Subject: =?UTF-8?B?"))
        .and_then(|s| s.strip_suffix("?="))
        .map(base64_decode)
        .expect("an encoded subject");
    assert_eq!(subject, "[Casebook] ann mentioned you in “Pricing” on Welcome to Casebook");
    // The body says it too, in UTF-8.
    assert!(data.contains("ann mentioned you in “Pricing”"), "{data}");
    assert!(data.contains("/wiki/Home#comment-"), "{data}");
    assert_eq!(inbox(&app, &app.accounts().create_token("bob", "t").unwrap().1).await["unread"], 1);
}

fn base64_decode(s: &str) -> String {
    const ABC: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.chars().filter(|&c| c != '=') {
        bits = (bits << 6) | ABC.find(c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// `@` completion: the authors of changes for everyone who may read, and the accounts only for
/// someone signed in; names starting with the question come before names containing it.
#[tokio::test]
async fn people_are_offered_by_name_and_accounts_only_to_those_signed_in() {
    let app = App::with_accounts(Access::Read);
    app.user("ann", Role::Admin);
    app.user("Mariana", Role::Editor);
    assert!(app.change_with_git(("Anders Lind", "al@example.com"), "a page", |dir| {
        std::fs::write(dir.join("Plan.md"), "# Plan\n").unwrap();
    }));
    let names = |r: &Resp| -> Vec<String> {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()["people"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    let anonymous = app.send(call("GET", "/api/v1/people?q=an").empty()).await;
    assert_eq!(names(&anonymous), ["Anders Lind"], "an anonymous reader sees only authors");
    let ann = app.login("ann").await;
    let signed_in = app.send(call("GET", "/api/v1/people?q=AN").session(Some(&ann)).empty()).await;
    assert_eq!(names(&signed_in), ["Anders Lind", "ann", "Mariana"]);
    assert_eq!(signed_in.json()["people"][2]["url"], "/people/Mariana");
}
