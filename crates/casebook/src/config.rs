//! Settings, parsed once: a flag wins over `CASEBOOK_<KEY>` in the environment, which wins over
//! the config file (TOML), which wins over the default.

use anyhow::{Context, Result, bail};
use casebook_engine::SearchLanguage;
use casebook_server::{Access, OidcOptions, Role};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Options every command takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Common {
    /// The git repository holding the content [default: DATA/wiki.git].
    #[arg(long, env = "CASEBOOK_REPO")]
    pub repo: Option<PathBuf>,
    /// Where the server keeps the index and other derived state [default: ./casebook-data].
    #[arg(long, env = "CASEBOOK_DATA")]
    pub data: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "CASEBOOK_BIND")]
    pub bind: Option<String>,
    /// A TOML config file [default: ./casebook.toml when it exists].
    #[arg(long, env = "CASEBOOK_CONFIG")]
    pub config: Option<PathBuf>,
    /// What visitors who are not signed in may do: none, read or edit [default: read].
    #[arg(long, env = "CASEBOOK_ANONYMOUS")]
    pub anonymous: Option<String>,
    /// A folder whose files override the default theme's, file by file.
    #[arg(long, env = "CASEBOOK_THEME_DIR")]
    pub theme_dir: Option<PathBuf>,
    /// Log format: text or json [default: text].
    #[arg(long, env = "CASEBOOK_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Language of the word forms search folds together (english, french, german, ...), or none
    /// [default: english]. A change rebuilds the search index.
    #[arg(long, env = "CASEBOOK_SEARCH_LANGUAGE")]
    pub search_language: Option<String>,
    /// The folder of a sentence-embedding model for search by meaning (config.json,
    /// model.safetensors, tokenizer.json), or `none` [default: DATA/models/all-MiniLM-L6-v2
    /// when `casebook model fetch` has put it there; without a model, search goes by words].
    #[arg(long, env = "CASEBOOK_SEMANTIC_MODEL")]
    pub semantic_model: Option<String>,
    /// The address people reach the wiki at, e.g. https://wiki.example.com (an https address
    /// makes the session cookie Secure).
    #[arg(long, env = "CASEBOOK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// An SMTP relay (HOST:PORT, plain SMTP, e.g. 127.0.0.1:25) for notification e-mails;
    /// needs --smtp-from. Without it, notifications stay in the inbox.
    #[arg(long, env = "CASEBOOK_SMTP_RELAY")]
    pub smtp_relay: Option<String>,
    /// The sender address of notification e-mails.
    #[arg(long, env = "CASEBOOK_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Single sign-on: the OpenID Connect provider's issuer URL (https; plain http only on a
    /// loopback address). Needs --oidc-client-id, the client secret (CASEBOOK_OIDC_CLIENT_SECRET
    /// or `oidc_client_secret` in the config file, never a flag) and --public-url; the
    /// provider must allow PUBLIC_URL/login/oidc/callback as a redirect URI.
    #[arg(long, env = "CASEBOOK_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// Single sign-on: this wiki's client id at the provider.
    #[arg(long, env = "CASEBOOK_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// Single sign-on: the provider's name on the sign-in button [default: single sign-on].
    #[arg(long, env = "CASEBOOK_OIDC_NAME")]
    pub oidc_name: Option<String>,
    /// Single sign-on: the role of accounts made on a first sign-on: reader, editor or admin
    /// [default: reader].
    #[arg(long, env = "CASEBOOK_OIDC_ROLE")]
    pub oidc_role: Option<String>,
    /// Single sign-on: admit only people whose e-mail address the provider verified and whose
    /// domain is one of these, separated by commas (e.g. example.com,example.org) [default: any].
    #[arg(long, env = "CASEBOOK_OIDC_ALLOWED_DOMAINS")]
    pub oidc_allowed_domains: Option<String>,
    /// Single sign-on: admit only people whose ID token lists this group in its `groups` claim
    /// [default: none needed].
    #[arg(long, env = "CASEBOOK_OIDC_REQUIRED_GROUP")]
    pub oidc_required_group: Option<String>,
}

