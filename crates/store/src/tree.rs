//! Building trees for a commit without an index, and keeping a working tree in step.

use crate::gitindex::{GitIndex, LockedIndex, NewEntry};
use crate::raw::{Edit, RawTrees};
use crate::{BlobId, Change, FileDelta, git_err};
use casebook_core::{Error, Result};
use git2::{ObjectType, Oid, Repository, Tree};
use std::collections::BTreeMap;
use std::path::Path;

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

/// What [`apply`] wrote.
pub(crate) struct Applied {
    /// The new top tree.
    pub tree: Oid,
    /// How each touched file changed (those left as they were are not listed).
    pub deltas: Vec<FileDelta>,
    /// The new blob of each touched file, `None` when it is gone.
    pub blobs: BTreeMap<String, Option<Oid>>,
}

/// Writes the blobs of `changes` and the tree `base` with the changes applied. Only the trees on the changed paths are read and rewritten, each by splicing
/// the changed entries into its bytes, so the cost grows neither with the wiki nor (beyond
/// copying bytes) with the width of a folder.
pub(crate) fn apply(
    repo: &Repository,
    trees: &mut RawTrees,
    base: Option<Oid>,
    changes: &[Change],
) -> Result<Applied> {
    let odb = repo.odb().map_err(git_err("cannot open the object database"))?;
    let mut edits: BTreeMap<String, Option<Oid>> = BTreeMap::new();
    for change in changes {
        match change {
            Change::Put { path, content } => {
                let oid = crate::pack::retry_vanished(|| repo.blob(content))
                    .map_err(git_err("cannot write a blob"))?;
                edits.insert(path.clone(), Some(oid));
            }
            Change::Delete { path } => {
                edits.insert(path.clone(), None);
            }
            Change::Move { from, to } => {
                let id = match base {
                    Some(root) => trees.blob(&odb, root, from)?,
                    None => None,
                }
                .ok_or_else(|| Error::not_found(format!("{from} does not exist")))?;
                edits.insert(from.clone(), None);
                edits.insert(to.clone(), Some(id));
            }
        }
    }
    let list: Vec<Edit<'_>> = edits.iter().map(|(p, o)| (p.split('/').collect(), *o)).collect();
    // The old blob of every edited file, found while the trees along its path are rebuilt.
    let mut old: BTreeMap<String, Oid> = BTreeMap::new();
    let objects = repo.path().join("objects");
    let tree = match trees.splice(&odb, &objects, base, &list, "", &mut old)? {
        Some(oid) => oid,
        None => crate::pack::retry_vanished(|| odb.write(ObjectType::Tree, &[]))
            .map_err(git_err("cannot write an empty tree"))?,
    };
    let deltas = edits
        .iter()
        .filter_map(|(path, new)| {
            let was = old.get(path).copied();
            (was != *new).then(|| FileDelta {
                old: was.map(BlobId::from_oid),
                new: new.map(BlobId::from_oid),
                path: path.clone(),
            })
        })
        .collect();
    Ok(Applied { tree, deltas, blobs: edits })
}

/// The files that differ from the tree `old` (`None`: none) to the tree `new`, in git's order.
pub(crate) fn deltas(
    repo: &Repository,
    trees: &std::sync::Mutex<RawTrees>,
    old: Option<Oid>,
    new: Oid,
) -> Result<Vec<FileDelta>> {
    let odb = repo.odb().map_err(git_err("cannot open the object database"))?;
    let mut found = Vec::new();
    trees.lock().unwrap_or_else(|e| e.into_inner()).diff(&odb, old, Some(new), "", &mut found)?;
    Ok(found
        .into_iter()
        .map(|(path, old, new)| FileDelta {
            path,
            old: old.map(BlobId::from_oid),
            new: new.map(BlobId::from_oid),
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
pub(crate) fn refuse_dirty(
    repo: &Repository,
    trees: &mut RawTrees,
    head: Option<Oid>,
    workdir: &Path,
    changes: &[Change],
    raw_index: Option<&LockedIndex>,
) -> Result<()> {
    let odb = repo.odb().map_err(git_err("cannot open the object database"))?;
    let index = match raw_index {
        Some(_) => None,
        None => Some(repo.index().map_err(git_err("cannot read the index"))?),
    };
    for path in touched(changes) {
        check_no_symlink(workdir, path)?;
        let committed = match head {
            Some(root) => trees.blob(&odb, root, path)?,
            None => None,
        };
        // A file in a conflict (staged more than once) has uncommitted changes too.
        let staged = match (raw_index, &index) {
            (Some(raw), _) => raw.staged(path).unwrap_or(Some(Oid::ZERO_SHA1)),
            (None, Some(index)) => index.get_path(Path::new(path), 0).map(|e| e.id),
            (None, None) => None,
        };
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

/// Makes the working tree and the index match the new commit for the changed files, whose
/// new blobs are `blobs` (from [`apply`]). The index is edited in its bytes when `raw_index`
/// holds them (and returned as written), else through libgit2.
pub(crate) fn update_workdir(
    repo: &Repository,
    workdir: &Path,
    blobs: &BTreeMap<String, Option<Oid>>,
    raw_index: Option<LockedIndex>,
) -> Result<Option<GitIndex>> {
    let io = |what: &str, e: std::io::Error| Error::internal(format!("{what}: {e}"));
    let mut index = match raw_index {
        Some(_) => None,
        None => Some(repo.index().map_err(git_err("cannot read the index"))?),
    };
    let mut entries = Vec::with_capacity(blobs.len());
    for (path, blob) in blobs {
        let full = workdir.join(path);
        match blob {
            Some(id) => {
                if let Some(dir) = full.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| io("cannot create a folder", e))?;
                }
                // A moved file may be of any size: copied in pieces where git can.
                let mut file =
                    std::fs::File::create(&full).map_err(|e| io("cannot write a file", e))?;
                crate::copy_blob(repo, *id, &mut file)?;
                drop(file);
                match &mut index {
                    Some(index) => index
                        .add_path(Path::new(path))
                        .map_err(git_err("cannot update the index"))?,
                    None => entries.push((path, Some((*id, full)))),
                }
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
                match &mut index {
                    Some(index) => {
                        let _ = index.remove_path(Path::new(path));
                    }
                    None => entries.push((path, None)),
                }
            }
        }
    }
    match (index, raw_index) {
        (Some(mut index), _) => {
            index.write().map_err(git_err("cannot write the index"))?;
            Ok(None)
        }
        (None, Some(raw)) => {
            let changes: Vec<NewEntry<'_>> = entries
                .iter()
                .map(|(path, file)| NewEntry {
                    path,
                    file: file.as_ref().map(|(id, full)| (*id, full.as_path())),
                })
                .collect();
            raw.write(&changes).map(Some)
        }
        (None, None) => Ok(None),
    }
}
