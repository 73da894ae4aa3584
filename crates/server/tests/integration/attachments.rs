//! A page's attachments through the router: the API (list, put, delete, each a commit), the
//! file served with its blob as ETag, the limit, bad names, folder rules, and the form for
//! browsers without scripts.

use super::*;
use axum::http::header;
use casebook_accounts::Role;
use casebook_engine::Options;

const ATT: &str = "/api/v1/pages/cases/Northwind%20Deal/attachments";

fn png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend(std::iter::repeat_n(7u8, 300));
    v
}

/// An app where visitors edit, with one page, `cases/Northwind Deal`.
async fn app_with_page(adjust: impl FnOnce(&mut Options)) -> App {
    let app = App::open_with(
        ServerOptions { anonymous: Access::Edit, ..ServerOptions::default() },
        false,
        adjust,
    );
    let page = json!({"markdown": "# Northwind\n"});
    app.send_ok(call("PUT", "/api/v1/pages/cases/Northwind%20Deal").json(&page)).await;
    app
}

#[tokio::test]
async fn upload_list_serve_revalidate_and_delete_each_a_commit() {
    let app = app_with_page(|_| {}).await;
    let before = app.commits();
    let r = app
        .send(
            call("PUT", &format!("{ATT}/pic%201.png"))
                .header("content-type", "image/png")
                .body(png()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(app.commits(), before + 1);
    let blob =
        app.git(&["rev-parse", "HEAD:cases/Northwind Deal.files/pic 1.png"]).trim().to_string();
    let url = format!("/wiki/cases/Northwind%20Deal.files/pic%201.png?v={}", &blob[..12]);
    assert_eq!(r.json()["url"], url.as_str());
    assert_eq!(r.json()["size"], png().len());

    let list = app.send(call("GET", ATT).empty()).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json(), json!([{"name": "pic 1.png", "size": png().len(), "url": url}]));

    // Served as uploaded, with the blob as its ETag; `?v=` makes it cacheable for good.
    let got = app.send(call("GET", &url).empty()).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.bytes, png());
    assert_eq!(got.headers[header::CONTENT_TYPE], "image/png");
    let etag = got.headers[header::ETAG].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{blob}\""));
    assert_eq!(got.headers[header::CACHE_CONTROL], "private, max-age=31536000, immutable");
    assert_eq!(got.headers[header::CONTENT_SECURITY_POLICY], "default-src 'none'; sandbox");
    let plain =
        app.send(call("GET", "/wiki/cases/Northwind%20Deal.files/pic%201.png").empty()).await;
    assert_eq!(plain.headers[header::CACHE_CONTROL], "private, no-cache");
    let again = app.send(call("GET", &url).header("if-none-match", &etag).empty()).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.bytes.is_empty());
    assert_eq!(again.headers[header::ETAG], etag.as_str());
    let other = app.send(call("GET", &url).header("if-none-match", "\"0000\"").empty()).await;
    assert_eq!(other.status, StatusCode::OK);

    // Replacing answers 200 and is one more commit; a new ETag.
    let r = app.send(call("PUT", &format!("{ATT}/pic%201.png")).body(b"other".to_vec())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.commits(), before + 2);
    let stale = app
        .send(
            call("GET", "/wiki/cases/Northwind%20Deal.files/pic%201.png")
                .header("if-none-match", &etag)
                .empty(),
        )
        .await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.bytes, b"other");

    let r = app.send(call("DELETE", &format!("{ATT}/pic%201.png")).empty()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(app.commits(), before + 3);
    assert_eq!(app.send(call("GET", ATT).empty()).await.json(), json!([]));
    let gone = app.send(call("DELETE", &format!("{ATT}/pic%201.png")).empty()).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(app.commits(), before + 3);
}

