#![doc = include_str!("../README.md")]

mod gitindex;
mod history;
mod merge;
mod pack;
mod raw;
mod tree;

pub use merge::{
    MERGE_LINES, MergeOutcome, has_conflict_markers, merge3, merge3_marked, merge3_within,
};
pub use pack::Loose;

use casebook_core::{Author, Error, Result, Revision, Timestamp};
use git2::{ObjectType, Oid, Repository, RepositoryInitOptions, Signature};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The id of a blob (a file's content) in the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId([u8; 20]);

impl BlobId {
    fn from_oid(oid: Oid) -> BlobId {
        let mut b = [0u8; 20];
        b.copy_from_slice(&oid.as_bytes()[..20]);
        BlobId(b)
    }
    fn oid(&self) -> Oid {
        Oid::from_bytes(&self.0).expect("20-byte oid")
    }
    pub fn hex(&self) -> String {
        self.oid().to_string()
    }

    /// The blob id written as 40 hex digits; `None` for anything else.
    pub fn from_hex(hex: &str) -> Option<BlobId> {
        (hex.len() == 40).then(|| Oid::from_str(hex).ok().map(BlobId::from_oid)).flatten()
    }

    /// The id `content` has, or would have, as a blob (git's hash of it; nothing is written).
    pub fn of(content: &[u8]) -> BlobId {
        set_libgit2_options();
        // Hashing a buffer in memory fails only on a libgit2 that cannot allocate.
        BlobId::from_oid(
            Oid::hash_object(ObjectType::Blob, content).expect("git hashes a buffer in memory"),
        )
    }
}

/// A file of the tree at some revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    pub blob: BlobId,
}

/// How a file differs between two trees. `old` is `None` for an added file, `new` for a deleted one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDelta {
    pub path: String,
    pub old: Option<BlobId>,
    pub new: Option<BlobId>,
}

/// How many commits a page's history reads back at most: what one request (a history page, an
/// old revision) may cost, whoever asks. Changes older than that are not listed.
pub const HISTORY_SCAN: usize = 20_000;

/// A commit as people see it in history and recent changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub revision: Revision,
    pub author: Author,
    pub date: Timestamp,
    /// The first line of the message.
    pub summary: String,
    /// Files changed against the first parent (filled by `log`); in a file's history, the
    /// file's name after the commit and, for a rename, the name before.
    pub paths: Vec<String>,
}

/// One change of a commit.
#[derive(Debug, Clone)]
pub enum Change {
    Put {
        path: String,
        content: Vec<u8>,
    },
    Delete {
        path: String,
    },
    /// Moves a file, keeping its content (git sees a rename).
    Move {
        from: String,
        to: String,
    },
}

/// What one commit of the [`Writer`] did: enough for a reader of the repository to move its
/// picture of the head forward without diffing trees again.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The branch's commit before (`None` for the first commit).
    pub parent: Option<Revision>,
    /// The commit, with the files it changed in `paths`.
    pub info: CommitInfo,
    /// How each file changed.
    pub deltas: Vec<FileDelta>,
}

/// The git repository holding the wiki. Readers share a small pool of handles; writers go
/// through [`Store::writer`], one at a time.
pub struct Store {
    path: PathBuf,
    workdir: Option<PathBuf>,
    branch: String,
    pool: Mutex<Vec<Repository>>,
    writer: Mutex<Repository>,
    /// The raw bytes of the wide trees read or written lately, shared by readers and the writer.
    trees: Mutex<raw::RawTrees>,
    /// Git's index of a non-bare repository as the writer last wrote it.
    git_index: Mutex<Option<gitindex::GitIndex>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).field("branch", &self.branch).finish()
    }
}

pub(crate) fn git_err(what: &str) -> impl Fn(git2::Error) -> Error + '_ {
    move |e| Error::internal(format!("{what}: {}", e.message()))
}

