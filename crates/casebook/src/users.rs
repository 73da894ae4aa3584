//! `casebook user …`, `token …`, `group …` and `rule …`: accounts, API tokens, groups and
//! folder rules from the command line.

use crate::config::{Common, Config, plain};
use crate::{GroupCommand, Members, RuleCommand, TokenCommand, UserCommand};
use anyhow::{Result, anyhow, bail};
use casebook_accounts::{Accounts, Role};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Opens the accounts database in the data dir, refusing a data dir inside the content
/// repository (accounts must never be committed with the pages).
pub fn open_accounts(cfg: &Config) -> Result<Accounts> {
    check_data_dir(cfg)?;
    Accounts::open(&cfg.data).map_err(plain)
}

/// The accounts database of the wiki the command's options name.
fn accounts(common: &Common) -> Result<Accounts> {
    open_accounts(&Config::resolve(common)?)
}

/// Does `change` to each of the accounts named, in turn, printing what it says it did.
fn each_member(
    m: &Members,
    change: impl Fn(&Accounts, &str) -> casebook_core::Result<String>,
) -> Result<()> {
    let acc = accounts(&m.common)?;
    for u in &m.users {
        println!("{}", change(&acc, u).map_err(plain)?);
    }
    Ok(())
}

/// Refuses a data dir inside the content repository, before anything is written to it.
pub fn check_data_dir(cfg: &Config) -> Result<()> {
    if let (Some(data), Ok(repo)) = (resolved(&cfg.data), cfg.repo.canonicalize())
        && data.starts_with(&repo)
    {
        bail!(
            "the data folder {} is inside the content repository {}; choose a --data outside it",
            cfg.data.display(),
            cfg.repo.display()
        );
    }
    Ok(())
}

/// The absolute, symlink-free form of a path that may not exist yet: its nearest existing
/// ancestor resolved, the rest appended.
fn resolved(path: &Path) -> Option<PathBuf> {
    let mut rest = Vec::new();
    let mut cur = path;
    loop {
        if let Ok(real) = cur.canonicalize() {
            return Some(rest.iter().rev().fold(real, |p, c| p.join(c)));
        }
        rest.push(cur.file_name()?.to_os_string());
        cur = cur.parent()?;
        if cur.as_os_str().is_empty() {
            cur = Path::new(".");
        }
    }
}

fn role(s: &str) -> Result<Role> {
    s.parse().map_err(plain)
}

/// The password from the first line of standard input, or a new random one.
fn password(from_stdin: bool) -> Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| anyhow!("cannot read the password from standard input: {e}"))?;
        let pw = line.trim_end_matches(['\n', '\r']).to_string();
        if pw.is_empty() {
            bail!("no password on standard input; write it as the first line");
        }
        Ok((pw, false))
    } else {
        // 20 hex digits: 80 bits, easy to copy.
        Ok((casebook_accounts::new_secret()[..20].to_string(), true))
    }
}

pub fn user(cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add { name, email, role: r, password_stdin, common } => {
            let role = role(&r)?;
            let (pw, generated) = password(password_stdin)?;
            let acc = accounts(&common)?;
            let user = acc.add_user(&name, &email, role, &pw).map_err(plain)?;
            println!("added {} <{}> as {}", user.name, user.email, user.role);
            if generated {
                println!("password (shown once): {pw}");
            }
        }
        UserCommand::List(common) => {
            let acc = accounts(&common)?;
            for u in acc.users().map_err(plain)? {
                println!("{}\t{}\t{}", u.name, u.email, u.role);
            }
        }
        UserCommand::Passwd { name, password_stdin, common } => {
            let acc = accounts(&common)?;
            acc.require_user(&name).map_err(plain)?;
            let (pw, generated) = password(password_stdin)?;
            acc.set_password(&name, &pw).map_err(plain)?;
            println!("password of {name} changed; its sessions have ended");
            if generated {
                println!("password (shown once): {pw}");
            }
        }
        UserCommand::Remove { name, common } => {
            let acc = accounts(&common)?;
            acc.remove_user(&name).map_err(plain)?;
            println!("removed {name}, its tokens and its sessions");
        }
        UserCommand::Role { name, role: r, common } => {
            let role = role(&r)?;
            let acc = accounts(&common)?;
            let u = acc.set_role(&name, role).map_err(plain)?;
            println!("{} is now {}", u.name, u.role);
        }
    }
    Ok(())
}

pub fn token(cmd: TokenCommand) -> Result<()> {
    match cmd {
        TokenCommand::Create { name, label, common } => {
            let acc = accounts(&common)?;
            let (info, secret) = acc.create_token(&name, &label).map_err(plain)?;
            eprintln!("token {} for {name}; it is shown once, keep it somewhere safe:", info.id);
            println!("{secret}");
        }
        TokenCommand::List { name, common } => {
            let acc = accounts(&common)?;
            for t in acc.tokens(&name).map_err(plain)? {
                let last = t
                    .last_used
                    .map(|s| casebook_core::Timestamp::new(s, 0).short())
                    .unwrap_or_else(|| "never used".into());
                println!(
                    "{}\t{}\t{}\t{}",
                    t.id,
                    casebook_core::Timestamp::new(t.created, 0).short(),
                    last,
                    t.label
                );
            }
        }
        TokenCommand::Revoke { name, id, common } => {
            let acc = accounts(&common)?;
            acc.revoke_token(&name, id).map_err(plain)?;
            println!("token {id} of {name} revoked");
        }
    }
    Ok(())
}

pub fn group(cmd: GroupCommand) -> Result<()> {
    match cmd {
        GroupCommand::Create { name, common } => {
            accounts(&common)?.add_group(&name).map_err(plain)?;
            println!("made the group {name}");
        }
        GroupCommand::Delete { name, common } => {
            accounts(&common)?.remove_group(&name).map_err(plain)?;
            println!("removed the group {name}");
        }
        GroupCommand::Add(m) => each_member(&m, |acc, u| {
            acc.add_member(&m.group, u)?;
            Ok(format!("{u} is in {}", m.group))
        })?,
        GroupCommand::Remove(m) => each_member(&m, |acc, u| {
            acc.remove_member(&m.group, u)?;
            Ok(format!("{u} is no longer in {}", m.group))
        })?,
        GroupCommand::List(common) => {
            let acc = accounts(&common)?;
            for g in acc.groups().map_err(plain)? {
                println!("{}\t{}", g.name, g.members.join(" "));
            }
        }
    }
    Ok(())
}

pub fn rule(cmd: RuleCommand) -> Result<()> {
    match cmd {
        RuleCommand::Set { folder, groups, common } => {
            let acc = accounts(&common)?;
            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            let rule = acc.set_folder_rule(&folder, &groups).map_err(plain)?;
            println!("{}", rule_line(&rule));
        }
        RuleCommand::Remove { folder, common } => {
            accounts(&common)?.remove_folder_rule(&folder).map_err(plain)?;
            println!("{folder} is open to every reader again");
        }
        RuleCommand::List(common) => {
            let acc = accounts(&common)?;
            for r in acc.folder_rules().map_err(plain)? {
                println!("{}", rule_line(&r));
            }
        }
    }
    Ok(())
}

fn rule_line(r: &casebook_accounts::FolderRule) -> String {
    if r.groups.is_empty() {
        format!("{}\tadministrators only", r.pattern())
    } else {
        format!("{}\t{} and administrators", r.pattern(), r.groups.join(", "))
    }
}
