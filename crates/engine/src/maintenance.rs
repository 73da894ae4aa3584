//! The maintenance thread: packs the repository's loose objects in the background, so that a
//! wiki saved to all day stays small on disk and quick to read. Woken by every commit the
//! engine makes, it packs at once when loose objects pile up (a burst of saves in a wide folder
//! leaves megabytes each), and otherwise once the saves pause.

use crate::Inner;
use casebook_store::Loose;
use std::sync::Weak;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Loose objects that are packed at once, during a burst of saves.
const PACK_NOW: Loose = Loose { count: 2_000, bytes: 48 << 20 };
/// Loose objects that are packed once the saves pause for [`QUIET`].
const PACK_WHEN_QUIET: Loose = Loose { count: 100, bytes: 4 << 20 };
const QUIET: Duration = Duration::from_secs(3);
/// Counting loose objects reads 256 folders: not more often than this during a burst.
const COUNT_EVERY: Duration = Duration::from_secs(1);

enum Msg {
    Committed,
    Stop,
}

pub(crate) struct Maintenance {
    tx: Sender<Msg>,
    thread: JoinHandle<()>,
}

impl Maintenance {
    pub(crate) fn start(inner: Weak<Inner>) -> Maintenance {
        let (tx, rx) = channel();
        let thread = crate::in_background_thread("casebook-maintenance", move || run(inner, rx));
        Maintenance { tx, thread }
    }

    /// Tells the thread that a commit was made.
    pub(crate) fn committed(&self) {
        let _ = self.tx.send(Msg::Committed);
    }

    /// Stops the thread, after the packing under way if any.
    pub(crate) fn stop(self) {
        let _ = self.tx.send(Msg::Stop);
        let _ = self.thread.join();
    }
}

fn over(loose: Loose, limit: Loose) -> bool {
    loose.count >= limit.count || loose.bytes >= limit.bytes
}

fn run(inner: Weak<Inner>, rx: Receiver<Msg>) {
    // What an earlier run left loose is looked at once the start is over.
    let mut dirty = true;
    let mut counted = Instant::now();
    loop {
        let msg = if dirty {
            rx.recv_timeout(QUIET)
        } else {
            rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        let quiet = match msg {
            Ok(Msg::Committed) => {
                dirty = true;
                if counted.elapsed() < COUNT_EVERY {
                    continue;
                }
                false
            }
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => true,
        };
        let Some(inner) = inner.upgrade() else { return };
        counted = Instant::now();
        let loose = match inner.store.loose_objects() {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot count the repository's loose objects");
                dirty = false;
                continue;
            }
        };
        if quiet {
            dirty = false;
        }
        if over(loose, PACK_NOW) || (quiet && over(loose, PACK_WHEN_QUIET)) {
            let started = Instant::now();
            match inner.store.pack() {
                Ok(()) => tracing::info!(
                    objects = loose.count,
                    megabytes = loose.bytes >> 20,
                    took_ms = started.elapsed().as_millis() as u64,
                    "packed the repository's loose objects"
                ),
                Err(e) => tracing::warn!(error = %e, "cannot pack the repository"),
            }
        }
    }
}
