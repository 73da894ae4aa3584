//! Git over HTTP: the real git client cloning from and pushing to `/wiki.git` on the real
//! server, under each kind of anonymous access.

use super::common::{Server, each, send};
use casebook_engine::Options;
use casebook_server::{Access, ServerOptions};
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::Duration;
use tokio::process::Command;

/// The real server for git's tests.
type Wiki = Server;

/// A git command as a person would run it: no system or user configuration, never a prompt.
fn git_cmd(home: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .env_remove("GIT_DIR")
        .args([
            "-c",
            "user.name=Pat Pusher",
            "-c",
            "user.email=pat@example.com",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "credential.helper=",
        ])
        .args(args);
    c
}

async fn start(access: Access) -> Wiki {
    start_with(access, false, |_| {}).await
}

async fn start_with(
    access: Access,
    non_bare: bool,
    tweak: impl FnOnce(&mut ServerOptions),
) -> Wiki {
    start_full(access, non_bare, |_| {}, tweak).await
}

async fn start_full(
    access: Access,
    non_bare: bool,
    engine_tweak: impl FnOnce(&mut Options),
    tweak: impl FnOnce(&mut ServerOptions),
) -> Wiki {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("home")).unwrap();
    let repo = if non_bare {
        // A folder someone also works in: one page, committed with git.
        let dir = tmp.path().join("notes");
        std::fs::create_dir(&dir).unwrap();
        let home = tmp.path().join("home");
        ok(git_cmd(&home, &dir, &["init", "-q"]).output().await);
        std::fs::write(dir.join("Home.md"), "# Home\n").unwrap();
        ok(git_cmd(&home, &dir, &["add", "."]).output().await);
        ok(git_cmd(&home, &dir, &["commit", "-q", "-m", "Start"]).output().await);
        dir
    } else {
        tmp.path().join("wiki.git")
    };
    let mut opts = ServerOptions {
        anonymous: access,
        // Long enough that only the catch-up right after a push can make a pushed page
        // visible within these tests.
        poll_interval: Duration::from_secs(3600),
        ..ServerOptions::default()
    };
    tweak(&mut opts);
    Server::start_in(tmp, repo, engine_tweak, opts).await
}

impl Wiki {
    fn url(&self) -> String {
        format!("{}/wiki.git", self.base)
    }

    /// Runs git in `dir` (relative to the temp dir) as a person at their desk.
    async fn git(&self, dir: &str, args: &[&str]) -> Output {
        let home = self.tmp.path().join("home");
        let dir = self.tmp.path().join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        git_cmd(&home, &dir, args).output().await.unwrap()
    }

    async fn clone(&self, into: &str) -> Output {
        self.git(".", &["clone", "-q", &self.url(), into]).await
    }

