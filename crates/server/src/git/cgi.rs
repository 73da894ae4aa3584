//! Running `git http-backend` as a CGI program for git over HTTP (see [`super`],
//! which applies the access rules and builds the command): the request body streams into its
//! standard input under the push size limit, its CGI headers become the response's status and
//! headers, the rest of its output streams back as the body, and a backend idle too long is
//! stopped. After a push the engine catches up with the branch before the last byte goes out.
//! Also `blob_body`, a file streamed from `git cat-file blob`.

use crate::AppState;
use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use casebook_core::Error;
use casebook_engine::Engine;
use futures_util::StreamExt;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdout, Command};

/// A short answer for the git client, which shows a `text/plain` body to its user.
pub(crate) fn text(status: StatusCode, message: &str) -> Response {
    answer(status, "text/plain; charset=utf-8", format!("{message}\n").into_bytes())
}

/// An answer of the server's own to the git client, never cached.
pub(crate) fn answer(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body)
        .into_response()
}

pub(crate) fn too_large(limit: u64) -> Response {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!(
            "the push is larger than this wiki accepts ({limit} bytes); push fewer commits at a time"
        ),
    )
}

/// Environment variables passed on to git from the server's own; everything else is left out.
pub(crate) const KEPT_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "XDG_CONFIG_HOME",
    "TMPDIR",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
];

/// The content of the blob `blob` (hex id) of the repository at `repo`, streamed from
/// `git cat-file blob`, which reads it in pieces whether it is loose or packed whole, so memory
/// does not grow with its size (libgit2 would inflate a packed object whole). Git streams a
/// packed blob only over `core.bigFileThreshold` (512 MiB by default: below it, it inflates the
/// blob in memory), and maps packs in windows of up to 1 GiB: both are set low here, which took
/// git's peak memory for a packed 200 MiB file from 1.3 GB to 20 MB. The process is stopped if
/// the response is dropped, as when the client goes away.
pub(crate) fn blob_body(repo: &std::path::Path, blob: &str) -> casebook_core::Result<Body> {
    let mut cmd = Command::new("git");
    cmd.env_clear();
    for key in KEPT_ENV {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    cmd.arg("--no-replace-objects")
        .arg("-C")
        .arg(repo)
        .args(["-c", "core.bigFileThreshold=1m"])
        .args(["-c", "core.packedGitWindowSize=4m", "-c", "core.packedGitLimit=16m"])
        .args(["cat-file", "blob", blob])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::unavailable(format!("cannot run git to read a file: {e}")))?;
    let stdout =
        child.stdout.take().ok_or_else(|| Error::internal("cannot read from git cat-file"))?;
    struct Cat {
        child: Child,
        stdout: ChildStdout,
        blob: String,
        done: bool,
    }
    let cat = Cat { child, stdout, blob: blob.to_string(), done: false };
    let chunks = futures_util::stream::unfold(cat, |mut cat| async move {
        if cat.done {
            return None;
        }
        let mut buf = vec![0u8; 64 * 1024];
        match cat.stdout.read(&mut buf).await {
            Ok(0) => match cat.child.wait().await {
                Ok(status) if status.success() => None,
                _ => {
                    cat.done = true;
                    tracing::warn!(blob = %cat.blob, "git cat-file could not read a file");
                    Some((Err(std::io::Error::other("git could not read the file")), cat))
                }
            },
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), cat))
            }
            Err(e) => {
                cat.done = true;
                Some((Err(e), cat))
            }
        }
    });
    Ok(Body::from_stream(chunks))
}

/// Why feeding the request body to git stopped early.
#[derive(Debug, PartialEq, Eq)]
enum Feed {
    TooLarge,
    ClientGone,
}

/// Output kept in memory while the request body is still going in, at most.
const EARLY_OUTPUT: usize = 1 << 20;
/// The CGI header block, at most.
const MAX_HEAD: usize = 64 * 1024;

