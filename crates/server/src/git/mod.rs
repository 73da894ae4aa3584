//! Git over HTTP at `/wiki.git`: clone, fetch and push with the plain git client.
//!
//! Casebook does not speak the pack protocol itself. Each request is checked against the
//! wiki's access rules (reading for clone and fetch, editing for push) and then handed to
//! git's own `git http-backend`, run as a CGI program by [`cgi`]: the request body
//! streams into its standard input, its CGI headers become the response's status and headers,
//! and the rest of its output streams back as the body. After a push the engine catches up with
//! the branch at once, so the pushed pages are readable and searchable when `git push` returns.

mod cgi;
pub(crate) mod hook;
mod refs;

pub(crate) use cgi::blob_body;

use crate::{Actor, AppState};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::any;
use casebook_core::{Error, ErrorKind};
use cgi::{KEPT_ENV, answer, run, text, too_large};
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/wiki.git/{*rest}", any(serve))
}

/// What a request to the repository asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Clone or fetch, smart or dumb.
    Read,
    /// Push, or the list of refs a push starts with.
    Push,
}

/// The paths `git http-backend` answers, and nothing else: the path is joined to the
/// repository's, so only these known shapes may reach it.
fn classify(rest: &str, query: &str) -> Option<Want> {
    match rest {
        "git-receive-pack" => Some(Want::Push),
        "info/refs" if asks_for_push(query) => Some(Want::Push),
        "info/refs"
        | "git-upload-pack"
        | "HEAD"
        | "objects/info/packs"
        | "objects/info/alternates"
        | "objects/info/http-alternates" => Some(Want::Read),
        _ if is_object_file(rest) => Some(Want::Read),
        _ => None,
    }
}

/// Whether a query asks for the push service, decoded as `git http-backend` decodes it. Any
/// service but `git-upload-pack` counts, so that no spelling slips past the edit check.
fn asks_for_push(query: &str) -> bool {
    query.split('&').any(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        decode(key) == "service" && decode(value) != "git-upload-pack"
    })
}

/// A loose object (`objects/ab/cdef…`) or a pack file (`objects/pack/pack-….pack|idx`), for
/// dumb clients; SHA-1 or SHA-256 names.
fn is_object_file(rest: &str) -> bool {
    let hex = |s: &str, lens: &[usize]| {
        lens.contains(&s.len()) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let Some((dir, file)) = rest.strip_prefix("objects/").and_then(|o| o.split_once('/')) else {
        return false;
    };
    if dir == "pack" {
        return file
            .strip_prefix("pack-")
            .and_then(|n| n.strip_suffix(".pack").or_else(|| n.strip_suffix(".idx")))
            .is_some_and(|h| hex(h, &[40, 64]));
    }
    hex(dir, &[2]) && hex(file, &[38, 62])
}

/// A refusal by the access rules: 401 with a Basic challenge, so that git asks for a user
/// name and password, when the visitor is not signed in; 403 when they are.
fn refuse(e: Error) -> Response {
    let status = crate::error::status(e.kind);
    let mut resp = text(status, &e.message);
    if e.kind == ErrorKind::Unauthorized {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Casebook\", charset=\"UTF-8\""),
        );
    }
    resp
}

/// Git copies the whole repository or nothing, so a clone (or push) needs every folder: someone
/// whom a folder rule keeps out of one gets no git access at all.
fn allowed(actor: &Actor, want: Want) -> casebook_core::Result<()> {
    match want {
        Want::Read => actor.require_read(),
        Want::Push => actor.require_edit(),
    }?;
    if actor.scope.is_everything() {
        Ok(())
    } else if actor.signed_in {
        Err(Error::forbidden(
            "some folders of this wiki are closed to you, and git copies the whole repository; ask an administrator",
        ))
    } else {
        Err(Error::unauthorized(
            "some folders of this wiki are restricted: sign in with an account that may read them all",
        ))
    }
}