    fn write(&self, file: &str, text: impl AsRef<[u8]>) {
        let p = self.tmp.path().join(file);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    async fn commit(&self, dir: &str, message: &str) {
        ok(Ok(self.git(dir, &["add", "-A"]).await));
        ok(Ok(self.git(dir, &["commit", "-q", "-m", message]).await));
    }

    /// Pushes the clone `dir` to `refspec` on the server: git succeeds, and the server's branch
    /// is where the clone's is.
    async fn push(&self, dir: &str, refspec: &str) {
        ok(Ok(self.git(dir, &["push", "-q", "origin", refspec]).await));
        assert_eq!(self.server_head().await, self.head_of(dir).await);
    }

    /// What git says of the server's repository.
    async fn server_git(&self, args: &[&str]) -> String {
        self.repo_git(args).trim().to_string()
    }

    /// The commit the server's branch points at, read by git.
    async fn server_head(&self) -> String {
        self.server_git(&["rev-parse", "HEAD"]).await
    }

    async fn head_of(&self, dir: &str) -> String {
        let out = self.git(dir, &["rev-parse", "HEAD"]).await;
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

fn ok(out: std::io::Result<Output>) -> Output {
    let out = out.unwrap();
    assert!(out.status.success(), "git failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn get_json(url: &str) -> (u16, Value) {
    send(reqwest::Client::new().get(url)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clone_commit_push_then_read_and_search_at_once() {
    let w = start(Access::Edit).await;
    ok(Ok(w.clone("a").await));
    assert_eq!(w.head_of("a").await, w.server_head().await);
    assert!(w.tmp.path().join("a/.casebook/types").is_dir());

    w.write(
        "a/notes/Pushed Page.md",
        "# Pushed Page\n\nThe quokkazanzibar deal closed after a pilot.\n",
    );
    w.commit("a", "Add a page from a clone").await;
    let pushed = w.head_of("a").await;
    ok(Ok(w.git("a", &["push", "-q", "origin", "main"]).await));
    assert_eq!(w.server_head().await, pushed);

    // Visible and found the moment `git push` returns: the server polls only once an hour here.
    let (st, v) = get_json(&format!("{}/api/v1/pages/notes/Pushed%20Page", w.base)).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["revision"], pushed.as_str());
    assert_eq!(v["author"], "Pat Pusher");
    assert!(v["markdown"].as_str().unwrap().contains("quokkazanzibar"));
    let (_, v) = get_json(&format!("{}/api/v1/search?q=quokkazanzibar", w.base)).await;
    assert_eq!(each(&v, "hits", "path"), ["notes/Pushed Page"]);

    // A second clone falls behind; its push is not a fast-forward and git refuses it.
    ok(Ok(w.clone("b").await));
    w.write("a/notes/Pushed Page.md", "# Pushed Page\n\nSecond thoughts.\n");
    w.commit("a", "Second thoughts").await;
    w.push("a", "main").await;
    let head = w.server_head().await;
    w.write("b/notes/Other.md", "# Other\n");
    w.commit("b", "Other page").await;
    let out = w.git("b", &["push", "origin", "main"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("rejected"), "{}", stderr(&out));
    assert_eq!(w.server_head().await, head);
    // Forcing it is refused by the server: the wiki's history is never rewritten.
    let out = w.git("b", &["push", "--force", "origin", "main"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("non-fast-forward"), "{}", stderr(&out));
    assert_eq!(w.server_head().await, head);
    // Nor may the branch be deleted.
    let out = w.git("b", &["push", "origin", ":main"]).await;
    assert!(!out.status.success());
    assert_eq!(w.server_head().await, head);
    let (_, v) = get_json(&format!("{}/api/v1/pages/notes/Other", w.base)).await;
    assert_eq!(v["error"]["code"], "not_found");

    // After pulling, the same commit goes in, and the browser's saves build on it.
    ok(Ok(w.git("b", &["pull", "-q", "--rebase"]).await));
    ok(Ok(w.git("b", &["push", "-q", "origin", "main"]).await));
    let (st, _) = get_json(&format!("{}/api/v1/pages/notes/Other", w.base)).await;
    assert_eq!(st, 200);
    let resp = reqwest::Client::new()
        .put(format!("{}/api/v1/pages/notes/Other", w.base))
        .json(&serde_json::json!({"markdown": "# Other\n\nEdited in the browser.\n"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    ok(Ok(w.git("a", &["pull", "-q"]).await));
    let text = std::fs::read_to_string(w.tmp.path().join("a/notes/Other.md")).unwrap();
    assert_eq!(text, "# Other\n\nEdited in the browser.\n");
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_to_another_branch_is_refused_and_says_which_one_to_use() {
    let w = start(Access::Edit).await;
    ok(Ok(w.clone("a").await));
    let head = w.server_head().await;
    let refs = w.server_git(&["for-each-ref", "--format=%(refname)"]).await;
    w.write("a/notes/Idea.md", "# Idea\n\nOn a branch of its own.\n");
    w.commit("a", "An idea").await;

    // Another branch (the wiki would never show it), a tag, and the branch together with
    // another: each refused whole, nothing moved.
    for args in [
        &["push", "origin", "HEAD:refs/heads/idea"][..],
        &["push", "origin", "HEAD:refs/tags/v1"][..],
        &["push", "origin", "main", "HEAD:refs/heads/idea"][..],
    ] {
        let out = w.git("a", args).await;
        assert!(!out.status.success(), "{args:?} went through");
        let said = stderr(&out);
        assert!(
            said.contains("Casebook shows only the branch main")
                && said.contains("git push origin HEAD:main"),
            "{args:?}: {said}"
        );
        assert_eq!(w.server_head().await, head);
        assert_eq!(w.server_git(&["for-each-ref", "--format=%(refname)"]).await, refs);
    }
    // A push the server cannot read ahead (here its body is declared encoded) goes to git as
    // it is, and git refuses the other branch itself.
    let out = w
        .git(
            "a",
            &[
                "-c",
                "http.extraHeader=Content-Encoding: identity",
                "push",
                "origin",
                "HEAD:refs/heads/idea",
            ],
        )
        .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("hidden ref"), "{}", stderr(&out));
    assert_eq!(w.server_head().await, head);
    assert_eq!(w.server_git(&["for-each-ref", "--format=%(refname)"]).await, refs);
    let (st, _) = get_json(&format!("{}/api/v1/pages/notes/Idea", w.base)).await;
    assert_eq!(st, 404);

    // The branch itself still takes it.
    w.push("a", "HEAD:main").await;
    let (st, _) = get_json(&format!("{}/api/v1/pages/notes/Idea", w.base)).await;
    assert_eq!(st, 200);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_clone_but_may_not_push() {
    let w = start(Access::Read).await;
    ok(Ok(w.clone("a").await));
    let before = w.server_head().await;
    assert_eq!(w.head_of("a").await, before);
    w.write("a/Sneaky.md", "# Sneaky\n");
    w.commit("a", "Try to push").await;
    let out = w.git("a", &["push", "origin", "main"]).await;
    assert!(!out.status.success());
    // git was asked for a user name: it may not prompt here, and says so.
    assert!(stderr(&out).contains("Username"), "{}", stderr(&out));
    assert_eq!(w.server_head().await, before);

    let resp =
        reqwest::get(format!("{}/info/refs?service=git-receive-pack", w.url())).await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Basic realm=\"Casebook\""), "{challenge}");
    // Sending the pack anyway changes nothing either.
    let resp = reqwest::Client::new()
        .post(format!("{}/git-receive-pack", w.url()))
        .header("content-type", "application/x-git-receive-pack-request")
        .body("0000")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(w.server_head().await, before);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_wiki_refuses_clones() {
    let w = start(Access::None).await;
    let out = w.clone("a").await;
    assert!(!out.status.success());
    assert!(!w.tmp.path().join("a/.git").exists());
    let resp =
        reqwest::get(format!("{}/info/refs?service=git-upload-pack", w.url())).await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic "));
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_with_a_working_tree_is_cloned_but_not_pushed_to() {
    let w = start_with(Access::Edit, true, |_| {}).await;
    ok(Ok(w.clone("a").await));
    assert_eq!(std::fs::read_to_string(w.tmp.path().join("a/Home.md")).unwrap(), "# Home\n");
    let before = w.server_head().await;
    w.write("a/Home.md", "# Home\n\nFrom a clone.\n");
    w.commit("a", "Edit from a clone").await;
    let out = w.git("a", &["push", "origin", "main"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not bare"), "{}", stderr(&out));
    assert_eq!(w.server_head().await, before);
    assert_eq!(std::fs::read_to_string(w.repo.join("Home.md")).unwrap(), "# Home\n");
    w.stop().await;
}

/// Bytes that do not compress, so the pack is as large as the file.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_over_the_size_limit_is_refused() {
    let w = start_with(Access::Edit, false, |o| o.max_push_bytes = 64 * 1024).await;
    ok(Ok(w.clone("a").await));
    let before = w.server_head().await;
    w.write("a/files/big.bin", noise(300 * 1024));
    w.commit("a", "A large file").await;
    // With its length announced up front, and streamed in chunks without one.
    let out = w.git("a", &["push", "origin", "main"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("413"), "{}", stderr(&out));
    assert_eq!(w.server_head().await, before);
    let out = w.git("a", &["-c", "http.postBuffer=8192", "push", "origin", "main"]).await;
    assert!(!out.status.success());
    // The server answers 413 and stops reading; git, still sending, may see that answer or only
    // the connection closing under it, depending on timing. Either way nothing is taken.
    let err = stderr(&out);
    assert!(err.contains("413") || err.contains("RPC failed") || err.contains("hung up"), "{err}");
    assert_eq!(w.server_head().await, before);
    // A small push still goes through.
    ok(Ok(w.git("a", &["reset", "-q", "--hard", "origin/main"]).await));
    w.write("a/Small.md", "# Small\n");
    w.commit("a", "A small page").await;
    w.push("a", "main").await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_with_a_page_over_the_page_limit_is_refused_by_git() {
    let w = start_full(Access::Edit, false, |o| o.max_page_bytes = 4096, |_| {}).await;
    ok(Ok(w.clone("a").await));
    let before = w.server_head().await;
    // Small on the wire (it compresses well), over the limit once inflated. The same content
    // also as an attachment, which comes first in the tree: the page must be found all the same.
    let big = "All work and no play. ".repeat(1000);
    w.write("a/notes/Big Page.md", &big);
    w.write("a/notes/Big Copy.bin", &big);
    w.write("a/notes/Fine.md", "# Fine\n");
    w.commit("a", "A page over the limit").await;
    let out = w.git("a", &["push", "origin", "main"]).await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(
            "remote: Casebook: notes/Big Page.md is 22000 bytes; a page may be at most 4096 bytes"
        ),
        "{err}"
    );
    assert!(err.contains("! [remote rejected]"), "{err}");
    assert_eq!(w.server_head().await, before);
    assert_eq!(w.engine.head().unwrap().as_str(), before);
    // Nothing of the refused push was stored.
    let blob = String::from_utf8(w.git("a", &["rev-parse", "HEAD:notes/Big Page.md"]).await.stdout)
        .unwrap();
    let kept = Command::new("git")
        .arg("-C")
        .arg(&w.repo)
        .args(["cat-file", "-e", blob.trim()])
        .output()
        .await
        .unwrap();
    assert!(!kept.status.success(), "the refused page's blob is in the repository");
    // A discussion's file is held to the same limit.
    ok(Ok(w.git("a", &["reset", "-q", "--hard", "origin/main"]).await));
    w.write("a/.casebook/discussions/Welcome/20261201-093000-3fa2/20261201-093100-0001.md", &big);
    w.commit("a", "A long comment").await;
    let out = w.git("a", &["push", "origin", "main"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("20261201-093100-0001.md is 22000 bytes"), "{}", stderr(&out));
    assert_eq!(w.server_head().await, before);
    // Pages under the limit, and attachments of any size, still go through.
    ok(Ok(w.git("a", &["reset", "-q", "--hard", "origin/main"]).await));
    w.write("a/notes/Big Copy.bin", &big);
    w.write("a/notes/Fine.md", "Fine. ".repeat(600));
    w.commit("a", "A page under the limit").await;
    w.push("a", "main").await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let w = start_with(Access::Edit, false, |o| o.git_timeout = Duration::from_millis(300)).await;
    let addr = w.base.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(
        b"POST /wiki.git/git-upload-pack HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/x-git-upload-pack-request\r\n\
          Content-Length: 1000\r\n\r\n0032want ",
    )
    .await
    .unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut answer))
        .await
        .expect("the server answers a stalled request")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 504"), "{answer}");
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_clone_and_push_with_a_password_or_a_token() {
    use casebook_accounts::{Accounts, Role};
    let data = tempfile::tempdir().unwrap();
    let accounts = std::sync::Arc::new(Accounts::open(data.path()).unwrap());
    accounts.add_user("rita", "rita@example.com", Role::Reader, "reader password 1").unwrap();
    accounts.add_user("ed", "ed@example.com", Role::Editor, "editor password 1").unwrap();
    let (_, token) = accounts.create_token("ed", "git").unwrap();
    let acc = accounts.clone();
    let w = start_with(Access::None, false, move |o| o.accounts = Some(acc)).await;
    let with = |user: &str, secret: &str| {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        w.url().replacen("http://", &format!("http://{}:{}@", enc(user), enc(secret)), 1)
    };

    // Nobody gets in without an account, nor with a wrong password.
    assert!(!w.clone("anon").await.status.success());
    let out = w.git(".", &["clone", "-q", &with("rita", "wrong password!"), "bad"]).await;
    assert!(!out.status.success());
    // A reader clones with the password but may not push.
    ok(Ok(w.git(".", &["clone", "-q", &with("rita", "reader password 1"), "r"]).await));
    let before = w.server_head().await;
    w.write("r/Rita.md", "# Rita\n");
    w.commit("r", "Reader tries").await;
    let out = w.git("r", &["push", "origin", "main"]).await;
    assert!(!out.status.success(), "a reader's push is refused");
    assert_eq!(w.server_head().await, before);
    // An editor pushes with an API token as the password, and the commit keeps its author.
    ok(Ok(w.git(".", &["clone", "-q", &with("ed", &token), "e"]).await));
    w.write("e/Pushed by Ed.md", "# Pushed by Ed\n\nfrom a laptop\n");
    w.commit("e", "Ed writes offline").await;
    w.push("e", "main").await;
    assert!(w.engine.exists(
        &casebook_core::PagePath::parse("Pushed by Ed").unwrap(),
        &casebook_core::ReadScope::everything()
    ));
    w.stop().await;
}
