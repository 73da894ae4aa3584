//! The schema, versioned with SQLite's `user_version`: migration N brings a database from
//! version N to N + 1, in one transaction. Add new migrations at the end; never edit old ones.

use crate::db;
use casebook_core::{Error, Result};
use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: users, API tokens, sessions.
    "CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        email TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('reader', 'editor', 'admin')),
        password_hash TEXT,
        created INTEGER NOT NULL
     );
     CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        hash BLOB NOT NULL UNIQUE,
        created INTEGER NOT NULL,
        last_used INTEGER
     );
     CREATE INDEX tokens_user ON tokens (user_id);
     CREATE TABLE sessions (
        hash BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created INTEGER NOT NULL,
        expires INTEGER NOT NULL
     );
     CREATE INDEX sessions_user ON sessions (user_id);",
    // 2: watches, notifications, helpful marks.
    "CREATE TABLE watches (
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('page', 'folder')),
        path TEXT NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (user_id, kind, path)
     );
     CREATE INDEX watches_path ON watches (kind, path);
     CREATE TABLE notifications (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('reply', 'mention', 'edit', 'thread')),
        page TEXT NOT NULL,
        thread TEXT NOT NULL DEFAULT '',
        comment TEXT NOT NULL DEFAULT '',
        actor TEXT NOT NULL,
        summary TEXT NOT NULL,
        created INTEGER NOT NULL,
        read INTEGER NOT NULL DEFAULT 0
     );
     CREATE INDEX notifications_user ON notifications (user_id, id);
     CREATE INDEX notifications_unread ON notifications (user_id) WHERE read = 0;
     CREATE TABLE helpful (
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        page TEXT NOT NULL,
        comment TEXT NOT NULL DEFAULT '',
        created INTEGER NOT NULL,
        PRIMARY KEY (user_id, page, comment)
     );
     CREATE INDEX helpful_page ON helpful (page, comment);",
    // 3: groups, folder read rules, and sign-on identities from an OpenID Connect provider.
    "CREATE TABLE groups (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created INTEGER NOT NULL
     );
     CREATE TABLE group_members (
        group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, user_id)
     );
     CREATE INDEX group_members_user ON group_members (user_id);
     CREATE TABLE folder_rules (
        folder TEXT PRIMARY KEY COLLATE NOCASE,
        created INTEGER NOT NULL
     );
     CREATE TABLE folder_readers (
        folder TEXT NOT NULL REFERENCES folder_rules (folder) ON DELETE CASCADE,
        group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        PRIMARY KEY (folder, group_id)
     );
     CREATE TABLE identities (
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created INTEGER NOT NULL,
        PRIMARY KEY (issuer, subject)
     );
     CREATE INDEX identities_user ON identities (user_id);",
];

/// The version this build writes.
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let tx =
        conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(db)?;
    if version > VERSION {
        return Err(Error::invalid(format!(
            "its schema version is {version}, newer than this Casebook knows ({VERSION}); run a newer Casebook"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).map_err(db)?;
        tx.pragma_update(None, "user_version", i as i64 + 1).map_err(db)?;
    }
    tx.commit().map_err(db)
}
