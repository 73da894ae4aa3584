//! The store against real repositories in temp dirs, checked with the real git CLI.

#[path = "support/lying_blob.rs"]
mod lying_blob;

use casebook_core::{Author, Error, ErrorKind, Revision};
use casebook_store::{Change, CommitError, Store};
use lying_blob::blob_that_cannot_be_read;
use std::path::{Path, PathBuf};
use std::process::Command;

fn ann() -> Author {
    Author::new("Ann Example", "ann@example.com")
}

/// Runs git in `dir` as a person would, whatever it answers.
fn git_output(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Git User")
        .env("GIT_AUTHOR_EMAIL", "git@example.com")
        .env("GIT_COMMITTER_NAME", "Git User")
        .env("GIT_COMMITTER_EMAIL", "git@example.com")
        .output()
        .expect("git runs")
}

/// Runs git in `dir`, which must succeed; its standard output.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_output(dir, args);
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn put(path: &str, text: &str) -> Change {
    Change::Put { path: path.into(), content: text.as_bytes().to_vec() }
}

fn mv(from: &str, to: &str) -> Change {
    Change::Move { from: from.into(), to: to.into() }
}

fn delete(path: &str) -> Change {
    Change::Delete { path: path.into() }
}

/// A bare repository made by the store in a temp dir, seeded with two pages.
struct Seeded {
    tmp: tempfile::TempDir,
    store: Store,
    repo: PathBuf,
}

fn seeded() -> Seeded {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("wiki.git");
    let (store, _) = Store::open_or_create(
        &repo,
        || {
            vec![
                ("Home.md".into(), b"# Home\n".to_vec()),
                ("a/b/Deep.md".into(), b"deep\n".to_vec()),
            ]
        },
        &ann(),
    )
    .unwrap();
    Seeded { tmp, store, repo }
}

/// A repository with a working tree, made by git in `dir` on `branch`, whose one commit holds
/// `file` with `text`.
fn worktree_repo(dir: &Path, branch: &str, file: &str, text: &str) -> PathBuf {
    let repo = dir.join("worktree");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", branch]);
    std::fs::write(repo.join(file), text).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "first"]);
    repo
}

/// Commits `changes` by Ann through a writer of its own, which must succeed.
fn commit(store: &Store, changes: &[Change], message: &str) -> Revision {
    store.writer().commit(changes, &ann(), message).unwrap()
}