/// Why [`Writer::commit`] made no commit. Either way nothing changed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CommitError {
    /// Another process moved the branch (or was moving it) between the commit reading its head
    /// and moving it: the change is to be planned again on the new head.
    #[error("the branch moved while saving; try again")]
    BranchMoved,
    /// The change was refused, or the repository could not be read or written.
    #[error(transparent)]
    Failed(#[from] Error),
}

impl From<CommitError> for Error {
    fn from(e: CommitError) -> Error {
        match e {
            CommitError::BranchMoved => Error::conflict(e.to_string()),
            CommitError::Failed(e) => e,
        }
    }
}

/// Whether [`Store::open_or_create`] found a repository or made one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    Existing,
    Created,
}

impl Store {
    /// Opens the repository at `path`, or creates a bare one there whose first commit holds
    /// `seed` (path, content) when nothing exists at `path`.
    pub fn open_or_create(
        path: &Path,
        seed: impl FnOnce() -> Vec<(String, Vec<u8>)>,
        author: &Author,
    ) -> Result<(Store, Opened)> {
        let exists = path.exists();
        if exists {
            return Ok((Store::open(path)?, Opened::Existing));
        }
        set_libgit2_options();
        let mut opts = RepositoryInitOptions::new();
        opts.bare(true).initial_head("main").mkpath(true);
        let repo = Repository::init_opts(path, &opts).map_err(|e| {
            Error::unavailable(format!(
                "cannot create a repository at {}: {}",
                path.display(),
                e.message()
            ))
        })?;
        drop(repo);
        let store = Store::open(path)?;
        let changes: Vec<Change> =
            seed().into_iter().map(|(path, content)| Change::Put { path, content }).collect();
        if !changes.is_empty() {
            let mut w = store.writer();
            w.commit(&changes, author, "Start the wiki with Casebook's starter content")?;
        }
        Ok((store, Opened::Created))
    }

