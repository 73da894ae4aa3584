//! Deleting and moving pages: each one commit, with the page's discussions and attachments, and
//! for a move the links to it rewritten in the pages the mover sees.

use crate::Engine;
use crate::writer::default_message;
use casebook_core::{Author, Error, PagePath, ReadScope, Result, Revision};
use casebook_store::Change;
use serde::Serialize;

/// What a move did.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    pub revision: Revision,
    /// Pages whose links to the moved page were rewritten.
    pub updated_pages: Vec<String>,
}

impl Engine {
    /// Deletes a page. With `base`, refuses (conflict) when the page changed since.
    pub fn delete(
        &self,
        path: &PagePath,
        base: Option<&Revision>,
        author: &Author,
        message: &str,
    ) -> Result<Revision> {
        let file = path.file();
        self.with_writer(|w| {
            self.caught_up();
            let head = w.head()?.ok_or_else(|| Error::not_found(format!("there is no page {path}")))?;
            let current = w.blob_at(&head, &file)?.ok_or_else(|| Error::not_found(format!("there is no page {path}")))?;
            if let Some(base) = base {
                let base_blob = w.blob_at(base, &file).map_err(|e| Error::invalid(format!("the base revision is not in this wiki ({})", e.message)))?;
                if base_blob != Some(current) {
                    return Err(Error::conflict(format!(
                        "{path} changed since revision {}; look at the new version before deleting it",
                        base.short()
                    )).into());
                }
            }
            let message = default_message(message, "Delete", path);
            // The page's discussions and attachments go with it (git history keeps them).
            let mut changes = vec![Change::Delete { path: file.clone() }];
            changes.extend(self.discussion_changes(path, None));
            changes.extend(Engine::attachment_changes(w, &head, path, None)?);
            w.commit(&changes, author, &message)
        })
    }

    /// Moves (renames) a page; its history follows. With `update_links`, every link to it in
    /// the other pages `scope` sees is rewritten in the same commit (links inside code are left
    /// alone); a page the mover may not read is never written nor named, and its links keep
    /// leading to the page through [`Engine::moved_to`].
    pub fn move_page(
        &self,
        from: &PagePath,
        to: &PagePath,
        update_links: bool,
        scope: &ReadScope,
        author: &Author,
        message: &str,
    ) -> Result<Moved> {
        if from == to {
            return Err(Error::invalid("the page is already there"));
        }
        if update_links {
            // Backlinks come from the index: make sure it has every commit so far.
            self.wait_indexed();
        }
        let linking: Vec<String> = if update_links {
            // Only pages the mover may read are rewritten (and named in the answer); links
            // from the others keep the old path, which leads to the page's new place
            // (`moved_to`).
            self.backlinks(from, scope)?
                .into_iter()
                .map(|b| b.path)
                .filter(|p| p != from.as_str())
                .collect()
        } else {
            Vec::new()
        };
        let mut updated = Vec::new();
        let max = self.inner.opts.max_page_bytes;
        let revision = self.with_writer(|w| {
            self.caught_up();
            updated.clear();
            let head =
                w.head()?.ok_or_else(|| Error::not_found(format!("there is no page {from}")))?;
            if w.blob_at(&head, &from.file())?.is_none() {
                return Err(Error::not_found(format!("there is no page {from}")).into());
            }
            if w.blob_at(&head, &to.file())?.is_some() {
                return Err(Error::conflict(format!("a page {to} exists already")).into());
            }
            let mut changes = vec![Change::Move { from: from.file(), to: to.file() }];
            changes.extend(self.discussion_changes(from, Some(to)));
            let attachments = Engine::attachment_changes(w, &head, from, Some(to))?;
            if !attachments.is_empty()
                && !w.files_in(&head, &to.attachments_folder(), true)?.is_empty()
            {
                return Err(Error::conflict(format!(
                    "there are files in {} already; move or remove them first",
                    to.attachments_folder()
                ))
                .into());
            }
            changes.extend(attachments);
            for path in &linking {
                // A page over the limit is left as it is: it is never read.
                let bytes = match w.read(&head, &format!("{path}.md"), max) {
                    Ok(Some(bytes)) => bytes,
                    Ok(None) => continue,
                    Err(e) if e.kind == casebook_core::ErrorKind::TooLarge => continue,
                    Err(e) => return Err(e.into()),
                };
                let source = String::from_utf8_lossy(&bytes);
                let snap = self.snapshot();
                if let Some(new) = casebook_markdown::rewrite_links(
                    &source,
                    path,
                    &*snap,
                    from.as_str(),
                    to.as_str(),
                ) && new.len() <= max
                {
                    // (A page the longer link would take over the limit keeps the old link,
                    // which still leads here through the move.)
                    changes.push(Change::Put {
                        path: format!("{path}.md"),
                        content: new.into_bytes(),
                    });
                    updated.push(path.clone());
                }
            }
            let message = if message.trim().is_empty() {
                match updated.len() {
                    0 => format!("Move {from} to {to}"),
                    n => format!(
                        "Move {from} to {to} and update links in {n} page{}",
                        if n == 1 { "" } else { "s" }
                    ),
                }
            } else {
                message.to_string()
            };
            w.commit(&changes, author, &message)
        })?;
        Ok(Moved { revision, updated_pages: updated })
    }
}
