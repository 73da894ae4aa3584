//! Staying informed and "this helped me": watches, the inbox of notifications, and helpful marks.
//! They are about people, not content, so they live here and never in the repository.

use crate::{Accounts, USER_COLS, User, all_rows, change_one, db, existing_user, now, user_row};
use casebook_core::{Error, ReadScope, Result};
use rusqlite::{Connection, params};
use std::collections::HashMap;

/// Longest summary kept with a notification, in characters.
const MAX_SUMMARY_CHARS: usize = 200;

casebook_core::word_enum! {
    /// What a watch is on.
    pub enum WatchKind("a watch") { Page = "page", Folder = "folder" }
}

casebook_core::word_enum! {
    /// Why someone is told.
    pub enum NotificationKind("a notification kind") {
        /// A reply in a thread they took part in.
        Reply = "reply",
        /// Their name in a comment.
        Mention = "mention",
        /// An edit of a page they watch.
        Edit = "edit",
        /// A new thread on a page they watch.
        Thread = "thread",
    }
}

/// A notification to be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub kind: NotificationKind,
    /// The page's path.
    pub page: String,
    /// The thread's id, empty for a page edit.
    pub thread: String,
    /// The comment's id, empty when it is about no one comment.
    pub comment: String,
    /// Who acted.
    pub actor: String,
    /// One line saying what happened.
    pub summary: String,
}

/// A notification in someone's inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    /// What happened (its summary as stored: trimmed and shortened).
    pub what: NewNotification,
    /// Seconds since the Unix epoch.
    pub created: i64,
    pub read: bool,
}

fn kind_of(s: &str) -> rusqlite::Result<NotificationKind> {
    s.parse()
        .map_err(|_| rusqlite::Error::InvalidColumnType(1, s.into(), rusqlite::types::Type::Text))
}

/// The folders containing `page`, innermost first, ending with the root (`""`).
fn folders_of(page: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(i) = rest.rfind('/') {
        rest = &rest[..i];
        out.push(rest);
    }
    out.push("");
    out
}

fn user_id(conn: &Connection, name: &str) -> Result<i64> {
    Ok(existing_user(conn, name)?.id)
}

impl Accounts {
    /// Starts watching a page or a folder (`""` is the whole wiki). Watching twice is one watch.
    pub fn watch(&self, name: &str, kind: WatchKind, path: &str) -> Result<()> {
        check_path(path)?;
        let conn = self.conn();
        let id = user_id(&conn, name)?;
        conn.execute(
            "INSERT OR IGNORE INTO watches (user_id, kind, path, created) VALUES (?1, ?2, ?3, ?4)",
            params![id, kind.as_str(), path, now()],
        )
        .map_err(db)?;
        Ok(())
    }

    /// Stops watching; stopping a watch that does not exist is not an error.
    pub fn unwatch(&self, name: &str, kind: WatchKind, path: &str) -> Result<()> {
        let conn = self.conn();
        let id = user_id(&conn, name)?;
        conn.execute(
            "DELETE FROM watches WHERE user_id = ?1 AND kind = ?2 AND path = ?3",
            params![id, kind.as_str(), path],
        )
        .map_err(db)?;
        Ok(())
    }

    /// Whether the account watches exactly this page or folder.
    pub fn is_watching(&self, name: &str, kind: WatchKind, path: &str) -> Result<bool> {
        let conn = self.conn();
        conn.query_row(
            "SELECT count(*) FROM watches w JOIN users u ON u.id = w.user_id \
             WHERE u.name = ?1 AND w.kind = ?2 AND w.path = ?3",
            params![name, kind.as_str(), path],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(db)
    }

    /// The account's watches, by path.
    pub fn watches(&self, name: &str) -> Result<Vec<(WatchKind, String)>> {
        let conn = self.conn();
        let id = user_id(&conn, name)?;
        let rows = all_rows(
            &conn,
            "SELECT kind, path FROM watches WHERE user_id = ?1 ORDER BY path, kind",
            params![id],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )?;
        let mut out = Vec::new();
        for (kind, path) in rows {
            if let Ok(kind) = kind.parse() {
                out.push((kind, path));
            }
        }
        Ok(out)
    }

    /// Everyone watching `page` itself or any folder containing it, each once, by name.
    pub fn watchers(&self, page: &str) -> Result<Vec<User>> {
        let conn = self.conn();
        let folders = folders_of(page);
        let marks = vec!["?"; folders.len()].join(", ");
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE id IN ( \
               SELECT user_id FROM watches WHERE kind = 'page' AND path = ? \
               UNION SELECT user_id FROM watches WHERE kind = 'folder' AND path IN ({marks})) \
             ORDER BY name COLLATE NOCASE"
        );
        let args = std::iter::once(page).chain(folders.iter().copied());
        all_rows(&conn, &sql, rusqlite::params_from_iter(args), user_row)
    }

