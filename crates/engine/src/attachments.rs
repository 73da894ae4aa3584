//! A page's attachments: the files of its folder `<page>.files/`, beside the page's own file.
//! Listing them, and adding, replacing or removing one, each change one commit through the one
//! writer. A move or delete of the page carries the folder along (`write.rs`).

use crate::Engine;
use casebook_core::{AttachmentName, Author, Error, PagePath, ReadScope, Result, Revision};
use casebook_store::Change;
use serde::Serialize;

/// One attachment of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentInfo {
    /// The file's name in the page's attachments folder.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its blob id (hex): what its content is, for cache validators.
    pub blob: String,
}

/// What putting an attachment did.
#[derive(Debug, Clone, Serialize)]
pub struct Attached {
    /// The commit that put it, or the head when the same content was there already.
    pub revision: Revision,
    /// True when there was no attachment of that name before.
    pub created: bool,
    /// True when the same content was there already: nothing was committed.
    pub unchanged: bool,
    pub attachment: AttachmentInfo,
}

impl Engine {
    /// The largest attachment accepted, in bytes.
    pub fn max_attachment_bytes(&self) -> usize {
        self.inner.opts.max_attachment_bytes
    }

    /// The attachments of a page the reader sees, by name. A page that does not exist (or is
    /// hidden from the reader) is not found. Files below a subfolder of the attachments folder
    /// (made outside Casebook) and `.md` files there (pages) are not attachments.
    pub fn attachments(&self, page: &PagePath, scope: &ReadScope) -> Result<Vec<AttachmentInfo>> {
        if !self.exists(page, scope) {
            return Err(Error::not_found(format!("there is no page {page}")));
        }
        // From the engine's picture of the head, not the repository's trees: a page view lists
        // its attachments, and reading the tree of a folder of many pages costs milliseconds.
        let prefix = format!("{}/", page.attachments_folder());
        let files: Vec<(String, casebook_store::BlobId)> = {
            let snap = self.snapshot();
            snap.files
                .range(prefix.clone()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
                .filter(|(p, _)| {
                    let name = &p[prefix.len()..];
                    !name.contains('/') && !name.to_lowercase().ends_with(".md") && scope.sees(p)
                })
                .map(|(p, b)| (p[prefix.len()..].to_string(), *b))
                .collect()
        };
        files
            .into_iter()
            .map(|(name, blob)| {
                let size = self.inner.store.blob_size(blob)?;
                Ok(AttachmentInfo { name, size, blob: blob.hex() })
            })
            .collect()
    }

    /// Puts `content` as the page's attachment `name`, replacing one of that name, in one
    /// commit by `author`. The page must exist; content over `max_attachment_bytes` is refused.
    /// The same content as the attachment's commits nothing.
    pub fn put_attachment(
        &self,
        page: &PagePath,
        name: &AttachmentName,
        content: Vec<u8>,
        author: &Author,
    ) -> Result<Attached> {
        let max = self.max_attachment_bytes();
        if content.len() > max {
            return Err(too_large_attachment(max));
        }
        let file = page.attachment_file(name);
        let size = content.len() as u64;
        // The blob is written before the writer is taken, so the commit only hashes it.
        let blob = self.inner.store.write_blob(&content)?;
        let info = AttachmentInfo { name: name.to_string(), size, blob: blob.hex() };
        let changes = [Change::Put { path: file.clone(), content }];
        let mut created = false;
        let mut unchanged = false;
        let revision = self.with_writer(|w| {
            let head = w.head()?.ok_or_else(|| no_page(page))?;
            if w.blob_at(&head, &page.file())?.is_none() {
                return Err(no_page(page).into());
            }
            let old = w.blob_at(&head, &file)?;
            created = old.is_none();
            unchanged = old == Some(blob);
            if unchanged {
                return Ok(head);
            }
            let verb = if created { "Attach" } else { "Replace" };
            w.commit(&changes, author, &format!("{verb} {name} on {page}"))
        })?;
        Ok(Attached { revision, created, unchanged, attachment: info })
    }

    /// Removes the page's attachment `name` in one commit by `author`.
    pub fn delete_attachment(
        &self,
        page: &PagePath,
        name: &AttachmentName,
        author: &Author,
    ) -> Result<Revision> {
        let file = page.attachment_file(name);
        self.with_writer(|w| {
            let head = w.head()?.ok_or_else(|| no_page(page))?;
            if w.blob_at(&head, &page.file())?.is_none() {
                return Err(no_page(page).into());
            }
            if w.blob_at(&head, &file)?.is_none() {
                return Err(Error::not_found(format!("{page} has no attachment {name}")).into());
            }
            w.commit(
                &[Change::Delete { path: file.clone() }],
                author,
                &format!("Remove {name} from {page}"),
            )
        })
    }

    /// The changes that carry a page's attachments folder (every file in it, at any depth) to
    /// the page's new place, or remove it with the page (`to = None`), read at `head` with the
    /// writer held.
    pub(crate) fn attachment_changes(
        w: &casebook_store::Writer<'_>,
        head: &Revision,
        from: &PagePath,
        to: Option<&PagePath>,
    ) -> Result<Vec<Change>> {
        let old = from.attachments_folder();
        Ok(w.files_in(head, &old, true)?
            .into_iter()
            .map(|f| match to {
                Some(to) => Change::Move {
                    to: format!("{}{}", to.attachments_folder(), &f.path[old.len()..]),
                    from: f.path,
                },
                None => Change::Delete { path: f.path },
            })
            .collect())
    }
}

fn no_page(page: &PagePath) -> Error {
    Error::not_found(format!("there is no page {page}"))
}

/// The error for content over the attachment limit; it names the setting.
pub(crate) fn too_large_attachment(max: usize) -> Error {
    Error::too_large(format!(
        "the file is larger than this wiki accepts: at most {max} bytes (max_attachment_bytes)"
    ))
}
