//! Keeping the repository small: every save leaves a few loose objects (in a folder of many
//! pages, one of them is the folder's whole tree), which git packs (compressed, and each tree
//! as a delta of the one before) when asked. Packing runs `git repack` itself, which is safe
//! beside saves, readers, clones and pushes in flight: it deletes loose objects only once they
//! are in a pack written and synced, and packs only once the pack holding their objects is.

use crate::{Store, git_err};
use casebook_core::{Error, Result};
use std::path::PathBuf;
use std::process::Command;

/// The loose objects of the repository: how many, and their size on disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loose {
    pub count: u64,
    pub bytes: u64,
}

impl Store {
    /// The folder of the repository's objects.
    fn objects_dir(&self) -> Result<PathBuf> {
        self.read(|repo| Ok(repo.path().join("objects")))
    }

    /// Counts the loose objects (reading the 256 folders they are kept in, not the objects).
    pub fn loose_objects(&self) -> Result<Loose> {
        let objects = self.objects_dir()?;
        let mut loose = Loose::default();
        let entries = std::fs::read_dir(&objects)
            .map_err(|e| Error::internal(format!("cannot list {}: {e}", objects.display())))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.len() != 2 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let Ok(files) = std::fs::read_dir(entry.path()) else { continue };
            for file in files.flatten() {
                // Objects only: not the temporary files of writes under way.
                if file.file_name().len() != 38 {
                    continue;
                }
                if let Ok(meta) = file.metadata() {
                    loose.count += 1;
                    loose.bytes += meta.len();
                }
            }
        }
        Ok(loose)
    }

    /// Packs the loose objects with `git repack`, rolling small packs up into larger ones
    /// (`--geometric`), so that neither loose objects nor packs pile up; the largest pack is left
    /// as it is. Runs on one thread at a low priority: saves go first.
    pub fn pack(&self) -> Result<()> {
        let gitdir = self.read(|repo| Ok(repo.path().to_path_buf()))?;
        let args = [
            "-c",
            "pack.threads=1",
            "-c",
            "repack.writeBitmaps=false",
            "repack",
            "-d",
            "-q",
            "--geometric=2",
        ];
        let run = |mut cmd: Command| {
            cmd.arg("-C").arg(&gitdir).args(args).env_remove("GIT_DIR");
            // A process group of its own: a signal to Casebook's group (Ctrl-C in a
            // terminal, a supervisor stopping the service) leaves the packing to finish, as
            // Casebook waits for it when it stops, rather than half done.
            #[cfg(unix)]
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            cmd.output()
        };
        // `nice` lowers the priority where it exists; git alone otherwise.
        let mut niced = Command::new("nice");
        niced.args(["-n", "10", "git"]);
        let out = match run(niced) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => run(Command::new("git")),
            other => other,
        }
        .map_err(|e| Error::unavailable(format!("cannot run git to pack the repository: {e}")))?;
        if !out.status.success() {
            return Err(Error::internal(format!(
                "git repack failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        // libgit2 finds the new packs when it misses an object; telling it now spares the miss.
        self.read(|repo| {
            repo.odb().and_then(|o| o.refresh()).map_err(git_err("cannot reread the packs"))
        })
    }
}

/// Runs a write of git objects again (twice at the most) when it failed on the file system:
/// `git repack`, packing in the background, removes the loose-object folders it empties, and
/// libgit2, unlike git, does not try again when one goes between its making the folder and its
/// moving the new object there. Any other such failure fails again and is reported then.
pub(crate) fn retry_vanished<T>(
    mut write: impl FnMut() -> std::result::Result<T, git2::Error>,
) -> std::result::Result<T, git2::Error> {
    let mut tries = 0;
    loop {
        match write() {
            Err(e) if tries < 2 && e.class() == git2::ErrorClass::Os => tries += 1,
            other => return other,
        }
    }
}
