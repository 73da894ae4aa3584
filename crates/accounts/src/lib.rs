#![doc = include_str!("../README.md")]

mod access;
mod audience;
mod notify;
mod schema;
mod secret;

pub use access::{FolderRule, Group};
pub use audience::{CommentEvent, Event, What};
pub use notify::{NewNotification, Notification, NotificationKind, WatchKind};

pub use secret::{csrf_token, new_secret};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use casebook_core::{Author, Error, Result};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The file name of the accounts database inside the data dir.
pub const FILE_NAME: &str = "accounts.db";

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (hashing is costly; nobody types more).
pub const MAX_PASSWORD_BYTES: usize = 1024;

casebook_core::word_enum! {
    /// What an account may do.
    #[derive(PartialOrd, Ord)]
    pub enum Role("a role") { Reader = "reader", Editor = "editor", Admin = "admin" }
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// Seconds since the Unix epoch.
    pub created: i64,
}

impl User {
    /// The git author of this account's commits.
    pub fn author(&self) -> Author {
        Author::new(&self.name, &self.email)
    }
}

/// An API token as listed (its secret is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub label: String,
    pub created: i64,
    pub last_used: Option<i64>,
}

/// A session just created: the secret goes into the cookie and nowhere else.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub secret: String,
    /// Seconds since the Unix epoch.
    pub expires: i64,
}

/// The accounts database: users, API tokens and sessions in one SQLite file (mode 0600) in the
/// data dir. Safe to share between threads; every call is a short transaction.
pub struct Accounts {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").field("path", &self.path).finish()
    }
}

pub(crate) fn db(e: rusqlite::Error) -> Error {
    Error::internal(format!("the accounts database failed: {e}"))
}

/// Runs `sql`, which must change a row: when it changes none, the error is `missing()`.
pub(crate) fn change_one(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    missing: impl FnOnce() -> Error,
) -> Result<()> {
    match conn.execute(sql, params).map_err(db)? {
        0 => Err(missing()),
        _ => Ok(()),
    }
}

/// Every row `sql` selects, each made into a `T` by `row`.
pub(crate) fn all_rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let rows = stmt.query_map(params, row).map_err(db)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
}

pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A user name: 1 to 64 letters, digits, `.`, `-` or `_`, starting with a letter or digit.
/// Unique regardless of case.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name.chars().next().is_some_and(|c| c.is_alphanumeric())
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
    accept_if(
        ok,
        name,
        "a valid user name: use 1 to 64 letters, digits, '.', '-' or '_', starting with a letter or digit",
    )
}

/// An email address as it goes into a git author line: one `@` with text on both sides, no
/// spaces, angle brackets or control characters.
pub fn check_email(email: &str) -> Result<()> {
    let ok = email.len() <= 254
        && email.split('@').count() == 2
        && email.split('@').all(|p| !p.is_empty())
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ','));
    accept_if(ok, email, "a valid email address")
}

/// `Ok` when the check passed, else an error that `input` (cut short) is not `what`.
fn accept_if(ok: bool, input: &str, what: &str) -> Result<()> {
    if ok {
        return Ok(());
    }
    Err(Error::invalid(format!("'{}' is not {what}", casebook_core::truncate(input, 80))))
}

