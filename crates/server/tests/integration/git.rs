//! `/wiki.git` through the router: what git's smart HTTP client is answered, byte for byte
//! where it matters, and who is let in.

use super::*;
use axum::body::Body;
use axum::http::Request;
use std::process::Command;

fn get_git(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    headers.iter().fold(call("GET", uri), |b, (k, v)| b.header(k, v)).empty()
}

/// A protocol v2 `ls-refs` request: pkt-lines, a delimiter and a flush.
const LS_REFS: &[u8] = b"0014command=ls-refs\n0001000csymrefs\n0000";

fn ls_refs(body: Vec<u8>, gzip: bool) -> Request<Body> {
    let mut b = call("POST", "/wiki.git/git-upload-pack")
        .header("content-type", "application/x-git-upload-pack-request")
        .header("git-protocol", "version=2");
    if gzip {
        b = b.header("content-encoding", "gzip");
    }
    b.body(body)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

#[tokio::test]
async fn ref_advertisement_is_served_as_git_expects_and_never_compressed() {
    let app = App::new(Access::Read);
    let refs = |header| app.send(get_git("/wiki.git/info/refs?service=git-upload-pack", &[header]));
    let r = refs(("accept-encoding", "gzip, deflate")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/x-git-upload-pack-advertisement");
    assert!(r.headers.get("content-encoding").is_none());
    let text = r.body;
    assert!(text.starts_with("001e# service=git-upload-pack\n0000"), "{text}");
    assert!(text.contains(&format!("{} HEAD", app.head())), "{text}");
    assert!(text.contains("refs/heads/main"), "{text}");

    // Protocol v2 when the client asks for it in the Git-Protocol header.
    let r = refs(("git-protocol", "version=2")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("version 2\n"));
}

#[tokio::test]
async fn upload_pack_reads_plain_and_gzipped_requests() {
    let app = App::new(Access::Read);
    let head = app.head();
    for gzipped in [false, true] {
        let body = if gzipped { gzip(LS_REFS) } else { LS_REFS.to_vec() };
        let r = app.send(ls_refs(body, gzipped)).await;
        assert_eq!(r.status, StatusCode::OK, "gzip {gzipped}");
        assert_eq!(r.headers["content-type"], "application/x-git-upload-pack-result");
        let text = r.body;
        assert!(
            text.contains(&format!("{head} HEAD symref-target:refs/heads/main")),
            "gzip {gzipped}: {text}"
        );
    }
}

#[tokio::test]
async fn dumb_paths_are_served_and_nothing_else() {
    let app = App::new(Access::Read);
    let r = app.send(get_git("/wiki.git/HEAD", &[])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.bytes, b"ref: refs/heads/main\n");
    for path in [
        "/wiki.git/config",
        "/wiki.git/hooks/pre-receive.sample",
        "/wiki.git/refs/heads/main",
        "/wiki.git/..%2fdata/index/meta.json",
        "/wiki.git/objects/..%2fconfig",
    ] {
        let r = app.send(get_git(path, &[])).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
        assert!(!r.body.contains("[core]"));
    }
}

#[tokio::test]
async fn access_rules_decide_who_clones_and_who_pushes() {
    let closed = App::new(Access::None);
    for uri in ["/wiki.git/info/refs?service=git-upload-pack", "/wiki.git/HEAD"] {
        let r = closed.send(get_git(uri, &[])).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(r.headers["www-authenticate"], "Basic realm=\"Casebook\", charset=\"UTF-8\"");
    }
    let r = closed.send(ls_refs(LS_REFS.to_vec(), false)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let readers = App::new(Access::Read);
    for uri in [
        "/wiki.git/info/refs?service=git-receive-pack",
        "/wiki.git/info/refs?service=git%2dreceive-pack",
    ] {
        let r = readers.send(get_git(uri, &[])).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(r.headers.contains_key("www-authenticate"));
    }

    let editors = App::new(Access::Edit);
    let r = editors.send(get_git("/wiki.git/info/refs?service=git-receive-pack", &[])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/x-git-receive-pack-advertisement");
    assert!(r.body.contains("report-status"));
}

#[tokio::test]
async fn git_posts_pass_the_cross_site_guard_but_browsers_from_elsewhere_do_not() {
    let app = App::new(Access::Edit);
    // The git client sends neither Origin nor Sec-Fetch-Site.
    let r = app.send(ls_refs(LS_REFS.to_vec(), false)).await;
    assert_eq!(r.status, StatusCode::OK);
    let before = app.head();
    let req = call("POST", "/wiki.git/git-receive-pack")
        .header("content-type", "application/x-git-receive-pack-request")
        .header("sec-fetch-site", "cross-site")
        .body("0000");
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.head(), before);
}