/// The config file. Unknown keys are an error, so a typo does not silently do nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    repo: Option<PathBuf>,
    data: Option<PathBuf>,
    bind: Option<String>,
    anonymous: Option<String>,
    theme_dir: Option<PathBuf>,
    log_format: Option<String>,
    log_level: Option<String>,
    site_name: Option<String>,
    max_page_bytes: Option<usize>,
    max_attachment_bytes: Option<usize>,
    max_push_bytes: Option<u64>,
    anonymous_name: Option<String>,
    anonymous_email: Option<String>,
    search_language: Option<String>,
    semantic_model: Option<String>,
    public_url: Option<String>,
    trusted_proxy: Option<bool>,
    remote_images: Option<bool>,
    smtp_relay: Option<String>,
    smtp_from: Option<String>,
    oidc_issuer: Option<String>,
    oidc_client_id: Option<String>,
    oidc_client_secret: Option<String>,
    oidc_name: Option<String>,
    oidc_role: Option<String>,
    oidc_allowed_domains: Option<Vec<String>>,
    oidc_required_group: Option<String>,
}

/// Everything resolved and validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub repo: PathBuf,
    pub data: PathBuf,
    pub bind: String,
    pub anonymous: Access,
    pub theme_dir: Option<PathBuf>,
    pub log_format: String,
    pub log_level: String,
    pub site_name: String,
    pub max_page_bytes: usize,
    pub max_attachment_bytes: usize,
    pub max_push_bytes: u64,
    pub anonymous_name: String,
    pub anonymous_email: String,
    pub import_name: String,
    pub import_email: String,
    pub search_language: SearchLanguage,
    pub public_url: Option<String>,
    pub trusted_proxy: bool,
    /// Pages may show images from other sites.
    pub remote_images: bool,
    pub smtp_relay: Option<String>,
    pub smtp_from: Option<String>,
    pub oidc: Option<OidcOptions>,
    /// The model of search by meaning, if any.
    pub semantic_model: Option<PathBuf>,
}

/// A yes/no setting from the environment (`CASEBOOK_<key>`), if given.
fn env_flag(key: &str) -> Result<Option<bool>> {
    match env(key) {
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Some(true)),
            "false" | "0" | "no" => Ok(Some(false)),
            _ => bail!("CASEBOOK_{key} must be true or false, not '{v}'"),
        },
        None => Ok(None),
    }
}

/// A number of bytes from the environment (`CASEBOOK_<key>`), if given.
fn env_bytes<T>(key: &str) -> Result<Option<T>>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    env(key)
        .map(|v| {
            v.parse::<T>().with_context(|| format!("CASEBOOK_{key} must be a number of bytes"))
        })
        .transpose()
}

/// A library error as the command line shows it: its message alone.
pub(crate) fn plain(e: casebook_core::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", e.message)
}

fn env(key: &str) -> Option<String> {
    std::env::var(format!("CASEBOOK_{key}")).ok().filter(|v| !v.is_empty())
}