pub fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid(format!(
            "a password may have at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

fn hash_password(password: &str) -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::internal(format!("no randomness for a password salt: {e}")))?;
    let salt = SaltString::encode_b64(&bytes)
        .map_err(|e| Error::internal(format!("cannot encode a password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("cannot hash the password: {e}")))
}

/// A hash of nothing anybody knows, verified against when the account does not exist so that a
/// missing account takes as long to refuse as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&new_secret()).unwrap_or_default())
}

fn verify(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

fn role_of(s: &str) -> rusqlite::Result<Role> {
    s.parse()
        .map_err(|_| rusqlite::Error::InvalidColumnType(0, s.into(), rusqlite::types::Type::Text))
}

fn user_row(r: &rusqlite::Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
        role: role_of(&r.get::<_, String>(3)?)?,
        created: r.get(4)?,
    })
}

const USER_COLS: &str = "id, name, email, role, created";

impl Accounts {
    /// Opens (creating if needed) `accounts.db` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Accounts> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            Error::internal(format!("cannot create the data folder {}: {e}", data_dir.display()))
        })?;
        Accounts::open_file(&data_dir.join(FILE_NAME))
    }

    /// Opens (creating if needed) the database at `path`, readable and writable by its owner
    /// only, and brings its schema up to date.
    pub fn open_file(path: &Path) -> Result<Accounts> {
        secret::create_private(path)?;
        let conn = Connection::open(path).map_err(|e| {
            Error::internal(format!("cannot open the accounts database {}: {e}", path.display()))
        })?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(db)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;").map_err(db)?;
        let mut conn = conn;
        schema::migrate(&mut conn)
            .map_err(|e| e.context(format!("the accounts database {}", path.display())))?;
        Ok(Accounts { conn: Mutex::new(conn), path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds an account. The name must be new (ignoring case).
    pub fn add_user(&self, name: &str, email: &str, role: Role, password: &str) -> Result<User> {
        check_name(name)?;
        check_email(email)?;
        check_password(password)?;
        let hash = hash_password(password)?;
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        insert_user(&tx, name, email, role, &hash)?;
        let user = find_user(&tx, name)?.ok_or_else(|| Error::internal("the new user vanished"))?;
        tx.commit().map_err(db)?;
        Ok(user)
    }

    /// Adds the first administrator, only while there is none (the setup page).
    pub fn add_first_admin(&self, name: &str, email: &str, password: &str) -> Result<User> {
        check_name(name)?;
        check_email(email)?;
        check_password(password)?;
        let hash = hash_password(password)?;
        let mut conn = self.conn();
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
        if count_admins(&tx)? > 0 {
            return Err(Error::conflict("an administrator exists already; sign in instead"));
        }
        insert_user(&tx, name, email, Role::Admin, &hash)?;
        let user = find_user(&tx, name)?.ok_or_else(|| Error::internal("the new user vanished"))?;
        tx.commit().map_err(db)?;
        Ok(user)
    }

    pub fn user(&self, name: &str) -> Result<Option<User>> {
        find_user(&self.conn(), name)
    }

    /// The account named `name`, or a not-found error saying so.
    pub fn require_user(&self, name: &str) -> Result<User> {
        self.user(name)?.ok_or_else(|| no_user(name))
    }

    /// Every account, by name.
    pub fn users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users ORDER BY name COLLATE NOCASE");
        all_rows(&self.conn(), &sql, [], user_row)
    }

    pub fn has_admin(&self) -> Result<bool> {
        Ok(count_admins(&self.conn())? > 0)
    }

    /// Changes an account's role. The last administrator cannot be demoted.
    pub fn set_role(&self, name: &str, role: Role) -> Result<User> {
        let mut conn = self.conn();
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
        let user = existing_user(&tx, name)?;
        if user.role == Role::Admin && role != Role::Admin && count_admins(&tx)? <= 1 {
            return Err(Error::conflict(format!(
                "{} is the only administrator; make someone else an administrator first",
                user.name
            )));
        }
        tx.execute("UPDATE users SET role = ?1 WHERE id = ?2", params![role.as_str(), user.id])
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(User { role, ..user })
    }

    /// Removes an account with its tokens and sessions (its commits keep its name). The last
    /// administrator cannot be removed.
    pub fn remove_user(&self, name: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
        let user = existing_user(&tx, name)?;
        if user.role == Role::Admin && count_admins(&tx)? <= 1 {
            return Err(Error::conflict(format!(
                "{} is the only administrator; make someone else an administrator first",
                user.name
            )));
        }
        tx.execute("DELETE FROM users WHERE id = ?1", params![user.id]).map_err(db)?;
        tx.commit().map_err(db)
    }

    /// Sets a new password and ends every session of the account.
    pub fn set_password(&self, name: &str, password: &str) -> Result<()> {
        check_password(password)?;
        let hash = hash_password(password)?;
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let user = existing_user(&tx, name)?;
        tx.execute("UPDATE users SET password_hash = ?1 WHERE id = ?2", params![hash, user.id])
            .map_err(db)?;
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", params![user.id]).map_err(db)?;
        tx.commit().map_err(db)
    }

    /// The account if `password` is its password. Takes about as long whether or not the
    /// account exists. Slow by design (argon2id): call it off any async runtime.
    pub fn check_password(&self, name: &str, password: &str) -> Result<Option<User>> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(None);
        }
        let found = {
            let conn = self.conn();
            conn.query_row(
                &format!("SELECT {USER_COLS}, password_hash FROM users WHERE name = ?1"),
                params![name],
                |r| Ok((user_row(r)?, r.get::<_, Option<String>>(5)?)),
            )
            .optional()
            .map_err(db)?
        };
        match found {
            Some((user, Some(hash))) if verify(password, &hash) => Ok(Some(user)),
            Some(_) => Ok(None),
            None => {
                verify(password, dummy_hash());
                Ok(None)
            }
        }
    }

    /// Creates an API token for the account; the returned secret is shown once and never
    /// stored (only its SHA-256 is).
    pub fn create_token(&self, name: &str, label: &str) -> Result<(TokenInfo, String)> {
        let label = label.trim();
        if label.chars().count() > 100 || label.chars().any(char::is_control) {
            return Err(Error::invalid(
                "a token's label has at most 100 characters and no control characters",
            ));
        }
        let secret = format!("cbt_{}", new_secret());
        let conn = self.conn();
        let user = existing_user(&conn, name)?;
        let created = now();
        conn.execute(
            "INSERT INTO tokens (user_id, label, hash, created) VALUES (?1, ?2, ?3, ?4)",
            params![user.id, label, secret::digest(&secret).as_slice(), created],
        )
        .map_err(db)?;
        let info = TokenInfo {
            id: conn.last_insert_rowid(),
            label: label.to_string(),
            created,
            last_used: None,
        };
        Ok((info, secret))
    }

    /// The account's tokens, newest first.
    pub fn tokens(&self, name: &str) -> Result<Vec<TokenInfo>> {
        let conn = self.conn();
        let user = existing_user(&conn, name)?;
        all_rows(
            &conn,
            "SELECT id, label, created, last_used FROM tokens WHERE user_id = ?1 ORDER BY id DESC",
            params![user.id],
            |r| {
                Ok(TokenInfo {
                    id: r.get(0)?,
                    label: r.get(1)?,
                    created: r.get(2)?,
                    last_used: r.get(3)?,
                })
            },
        )
    }

    /// Revokes one of the account's tokens (only its own: another account's id is not found).
    pub fn revoke_token(&self, name: &str, id: i64) -> Result<()> {
        let conn = self.conn();
        let user = existing_user(&conn, name)?;
        change_one(
            &conn,
            "DELETE FROM tokens WHERE id = ?1 AND user_id = ?2",
            params![id, user.id],
            || Error::not_found("there is no such token"),
        )
    }

    /// The account an API token belongs to, if the token is valid.
    pub fn token_user(&self, token: &str) -> Result<Option<User>> {
        if !token.starts_with("cbt_") || token.len() > 200 {
            return Ok(None);
        }
        let conn = self.conn();
        let hash = secret::digest(token);
        let found = conn
            .query_row(
                "SELECT u.id, u.name, u.email, u.role, u.created, t.id FROM tokens t \
                 JOIN users u ON u.id = t.user_id WHERE t.hash = ?1",
                params![hash.as_slice()],
                |r| Ok((user_row(r)?, r.get::<_, i64>(5)?)),
            )
            .optional()
            .map_err(db)?;
        let Some((user, token_id)) = found else {
            return Ok(None);
        };
        // Noted at most once an hour, so that using a token rarely writes.
        let t = now();
        conn.execute(
            "UPDATE tokens SET last_used = ?1 WHERE id = ?2 AND (last_used IS NULL OR last_used < ?1 - 3600)",
            params![t, token_id],
        )
        .map_err(db)?;
        Ok(Some(user))
    }

    /// Starts a session for the account, ending at an absolute time `ttl` from now.
    pub fn create_session(&self, user_id: i64, ttl: Duration) -> Result<NewSession> {
        let secret = new_secret();
        let created = now();
        let expires = created.saturating_add(ttl.as_secs() as i64);
        let conn = self.conn();
        // Expired sessions are swept whenever a new one starts.
        conn.execute("DELETE FROM sessions WHERE expires <= ?1", params![created]).map_err(db)?;
        conn.execute(
            "INSERT INTO sessions (hash, user_id, created, expires) VALUES (?1, ?2, ?3, ?4)",
            params![secret::digest(&secret).as_slice(), user_id, created, expires],
        )
        .map_err(db)?;
        Ok(NewSession { secret, expires })
    }

    /// The account a session belongs to, while the session lasts.
    pub fn session_user(&self, secret: &str) -> Result<Option<User>> {
        if secret.len() != 64 {
            return Ok(None);
        }
        self.conn()
            .query_row(
                "SELECT u.id, u.name, u.email, u.role, u.created FROM sessions s \
                 JOIN users u ON u.id = s.user_id WHERE s.hash = ?1 AND s.expires > ?2",
                params![secret::digest(secret).as_slice(), now()],
                user_row,
            )
            .optional()
            .map_err(db)
    }

    /// Ends a session (signing out). Ending one that does not exist is not an error.
    pub fn end_session(&self, secret: &str) -> Result<()> {
        self.conn()
            .execute(
                "DELETE FROM sessions WHERE hash = ?1",
                params![secret::digest(secret).as_slice()],
            )
            .map_err(db)?;
        Ok(())
    }

    /// How many sessions the account has open (for tests and the account page).
    pub fn session_count(&self, name: &str) -> Result<usize> {
        let conn = self.conn();
        let user = existing_user(&conn, name)?;
        conn.query_row(
            "SELECT count(*) FROM sessions WHERE user_id = ?1 AND expires > ?2",
            params![user.id, now()],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n as usize)
        .map_err(db)
    }
}

