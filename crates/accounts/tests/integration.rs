//! The accounts database on real files in temp dirs.

use casebook_accounts::{Accounts, Role, User};
use casebook_core::ErrorKind;
use std::time::Duration;

fn open() -> (tempfile::TempDir, Accounts) {
    let dir = tempfile::tempdir().unwrap();
    let acc = Accounts::open(&dir.path().join("data")).unwrap();
    (dir, acc)
}

/// An account `name` with the address `name@example.com` and the password "correct horse".
fn add(acc: &Accounts, name: &str, role: Role) -> User {
    let email = format!("{name}@example.com");
    acc.add_user(name, &email, role, "correct horse").unwrap()
}

/// The kind of the error that `result` must be.
fn kind<T: std::fmt::Debug>(result: casebook_core::Result<T>) -> ErrorKind {
    result.unwrap_err().kind
}

/// Whether `password` is `name`'s.
fn signs_in(acc: &Accounts, name: &str, password: &str) -> bool {
    acc.check_password(name, password).unwrap().is_some()
}

#[test]
fn the_database_file_is_private_and_reopens() {
    let (dir, acc) = open();
    add(&acc, "ann", Role::Editor);
    let path = dir.path().join("data").join("accounts.db");
    assert_eq!(acc.path(), path);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode {mode:o}");
    }
    drop(acc);
    let again = Accounts::open(&dir.path().join("data")).unwrap();
    assert_eq!(again.require_user("ann").unwrap().role, Role::Editor);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.db");
    drop(Accounts::open_file(&path).unwrap());
    // As a future Casebook would leave it.
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let err = Accounts::open_file(&path).unwrap_err();
    assert!(err.message.contains("newer"), "{}", err.message);
}

#[test]
fn users_are_added_listed_and_checked() {
    let (_d, acc) = open();
    let ann = add(&acc, "ann", Role::Editor);
    assert_eq!(ann.author().name, "ann");
    assert_eq!(ann.author().email, "ann@example.com");
    add(&acc, "bob", Role::Reader);
    let names: Vec<_> = acc.users().unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["ann", "bob"]);

    // Names are unique regardless of case; bad input changes nothing.
    let dup = acc.add_user("ANN", "x@example.com", Role::Reader, "whatever12").unwrap_err();
    assert_eq!(dup.kind, ErrorKind::Conflict);
    for (name, email, pw) in [
        ("c d", "c@example.com", "longenough"),
        ("cd", "not-an-email", "longenough"),
        ("cd", "c@example.com", "short"),
    ] {
        let e = acc.add_user(name, email, Role::Reader, pw).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput, "{name} {email} {pw}");
    }
    assert_eq!(acc.users().unwrap().len(), 2);

    assert_eq!(acc.check_password("ann", "correct horse").unwrap().unwrap().id, ann.id);
    assert!(!signs_in(&acc, "ann", "correct horsE"));
    assert!(!signs_in(&acc, "nobody", "correct horse"));
}

#[test]
fn the_last_admin_cannot_be_demoted() {
    let (_d, acc) = open();
    assert!(!acc.has_admin().unwrap());
    acc.add_first_admin("root", "root@example.com", "first admin").unwrap();
    assert!(acc.has_admin().unwrap());
    // The setup door closes once an administrator exists.
    let again = acc.add_first_admin("eve", "eve@example.com", "second admin").unwrap_err();
    assert_eq!(again.kind, ErrorKind::Conflict);
    assert!(acc.user("eve").unwrap().is_none());

    let e = acc.set_role("root", Role::Editor).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert_eq!(acc.require_user("root").unwrap().role, Role::Admin);
    add(&acc, "ann", Role::Reader);
    acc.set_role("ann", Role::Admin).unwrap();
    assert_eq!(acc.set_role("root", Role::Editor).unwrap().role, Role::Editor);
    assert_eq!(kind(acc.set_role("nobody", Role::Editor)), ErrorKind::NotFound);
}

