//! Who is told of what happened, decided from a plain event value and put into their inboxes.
//!
//! One notification per person per action, never the person who acted:
//! - a mention: the account named (case-insensitive), whether or not they watch anything; a
//!   changed comment tells only the names it did not mention before;
//! - a reply: everyone who took part in the thread (started it or commented), matched to
//!   accounts by name and e-mail as in their commits;
//! - a new thread or an edit of a page: the watchers of the page and of every folder holding it.
//!
//! A mention wins over a reply, a reply over a watch. Nobody hears of a page in a folder they
//! may not read, not even its title.

use crate::{Accounts, NewNotification, Notification, NotificationKind, User};
use casebook_core::{Author, Result};
use std::collections::BTreeMap;

/// Something that happened on a page, done by the account `actor`.
#[derive(Debug, Clone)]
pub struct Event {
    /// The acting account's name.
    pub actor: String,
    /// The page's path and title.
    pub page: String,
    pub page_title: String,
    pub what: What,
}

/// A comment in a thread, as far as notifications care.
#[derive(Debug, Clone)]
pub struct CommentEvent {
    pub thread: String,
    pub thread_title: String,
    /// The comment's id (empty when there is none).
    pub comment: String,
    /// The account names the comment mentions.
    pub mentions: Vec<String>,
}

/// What happened.
#[derive(Debug, Clone)]
pub enum What {
    /// A thread was started with this comment.
    Thread(CommentEvent),
    /// A comment was added to a thread; `participants` started it or commented in it.
    Reply { comment: CommentEvent, participants: Vec<Author> },
    /// A comment was changed: of its mentions, only those not in `before` are told.
    CommentEdit { comment: CommentEvent, before: Vec<String> },
    /// The page was edited.
    Edit,
}