/// A link from an account to an identity at an OpenID Connect provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's issuer URL, exactly as its tokens carry it.
    pub issuer: String,
    /// The provider's stable id of the person (`sub`).
    pub subject: String,
    /// Seconds since the Unix epoch.
    pub created: i64,
}

/// What a provider vouched for about a person signing on (claims of a verified ID token).
#[derive(Debug, Clone)]
pub struct SignOn<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub email: Option<&'a str>,
    /// The provider says it checked that the person owns `email`.
    pub email_verified: bool,
    pub preferred_username: Option<&'a str>,
    /// The role of an account created for a person the wiki has not seen before.
    pub role: Role,
}

/// How a sign-on found its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedOn {
    /// The identity was linked already.
    Known,
    /// The identity was new and linked to the one account with its verified e-mail.
    Linked,
    /// A new account was made for it.
    Created,
}

/// The longest issuer or subject kept (OpenID Connect caps `sub` at 255 ASCII characters).
const MAX_IDENTITY_BYTES: usize = 1024;

/// A valid, not necessarily free, user name for a person a provider names: their preferred user
/// name, else their e-mail's local part, with characters a name may not have replaced by `-`.
pub fn name_for_sign_on(preferred_username: Option<&str>, email: Option<&str>) -> String {
    let local = email.and_then(|e| e.split('@').next());
    let raw = [preferred_username, local]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| s.chars().any(char::is_alphanumeric))
        .unwrap_or("user");
    // A preferred user name may itself be an e-mail address.
    let raw = raw.split('@').next().filter(|s| !s.is_empty()).unwrap_or(raw);
    let mut name = String::new();
    for c in raw.chars() {
        if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name: String =
        name.trim_start_matches(|c: char| !c.is_alphanumeric()).chars().take(56).collect();
    let name = name.trim_end_matches(['-', '.']).to_string();
    if check_name(&name).is_ok() { name } else { "user".to_string() }
}