impl Config {
    pub fn resolve(c: &Common) -> Result<Config> {
        let file = match &c.config {
            Some(path) => read_file(path)?,
            None if Path::new("casebook.toml").is_file() => read_file(Path::new("casebook.toml"))?,
            None => File::default(),
        };
        // A flag (or its variable in the environment), else the file's key of the same name.
        macro_rules! given {
            ($key:ident) => {
                c.$key.clone().or(file.$key)
            };
        }
        // The variable `CASEBOOK_<var>` in the environment, else the file's key, else a default.
        macro_rules! env_or_file {
            ($var:literal, $key:ident, $default:literal) => {
                env($var).or(file.$key).unwrap_or_else(|| $default.into())
            };
        }
        let data = given!(data).unwrap_or_else(|| PathBuf::from("casebook-data"));
        let repo = given!(repo).unwrap_or_else(|| data.join("wiki.git"));
        let bind = given!(bind).unwrap_or_else(|| "127.0.0.1:8080".into());
        if bind.parse::<std::net::SocketAddr>().is_err() && !bind.contains(':') {
            bail!(
                "--bind '{bind}' is not an address; write it as HOST:PORT, for example 127.0.0.1:8080"
            );
        }
        let anonymous: Access =
            given!(anonymous).unwrap_or_else(|| "read".into()).parse().map_err(plain)?;
        let log_format = given!(log_format).unwrap_or_else(|| "text".into());
        if !matches!(log_format.as_str(), "text" | "json") {
            bail!("log format must be text or json, not '{log_format}'");
        }
        let max_page_bytes = env_bytes::<usize>("MAX_PAGE_BYTES")?
            .or(file.max_page_bytes)
            .unwrap_or(5 * 1024 * 1024);
        if max_page_bytes < 1024 {
            bail!("max_page_bytes must be at least 1024");
        }
        let max_attachment_bytes = env_bytes::<usize>("MAX_ATTACHMENT_BYTES")?
            .or(file.max_attachment_bytes)
            .unwrap_or(20 * 1024 * 1024);
        if max_attachment_bytes < 1024 {
            bail!("max_attachment_bytes must be at least 1024");
        }
        let search_language: SearchLanguage =
            given!(search_language).unwrap_or_else(|| "english".into()).parse().map_err(plain)?;
        let semantic_model = match given!(semantic_model).map(|m| m.trim().to_string()) {
            Some(m) if m.eq_ignore_ascii_case("none") || m.is_empty() => None,
            Some(m) => {
                let dir = PathBuf::from(m);
                if !dir.join("model.safetensors").is_file() {
                    bail!(
                        "semantic_model '{}' holds no model.safetensors; run `casebook model fetch`, or set it to none",
                        dir.display()
                    );
                }
                Some(dir)
            }
            None => Some(crate::model::default_dir(&data))
                .filter(|d| d.join("model.safetensors").is_file()),
        };
        let public_url = given!(public_url).map(|u| u.trim_end_matches('/').to_string());
        if let Some(u) = &public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            bail!("public_url '{u}' must start with http:// or https://");
        }
        let trusted_proxy = env_flag("TRUSTED_PROXY")?.or(file.trusted_proxy).unwrap_or(false);
        let remote_images = env_flag("REMOTE_IMAGES")?.or(file.remote_images).unwrap_or(false);
        let max_push_bytes =
            env_bytes::<u64>("MAX_PUSH_BYTES")?.or(file.max_push_bytes).unwrap_or(1 << 30);
        if max_push_bytes < 1024 {
            bail!("max_push_bytes must be at least 1024");
        }
        // The single sign-on keys on their own: other keys have been moved out of `file`.
        let file_oidc = File {
            oidc_issuer: file.oidc_issuer.clone(),
            oidc_client_id: file.oidc_client_id.clone(),
            oidc_client_secret: file.oidc_client_secret.clone(),
            oidc_name: file.oidc_name.clone(),
            oidc_role: file.oidc_role.clone(),
            oidc_allowed_domains: file.oidc_allowed_domains.clone(),
            oidc_required_group: file.oidc_required_group.clone(),
            ..File::default()
        };
        let smtp_relay = given!(smtp_relay).filter(|s| !s.trim().is_empty());
        let smtp_from = given!(smtp_from).filter(|s| !s.trim().is_empty());
        if let Some(relay) = &smtp_relay {
            let port_ok = relay
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !port_ok {
                bail!("smtp_relay '{relay}' is not HOST:PORT, for example 127.0.0.1:25");
            }
        }
        if let Some(from) = &smtp_from {
            casebook_accounts::check_email(from)
                .map_err(|_| anyhow::anyhow!("smtp_from '{from}' is not an e-mail address"))?;
        }
        if smtp_relay.is_some() != smtp_from.is_some() {
            bail!("smtp_relay and smtp_from go together: set both to send e-mail, or neither");
        }
        let oidc = oidc(c, &file_oidc, public_url.as_deref())?;
        Ok(Config {
            oidc,
            smtp_relay,
            smtp_from,
            search_language,
            semantic_model,
            public_url,
            trusted_proxy,
            remote_images,
            repo,
            data,
            bind,
            anonymous,
            theme_dir: given!(theme_dir),
            log_format,
            log_level: env_or_file!("LOG_LEVEL", log_level, "info"),
            site_name: env_or_file!("SITE_NAME", site_name, "Casebook"),
            max_page_bytes,
            max_attachment_bytes,
            max_push_bytes,
            anonymous_name: env_or_file!("ANONYMOUS_NAME", anonymous_name, "Anonymous"),
            anonymous_email: env_or_file!(
                "ANONYMOUS_EMAIL",
                anonymous_email,
                "anonymous@casebook.invalid"
            ),
            import_name: env("IMPORT_NAME").unwrap_or_else(|| "Casebook import".into()),
            import_email: env("IMPORT_EMAIL").unwrap_or_else(|| "import@casebook.invalid".into()),
        })
    }
}

