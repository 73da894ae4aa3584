//! Page types through the router: the new-page form, the card and warnings on a page, the
//! browser's filters taken from the type, and type files changed with git.

use super::*;
use axum::body::Body;
use axum::http::Request;

fn form(uri: &str, pairs: &[(&str, &str)]) -> Request<Body> {
    call("POST", uri).form(pairs)
}

/// The theme escapes `/` in attribute values and text; the tests read it plainly.
fn unescape_slashes(html: &str) -> String {
    html.replace("&#x2f;", "/")
}

const GOOD: &[(&str, &str)] = &[
    ("title", "Zephyr Pilot"),
    ("folder", "cases"),
    ("tags", "pilot, grocery"),
    ("f_customer", "Zephyr & Co"),
    ("f_industry", "retail"),
    ("f_region", "emea"),
    ("f_outcome", "won"),
    ("f_deal_type", "new-business"),
    ("f_deal_size", "$120k"),
    ("f_currency", "EUR"),
    ("f_closed", "2025-03-03"),
];

/// Commits and pushes a change made in a clone of the app's repository, then lets the engine
/// notice it.
fn change_with_git(app: &App, change: impl FnOnce(&std::path::Path)) {
    assert!(app.change_with_git(("P", "p@x"), "change the types", change));
}

#[tokio::test]
async fn the_new_page_form_follows_the_type() {
    let app = App::new(Access::Edit);
    let (s, body) = app.get("/new").await;
    let body = unescape_slashes(&body);
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("href=\"/new/case-story\"") && body.contains("href=\"/new/insight\""));
    let (s, body) = app.get("/new/case-story").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("<select class=\"input\" name=\"f_outcome\" required>"),
        "enum fields are selects"
    );
    assert!(body.contains("<option value=\"no-decision\">"));
    assert!(body.contains("name=\"f_closed\" type=\"date\""), "date fields are date inputs");
    assert!(
        body.contains(
            "name=\"f_deal_size\" type=\"text\" value=\"\" required inputmode=\"decimal\""
        ),
        "{body}"
    );
    assert!(body.contains("name=\"folder\" value=\"cases\""), "the folder comes from the type");

    // Missing and wrong fields: the form comes back with the person's input, nothing is saved.
    let n = app.commits();
    let mut bad: Vec<(&str, &str)> = GOOD.to_vec();
    bad.retain(|(k, _)| *k != "f_region");
    bad.iter_mut().for_each(|p| {
        if p.0 == "f_outcome" {
            p.1 = "sideways";
        }
        if p.0 == "f_closed" {
            p.1 = "March 3rd";
        }
    });
    let r = app.send(form("/new/case-story", &bad)).await;
    let body = r.body;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(body.contains("value=\"Zephyr &amp; Co\""), "the input is kept: {body}");
    assert!(body.contains("value=\"March 3rd\""));
    assert!(body.contains("choose one of won, lost, no-decision"));
    assert!(body.contains("is not a date"));
    assert!(body.contains("this field is required"));
    assert_eq!(app.commits(), n);

    let mut no_title = GOOD.to_vec();
    no_title[0].1 = " ";
    let r = app.send(form("/new/case-story", &no_title)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("give the page a title"));
    assert_eq!(app.commits(), n);

    // A good form: one commit, and the editor opens on the new page.
    let r = app.send(form("/new/case-story", GOOD)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/edit/cases/Zephyr%20Pilot");
    assert_eq!(app.commits(), n + 1);
    let (_, v) = app.api_get("/api/v1/pages/cases/Zephyr%20Pilot").await;
    assert_eq!(v["front_matter"]["deal_size"], 120000);
    assert_eq!(v["front_matter"]["customer"], "Zephyr & Co");
    assert_eq!(v["tags"], json!(["pilot", "grocery"]));
    assert!(v["markdown"].as_str().unwrap().contains("## Situation"));
    let (_, page) = app.get("/wiki/cases/Zephyr%20Pilot").await;
    assert!(page.contains("<dt>Deal size</dt><dd>EUR 120,000</dd>"), "{page}");
    assert!(!page.contains("does not fit its type"));

    // The same title again is refused, with the input kept.
    let r = app.send(form("/new/case-story", GOOD)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("exists already"));
    assert_eq!(app.commits(), n + 1);

    assert_eq!(app.get("/new/no-such-type").await.0, StatusCode::NOT_FOUND);
    let r = app.send(form("/new/no-such-type", GOOD)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.commits(), n + 1);
}

