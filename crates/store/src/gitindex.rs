//! Git's index (`.git/index`) of a non-bare repository, kept in step with the commits Casebook
//! makes, edited in its raw bytes.
//!
//! After a save the working tree holds the new file and the index says so, so `git status`
//! stays clean. libgit2 reads the whole index into an entry object per file, and writes it
//! all back hashed with its collision-detecting SHA-1: for a folder of 10,000 pages, a
//! megabyte and several milliseconds on every save. Here the changed entries are spliced into
//! the index's bytes (the others are copied in runs), and the writer keeps the bytes it wrote,
//! so the next save reads nothing while no one else touched the file.
//!
//! Versions 2 and 3 of the format are edited so; an index of version 4 (paths compressed
//! against each other), or with an extension this code does not know that git requires (a
//! split or sparse index), is left to libgit2 (`None` from [`GitIndex::load`]). Of the
//! optional extensions, only the resolve-undo record is kept: the cached trees and the
//! untracked-file, file-system-monitor and offset tables would describe the old entries, and
//! git rebuilds them when it needs them.

use casebook_core::{Error, Result};
use git2::Oid;
use std::io::Write;
use std::path::Path;

/// The bytes before the first entry: signature, version, number of entries.
const HEADER: usize = 12;
/// The fixed part of an entry: ten 32-bit stat fields, the id, the flags.
const FIXED: usize = 62;
/// The checksum at the end.
const CHECKSUM: usize = 20;
const EXTENDED: u16 = 0x4000;
const STAGE: u16 = 0x3000;
const NAME_MASK: u16 = 0x0fff;

/// An index as stored, with where each entry starts.
#[derive(Debug, Clone)]
pub(crate) struct GitIndex {
    bytes: Vec<u8>,
    /// Where each entry starts, and where the entries end (one more than there are entries).
    starts: Vec<usize>,
    /// The file as it was when read or written, to know whether someone else changed it.
    stamp: Option<Stamp>,
}

/// What tells a file from the same file rewritten: git replaces the index by renaming a new
/// file over it, so a new one has a new inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    ino: u64,
    mtime: i64,
    mtime_nsec: i64,
}

#[cfg(not(unix))]
fn stamp_of(_: &Path) -> Option<Stamp> {
    None
}

#[cfg(unix)]
fn stamp_of(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp { len: m.len(), ino: m.ino(), mtime: m.mtime(), mtime_nsec: m.mtime_nsec() })
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The new state of one changed file for the index.
pub(crate) struct NewEntry<'a> {
    pub path: &'a str,
    /// The file's blob and where it is in the working tree; `None` when it is gone.
    pub file: Option<(Oid, &'a Path)>,
}

/// The index with git's lock on it, taken before a commit and let go once the index is
/// written after it (or the commit failed).
pub(crate) struct LockedIndex {
    index: GitIndex,
    lock: Option<(std::fs::File, std::path::PathBuf)>,
}

impl Drop for LockedIndex {
    fn drop(&mut self) {
        if let Some((_, lock)) = self.lock.take() {
            let _ = std::fs::remove_file(lock);
        }
    }
}

impl LockedIndex {
    /// The blob staged for `path`; `Err` when the path is in a conflict (several stages).
    pub fn staged(&self, path: &str) -> std::result::Result<Option<Oid>, ()> {
        self.index.staged(path)
    }

