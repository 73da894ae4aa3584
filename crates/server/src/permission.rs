//! Who may do what: the acting person of a request and every rule about what they may read,
//! change, discuss and manage. Handlers ask here and never decide themselves; the route walk in
//! `tests/access.rs` checks every route against these rules, and the tests below check the
//! rules themselves for every kind of person.

use crate::{PageError, SignedIn};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use casebook_accounts::Role;
use casebook_core::{Author, Error, PagePath, ReadScope, Result};
use serde::Deserialize;

/// What a visitor who is not signed in may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    None,
    #[default]
    Read,
    Edit,
}

impl std::str::FromStr for Access {
    type Err = Error;
    fn from_str(s: &str) -> Result<Access> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Access::None),
            "read" => Ok(Access::Read),
            "edit" => Ok(Access::Edit),
            other => Err(Error::invalid(format!(
                "anonymous access must be none, read or edit, not '{other}'"
            ))),
        }
    }
}

/// The one acting person of a request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub author: Author,
    pub signed_in: bool,
    pub access: Access,
    /// The signed-in account, if any.
    pub account: Option<SignedIn>,
    /// Why the credentials given were not accepted (a wrong or revoked API token, a wrong
    /// password, or accounts that cannot be read): the request is refused with it outright.
    pub refused: Option<Error>,
    /// What the folder rules let this person read.
    pub scope: ReadScope,
}

