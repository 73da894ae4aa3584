//! The editor through the router: a typed page edited as a form (one front matter line
//! changed, checked with git), two people changing different fields at once, refused input,
//! conflicts that keep both sides, and new pages in one step.

use super::*;

const NORTHWIND: &str = "/edit/cases/Northwind%20Renewal%20Rescue";
const FILE: &str = "cases/Northwind Renewal Rescue.md";

/// Undoes the theme's HTML escaping of a value.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the attribute `value` of the element with `id`.
fn value_of(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no {id}"));
    let start = html[at..].find("value=\"").unwrap() + at + 7;
    let end = html[start..].find('"').unwrap() + start;
    unescape(&html[start..end])
}

/// The text of the editor's text area.
fn textarea(html: &str) -> String {
    let at = html.find("id=\"cb-editor\"").unwrap();
    let start = html[at..].find('>').unwrap() + at + 1;
    let end = html[start..].find("</textarea>").unwrap() + start;
    unescape(&html[start..end])
}

/// The form as the browser sends it, with `changes` made to the fields.
fn northwind_form(html: &str, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let base = html.split("name=\"base_revision\" value=\"").nth(1).unwrap();
    pairs.push(("base_revision".into(), base[..base.find('"').unwrap()].to_string()));
    pairs.push(("front_matter".into(), value_of(html, "cb-front-matter")));
    pairs.push(("markdown".into(), textarea(html)));
    for (k, v) in [
        ("customer", "Northwind Logistics"),
        ("industry", "logistics"),
        ("region", "emea"),
        ("outcome", "won"),
        ("deal_type", "renewal"),
        ("deal_size", "240000"),
        ("currency", "EUR"),
        ("closed", "2024-11-28"),
        ("owner", "Anna"),
        ("competitors", ""),
    ] {
        let v = changes.iter().find(|c| c.0 == k).map(|c| c.1).unwrap_or(v);
        pairs.push((format!("field.{k}"), v.to_string()));
    }
    pairs
}

fn post(uri: &str, pairs: &[(String, String)]) -> axum::http::Request<axum::body::Body> {
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    call("POST", uri).form(&pairs)
}

#[tokio::test]
async fn a_typed_page_is_edited_as_a_form_changing_one_line() {
    let app = App::new(Access::Edit);
    let (s, html) = app.get(NORTHWIND).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("<select class=\"input\" id=\"field-outcome\" name=\"field.outcome\""),
        "{html}"
    );
    assert!(html.contains("<input class=\"input\" id=\"field-customer\" name=\"field.customer\" type=\"text\" value=\"Northwind Logistics\""));
    assert!(html.contains("<option value=\"won\" selected>won</option>"));
    assert!(
        html.contains(
            "id=\"field-closed\" name=\"field.closed\" type=\"date\" value=\"2024-11-28\""
        )
    );
    assert!(
        html.contains("aria-describedby=\"field-region-help\"")
            && html.contains("id=\"field-region-help\"")
    );
    assert!(html.contains("?as=text\""), "a link to the text view");
    assert!(!html.contains("field-warning"), "every required field is filled in");
    let body = textarea(&html);
    assert!(body.starts_with("# Northwind Renewal Rescue\n"), "the body only: {body}");
    let (_, text) = app.get(&format!("{NORTHWIND}?as=text")).await;
    assert!(textarea(&text).starts_with("---\ntitle: Northwind Renewal Rescue\n"));
    assert!(!text.contains("id=\"field-outcome\""));

    let n = app.commits();
    let r = app.send(post(NORTHWIND, &northwind_form(&html, &[("outcome", "lost")]))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.commits(), n + 1);
    let diff = app.git(&["diff", "-U0", "HEAD~1", "HEAD", "--", FILE]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(changed, ["-outcome: won", "+outcome: lost"], "{diff}");

    // A bad date and an unknown option: shown next to their fields, all input kept.
    let (_, html) = app.get(NORTHWIND).await;
    let mut bad = northwind_form(
        &html,
        &[("closed", "28/11/2024"), ("outcome", "maybe"), ("owner", "Tomasz")],
    );
    bad.push(("message".into(), "my summary".into()));
    let r = app.send(post(NORTHWIND, &bad)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("id=\"field-closed-error\"") && r.body.contains("is not a date"),
        "{}",
        r.body
    );
    assert!(r.body.contains("id=\"field-outcome-error\"") && r.body.contains("choose one of"));
    assert!(
        r.body.contains("value=\"28&#x2f;11&#x2f;2024\"") && r.body.contains("value=\"Tomasz\"")
    );
    assert!(r.body.contains("value=\"my summary\""));
    assert_eq!(app.commits(), n + 1, "nothing saved");
    // A required field left empty in a story that has others filled in is pointed out.
    let half = "---\ntype: case-story\ncustomer: Acme\n---\n\n# Acme\n";
    app.send_ok(call("PUT", "/api/v1/pages/cases/Acme").json(&json!({"markdown": half}))).await;
    let (_, html) = app.get("/edit/cases/Acme").await;
    assert!(html.contains("id=\"field-outcome-warning\">Required, not filled in yet<"), "{html}");
    assert!(!html.contains("id=\"field-customer-warning\""));
}