impl Accounts {
    /// The account linked to an identity at a provider.
    pub fn identity_user(&self, issuer: &str, subject: &str) -> Result<Option<User>> {
        identity_user(&self.conn(), issuer, subject)
    }

    /// Links an identity at a provider to an account. An identity belongs to one account.
    pub fn link_identity(&self, name: &str, issuer: &str, subject: &str) -> Result<()> {
        check_identity(issuer, subject)?;
        let conn = self.conn();
        let user = existing_user(&conn, name)?;
        insert_identity(&conn, user.id, issuer, subject)
    }

    /// The identities linked to an account, oldest first.
    pub fn identities(&self, name: &str) -> Result<Vec<Identity>> {
        let conn = self.conn();
        let user = existing_user(&conn, name)?;
        all_rows(
            &conn,
            "SELECT issuer, subject, created FROM identities WHERE user_id = ?1 \
             ORDER BY created, issuer, subject",
            params![user.id],
            |r| Ok(Identity { issuer: r.get(0)?, subject: r.get(1)?, created: r.get(2)? }),
        )
    }

    /// Whether the account can sign in with a password (accounts made by single sign-on have
    /// none).
    pub fn has_password(&self, name: &str) -> Result<bool> {
        let conn = self.conn();
        let user = existing_user(&conn, name)?;
        conn.query_row(
            "SELECT password_hash IS NOT NULL FROM users WHERE id = ?1",
            params![user.id],
            |r| r.get(0),
        )
        .map_err(db)
    }