/// Commits `changes` by Ann, which must be refused (not a moved branch): the error.
fn refused(store: &Store, changes: &[Change]) -> Error {
    match store.writer().commit(changes, &ann(), "refused") {
        Err(CommitError::Failed(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn read(store: &Store, at: &Revision, file: &str) -> Option<String> {
    store
        .blob_at(at, file)
        .unwrap()
        .map(|b| String::from_utf8(store.blob(b, usize::MAX).unwrap()).unwrap())
}

#[test]
fn creates_a_bare_repository_seeded_in_one_commit() {
    let Seeded { tmp: _tmp, store, repo } = seeded();
    assert_eq!(git(&repo, &["rev-parse", "--is-bare-repository"]).trim(), "true");
    assert_eq!(git(&repo, &["rev-list", "--count", "HEAD"]).trim(), "1");
    let files = git(&repo, &["ls-tree", "-r", "--name-only", "HEAD"]);
    assert_eq!(files, "Home.md\na/b/Deep.md\n");
    let head = store.head().unwrap().unwrap();
    assert_eq!(read(&store, &head, "a/b/Deep.md").as_deref(), Some("deep\n"));
    assert_eq!(
        git(&repo, &["log", "-1", "--format=%an <%ae>"]).trim(),
        "Ann Example <ann@example.com>"
    );
    // Its configuration is git's own: nothing git warns about when used there (syncing to disk
    // is asked of libgit2 for the whole process, not written into the repository).
    let config = git(&repo, &["config", "--local", "--list"]);
    assert!(!config.contains("fsync"), "{config}");
    let out = git_output(&repo, &["log", "-1"]);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn each_write_is_one_commit_and_git_agrees() {
    let Seeded { tmp: _tmp, store, repo } = seeded();
    let r1 = commit(&store, &[put("a/New.md", "one\n")], "Create a/New");
    let r2 = commit(&store, &[put("a/New.md", "two\n")], "Update a/New");
    let r3 = commit(&store, &[mv("a/New.md", "z/Renamed.md")], "Move");
    let r4 = commit(&store, &[delete("a/b/Deep.md")], "Delete");
    assert_eq!(git(&repo, &["rev-list", "--count", "HEAD"]).trim(), "5");
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]).trim(), r4.as_str());
    assert_eq!(git(&repo, &["show", "HEAD:z/Renamed.md"]), "two\n");
    assert_eq!(read(&store, &r1, "a/New.md").as_deref(), Some("one\n"));
    assert_eq!(read(&store, &r3, "a/New.md"), None);
    // Emptied folders disappear from the tree, as in git.
    assert!(!git(&repo, &["ls-tree", "-r", "--name-only", "HEAD"]).contains("a/b"));
    let history = store.file_history("z/Renamed.md", 10).unwrap();
    let revs: Vec<&Revision> = history.iter().map(|c| &c.revision).collect();
    assert_eq!(revs, vec![&r3, &r2, &r1], "history follows the rename");
    let log = store.log(10, 0).unwrap();
    assert_eq!(log[0].paths, vec!["a/b/Deep.md".to_string()]);
    assert_eq!(log[0].summary, "Delete");
    let deltas = store.changes_between(Some(&r1), &r2).unwrap();
    assert_eq!(deltas.len(), 1);
    assert_eq!(deltas[0].path, "a/New.md");
    git(&repo, &["fsck", "--strict"]);
}

#[test]
fn refuses_a_file_where_a_folder_is_and_changes_nothing() {
    let Seeded { tmp: _tmp, store, .. } = seeded();
    let head = store.head().unwrap();
    let err = refused(&store, &[put("a/b", "x")]);
    assert!(err.message.contains("folder"), "{}", err.message);
    let err = refused(&store, &[put("Home.md/x.md", "x")]);
    assert!(err.message.contains("file"), "{}", err.message);
    assert_eq!(store.head().unwrap(), head);
}

#[test]
fn an_existing_repository_keeps_its_history_and_only_grows() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = worktree_repo(tmp.path(), "trunk", "Notes.md", "# Notes\n\nfirst\n");
    std::fs::write(repo.join("Notes.md"), "# Notes\n\nsecond\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "second"]);
    let before = git(&repo, &["rev-parse", "HEAD"]).trim().to_string();

    let (store, opened) = Store::open_or_create(&repo, Vec::new, &ann()).unwrap();
    assert_eq!(opened, casebook_store::Opened::Existing);
    assert_eq!(store.branch(), "refs/heads/trunk");
    assert_eq!(store.file_history("Notes.md", 10).unwrap().len(), 2);
    commit(&store, &[put("Notes.md", "# Notes\n\nthird\n")], "third");
    // The working tree and index follow the commit: git sees a clean tree.
    assert_eq!(std::fs::read_to_string(repo.join("Notes.md")).unwrap(), "# Notes\n\nthird\n");
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    assert_eq!(git(&repo, &["rev-parse", "HEAD~1"]).trim(), before, "old history is kept");
    commit(&store, &[put("new/Page.md", "p\n")], "add");
    assert_eq!(std::fs::read_to_string(repo.join("new/Page.md")).unwrap(), "p\n");
    commit(&store, &[delete("new/Page.md")], "rm");
    assert!(!repo.join("new").exists());
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
}

#[test]
fn a_dirty_working_tree_file_is_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = worktree_repo(tmp.path(), "main", "Page.md", "committed\n");
    std::fs::write(repo.join("Page.md"), "local work in progress\n").unwrap();
    let store = Store::open(&repo).unwrap();
    let head = store.head().unwrap();
    let err = refused(&store, &[put("Page.md", "from the wiki\n")]);
    assert!(err.message.contains("uncommitted changes"), "{}", err.message);
    assert_eq!(store.head().unwrap(), head);
    assert_eq!(std::fs::read_to_string(repo.join("Page.md")).unwrap(), "local work in progress\n");
    // Other files can still be saved.
    commit(&store, &[put("Other.md", "fine\n")], "y");
}

#[test]
fn a_commit_made_by_git_meanwhile_is_kept() {
    let Seeded { tmp, store, repo } = seeded();
    // Another process commits through a clone and pushes.
    let clone = tmp.path().join("clone");
    git(tmp.path(), &["clone", "-q", repo.to_str().unwrap(), clone.to_str().unwrap()]);
    std::fs::write(clone.join("Pushed.md"), "pushed\n").unwrap();
    git(&clone, &["add", "."]);
    git(&clone, &["commit", "-q", "-m", "pushed"]);
    git(&clone, &["push", "-q", "origin", "HEAD:main"]);
    commit(&store, &[put("Mine.md", "mine\n")], "mine");
    let files = git(&repo, &["ls-tree", "-r", "--name-only", "HEAD"]);
    assert!(files.contains("Pushed.md") && files.contains("Mine.md"), "{files}");
    assert_eq!(git(&repo, &["rev-list", "--count", "HEAD"]).trim(), "3");
}

#[test]
fn a_branch_moved_while_committing_is_reported_as_such() {
    let Seeded { tmp: _tmp, store, repo } = seeded();
    let head = store.head().unwrap();
    // Another process is moving the branch: git holds the branch's lock file while it does.
    let lock = repo.join("refs/heads/main.lock");
    std::fs::write(&lock, git(&repo, &["rev-parse", "HEAD"])).unwrap();
    let moved = store.writer().commit(&[put("Late.md", "late\n")], &ann(), "late").unwrap_err();
    assert!(matches!(moved, CommitError::BranchMoved), "{moved:?}");
    assert_eq!(store.head().unwrap(), head, "nothing was committed");
    assert_eq!(git(&repo, &["rev-list", "--count", "HEAD"]).trim(), "1");
    // Told to a person, it is a conflict to try again.
    let told = Error::from(moved);
    assert_eq!(told.kind, ErrorKind::Conflict);
    assert!(told.message.contains("branch moved"), "{told}");
    // Once the other process is done, the same change commits.
    std::fs::remove_file(&lock).unwrap();
    let rev = commit(&store, &[put("Late.md", "late\n")], "late");
    assert_eq!(store.head().unwrap(), Some(rev));
    git(&repo, &["fsck", "--strict"]);
}

#[test]
fn unified_diff_names_both_sides() {
    let d = casebook_store::unified_diff("a\nb\n", "a\nc\n", "x.md", "x.md");
    assert!(d.contains("--- a/x.md") && d.contains("+++ b/x.md"), "{d}");
    assert!(d.contains("-b\n") && d.contains("+c\n"), "{d}");
}

#[test]
fn not_a_repository_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Store::open(tmp.path()).unwrap_err();
    assert!(err.message.contains("is not a git repository"), "{}", err.message);
}