#[tokio::test]
async fn two_people_changing_different_fields_both_win() {
    let app = App::new(Access::Edit);
    let (_, html) = app.get(NORTHWIND).await;
    let r = app.send(post(NORTHWIND, &northwind_form(&html, &[("outcome", "lost")]))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The second person opened the editor before the first saved: the field on the next line.
    let r = app.send(post(NORTHWIND, &northwind_form(&html, &[("deal_size", "250000")]))).await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, "/wiki/cases/Northwind%20Renewal%20Rescue?merged=1"),
        "{}",
        r.body
    );
    let file = app.git(&["show", &format!("HEAD:{FILE}")]);
    assert!(file.contains("outcome: lost\ndeal_size: 250000\n"), "{file}");
    // The same field changed both ways: the text view, with both sides.
    let r = app.send(post(NORTHWIND, &northwind_form(&html, &[("outcome", "no-decision")]))).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let merged = textarea(&r.body);
    assert!(merged.starts_with("---\n"), "the whole file: {merged}");
    assert!(
        merged.contains("<<<<<<< yours\noutcome: no-decision\n")
            && merged.contains("=======\noutcome: lost\n")
            && merged.contains(">>>>>>> theirs (saved by Anonymous at "),
        "{merged}"
    );
    assert!(!r.body.contains("id=\"field-outcome\""));
}

#[tokio::test]
async fn a_conflict_keeps_both_texts_until_resolved() {
    let app = App::new(Access::Edit);
    let save = |md: &str, base: &str, anyway: bool| {
        let mut pairs = vec![("markdown", md), ("base_revision", base)];
        if anyway {
            pairs.push(("save_anyway", "1"));
        }
        call("POST", "/edit/C").form(&pairs)
    };
    assert_eq!(app.send(save("one\ntwo\nthree\n", "", false)).await.status, StatusCode::SEE_OTHER);
    let (_, v) = app.api_get("/api/v1/pages/C").await;
    let r0 = v["revision"].as_str().unwrap().to_string();
    assert_eq!(
        app.send(save("one\nTWO by them\nthree\n", &r0, false)).await.status,
        StatusCode::SEE_OTHER
    );
    let n = app.commits();
    let r = app.send(save("one\ntwo by me\nthree\n", &r0, false)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(app.commits(), n);
    assert!(
        r.body.contains("id=\"cb-conflict-yours\"") && r.body.contains("id=\"cb-conflict-theirs\"")
    );
    assert!(r.body.contains("TWO by them") && r.body.contains("two by me"));
    let merged = textarea(&r.body);
    assert!(merged.starts_with("one\n<<<<<<< yours\ntwo by me\n=======\nTWO by them\n>>>>>>> theirs (saved by Anonymous at "), "{merged}");
    assert!(merged.ends_with(")\nthree\n"));
    let base = r.body.split("name=\"base_revision\" value=\"").nth(1).unwrap();
    let base = base[..base.find('"').unwrap()].to_string();
    assert_ne!(base, r0, "the next save builds on their version");
    // Markers left in: refused, unless the person says so.
    let r = app.send(save(&merged, &base, false)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.body.contains("still holds conflict markers") && r.body.contains("name=\"save_anyway\"")
    );
    assert_eq!(app.commits(), n);
    let r = app.send(save("one\ntwo by me, TWO by them\nthree\n", &base, false)).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/wiki/C?saved=1"));
    assert_eq!(app.git(&["show", "HEAD:C.md"]), "one\ntwo by me, TWO by them\nthree\n");
    let (_, v) = app.api_get("/api/v1/pages/C").await;
    let r1 = v["revision"].as_str().unwrap().to_string();
    let marked = "<<<<<<< yours\na\n=======\nb\n>>>>>>> theirs\n";
    assert_eq!(app.send(save(marked, &r1, true)).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_new_page_in_one_step() {
    let app = App::new(Access::Edit);
    let (s, html) = app.get("/new?folder=playbooks").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("name=\"kind\" value=\"case-story\"")
            && html.contains("name=\"kind\" value=\"\" checked")
    );
    assert!(html.contains("name=\"folder\" id=\"new-folder\" value=\"playbooks\""));
    let r = app.send(call("GET", "/new?title=Zeta%20Pilot&kind=case-story&folder=").empty()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/edit/cases/Zeta%20Pilot?type=case-story&title=Zeta%20Pilot");
    let r = app.send(call("GET", "/new?title=Plain%20One&kind=&folder=playbooks").empty()).await;
    assert_eq!(r.location(), "/edit/playbooks/Plain%20One");
    let (s, html) = app.get("/new?title=Northwind%20Renewal%20Rescue&kind=case-story").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("exists already"));

    let (s, html) = app.get("/edit/cases/Zeta%20Pilot?type=case-story&title=Zeta%20Pilot").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"field-outcome\""), "{html}");
    assert!(textarea(&html).starts_with("# Zeta Pilot\n"), "the type's template under the title");
    assert!(textarea(&html).contains("## Situation"));
    let mut pairs = vec![
        ("base_revision".to_string(), String::new()),
        ("front_matter".to_string(), value_of(&html, "cb-front-matter")),
        ("markdown".to_string(), textarea(&html)),
    ];
    for (k, v) in [
        ("customer", "Zeta & Co"),
        ("outcome", "won"),
        ("closed", "2025-02-01"),
        ("competitors", "Acme, Globex"),
    ] {
        pairs.push((format!("field.{k}"), v.to_string()));
    }
    let n = app.commits();
    let r = app.send(post("/edit/cases/Zeta%20Pilot", &pairs)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.commits(), n + 1);
    let file = app.git(&["show", "HEAD:cases/Zeta Pilot.md"]);
    assert!(file.starts_with("---\ntitle: Zeta Pilot\ntype: case-story\ncustomer: Zeta & Co\noutcome: won\nclosed: 2025-02-01\ncompetitors: [Acme, Globex]\n---\n\n# Zeta Pilot\n"), "{file}");
}
