//! Walking the branch's history: all commits, or those that changed one file (following renames).

use crate::{CommitInfo, git_err, info};
use casebook_core::Result;
use git2::{Oid, Repository};

/// The branch's commits from the head back along first parents: the history as the branch saw
/// it, newest first, produced one at a time (no sort that would read all history up front, and
/// no reliance on commit times, which tie within a second).
fn walk<'r>(repo: &'r Repository, branch: &str) -> Result<Option<FirstParents<'r>>> {
    let Ok(head) = repo.refname_to_id(branch) else {
        return Ok(None);
    };
    Ok(Some(FirstParents { repo, next: Some(head), stop: None }))
}

struct FirstParents<'r> {
    repo: &'r Repository,
    next: Option<Oid>,
    stop: Option<Oid>,
}

impl Iterator for FirstParents<'_> {
    type Item = Result<Oid, git2::Error>;
    fn next(&mut self) -> Option<Self::Item> {
        let oid = self.next.take()?;
        if Some(oid) == self.stop {
            return None;
        }
        match self.repo.find_commit(oid) {
            Ok(c) => {
                self.next = c.parent_id(0).ok();
                Some(Ok(oid))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

pub(crate) fn log(
    repo: &Repository,
    trees: &std::sync::Mutex<crate::raw::RawTrees>,
    branch: &str,
    limit: usize,
    skip: usize,
) -> Result<Vec<CommitInfo>> {
    let Some(walk) = walk(repo, branch)? else {
        return Ok(Vec::new());
    };
    with_paths(repo, trees, walk.skip(skip).take(limit))
}

/// The commits reachable from `to` but not from `from`, newest first, at most `limit`.
pub(crate) fn between(
    repo: &Repository,
    trees: &std::sync::Mutex<crate::raw::RawTrees>,
    from: Option<Oid>,
    to: Oid,
    limit: usize,
) -> Result<Vec<CommitInfo>> {
    with_paths(repo, trees, FirstParents { repo, next: Some(to), stop: from }.take(limit))
}

/// The files the commit `oid` changed against its first parent.
pub(crate) fn changed_files(
    repo: &Repository,
    trees: &std::sync::Mutex<crate::raw::RawTrees>,
    oid: Oid,
) -> Result<Vec<String>> {
    let commits = with_paths(repo, trees, std::iter::once(Ok(oid)))?;
    Ok(commits.into_iter().next().map(|c| c.paths).unwrap_or_default())
}

fn with_paths(
    repo: &Repository,
    trees: &std::sync::Mutex<crate::raw::RawTrees>,
    oids: impl Iterator<Item = Result<Oid, git2::Error>>,
) -> Result<Vec<CommitInfo>> {
    let mut out = Vec::new();
    for oid in oids {
        let oid = oid.map_err(git_err("cannot walk history"))?;
        let commit = repo.find_commit(oid).map_err(git_err("cannot read a commit"))?;
        let mut ci = info(&commit);
        let old = commit.parent(0).ok().map(|p| p.tree_id());
        let deltas = crate::tree::deltas(repo, trees, old, commit.tree_id())?;
        ci.paths = deltas.into_iter().map(|d| d.path).collect();
        out.push(ci);
    }
    Ok(out)
}

/// The commits that changed `file`, newest first, from `from` (or the head) back, following
/// renames; at most `limit`, reading at most `scan` commits. Each entry's `paths` holds the
/// file's name after that commit and, for the commit that renamed it to that name, the name it
/// had before.
pub(crate) fn file_history(
    repo: &Repository,
    trees: &std::sync::Mutex<crate::raw::RawTrees>,
    branch: &str,
    from: Option<Oid>,
    file: &str,
    limit: usize,
    scan: usize,
) -> Result<Vec<CommitInfo>> {
    let walk = match from {
        Some(oid) => FirstParents { repo, next: Some(oid), stop: None },
        None => match walk(repo, branch)? {
            Some(w) => w,
            None => return Ok(Vec::new()),
        },
    };
    let odb = repo.odb().map_err(git_err("cannot open the object database"))?;
    // Looked up in the raw trees: a binary search along the path, where a libgit2 tree of a
    // folder of 100,000 pages takes tens of milliseconds to parse, per commit walked.
    let blob = |tree: Oid, file: &str| -> Result<Option<Oid>> {
        trees.lock().unwrap_or_else(|e| e.into_inner()).blob(&odb, tree, file)
    };
    let mut current = file.to_string();
    let mut out = Vec::new();
    for oid in walk.take(scan) {
        if out.len() >= limit {
            break;
        }
        let oid = oid.map_err(git_err("cannot walk history"))?;
        let commit = repo.find_commit(oid).map_err(git_err("cannot read a commit"))?;
        let here = blob(commit.tree_id(), &current)?;
        let parent = commit.parent(0).ok();
        let before = match &parent {
            Some(p) => blob(p.tree_id(), &current)?,
            None => None,
        };
        if here == before {
            continue;
        }
        let mut ci = info(&commit);
        ci.paths = vec![current.clone()];
        out.push(ci);
        if here.is_some() && before.is_none() {
            // Created here, or renamed from another name: follow the rename.
            let tree = commit.tree().map_err(git_err("cannot read a tree"))?;
            let parent_tree = parent.and_then(|p| p.tree().ok());
            match parent_tree.as_ref().and_then(|pt| renamed_from(repo, pt, &tree, &current)) {
                Some(old) => {
                    if let Some(last) = out.last_mut() {
                        last.paths.push(old.clone());
                    }
                    current = old;
                }
                None => break,
            }
        }
    }
    Ok(out)
}

/// The old name of `path` if the commit from `old` to `new` renamed a file to it.
fn renamed_from(
    repo: &Repository,
    old: &git2::Tree<'_>,
    new: &git2::Tree<'_>,
    path: &str,
) -> Option<String> {
    let mut diff = repo.diff_tree_to_tree(Some(old), Some(new), None).ok()?;
    let mut opts = git2::DiffFindOptions::new();
    opts.renames(true);
    diff.find_similar(Some(&mut opts)).ok()?;
    diff.deltas()
        .find(|d| {
            d.status() == git2::Delta::Renamed
                && d.new_file().path().and_then(|p| p.to_str()) == Some(path)
        })
        .and_then(|d| d.old_file().path()?.to_str().map(str::to_string))
}

/// Where `file` went if the newest commit that removed it renamed it; walks at most `limit`
/// commits back.
pub(crate) fn renamed_to(
    repo: &Repository,
    trees: &std::sync::Mutex<crate::raw::RawTrees>,
    branch: &str,
    file: &str,
    limit: usize,
    budget: std::time::Duration,
) -> Result<Option<String>> {
    let Some(walk) = walk(repo, branch)? else {
        return Ok(None);
    };
    let odb = repo.odb().map_err(git_err("cannot open the object database"))?;
    // Looked up in the raw trees (a binary search in each tree on the path), as a commit's
    // tree in a folder of 100,000 pages takes a libgit2 tree tens of milliseconds to parse.
    let has = |tree: Oid| -> Result<bool> {
        let mut trees = trees.lock().unwrap_or_else(|e| e.into_inner());
        Ok(trees.blob(&odb, tree, file)?.is_some())
    };
    let started = std::time::Instant::now();
    for oid in walk.take(limit) {
        // An address that never was a page's walks the whole history: within a budget, so
        // that a mistyped address costs little however long the history.
        if started.elapsed() > budget {
            tracing::debug!(file, "gave up looking for where a page went");
            return Ok(None);
        }
        let oid = oid.map_err(git_err("cannot walk history"))?;
        let commit = repo.find_commit(oid).map_err(git_err("cannot read a commit"))?;
        if has(commit.tree_id())? {
            return Ok(None);
        }
        let Some(parent) = commit.parent(0).ok() else {
            return Ok(None);
        };
        if !has(parent.tree_id())? {
            continue;
        }
        let tree = commit.tree().map_err(git_err("cannot read a tree"))?;
        let parent_tree = parent.tree().map_err(git_err("cannot read a tree"))?;
        let mut diff = repo
            .diff_tree_to_tree(Some(&parent_tree), Some(&tree), None)
            .map_err(git_err("cannot compare trees"))?;
        let mut opts = git2::DiffFindOptions::new();
        opts.renames(true);
        diff.find_similar(Some(&mut opts)).map_err(git_err("cannot find renames"))?;
        return Ok(diff
            .deltas()
            .find(|d| {
                d.status() == git2::Delta::Renamed
                    && d.old_file().path().and_then(|p| p.to_str()) == Some(file)
            })
            .and_then(|d| d.new_file().path()?.to_str().map(str::to_string)));
    }
    Ok(None)
}
