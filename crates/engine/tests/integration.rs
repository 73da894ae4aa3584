//! The engine on real repositories: saving, merging, conflicts, outside commits, the index.

use casebook_core::{Author, FolderPath, PagePath, Revision};
use casebook_engine::{Engine, Options, Save, SaveOutcome};
use std::path::Path;
use std::process::Command;

struct TestWiki {
    _tmp: tempfile::TempDir,
    engine: Engine,
    repo: std::path::PathBuf,
}

impl TestWiki {
    fn new() -> TestWiki {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("wiki.git");
        let engine = Engine::open(Options::new(&repo, tmp.path().join("data"))).unwrap();
        TestWiki {
            _tmp: tmp,
            engine,
            repo,
        }
    }

    fn save(&self, path: &str, md: &str, base: Option<&Revision>) -> SaveOutcome {
        let p = PagePath::parse(path).unwrap();
        self.engine
            .save(Save {
                path: &p,
                markdown: md,
                message: "",
                base,
                author: &Author::new("Ann", "ann@example.com"),
            })
            .unwrap()
    }

    fn rev(&self, path: &str, md: &str) -> Revision {
        match self.save(path, md, None) {
            SaveOutcome::Saved { revision, .. } => revision,
            other => panic!("{other:?}"),
        }
    }

    fn text(&self, path: &str) -> String {
        self.engine
            .page(&PagePath::parse(path).unwrap(), None)
            .unwrap()
            .markdown
    }