#[test]
fn tokens_are_shown_once_stored_hashed_and_revocable() {
    let (dir, acc) = open();
    add(&acc, "ann", Role::Editor);
    add(&acc, "bob", Role::Editor);
    let (info, secret) = acc.create_token("ann", "laptop").unwrap();
    assert!(secret.starts_with("cbt_") && secret.len() > 60);
    assert_eq!(acc.token_user(&secret).unwrap().unwrap().name, "ann");
    assert!(acc.token_user("cbt_wrong").unwrap().is_none());
    assert!(acc.token_user("").unwrap().is_none());

    // The secret itself is nowhere in the database file.
    let bytes = std::fs::read(dir.path().join("data/accounts.db")).unwrap();
    let wal = std::fs::read(dir.path().join("data/accounts.db-wal")).unwrap_or_default();
    for b in [&bytes, &wal] {
        assert!(!b.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }

    let list = acc.tokens("ann").unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].label, "laptop");
    assert!(list[0].last_used.is_some(), "using a token notes when");

    // Bob cannot revoke Ann's token.
    assert_eq!(kind(acc.revoke_token("bob", info.id)), ErrorKind::NotFound);
    acc.revoke_token("ann", info.id).unwrap();
    assert!(acc.token_user(&secret).unwrap().is_none());
    assert!(acc.tokens("ann").unwrap().is_empty());
}

#[test]
fn sessions_expire_end_and_die_with_a_password_change() {
    let (_d, acc) = open();
    let ann = add(&acc, "ann", Role::Editor);
    let s = acc.create_session(ann.id, Duration::from_secs(3600)).unwrap();
    assert_eq!(acc.session_user(&s.secret).unwrap().unwrap().name, "ann");
    assert!(acc.session_user(&"0".repeat(64)).unwrap().is_none());

    // Signing out ends it.
    acc.end_session(&s.secret).unwrap();
    assert!(acc.session_user(&s.secret).unwrap().is_none());

    // An absolute expiry: a session with no time left is not honoured.
    let expired = acc.create_session(ann.id, Duration::ZERO).unwrap();
    assert!(acc.session_user(&expired.secret).unwrap().is_none());

    // A new password ends every session.
    let a = acc.create_session(ann.id, Duration::from_secs(3600)).unwrap();
    let b = acc.create_session(ann.id, Duration::from_secs(3600)).unwrap();
    assert_eq!(acc.session_count("ann").unwrap(), 2);
    acc.set_password("ann", "a new password").unwrap();
    assert!(acc.session_user(&a.secret).unwrap().is_none());
    assert!(acc.session_user(&b.secret).unwrap().is_none());
    assert_eq!(acc.session_count("ann").unwrap(), 0);
    assert!(!signs_in(&acc, "ann", "correct horse"));
    assert!(signs_in(&acc, "ann", "a new password"));
}

#[test]
fn removing_an_account_takes_its_tokens_and_sessions() {
    let (_d, acc) = open();
    acc.add_first_admin("root", "root@example.com", "first admin").unwrap();
    let ann = add(&acc, "ann", Role::Editor);
    let (_, tok) = acc.create_token("ann", "").unwrap();
    let s = acc.create_session(ann.id, Duration::from_secs(60)).unwrap();
    acc.remove_user("ann").unwrap();
    assert!(acc.user("ann").unwrap().is_none());
    assert!(acc.token_user(&tok).unwrap().is_none());
    assert!(acc.session_user(&s.secret).unwrap().is_none());
    assert_eq!(kind(acc.remove_user("ann")), ErrorKind::NotFound);
    assert_eq!(kind(acc.remove_user("root")), ErrorKind::Conflict);
    // The name is free again, and a new account of that name gets none of the old tokens.
    acc.add_user("ann", "ann@example.org", Role::Reader, "another one").unwrap();
    assert!(acc.token_user(&tok).unwrap().is_none());
}

#[test]
fn two_handles_on_one_file_see_each_other() {
    // The CLI and the server open the same file at once.
    let dir = tempfile::tempdir().unwrap();
    let a = Accounts::open(dir.path()).unwrap();
    let b = Accounts::open(dir.path()).unwrap();
    a.add_user("ann", "ann@example.com", Role::Editor, "correct horse").unwrap();
    let (_, tok) = a.create_token("ann", "").unwrap();
    assert_eq!(b.token_user(&tok).unwrap().unwrap().name, "ann");
}