    /// The account of a person a provider vouched for, in one transaction: the account linked
    /// to the identity; else, when the provider verified the e-mail and exactly one account with
    /// no linked identity has it, that account, linked from now on; else a new account without a
    /// password, named after the person (made unique with a number) with role `role`, and
    /// linked. An account made or linked by a sign-on is never linked again by e-mail, so an
    /// unverified address claimed once cannot capture a later sign-on.
    pub fn sign_on(&self, who: &SignOn<'_>) -> Result<(User, SignedOn)> {
        check_identity(who.issuer, who.subject)?;
        let mut conn = self.conn();
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
        if let Some(user) = identity_user(&tx, who.issuer, who.subject)? {
            return Ok((user, SignedOn::Known));
        }
        let email = who.email.map(str::trim).filter(|e| check_email(e).is_ok());
        if who.email_verified
            && let Some(email) = email
        {
            let mut stmt = tx
                .prepare(&format!(
                    "SELECT {USER_COLS} FROM users WHERE email = ?1 COLLATE NOCASE \
                     AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.user_id = users.id) LIMIT 2"
                ))
                .map_err(db)?;
            let same: Vec<User> = stmt
                .query_map(params![email], user_row)
                .map_err(db)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db)?;
            drop(stmt);
            if let [user] = same.as_slice() {
                insert_identity(&tx, user.id, who.issuer, who.subject)?;
                tx.commit().map_err(db)?;
                return Ok((user.clone(), SignedOn::Linked));
            }
        }
        let base = name_for_sign_on(who.preferred_username, email);
        let mut name = base.clone();
        let mut n = 1;
        while find_user(&tx, &name)?.is_some() {
            n += 1;
            if n > 1000 {
                return Err(Error::conflict(format!(
                    "too many accounts are named like '{base}'; ask an administrator to make yours"
                )));
            }
            name = format!("{base}-{n}");
        }
        let email = email
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}@casebook.invalid", name.to_lowercase()));
        tx.execute(
            "INSERT INTO users (name, email, role, password_hash, created) VALUES (?1, ?2, ?3, NULL, ?4)",
            params![name, email, who.role.as_str(), now()],
        )
        .map_err(db)?;
        let user =
            find_user(&tx, &name)?.ok_or_else(|| Error::internal("the new user vanished"))?;
        insert_identity(&tx, user.id, who.issuer, who.subject)?;
        tx.commit().map_err(db)?;
        Ok((user, SignedOn::Created))
    }
}

fn check_identity(issuer: &str, subject: &str) -> Result<()> {
    if issuer.is_empty()
        || subject.is_empty()
        || issuer.len() > MAX_IDENTITY_BYTES
        || subject.len() > MAX_IDENTITY_BYTES
        || subject.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "an identity needs an issuer and a subject of at most 1024 bytes",
        ));
    }
    Ok(())
}

fn identity_user(conn: &Connection, issuer: &str, subject: &str) -> Result<Option<User>> {
    conn.query_row(
        "SELECT u.id, u.name, u.email, u.role, u.created FROM identities i \
         JOIN users u ON u.id = i.user_id WHERE i.issuer = ?1 AND i.subject = ?2",
        params![issuer, subject],
        user_row,
    )
    .optional()
    .map_err(db)
}