    fn git(&self, args: &[&str]) -> String {
        git(&self.repo, args)
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn starts_with_the_starter_content() {
    let w = TestWiki::new();
    assert!(w.engine.page_count() >= 6);
    let home = w
        .engine
        .page(&PagePath::parse("Home").unwrap(), None)
        .unwrap();
    assert!(!home.title.is_empty());
    assert!(
        home.rendered.links.iter().any(|l| l.exists),
        "the welcome page links to other pages"
    );
    w.engine.wait_indexed();
    assert!(w.engine.indexed_docs() as usize >= w.engine.page_count());
}

#[test]
fn stale_saves_merge_or_conflict_and_never_lose_text() {
    let w = TestWiki::new();
    let base_text = "# M\n\nPara one.\n\nPara two.\n\nPara three.\n";
    let r0 = w.rev("t/M", base_text);
    w.rev("t/M", &base_text.replace("Para one.", "Para one by Ann."));
    match w.save(
        "t/M",
        &base_text.replace("Para three.", "Para three by Bob."),
        Some(&r0),
    ) {
        SaveOutcome::Saved { merged, .. } => assert!(merged),
        other => panic!("{other:?}"),
    }
    let text = w.text("t/M");
    assert!(text.contains("by Ann") && text.contains("by Bob"), "{text}");
    let commits = w.git(&["rev-list", "--count", "HEAD"]);
    match w.save(
        "t/M",
        &base_text.replace("Para one.", "Para one by Cyd."),
        Some(&r0),
    ) {
        SaveOutcome::Conflict {
            theirs,
            yours,
            base,
            ..
        } => {
            assert!(theirs.contains("by Ann") && yours.contains("by Cyd") && base == base_text);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        w.git(&["rev-list", "--count", "HEAD"]),
        commits,
        "a conflict commits nothing"
    );
}

#[test]
fn unchanged_save_makes_no_commit_and_delete_respects_base() {
    let w = TestWiki::new();
    let r1 = w.rev("Same", "text\n");
    match w.save("Same", "text\n", None) {
        SaveOutcome::Saved {
            unchanged,
            revision,
            ..
        } => {
            assert!(unchanged);
            assert_eq!(revision, r1);
        }
        other => panic!("{other:?}"),
    }
    w.rev("Same", "newer\n");
    let p = PagePath::parse("Same").unwrap();
    let err = w
        .engine
        .delete(&p, Some(&r1), &Author::new("A", "a@x"), "")
        .unwrap_err();
    assert_eq!(err.kind, casebook_core::ErrorKind::Conflict);
    w.engine
        .delete(&p, None, &Author::new("A", "a@x"), "")
        .unwrap();
    assert!(!w.engine.exists(&p));
}

#[test]
fn outside_commits_are_picked_up_and_indexed() {
    let w = TestWiki::new();
    let tmp = tempfile::tempdir().unwrap();
    let clone = tmp.path().join("c");
    let out = Command::new("git")
        .args(["clone", "-q"])
        .arg(&w.repo)
        .arg(&clone)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::create_dir_all(clone.join("outside")).unwrap();
    std::fs::write(
        clone.join("outside/Pushed.md"),
        "# Pushed Page\n\nThe word zyxwvut lives here.\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let o = Command::new("git")
            .arg("-C")
            .arg(&clone)
            .args(args)
            .env("GIT_AUTHOR_NAME", "Pusher")
            .env("GIT_AUTHOR_EMAIL", "p@x")
            .env("GIT_COMMITTER_NAME", "Pusher")
            .env("GIT_COMMITTER_EMAIL", "p@x")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&["add", "."]);
    run(&["commit", "-q", "-m", "from outside"]);
    run(&["push", "-q", "origin", "HEAD:main"]);
    assert!(w.engine.sync().unwrap());
    let p = PagePath::parse("outside/Pushed").unwrap();
    let page = w.engine.page(&p, None).unwrap();
    assert_eq!(page.title, "Pushed Page");
    assert_eq!(page.author.unwrap().name, "Pusher");
    w.engine.wait_indexed();
    let hits = w.engine.search("zyxwvut", 10, 0).unwrap();
    assert_eq!(
        hits.hits.first().map(|h| h.path.as_str()),
        Some("outside/Pushed")
    );
}

#[test]
fn history_diff_revert_and_move() {
    let w = TestWiki::new();
    let r1 = w.rev("h/Page", "# Page\n\nfirst\n");
    let r2 = w.rev("h/Page", "# Page\n\nsecond\n");
    let p = PagePath::parse("h/Page").unwrap();
    let diff = w.engine.diff(&p, &r1, &r2).unwrap();
    assert!(
        diff.contains("-first") && diff.contains("+second"),
        "{diff}"
    );
    w.engine.revert(&p, &r1, &Author::new("A", "a@x")).unwrap();
    assert_eq!(w.text("h/Page"), "# Page\n\nfirst\n");
    let to = PagePath::parse("h/Moved").unwrap();
    w.engine
        .move_page(&p, &to, false, &Author::new("A", "a@x"), "")
        .unwrap();
    assert!(!w.engine.exists(&p) && w.engine.exists(&to));
    let history = w.engine.history(&to, 10).unwrap();
    assert_eq!(history.len(), 4, "create, update, revert, move");
    let old = w.engine.page(&p, Some(&r2)).unwrap();
    assert!(old.historic && old.markdown.contains("second"));
    let listing = w.engine.listing(&FolderPath::parse("h").unwrap());
    assert_eq!(listing.pages.len(), 1);
}

#[test]
fn the_index_survives_deletion_and_catches_up_after_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("wiki.git");
    let data = tmp.path().join("data");
    {
        let e = Engine::open(Options::new(&repo, &data)).unwrap();
        let p = PagePath::parse("Kept").unwrap();
        e.save(Save {
            path: &p,
            markdown: "quokka\n",
            message: "",
            base: None,
            author: &Author::new("A", "a@x"),
        })
        .unwrap();
        e.shutdown();
    }
    // A commit while the server is down is caught up from the recorded revision.
    {
        let e = Engine::open_without_indexing(Options::new(&repo, tmp.path().join("other-data")))
            .unwrap();
        let p = PagePath::parse("Later").unwrap();
        e.save(Save {
            path: &p,
            markdown: "wombat\n",
            message: "",
            base: None,
            author: &Author::new("A", "a@x"),
        })
        .unwrap();
        e.shutdown();
    }
    let e = Engine::open(Options::new(&repo, &data)).unwrap();
    e.wait_indexed();
    assert_eq!(e.search("wombat", 5, 0).unwrap().total, 1);
    assert_eq!(e.search("quokka", 5, 0).unwrap().total, 1);
    e.shutdown();
    drop(e);
    std::fs::remove_dir_all(data.join("index")).unwrap();
    let e = Engine::open(Options::new(&repo, &data)).unwrap();
    e.wait_indexed();
    assert_eq!(
        e.search("quokka", 5, 0).unwrap().total,
        1,
        "rebuilt after the index was deleted"
    );
}

#[test]
fn import_is_one_commit() {
    let w = TestWiki::new();
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("a/b")).unwrap();
    std::fs::create_dir_all(src.path().join(".git")).unwrap();
    std::fs::write(src.path().join("a/One.md"), "# One\n\n[two](b/Two.md)\n").unwrap();
    std::fs::write(src.path().join("a/b/Two.md"), "# Two\n").unwrap();
    std::fs::write(src.path().join("a/b/pic.png"), [0x89, b'P', b'N', b'G']).unwrap();
    std::fs::write(src.path().join(".git/config"), "x").unwrap();
    std::fs::write(src.path().join("a/bad.md"), [0xff, 0xfe]).unwrap();
    let before = w
        .git(&["rev-list", "--count", "HEAD"])
        .trim()
        .parse::<u32>()
        .unwrap();
    let report = w
        .engine
        .import(
            src.path(),
            &FolderPath::parse("imp").unwrap(),
            "",
            &Author::new("I", "i@x"),
            None,
        )
        .unwrap();
    assert_eq!(
        (report.pages, report.attachments, report.skipped.len()),
        (2, 1, 1)
    );
    assert_eq!(
        w.git(&["rev-list", "--count", "HEAD"])
            .trim()
            .parse::<u32>()
            .unwrap(),
        before + 1
    );
    let one = w
        .engine
        .page(&PagePath::parse("imp/a/One").unwrap(), None)
        .unwrap();
    assert_eq!(one.rendered.links[0].path, "imp/a/b/Two");
    assert!(one.rendered.links[0].exists);
    w.engine.wait_indexed();
    let bl = w
        .engine
        .backlinks(&PagePath::parse("imp/a/b/Two").unwrap())
        .unwrap();
    assert_eq!(
        bl.iter().map(|b| b.path.as_str()).collect::<Vec<_>>(),
        ["imp/a/One"]
    );
}

#[test]
fn moving_a_page_rewrites_links_and_the_old_address_leads_on() {
    let w = TestWiki::new();
    w.rev("kb/Target Page", "# Target Page\n");
    w.rev(
        "kb/Wiki Linker",
        "See [[Target Page]] and `[[Target Page]]` in code.\n",
    );
    w.rev("other/Md Linker", "See [it](../kb/Target%20Page.md#top).\n");
    w.rev("other/Unrelated", "Nothing.\n");
    let before: u32 = w
        .git(&["rev-list", "--count", "HEAD"])
        .trim()
        .parse()
        .unwrap();
    let from = PagePath::parse("kb/Target Page").unwrap();
    let to = PagePath::parse("archive/Moved Target").unwrap();
    let moved = w
        .engine
        .move_page(&from, &to, true, &Author::new("A", "a@x"), "")
        .unwrap();
    let mut updated = moved.updated_pages.clone();
    updated.sort();
    assert_eq!(updated, ["kb/Wiki Linker", "other/Md Linker"]);
    assert_eq!(
        w.git(&["rev-list", "--count", "HEAD"])
            .trim()
            .parse::<u32>()
            .unwrap(),
        before + 1,
        "one commit"
    );
    assert_eq!(
        w.text("kb/Wiki Linker"),
        "See [[archive/Moved Target]] and `[[Target Page]]` in code.\n"
    );
    assert_eq!(
        w.text("other/Md Linker"),
        "See [it](../archive/Moved%20Target.md#top).\n"
    );
    assert_eq!(w.engine.moved_to(&from), Some(to.clone()));
    w.engine.wait_indexed();
    let mut bl: Vec<String> = w
        .engine
        .backlinks(&to)
        .unwrap()
        .into_iter()
        .map(|b| b.path)
        .collect();
    bl.sort();
    assert_eq!(
        bl,
        ["kb/Wiki Linker", "other/Md Linker"],
        "backlinks follow the move"
    );
}

/// The shared corpora live outside the repository (`../shared/corpus`, or `CASEBOOK_SHARED`);
/// CI has them, a fresh clone may not, and then these tests say so and pass.
fn shared_corpus(name: &str) -> Option<std::path::PathBuf> {
    let root = std::env::var_os("CASEBOOK_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = root.join("corpus").join(name);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} not found (set CASEBOOK_SHARED to the shared folder to run this test)",
            dir.display()
        );
        None
    }
}

