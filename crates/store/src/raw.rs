//! Trees (and commits) as git stores them, edited without parsing them into objects.
//!
//! A tree object is a run of entries `<mode> <name>\0<20-byte id>`, sorted by name, where a
//! folder's name sorts as if it ended in `/`. A save changes one entry of each tree along its
//! path; rebuilding such a tree through libgit2's tree builder parses every entry of it into an
//! allocation of its own and writes them out again, which costs milliseconds per save once a
//! folder holds thousands of pages. Here the one changed entry is spliced into the old tree's
//! bytes (the others are copied as they are), and the result is hashed and compressed once.
//! The writer keeps the raw bytes of the trees it read or wrote lately, so the next save in the
//! same folder does not inflate them again.

use crate::git_err;
use casebook_core::{Error, Result};
use git2::{ObjectType, Odb, Oid};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// The mode git writes for a plain file, an executable one, and a folder.
pub(crate) const FILE_MODE: &[u8] = b"100644";
const EXECUTABLE_MODE: &[u8] = b"100755";
pub(crate) const TREE_MODE: &[u8] = b"40000";

/// One entry of a raw tree, borrowed from its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    /// The whole entry as stored, to be copied unchanged.
    pub raw: &'a [u8],
    pub mode: &'a [u8],
    pub name: &'a [u8],
    pub id: Oid,
}

impl Entry<'_> {
    pub fn is_tree(&self) -> bool {
        // Old tools wrote folders as `040000`; git reads both.
        self.mode == TREE_MODE || self.mode == b"040000"
    }

    /// A file's content (a plain or executable file, or a symbolic link), not a submodule.
    pub fn is_blob(&self) -> bool {
        self.mode.first() == Some(&b'1') && self.mode != b"160000"
    }
}

fn damaged() -> Error {
    Error::internal("a tree of the repository is damaged (run `git fsck`)")
}

/// A raw tree with where each of its entries starts, so that an entry is found by a binary
/// search and runs of entries are copied whole.
#[derive(Debug, Default)]
pub(crate) struct RawTree {
    bytes: Vec<u8>,
    starts: Vec<u32>,
}

impl RawTree {
    /// Reads the entries' boundaries; a tree that does not parse is damaged.
    pub fn parse(bytes: Vec<u8>) -> Result<RawTree> {
        u32::try_from(bytes.len()).map_err(|_| damaged())?;
        let mut starts = Vec::with_capacity(bytes.len() / 64);
        let mut at = 0;
        while at < bytes.len() {
            starts.push(at as u32);
            let rest = &bytes[at..];
            let nul = rest.iter().position(|&b| b == 0).ok_or_else(damaged)?;
            if !rest[..nul].contains(&b' ') || nul + 21 > rest.len() {
                return Err(damaged());
            }
            at += nul + 21;
        }
        Ok(RawTree { bytes, starts })
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    fn end(&self, i: usize) -> usize {
        self.starts.get(i + 1).map_or(self.bytes.len(), |&s| s as usize)
    }

    /// The entry at position `i` (which [`RawTree::parse`] checked).
    pub fn entry(&self, i: usize) -> Entry<'_> {
        let raw = &self.bytes[self.starts[i] as usize..self.end(i)];
        let space = raw.iter().position(|&b| b == b' ').unwrap_or(0);
        let nul = raw.len() - 21;
        let id = Oid::from_bytes(&raw[nul + 1..]).unwrap_or(Oid::ZERO_SHA1);
        Entry { raw, mode: &raw[..space], name: &raw[space + 1..nul], id }
    }

    /// The number of entries that sort before the name `name` (a folder's when `tree`).
    fn position(&self, name: &[u8], tree: bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = self.entry(mid);
            if order(e.name, e.is_tree(), name, tree) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The position of the entry named `name`, file or folder.
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        [false, true].into_iter().find_map(|tree| {
            let i = self.position(name, tree);
            (i < self.len() && self.entry(i).name == name).then_some(i)
        })
    }

