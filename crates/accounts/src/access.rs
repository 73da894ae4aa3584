//! Groups of accounts and the folders only some groups may read. Administrators set both; they
//! live here, not in the repository, so that nobody who may push can widen their own access.

use crate::{Accounts, Role, User, all_rows, change_one, db, existing_user, now};
use casebook_core::{Error, ReadScope, Result, folder_rule};
use rusqlite::{Connection, OptionalExtension, params};

/// A group and its members' names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub members: Vec<String>,
}

/// A folder that only administrators and the members of `groups` may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderRule {
    /// The folder's path (the rule covers it and everything below it).
    pub folder: String,
    pub groups: Vec<String>,
}

impl FolderRule {
    /// The rule as people write it: `deals/**`.
    pub fn pattern(&self) -> String {
        format!("{}/**", self.folder)
    }
}

/// A group name follows the rules of a user name.
fn check_group(name: &str) -> Result<()> {
    crate::check_name(name).map_err(|_| {
        Error::invalid(format!(
            "'{}' is not a group name: use 1 to 64 letters, digits, '.', '-' or '_', starting with a letter or digit",
            casebook_core::truncate(name, 64)
        ))
    })
}

/// Every group with each of its members (or NULL), by name.
const GROUP_MEMBERS: &str = "SELECT g.name, u.name FROM groups g
    LEFT JOIN group_members m ON m.group_id = g.id
    LEFT JOIN users u ON u.id = m.user_id
    ORDER BY g.name COLLATE NOCASE, u.name COLLATE NOCASE";

/// Every folder rule with each of the groups it lets in (or NULL), by folder.
const RULE_GROUPS: &str = "SELECT r.folder, g.name FROM folder_rules r
    LEFT JOIN folder_readers fr ON fr.folder = r.folder
    LEFT JOIN groups g ON g.id = fr.group_id
    ORDER BY r.folder COLLATE NOCASE, g.name COLLATE NOCASE";

/// The rows of `sql`, (key, optional value) ordered by key, as each key with its values made
/// into one `T`: the shape of a LEFT JOIN that lists groups with their members, or rules with
/// their groups.
fn grouped<T>(conn: &Connection, sql: &str, make: fn(String, Vec<String>) -> T) -> Result<Vec<T>> {
    let rows =
        all_rows(conn, sql, [], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))?;
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (key, value) in rows {
        if out.last().is_none_or(|(k, _)| *k != key) {
            out.push((key, Vec::new()));
        }
        if let (Some(v), Some((_, values))) = (value, out.last_mut()) {
            values.push(v);
        }
    }
    Ok(out.into_iter().map(|(k, v)| make(k, v)).collect())
}

fn group_id(conn: &Connection, name: &str) -> Result<i64> {
    conn.query_row("SELECT id FROM groups WHERE name = ?1", params![name], |r| r.get(0))
        .optional()
        .map_err(db)?
        .ok_or_else(|| {
            Error::not_found(format!(
                "there is no group named '{}'",
                casebook_core::truncate(name, 64)
            ))
        })
}

impl Accounts {
    /// Makes a group (the name must be new, ignoring case).
    pub fn add_group(&self, name: &str) -> Result<()> {
        check_group(name)?;
        change_one(
            &self.conn(),
            "INSERT INTO groups (name, created) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![name, now()],
            || Error::conflict(format!("there is a group named '{name}' already")),
        )
    }

    /// Removes a group. Folders it could read stay restricted to their other groups (or to
    /// administrators alone).
    pub fn remove_group(&self, name: &str) -> Result<()> {
        let conn = self.conn();
        let id = group_id(&conn, name)?;
        conn.execute("DELETE FROM groups WHERE id = ?1", params![id]).map_err(db)?;
        Ok(())
    }

    /// Every group with its members, by name.
    pub fn groups(&self) -> Result<Vec<Group>> {
        grouped(&self.conn(), GROUP_MEMBERS, |name, members| Group { name, members })
    }

    /// Puts an account into a group (no change if it is in already).
    pub fn add_member(&self, group: &str, user: &str) -> Result<()> {
        let conn = self.conn();
        let gid = group_id(&conn, group)?;
        let u = existing_user(&conn, user)?;
        conn.execute(
            "INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?1, ?2)",
            params![gid, u.id],
        )
        .map_err(db)?;
        Ok(())
    }

    /// Takes an account out of a group.
    pub fn remove_member(&self, group: &str, user: &str) -> Result<()> {
        let conn = self.conn();
        let gid = group_id(&conn, group)?;
        let u = existing_user(&conn, user)?;
        change_one(
            &conn,
            "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
            params![gid, u.id],
            || Error::not_found(format!("{} is not in {group}", u.name)),
        )
    }