    /// Opens an existing repository, bare or not. Fails with a message saying what to do when
    /// the path is not a usable repository.
    pub fn open(path: &Path) -> Result<Store> {
        set_libgit2_options();
        let repo = Repository::open(path).map_err(|e| {
            Error::unavailable(format!(
                "{} is not a git repository ({}); point --repo at a repository or at a path that does not exist yet",
                path.display(),
                e.message()
            ))
        })?;
        let head = repo.find_reference("HEAD").map_err(git_err("cannot read HEAD"))?;
        let target = head.symbolic_target().ok().flatten().map(str::to_string);
        drop(head);
        let branch = match target {
            Some(b) if b.starts_with("refs/heads/") => b,
            _ => {
                return Err(Error::unavailable(format!(
                    "HEAD of {} is detached; check out a branch (git switch main) so Casebook knows where to commit",
                    path.display()
                )));
            }
        };
        let workdir = repo.workdir().map(Path::to_path_buf);
        let writer = Repository::open(path).map_err(git_err("cannot open the repository"))?;
        Ok(Store {
            path: path.to_path_buf(),
            workdir,
            branch,
            pool: Mutex::new(vec![repo]),
            writer: Mutex::new(writer),
            trees: Mutex::default(),
            git_index: Mutex::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The working tree of a non-bare repository.
    pub fn workdir(&self) -> Option<&Path> {
        self.workdir.as_deref()
    }

    /// The branch Casebook commits to, e.g. `refs/heads/main`.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// Runs `f` with a repository handle from the pool.
    fn read<T>(&self, f: impl FnOnce(&Repository) -> Result<T>) -> Result<T> {
        let repo = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let repo = match repo {
            Some(r) => r,
            None => Repository::open(&self.path).map_err(git_err("cannot open the repository"))?,
        };
        let out = f(&repo);
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < 16 {
            pool.push(repo);
        }
        out
    }

    /// The commit the branch points at now; `None` for a repository without commits.
    pub fn head(&self) -> Result<Option<Revision>> {
        self.read(|repo| head_oid(repo, &self.branch).map(|o| o.map(rev)))
    }

    /// All files of the tree at `at`.
    pub fn files(&self, at: &Revision) -> Result<Vec<FileEntry>> {
        self.read(|repo| {
            let tree = commit_of(repo, at)?.tree().map_err(git_err("cannot read a tree"))?;
            let mut out = Vec::new();
            tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                if entry.kind() == Some(ObjectType::Blob)
                    && let Ok(name) = entry.name()
                {
                    out.push(FileEntry {
                        path: format!("{dir}{name}"),
                        blob: BlobId::from_oid(entry.id()),
                    });
                }
                git2::TreeWalkResult::Ok
            })
            .map_err(git_err("cannot walk a tree"))?;
            Ok(out)
        })
    }

    /// The files that differ between two revisions (`from = None`: everything in `to` is new).
    pub fn changes_between(
        &self,
        from: Option<&Revision>,
        to: &Revision,
    ) -> Result<Vec<FileDelta>> {
        self.read(|repo| {
            let new = commit_of(repo, to)?.tree_id();
            let old = match from {
                Some(f) => Some(commit_of(repo, f)?.tree_id()),
                None => None,
            };
            tree::deltas(repo, &self.trees, old, new)
        })
    }

    /// The blob of `file` at `at`, if the file exists there.
    pub fn blob_at(&self, at: &Revision, file: &str) -> Result<Option<BlobId>> {
        self.read(|repo| blob_in(repo, &mut self.trees(), at, file))
    }

    /// The files of the folder `folder` at `at`, with their paths from the top; only those
    /// directly in it unless `below`, then those of its subfolders too. None when there is no
    /// such folder. Reads the trees along the folder's path only.
    pub fn files_in(&self, at: &Revision, folder: &str, below: bool) -> Result<Vec<FileEntry>> {
        self.read(|repo| {
            let tree = commit_of(repo, at)?.tree().map_err(git_err("cannot read a tree"))?;
            tree::files_in(repo, &tree, folder, below)
        })
    }

    /// The size of a blob in bytes, read from the object's header: its content is not inflated.
    pub fn blob_size(&self, id: BlobId) -> Result<u64> {
        self.read(|repo| blob_size(repo, id.oid()))
    }

    /// The content of a blob of at most `max` bytes. A larger one is refused (`TooLarge`)
    /// from its header, without being read: content pushed or committed by hand may be of any
    /// size, and a blob is inflated whole in memory.
    pub fn blob(&self, id: BlobId, max: usize) -> Result<Vec<u8>> {
        self.read(|repo| read_blob(repo, id.oid(), max))
    }

    /// Writes `content` as a blob, without the writer, ahead of the commit that puts it: the
    /// commit, with the writer held, then finds the blob there and only hashes the content
    /// instead of compressing and syncing it. A blob no commit ends up using is left to git's
    /// garbage collection, as git itself leaves the objects of an abandoned commit.
    pub fn write_blob(&self, content: &[u8]) -> Result<BlobId> {
        self.read(|repo| {
            pack::retry_vanished(|| repo.blob(content))
                .map(BlobId::from_oid)
                .map_err(git_err("cannot write a blob"))
        })
    }

    /// Resolves a revision a person typed (possibly abbreviated) to a full commit id.
    pub fn resolve(&self, rev: &Revision) -> Result<Revision> {
        self.read(|repo| commit_of(repo, rev).map(|c| self::rev(c.id())))
    }

    /// True when `ancestor` is `descendant` or one of its ancestors; false too when either is
    /// not a commit of the repository.
    pub fn is_ancestor(&self, ancestor: &Revision, descendant: &Revision) -> bool {
        self.read(|repo| {
            let a = commit_of(repo, ancestor)?.id();
            let d = commit_of(repo, descendant)?.id();
            Ok(a == d || repo.graph_descendant_of(d, a).unwrap_or(false))
        })
        .unwrap_or(false)
    }

    /// The commit's metadata.
    pub fn commit_info(&self, at: &Revision) -> Result<CommitInfo> {
        self.read(|repo| Ok(info(&commit_of(repo, at)?)))
    }

    /// Commits that changed `file`, newest first, following renames; at most `limit`, found
    /// among the newest [`HISTORY_SCAN`] commits. The commit that renamed the file to its name
    /// lists the old name second in its `paths`.
    pub fn file_history(&self, file: &str, limit: usize) -> Result<Vec<CommitInfo>> {
        self.read(|repo| {
            history::file_history(repo, &self.trees, &self.branch, None, file, limit, HISTORY_SCAN)
        })
    }

    /// As [`Store::file_history`], from the commit `at` back.
    pub fn file_history_at(
        &self,
        at: &Revision,
        file: &str,
        limit: usize,
    ) -> Result<Vec<CommitInfo>> {
        self.read(|repo| {
            let from = commit_of(repo, at)?.id();
            let trees = &self.trees;
            history::file_history(repo, trees, &self.branch, Some(from), file, limit, HISTORY_SCAN)
        })
    }

    /// The new name of a file that a recent commit renamed (a moved page's old address).
    pub fn renamed_to(&self, file: &str) -> Result<Option<String>> {
        self.read(|repo| {
            history::renamed_to(
                repo,
                &self.trees,
                &self.branch,
                file,
                5000,
                std::time::Duration::from_millis(250),
            )
        })
    }

    /// The files the commit `at` changed against its first parent.
    pub fn changed_files(&self, at: &Revision) -> Result<Vec<String>> {
        self.read(|repo| history::changed_files(repo, &self.trees, commit_of(repo, at)?.id()))
    }

    /// The newest commits of the branch, with the files each changed.
    pub fn log(&self, limit: usize, skip: usize) -> Result<Vec<CommitInfo>> {
        self.read(|repo| history::log(repo, &self.trees, &self.branch, limit, skip))
    }

    /// The commits that `to` has and `from` has not (what a push or a save brought), newest
    /// first, with the files each changed; at most `limit`.
    pub fn commits_between(
        &self,
        from: Option<&Revision>,
        to: &Revision,
        limit: usize,
    ) -> Result<Vec<CommitInfo>> {
        self.read(|repo| {
            let to = commit_of(repo, to)?.id();
            let from = match from {
                Some(f) => Some(commit_of(repo, f)?.id()),
                None => None,
            };
            history::between(repo, &self.trees, from, to, limit)
        })
    }

    /// Takes the one writer. Every change to the repository goes through it.
    pub fn writer(&self) -> Writer<'_> {
        Writer {
            store: self,
            repo: self.writer.lock().unwrap_or_else(|e| e.into_inner()),
            committed: Vec::new(),
        }
    }