    /// Appends entries `from..to` to `out`, as one copy.
    fn copy(&self, from: usize, to: usize, out: &mut RawTree) {
        if from >= to {
            return;
        }
        let (a, b) = (self.starts[from] as usize, self.end(to - 1));
        let shift = out.bytes.len() as i64 - a as i64;
        out.starts.extend(self.starts[from..to].iter().map(|&s| (s as i64 + shift) as u32));
        out.bytes.extend_from_slice(&self.bytes[a..b]);
    }

    fn push(&mut self, entry: &[u8]) {
        self.starts.push(self.bytes.len() as u32);
        self.bytes.extend_from_slice(entry);
    }

    fn weight(&self) -> usize {
        self.bytes.len() + self.starts.len() * 4
    }
}

/// Git's order of tree entries: by name, a folder's name compared as if it ended in `/`.
pub(crate) fn order(a: &[u8], a_tree: bool, b: &[u8], b_tree: bool) -> Ordering {
    let n = a.len().min(b.len());
    match a[..n].cmp(&b[..n]) {
        Ordering::Equal => {}
        other => return other,
    }
    let end = |name: &[u8], tree: bool| name.get(n).copied().unwrap_or(if tree { b'/' } else { 0 });
    // Two names of the same length and bytes are the same name; a tree holds each name once.
    end(a, a_tree).cmp(&end(b, b_tree)).then(a.len().cmp(&b.len()))
}

/// The raw bytes of recently read or written wide trees (of [`RawTrees::WIDE`] bytes or more;
/// a small one costs little to read again), by id, up to [`RawTrees::LIMIT`] bytes in all, the
/// oldest forgotten first. An id names its content for good, so an entry is never stale.
#[derive(Default)]
pub(crate) struct RawTrees {
    trees: HashMap<Oid, Arc<RawTree>>,
    order: VecDeque<Oid>,
    bytes: usize,
}

impl RawTrees {
    /// Enough for the trees along a save's path in a folder of 100,000 pages (about 6 MB for
    /// the folder's own tree), and the one the save writes.
    const LIMIT: usize = 24 << 20;
    /// About 300 entries.
    const WIDE: usize = 16 << 10;

    pub fn get(&mut self, odb: &Odb<'_>, id: Oid) -> Result<Arc<RawTree>> {
        if let Some(raw) = self.trees.get(&id) {
            return Ok(raw.clone());
        }
        let object = odb.read(id).map_err(git_err("cannot read a tree"))?;
        if object.kind() != ObjectType::Tree {
            return Err(Error::internal(format!("{id} is not a tree")));
        }
        let raw = Arc::new(RawTree::parse(object.data().to_vec())?);
        self.keep(id, raw.clone());
        Ok(raw)
    }

    fn keep(&mut self, id: Oid, raw: Arc<RawTree>) {
        let weight = raw.weight();
        if raw.bytes.len() < Self::WIDE || weight > Self::LIMIT || self.trees.contains_key(&id) {
            return;
        }
        self.bytes += weight;
        self.trees.insert(id, raw);
        self.order.push_back(id);
        while self.bytes > Self::LIMIT {
            let Some(old) = self.order.pop_front() else { break };
            if let Some(raw) = self.trees.remove(&old) {
                self.bytes -= raw.weight();
            }
        }
    }

    /// The entry at `path` below the tree `root`, reading only the trees along the path.
    pub fn lookup(&mut self, odb: &Odb<'_>, root: Oid, path: &str) -> Result<Option<Found>> {
        let mut tree = root;
        let mut segments = path.split('/').peekable();
        while let Some(segment) = segments.next() {
            let raw = self.get(odb, tree)?;
            let Some(i) = raw.find(segment.as_bytes()) else {
                return Ok(None);
            };
            let e = raw.entry(i);
            if segments.peek().is_none() {
                return Ok(Some(Found { id: e.id, blob: e.is_blob() }));
            }
            if !e.is_tree() {
                return Ok(None);
            }
            tree = e.id;
        }
        Ok(None)
    }