/// The single sign-on settings: none of the keys, or issuer, client id and secret together
/// (name, role, allowed domains and required group are optional), with `public_url` for the
/// redirect URI.
fn oidc(c: &Common, file: &File, public_url: Option<&str>) -> Result<Option<OidcOptions>> {
    let pick = |flag: &Option<String>, key: &Option<String>| {
        flag.clone().or_else(|| key.clone()).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    };
    let issuer = pick(&c.oidc_issuer, &file.oidc_issuer);
    let client_id = pick(&c.oidc_client_id, &file.oidc_client_id);
    let secret = pick(&env("OIDC_CLIENT_SECRET"), &file.oidc_client_secret);
    let name = pick(&c.oidc_name, &file.oidc_name);
    let role = pick(&c.oidc_role, &file.oidc_role);
    // A flag or the environment lists domains separated by commas; the file as an array.
    let domains: Option<Vec<String>> = match &c.oidc_allowed_domains {
        Some(list) => Some(
            list.split(',').map(str::trim).filter(|d| !d.is_empty()).map(str::to_string).collect(),
        ),
        None => file.oidc_allowed_domains.clone(),
    };
    let allowed_domains = domains
        .unwrap_or_default()
        .iter()
        .map(|d| casebook_server::check_allowed_domain(d).map_err(plain))
        .collect::<Result<Vec<String>>>()?;
    let required_group = pick(&c.oidc_required_group, &file.oidc_required_group);
    let required = [
        ("oidc_issuer", issuer.is_some()),
        ("oidc_client_id", client_id.is_some()),
        ("oidc_client_secret", secret.is_some()),
    ];
    let any = required.iter().any(|(_, set)| *set)
        || name.is_some()
        || role.is_some()
        || !allowed_domains.is_empty()
        || required_group.is_some();
    if !any {
        return Ok(None);
    }
    let missing: Vec<&str> = required.iter().filter(|(_, set)| !set).map(|(k, _)| *k).collect();
    if !missing.is_empty() {
        bail!(
            "single sign-on is half configured: {} {} missing (set oidc_issuer, oidc_client_id and oidc_client_secret together, or none of the oidc keys)",
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" }
        );
    }
    let (Some(issuer), Some(client_id), Some(client_secret)) = (issuer, client_id, secret) else {
        bail!("single sign-on needs oidc_issuer, oidc_client_id and oidc_client_secret");
    };
    casebook_server::check_provider_url("oidc_issuer", &issuer).map_err(plain)?;
    if public_url.is_none() {
        bail!(
            "single sign-on needs public_url: the provider sends people back to PUBLIC_URL/login/oidc/callback"
        );
    }
    let role: Role = role
        .as_deref()
        .unwrap_or("reader")
        .parse()
        .map_err(|e: casebook_core::Error| anyhow::anyhow!("oidc_role: {}", e.message))?;
    Ok(Some(OidcOptions {
        allowed_domains,
        required_group,
        ..OidcOptions::new(
            issuer,
            client_id,
            client_secret,
            name.unwrap_or_else(|| "single sign-on".into()),
            role,
        )
    }))
}