#[test]
fn a_commit_reports_exactly_what_a_tree_diff_would() {
    let Seeded { tmp: _tmp, store, .. } = seeded();
    let parent = store.head().unwrap().unwrap();
    let mut w = store.writer();
    let rev = w
        .commit(
            &[
                put("Home.md", "# Home\n\nchanged\n"),
                put("x/y/New.md", "new\n"),
                put("Same.md", "same\n"),
                mv("a/b/Deep.md", "c/Deep.md"),
            ],
            &ann(),
            "several",
        )
        .unwrap();
    // A put of unchanged content is no change at all.
    w.commit(&[put("Same.md", "same\n")], &ann(), "again").unwrap();
    let mut committed = w.take_committed();
    assert!(w.take_committed().is_empty(), "taking empties the list");
    drop(w);
    assert_eq!(committed.len(), 2);
    let again = committed.pop().unwrap();
    assert!(again.deltas.is_empty() && again.info.paths.is_empty());
    assert_eq!(again.parent.as_ref(), Some(&rev));
    let first = committed.pop().unwrap();
    assert_eq!(first.parent.as_ref(), Some(&parent));
    assert_eq!(first.info.revision, rev);
    assert_eq!(first.info.summary, "several");
    assert_eq!(first.info.author.email, "ann@example.com");
    let mut reported = first.deltas.clone();
    let mut diffed = store.changes_between(Some(&parent), &rev).unwrap();
    reported.sort_by(|a, b| a.path.cmp(&b.path));
    diffed.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(reported, diffed);
    let mut paths = first.info.paths.clone();
    paths.sort();
    assert_eq!(paths, ["Home.md", "Same.md", "a/b/Deep.md", "c/Deep.md", "x/y/New.md"]);
}