    /// The raw trees, for a lookup or a commit.
    fn trees(&self) -> MutexGuard<'_, raw::RawTrees> {
        self.trees.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Unified diff of two texts; the header names them `a/OLD` and `b/NEW`, as git does.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    let mut opts = git2::DiffOptions::new();
    opts.context_lines(3);
    match git2::Patch::from_buffers(
        old.as_bytes(),
        Some(Path::new(old_name)),
        new.as_bytes(),
        Some(Path::new(new_name)),
        Some(&mut opts),
    ) {
        Ok(mut patch) => patch
            .to_buf()
            .ok()
            .and_then(|b| b.as_str().ok().map(str::to_string))
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The one writer, held while a change is planned and committed.
pub struct Writer<'a> {
    store: &'a Store,
    repo: MutexGuard<'a, Repository>,
    committed: Vec<Committed>,
}

impl Writer<'_> {
    /// The commits made through this writer so far, oldest first; taking them empties the list.
    pub fn take_committed(&mut self) -> Vec<Committed> {
        std::mem::take(&mut self.committed)
    }

    /// The branch's commit now.
    pub fn head(&self) -> Result<Option<Revision>> {
        head_oid(&self.repo, &self.store.branch).map(|o| o.map(rev))
    }

    /// The blob of `file` at `at`, if the file exists there. Two revisions of a file are the
    /// same text exactly when their blobs are the same.
    pub fn blob_at(&self, at: &Revision, file: &str) -> Result<Option<BlobId>> {
        blob_in(&self.repo, &mut self.store.trees(), at, file)
    }