    /// The blob of the file at `path` below `root`, if there is one.
    pub fn blob(&mut self, odb: &Odb<'_>, root: Oid, path: &str) -> Result<Option<Oid>> {
        Ok(self.lookup(odb, root, path)?.filter(|f| f.blob).map(|f| f.id))
    }

    /// The files that differ between the trees `old` and `new` (`None`: no tree), below
    /// `prefix`, in git's order: the entries of both walked side by side, a folder entered only
    /// when its id differs. Submodules are not files and are left out.
    pub fn diff(
        &mut self,
        odb: &Odb<'_>,
        old: Option<Oid>,
        new: Option<Oid>,
        prefix: &str,
        out: &mut Vec<(String, Option<Oid>, Option<Oid>)>,
    ) -> Result<()> {
        if old == new {
            return Ok(());
        }
        let empty = Arc::new(RawTree::default());
        let a = match old {
            Some(id) => self.get(odb, id)?,
            None => empty.clone(),
        };
        let b = match new {
            Some(id) => self.get(odb, id)?,
            None => empty,
        };
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let x = (i < a.len()).then(|| a.entry(i));
            let y = (j < b.len()).then(|| b.entry(j));
            let side = match (&x, &y) {
                (Some(x), Some(y)) => order(x.name, x.is_tree(), y.name, y.is_tree()),
                (Some(_), None) => Ordering::Less,
                _ => Ordering::Greater,
            };
            let (gone, came) = match side {
                Ordering::Less => {
                    i += 1;
                    (x, None)
                }
                Ordering::Greater => {
                    j += 1;
                    (None, y)
                }
                Ordering::Equal => {
                    i += 1;
                    j += 1;
                    if x.map(|e| e.id) == y.map(|e| e.id) {
                        continue;
                    }
                    (x, y)
                }
            };
            let Some(name) = gone.or(came).map(|e| String::from_utf8_lossy(e.name).into_owned())
            else {
                continue;
            };
            let tree = |e: Option<Entry<'_>>| e.filter(|e| e.is_tree()).map(|e| e.id);
            let blob = |e: Option<Entry<'_>>| e.filter(|e| e.is_blob()).map(|e| e.id);
            if gone.or(came).is_some_and(|e| e.is_tree()) {
                self.diff(odb, tree(gone), tree(came), &format!("{prefix}{name}/"), out)?;
            } else if blob(gone).is_some() || blob(came).is_some() {
                out.push((format!("{prefix}{name}"), blob(gone), blob(came)));
            }
        }
        Ok(())
    }

    /// Writes the tree `base` (at `prefix`, `None` for none) with `edits` applied, and returns
    /// its id, or `None` when nothing is left in it. Notes in `old` the blob each edited file
    /// had.
    pub fn splice(
        &mut self,
        odb: &Odb<'_>,
        objects: &Path,
        base: Option<Oid>,
        edits: &[Edit<'_>],
        prefix: &str,
        old: &mut BTreeMap<String, Oid>,
    ) -> Result<Option<Oid>> {
        let raw = match base {
            Some(id) => self.get(odb, id)?,
            None => Arc::new(RawTree::default()),
        };
        let mut groups: BTreeMap<&str, Vec<Edit<'_>>> = BTreeMap::new();
        for (segments, id) in edits {
            if let Some((first, rest)) = segments.split_first() {
                groups.entry(first).or_default().push((rest.to_vec(), *id));
            }
        }
        // What replaces the entries named by the edits: their positions go, and the new
        // entries (sorted as git sorts them) go in where they sort.
        let mut gone = Vec::new();
        let mut added: Vec<(Vec<u8>, bool, Vec<u8>)> = Vec::new();
        for (name, group) in groups {
            let at = raw.find(name.as_bytes());
            let existing = at.map(|i| raw.entry(i));
            if let Some(i) = at {
                gone.push(i);
            }
            let keep_existing = |existing: Option<Entry<'_>>, added: &mut Vec<_>| {
                if let Some(e) = existing {
                    added.push((e.name.to_vec(), e.is_tree(), e.raw.to_vec()));
                }
            };
            if let Some((_, id)) = group.iter().find(|(rest, _)| rest.is_empty()) {
                if let Some(e) = existing.filter(|e| e.is_blob()) {
                    old.insert(format!("{prefix}{name}"), e.id);
                }
                if let Some(id) = id {
                    if existing.is_some_and(|e| e.is_tree()) {
                        return Err(Error::conflict(format!("'{name}' is a folder, not a file")));
                    }
                    let mode = match existing {
                        Some(e) if e.mode == EXECUTABLE_MODE => EXECUTABLE_MODE,
                        _ => FILE_MODE,
                    };
                    added.push((name.as_bytes().to_vec(), false, encode(mode, name, *id)));
                }
                continue;
            }
            let sub = match existing {
                Some(e) if e.is_tree() => Some(e.id),
                Some(_) => {
                    return Err(Error::conflict(format!(
                        "'{name}' is a file, so it cannot hold other pages"
                    )));
                }
                None => None,
            };
            match self.splice(odb, objects, sub, &group, &format!("{prefix}{name}/"), old)? {
                Some(id) if Some(id) == sub => keep_existing(existing, &mut added),
                Some(id) => {
                    added.push((name.as_bytes().to_vec(), true, encode(TREE_MODE, name, id)))
                }
                None => {}
            }
        }
        added.sort_by(|a, b| order(&a.0, a.1, &b.0, b.1));
        gone.sort_unstable();
        let extra = added.iter().map(|a| a.2.len()).sum::<usize>();
        let mut out = RawTree {
            bytes: Vec::with_capacity(raw.bytes.len() + extra),
            starts: Vec::with_capacity(raw.len() + added.len()),
        };
        // The old entries in runs between the positions of the new ones, less those gone.
        let mut from = 0;
        let mut gone = gone.into_iter().peekable();
        let mut copy_to = |to: usize, out: &mut RawTree| {
            while let Some(g) = gone.next_if(|&g| g < to) {
                raw.copy(from, g, out);
                from = g + 1;
            }
            raw.copy(from, to, out);
            from = from.max(to);
        };
        for a in &added {
            copy_to(raw.position(&a.0, a.1), &mut out);
            out.push(&a.2);
        }
        copy_to(raw.len(), &mut out);
        if out.bytes.is_empty() {
            return Ok(None);
        }
        if out.bytes == raw.bytes {
            return Ok(base);
        }
        let id = if out.bytes.len() < Self::WIDE {
            crate::pack::retry_vanished(|| odb.write(ObjectType::Tree, &out.bytes))
                .map_err(git_err("cannot write a tree"))?
        } else {
            write_stored(odb, objects, ObjectType::Tree, &out.bytes)?
        };
        self.keep(id, Arc::new(out));
        Ok(Some(id))
    }
}