#[test]
fn a_blob_written_ahead_is_the_one_the_commit_puts() {
    let Seeded { tmp: _tmp, store, repo } = seeded();
    let text = "written ahead\n";
    let id = store.write_blob(text.as_bytes()).unwrap();
    assert_eq!(id, casebook_store::BlobId::of(text.as_bytes()));
    // git has the object before any commit refers to it, under the id git gives it.
    assert_eq!(git(&repo, &["cat-file", "blob", &id.hex()]), text, "the blob is in the repository");
    let mut w = store.writer();
    let rev = w.commit(&[put("Ahead.md", text)], &ann(), "Ahead").unwrap();
    assert_eq!(w.blob_at(&rev, "Ahead.md").unwrap(), Some(id));
    assert_eq!(w.blob(id, 1 << 20).unwrap(), text.as_bytes());
    drop(w);
    assert_eq!(git(&repo, &["rev-parse", "HEAD:Ahead.md"]).trim(), id.hex());
}

#[test]
fn a_blob_over_the_limit_is_refused_from_its_header() {
    let Seeded { tmp: _tmp, store, repo } = seeded();
    // A loose object whose header says it is a mebibyte, holding only a hundred bytes: reading
    // it whole fails, so a refusal that names its size cannot have read it.
    let id = blob_that_cannot_be_read(&repo, 1 << 20);
    let mut mktree = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .arg("mktree")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    mktree
        .stdin
        .take()
        .unwrap()
        .write_all(format!("100644 blob {id}\tHuge.md\n").as_bytes())
        .unwrap();
    let out = mktree.wait_with_output().unwrap();
    assert!(out.status.success());
    let tree = String::from_utf8(out.stdout).unwrap();
    let commit = git(&repo, &["commit-tree", tree.trim(), "-m", "by hand"]);
    let at = Revision::from_git(commit.trim().to_string());
    let blob = store.blob_at(&at, "Huge.md").unwrap().unwrap();

    assert_eq!(store.blob_size(blob).unwrap(), 1 << 20);
    let e = store.blob(blob, 64 << 10).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge);
    assert_eq!(e.message, "1048576 bytes, over the limit of 65536 bytes");
    let e = store.writer().read(&at, "Huge.md", 64 << 10).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge);
    // Read whole, it is found broken.
    let e = store.blob(blob, usize::MAX).unwrap_err();
    assert_ne!(e.kind, ErrorKind::TooLarge, "{e}");
    // A page within the limit reads as before.
    let head = store.head().unwrap().unwrap();
    let home = store.blob_at(&head, "Home.md").unwrap().unwrap();
    assert_eq!(store.blob(home, 7).unwrap(), b"# Home\n");
    assert_eq!(store.blob(home, 6).unwrap_err().kind, ErrorKind::TooLarge);
}

#[test]
fn lists_the_files_of_a_folder_directly_in_it_or_below() {
    let s = seeded();
    let rev = commit(
        &s.store,
        &[
            put("a/Page.files/one.png", "1"),
            put("a/Page.files/two.txt", "2"),
            put("a/Page.files/sub/three", "3"),
        ],
        "files",
    );
    let names = |below| {
        let mut v: Vec<String> = s
            .store
            .files_in(&rev, "a/Page.files", below)
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(false), ["a/Page.files/one.png", "a/Page.files/two.txt"]);
    assert_eq!(
        names(true),
        ["a/Page.files/one.png", "a/Page.files/sub/three", "a/Page.files/two.txt"]
    );
    assert!(s.store.files_in(&rev, "a/None.files", true).unwrap().is_empty());
    assert!(s.store.files_in(&rev, "Home.md", false).unwrap().is_empty(), "a file is no folder");
    let listed = git(&s.repo, &["ls-tree", "--name-only", &rev.to_string(), "a/Page.files/"]);
    assert_eq!(listed.lines().count(), 3, "{listed}");
}