    /// The files of the folder `folder` at `at` (see [`Store::files_in`]).
    pub fn files_in(&self, at: &Revision, folder: &str, below: bool) -> Result<Vec<FileEntry>> {
        let repo = &self.repo;
        let tree = commit_of(repo, at)?.tree().map_err(git_err("cannot read a tree"))?;
        tree::files_in(repo, &tree, folder, below)
    }

    /// The content of `file` at `at`, if it is at most `max` bytes (`TooLarge` otherwise,
    /// found from the object's header without reading it).
    pub fn read(&self, at: &Revision, file: &str, max: usize) -> Result<Option<Vec<u8>>> {
        match self.blob_at(at, file)? {
            Some(id) => read_blob(&self.repo, id.oid(), max).map(Some),
            None => Ok(None),
        }
    }

    /// The content of a blob of at most `max` bytes (`TooLarge` otherwise, found from the
    /// object's header without reading it).
    pub fn blob(&self, id: BlobId, max: usize) -> Result<Vec<u8>> {
        read_blob(&self.repo, id.oid(), max)
    }

    /// True when `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: &Revision, descendant: &Revision) -> Result<bool> {
        let repo = &self.repo;
        let a = commit_of(repo, ancestor)?.id();
        let d = commit_of(repo, descendant)?.id();
        if a == d {
            return Ok(true);
        }
        repo.graph_descendant_of(d, a).map_err(git_err("cannot compare revisions"))
    }

    /// Commits `changes` on top of the branch's head as one commit by `author`, and moves the
    /// branch with a compare-and-swap: if another process moved it meanwhile, the answer is
    /// [`CommitError::BranchMoved`] and nothing changes (the caller re-plans on the new head).
    pub fn commit(
        &mut self,
        changes: &[Change],
        author: &Author,
        message: &str,
    ) -> std::result::Result<Revision, CommitError> {
        let repo = &*self.repo;
        let trees = &mut *self.store.trees();
        let parent_oid = head_oid(repo, &self.store.branch)?;
        let base_tree = match parent_oid {
            Some(oid) => {
                Some(repo.find_commit(oid).map_err(git_err("cannot read head"))?.tree_id())
            }
            None => None,
        };
        let mut cached_index = self.store.git_index.lock().unwrap_or_else(|e| e.into_inner());
        let git_index = match &self.store.workdir {
            Some(wd) => {
                let index = gitindex::GitIndex::lock(repo.path(), cached_index.take())?;
                tree::refuse_dirty(repo, trees, base_tree, wd, changes, index.as_ref())?;
                index
            }
            None => None,
        };
        let tree::Applied { tree: new_tree, deltas, blobs } =
            tree::apply(repo, trees, base_tree, changes)?;
        let sig = signature(author)?;
        let message = if message.trim().is_empty() { "Update the wiki" } else { message.trim() };
        let parents: Vec<Oid> = parent_oid.into_iter().collect();
        let commit = raw::commit_object(new_tree, &parents, &sig, message);
        let oid = repo
            .odb()
            .and_then(|odb| pack::retry_vanished(|| odb.write(ObjectType::Commit, &commit)))
            .map_err(git_err("cannot write the commit"))?;
        let log = format!("casebook: {}", message.lines().next().unwrap_or(""));
        let moved = match parent_oid {
            Some(old) => repo.reference_matching(&self.store.branch, oid, true, old, &log),
            None => repo.reference(&self.store.branch, oid, false, &log),
        };
        if let Err(e) = moved {
            return Err(match e.code() {
                git2::ErrorCode::Modified | git2::ErrorCode::Exists | git2::ErrorCode::Locked => {
                    CommitError::BranchMoved
                }
                _ => Error::internal(format!("cannot move the branch: {}", e.message())).into(),
            });
        }
        if let Some(wd) = &self.store.workdir {
            *cached_index = tree::update_workdir(repo, wd, &blobs, git_index)?;
        }
        let commit = repo.find_commit(oid).map_err(git_err("cannot read the new commit"))?;
        let mut info = info(&commit);
        info.paths = deltas.iter().map(|d| d.path.clone()).collect();
        self.committed.push(Committed { parent: parent_oid.map(rev), info, deltas });
        Ok(rev(oid))
    }
}

