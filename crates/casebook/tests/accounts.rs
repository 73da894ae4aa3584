//! Accounts from the command line, then the real binary serving them: the token the CLI printed
//! writes pages under the account's name, and the first-run setup link is in the log.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

struct Cli {
    tmp: tempfile::TempDir,
}

impl Cli {
    /// A wiki and its data in a new temp dir.
    fn new() -> Cli {
        Cli { tmp: tempfile::tempdir().unwrap() }
    }

    /// `user add NAME --email NAME@example.com [--role ROLE] --password-stdin`: what it said.
    fn add_user(&self, name: &str, role: Option<&str>, password: &str) -> String {
        let email = format!("{name}@example.com");
        let mut args = vec!["user", "add", name, "--email", &email];
        if let Some(role) = role {
            args.extend(["--role", role]);
        }
        args.push("--password-stdin");
        self.ok(&args, Some(&format!("{password}\n")))
    }

    /// Runs the binary with `args` (and where the wiki and its data are) and `stdin`.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_casebook"))
            .args(args)
            .arg("--repo")
            .arg(self.tmp.path().join("wiki.git"))
            .arg("--data")
            .arg(self.tmp.path().join("data"))
            .env_remove("CASEBOOK_ANONYMOUS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str], stdin: Option<&str>, message: &str) {
        let out = self.run(args, stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("error: ") && err.contains(message), "{err}");
    }
}

/// A command line's words.
fn words(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

#[test]
fn users_and_tokens_from_the_command_line() {
    let cli = Cli::new();
    let out = cli.add_user("ann", Some("editor"), "correct horse battery");
    assert!(out.contains("added ann"), "{out}");
    // Without --password-stdin a password is made up and shown once.
    let out = cli.ok(&words("user add bob --email bob@example.com --role reader"), None);
    let generated = out.lines().find_map(|l| l.strip_prefix("password (shown once): ")).unwrap();
    assert!(generated.len() >= 16, "{out}");

    cli.fails(&["user", "add", "cy", "--email", "nope"], None, "not a valid email");
    cli.fails(
        &words("user add ann --email a@example.com --password-stdin"),
        Some("long enough\n"),
        "exists already",
    );
    cli.fails(
        &words("user add cy --email cy@example.com --role root"),
        None,
        "reader, editor or admin",
    );
    cli.fails(
        &words("user add cy --email cy@example.com --password-stdin"),
        Some("short\n"),
        "at least 8",
    );
    cli.fails(&["token", "create", "nobody"], None, "no user named");
    let list = cli.ok(&["user", "list"], None);
    assert_eq!(list, "ann\tann@example.com\teditor\nbob\tbob@example.com\treader\n");

    let out = cli.ok(&["user", "role", "bob", "editor"], None);
    assert!(out.contains("bob is now editor"));
    cli.ok(&["user", "passwd", "bob", "--password-stdin"], Some("bobs new password\n"));

    cli.ok(&["user", "add", "eve", "--email", "eve@example.com"], None);
    cli.ok(&["user", "remove", "eve"], None);
    cli.fails(&["user", "remove", "eve"], None, "no user named");

    let token = cli.ok(&["token", "create", "ann", "--label", "ci"], None);
    let token = token.trim();
    assert!(token.starts_with("cbt_") && token.len() > 60, "{token}");
    let list = cli.ok(&["token", "list", "ann"], None);
    assert!(list.contains("\tci\n") && list.contains("never used"), "{list}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(cli.tmp.path().join("data/accounts.db")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn groups_and_folder_rules_from_the_command_line() {
    let cli = Cli::new();
    cli.add_user("ann", None, "a long password");
    cli.ok(&["group", "create", "deal-desk"], None);
    cli.fails(&["group", "create", "Deal-Desk"], None, "there is a group named");
    cli.ok(&["group", "add", "deal-desk", "ann"], None);
    cli.fails(&["group", "add", "deal-desk", "ghost"], None, "ghost");
    assert_eq!(cli.ok(&["group", "list"], None), "deal-desk\tann\n");
    let set = cli.ok(&["rule", "set", "deals/**", "--group", "deal-desk"], None);
    assert_eq!(set, "deals/**\tdeal-desk and administrators\n");
    cli.fails(&["rule", "set", "deals/*.md", "--group", "deal-desk"], None, "folder/**");
    cli.fails(&["rule", "set", "x/**", "--group", "nobody"], None, "nobody");
    cli.ok(&["rule", "set", "board"], None);
    assert_eq!(
        cli.ok(&["rule", "list"], None),
        "board/**\tadministrators only\ndeals/**\tdeal-desk and administrators\n",
        "refused rules changed nothing"
    );
    cli.ok(&["rule", "remove", "board/**"], None);
    cli.fails(&["rule", "remove", "board"], None, "no rule");
    cli.ok(&["group", "delete", "deal-desk"], None);
    assert_eq!(
        cli.ok(&["rule", "list"], None),
        "deals/**\tadministrators only\n",
        "a deleted group leaves its folders to administrators"
    );
}

#[test]
fn a_data_dir_inside_the_content_repository_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("notes");
    common::git(tmp.path(), &["init", "-q", work.to_str().unwrap()]);
    let out = Command::new(env!("CARGO_BIN_EXE_casebook"))
        .args(["user", "list", "--repo"])
        .arg(&work)
        .arg("--data")
        .arg(work.join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("inside the content repository"), "{err}");
    assert!(!work.join("data").exists(), "nothing is created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_wiki_knows_the_cli_accounts() {
    let cli = Cli::new();
    cli.add_user("ann", Some("editor"), "correct horse battery");
    let token = cli.ok(&["token", "create", "ann"], None).trim().to_string();
    let repo = cli.tmp.path().join("wiki.git");

    let mut server = Command::new(env!("CARGO_BIN_EXE_casebook"))
        .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "text"])
        .arg("--repo")
        .arg(&repo)
        .arg("--data")
        .arg(cli.tmp.path().join("data"))
        .env_remove("CASEBOOK_ANONYMOUS")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = server.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut base, mut setup) = (None, None);
    while base.is_none() || setup.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server logs its address and the setup link");
        if let Some(at) = line.find("url=http://") {
            base = Some(line[at + 4..].split_whitespace().next().unwrap().to_string());
        }
        if let Some(at) = line.find("http://")
            && line.contains("/setup?code=")
        {
            setup = Some(line[at..].split_whitespace().next().unwrap().to_string());
        }
    }
    let (base, setup) = (base.unwrap(), setup.unwrap());
    let http = reqwest::Client::new();
    let page = format!("{base}/api/v1/pages/team/From%20CLI");
    let body = serde_json::json!({"markdown": "# From CLI\n"});

    let anon = http.put(&page).json(&body).send().await.unwrap();
    assert_eq!(anon.status().as_u16(), 401, "visitors may only read by default");
    let put = http.put(&page).bearer_auth(&token).json(&body).send().await.unwrap();
    assert_eq!(put.status().as_u16(), 201);
    assert_eq!(
        common::git(&repo, &["log", "-1", "--format=%an <%ae>"]).trim(),
        "ann <ann@example.com>"
    );

    let form = http.get(&setup).send().await.unwrap();
    assert_eq!(form.status().as_u16(), 200);
    assert!(form.text().await.unwrap().contains("Create the administrator"));

    let _ = server.kill();
    let _ = server.wait();
}