#[test]
fn watches_cover_pages_and_the_folders_around_them() {
    use casebook_accounts::WatchKind;
    let (_dir, acc) = open();
    add(&acc, "ann", Role::Editor);
    add(&acc, "bob", Role::Reader);
    acc.watch("ann", WatchKind::Folder, "cases").unwrap();
    acc.watch("ann", WatchKind::Folder, "cases").unwrap();
    acc.watch("bob", WatchKind::Page, "cases/fire.md").unwrap();
    let names =
        |page: &str| acc.watchers(page).unwrap().into_iter().map(|u| u.name).collect::<Vec<_>>();
    assert_eq!(names("cases/fire.md"), ["ann", "bob"]);
    assert_eq!(names("cases/deep/flood.md"), ["ann"]);
    assert!(names("casesx/fire.md").is_empty());
    assert!(names("fire.md").is_empty());
    assert!(acc.is_watching("ann", WatchKind::Folder, "cases").unwrap());
    assert!(!acc.is_watching("ann", WatchKind::Page, "cases").unwrap());
    assert_eq!(acc.watches("ann").unwrap().len(), 1);
    acc.unwatch("ann", WatchKind::Folder, "cases").unwrap();
    assert_eq!(names("cases/fire.md"), ["bob"]);
    assert!(acc.watch("nobody", WatchKind::Page, "a.md").is_err());
    assert!(acc.watch("ann", WatchKind::Page, "a\n.md").is_err());
}

#[test]
fn the_inbox_counts_unread_and_marks_read() {
    use casebook_accounts::{NewNotification, NotificationKind};
    let all = casebook_core::ReadScope::everything();
    let (_dir, acc) = open();
    add(&acc, "ann", Role::Editor);
    add(&acc, "bob", Role::Reader);
    let n = |kind, summary: &str| NewNotification {
        kind,
        page: "cases/fire.md".into(),
        thread: "t1".into(),
        comment: "c1".into(),
        actor: "bob".into(),
        summary: summary.into(),
    };
    let first = acc.notify("ann", &n(NotificationKind::Reply, "one")).unwrap();
    acc.notify("ANN", &n(NotificationKind::Mention, "two")).unwrap();
    assert_eq!(acc.unread_count("ann", &all).unwrap(), 2);
    assert_eq!(acc.unread_count("bob", &all).unwrap(), 0);
    // A reader kept out of the folder since is not told of them.
    let outside = casebook_core::ReadScope::hiding(["Cases".to_string()]);
    assert_eq!(acc.unread_count("ann", &outside).unwrap(), 0);
    // ...and still of what is elsewhere (bob is told of one page in the folder, one outside).
    acc.notify("bob", &n(NotificationKind::Reply, "in the folder")).unwrap();
    acc.notify(
        "bob",
        &NewNotification {
            page: "notes/open.md".into(),
            ..n(NotificationKind::Reply, "outside it")
        },
    )
    .unwrap();
    assert_eq!(acc.unread_count("bob", &all).unwrap(), 2);
    assert_eq!(acc.unread_count("bob", &outside).unwrap(), 1);
    let inbox = acc.inbox("ann", 10).unwrap();
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[0].what.summary, "two");
    assert_eq!(inbox[0].what.kind, NotificationKind::Mention);
    assert_eq!(acc.inbox("ann", 1).unwrap().len(), 1);
    // Someone else's notification is not found.
    assert!(acc.mark_read("bob", first.id).is_err());
    acc.mark_read("ann", first.id).unwrap();
    assert_eq!(acc.unread_count("ann", &all).unwrap(), 1);
    assert_eq!(acc.mark_all_read("ann").unwrap(), 1);
    assert_eq!(acc.unread_count("ann", &all).unwrap(), 0);
    assert!(acc.inbox("ann", 10).unwrap().iter().all(|n| n.read));
}

