//! The theme: templates and static files compiled in from `themes/default/`, each overridable by
//! a file of the same name in the configured theme folder.

use casebook_core::{Error, Result};
use minijinja::{Environment, Value};
use std::borrow::Cow;
use std::path::PathBuf;

#[derive(rust_embed::RustEmbed)]
#[folder = "../../themes/default/"]
struct Default;

pub struct Theme {
    env: Environment<'static>,
    dir: Option<PathBuf>,
}

impl std::fmt::Debug for Theme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Theme").field("dir", &self.dir).finish()
    }
}

fn read(dir: &Option<PathBuf>, name: &str) -> Option<Cow<'static, [u8]>> {
    if name.split('/').any(|s| s.is_empty() || s.starts_with('.')) {
        return None;
    }
    if let Some(d) = dir
        && let Ok(bytes) = std::fs::read(d.join(name))
    {
        return Some(Cow::Owned(bytes));
    }
    Default::get(name).map(|f| f.data)
}

/// Percent-encodes a page path for a URL, segment by segment.
fn urlpath(s: String) -> String {
    s.split('/')
        .map(|seg| {
            percent_encoding::utf8_percent_encode(seg, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Theme {
    pub fn load(dir: Option<PathBuf>) -> Result<Theme> {
        if let Some(d) = &dir
            && !d.is_dir()
        {
            return Err(Error::invalid(format!("the theme folder {} does not exist", d.display())));
        }
        let mut env = Environment::new();
        let loader_dir = dir.clone();
        env.set_loader(move |name| {
            Ok(read(&loader_dir, &format!("templates/{name}"))
                .map(|b| String::from_utf8_lossy(&b).into_owned()))
        });
        env.add_filter("urlpath", urlpath);
        env.add_filter("short", |s: String| s.chars().take(7).collect::<String>());
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        let theme = Theme { env, dir };
        // Fail at start-up, not on the first request, when a template does not compile.
        for name in ["base.html", "error.html", "page.html", "edit.html"] {
            theme.env.get_template(name).map_err(|e| {
                Error::invalid(format!("the theme's template {name} is broken: {e}"))
            })?;
        }
        Ok(theme)
    }

    /// Renders a template. A template that fails (a broken override) is reported in the page
    /// and the log rather than as a blank answer.
    pub fn render(&self, name: &str, ctx: Value) -> String {
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(template = name, error = %e, "template failed");
                format!(
                    "<!doctype html><title>Template error</title><h1>The theme's template {name} failed</h1><pre>{}</pre>",
                    e.to_string().replace('&', "&amp;").replace('<', "&lt;")
                )
            }
        }
    }

    /// A static file of the theme with its content type.
    pub fn static_file(&self, name: &str) -> Option<(Cow<'static, [u8]>, &'static str)> {
        let data = read(&self.dir, &format!("static/{name}"))?;
        Some((data, content_type(name)))
    }
}

pub(crate) fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "pdf" => "application/pdf",
        "txt" | "csv" => "text/plain; charset=utf-8",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}
