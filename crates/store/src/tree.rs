//! Building trees for a commit without an index, and keeping a working tree in step.

use crate::{BlobId, Change, FileDelta, git_err};
use casebook_core::{Error, Result};
use git2::{ObjectType, Oid, Repository, Tree};
use std::collections::BTreeMap;
use std::path::Path;

/// A change below a tree: the remaining path segments and the new blob (`None` removes).
type Edit<'a> = (Vec<&'a str>, Option<Oid>);

const FILE_MODE: i32 = 0o100644;
const TREE_MODE: i32 = 0o040000;

pub(crate) fn blob_in(tree: &Tree<'_>, file: &str) -> Option<BlobId> {
    let entry = tree.get_path(Path::new(file)).ok()?;
    (entry.kind() == Some(ObjectType::Blob)).then(|| BlobId::from_oid(entry.id()))
}

/// The files of `folder` in `root` (see `Store::files_in`).
pub(crate) fn files_in(
    repo: &Repository,
    root: &Tree<'_>,
    folder: &str,
    below: bool,
) -> Result<Vec<crate::FileEntry>> {
    let Ok(entry) = root.get_path(Path::new(folder)) else {
        return Ok(Vec::new());
    };
    if entry.kind() != Some(ObjectType::Tree) {
        return Ok(Vec::new());
    }
    let tree = repo.find_tree(entry.id()).map_err(git_err("cannot read a tree"))?;
    let mut out = Vec::new();
    if below {
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
            if e.kind() == Some(ObjectType::Blob)
                && let Ok(name) = e.name()
            {
                out.push(crate::FileEntry {
                    path: format!("{folder}/{dir}{name}"),
                    blob: BlobId::from_oid(e.id()),
                });
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(git_err("cannot walk a tree"))?;
    } else {
        for e in tree.iter() {
            if e.kind() == Some(ObjectType::Blob)
                && let Ok(name) = e.name()
            {
                out.push(crate::FileEntry {
                    path: format!("{folder}/{name}"),
                    blob: BlobId::from_oid(e.id()),
                });
            }
        }
    }
    Ok(out)
}

/// Writes the blobs of `changes` and returns the id of `base` with the changes applied, and how
/// each touched file changed. Only the trees on the changed paths are read and rewritten, so the
/// cost does not grow with the wiki.
pub(crate) fn apply(
    repo: &Repository,
    base: Option<&Tree<'_>>,
    changes: &[Change],
) -> Result<(Oid, Vec<FileDelta>)> {
    let mut edits: BTreeMap<String, Option<Oid>> = BTreeMap::new();
    for change in changes {
        match change {
            Change::Put { path, content } => {
                let oid = repo.blob(content).map_err(git_err("cannot write a blob"))?;
                edits.insert(path.clone(), Some(oid));
            }
            Change::Delete { path } => {
                edits.insert(path.clone(), None);
            }
            Change::Move { from, to } => {
                let id = base
                    .and_then(|t| blob_in(t, from))
                    .ok_or_else(|| Error::not_found(format!("{from} does not exist")))?;
                edits.insert(from.clone(), None);
                edits.insert(to.clone(), Some(id.oid()));
            }
        }
    }
    let list: Vec<Edit<'_>> = edits.iter().map(|(p, o)| (p.split('/').collect(), *o)).collect();
    // The old blob of every edited file, found while the trees along its path are rebuilt.
    let mut old: BTreeMap<String, Oid> = BTreeMap::new();
    let tree = match build(repo, base, &list, "", &mut old)? {
        Some(oid) => oid,
        None => repo
            .treebuilder(None)
            .and_then(|b| b.write())
            .map_err(git_err("cannot write an empty tree"))?,
    };
    let deltas = edits
        .into_iter()
        .filter_map(|(path, new)| {
            let was = old.get(&path).copied();
            (was != new).then(|| FileDelta {
                old: was.map(BlobId::from_oid),
                new: new.map(BlobId::from_oid),
                path,
            })
        })
        .collect();
    Ok((tree, deltas))
}

/// Rebuilds `base` (the tree at `prefix`) with `edits`, noting the blob each edited file had.
fn build(
    repo: &Repository,
    base: Option<&Tree<'_>>,
    edits: &[(Vec<&str>, Option<Oid>)],
    prefix: &str,
    old: &mut BTreeMap<String, Oid>,
) -> Result<Option<Oid>> {
    let mut tb = repo.treebuilder(base).map_err(git_err("cannot build a tree"))?;
    let mut groups: BTreeMap<&str, Vec<Edit<'_>>> = BTreeMap::new();
    for (segs, oid) in edits {
        if let Some((first, rest)) = segs.split_first() {
            groups.entry(first).or_default().push((rest.to_vec(), *oid));
        }
    }
    for (name, group) in groups {
        let existing =
            tb.get(name).map_err(git_err("cannot read a tree entry"))?.map(|e| (e.id(), e.kind()));
        if let Some((_, oid)) = group.iter().find(|(rest, _)| rest.is_empty()) {
            if let Some((id, Some(ObjectType::Blob))) = existing {
                old.insert(format!("{prefix}{name}"), id);
            }
            match oid {
                Some(oid) => {
                    if matches!(existing, Some((_, Some(ObjectType::Tree)))) {
                        return Err(Error::conflict(format!("'{name}' is a folder, not a file")));
                    }
                    tb.insert(name, *oid, FILE_MODE).map_err(git_err("cannot add a file"))?;
                }
                None => {
                    if existing.is_some() {
                        tb.remove(name).map_err(git_err("cannot remove a file"))?;
                    }
                }
            }
            continue;
        }
        let sub = match existing {
            Some((id, Some(ObjectType::Tree))) => {
                Some(repo.find_tree(id).map_err(git_err("cannot read a tree"))?)
            }
            Some(_) => {
                return Err(Error::conflict(format!(
                    "'{name}' is a file, so it cannot hold other pages"
                )));
            }
            None => None,
        };
        match build(repo, sub.as_ref(), &group, &format!("{prefix}{name}/"), old)? {
            Some(oid) => {
                tb.insert(name, oid, TREE_MODE).map_err(git_err("cannot add a folder"))?;
            }
            None => {
                if existing.is_some() {
                    tb.remove(name).map_err(git_err("cannot remove a folder"))?;
                }
            }
        }
    }
    if tb.is_empty() {
        return Ok(None);
    }
    tb.write().map(Some).map_err(git_err("cannot write a tree"))
}

pub(crate) fn deltas(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
) -> Result<Vec<FileDelta>> {
    let diff =
        repo.diff_tree_to_tree(old, Some(new), None).map_err(git_err("cannot compare trees"))?;
    let id = |oid: Oid| (!oid.is_zero()).then(|| BlobId::from_oid(oid));
    Ok(diff
        .deltas()
        .filter_map(|d| {
            let path = d.new_file().path().or_else(|| d.old_file().path())?;
            Some(FileDelta {
                path: path.to_str()?.to_string(),
                old: id(d.old_file().id()),
                new: id(d.new_file().id()),
            })
        })
        .collect())
}

fn touched(changes: &[Change]) -> Vec<&str> {
    let mut out = Vec::new();
    for c in changes {
        match c {
            Change::Put { path, .. } | Change::Delete { path } => out.push(path.as_str()),
            Change::Move { from, to } => {
                out.push(from.as_str());
                out.push(to.as_str());
            }
        }
    }
    out
}

/// In a non-bare repository, refuses to commit over a file that has uncommitted changes in the
/// working tree or the index: those are someone's work and must not be overwritten. Looks at the
/// touched files only (a full `git status` would read every file of the working tree).
pub(crate) fn refuse_dirty(repo: &Repository, workdir: &Path, changes: &[Change]) -> Result<()> {
    let head_tree = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let index = repo.index().map_err(git_err("cannot read the index"))?;
    for path in touched(changes) {
        check_no_symlink(workdir, path)?;
        let committed = head_tree.as_ref().and_then(|t| blob_in(t, path)).map(|b| b.oid());
        let staged = index.get_path(Path::new(path), 0).map(|e| e.id);
        let full = workdir.join(path);
        let on_disk = if full.is_file() {
            Some(
                Oid::hash_file(git2::ObjectType::Blob, &full)
                    .map_err(git_err("cannot read a file of the working tree"))?,
            )
        } else {
            None
        };
        if staged != committed || on_disk != committed {
            return Err(Error::conflict(format!(
                "{path} has uncommitted changes in the working tree of {}; commit or stash them, then save again",
                workdir.display()
            )));
        }
    }
    Ok(())
}

fn check_no_symlink(workdir: &Path, path: &str) -> Result<()> {
    let mut p = workdir.to_path_buf();
    for seg in path.split('/') {
        p.push(seg);
        if let Ok(m) = std::fs::symlink_metadata(&p)
            && m.file_type().is_symlink()
        {
            return Err(Error::invalid(format!(
                "{path} goes through a symbolic link in the working tree; Casebook does not write through links"
            )));
        }
    }
    Ok(())
}

/// Makes the working tree and the index match the new commit for the changed files.
pub(crate) fn update_workdir(
    repo: &Repository,
    workdir: &Path,
    tree: &Tree<'_>,
    changes: &[Change],
) -> Result<()> {
    let io = |what: &str, e: std::io::Error| Error::internal(format!("{what}: {e}"));
    let mut index = repo.index().map_err(git_err("cannot read the index"))?;
    for path in touched(changes) {
        let full = workdir.join(path);
        match blob_in(tree, path) {
            Some(id) => {
                if let Some(dir) = full.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| io("cannot create a folder", e))?;
                }
                // A moved file may be of any size: copied in pieces where git can.
                let mut file =
                    std::fs::File::create(&full).map_err(|e| io("cannot write a file", e))?;
                crate::copy_blob(repo, id.oid(), &mut file)?;
                index.add_path(Path::new(path)).map_err(git_err("cannot update the index"))?;
            }
            None => {
                match std::fs::remove_file(&full) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io("cannot remove a file", e)),
                }
                // Drop folders the removal left empty, as git does.
                let mut dir = full.parent();
                while let Some(d) = dir {
                    if d == workdir || std::fs::remove_dir(d).is_err() {
                        break;
                    }
                    dir = d.parent();
                }
                let _ = index.remove_path(Path::new(path));
            }
        }
    }
    index.write().map_err(git_err("cannot write the index"))
}