/// Runs git in `dir` with `input` on its standard input, which must succeed; its output.
fn git_with_input(dir: &Path, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("git runs");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?} refused:\n{input}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Git's own tree for the files of `model` below `prefix` (`""` for the top): each folder's
/// entries listed for `git mktree`, which sorts and writes them as git does. `None` for none.
fn mktree(
    repo: &Path,
    model: &std::collections::BTreeMap<String, String>,
    prefix: &str,
    hashes: &mut std::collections::HashMap<String, String>,
) -> Option<String> {
    let mut listing = String::new();
    let mut folders = std::collections::BTreeSet::new();
    for (path, text) in model.range(prefix.to_string()..).take_while(|(p, _)| p.starts_with(prefix))
    {
        match path[prefix.len()..].split_once('/') {
            Some((folder, _)) => {
                folders.insert(folder.to_string());
            }
            None => {
                let id = hashes
                    .entry(text.clone())
                    .or_insert_with(|| git_with_input(repo, &["hash-object", "--stdin"], text));
                listing.push_str(&format!(
                    "100644 blob {}\t{}\n",
                    id.trim(),
                    &path[prefix.len()..]
                ));
            }
        }
    }
    for folder in folders {
        if let Some(id) = mktree(repo, model, &format!("{prefix}{folder}/"), hashes) {
            listing.push_str(&format!("040000 tree {id}\t{folder}\n"));
        }
    }
    if listing.is_empty() {
        return None;
    }
    Some(git_with_input(repo, &["mktree"], &listing).trim().to_string())
}

#[test]
fn a_spliced_tree_is_byte_for_byte_the_tree_git_builds() {
    let s = seeded();
    let mut model: std::collections::BTreeMap<String, String> =
        [("Home.md", "# Home\n"), ("a/b/Deep.md", "deep\n")]
            .into_iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
    // Names that sort around a folder's implicit `/`: a-b < a.md < a/ < a0.
    let steps: Vec<(&str, Vec<Change>)> = vec![
        (
            "a folder of its own",
            vec![
                put("f/a-b", "a-b\n"),
                put("f/a.md", "a.md\n"),
                put("f/a/x.md", "x\n"),
                put("f/a0", "a0\n"),
                put("f/m.md", "m\n"),
                put("f/z.md", "z\n"),
            ],
        ),
        ("an insert at the start", vec![put("f/0.md", "first\n")]),
        ("an insert in the middle", vec![put("f/n.md", "n\n")]),
        ("an insert at the end", vec![put("f/zz.md", "last\n")]),
        (
            "replacements at the start, middle and end",
            vec![
                put("f/0.md", "first again\n"),
                put("f/m.md", "m again\n"),
                put("f/zz.md", "last again\n"),
            ],
        ),
        (
            "a file beside the folder's name",
            vec![put("f/a/y.md", "y\n"), put("f/a.md", "a.md again\n")],
        ),
        (
            "deletions at the start, middle and end",
            vec![delete("f/0.md"), delete("f/m.md"), delete("f/zz.md")],
        ),
        ("a move out of the subfolder", vec![mv("f/a/x.md", "f/ax.md")]),
        ("the subfolder emptied", vec![delete("f/a/y.md")]),
        (
            "a new folder at the top and a change deep down",
            vec![put("0/first.md", "top\n"), put("a/b/Deep.md", "deeper\n")],
        ),
        (
            "the folder emptied",
            vec![
                delete("f/a-b"),
                delete("f/a.md"),
                delete("f/ax.md"),
                delete("f/a0"),
                delete("f/n.md"),
                delete("f/z.md"),
            ],
        ),
    ];
    let mut hashes = std::collections::HashMap::new();
    for (what, changes) in steps {
        for change in &changes {
            match change {
                Change::Put { path, content } => {
                    model.insert(path.clone(), String::from_utf8(content.clone()).unwrap());
                }
                Change::Delete { path } => {
                    model.remove(path);
                }
                Change::Move { from, to } => {
                    let text = model.remove(from).unwrap();
                    model.insert(to.clone(), text);
                }
            }
        }
        commit(&s.store, &changes, what);
        let ours = git(&s.repo, &["rev-parse", "HEAD^{tree}"]);
        let gits = mktree(&s.repo, &model, "", &mut hashes).unwrap();
        assert_eq!(
            ours.trim(),
            gits,
            "after {what}:\n{}",
            git(&s.repo, &["ls-tree", "-r", "-t", "HEAD"])
        );
    }
    assert_eq!(
        git(&s.repo, &["ls-tree", "--name-only", "HEAD"]),
        "0\nHome.md\na\n",
        "the emptied folders are gone"
    );
    // A file where a folder is (and the reverse) is refused, and changes nothing.
    let head = git(&s.repo, &["rev-parse", "HEAD"]);
    assert_eq!(refused(&s.store, &[put("a/b", "a file\n")]).kind, ErrorKind::Conflict);
    assert_eq!(
        refused(&s.store, &[put("Home.md/x.md", "below a file\n")]).kind,
        ErrorKind::Conflict
    );
    assert_eq!(git(&s.repo, &["rev-parse", "HEAD"]), head);
    git(&s.repo, &["fsck", "--strict", "--no-dangling"]);
}