/// Counts, for each markdown file, the other files whose relative links point at it: a separate,
/// deliberately simple reading of the corpus (regular expressions on lines outside code fences)
/// to hold the engine's link graph against.
fn independent_backlinks(
    root: &Path,
) -> std::collections::HashMap<String, std::collections::BTreeSet<String>> {
    let link = regex::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut out: std::collections::HashMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|e| e.to_str()) != Some("md") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let mut fenced = false;
            for line in text.lines() {
                let t = line.trim_start();
                if t.starts_with("```") || t.starts_with("~~~") {
                    fenced = !fenced;
                    continue;
                }
                if fenced || line.starts_with("    ") {
                    continue;
                }
                for cap in link.captures_iter(line) {
                    let target = cap[1].split(['#', '?']).next().unwrap_or("");
                    if target.is_empty() || target.contains(':') || target.starts_with('/') {
                        continue;
                    }
                    let decoded = percent_encoding::percent_decode_str(target)
                        .decode_utf8_lossy()
                        .to_string();
                    let joined = p.parent().unwrap().join(decoded.trim_end_matches('/'));
                    let Ok(full) = joined.canonicalize() else {
                        continue;
                    };
                    let file = if full.is_file()
                        && full.extension().and_then(|e| e.to_str()) == Some("md")
                    {
                        full
                    } else if full.is_dir() {
                        match ["index.md", "README.md", "index.html.md"]
                            .iter()
                            .map(|i| full.join(i))
                            .find(|f| f.is_file())
                        {
                            Some(f) => f,
                            None => continue,
                        }
                    } else {
                        continue;
                    };
                    let src = p.canonicalize().unwrap();
                    if file != src {
                        let rel = |f: &Path| {
                            f.strip_prefix(root.canonicalize().unwrap())
                                .unwrap()
                                .to_string_lossy()
                                .trim_end_matches(".md")
                                .to_string()
                        };
                        out.entry(rel(&file)).or_default().insert(rel(&src));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn corpus_sales_handbook_links_resolve_and_backlinks_match() {
    let Some(src) = shared_corpus("sales") else {
        return;
    };
    let w = TestWiki::new();
    let report = w
        .engine
        .import(
            &src,
            &FolderPath::root(),
            "",
            &Author::new("I", "i@x"),
            None,
        )
        .unwrap();
    assert_eq!(report.pages, 700);
    w.engine.wait_indexed();
    let page = w
        .engine
        .page(
            &PagePath::parse(
                "sourcegraph-handbook/content/departments/technical-success/support/process/index",
            )
            .unwrap(),
            None,
        )
        .unwrap();
    let resolved = page.rendered.links.iter().filter(|l| l.exists).count();
    assert!(resolved >= 15, "only {resolved} links resolved");
    let expected = independent_backlinks(&src);
    // The figure as counted on the corpus when this test was written.
    assert_eq!(
        expected["sourcegraph-handbook/content/departments/technical-success/support/index"].len(),
        8
    );
    let mut top: Vec<(&String, &std::collections::BTreeSet<String>)> = expected.iter().collect();
    top.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    for (target, sources) in top.into_iter().take(6) {
        let got: std::collections::BTreeSet<String> = w
            .engine
            .backlinks(&PagePath::parse(target).unwrap())
            .unwrap()
            .into_iter()
            .map(|b| b.path)
            .collect();
        assert_eq!(&got, sources, "backlinks of {target}");
        eprintln!(
            "{target}: {} backlinks, as counted independently",
            got.len()
        );
    }
}

#[test]
fn related_pages_share_tags_or_links() {
    let w = TestWiki::new();
    w.rev(
        "r/A",
        "---\ntags: [pricing, retail]\n---\nSee [[r/Hub]] and [[r/Hub2]].\n",
    );
    w.rev("r/Hub2", "# Hub 2\n");
    w.rev("r/B", "---\ntags: [Pricing]\n---\nNothing else.\n");
    w.rev("r/C", "Also about [[r/Hub]] and [[r/Hub2]].\n");
    w.rev("r/Hub", "# Hub\n");
    w.rev("r/D", "Unrelated.\n");
    w.engine.wait_indexed();
    let a = w
        .engine
        .page(&PagePath::parse("r/A").unwrap(), None)
        .unwrap();
    let related: Vec<String> = w
        .engine
        .related(&a, 6)
        .unwrap()
        .into_iter()
        .map(|r| r.path)
        .collect();
    for p in ["r/B", "r/C", "r/Hub"] {
        assert!(
            related.contains(&p.to_string()),
            "{p} missing from {related:?}"
        );
    }
    assert!(!related.contains(&"r/D".to_string()) && !related.contains(&"r/A".to_string()));
}

#[test]
fn a_search_right_after_a_save_sees_it() {
    let w = TestWiki::new();
    for i in 0..5 {
        w.rev(
            &format!("fresh/P{i}"),
            &format!("the marker wq{i}zx is here\n"),
        );
        let r = w.engine.search(&format!("wq{i}zx"), 5, 0).unwrap();
        assert_eq!(
            r.hits.first().map(|h| h.path.clone()),
            Some(format!("fresh/P{i}")),
            "save {i} not searchable at once"
        );
    }
}

#[test]
fn a_save_on_top_of_an_unnoticed_push_brings_in_both() {
    let w = TestWiki::new();
    let tmp = tempfile::tempdir().unwrap();
    let clone = tmp.path().join("c");
    let run = |args: &[&str]| {
        let o = Command::new("git")
            .current_dir(tmp.path())
            .args(args)
            .env("GIT_AUTHOR_NAME", "Pusher")
            .env("GIT_AUTHOR_EMAIL", "p@x")
            .env("GIT_COMMITTER_NAME", "Pusher")
            .env("GIT_COMMITTER_EMAIL", "p@x")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&["clone", "-q", w.repo.to_str().unwrap(), "c"]);
    std::fs::write(clone.join("Pushed.md"), "# Pushed\n\nqwertzuiop\n").unwrap();
    run(&["-C", "c", "add", "."]);
    run(&["-C", "c", "commit", "-q", "-m", "from outside"]);
    run(&["-C", "c", "push", "-q", "origin", "HEAD:main"]);
    // No sync in between: the save commits on top of the push the engine has not seen yet.
    let rev = w.rev("Saved", "# Saved\n\nasdfghjkl\n");
    assert_eq!(w.engine.head(), Some(rev.clone()));
    let pushed = w
        .engine
        .page(&PagePath::parse("Pushed").unwrap(), None)
        .unwrap();
    assert_eq!(pushed.title, "Pushed");
    assert_ne!(
        pushed.revision,
        Some(rev.clone()),
        "the push keeps its own commit"
    );
    assert_eq!(pushed.author.unwrap().name, "Pusher");
    let saved = w
        .engine
        .page(&PagePath::parse("Saved").unwrap(), None)
        .unwrap();
    assert_eq!(saved.revision, Some(rev));
    assert_eq!(saved.author.unwrap().name, "Ann");
    for (word, path) in [("qwertzuiop", "Pushed"), ("asdfghjkl", "Saved")] {
        let hits = w.engine.search(word, 10, 0).unwrap();
        assert_eq!(hits.hits.first().map(|h| h.path.as_str()), Some(path));
    }
}

#[test]
fn discussions_live_in_git_beside_the_page_and_follow_it() {
    use casebook_engine::ThreadStatus;
    let w = TestWiki::new();
    w.rev("cases/Deal X", "# Deal X\n\nWhat happened.\n");
    let page = PagePath::parse("cases/Deal X").unwrap();
    let ann = Author::new("Ann", "ann@example.com");
    let bo = Author::new("Bo", "bo@example.com");
    let commits = |w: &TestWiki| w.git(&["rev-list", "--count", "HEAD"]).trim().to_string();
    let before: u32 = commits(&w).parse().unwrap();

    let t = w
        .engine
        .start_thread(&page, "  Why did we\nwin? ", "Was it the **pilot**?", &ann)
        .unwrap();
    assert_eq!(t.title, "Why did we win?");
    assert_eq!(t.status, ThreadStatus::Open);
    assert_eq!(t.comments.len(), 1);
    assert!(t.comments[0].html.contains("<strong>pilot</strong>"));
    let (t2, cid) = w
        .engine
        .reply(
            &t.id,
            "The pilot <script>alert(1)</script> and zanzibarquux.",
            &bo,
        )
        .unwrap();
    assert_eq!(t2.comments.len(), 2);
    assert!(!t2.comments[1].html.contains("<script"));
    assert_eq!(
        commits(&w).parse::<u32>().unwrap(),
        before + 2,
        "one commit per action"
    );
    assert_eq!(
        w.git(&["log", "-1", "--format=%an <%ae>"]).trim(),
        "Bo <bo@example.com>"
    );

    // Plain text files in git, next to nothing that could be a page.
    let files = w.git(&["ls-tree", "-r", "--name-only", "HEAD"]);
    let dir = format!(".casebook/discussions/cases/Deal X/{}/", t.id);
    assert!(files.contains(&format!("{dir}thread.md")), "{files}");
    let reply_file = w.git(&["show", &format!("HEAD:{dir}{cid}.md")]);
    assert!(reply_file.starts_with("---\n") && reply_file.contains("author: Bo"));
    assert!(reply_file.contains("zanzibarquux"));
    assert!(
        w.engine
            .list_pages(&FolderPath::root(), None)
            .iter()
            .all(|p| !p.path.contains("discussions"))
    );

    // Only the author edits; the old text stays in history.
    let err = w
        .engine
        .edit_comment(&t.id, &cid, "rewritten by Ann", &ann, false)
        .unwrap_err();
    assert_eq!(err.kind, casebook_core::ErrorKind::Forbidden);
    let t3 = w
        .engine
        .edit_comment(
            &t.id,
            &cid,
            "The pilot and the zanzibarquux workshop.",
            &bo,
            false,
        )
        .unwrap();
    assert!(t3.comments[1].edited.is_some());
    assert!(
        w.git(&["log", "-p", "-1", "--format="])
            .contains("-The pilot")
    );

    let t4 = w
        .engine
        .set_thread_status(&t.id, ThreadStatus::Resolved, &ann)
        .unwrap();
    assert_eq!(t4.status, ThreadStatus::Resolved);
    assert!(
        w.engine
            .all_threads(Some(ThreadStatus::Open), 10)
            .unwrap()
            .is_empty()
    );

    // Searchable as a discussion.
    let hits = w.engine.search("zanzibarquux", 10, 0).unwrap();
    let hit = hits
        .hits
        .iter()
        .find(|h| h.kind == "discussion")
        .expect("a discussion hit");
    assert_eq!(hit.path, format!("cases/Deal X#{}", t.id));

    // The thread moves with the page and goes when it is deleted.
    let to = PagePath::parse("cases/Deal Y").unwrap();
    w.engine.move_page(&page, &to, false, &ann, "").unwrap();
    assert!(w.engine.threads(&page).unwrap().is_empty());
    let moved = w.engine.threads(&to).unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].comments.len(), 2);
    let hits = w.engine.search("zanzibarquux", 10, 0).unwrap();
    let paths: Vec<&str> = hits.hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(paths, [format!("cases/Deal Y#{}", t.id)]);
    w.engine.delete(&to, None, &ann, "").unwrap();
    assert!(w.engine.thread(&t.id).is_err());
    assert!(
        !w.git(&["ls-tree", "-r", "--name-only", "HEAD"])
            .contains(".casebook/discussions/cases")
    );
    assert!(
        w.engine
            .search("zanzibarquux", 10, 0)
            .unwrap()
            .hits
            .is_empty()
    );

    // No thread on a missing page, and no empty comment.
    assert!(w.engine.start_thread(&page, "x", "y", &ann).is_err());
    let home = PagePath::parse("Home").unwrap();
    assert!(w.engine.start_thread(&home, "x", "   ", &ann).is_err());
    assert!(w.engine.start_thread(&home, "   ", "y", &ann).is_err());
}

#[test]
fn a_thread_pushed_from_a_clone_is_picked_up() {
    let w = TestWiki::new();
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let o = Command::new("git")
            .current_dir(tmp.path())
            .args(args)
            .env("GIT_AUTHOR_NAME", "Cleo")
            .env("GIT_AUTHOR_EMAIL", "c@x")
            .env("GIT_COMMITTER_NAME", "Cleo")
            .env("GIT_COMMITTER_EMAIL", "c@x")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&["clone", "-q", w.repo.to_str().unwrap(), "c"]);
    let dir = tmp
        .path()
        .join("c/.casebook/discussions/Home/20261101-120000-abcd");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("thread.md"),
        "---\ntitle: Offline thought\nstatus: open\nauthor: Cleo\ncreated: 2026-11-01T12:00:00Z\n---\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("20261101-120000-0001.md"),
        "---\nauthor: Cleo\ndate: 2026-11-01T12:00:00Z\n---\n\nWritten on a train, xylophonic.\n",
    )
    .unwrap();
    run(&["-C", "c", "add", "."]);
    run(&["-C", "c", "commit", "-q", "-m", "thread from a clone"]);
    run(&["-C", "c", "push", "-q", "origin", "HEAD:main"]);
    assert!(w.engine.sync().unwrap());
    let threads = w.engine.threads(&PagePath::parse("Home").unwrap()).unwrap();
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0].title, "Offline thought");
    assert_eq!(threads[0].comments[0].author.name, "Cleo");
    let hits = w.engine.search("xylophonic", 10, 0).unwrap();
    assert_eq!(
        hits.hits.first().map(|h| h.kind.as_str()),
        Some("discussion")
    );
}
#[path = "integration/types.rs"]
mod types;