#[test]
fn helpful_marks_are_one_per_person_and_counted() {
    let (_dir, acc) = open();
    for name in ["ann", "bob", "cy"] {
        add(&acc, name, Role::Reader);
    }
    acc.set_helpful("ann", "a.md", "", true).unwrap();
    acc.set_helpful("ann", "a.md", "", true).unwrap();
    acc.set_helpful("bob", "a.md", "", true).unwrap();
    acc.set_helpful("bob", "b.md", "", true).unwrap();
    acc.set_helpful("cy", "b.md", "c9", true).unwrap();
    let counts = acc.helpful_counts().unwrap();
    assert_eq!(counts["a.md"][""], 2);
    assert_eq!(counts["b.md"][""], 1);
    assert_eq!(counts["b.md"]["c9"], 1);
    assert_eq!(
        acc.top_helpful_pages(10).unwrap(),
        [("a.md".to_string(), 2), ("b.md".to_string(), 1)]
    );
    assert_eq!(acc.helpful_marks("cy", "b.md").unwrap(), ["c9"]);
    acc.set_helpful("ann", "a.md", "", false).unwrap();
    acc.set_helpful("bob", "a.md", "", false).unwrap();
    assert_eq!(acc.top_helpful_pages(10).unwrap(), [("b.md".to_string(), 1)]);
    // Removing an account takes its marks.
    acc.remove_user("cy").unwrap();
    assert!(!acc.helpful_counts().unwrap()["b.md"].contains_key("c9"));
}

#[test]
fn sign_on_finds_links_or_creates_accounts() {
    use casebook_accounts::{SignOn, SignedOn};
    let (_dir, acc) = open();
    let ann = acc.add_user("ann", "Ann@Example.com", Role::Editor, "correct horse").unwrap();
    let idp = "https://id.example.com";
    let who = |sub, email, verified, preferred| SignOn {
        issuer: idp,
        subject: sub,
        email,
        email_verified: verified,
        preferred_username: preferred,
        role: Role::Reader,
    };

    // An unverified e-mail never reaches an existing account: a new one is made.
    let (u, how) = acc.sign_on(&who("s-1", Some("ann@example.com"), false, Some("ann"))).unwrap();
    assert_eq!(how, SignedOn::Created);
    assert_ne!(u.id, ann.id);
    assert_eq!(u.name, "ann-2");
    assert_eq!(u.role, Role::Reader);
    assert!(!acc.has_password("ann-2").unwrap());
    assert!(acc.check_password("ann-2", "").unwrap().is_none());

    // A verified e-mail (any case) links the existing account, once and for all.
    let (u, how) = acc.sign_on(&who("s-2", Some("ann@EXAMPLE.com"), true, None)).unwrap();
    assert_eq!((u.id, how), (ann.id, SignedOn::Linked));
    let (u, how) = acc.sign_on(&who("s-2", None, false, None)).unwrap();
    assert_eq!((u.id, how), (ann.id, SignedOn::Known));
    assert!(acc.has_password("ann").unwrap());
    let ids = acc.identities("ann").unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!((ids[0].issuer.as_str(), ids[0].subject.as_str()), (idp, "s-2"));
    assert_eq!(acc.identity_user(idp, "s-2").unwrap().unwrap().id, ann.id);
    // The same subject at another provider is another person.
    assert!(acc.identity_user("https://other.example", "s-2").unwrap().is_none());

    // No e-mail at all: a placeholder address keeps git authorship valid.
    let (u, how) = acc.sign_on(&who("s-3", None, true, None)).unwrap();
    assert_eq!(how, SignedOn::Created);
    assert_eq!(u.name, "user");
    assert_eq!(u.email, "user@casebook.invalid");

    // Bad identities change nothing.
    let before = acc.users().unwrap().len();
    assert_eq!(
        kind(acc.sign_on(&who("", Some("x@example.com"), true, None))),
        ErrorKind::InvalidInput
    );
    assert_eq!(acc.users().unwrap().len(), before);

    // An identity belongs to one account.
    assert_eq!(kind(acc.link_identity("user", idp, "s-2")), ErrorKind::Conflict);
    acc.link_identity("user", idp, "s-4").unwrap();
    assert_eq!(acc.identities("user").unwrap().len(), 2);

    // Accounts that sign on already are never linked by e-mail: the unverified "ann-2" keeps
    // the address but is not a candidate, and neither is ann now.
    let (u, how) = acc.sign_on(&who("s-5", Some("ann@example.com"), true, None)).unwrap();
    assert_eq!(how, SignedOn::Created);
    assert_eq!(u.name, "ann-3");

    // Removing an account removes its links.
    acc.remove_user("ann").unwrap();
    assert!(acc.identity_user(idp, "s-2").unwrap().is_none());
}