    /// Writes the index with `changes` made (sorted by path, each path once) into the lock
    /// file and renames it into place, as git does; what was written, to keep.
    pub fn write(mut self, changes: &[NewEntry<'_>]) -> Result<GitIndex> {
        let Some((mut f, lock)) = self.lock.take() else {
            return Err(Error::internal("git's index was written already"));
        };
        let written = self.index.edited(changes).and_then(|mut index| {
            let path = lock.with_file_name("index");
            f.write_all(&index.bytes)
                .and_then(|()| std::fs::rename(&lock, &path))
                .map_err(|e| Error::internal(format!("cannot write git's index: {e}")))?;
            index.stamp = stamp_of(&path);
            Ok(index)
        });
        if written.is_err() {
            let _ = std::fs::remove_file(&lock);
        }
        written
    }
}

impl GitIndex {
    /// The index with `changes` made.
    fn edited(&self, changes: &[NewEntry<'_>]) -> Result<GitIndex> {
        let io = |e: std::io::Error| Error::internal(format!("cannot write git's index: {e}"));
        let body = self.bytes.len() - CHECKSUM;
        let entries_end = self.starts[self.count()];
        let mut bytes = Vec::with_capacity(self.bytes.len() + changes.len() * 128);
        bytes.extend_from_slice(&self.bytes[..HEADER]);
        let mut starts = Vec::with_capacity(self.starts.len() + changes.len());
        let mut from = 0;
        for change in changes {
            let range = self.entries_of(change.path.as_bytes());
            self.copy(from, range.start, &mut bytes, &mut starts);
            from = from.max(range.end);
            if let Some((id, file)) = change.file {
                starts.push(bytes.len());
                encode(&mut bytes, change.path, id, file).map_err(io)?;
            }
        }
        self.copy(from, self.count(), &mut bytes, &mut starts);
        starts.push(bytes.len());
        let count = (starts.len() - 1) as u32;
        bytes[8..12].copy_from_slice(&count.to_be_bytes());
        // The extensions kept: the resolve-undo record.
        let mut at = entries_end;
        while at < body {
            let len = 8 + be32(&self.bytes, at + 4) as usize;
            if &self.bytes[at..at + 4] == b"REUC" {
                bytes.extend_from_slice(&self.bytes[at..at + len]);
            }
            at += len;
        }
        let sum = sha1(&[&bytes]);
        bytes.extend_from_slice(&sum);
        Ok(GitIndex { bytes, starts, stamp: None })
    }

    /// Takes git's lock on the index of the repository at `git_dir` (`index.lock`, as a git
    /// command does while it changes the index), and reads the index: as `cached` holds it when
    /// the file is still the one it was read or written as, else from the file. An empty index
    /// when there is none. `None` (and the lock let go) when this code cannot edit it (see the
    /// module's notes); a conflict when a git command holds the lock.
    pub fn lock(git_dir: &Path, cached: Option<GitIndex>) -> Result<Option<LockedIndex>> {
        // The entries hold a file's inode and device, which only a Unix system tells.
        if cfg!(not(unix)) {
            return Ok(None);
        }
        let lock = git_dir.join("index.lock");
        let file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::conflict(format!(
                    "git's index is locked ({} exists): a git command is working in the repository; save again once it is done",
                    lock.display()
                )));
            }
            Err(e) => return Err(Error::internal(format!("cannot lock git's index: {e}"))),
        };
        let mut locked = LockedIndex { index: GitIndex::empty(), lock: Some((file, lock)) };
        let path = git_dir.join("index");
        let stamp = stamp_of(&path);
        if let Some(c) = cached
            && c.stamp.is_some()
            && c.stamp == stamp
        {
            locked.index = c;
            return Ok(Some(locked));
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(locked)),
            Err(e) => return Err(Error::internal(format!("cannot read git's index: {e}"))),
        };
        match GitIndex::parse(bytes) {
            Some(mut index) => {
                index.stamp = stamp;
                locked.index = index;
                Ok(Some(locked))
            }
            None => Ok(None),
        }
    }

    fn empty() -> GitIndex {
        let mut bytes = b"DIRC\0\0\0\x02\0\0\0\0".to_vec();
        let sum = sha1(&[&bytes]);
        bytes.extend_from_slice(&sum);
        GitIndex { bytes, starts: vec![HEADER], stamp: None }
    }

    /// Reads the entries' boundaries; `None` for an index this code does not edit, or one that
    /// does not parse or whose checksum is wrong (libgit2 reports it then).
    fn parse(bytes: Vec<u8>) -> Option<GitIndex> {
        if bytes.len() < HEADER + CHECKSUM || &bytes[..4] != b"DIRC" {
            return None;
        }
        let version = be32(&bytes, 4);
        if version != 2 && version != 3 {
            return None;
        }
        let body = bytes.len() - CHECKSUM;
        let sum = &bytes[body..];
        // git's `index.skipHash` writes no checksum: zeros.
        if sum.iter().any(|&b| b != 0) && sha1(&[&bytes[..body]])[..] != *sum {
            return None;
        }
        let count = be32(&bytes, 8) as usize;
        let mut starts = Vec::with_capacity(count + 1);
        let mut at = HEADER;
        for _ in 0..count {
            starts.push(at);
            at = at.checked_add(entry_len(&bytes[..body], at)?)?;
            if at > body {
                return None;
            }
        }
        starts.push(at);
        // The extensions: each a signature, a length, its data. One git requires (its
        // signature not upper case) this code cannot keep up to date.
        while at < body {
            if at + 8 > body || !bytes[at].is_ascii_uppercase() {
                return None;
            }
            at = at.checked_add(8 + be32(&bytes, at + 4) as usize)?;
        }
        (at == body).then_some(GitIndex { bytes, starts, stamp: None })
    }

    fn count(&self) -> usize {
        self.starts.len() - 1
    }

    fn path(&self, i: usize) -> &[u8] {
        let at = self.starts[i];
        let flags = be16(&self.bytes, at + 60);
        let from = at + FIXED + if flags & EXTENDED != 0 { 2 } else { 0 };
        let end = self.starts[i + 1];
        let len = self.bytes[from..end].iter().position(|&b| b == 0).unwrap_or(end - from);
        &self.bytes[from..from + len]
    }

    fn stage(&self, i: usize) -> u16 {
        (be16(&self.bytes, self.starts[i] + 60) & STAGE) >> 12
    }

    /// The first entry whose path sorts at or after `path`.
    fn position(&self, path: &[u8]) -> usize {
        let (mut lo, mut hi) = (0, self.count());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            // Git's order of index entries: by path, byte by byte.
            if self.path(mid) < path {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The entries of `path`: the range of their positions.
    fn entries_of(&self, path: &[u8]) -> std::ops::Range<usize> {
        let from = self.position(path);
        let mut to = from;
        while to < self.count() && self.path(to) == path {
            to += 1;
        }
        from..to
    }

    /// The blob staged for `path`; `Err` when the path is in a conflict (several stages).
    pub fn staged(&self, path: &str) -> std::result::Result<Option<Oid>, ()> {
        let range = self.entries_of(path.as_bytes());
        match range.len() {
            0 => Ok(None),
            1 if self.stage(range.start) == 0 => {
                let at = self.starts[range.start] + 40;
                Ok(Oid::from_bytes(&self.bytes[at..at + 20]).ok())
            }
            _ => Err(()),
        }
    }

    /// Appends entries `from..to`, as one copy.
    fn copy(&self, from: usize, to: usize, bytes: &mut Vec<u8>, starts: &mut Vec<usize>) {
        if from < to {
            let (a, b) = (self.starts[from], self.starts[to]);
            let shift = bytes.len() as isize - a as isize;
            starts.extend(self.starts[from..to].iter().map(|&s| (s as isize + shift) as usize));
            bytes.extend_from_slice(&self.bytes[a..b]);
        }
    }
}

/// The length of the entry at `at`, with its padding; `None` when it runs past the end.
fn entry_len(bytes: &[u8], at: usize) -> Option<usize> {
    if at + FIXED > bytes.len() {
        return None;
    }
    let flags = be16(bytes, at + 60);
    let fixed = FIXED + if flags & EXTENDED != 0 { 2 } else { 0 };
    let mut name = (flags & NAME_MASK) as usize;
    if name == NAME_MASK as usize {
        name = bytes.get(at + fixed..)?.iter().position(|&b| b == 0)?;
    }
    // The path, then one to eight NULs: the entry's length a multiple of eight.
    let len = (fixed + name + 8) & !7;
    (at + len <= bytes.len()).then_some(len)
}

#[cfg(not(unix))]
fn encode(_: &mut Vec<u8>, _: &str, _: Oid, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("git's index is written by libgit2 here"))
}

/// Appends the entry of `path`, whose file in the working tree is `file` with the blob `id`.
#[cfg(unix)]
fn encode(out: &mut Vec<u8>, path: &str, id: Oid, file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(file)?;
    let mode: u32 = if m.mode() & 0o111 != 0 { 0o100755 } else { 0o100644 };
    let fields = [
        m.ctime() as u32,
        m.ctime_nsec() as u32,
        m.mtime() as u32,
        m.mtime_nsec() as u32,
        m.dev() as u32,
        m.ino() as u32,
        mode,
        m.uid(),
        m.gid(),
        m.size() as u32,
    ];
    let start = out.len();
    for f in fields {
        out.extend_from_slice(&f.to_be_bytes());
    }
    out.extend_from_slice(id.as_bytes());
    let flags = path.len().min(NAME_MASK as usize) as u16;
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(path.as_bytes());
    let len = (FIXED + path.len() + 8) & !7;
    out.resize(start + len, 0);
    Ok(())
}