fn read_file(path: &Path) -> Result<File> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    toml::from_str(&text)
        .with_context(|| format!("the config file {} is not valid", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Options naming a config file that holds `toml`, in a temp dir that lives as long as the
    /// dir returned.
    fn with_file(toml: &str) -> (tempfile::TempDir, Common) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("casebook.toml");
        std::fs::write(&file, toml).unwrap();
        let common = Common { config: Some(file.clone()), ..Common::default() };
        (dir, common)
    }

    /// The single sign-on settings `common` resolves to.
    fn oidc_of(common: &Common) -> OidcOptions {
        Config::resolve(common).unwrap().oidc.unwrap()
    }

    fn with_smtp(relay: Option<&str>, from: Option<&str>) -> Result<Config> {
        Config::resolve(&Common {
            smtp_relay: relay.map(str::to_string),
            smtp_from: from.map(str::to_string),
            ..Common::default()
        })
    }

    #[test]
    fn smtp_keys_go_together_and_are_checked() {
        let cfg = with_smtp(Some("127.0.0.1:2525"), Some("wiki@example.com")).unwrap();
        assert_eq!(cfg.smtp_relay.as_deref(), Some("127.0.0.1:2525"));
        assert_eq!(cfg.smtp_from.as_deref(), Some("wiki@example.com"));
        let none = with_smtp(None, None).unwrap();
        assert!(none.smtp_relay.is_none() && none.smtp_from.is_none());
        for (relay, from, says) in [
            (Some("127.0.0.1:2525"), None, "go together"),
            (None, Some("wiki@example.com"), "go together"),
            (Some("localhost"), Some("wiki@example.com"), "HOST:PORT"),
            (Some("localhost:smtp"), Some("wiki@example.com"), "HOST:PORT"),
            (Some("127.0.0.1:25"), Some("wiki"), "e-mail address"),
        ] {
            let err = with_smtp(relay, from).unwrap_err().to_string();
            assert!(err.contains(says), "{relay:?} {from:?}: {err}");
        }
    }

    #[test]
    fn oidc_keys_go_together_and_need_a_public_url() {
        let (_dir, common) = with_file(
            "oidc_issuer = \"https://id.example.com\"\noidc_client_id = \"wiki\"\n\
             oidc_client_secret = \"s3cret\"\npublic_url = \"https://wiki.example.com\"\n",
        );
        let o = oidc_of(&common);
        assert_eq!(o.issuer, "https://id.example.com");
        assert_eq!((o.client_id.as_str(), o.client_secret.as_str()), ("wiki", "s3cret"));
        assert_eq!((o.name.as_str(), o.role), ("single sign-on", Role::Reader));
        let o = oidc_of(&Common {
            oidc_name: Some("Example ID".into()),
            oidc_role: Some("editor".into()),
            ..common.clone()
        });
        assert_eq!((o.name.as_str(), o.role), ("Example ID", Role::Editor));
        assert!(o.allowed_domains.is_empty() && o.required_group.is_none());
        assert!(Config::resolve(&Common::default()).unwrap().oidc.is_none());

        for (text, says) in [
            (
                "oidc_issuer = \"https://id.example.com\"\npublic_url = \"https://w.example\"\n",
                "oidc_client_id, oidc_client_secret are missing",
            ),
            ("oidc_name = \"X\"\n", "half configured"),
            (
                "oidc_issuer = \"https://id.example.com\"\noidc_client_id = \"w\"\noidc_client_secret = \"s\"\n",
                "needs public_url",
            ),
            (
                "oidc_issuer = \"http://id.example.com\"\noidc_client_id = \"w\"\noidc_client_secret = \"s\"\npublic_url = \"https://w.example\"\n",
                "must use https",
            ),
            (
                "oidc_issuer = \"https://id.example.com\"\noidc_client_id = \"w\"\noidc_client_secret = \"s\"\npublic_url = \"https://w.example\"\noidc_role = \"root\"\n",
                "oidc_role",
            ),
            ("oidc_allowed_domains = [\"example.com\"]\n", "half configured"),
            ("oidc_required_group = \"sales\"\n", "half configured"),
            (
                "oidc_issuer = \"https://id.example.com\"\noidc_client_id = \"w\"\noidc_client_secret = \"s\"\npublic_url = \"https://w.example\"\noidc_allowed_domains = [\"*.example.com\"]\n",
                "not an e-mail domain",
            ),
            ("oidc_allowed_domains = \"example.com\"\n", "not valid"),
            ("oidc_allowed_domain = [\"example.com\"]\n", "not valid"),
        ] {
            std::fs::write(common.config.as_ref().unwrap(), text).unwrap();
            let err = Config::resolve(&common).unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn who_may_sign_on_comes_from_the_file_and_flags_win() {
        let (_dir, common) = with_file(
            "oidc_issuer = \"https://id.example.com\"\noidc_client_id = \"wiki\"\n\
             oidc_client_secret = \"s3cret\"\npublic_url = \"https://wiki.example.com\"\n\
             oidc_allowed_domains = [\"Example.com\", \"@example.org\"]\n\
             oidc_required_group = \"sales\"\n",
        );
        let o = oidc_of(&common);
        assert_eq!(o.allowed_domains, ["example.com", "example.org"]);
        assert_eq!(o.required_group.as_deref(), Some("sales"));
        let o = oidc_of(&Common {
            oidc_allowed_domains: Some("corp.example, , team.example".into()),
            oidc_required_group: Some("wiki-users".into()),
            ..common.clone()
        });
        assert_eq!(o.allowed_domains, ["corp.example", "team.example"]);
        assert_eq!(o.required_group.as_deref(), Some("wiki-users"));
        let err = Config::resolve(&Common {
            oidc_allowed_domains: Some("corp.example,ann@corp.example".into()),
            ..common
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("not an e-mail domain"), "{err}");
    }

    #[test]
    fn smtp_keys_come_from_the_file_and_flags_win() {
        let (_dir, common) =
            with_file("smtp_relay = \"mail.internal:25\"\nsmtp_from = \"wiki@example.com\"\n");
        let cfg = Config::resolve(&common).unwrap();
        assert_eq!(cfg.smtp_relay.as_deref(), Some("mail.internal:25"));
        let cfg = Config::resolve(&Common { smtp_relay: Some("127.0.0.1:2525".into()), ..common })
            .unwrap();
        assert_eq!(cfg.smtp_relay.as_deref(), Some("127.0.0.1:2525"));
        assert_eq!(cfg.smtp_from.as_deref(), Some("wiki@example.com"));
    }

    #[test]
    fn the_attachment_limit_comes_from_the_file_or_is_20_mib() {
        assert_eq!(Config::resolve(&Common::default()).unwrap().max_attachment_bytes, 20 << 20);
        let (_dir, common) = with_file("max_attachment_bytes = 1048576\n");
        assert_eq!(Config::resolve(&common).unwrap().max_attachment_bytes, 1 << 20);
        let (_dir, common) = with_file("max_attachment_bytes = 10\n");
        let err = Config::resolve(&common).unwrap_err().to_string();
        assert!(err.contains("max_attachment_bytes"), "{err}");
    }
}