    /// Restricts a folder (`deals`, `deals/**`) to administrators and the members of `groups`,
    /// replacing the folder's earlier rule. With no groups, only administrators may read it.
    pub fn set_folder_rule(&self, rule: &str, groups: &[&str]) -> Result<FolderRule> {
        let folder = folder_rule(rule)?;
        let mut conn = self.conn();
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
        let ids = groups.iter().map(|g| group_id(&tx, g)).collect::<Result<Vec<_>>>()?;
        tx.execute("DELETE FROM folder_rules WHERE folder = ?1", params![folder.as_str()])
            .map_err(db)?;
        tx.execute(
            "INSERT INTO folder_rules (folder, created) VALUES (?1, ?2)",
            params![folder.as_str(), now()],
        )
        .map_err(db)?;
        for id in ids {
            tx.execute(
                "INSERT OR IGNORE INTO folder_readers (folder, group_id) VALUES (?1, ?2)",
                params![folder.as_str(), id],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        drop(conn);
        self.folder_rules()?
            .into_iter()
            .find(|r| r.folder.eq_ignore_ascii_case(folder.as_str()))
            .ok_or_else(|| Error::internal("the new folder rule vanished"))
    }

    /// Lifts a folder's rule: everyone who may read the wiki may read it again.
    pub fn remove_folder_rule(&self, rule: &str) -> Result<()> {
        let folder = folder_rule(rule)?;
        change_one(
            &self.conn(),
            "DELETE FROM folder_rules WHERE folder = ?1",
            params![folder.as_str()],
            || Error::not_found(format!("there is no rule for the folder {folder}")),
        )
    }

    /// Every folder rule, by folder.
    pub fn folder_rules(&self) -> Result<Vec<FolderRule>> {
        grouped(&self.conn(), RULE_GROUPS, |folder, groups| FolderRule { folder, groups })
    }

    /// What `user` may read (`None`: a visitor who is not signed in). Administrators read
    /// everything; everyone else reads all but the restricted folders none of their groups is
    /// allowed into.
    pub fn read_scope(&self, user: Option<&User>) -> Result<ReadScope> {
        if user.is_some_and(|u| u.role == Role::Admin) {
            return Ok(ReadScope::everything());
        }
        let id = user.map(|u| u.id).unwrap_or(-1);
        let hidden = all_rows(
            &self.conn(),
            "SELECT r.folder FROM folder_rules r WHERE NOT EXISTS (
                SELECT 1 FROM folder_readers fr
                JOIN group_members m ON m.group_id = fr.group_id
                WHERE fr.folder = r.folder AND m.user_id = ?1)",
            params![id],
            |r| r.get::<_, String>(0),
        )?;
        Ok(ReadScope::hiding(hidden))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{accounts, add};

    #[test]
    fn a_restricted_folder_is_read_by_its_groups_and_administrators_only() {
        let (_d, acc) = accounts();
        let admin = add(&acc, "ada", Role::Admin);
        let lead = add(&acc, "lee", Role::Editor);
        let rep = add(&acc, "rob", Role::Editor);
        acc.add_group("deal-desk").unwrap();
        assert!(acc.add_group("Deal-Desk").is_err(), "names are unique ignoring case");
        acc.add_member("deal-desk", "lee").unwrap();
        let rule = acc.set_folder_rule("/Deals/**", &["deal-desk"]).unwrap();
        assert_eq!(rule.pattern(), "Deals/**");
        assert_eq!(rule.groups, vec!["deal-desk"]);

        assert!(acc.read_scope(Some(&admin)).unwrap().sees("deals/Acme"));
        assert!(acc.read_scope(Some(&lead)).unwrap().sees("deals/Acme"));
        assert!(!acc.read_scope(Some(&rep)).unwrap().sees("deals/Acme"));
        assert!(!acc.read_scope(None).unwrap().sees("deals/Acme"));
        assert!(acc.read_scope(Some(&rep)).unwrap().sees("playbooks/Discovery"));

        acc.remove_member("deal-desk", "lee").unwrap();
        assert!(!acc.read_scope(Some(&lead)).unwrap().sees("deals/Acme"));
        acc.add_member("deal-desk", "lee").unwrap();
        acc.remove_group("deal-desk").unwrap();
        assert!(
            !acc.read_scope(Some(&lead)).unwrap().sees("deals/Acme"),
            "removing the group leaves the folder to administrators"
        );
        assert_eq!(acc.folder_rules().unwrap()[0].groups, Vec::<String>::new());
        acc.remove_folder_rule("deals").unwrap();
        assert!(acc.read_scope(None).unwrap().is_everything());
        assert!(acc.remove_folder_rule("deals").is_err());
    }

    #[test]
    fn bad_rules_and_unknown_groups_change_nothing() {
        let (_d, acc) = accounts();
        acc.add_group("a").unwrap();
        acc.set_folder_rule("deals", &["a"]).unwrap();
        assert!(acc.set_folder_rule("deals", &["a", "nobody"]).is_err());
        assert!(acc.set_folder_rule("de*ls", &["a"]).is_err());
        assert!(acc.add_group("no spaces").is_err());
        assert!(acc.add_member("a", "ghost").is_err());
        assert_eq!(
            acc.folder_rules().unwrap(),
            vec![FolderRule { folder: "deals".into(), groups: vec!["a".into()] }]
        );
        assert_eq!(acc.groups().unwrap(), vec![Group { name: "a".into(), members: vec![] }]);
    }
}
