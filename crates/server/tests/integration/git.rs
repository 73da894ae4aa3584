//! `/wiki.git` through the router: what git's smart HTTP client is answered, byte for byte
//! where it matters, and who is let in.

use super::*;

impl App {
    fn head(&self) -> String {
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(&self.repo)
            .args(["rev-parse", "HEAD"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

fn get_git(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::get(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::empty()).unwrap()
}

/// A protocol v2 `ls-refs` request: pkt-lines, a delimiter and a flush.
const LS_REFS: &[u8] = b"0014command=ls-refs\n0001000csymrefs\n0000";

fn ls_refs(body: Vec<u8>, gzip: bool) -> Request<Body> {
    let mut b = Request::post("/wiki.git/git-upload-pack")
        .header("content-type", "application/x-git-upload-pack-request")
        .header("git-protocol", "version=2");
    if gzip {
        b = b.header("content-encoding", "gzip");
    }
    b.body(Body::from(body)).unwrap()
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
    let (s, h, body) = app
        .send(get_git(
            "/wiki.git/info/refs?service=git-upload-pack",
            &[("accept-encoding", "gzip, deflate")],
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h["content-type"],
        "application/x-git-upload-pack-advertisement"
    );
    assert!(h.get("content-encoding").is_none());
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.starts_with("001e# service=git-upload-pack\n0000"),
        "{text}"
    );
    assert!(text.contains(&format!("{} HEAD", app.head())), "{text}");
    assert!(text.contains("refs/heads/main"), "{text}");

    // Protocol v2 when the client asks for it in the Git-Protocol header.
    let (s, _, body) = app
        .send(get_git(
            "/wiki.git/info/refs?service=git-upload-pack",
            &[("git-protocol", "version=2")],
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("version 2\n"));
}

#[tokio::test]
async fn upload_pack_reads_plain_and_gzipped_requests() {
    let app = App::new(Access::Read);
    let head = app.head();
    for gzipped in [false, true] {
        let body = if gzipped {
            gzip(LS_REFS)
        } else {
            LS_REFS.to_vec()
        };
        let (s, h, out) = app.send(ls_refs(body, gzipped)).await;
        assert_eq!(s, StatusCode::OK, "gzip {gzipped}");
        assert_eq!(h["content-type"], "application/x-git-upload-pack-result");
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains(&format!("{head} HEAD symref-target:refs/heads/main")),
            "gzip {gzipped}: {text}"
        );
    }
}

#[tokio::test]
async fn dumb_paths_are_served_and_nothing_else() {
    let app = App::new(Access::Read);
    let (s, _, body) = app.send(get_git("/wiki.git/HEAD", &[])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, b"ref: refs/heads/main\n");
    for path in [
        "/wiki.git/config",
        "/wiki.git/hooks/pre-receive.sample",
        "/wiki.git/refs/heads/main",
        "/wiki.git/..%2fdata/index/meta.json",
        "/wiki.git/objects/..%2fconfig",
    ] {
        let (s, h, body) = app.send(get_git(path, &[])).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert!(
            h["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert!(!String::from_utf8_lossy(&body).contains("[core]"));
    }
}

#[tokio::test]
async fn access_rules_decide_who_clones_and_who_pushes() {
    let closed = App::new(Access::None);
    for uri in [
        "/wiki.git/info/refs?service=git-upload-pack",
        "/wiki.git/HEAD",
    ] {
        let (s, h, _) = closed.send(get_git(uri, &[])).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(
            h["www-authenticate"],
            "Basic realm=\"Casebook\", charset=\"UTF-8\""
        );
    }
    let (s, _, _) = closed.send(ls_refs(LS_REFS.to_vec(), false)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let readers = App::new(Access::Read);
    for uri in [
        "/wiki.git/info/refs?service=git-receive-pack",
        "/wiki.git/info/refs?service=git%2dreceive-pack",
    ] {
        let (s, h, _) = readers.send(get_git(uri, &[])).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(h.contains_key("www-authenticate"));
    }

    let editors = App::new(Access::Edit);
    let (s, h, body) = editors
        .send(get_git("/wiki.git/info/refs?service=git-receive-pack", &[]))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h["content-type"],
        "application/x-git-receive-pack-advertisement"
    );
    assert!(String::from_utf8_lossy(&body).contains("report-status"));
}

#[tokio::test]
async fn git_posts_pass_the_cross_site_guard_but_browsers_from_elsewhere_do_not() {
    let app = App::new(Access::Edit);
    // The git client sends neither Origin nor Sec-Fetch-Site.
    let (s, _, _) = app.send(ls_refs(LS_REFS.to_vec(), false)).await;
    assert_eq!(s, StatusCode::OK);
    let before = app.head();
    let req = Request::post("/wiki.git/git-receive-pack")
        .header("content-type", "application/x-git-receive-pack-request")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from("0000"))
        .unwrap();
    let (s, _, _) = app.send(req).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(app.head(), before);
}