async fn serve(
    State(st): State<AppState>,
    Path(rest): Path<String>,
    actor: Actor,
    req: Request,
) -> Response {
    let query = req.uri().query().unwrap_or("").to_string();
    let Some(want) = classify(&rest, &query) else {
        return text(StatusCode::NOT_FOUND, "not a path of the wiki's git repository");
    };
    if let Err(e) = allowed(&actor, want) {
        return refuse(e);
    }
    if want == Want::Push && !st.engine.is_bare() {
        return text(
            StatusCode::FORBIDDEN,
            "this wiki's repository has a working tree (it is not bare), so it does not take \
             pushes over HTTP; commit on the server's copy, or run the wiki on a bare repository",
        );
    }
    let limit = st.opts.max_push_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large(limit);
    }
    let cmd = command(&st, &actor, want, &rest, &query, &req);
    // A push names its refs before its pack: one to a branch the wiki does not show is refused
    // here (git would take it, and the wiki never show it). A compressed body goes to git as it is.
    let plain = !req.headers().contains_key(header::CONTENT_ENCODING);
    let body = if rest == "git-receive-pack" && plain {
        match only_the_branch(req.into_body(), st.engine.branch(), limit, st.opts.git_timeout).await
        {
            Ok(body) => body,
            Err(refused) => return refused,
        }
    } else {
        req.into_body()
    };
    run(cmd, body, &st, want == Want::Push).await
}

/// The command list of a push is at most this long before it is left to git.
const COMMANDS_MAX: usize = 1 << 20;

/// Reads the start of a push's body up to the end of its command list: the body, whole again,
/// when every ref named is the wiki's branch (or the list cannot be read); else the refusal,
/// once the rest of the body (the pack) has been read and dropped, so the client hears it.
/// (Git itself also refuses any other ref, by `receive.hideRefs` in [`command`]: this is for the
/// message, and so that a push lands whole or not at all.)
async fn only_the_branch(
    body: Body,
    branch: &str,
    limit: u64,
    idle: Duration,
) -> Result<Body, Response> {
    use refs::{Reader, Scan, advice, refusal, wants_report};
    let mut stream = body.into_data_stream();
    // The next piece of the body; the client stalling or going away ends the request, as it
    // does while the body streams into git.
    let mut next = async || match tokio::time::timeout(idle, stream.next()).await {
        Ok(Some(Ok(chunk))) => Ok(Some(chunk)),
        Ok(None) => Ok(None),
        Ok(Some(Err(_))) => Err(text(StatusCode::BAD_REQUEST, "the request body was cut off")),
        Err(_) => Err(text(StatusCode::REQUEST_TIMEOUT, "the push stalled")),
    };
    let mut head: Vec<u8> = Vec::new();
    let mut reader = Reader::default();
    let found = loop {
        match reader.scan(&head) {
            Scan::Done(c) => break Some(c),
            Scan::Unreadable => break None,
            Scan::More if head.len() > COMMANDS_MAX => break None,
            Scan::More => {}
        }
        match next().await? {
            Some(chunk) => head.extend_from_slice(&chunk),
            None => break None,
        }
    };
    let Some(c) = found.filter(|c| c.refs.iter().any(|r| r != branch)) else {
        let first = futures_util::stream::iter([Ok::<_, axum::Error>(Bytes::from(head))]);
        return Ok(Body::from_stream(first.chain(stream)));
    };
    if !wants_report(&c) {
        return Err(text(StatusCode::FORBIDDEN, &advice(branch)));
    }
    let mut total = head.len() as u64;
    while let Some(chunk) = next().await? {
        total += chunk.len() as u64;
        if total > limit {
            return Err(too_large(limit));
        }
    }
    tracing::info!(refs = ?c.refs, "refused a push to refs the wiki does not show");
    Err(answer(StatusCode::OK, "application/x-git-receive-pack-result", refusal(&c, branch)))
}