impl Accounts {
    /// Works out who is told of `event` and puts it into their inboxes; returns what was
    /// delivered, for e-mail.
    pub fn deliver(&self, event: &Event) -> Result<Vec<(User, Notification)>> {
        let (actor, page, title) = (&event.actor, &event.page, &event.page_title);
        // Keyed by lowercased name; the first reason found for a person wins.
        let mut to: BTreeMap<String, (User, NewNotification)> = BTreeMap::new();
        let mut add = |user: User, kind, c: Option<&CommentEvent>, summary: String| {
            let n = NewNotification {
                kind,
                page: page.clone(),
                thread: c.map(|c| c.thread.clone()).unwrap_or_default(),
                comment: c.map(|c| c.comment.clone()).unwrap_or_default(),
                actor: actor.clone(),
                summary,
            };
            to.entry(user.name.to_lowercase()).or_insert((user, n));
        };
        let mentioned = |c: &CommentEvent, before: &[String]| -> Result<Vec<User>> {
            let mut users = Vec::new();
            for name in &c.mentions {
                if before.iter().any(|b| b.eq_ignore_ascii_case(name)) {
                    continue;
                }
                users.extend(self.user(name)?);
            }
            Ok(users)
        };
        let mention =
            |c: &CommentEvent| format!("{actor} mentioned you in “{}” on {title}", c.thread_title);
        match &event.what {
            What::Thread(c) => {
                for user in mentioned(c, &[])? {
                    add(user, NotificationKind::Mention, Some(c), mention(c));
                }
                for user in self.watchers(page)? {
                    let s = format!("{actor} started “{}” on {title}", c.thread_title);
                    add(user, NotificationKind::Thread, Some(c), s);
                }
            }
            What::Reply { comment: c, participants } => {
                for user in mentioned(c, &[])? {
                    add(user, NotificationKind::Mention, Some(c), mention(c));
                }
                for author in participants {
                    if let Some(user) = self.user(&author.name)?
                        && user.email.eq_ignore_ascii_case(&author.email)
                    {
                        let s = format!("{actor} replied in “{}” on {title}", c.thread_title);
                        add(user, NotificationKind::Reply, Some(c), s);
                    }
                }
            }
            What::CommentEdit { comment: c, before } => {
                for user in mentioned(c, before)? {
                    add(user, NotificationKind::Mention, Some(c), mention(c));
                }
            }
            What::Edit => {
                let s = format!("{actor} edited {title}");
                for user in self.watchers(page)? {
                    add(user, NotificationKind::Edit, None, s.clone());
                }
            }
        }
        to.remove(&actor.to_lowercase());
        let mut sent = Vec::new();
        for (_, (user, n)) in to {
            if !self.read_scope(Some(&user))?.sees(&n.page) {
                continue;
            }
            let stored = self.notify(&user.name, &n)?;
            sent.push((user, stored));
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{accounts, add};
    use crate::{Role, WatchKind};

    fn comment(mentions: &[&str]) -> CommentEvent {
        CommentEvent {
            thread: "t1".into(),
            thread_title: "Pricing".into(),
            comment: "c2".into(),
            mentions: mentions.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn event(page: &str, what: What) -> Event {
        Event { actor: "ann".into(), page: page.into(), page_title: "Acme deal".into(), what }
    }

    fn told(sent: &[(User, Notification)]) -> Vec<(String, NotificationKind)> {
        sent.iter().map(|(u, n)| (u.name.clone(), n.what.kind)).collect()
    }

    #[test]
    fn one_notice_each_by_the_strongest_reason_never_to_the_actor_nor_behind_a_folder_rule() {
        let (_dir, acc) = accounts();
        for name in ["ann", "bob", "cat", "dan"] {
            add(&acc, name, Role::Editor);
        }
        for name in ["ann", "bob", "cat"] {
            acc.watch(name, WatchKind::Folder, "deals").unwrap();
        }
        // A thread mentioning bob: bob by mention (not also as a watcher), cat as a watcher,
        // ann (who acted) not at all, dan (neither) not at all.
        let sent =
            acc.deliver(&event("deals/acme", What::Thread(comment(&["BOB", "nobody"])))).unwrap();
        assert_eq!(
            told(&sent),
            [
                ("bob".to_string(), NotificationKind::Mention),
                ("cat".to_string(), NotificationKind::Thread)
            ]
        );
        assert_eq!(sent[0].1.what.summary, "ann mentioned you in “Pricing” on Acme deal");
        assert_eq!((sent[0].1.what.thread.as_str(), sent[0].1.what.comment.as_str()), ("t1", "c2"));

        // A reply tells the participants matched by name and e-mail, and no watcher.
        let participants = vec![
            Author::new("dan", "dan@example.com"),
            Author::new("cat", "someone.else@example.com"),
            Author::new("ann", "ann@example.com"),
        ];
        let sent = acc
            .deliver(&event("deals/acme", What::Reply { comment: comment(&[]), participants }))
            .unwrap();
        assert_eq!(told(&sent), [("dan".to_string(), NotificationKind::Reply)]);

        // A changed comment tells only the names it did not mention before.
        let sent = acc
            .deliver(&event(
                "deals/acme",
                What::CommentEdit { comment: comment(&["bob", "dan"]), before: vec!["Bob".into()] },
            ))
            .unwrap();
        assert_eq!(told(&sent), [("dan".to_string(), NotificationKind::Mention)]);

        // Behind a folder rule only the group hears of the page, even when mentioned.
        acc.add_group("deal-desk").unwrap();
        acc.add_member("deal-desk", "bob").unwrap();
        acc.set_folder_rule("deals/**", &["deal-desk"]).unwrap();
        let sent = acc.deliver(&event("deals/acme", What::Thread(comment(&["dan"])))).unwrap();
        assert_eq!(told(&sent), [("bob".to_string(), NotificationKind::Thread)]);
        let sent = acc.deliver(&event("deals/acme", What::Edit)).unwrap();
        assert_eq!(told(&sent), [("bob".to_string(), NotificationKind::Edit)]);
        assert_eq!(sent[0].1.what.summary, "ann edited Acme deal");
    }
}