    /// Puts a notification into the account's inbox.
    pub fn notify(&self, name: &str, n: &NewNotification) -> Result<Notification> {
        let summary = casebook_core::truncate(n.summary.trim(), MAX_SUMMARY_CHARS).to_string();
        let conn = self.conn();
        let id = user_id(&conn, name)?;
        let created = now();
        conn.execute(
            "INSERT INTO notifications (user_id, kind, page, thread, comment, actor, summary, created) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id,
                n.kind.as_str(),
                n.page,
                n.thread,
                n.comment,
                n.actor,
                summary,
                created
            ],
        )
        .map_err(db)?;
        Ok(Notification {
            id: conn.last_insert_rowid(),
            what: NewNotification { summary, ..n.clone() },
            created,
            read: false,
        })
    }

    /// The account's notifications, newest first, at most `limit`.
    pub fn inbox(&self, name: &str, limit: usize) -> Result<Vec<Notification>> {
        let conn = self.conn();
        let id = user_id(&conn, name)?;
        all_rows(
            &conn,
            "SELECT id, kind, page, thread, comment, actor, summary, created, read \
             FROM notifications WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2",
            params![id, limit as i64],
            |r| {
                Ok(Notification {
                    id: r.get(0)?,
                    what: NewNotification {
                        kind: kind_of(&r.get::<_, String>(1)?)?,
                        page: r.get(2)?,
                        thread: r.get(3)?,
                        comment: r.get(4)?,
                        actor: r.get(5)?,
                        summary: r.get(6)?,
                    },
                    created: r.get(7)?,
                    read: r.get::<_, i64>(8)? != 0,
                })
            },
        )
    }

    /// How many of the account's notifications are unread (one indexed count).
    pub fn unread_count(&self, name: &str, scope: &ReadScope) -> Result<usize> {
        let conn = self.conn();
        if scope.is_everything() {
            return conn
                .query_row(
                    "SELECT count(*) FROM notifications WHERE read = 0 AND user_id = \
                     (SELECT id FROM users WHERE name = ?1)",
                    params![name],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n as usize)
                .map_err(db);
        }
        // Filed before a folder was closed to this person: not counted. Only the unread rows
        // are read (the partial index holds just those).
        let mut stmt = conn
            .prepare_cached(
                "SELECT page FROM notifications WHERE read = 0 AND user_id = \
                 (SELECT id FROM users WHERE name = ?1)",
            )
            .map_err(db)?;
        let pages = stmt.query_map(params![name], |r| r.get::<_, String>(0)).map_err(db)?;
        let mut n = 0;
        for page in pages {
            if scope.sees(&page.map_err(db)?) {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Marks one of the account's notifications read (another account's id is not found).
    pub fn mark_read(&self, name: &str, id: i64) -> Result<()> {
        let conn = self.conn();
        let user = user_id(&conn, name)?;
        change_one(
            &conn,
            "UPDATE notifications SET read = 1 WHERE id = ?1 AND user_id = ?2",
            params![id, user],
            || Error::not_found("there is no such notification"),
        )
    }

    /// Marks all the account's notifications read; returns how many were unread.
    pub fn mark_all_read(&self, name: &str) -> Result<usize> {
        let conn = self.conn();
        let user = user_id(&conn, name)?;
        conn.execute(
            "UPDATE notifications SET read = 1 WHERE user_id = ?1 AND read = 0",
            params![user],
        )
        .map_err(db)
    }

    /// Marks (`on`) or unmarks a page (`comment` empty) or one of its comments as helpful to the
    /// account. Marking twice is one mark.
    pub fn set_helpful(&self, name: &str, page: &str, comment: &str, on: bool) -> Result<()> {
        check_path(page)?;
        if comment.len() > 100 || comment.chars().any(char::is_control) {
            return Err(Error::invalid("that is not a comment id"));
        }
        let conn = self.conn();
        let id = user_id(&conn, name)?;
        if on {
            conn.execute(
                "INSERT OR IGNORE INTO helpful (user_id, page, comment, created) VALUES (?1, ?2, ?3, ?4)",
                params![id, page, comment, now()],
            )
        } else {
            conn.execute(
                "DELETE FROM helpful WHERE user_id = ?1 AND page = ?2 AND comment = ?3",
                params![id, page, comment],
            )
        }
        .map_err(db)?;
        Ok(())
    }

    /// What the account marked helpful on a page: comment ids, `""` for the page itself.
    pub fn helpful_marks(&self, name: &str, page: &str) -> Result<Vec<String>> {
        all_rows(
            &self.conn(),
            "SELECT h.comment FROM helpful h JOIN users u ON u.id = h.user_id \
             WHERE u.name = ?1 AND h.page = ?2 ORDER BY h.comment",
            params![name, page],
            |r| r.get::<_, String>(0),
        )
    }

    /// Every helpful count: page → (comment id, `""` for the page itself) → number of people.
    pub fn helpful_counts(&self) -> Result<HashMap<String, HashMap<String, usize>>> {
        let rows = all_rows(
            &self.conn(),
            "SELECT page, comment, count(*) FROM helpful GROUP BY page, comment",
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)),
        )?;
        let mut out: HashMap<String, HashMap<String, usize>> = HashMap::new();
        for (page, comment, n) in rows {
            out.entry(page).or_default().insert(comment, n as usize);
        }
        Ok(out)
    }

    /// Pages by the number of people they helped (marks on the page itself), most first, then
    /// by path; at most `limit`.
    pub fn top_helpful_pages(&self, limit: usize) -> Result<Vec<(String, usize)>> {
        all_rows(
            &self.conn(),
            "SELECT page, count(*) AS n FROM helpful WHERE comment = '' \
             GROUP BY page ORDER BY n DESC, page LIMIT ?1",
            params![limit as i64],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize)),
        )
    }
}

/// A page or folder path as stored: the server parses paths before they come here; this only
/// keeps nonsense out.
fn check_path(path: &str) -> Result<()> {
    if path.len() > 1024 || path.chars().any(char::is_control) || path.starts_with('/') {
        return Err(Error::invalid(format!(
            "'{}' is not a page or folder path",
            casebook_core::truncate(path, 80)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::folders_of;

    #[test]
    fn folders_innermost_first() {
        assert_eq!(folders_of("a/b/c.md"), vec!["a/b", "a", ""]);
        assert_eq!(folders_of("c.md"), vec![""]);
    }
}
