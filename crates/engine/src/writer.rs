//! The one writer, as the engine uses it: a write is planned and committed with the writer
//! held, planned again when another process moved the branch meanwhile, and the engine catches
//! up with its commits once the writer is free.

use crate::Engine;
use casebook_core::{Error, PagePath, Result};
use casebook_store::CommitError;

/// Times a write is planned again when another process moved the branch between its plan and
/// its commit; then the write fails as a conflict, to be tried again.
const MOVED_BRANCH_RETRIES: usize = 5;

impl Engine {
    /// Runs a planned write with the writer held, planning it again (up to
    /// [`MOVED_BRANCH_RETRIES`] times) when another process moved the branch meanwhile; then
    /// brings the engine's state up to the new head.
    pub(crate) fn with_writer<T>(
        &self,
        mut plan: impl FnMut(&mut casebook_store::Writer<'_>) -> std::result::Result<T, CommitError>,
    ) -> Result<T> {
        let mut retries = 0;
        loop {
            let mut w = self.inner.store.writer();
            match plan(&mut w) {
                Err(CommitError::BranchMoved) if retries < MOVED_BRANCH_RETRIES => {
                    retries += 1;
                    drop(w);
                    continue;
                }
                other => {
                    // The engine catches up with our commits once the writer is free: reading
                    // a changed page for its title takes a while for a large page, and the next
                    // write need not wait for it. The sync lock is taken before the writer
                    // goes, so our commits are applied in order, and a write that plans from
                    // the snapshot waits for them (`caught_up`). A commit landing meanwhile
                    // is caught up with by a tree diff.
                    let committed = w.take_committed();
                    if !committed.is_empty()
                        && let Some(m) = self
                            .inner
                            .maintenance
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .as_ref()
                    {
                        m.committed();
                    }
                    let guard = self.inner.sync.lock().unwrap_or_else(|e| e.into_inner());
                    drop(w);
                    let caught_up = self.advance_by(committed);
                    drop(guard);
                    caught_up?;
                    return other.map_err(Error::from);
                }
            }
        }
    }

    /// Waits until the engine has applied the commits its writer made so far. Called with the
    /// writer held by a write planned from the snapshot (the discussions of a page, the titles
    /// links resolve to).
    pub(crate) fn caught_up(&self) {
        drop(self.inner.sync.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

pub(crate) fn default_message(given: &str, verb: &str, path: &PagePath) -> String {
    let given = given.trim();
    if given.is_empty() { format!("{verb} {path}") } else { given.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;
    use casebook_core::Author;
    use casebook_store::Change;

    fn put(path: &str) -> Vec<Change> {
        vec![Change::Put { path: path.to_string(), content: b"# Retried\n".to_vec() }]
    }

    #[test]
    fn a_write_is_planned_again_when_the_branch_moved() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("wiki.git");
        let engine =
            Engine::open_without_indexing(Options::new(&repo, tmp.path().join("data"))).unwrap();
        let ann = Author::new("Ann", "ann@example.com");
        // Another process moves the branch while the first plan commits: git holds the
        // branch's lock file meanwhile.
        let lock = repo.join("refs/heads/main.lock");
        let mut plans = 0;
        let rev = engine
            .with_writer(|w| {
                plans += 1;
                if plans == 1 {
                    std::fs::write(&lock, "").unwrap();
                }
                let committed = w.commit(&put("Retried.md"), &ann, "Retry");
                let _ = std::fs::remove_file(&lock);
                committed
            })
            .unwrap();
        assert_eq!(plans, 2, "planned again once");
        assert_eq!(engine.head(), Some(rev.clone()));
        assert_eq!(engine.title_of("Retried").as_deref(), Some("Retried"));
        // A branch that keeps moving: the write gives up after its retries, as a conflict to
        // try again, and nothing is committed.
        std::fs::write(&lock, "").unwrap();
        let mut plans = 0;
        let err = engine
            .with_writer(|w| {
                plans += 1;
                w.commit(&put("Never.md"), &ann, "Never")
            })
            .unwrap_err();
        std::fs::remove_file(&lock).unwrap();
        assert_eq!(plans, MOVED_BRANCH_RETRIES + 1);
        assert_eq!(err.kind, casebook_core::ErrorKind::Conflict, "{err}");
        assert_eq!(engine.head(), Some(rev));
        assert_eq!(engine.title_of("Never"), None);
        engine.shutdown();
    }
}
