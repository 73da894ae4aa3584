//! Taking part in discussions: starting a thread, replying, editing a comment, resolving and
//! reopening. Each is one commit by the person acting, made only while the page (or the
//! thread) is still there.

use crate::Engine;
use crate::discussions::{
    CommentHead, Status, Thread, ThreadHead, check_body, check_title, new_id, new_id_after,
    same_author, thread_dir, write_file,
};
use casebook_core::{Author, Error, PagePath, ReadScope, Result, Timestamp};
use casebook_store::Change;
use std::sync::Arc;

impl Engine {
    /// Starts a thread on an existing page: one commit with the thread and its first comment.
    pub fn start_thread(
        &self,
        page: &PagePath,
        title: &str,
        body: &str,
        author: &Author,
        scope: &ReadScope,
    ) -> Result<Arc<Thread>> {
        if !scope.sees(page.as_str()) {
            return Err(Error::not_found(format!("there is no page {page}")));
        }
        let title = check_title(title)?;
        let body = check_body(body, self.inner.opts.max_page_bytes)?;
        let now = Timestamp::now();
        let id = new_id(now);
        let first = new_id_after(now, Some(&id));
        let dir = thread_dir(page.as_str(), &id);
        let head = ThreadHead {
            title: title.clone(),
            status: Status::Open,
            author: author.name.clone(),
            email: author.email.clone(),
            created: now.rfc3339(),
        };
        let changes = vec![
            Change::Put { path: format!("{dir}thread.md"), content: write_file(&head, "")? },
            Change::Put {
                path: format!("{dir}{first}.md"),
                content: write_file(&comment_head(author, now), body)?,
            },
        ];
        self.with_writer(|w| {
            let at = w.head()?;
            let exists = match &at {
                Some(h) => w.blob_at(h, &page.file())?.is_some(),
                None => false,
            };
            if !exists {
                return Err(Error::not_found(format!("there is no page {page} to discuss")).into());
            }
            w.commit(&changes, author, &format!("Discuss {page}: {title}"))
        })?;
        self.thread(&id, scope)
    }

    /// Adds a comment to a thread; answers the thread and the new comment's id.
    pub fn reply(
        &self,
        id: &str,
        body: &str,
        author: &Author,
        scope: &ReadScope,
    ) -> Result<(Arc<Thread>, String)> {
        let thread = self.thread(id, scope)?;
        let body = check_body(body, self.inner.opts.max_page_bytes)?;
        let now = Timestamp::now();
        let cid = new_id_after(now, thread.comments.last().map(|c| c.id.as_str()));
        let change = Change::Put {
            path: format!("{}{cid}.md", thread_dir(&thread.page, id)),
            content: write_file(&comment_head(author, now), body)?,
        };
        let message = format!("Reply on {}: {}", thread.page, thread.title);
        self.write_in_thread(&thread, &[change], author, &message)?;
        Ok((self.thread(id, scope)?, cid))
    }

    /// Changes a comment's text. Only its author may, unless `any` (an administrator). The
    /// author is the account, known by its name (unique, case aside); the e-mail address is not
    /// compared, since two accounts may carry the same one (and an address a sign-on provider did
    /// not verify may be anyone's).
    pub fn edit_comment(
        &self,
        id: &str,
        comment: &str,
        body: &str,
        author: &Author,
        any: bool,
        scope: &ReadScope,
    ) -> Result<Arc<Thread>> {
        let thread = self.thread(id, scope)?;
        let old = thread.comments.iter().find(|c| c.id == comment).ok_or_else(|| {
            Error::not_found(format!("there is no comment {comment} in this discussion"))
        })?;
        if !any && !same_author(&old.author, author) {
            return Err(Error::forbidden("only the author of a comment may change it"));
        }
        let body = check_body(body, self.inner.opts.max_page_bytes)?;
        if body == old.markdown.trim() {
            return Ok(thread);
        }
        let change = Change::Put {
            path: format!("{}{comment}.md", thread_dir(&thread.page, id)),
            content: write_file(
                &CommentHead {
                    edited: Some(Timestamp::now().rfc3339()),
                    ..comment_head(&old.author, old.date)
                },
                body,
            )?,
        };
        let message = format!("Edit a comment on {}: {}", thread.page, thread.title);
        self.write_in_thread(&thread, &[change], author, &message)?;
        self.thread(id, scope)
    }

    /// Resolves or reopens a thread.
    pub fn set_thread_status(
        &self,
        id: &str,
        status: Status,
        author: &Author,
        scope: &ReadScope,
    ) -> Result<Arc<Thread>> {
        let thread = self.thread(id, scope)?;
        if thread.status == status {
            return Ok(thread);
        }
        let head = ThreadHead {
            title: thread.title.clone(),
            status,
            author: thread.author.name.clone(),
            email: thread.author.email.clone(),
            created: thread.created.rfc3339(),
        };
        let change = Change::Put {
            path: format!("{}thread.md", thread_dir(&thread.page, id)),
            content: write_file(&head, "")?,
        };
        let verb = match status {
            Status::Open => "Reopen",
            Status::Resolved => "Resolve",
        };
        let message = format!("{verb} the discussion on {}: {}", thread.page, thread.title);
        self.write_in_thread(&thread, &[change], author, &message)?;
        self.thread(id, scope)
    }

    /// Commits `changes` to a thread, provided it is still where it was read.
    fn write_in_thread(
        &self,
        thread: &Thread,
        changes: &[Change],
        author: &Author,
        message: &str,
    ) -> Result<()> {
        let head_file = format!("{}thread.md", thread_dir(&thread.page, &thread.id));
        self.with_writer(|w| {
            let still = match w.head()? {
                Some(h) => w.blob_at(&h, &head_file)?.is_some(),
                None => false,
            };
            if !still {
                return Err(Error::conflict(
                    "the discussion moved or was removed meanwhile; reload the page",
                )
                .into());
            }
            w.commit(changes, author, message)
        })?;
        Ok(())
    }
}

/// A comment's front matter, by `author` at `date`, never edited.
fn comment_head(author: &Author, date: Timestamp) -> CommentHead {
    CommentHead {
        author: author.name.clone(),
        email: author.email.clone(),
        date: date.rfc3339(),
        edited: None,
    }
}