/// The blob of `file` at `at`, looked up in the raw trees along its path.
fn blob_in(
    repo: &Repository,
    trees: &mut raw::RawTrees,
    at: &Revision,
    file: &str,
) -> Result<Option<BlobId>> {
    let root = commit_of(repo, at)?.tree_id();
    let odb = repo.odb().map_err(git_err("cannot open the object database"))?;
    Ok(trees.blob(&odb, root, file)?.map(BlobId::from_oid))
}

/// The git blob id of `content`, as it would be stored (nothing is written).
pub fn blob_id_of(content: &[u8]) -> Result<BlobId> {
    Oid::hash_object(ObjectType::Blob, content)
        .map(BlobId::from_oid)
        .map_err(git_err("cannot hash a text"))
}

pub(crate) fn blob_size(repo: &Repository, oid: Oid) -> Result<u64> {
    let odb = repo.odb().map_err(git_err("cannot open the object database"))?;
    match odb.read_header(oid) {
        Ok((size, ObjectType::Blob)) => Ok(size as u64),
        Ok(_) => Err(Error::not_found(format!("{oid} is not a blob"))),
        Err(e) if e.code() == git2::ErrorCode::NotFound => {
            Err(Error::not_found(format!("no blob {oid}")))
        }
        Err(e) => Err(Error::internal(format!("cannot read the blob {oid}: {}", e.message()))),
    }
}

pub(crate) fn read_blob(repo: &Repository, oid: Oid, max: usize) -> Result<Vec<u8>> {
    let size = blob_size(repo, oid)?;
    if size > max as u64 {
        return Err(Error::too_large(format!("{size} bytes, over the limit of {max} bytes")));
    }
    let blob = repo.find_blob(oid).map_err(|_| Error::not_found(format!("no blob {oid}")))?;
    Ok(blob.content().to_vec())
}

/// Copies a blob into `out`: in pieces when git can read it so (a loose object, as every
/// object Casebook writes is), else whole.
pub(crate) fn copy_blob(repo: &Repository, oid: Oid, out: &mut dyn std::io::Write) -> Result<u64> {
    let io = |e: std::io::Error| Error::internal(format!("cannot copy the blob {oid}: {e}"));
    let odb = repo.odb().map_err(git_err("cannot open the object database"))?;
    // libgit2 streams loose objects only; a packed one is inflated whole either way.
    if let Ok((mut reader, _, _)) = odb.reader(oid) {
        return std::io::copy(&mut reader, out).map_err(io);
    }
    let blob = repo.find_blob(oid).map_err(git_err("cannot read a blob"))?;
    out.write_all(blob.content()).map_err(io)?;
    Ok(blob.content().len() as u64)
}

fn rev(oid: Oid) -> Revision {
    Revision::from_git(oid.to_string())
}

fn head_oid(repo: &Repository, branch: &str) -> Result<Option<Oid>> {
    match repo.refname_to_id(branch) {
        Ok(oid) => Ok(Some(oid)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(Error::internal(format!("cannot read {branch}: {}", e.message()))),
    }
}

fn commit_of<'r>(repo: &'r Repository, at: &Revision) -> Result<git2::Commit<'r>> {
    let obj = repo
        .revparse_single(at.as_str())
        .map_err(|_| Error::not_found(format!("no revision {}", at.short())))?;
    obj.peel_to_commit().map_err(|_| Error::not_found(format!("{} is not a commit", at.short())))
}