/// Writes a wide object as a loose object of git's whose zlib stream holds its bytes stored,
/// not compressed, and returns its id. Compressing a tree of a folder of 10,000 pages takes
/// several milliseconds at zlib's fastest level, on every save in that folder; stored, it
/// costs a copy, and the background packing that follows saves (`git repack`) compresses it
/// with the others (and as a delta of the tree before it). Written as git and libgit2 write
/// loose objects: a new temporary file beside its final name, synced, renamed into place, the
/// folder synced. An object that exists already is left as it is.
fn write_stored(odb: &Odb<'_>, objects: &Path, kind: ObjectType, data: &[u8]) -> Result<Oid> {
    let id = object_id(kind, data);
    if odb.exists(id) {
        return Ok(id);
    }
    let mut tries = 0;
    loop {
        match write_loose(objects, id, kind, data) {
            // The folder went (emptied by a packing) between its making and the write: again.
            Err(e) if tries < 2 && e.kind() == std::io::ErrorKind::NotFound => tries += 1,
            Err(e) => return Err(Error::internal(format!("cannot write a git object: {e}"))),
            Ok(()) => return Ok(id),
        }
    }
}

/// The id git gives an object: the SHA-1 of its header and bytes. libgit2 hashes with its
/// collision-detecting SHA-1, several times slower than the processor's own SHA instructions
/// that this one uses where there are some; an object Casebook builds from ids it read (a tree)
/// is no collision attack, and git checks every object it receives for one anyway.
pub(crate) fn object_id(kind: ObjectType, data: &[u8]) -> Oid {
    use sha1::Digest;
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("{} {}\0", kind.str(), data.len()).as_bytes());
    hasher.update(data);
    Oid::from_bytes(&hasher.finalize()).unwrap_or(Oid::ZERO_SHA1)
}