impl Actor {
    fn refused(&self) -> Result<()> {
        match &self.refused {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
    pub(crate) fn require_read(&self) -> Result<()> {
        self.refused()?;
        if self.access >= Access::Read {
            Ok(())
        } else {
            Err(Error::unauthorized("sign in to read this wiki"))
        }
    }
    pub(crate) fn require_edit(&self) -> Result<()> {
        self.refused()?;
        if self.access >= Access::Edit {
            Ok(())
        } else if self.signed_in {
            Err(Error::forbidden("you may read this wiki but not change it"))
        } else {
            Err(Error::unauthorized("sign in to change this wiki"))
        }
    }
    pub(crate) fn can_edit(&self) -> bool {
        self.access >= Access::Edit
    }
    /// Whoever may edit, and every signed-in reader too: asking and answering questions about
    /// a story is how readers learn, even where they may not change the story itself.
    pub(crate) fn can_discuss(&self) -> bool {
        self.can_edit() || (self.signed_in && self.access >= Access::Read)
    }
    pub(crate) fn require_discuss(&self) -> Result<()> {
        self.refused()?;
        if self.can_discuss() {
            Ok(())
        } else if self.signed_in {
            Err(Error::forbidden("you may read this wiki but not take part in discussions"))
        } else {
            Err(Error::unauthorized("sign in to take part in discussions"))
        }
    }
    /// Whether the folder rules let this person see `path` (a page, a file, or a search hit).
    pub(crate) fn sees(&self, path: &str) -> bool {
        self.scope.sees(path)
    }
    /// Reading (or changing) something at `path`: a page in a folder this person may not read
    /// is answered exactly as a page that does not exist, so no door tells it is there.
    pub(crate) fn require_sees(&self, path: &str) -> Result<()> {
        self.unless_hidden(path, |page| Error::not_found(format!("there is no page {page}")))
    }
    /// Writing a page at `path`: a page in a folder this person may not read cannot be written
    /// either (nor made, nor moved there).
    pub(crate) fn require_writes(&self, path: &str) -> Result<()> {
        self.unless_hidden(path, |page| {
            Error::forbidden(format!(
                "{page} is in a restricted folder; ask an administrator for access"
            ))
        })
    }
    fn unless_hidden(&self, path: &str, refusal: impl FnOnce(&str) -> Error) -> Result<()> {
        if self.sees(path) {
            Ok(())
        } else {
            Err(refusal(path.strip_suffix(".md").unwrap_or(path)))
        }
    }
    /// Administrators may change anyone's comments.
    pub(crate) fn is_admin(&self) -> bool {
        self.account.as_ref().is_some_and(|a| a.role == Role::Admin)
    }
    /// Whether this actor may change what `author` wrote (a comment): an administrator, or the
    /// author, by account name and never by e-mail (see `casebook_engine::same_author`).
    pub(crate) fn may_change(&self, author: &Author) -> bool {
        self.is_admin() || casebook_engine::same_author(author, &self.author)
    }

    /// The account page and its forms are for a browser session, not an API token.
    pub(crate) fn require_session(&self) -> Result<SignedIn> {
        match &self.account {
            Some(a) if a.csrf.is_some() => Ok(a.clone()),
            Some(_) => Err(Error::forbidden(
                "the account page is for a browser session; sign in from the sign-in page",
            )),
            None => Err(Error::unauthorized("sign in to see your account")),
        }
    }

    /// Managing accounts, groups and folder rules.
    pub(crate) fn require_admin(&self) -> Result<()> {
        match &self.account {
            Some(a) if a.role == Role::Admin => Ok(()),
            Some(_) => Err(Error::forbidden("only administrators may manage accounts")),
            None => Err(Error::unauthorized("sign in as an administrator to manage accounts")),
        }
    }
}

/// A page the actor asks to read: one in a folder they may not read does not exist for them.
pub(crate) fn page_to_read(actor: &Actor, raw: &str) -> Result<PagePath> {
    let path = PagePath::parse(raw)?;
    actor.require_sees(path.as_str())?;
    Ok(path)
}

/// A page the actor asks to change, make or move to: not in a folder they may not read.
pub(crate) fn page_to_write(actor: &Actor, raw: &str) -> Result<PagePath> {
    let path = PagePath::parse(raw)?;
    actor.require_writes(path.as_str())?;
    Ok(path)
}

/// Extractors that let a request through only when its actor passes a rule; otherwise it is
/// answered with the refusal before its body is read. Each holds the actor that passed.
macro_rules! rule_extractor {
    ($(#[$doc:meta] $name:ident => $rule:ident;)*) => {$(
        #[$doc]
        pub(crate) struct $name(pub Actor);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = PageError;
            async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, PageError> {
                let actor = Actor::from_request_parts(parts, s).await.map_err(|e| PageError(e.0))?;
                actor.$rule()?;
                Ok($name(actor))
            }
        }
    )*};
}

rule_extractor! {
    /// Someone who may read the wiki.
    Reader => require_read;
    /// Someone who may change pages.
    Editor => require_edit;
    /// Someone who may take part in discussions.
    Discussant => require_discuss;
    /// An administrator.
    Admin => require_admin;
}

macro_rules! page_extractor {
    ($($(#[$doc:meta])* $name:ident => $person:ident, $rule:ident;)*) => {$(
        $(#[$doc])*
        pub(crate) struct $name(pub Actor, pub PagePath);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = PageError;
            async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, PageError> {
                let $person(actor) = $person::from_request_parts(parts, s).await?;
                let Path(raw) = Path::<String>::from_request_parts(parts, s).await.map_err(|e| {
                    PageError(Error::invalid(format!("that is not a page address: {e}")))
                })?;
                let path = $rule(&actor, &raw)?;
                Ok($name(actor, path))
            }
        }
    )*};
}

page_extractor! {
    /// A reader and the page (the route's `{*path}`) they asked for: valid, and not in a
    /// folder they may not read (answered as a page that does not exist).
    PageToRead => Reader, page_to_read;
    /// An editor and the page (the route's `{*path}`) they may write: valid, and not in a
    /// folder they may not read.
    PageToWrite => Editor, page_to_write;
}

#[cfg(test)]
mod tests {
    use super::*;
    use casebook_core::ErrorKind::{self, Forbidden, NotFound, Unauthorized};

    /// Every kind of person the access walk signs in as, plus one whose credentials were refused.
    fn people() -> Vec<(&'static str, Actor)> {
        let person = |access, account: Option<(&str, Role, bool)>| Actor {
            author: Author::new(account.map_or("Anonymous", |a| a.0), "someone@example.com"),
            signed_in: account.is_some(),
            access,
            account: account.map(|(name, role, session)| SignedIn {
                name: name.into(),
                role,
                csrf: session.then(|| "token".into()),
            }),
            refused: None,
            scope: ReadScope::hiding(["deals".to_string()]),
        };
        let mut refused = person(Access::Read, None);
        refused.refused = Some(Error::unauthorized("that API token is not valid"));
        vec![
            ("anonymous, read", person(Access::Read, None)),
            ("anonymous, none", person(Access::None, None)),
            ("anonymous, edit", person(Access::Edit, None)),
            ("reader", person(Access::Read, Some(("rita", Role::Reader, true)))),
            ("editor", person(Access::Edit, Some(("ed", Role::Editor, true)))),
            ("admin", person(Access::Edit, Some(("ada", Role::Admin, true)))),
            ("admin by token", person(Access::Edit, Some(("ada", Role::Admin, false)))),
            ("refused", refused),
        ]
    }

    fn verdict(r: Result<impl Sized>) -> Option<ErrorKind> {
        r.err().map(|e| e.kind)
    }

    #[test]
    fn each_rule_for_each_kind_of_person() {
        type Row = (&'static str, [Option<ErrorKind>; 8]);
        let ok = None;
        let (un, fb, nf) = (Some(Unauthorized), Some(Forbidden), Some(NotFound));
        // Columns in the order of `people()`.
        let table: [Row; 7] = [
            ("read", [ok, un, ok, ok, ok, ok, ok, un]),
            ("edit", [un, un, ok, fb, ok, ok, ok, un]),
            ("discuss", [un, un, ok, ok, ok, ok, ok, un]),
            ("session", [un, un, un, ok, ok, ok, fb, un]),
            ("admin", [un, un, un, fb, fb, ok, ok, un]),
            ("read deals/x", [nf, nf, nf, nf, nf, nf, nf, nf]),
            ("write deals/x", [fb, fb, fb, fb, fb, fb, fb, fb]),
        ];
        for (rule, expected) in table {
            for ((who, actor), want) in people().into_iter().zip(expected) {
                let got = match rule {
                    "read" => verdict(actor.require_read()),
                    "edit" => verdict(actor.require_edit()),
                    "discuss" => verdict(actor.require_discuss()),
                    "session" => verdict(actor.require_session()),
                    "admin" => verdict(actor.require_admin()),
                    "read deals/x" => verdict(page_to_read(&actor, "Deals/x")),
                    _ => verdict(page_to_write(&actor, "DEALS/x")),
                };
                assert_eq!(got, want, "{rule} for {who}");
            }
        }
    }

    #[test]
    fn comments_are_changed_by_their_author_or_an_administrator() {
        let people = people();
        let ed = &people[4].1;
        let ada = &people[5].1;
        let rita = &people[3].1;
        let eds_comment = Author::new("ed", "other@example.com");
        assert!(ed.may_change(&eds_comment));
        assert!(ada.may_change(&eds_comment));
        assert!(!rita.may_change(&eds_comment));
        // The same e-mail is not the same person: accounts are matched by name.
        assert!(!rita.may_change(&Author::new("ed", "someone@example.com")));
    }
}