fn insert_identity(conn: &Connection, user_id: i64, issuer: &str, subject: &str) -> Result<()> {
    let r = conn.execute(
        "INSERT INTO identities (issuer, subject, user_id, created) VALUES (?1, ?2, ?3, ?4)",
        params![issuer, subject, user_id, now()],
    );
    match r {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(Error::conflict("that identity is linked to an account already"))
        }
        Err(e) => Err(db(e)),
    }
}

fn no_user(name: &str) -> Error {
    Error::not_found(format!("there is no user named '{}'", casebook_core::truncate(name, 80)))
}

/// The account named `name`, which must exist.
fn existing_user(conn: &Connection, name: &str) -> Result<User> {
    find_user(conn, name)?.ok_or_else(|| no_user(name))
}

fn find_user(conn: &Connection, name: &str) -> Result<Option<User>> {
    conn.query_row(
        &format!("SELECT {USER_COLS} FROM users WHERE name = ?1"),
        params![name],
        user_row,
    )
    .optional()
    .map_err(db)
}

fn count_admins(conn: &Connection) -> Result<i64> {
    conn.query_row("SELECT count(*) FROM users WHERE role = 'admin'", [], |r| r.get(0)).map_err(db)
}

fn insert_user(conn: &Connection, name: &str, email: &str, role: Role, hash: &str) -> Result<()> {
    let r = conn.execute(
        "INSERT INTO users (name, email, role, password_hash, created) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, email, role.as_str(), hash, now()],
    );
    match r {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(Error::conflict(format!("a user named '{name}' exists already")))
        }
        Err(e) => Err(db(e)),
    }
}

/// What the unit tests of this crate's modules start from.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Accounts in a new temp dir (which lives as long as the dir returned with them).
    pub fn accounts() -> (tempfile::TempDir, Accounts) {
        let dir = tempfile::tempdir().unwrap();
        let acc = Accounts::open(dir.path()).unwrap();
        (dir, acc)
    }

    /// An account `name` with the address `name@example.com` and the password "correct horse".
    pub fn add(acc: &Accounts, name: &str, role: Role) -> User {
        let email = format!("{name}@example.com");
        acc.add_user(name, &email, role, "correct horse").unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_emails() {
        assert!(check_name("ann").is_ok());
        assert!(check_name("ann.lee-2_x").is_ok());
        for bad in ["", ".ann", "ann lee", "ann<", "a/b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_email("ann@example.com").is_ok());
        for bad in ["ann", "@x", "ann@", "a@b@c", "a b@c", "a<@b", "a@b>", "a@b\n"] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sign_on_names_are_valid() {
        for (preferred, email, want) in [
            (Some("ann.lee"), Some("x@example.com"), "ann.lee"),
            (None, Some("bob.smith@example.com"), "bob.smith"),
            (Some("carl@example.com"), None, "carl"),
            (Some("Dörte Müller"), None, "Dörte-Müller"),
            (Some("  "), Some("eve@example.com"), "eve"),
            (Some("__x/y"), None, "x-y"),
            (Some("!!!"), None, "user"),
            (None, None, "user"),
        ] {
            let name = name_for_sign_on(preferred, email);
            assert_eq!(name, want, "{preferred:?} {email:?}");
            assert!(check_name(&name).is_ok());
        }
        let long = "a".repeat(300);
        assert!(check_name(&name_for_sign_on(Some(&long), None)).is_ok());
    }

    #[test]
    fn roles_parse() {
        assert_eq!("Editor".parse::<Role>().unwrap(), Role::Editor);
        assert_eq!(
            "root".parse::<Role>().unwrap_err().message,
            "a role is reader, editor or admin, not 'root'"
        );
        assert_eq!("folder".parse::<WatchKind>().unwrap(), WatchKind::Folder);
        assert_eq!(NotificationKind::Mention.as_str(), "mention");
        assert!(Role::Admin > Role::Editor && Role::Editor > Role::Reader);
    }

    #[test]
    fn password_hashes_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", &h));
        assert!(!verify("correct horsf", &h));
        assert!(!verify("x", "not a hash"));
    }
}