/// Writes `data` as the loose object `id` (see [`write_stored`]).
fn write_loose(objects: &Path, id: Oid, kind: ObjectType, data: &[u8]) -> std::io::Result<()> {
    let hex = id.to_string();
    let dir = objects.join(&hex[..2]);
    match std::fs::create_dir(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    let header = format!("{} {}\0", kind.str(), data.len());
    let stream = zlib_stored(&[header.as_bytes(), data]);
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = dir.join(format!("tmp_obj_casebook_{}_{n}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&temporary)?;
        f.write_all(&stream)?;
        f.sync_all()?;
        let mut perms = f.metadata()?.permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&temporary, perms)?;
        std::fs::rename(&temporary, dir.join(&hex[2..]))?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// The bytes of `parts`, one after the other, as a zlib stream of stored (uncompressed)
/// blocks: RFC 1950's header, RFC 1951's blocks of at most 65,535 bytes each, the Adler-32 of
/// the data.
fn zlib_stored(parts: &[&[u8]]) -> Vec<u8> {
    const BLOCK: usize = 65_535;
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(total + total / BLOCK * 5 + 16);
    // Deflate with a 32 KiB window, no dictionary, fastest level: 0x78 0x01 (a multiple of 31).
    out.extend_from_slice(&[0x78, 0x01]);
    let (mut left, mut part, mut at) = (total, 0, 0);
    loop {
        let len = left.min(BLOCK);
        left -= len;
        out.push(u8::from(left == 0));
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&(!(len as u16)).to_le_bytes());
        let mut need = len;
        while need > 0 {
            let p = parts[part];
            let take = (p.len() - at).min(need);
            out.extend_from_slice(&p[at..at + take]);
            (at, need) = (at + take, need - take);
            if at == p.len() {
                (part, at) = (part + 1, 0);
            }
        }
        if left == 0 {
            break;
        }
    }
    let mut adler = simd_adler32::Adler32::new();
    for p in parts {
        adler.write(p);
    }
    out.extend_from_slice(&adler.finish().to_be_bytes());
    out
}

/// A change below a tree: the remaining path segments and the new blob (`None` removes).
pub(crate) type Edit<'a> = (Vec<&'a str>, Option<Oid>);

/// What [`RawTrees::lookup`] found at a path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found {
    pub id: Oid,
    /// A file's content, not a folder or a submodule.
    pub blob: bool,
}

fn encode(mode: &[u8], name: &str, id: Oid) -> Vec<u8> {
    let mut e = Vec::with_capacity(mode.len() + name.len() + 22);
    e.extend_from_slice(mode);
    e.push(b' ');
    e.extend_from_slice(name.as_bytes());
    e.push(0);
    e.extend_from_slice(id.as_bytes());
    e
}