#[tokio::test]
async fn a_file_past_the_limit_and_bad_names_commit_nothing() {
    let app = app_with_page(|o| o.max_attachment_bytes = 4096).await;
    let before = app.commits();
    let r = app.send(call("PUT", &format!("{ATT}/big.bin")).body(vec![0u8; 4097])).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(
        r.json()["error"]["message"].as_str().unwrap().contains("max_attachment_bytes"),
        "{}",
        r.body
    );
    let r = app.send(call("PUT", &format!("{ATT}/fits.bin")).body(vec![0u8; 4096])).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let before = before + 1;
    for bad in [".hidden", "notes.md", "a%5Cb.png", "%20lead.png", "tab%09.png"] {
        let r = app.send(call("PUT", &format!("{ATT}/{bad}")).body(b"x".to_vec())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        assert!(r.json()["error"]["message"].is_string());
    }
    // A name with a slash is a path below the page, not an attachment of it.
    let r = app.send(call("PUT", &format!("{ATT}/sub/x.png")).body(b"x".to_vec())).await;
    assert!(r.status.is_client_error(), "{}", r.body);
    // No page, no attachments.
    let r = app
        .send(call("PUT", "/api/v1/pages/cases/Nowhere/attachments/x.png").body(b"x".to_vec()))
        .await;
    assert!(r.status.is_client_error(), "{}", r.body);
    assert_eq!(app.commits(), before);
}

#[tokio::test]
async fn folder_rules_hold_for_attachments_as_for_their_page() {
    let app = App::with_accounts(Access::None);
    app.user("ada", Role::Admin);
    app.user("otto", Role::Editor);
    app.user("rita", Role::Reader);
    let acc = app.accounts();
    acc.add_group("deal-desk").unwrap();
    acc.add_member("deal-desk", "ada").unwrap();
    acc.add_member("deal-desk", "rita").unwrap();
    acc.set_folder_rule("deals/**", &["deal-desk"]).unwrap();
    let token = |name: &str| acc.create_token(name, "t").unwrap().1;
    let (ada, otto, rita) = (token("ada"), token("otto"), token("rita"));
    let put = app
        .send(
            call("PUT", "/api/v1/pages/deals/Acme")
                .token(Some(&ada))
                .json(&json!({"markdown": "# Acme\n"})),
        )
        .await;
    assert!(put.status.is_success());
    let att = "/api/v1/pages/deals/Acme/attachments";
    let r = app
        .send(call("PUT", &format!("{att}/terms.pdf")).token(Some(&ada)).body(b"%PDF".to_vec()))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let before = app.commits();

    // Outside the folder: the page, its list and its file do not exist.
    for uri in [att, "/wiki/deals/Acme.files/terms.pdf"] {
        let r = app.send(call("GET", uri).token(Some(&otto)).empty()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}: {}", r.body);
        assert!(!r.bytes.starts_with(b"%PDF"));
    }
    let r = app.send(call("GET", att).token(Some(&otto)).empty()).await;
    assert!(!r.body.contains("terms.pdf"), "{}", r.body);
    let r =
        app.send(call("PUT", &format!("{att}/x.txt")).token(Some(&otto)).body(b"x".to_vec())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app.send(call("DELETE", &format!("{att}/terms.pdf")).token(Some(&otto)).empty()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // A reader in the group sees it but may not change it.
    let r = app.send(call("GET", att).token(Some(&rita)).empty()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(each(&json!({"l": r.json()}), "l", "name"), ["terms.pdf"]);
    let r =
        app.send(call("PUT", &format!("{att}/x.txt")).token(Some(&rita)).body(b"x".to_vec())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app.send(call("DELETE", &format!("{att}/terms.pdf")).token(Some(&rita)).empty()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(app.commits(), before);
}

fn multipart(boundary: &str, csrf: Option<&str>, back: &str, file: (&str, &[u8])) -> Vec<u8> {
    let mut b = Vec::new();
    if let Some(csrf) = csrf {
        b.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n").bytes());
    }
    b.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"back\"\r\n\r\n{back}\r\n")
            .bytes(),
    );
    b.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            file.0
        )
        .bytes(),
    );
    b.extend_from_slice(file.1);
    b.extend(format!("\r\n--{boundary}--\r\n").bytes());
    b
}

#[tokio::test]
async fn the_form_uploads_and_removes_for_browsers_without_scripts() {
    let app = App::with_accounts(Access::Read);
    app.user("ed", Role::Editor);
    let ed = app.sign_in("ed").await;
    let r = app
        .send(call("POST", "/edit/cases/Northwind%20Deal").session(Some(&ed.session)).form(&[
            ("markdown", "# Northwind\n"),
            ("base_revision", ""),
            ("message", ""),
            ("csrf_token", &ed.csrf),
        ]))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The page offers the form, the editor the list.
    let page = app
        .send(call("GET", "/wiki/cases/Northwind%20Deal").session(Some(&ed.session)).empty())
        .await;
    assert!(page.body.contains("id=\"cb-attach-form\""), "{}", page.body);
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    let before = app.commits();
    let boundary = "----cbBoundary7MA4YWxkTrZu0gW";
    let ct = format!("multipart/form-data; boundary={boundary}");
    let upload = |csrf: Option<&str>| {
        call("POST", "/attachments/cases/Northwind%20Deal")
            .session(Some(&ed.session))
            .header("content-type", &ct)
            .body(multipart(boundary, csrf, "view", ("C:\\shots\\Q3 chart.png", &png())))
    };
    // Without the CSRF token first, or with a wrong one, nothing happens.
    for csrf in [None, Some("forged")] {
        let r = app.send(upload(csrf)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    assert_eq!(app.commits(), before);
    let r = app.send(upload(Some(&ed.csrf))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/wiki/cases/Northwind%20Deal#attachments");
    assert_eq!(app.commits(), before + 1);
    assert_eq!(app.git(&["log", "-1", "--format=%an"]).trim(), "ed");
    let page = app
        .send(call("GET", "/wiki/cases/Northwind%20Deal").session(Some(&ed.session)).empty())
        .await;
    assert!(page.body.contains("data-name=\"Q3 chart.png\""), "{}", page.body);
    let edit = app
        .send(call("GET", "/edit/cases/Northwind%20Deal").session(Some(&ed.session)).empty())
        .await;
    assert!(edit.body.contains("id=\"cb-attachments\""), "{}", edit.body);
    assert!(edit.body.contains("data-name=\"Q3 chart.png\""));

    let r = app
        .send(
            call("POST", "/attachments/cases/Northwind%20Deal").session(Some(&ed.session)).form(&[
                ("delete", "Q3 chart.png"),
                ("back", "edit"),
                ("csrf_token", &ed.csrf),
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/edit/cases/Northwind%20Deal");
    assert_eq!(app.commits(), before + 2);

    // The editor's script: fetch PUT with the session cookie and the X-CSRF-Token header.
    let put = |csrf: &str| {
        call("PUT", &format!("{ATT}/script.png"))
            .session(Some(&ed.session))
            .header("x-csrf-token", csrf)
            .header("sec-fetch-site", "same-origin")
            .body(png())
    };
    assert_eq!(app.send(put("forged")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.commits(), before + 2);
    let r = app.send(put(&ed.csrf)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(app.commits(), before + 3);
    // From another site, never.
    let r = app
        .send(
            call("PUT", &format!("{ATT}/evil.png"))
                .session(Some(&ed.session))
                .header("x-csrf-token", &ed.csrf)
                .header("sec-fetch-site", "cross-site")
                .body(png()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.commits(), before + 3);
}

#[tokio::test]
async fn a_page_moved_or_deleted_takes_its_attachments_along() {
    let app = app_with_page(|_| {}).await;
    let r = app.send(call("PUT", &format!("{ATT}/pic.png")).body(png())).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let to = json!({"to": "archive/Northwind"});
    app.send_ok(call("POST", "/api/v1/pages/cases/Northwind%20Deal/move").json(&to)).await;
    let list = app.send(call("GET", "/api/v1/pages/archive/Northwind/attachments").empty()).await;
    assert_eq!(each(&json!({"l": list.json()}), "l", "name"), ["pic.png"]);
    let got = app.send(call("GET", "/wiki/archive/Northwind.files/pic.png").empty()).await;
    assert_eq!(got.bytes, png());
    let r = app.send(call("DELETE", "/api/v1/pages/archive/Northwind").empty()).await;
    assert!(r.status.is_success(), "{}", r.body);
    let files = app.git(&["ls-tree", "-r", "--name-only", "HEAD"]);
    assert!(!files.contains("Northwind.files"), "{files}");
}