#[test]
fn an_executable_file_stays_executable_when_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = worktree_repo(tmp.path(), "main", "run.sh", "echo one\n");
    git(&repo, &["update-index", "--chmod=+x", "run.sh"]);
    git(&repo, &["commit", "-q", "-m", "executable"]);
    git(&repo, &["checkout", "-q", "--", "."]);
    let store = Store::open(&repo).unwrap();
    commit(&store, &[put("run.sh", "echo two\n")], "Run two");
    assert!(git(&repo, &["ls-tree", "HEAD", "run.sh"]).starts_with("100755 blob "));
    assert_eq!(git(&repo, &["status", "--porcelain"]), "", "the working tree and index follow");
}

/// What git's index holds and what the head's tree holds agree, git sees nothing to commit,
/// and git itself reads the index as sound.
fn index_follows_head(repo: &Path, what: &str) {
    let staged: Vec<String> = git(repo, &["ls-files", "-s"])
        .lines()
        .map(|l| {
            let (meta, path) = l.split_once('\t').unwrap();
            let f: Vec<&str> = meta.split(' ').collect();
            format!("{} blob {} {path} (stage {})", f[0], f[1], f[2])
        })
        .collect();
    let committed: Vec<String> = git(repo, &["ls-tree", "-r", "HEAD"])
        .lines()
        .map(|l| l.replace('\t', " ") + " (stage 0)")
        .collect();
    assert_eq!(staged, committed, "{what}: the index holds what the head does");
    assert_eq!(git(repo, &["status", "--porcelain"]), "", "{what}: git sees a clean tree");
    assert_eq!(git(repo, &["diff-index", "--cached", "HEAD"]), "", "{what}");
    git(repo, &["fsck", "--strict", "--no-dangling"]);
}

#[test]
fn git_index_follows_saves_whatever_git_wrote_into_it() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = worktree_repo(tmp.path(), "main", "a.md", "a\n");
    for (file, text) in [("a-b.md", "a-b\n"), ("a/x.md", "x\n"), ("a0.md", "a0\n"), ("z.md", "z\n")]
    {
        std::fs::create_dir_all(repo.join(file).parent().unwrap()).unwrap();
        std::fs::write(repo.join(file), text).unwrap();
    }
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "names that sort around a slash"]);
    // The cached trees (TREE), an untracked-file cache (UNTR), a resolve-undo record (REUC):
    // written by git, read and kept or dropped by the store.
    git(&repo, &["update-index", "--untracked-cache"]);
    git(&repo, &["status", "--porcelain"]);
    let store = Store::open(&repo).unwrap();
    let steps: Vec<(&str, Vec<Change>)> = vec![
        ("a replaced file at the start", vec![put("a-b.md", "a-b two\n")]),
        ("a file in a folder", vec![put("a/x.md", "x two\n")]),
        ("new files around the folder", vec![put("a.b.md", "new\n"), put("a/y.md", "y\n")]),
        ("a new folder", vec![put("b/c/d.md", "deep\n")]),
        ("a file at the end and one gone", vec![put("zz.md", "zz\n"), delete("a0.md")]),
        ("a folder emptied", vec![delete("b/c/d.md")]),
        ("a move", vec![mv("z.md", "a/z.md")]),
    ];
    for (what, changes) in &steps {
        commit(&store, changes, what);
        index_follows_head(&repo, what);
    }
    // Saves one after the other, git reading nothing in between: the index as last written.
    commit(&store, &[put("a/x.md", "x three\n")], "one");
    commit(&store, &[put("a/y.md", "y two\n"), put("c.md", "c\n")], "two");
    commit(&store, &[delete("c.md")], "three");
    index_follows_head(&repo, "saves in a row");
    assert!(!repo.join("b").exists(), "the emptied folder is gone");
    assert!(!repo.join(".git/index.lock").exists());

    // git changes the index between two saves: a file staged by hand stays staged.
    std::fs::write(repo.join("mine.md"), "staged by hand\n").unwrap();
    git(&repo, &["add", "mine.md"]);
    commit(&store, &[put("a.md", "a two\n")], "after git add");
    assert_eq!(git(&repo, &["status", "--porcelain"]), "A  mine.md\n");
    git(&repo, &["commit", "-q", "-m", "mine"]);
    index_follows_head(&repo, "after a commit by git");

    // Each version of the index git writes (4 is left to libgit2), and no checksum at all.
    for (version, config) in
        [("3", "index.skipHash=false"), ("4", "index.skipHash=false"), ("2", "index.skipHash=true")]
    {
        git(&repo, &["-c", config, "update-index", "--index-version", version]);
        commit(&store, &[put("a/x.md", &format!("x at version {version}\n"))], version);
        index_follows_head(&repo, &format!("index version {version} ({config})"));
    }

    // A git command holding the index's lock: the save is refused, and changes nothing.
    std::fs::write(repo.join(".git/index.lock"), "").unwrap();
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let err = refused(&store, &[put("a.md", "while git works\n")]);
    assert_eq!(err.kind, ErrorKind::Conflict, "{}", err.message);
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head);
    std::fs::remove_file(repo.join(".git/index.lock")).unwrap();
    commit(
        &store,
        &[put(
            "a.md",
            "once git is done
",
        )],
        "after the lock",
    );
    index_follows_head(&repo, "after git let go of its lock");
}