fn signature(author: &Author) -> Result<Signature<'static>> {
    let name = if author.name.trim().is_empty() { "Anonymous" } else { author.name.trim() };
    let email = if author.email.trim().is_empty() {
        "anonymous@casebook.invalid"
    } else {
        author.email.trim()
    };
    Signature::now(name, email).map_err(|e| Error::invalid(format!("bad author: {}", e.message())))
}

pub(crate) fn info(c: &git2::Commit<'_>) -> CommitInfo {
    let a = c.author();
    CommitInfo {
        revision: rev(c.id()),
        author: Author::new(a.name().unwrap_or("unknown"), a.email().unwrap_or_default()),
        date: Timestamp::new(a.when().seconds(), a.when().offset_minutes()),
        summary: c.summary().ok().flatten().unwrap_or_default().to_string(),
        paths: Vec::new(),
    }
}

/// How much of the pack files libgit2 maps at a time. By default it maps them in windows of up
/// to 1 GiB and keeps up to 8 GiB mapped, so a wiki whose pages were all read once (at start, or
/// to build the search index) keeps its whole pack resident for good. Windows of 1 MiB, at most
/// 64 MiB of them, bound that; reading a page now and then maps a window again, which costs a
/// system call, not a read of the file (it stays in the page cache). With 16 MiB mapped, views
/// of random pages of a 200 MB pack spent a tenth of their time mapping and unmapping windows.
const PACK_WINDOW_BYTES: usize = 1 << 20;
const PACK_MAPPED_BYTES: usize = 64 << 20;
/// libgit2 also caches parsed trees and commits, up to 256 MiB by default. Every commit in a
/// large folder makes a new large tree (4 MiB for 100,000 pages in one folder); 32 MiB keeps the
/// trees a save needs and no collection of old ones.
const OBJECT_CACHE_BYTES: isize = 32 << 20;

/// Sets libgit2's process-wide options, once per process, before the first repository is
/// opened: the pack-mapping and cache limits above, and syncing to disk. Nothing acknowledged may
/// be lost on a crash, so libgit2 fsyncs every object, pack and ref it writes (its
/// `GIT_OPT_ENABLE_FSYNC_GITDIR`). This used to be asked of each repository in its configuration,
/// as `core.fsyncObjectFiles`, which today's git reports as deprecated on every command run there.
#[allow(unsafe_code)]
fn set_libgit2_options() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: libgit2's global options may not change while another thread is inside
        // libgit2. Only this crate calls libgit2 (a CI check keeps it so), and every way it
        // opens or makes a repository calls this first; the `Once` makes any other thread wait
        // here until the options are set. So no libgit2 call runs concurrently with these.
        let set = unsafe {
            git2::opts::set_mwindow_size(PACK_WINDOW_BYTES)
                .and_then(|()| git2::opts::set_mwindow_mapped_limit(PACK_MAPPED_BYTES))
                .and_then(|()| git2::opts::set_cache_max_size(OBJECT_CACHE_BYTES))
        };
        if let Err(e) = set {
            tracing::warn!(error = %e, "cannot limit how much of the pack files git maps");
        }
        // SAFETY: as above; the option takes one `int` argument, as libgit2's `settings.c`
        // reads it.
        let synced = unsafe {
            libgit2_sys::git_libgit2_opts(
                libgit2_sys::GIT_OPT_ENABLE_FSYNC_GITDIR as std::ffi::c_int,
                1 as std::ffi::c_int,
            )
        };
        if synced < 0 {
            tracing::error!("cannot make git sync what it writes to disk: a crash may lose saves");
        }
    });
}
