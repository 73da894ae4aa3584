//! The index folder as tantivy sees it: memory-mapped, except the stored documents.
//!
//! A mapped page that has been read stays in the server's resident memory until its file is
//! closed, and the kernel maps the cached pages around each one read as well (fault-around,
//! 64 KiB by default, whatever the advice). The stored documents are most of an index (the text
//! of every page, for snippets) and are read a block here and there for each hit, so a server
//! that had answered a few hundred searches held a third of its stores in its own memory. They
//! are read with positioned reads instead: a hit costs a copy of its block (a few KiB) and the
//! kernel's cache keeps the rest, shared and reclaimable, outside the server's memory.
//!
//! Everything else (term dictionaries, postings, columns) stays mapped: those are read often, in
//! small pieces, and are a fraction of the size.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Advice, Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, OwnedBytes, WatchCallback,
    WatchHandle, WritePtr,
};

/// Reads larger than this go through the map: they copy whole stores when segments are
/// merged, and are better streamed by the kernel than copied into memory at once.
const READ_LIMIT: usize = 1 << 20;

#[derive(Clone)]
pub(crate) struct IndexDir {
    root: PathBuf,
    mapped: MmapDirectory,
}

impl fmt::Debug for IndexDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IndexDir({})", self.root.display())
    }
}

impl IndexDir {
    /// Opens the index folder. Mapped files get random advice: a search reads a few blocks
    /// here and there, and read-ahead would only fill memory with the rest.
    pub(crate) fn open(root: &Path) -> casebook_core::Result<IndexDir> {
        let mapped = MmapDirectory::open_with_madvice(root, Advice::Random).map_err(|e| {
            casebook_core::Error::unavailable(format!(
                "cannot open the index folder {}: {e}",
                root.display()
            ))
        })?;
        Ok(IndexDir { root: root.to_path_buf(), mapped })
    }
}

fn is_store(path: &Path) -> bool {
    cfg!(unix) && path.extension().is_some_and(|e| e == "store")
}

impl Directory for IndexDir {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        if !is_store(path) {
            return self.mapped.get_file_handle(path);
        }
        let full = self.root.join(path);
        let file = std::fs::File::open(&full).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => OpenReadError::FileDoesNotExist(path.to_path_buf()),
            _ => OpenReadError::wrap_io_error(e, path.to_path_buf()),
        })?;
        let len =
            file.metadata().map_err(|e| OpenReadError::wrap_io_error(e, path.to_path_buf()))?.len()
                as usize;
        Ok(Arc::new(ReadFile { path: path.to_path_buf(), file, len, mapped: self.mapped.clone() }))
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.mapped.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.mapped.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.mapped.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.mapped.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.mapped.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.mapped.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.mapped.acquire_lock(lock)
    }

    fn watch(&self, callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.mapped.watch(callback)
    }
}

/// A file read with positioned reads (index files are written once and never change).
struct ReadFile {
    path: PathBuf,
    file: std::fs::File,
    len: usize,
    mapped: MmapDirectory,
}

impl fmt::Debug for ReadFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReadFile({})", self.path.display())
    }
}

impl tantivy::HasLen for ReadFile {
    fn len(&self) -> usize {
        self.len
    }
}

impl FileHandle for ReadFile {
    fn read_bytes(&self, range: Range<usize>) -> io::Result<OwnedBytes> {
        if range.end > self.len || range.start > range.end {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} bytes {range:?} asked of a file of {} bytes",
                    self.path.display(),
                    self.len
                ),
            ));
        }
        if range.len() > READ_LIMIT {
            // The map is dropped with the bytes (and its pages leave the server's memory then):
            // the directory keeps only a weak reference to it.
            let mapped = self.mapped.get_file_handle(&self.path).map_err(io::Error::other)?;
            return mapped.read_bytes(range);
        }
        let mut buf = vec![0u8; range.len()];
        read_at(&self.file, &mut buf, range.start as u64)?;
        Ok(OwnedBytes::new(buf))
    }
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(_: &std::fs::File, _: &mut [u8], _: u64) -> io::Result<()> {
    // `is_store` sends every file to the map on other systems.
    Err(io::Error::other("positioned reads are not supported here"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tantivy::directory::TerminatingWrite;

    /// A store file reads the same through positioned reads (small ranges) and through the map
    /// (ranges over the limit), and a range past its end is an error, not a panic.
    #[test]
    fn a_store_reads_alike_both_ways() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = IndexDir::open(tmp.path()).unwrap();
        let data: Vec<u8> = (0..READ_LIMIT * 3).map(|i| (i * 7 % 251) as u8).collect();
        let path = Path::new("seg.store");
        let mut w = dir.open_write(path).unwrap();
        w.write_all(&data).unwrap();
        w.terminate().unwrap();

        let handle = dir.get_file_handle(path).unwrap();
        assert!(format!("{handle:?}").starts_with("ReadFile"));
        assert_eq!(handle.len(), data.len());
        for range in [0..10, 4096..8192, 5..5, 0..READ_LIMIT, 1..READ_LIMIT * 3] {
            let got = handle.read_bytes(range.clone()).unwrap();
            assert_eq!(got.as_slice(), &data[range]);
        }
        assert!(handle.read_bytes(0..data.len() + 1).is_err());

        // Other files are mapped as tantivy does it.
        let other = Path::new("seg.term");
        let mut w = dir.open_write(other).unwrap();
        w.write_all(b"terms").unwrap();
        w.terminate().unwrap();
        let handle = dir.get_file_handle(other).unwrap();
        assert_eq!(handle.read_bytes(0..5).unwrap().as_slice(), b"terms");
    }
}