#[test]
fn changes_between_two_revisions_are_what_git_diff_tree_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = worktree_repo(tmp.path(), "main", "a", "a file that becomes a folder\n");
    let write = |path: &str, text: &str| {
        let f = repo.join(path);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    };
    for i in 0..40 {
        write(&format!("wide/p{i:02}.md"), &format!("page {i}\n"));
    }
    write("a-b.md", "x\n");
    write("a.md", "x\n");
    write("deep/er/still/x.md", "x\n");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "two"]);
    let mut revs = vec![git(&repo, &["rev-parse", "HEAD"]).trim().to_string()];
    let steps: [&dyn Fn(); 4] = [
        &|| {
            write("wide/p05.md", "changed\n");
            std::fs::remove_file(repo.join("wide/p39.md")).unwrap();
            write("wide/p40.md", "new at the end\n");
            write("wide/a.md", "new at the start\n");
        },
        &|| {
            std::fs::remove_file(repo.join("a")).unwrap();
            write("a/inside.md", "a folder now\n");
            std::fs::remove_dir_all(repo.join("deep")).unwrap();
        },
        &|| {
            std::os::unix::fs::symlink("a.md", repo.join("link")).unwrap();
            write("a0.md", "after the folder\n");
        },
        &|| {
            std::fs::remove_dir_all(repo.join("a")).unwrap();
            write("a", "a file again\n");
        },
    ];
    for step in steps {
        step();
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "step"]);
        revs.push(git(&repo, &["rev-parse", "HEAD"]).trim().to_string());
    }
    let store = Store::open(&repo).unwrap();
    let zero = "0".repeat(40);
    for from in 0..revs.len() {
        for to in 0..revs.len() {
            let (a, b) =
                (Revision::from_git(revs[from].clone()), Revision::from_git(revs[to].clone()));
            let ours: Vec<String> = store
                .changes_between(Some(&a), &b)
                .unwrap()
                .iter()
                .map(|d| {
                    let id =
                        |b: Option<casebook_store::BlobId>| b.map_or(zero.clone(), |b| b.hex());
                    format!("{} {} {}", id(d.old), id(d.new), d.path)
                })
                .collect();
            let gits: Vec<String> = git(
                &repo,
                &[
                    "diff-tree",
                    "-r",
                    "--no-renames",
                    "--raw",
                    "--abbrev=40",
                    &revs[from],
                    &revs[to],
                ],
            )
            .lines()
            .map(|l| {
                let (meta, path) = l.split_once('\t').unwrap();
                let f: Vec<&str> = meta.split(' ').collect();
                format!("{} {} {path}", f[2], f[3])
            })
            .collect();
            assert_eq!(ours, gits, "from step {from} to step {to}");
        }
    }
    // From nothing: every file.
    let last = Revision::from_git(revs[revs.len() - 1].clone());
    let all = store.changes_between(None, &last).unwrap();
    assert_eq!(all.len(), git(&repo, &["ls-tree", "-r", "HEAD"]).lines().count());
}