/// Runs `cmd` (`git http-backend`, see `super::command`) with `body` as its input and answers
/// with its output; `push` says whether the engine catches up with the branch at the end.
pub(crate) async fn run(mut cmd: Command, body: Body, st: &AppState, push: bool) -> Response {
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot run git http-backend");
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server cannot start git (is it installed?), so the repository cannot be served",
            );
        }
    };
    let (Some(stdin), Some(mut stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot talk to git http-backend");
    };
    let stderr = tokio::spawn(read_stderr(stderr));
    let limit = st.opts.max_push_bytes;
    let idle = st.opts.git_timeout;
    let fed = Arc::new(AtomicU64::new(0));
    let overflow = Arc::new(AtomicBool::new(false));
    let mut feeder = tokio::spawn(feed(body, stdin, limit, fed.clone(), overflow.clone()));

    // The backend writes its headers at once and its answer once it has read the request:
    // keep what it says while the body goes in, so that a body found too large still gets a
    // clean 413 instead of half an answer.
    let mut out: Vec<u8> = Vec::new();
    let mut eof = false;
    let mut feeding = true;
    let mut seen = 0;
    let mut buf = vec![0u8; 32 * 1024];
    while feeding || head_end(&out).is_none() {
        if eof || out.len() >= if feeding { EARLY_OUTPUT } else { MAX_HEAD } {
            break;
        }
        tokio::select! {
            r = &mut feeder, if feeding => {
                feeding = false;
                match r {
                    Ok(Ok(())) => {}
                    Ok(Err(Feed::TooLarge)) => {
                        let _ = child.start_kill();
                        return too_large(limit);
                    }
                    Ok(Err(Feed::ClientGone)) | Err(_) => {
                        let _ = child.start_kill();
                        return text(StatusCode::BAD_REQUEST, "the request body was cut off");
                    }
                }
            }
            r = stdout.read(&mut buf) => match r {
                Ok(0) => eof = true,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read from git http-backend");
                    eof = true;
                }
            },
            _ = tokio::time::sleep(idle) => {
                let now = fed.load(Ordering::Relaxed);
                if now == seen {
                    feeder.abort();
                    let _ = child.start_kill();
                    tracing::warn!(timeout = ?idle, "git http-backend made no progress; stopped it");
                    return text(StatusCode::GATEWAY_TIMEOUT, "the git backend did not answer in time");
                }
                seen = now;
            }
        }
    }
    let Some((head_len, body_start)) = head_end(&out) else {
        let _ = child.start_kill();
        tracing::error!(
            output = %String::from_utf8_lossy(&out[..out.len().min(200)]),
            "git http-backend gave no CGI headers"
        );
        return text(
            StatusCode::BAD_GATEWAY,
            "the git backend gave no answer; the details are in the server's log",
        );
    };
    let mut resp = match parse_head(&out[..head_len]) {
        Ok(r) => r,
        Err(e) => {
            let _ = child.start_kill();
            tracing::error!(error = %e, "git http-backend gave unreadable CGI headers");
            return text(StatusCode::BAD_GATEWAY, "the git backend gave an unreadable answer");
        }
    };
    let tail = Tail {
        first: Some(Bytes::copy_from_slice(&out[body_start..])),
        stdout,
        child,
        eof,
        idle,
        overflow,
        after_push: push.then(|| st.engine.clone()),
        stderr: Some(stderr),
        done: false,
    };
    *resp.body_mut() = Body::from_stream(futures_util::stream::unfold(tail, Tail::next));
    resp
}

/// Streams the request body into git's standard input, counting it against the limit.
async fn feed(
    body: Body,
    mut stdin: tokio::process::ChildStdin,
    limit: u64,
    fed: Arc<AtomicU64>,
    overflow: Arc<AtomicBool>,
) -> Result<(), Feed> {
    let mut stream = body.into_data_stream();
    let mut total: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Feed::ClientGone)?;
        total += chunk.len() as u64;
        if total > limit {
            overflow.store(true, Ordering::Relaxed);
            return Err(Feed::TooLarge);
        }
        fed.store(total, Ordering::Relaxed);
        if stdin.write_all(&chunk).await.is_err() {
            // The backend stopped reading: it has answered (an error) and its answer says why.
            return Ok(());
        }
    }
    let _ = stdin.shutdown().await;
    Ok(())
}

/// What the backend says on its standard error (the start of it), for the log.
async fn read_stderr(mut stderr: tokio::process::ChildStderr) -> String {
    let mut msg = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut buf).await {
        if n == 0 {
            break;
        }
        if msg.len() < 8192 {
            msg.extend_from_slice(&buf[..n]);
        }
    }
    String::from_utf8_lossy(&msg).trim().to_string()
}

/// Where the CGI header block ends: (its length, where the body starts).
fn head_end(out: &[u8]) -> Option<(usize, usize)> {
    let crlf = out.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, i + 4));
    let lf = out.windows(2).position(|w| w == b"\n\n").map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// The CGI header block as a response: `Status:` gives the status (200 when absent), every
