//! What the engine's tests share: a new wiki in a temp dir, saves by Ann, reads with every
//! folder in view, and git run as a person would, in the repository or in a clone that pushes.

pub use casebook_core::{Author, FolderPath, PagePath, ReadScope, Revision};
pub use casebook_engine::{Engine, Moved, Options, Page, Save, SaveOutcome};
pub use std::path::{Path, PathBuf};
pub use std::process::Command;

/// A new wiki (the starter content) in a temp dir of its own.
pub struct TestWiki {
    _tmp: tempfile::TempDir,
    pub engine: Engine,
    /// The bare repository.
    pub repo: PathBuf,
}

impl TestWiki {
    pub fn new() -> TestWiki {
        TestWiki::with(|_| {})
    }

    /// A new wiki opened with the options `adjust` makes of the defaults.
    pub fn with(adjust: impl FnOnce(&mut Options)) -> TestWiki {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("wiki.git");
        let mut opts = Options::new(&repo, tmp.path().join("data"));
        adjust(&mut opts);
        let engine = Engine::open(opts).unwrap();
        TestWiki { _tmp: tmp, engine, repo }
    }

    /// Saves `md` as the page at `path` by Ann, from `base`.
    pub fn save(&self, path: &str, md: &str, base: Option<&Revision>) -> SaveOutcome {
        let p = PagePath::parse(path).unwrap();
        self.engine
            .save(Save { path: &p, markdown: md, message: "", base, author: &ann() })
            .unwrap()
    }

    /// Saves `md` as the page at `path` by Ann, which must be saved: its revision.
    pub fn rev(&self, path: &str, md: &str) -> Revision {
        match self.save(path, md, None) {
            SaveOutcome::Saved { revision, .. } => revision,
            other => panic!("{other:?}"),
        }
    }

    /// The page at `path` at the head, read with every folder in view.
    pub fn page(&self, path: &str) -> Page {
        self.engine.page(&PagePath::parse(path).unwrap(), None, &ReadScope::everything()).unwrap()
    }

    /// The text of the page at `path` at the head.
    pub fn text(&self, path: &str) -> String {
        self.page(path).markdown
    }

    /// Moves the page `from` to `to` as `A <a@x>`, who sees every folder.
    pub fn move_page(&self, from: &PagePath, to: &PagePath, update_links: bool) -> Moved {
        self.engine
            .move_page(
                from,
                to,
                update_links,
                &ReadScope::everything(),
                &Author::new("A", "a@x"),
                "",
            )
            .unwrap()
    }

    /// The number of commits on the branch.
    pub fn commits(&self) -> u32 {
        self.git(&["rev-list", "--count", "HEAD"]).trim().parse().unwrap()
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.repo, args)
    }
}

pub fn ann() -> Author {
    Author::new("Ann", "ann@example.com")
}

/// Runs git on the repository at `dir`, which must succeed: its standard output.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("--git-dir").arg(dir).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs git in `dir` as the author `name <email>`, which must succeed.
pub fn git_as(dir: &Path, name: &str, email: &str, args: &[&str]) {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", name)
        .env("GIT_AUTHOR_EMAIL", email)
        .env("GIT_COMMITTER_NAME", name)
        .env("GIT_COMMITTER_EMAIL", email)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A clone of a wiki's repository in a temp dir, where someone with git writes, commits and
/// pushes (as `Pusher <p@x>` unless told otherwise).
pub struct GitClone {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    author: (String, String),
}

impl GitClone {
    pub fn of(w: &TestWiki) -> GitClone {
        GitClone::of_as(w, "Pusher", "p@x")
    }

    /// A clone committing as `name <email>`.
    pub fn of_as(w: &TestWiki, name: &str, email: &str) -> GitClone {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c");
        git_as(tmp.path(), name, email, &["clone", "-q", w.repo.to_str().unwrap(), "c"]);
        GitClone { _tmp: tmp, dir, author: (name.to_string(), email.to_string()) }
    }

    /// Writes `text` to the file at `path` in the clone, making its folders.
    pub fn write(&self, path: &str, text: &str) {
        let f = self.dir.join(path);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    }

    /// Commits everything in the clone as one commit and pushes it to the wiki's branch.
    pub fn push(&self, message: &str) {
        for args in [
            &["add", "-A"][..],
            &["commit", "-q", "-m", message],
            &["push", "-q", "origin", "HEAD:main"],
        ] {
            git_as(&self.dir, &self.author.0, &self.author.1, args);
        }
    }
}

/// Commits `files` to the wiki from a clone, as another git client would, and has the engine
/// notice.
pub fn push_from_outside(w: &TestWiki, files: &[(&str, &str)]) {
    let clone = GitClone::of(w);
    for (path, text) in files {
        clone.write(path, text);
    }
    clone.push("from outside");
    assert!(w.engine.sync().unwrap());
}