#[tokio::test]
async fn the_new_page_form_respects_permissions_and_the_cross_site_guard() {
    let app = App::new(Access::Read);
    let n = app.commits();
    assert_eq!(app.get("/new/case-story").await.0, StatusCode::UNAUTHORIZED);
    let r = app.send(form("/new/case-story", GOOD)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let app_edit = App::new(Access::Edit);
    let n_edit = app_edit.commits();
    let mut req = form("/new/case-story", GOOD);
    req.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    req.headers_mut().insert("host", "wiki.example".parse().unwrap());
    assert_eq!(app_edit.send(req).await.status, StatusCode::FORBIDDEN);
    assert_eq!((app.commits(), app_edit.commits()), (n, n_edit));
}

#[tokio::test]
async fn pages_show_what_does_not_fit_their_type_and_keep_their_text() {
    let app = App::new(Access::Edit);
    app.put("cases/Odd", json!({"markdown": "---\ntype: case-story\ncustomer: Odd Ltd\nindustry: retail\nregion: mars\noutcome: won\ndeal_type: renewal\ndeal_size: plenty\nclosed: 2025-01-01\n---\nThe story itself.\n"})).await;
    let (s, page) = app.get("/wiki/cases/Odd").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("does not fit its type"), "{page}");
    assert!(
        page.contains("Region is `mars`, which is not one of emea, north-america, apac, latam")
    );
    assert!(page.contains("Deal size is `plenty`"));
    assert!(page.contains("The story itself."));
    assert!(page.contains("<dt>Customer</dt><dd>Odd Ltd</dd>"));
    let (_, v) = app.api_get("/api/v1/pages/cases/Odd").await;
    let warnings = v["type_warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 2, "{v}");
    let (_, v) = app.api_get("/api/v1/pages/cases/Northwind%20Renewal%20Rescue").await;
    assert_eq!(v["type_warnings"], json!([]));

    let r = app
        .send(form(
            "/preview/cases/Draft",
            &[("markdown", "---\ntype: case-story\noutcome: <b>maybe</b>\n---\nDraft text.\n")],
        ))
        .await;
    let preview = r.body;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        preview.contains("do not fit the page's type")
            && preview.contains("`&lt;b&gt;maybe&lt;/b&gt;`"),
        "{preview}"
    );
    assert!(preview.contains("Draft text."));
    app.put("cases/Broken", json!({"markdown": "---\ntype: case-story\noutcome: [won\n---\nStill readable <script>alert(1)</script>.\n"})).await;
    let (s, page) = app.get("/wiki/cases/Broken").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("front matter could not be read"), "{page}");
    assert!(page.contains("Still readable"));
    assert!(!page.contains("<script>alert(1)"));
}