/// other line is a header.
fn parse_head(head: &[u8]) -> Result<Response, String> {
    let head = std::str::from_utf8(head).map_err(|_| "headers are not UTF-8".to_string())?;
    let mut resp = Response::new(Body::empty());
    for line in head.lines().filter(|l| !l.trim().is_empty()) {
        let (name, value) =
            line.split_once(':').ok_or_else(|| format!("not a header line: {line:?}"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or("");
            *resp.status_mut() = code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .ok_or_else(|| format!("not a status: {value:?}"))?;
            continue;
        }
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("not a header name: {name:?}"))?;
        let value =
            HeaderValue::from_str(value).map_err(|_| format!("not a header value: {value:?}"))?;
        resp.headers_mut().append(name, value);
    }
    Ok(resp)
}

/// The rest of the backend's output, streamed; at its end the backend is waited for and, after
/// a push, the engine catches up with the branch before the last byte goes out.
struct Tail {
    first: Option<Bytes>,
    stdout: ChildStdout,
    child: Child,
    eof: bool,
    idle: Duration,
    overflow: Arc<AtomicBool>,
    after_push: Option<Engine>,
    stderr: Option<tokio::task::JoinHandle<String>>,
    done: bool,
}

impl Tail {
    async fn next(mut self) -> Option<(std::io::Result<Bytes>, Tail)> {
        if let Some(first) = self.first.take().filter(|b| !b.is_empty()) {
            return Some((Ok(first), self));
        }
        if self.done {
            return None;
        }
        if self.overflow.load(Ordering::Relaxed) {
            return self.fail("the push is larger than this wiki accepts");
        }
        if !self.eof {
            let mut buf = vec![0u8; 32 * 1024];
            match tokio::time::timeout(self.idle, self.stdout.read(&mut buf)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => {
                    buf.truncate(n);
                    return Some((Ok(Bytes::from(buf)), self));
                }
                Ok(Err(e)) => return self.fail(&format!("cannot read from git: {e}")),
                Err(_) => return self.fail("git http-backend made no progress; stopped it"),
            }
        }
        self.finish().await;
        None
    }

    fn fail(mut self, why: &str) -> Option<(std::io::Result<Bytes>, Tail)> {
        tracing::warn!(reason = why, "git over HTTP stopped");
        let _ = self.child.start_kill();
        self.done = true;
        Some((Err(std::io::Error::other(why.to_string())), self))
    }

    async fn finish(&mut self) {
        let ok = match tokio::time::timeout(self.idle, self.child.wait()).await {
            Ok(Ok(status)) => status.success(),
            Ok(Err(_)) => false,
            Err(_) => {
                let _ = self.child.start_kill();
                tracing::warn!("git http-backend did not exit; stopped it");
                false
            }
        };
        // Its warnings are routine (git repeats them to the client); its errors are not.
        let said = match self.stderr.take() {
            Some(h) => tokio::time::timeout(Duration::from_secs(1), h)
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default(),
            None => String::new(),
        };
        if !ok {
            tracing::warn!(stderr = %said, "git http-backend failed");
        } else if !said.is_empty() {
            tracing::debug!(stderr = %said, "git http-backend said");
        }
        if let Some(engine) = self.after_push.take() {
            match crate::blocking(move || engine.sync()).await {
                Ok(true) => tracing::info!("a push moved the wiki forward"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "cannot catch up with a push"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgi_headers_become_a_response() {
        let out = b"Status: 403 Forbidden\r\nContent-Type: text/plain\r\nExpires: Fri, 01 Jan 1980 00:00:00 GMT\r\n\r\nno";
        let (len, start) = head_end(out).unwrap();
        assert_eq!(&out[start..], b"no");
        let resp = parse_head(&out[..len]).unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(resp.headers()["content-type"], "text/plain");
        assert!(resp.headers().contains_key("expires"));

        let out = b"Content-Type: application/x-git-upload-pack-result\n\nPACK";
        let (len, start) = head_end(out).unwrap();
        assert_eq!(&out[start..], b"PACK");
        assert_eq!(parse_head(&out[..len]).unwrap().status(), StatusCode::OK);

        assert!(parse_head(b"Status: nonsense").is_err());
        assert!(parse_head(b"no colon here").is_err());
        assert!(head_end(b"Content-Type: x\r\n").is_none());
    }
}