/// `git http-backend` with the CGI variables of this request.
fn command(
    st: &AppState,
    actor: &Actor,
    want: Want,
    rest: &str,
    query: &str,
    req: &Request,
) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("http-backend").env_clear();
    for key in KEPT_ENV {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    // `rest` is one of the shapes `classify` allows, so this stays inside the repository. For
    // a repository with a working tree, git finds its `.git` directory on its own.
    let repo = st.engine.repo_path();
    cmd.env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_TRANSLATED", repo.join(rest))
        .env("PATH_INFO", format!("/{rest}"))
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REQUEST_METHOD", req.method().as_str())
        .env("QUERY_STRING", query);
    let headers = req.headers();
    let h = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(v) = h(&header::CONTENT_TYPE) {
        cmd.env("CONTENT_TYPE", v);
    }
    if let Some(v) = h(&header::CONTENT_LENGTH) {
        cmd.env("CONTENT_LENGTH", v);
    }
    if let Some(v) = h(&header::CONTENT_ENCODING) {
        cmd.env("HTTP_CONTENT_ENCODING", v);
    }
    if let Some(v) = headers.get("git-protocol").and_then(|v| v.to_str().ok()) {
        cmd.env("GIT_PROTOCOL", v);
    }
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        cmd.env("REMOTE_ADDR", addr.ip().to_string());
    }
    if actor.signed_in {
        cmd.env("REMOTE_USER", &actor.author.name);
    }
    // Who moved a ref, as git records it in the reflog.
    cmd.env("GIT_COMMITTER_NAME", &actor.author.name)
        .env("GIT_COMMITTER_EMAIL", &actor.author.email);
    // The wiki's rules for pushes, whatever the repository's own configuration says: pushing
    // is on only for a request already allowed to push; only the wiki's branch may move (every
    // other ref is hidden, and git refuses to update a hidden one); history is never rewritten
    // or deleted; objects are checked as they arrive.
    // A pushed page obeys the limit of a page saved on the web: the pre-receive hook of
    // `hook` refuses the push otherwise. Blobs over a megabyte are streamed to disk as they
    // arrive, not inflated in git's memory (git's own threshold is 512 MiB).
    let push = if want == Want::Push { "true" } else { "false" };
    let shown = format!("!{}", st.engine.branch());
    let hooks = st.git_hooks.to_string_lossy();
    let mut config = vec![
        ("http.uploadpack", "true"),
        ("http.receivepack", push),
        ("receive.hideRefs", "refs/"),
        ("receive.hideRefs", shown.as_str()),
        ("receive.denyNonFastForwards", "true"),
        ("receive.denyDeletes", "true"),
        ("receive.fsckObjects", "true"),
    ];
    if want == Want::Push {
        config.push(("core.hooksPath", hooks.as_ref()));
        config.push(("core.bigFileThreshold", "1m"));
        cmd.env(hook::LIMIT_VAR, st.engine.max_page_bytes().to_string());
    }
    cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
    for (i, (key, value)) in config.iter().enumerate() {
        cmd.env(format!("GIT_CONFIG_KEY_{i}"), key).env(format!("GIT_CONFIG_VALUE_{i}"), value);
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_paths_reach_git() {
        assert_eq!(classify("info/refs", "service=git-upload-pack"), Some(Want::Read));
        assert_eq!(classify("info/refs", "service=git-receive-pack"), Some(Want::Push));
        assert_eq!(classify("info/refs", "service=git%2dreceive%2Dpack"), Some(Want::Push));
        assert_eq!(classify("info/refs", ""), Some(Want::Read));
        assert_eq!(classify("git-upload-pack", ""), Some(Want::Read));
        assert_eq!(classify("git-receive-pack", ""), Some(Want::Push));
        assert_eq!(classify("HEAD", ""), Some(Want::Read));
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(classify(&format!("objects/{}/{}", &sha[..2], &sha[2..]), ""), Some(Want::Read));
        assert_eq!(classify(&format!("objects/pack/pack-{sha}.idx"), ""), Some(Want::Read));
        for bad in [
            "config",
            "hooks/pre-receive",
            "../other/info/refs",
            "objects/../config",
            "objects/pack/pack-../../x.pack",
            "objects/AB/CDEF",
            "info/refs/",
            "refs/heads/main",
            "description",
        ] {
            assert_eq!(classify(bad, ""), None, "{bad}");
        }
    }
}