#[tokio::test]
async fn the_browser_takes_its_filters_from_the_type() {
    let app = App::new(Access::Edit);
    let (_, body) = app.get("/cases").await;
    for select in ["outcome", "industry", "region", "deal_type"] {
        assert!(body.contains(&format!("<select class=\"input\" name=\"{select}\">")), "{select}");
    }
    assert!(body.contains("name=\"deal_size_min\"") && body.contains("name=\"closed_from\""));
    assert!(!body.contains("name=\"owner\""));
    let (_, filtered) =
        app.get("/cases?deal_size_min=%24300k&closed_to=2025-12-31&sort=deal_size").await;
    let harbor = filtered.find("Harbor City").unwrap();
    let tessaro = filtered.find("Tessaro").unwrap();
    assert!(harbor < tessaro, "largest deal first");
    assert!(!filtered.contains(">Northwind Renewal Rescue<"));

    // The owner becomes a filter and the region stops being one, by a commit made with git.
    change_with_git(&app, |clone| {
        let file = clone.join(".casebook/types/case-story.toml");
        let text = std::fs::read_to_string(&file).unwrap();
        let text = text
            .replace(
                "kind = \"text\"\nhelp = \"First name",
                "kind = \"text\"\nfacet = true\nhelp = \"First name",
            )
            .replace(
                "required = true\nfacet = true\nhelp = \"Where",
                "required = true\nhelp = \"Where",
            );
        std::fs::write(&file, text).unwrap();
    });
    let (_, body) = app.get("/cases").await;
    assert!(body.contains("<select class=\"input\" name=\"owner\">"), "{body}");
    assert!(body.contains(">anna (1)</option>"));
    assert!(!body.contains("name=\"region\""));
    let (_, anna) = app.get("/cases?owner=Anna").await;
    assert!(
        anna.contains("Northwind Renewal Rescue")
            && !anna.contains(">Tessaro Multi-Plant Expansion<")
    );

    // Other types have a browser too.
    let (s, body) = app.get("/records/insight").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("Mobilizers Not Talkers"));
    assert_eq!(app.get("/records/nothing").await.0, StatusCode::NOT_FOUND);

    // A broken type file is listed, its pages still browse, and hostile text stays text.
    change_with_git(&app, |clone| {
        std::fs::write(
            clone.join(".casebook/types/case-story.toml"),
            "label = \"<script>alert(1)</script>\"\n[[fields]]\nkey = \"outcome\"\nkind = \"enum\"\n",
        )
        .unwrap();
        std::fs::write(
            clone.join(".casebook/types/insight.toml"),
            "label = \"<img src=x onerror=alert(1)>\"\n",
        )
        .unwrap();
    });
    let (s, body) = app.get("/types").await;
    let body = unescape_slashes(&body);
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(".casebook/types/case-story.toml</code> cannot be read"), "{body}");
    assert!(body.contains("needs a list of options"));
    assert!(!body.contains("<img src=x") && body.contains("&lt;img src=x"));
    let (s, body) = app.get("/cases").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("cannot be read") && body.contains("Northwind Renewal Rescue"));
    assert_eq!(app.get("/new/case-story").await.0, StatusCode::BAD_REQUEST);
    let (_, page) = app.get("/wiki/cases/Northwind%20Renewal%20Rescue").await;
    assert!(page.contains("The fields of this page cannot be checked"));
    assert!(page.contains("Northwind Logistics"));
}

#[tokio::test]
async fn the_browser_pages_through_many_records() {
    let app = App::new(Access::Edit);
    change_with_git(&app, |clone| {
        let dir = clone.join("cases/many");
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..65 {
            std::fs::write(
                dir.join(format!("Deal {i:02}.md")),
                format!("---\ntype: case-story\ncustomer: C{i}\nindustry: software\nregion: apac\noutcome: lost\ndeal_type: renewal\ndeal_size: {}\nclosed: 2023-05-{:02}\n---\nText.\n", 1000 * (i + 1), i % 28 + 1),
            )
            .unwrap();
        }
    });
    let cards = |body: &str| body.matches("class=\"case-card\"").count();
    let (_, first) = app.get("/cases?industry=software&sort=deal_size").await;
    let first = unescape_slashes(&first);
    assert!(first.contains("66 of 72 match"), "seven starter stories and 65 more");
    assert_eq!(cards(&first), 60);
    assert!(first.contains("Page 1 of 2"));
    assert!(
        first.contains("href=\"/cases?industry=software&amp;sort=deal_size&amp;page=2\""),
        "the next page keeps the filters"
    );
    assert!(first.find(">Deal 64<").unwrap() < first.find(">Deal 63<").unwrap());
    let (_, second) = app.get("/cases?industry=software&sort=deal_size&page=2").await;
    assert_eq!(cards(&second), 6);
    assert!(second.contains(">Deal 00<") && !second.contains(">Deal 64<"));
    let (s, past) = app.get("/cases?industry=software&page=99").await;
    assert_eq!((s, cards(&past)), (StatusCode::OK, 6), "a page past the end shows the last");
}