/// A commit object's bytes, as `git commit-tree` and libgit2 write them: the tree and the
/// parents by id, the author and committer with their time and zone, a blank line, the
/// message. Writing them directly spares reading the new tree back only to name it.
pub(crate) fn commit_object(
    tree: Oid,
    parents: &[Oid],
    sig: &git2::Signature<'_>,
    message: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + message.len());
    out.extend_from_slice(format!("tree {tree}\n").as_bytes());
    for p in parents {
        out.extend_from_slice(format!("parent {p}\n").as_bytes());
    }
    let when = sig.when();
    let offset = when.offset_minutes();
    let sign = if offset < 0 || when.sign() == '-' { '-' } else { '+' };
    let person = |out: &mut Vec<u8>, role: &str| {
        out.extend_from_slice(role.as_bytes());
        out.push(b' ');
        out.extend_from_slice(sig.name_bytes());
        out.extend_from_slice(b" <");
        out.extend_from_slice(sig.email_bytes());
        let offset = offset.unsigned_abs();
        out.extend_from_slice(
            format!("> {} {sign}{:02}{:02}\n", when.seconds(), offset / 60, offset % 60).as_bytes(),
        );
    };
    person(&mut out, "author");
    person(&mut out, "committer");
    out.push(b'\n');
    out.extend_from_slice(message.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_sorts_a_folder_as_if_its_name_ended_in_a_slash() {
        // a-b < a.md < a/ < a0 (as `-` < `.` < `/` < `0`), and a file `a` before all of them.
        let mut names = [
            (b"a0".to_vec(), false),
            (b"a".to_vec(), true),
            (b"a.md".to_vec(), false),
            (b"a-b".to_vec(), false),
        ];
        names.sort_by(|a, b| order(&a.0, a.1, &b.0, b.1));
        let sorted: Vec<&[u8]> = names.iter().map(|n| n.0.as_slice()).collect();
        assert_eq!(sorted, [&b"a-b"[..], b"a.md", b"a", b"a0"]);
        assert_eq!(order(b"a", false, b"a-b", false), Ordering::Less);
        assert_eq!(order(b"a", true, b"a-b", false), Ordering::Greater);
    }

    #[test]
    fn a_stored_stream_inflates_to_its_data() {
        // Through git itself: the stream is what a loose object holds.
        let tmp = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(tmp.path()).unwrap();
        let odb = repo.odb().unwrap();
        for size in [0, 1, 65_535, 65_536, 200_000] {
            let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let id =
                write_stored(&odb, &tmp.path().join("objects"), ObjectType::Blob, &data).unwrap();
            assert_eq!(id, Oid::hash_object(ObjectType::Blob, &data).unwrap());
            let out = std::process::Command::new("git")
                .args(["-C", tmp.path().to_str().unwrap(), "cat-file", "blob", &id.to_string()])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert!(out.stdout == data, "{size} bytes read back");
            assert_eq!(repo.find_blob(id).unwrap().content(), data.as_slice());
        }
    }

    #[test]
    fn a_truncated_tree_is_reported_as_damaged() {
        let mut raw = encode(FILE_MODE, "a.md", Oid::ZERO_SHA1);
        raw.pop();
        assert!(RawTree::parse(raw).is_err());
        assert!(RawTree::parse(b"100644 a.md".to_vec()).is_err());
    }

    #[test]
    fn a_commit_object_is_written_as_libgit2_writes_it() {
        // Any zone, east or west, and a message with a body.
        let tmp = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(tmp.path()).unwrap();
        let tree = repo.find_tree(repo.treebuilder(None).unwrap().write().unwrap()).unwrap();
        for offset in [0, 120, -150, -30] {
            let sig = git2::Signature::new(
                "Ann Example",
                "ann@example.com",
                &git2::Time::new(1_700_000_000, offset),
            )
            .unwrap();
            let first = repo.commit(None, &sig, &sig, "First", &tree, &[]).unwrap();
            let parent = repo.find_commit(first).unwrap();
            let theirs = repo
                .commit_create_buffer(&sig, &sig, "Second\n\nwith a body", &tree, &[&parent])
                .unwrap();
            let ours = commit_object(tree.id(), &[first], &sig, "Second\n\nwith a body");
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "offset {offset}"
            );
        }
    }
}
