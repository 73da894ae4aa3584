//! Hostile markup stays inert in a real browser. A corpus of XSS payloads is planted through
//! every door a visitor has (page body, title, path, tags, front matter fields, the form of a
//! new typed page, discussion threads and comments, search queries) into the real server on
//! `127.0.0.1:0`; then every page that shows them is loaded in headless Chromium, twice:
//!
//! - as Casebook serves it, Content-Security-Policy and all;
//! - through a mirror owned by this test that serves the same bytes without the CSP header and
//!   adds a probe script, so that what is tested is the markup itself: the probe lists any
//!   element, attribute or URL that could run script, follows every `javascript:` link, and
//!   drives the theme script (editor preview, search suggestions) so its own DOM writes are seen.
//!
//! Every payload, if it ran, marks the document with `data-xssran<N>`; the DOM after the page
//! ran is read with `chromium --dump-dom`. A positive control, a page of the mirror that is not
//! Casebook's, runs payloads of the same shape and must be caught, so the test cannot pass
//! without looking.
//!
//! Without Chromium the test prints "skipped: chromium not installed" and passes, unless
//! `CASEBOOK_REQUIRE_BROWSER=1` (CI), where it fails.

mod common;

use casebook_server::Access;
use common::{Server, enc, enc_path, page_url};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

/// The script every payload runs: it marks the top document, where `--dump-dom` sees it.
fn js(n: usize) -> String {
    format!("top.document.documentElement.dataset.xssran{n}=1")
}

/// What a template engine would print if it evaluated the template-injection payloads.
const EVALUATED: &[&str] = &["54439", "ranranran", "[object"];

/// Payloads that work as a line of text anywhere: raw HTML, attribute breaking, URL schemes,
/// parser confusion, template injection. `{JS}` is the marker script, `{CTL}` the mirror's
/// origin (a navigation there is caught as well).
const MARKUP: &[&str] = &[
    "<script>{JS}</script>",
    "<img src=x onerror={JS}>",
    "<svg onload={JS}>",
    "<svg><script>{JS}</script></svg>",
    "<iframe srcdoc=\"<script>{JS}</script>\"></iframe>",
    "\"><img src=x onerror={JS}>",
    "'><img src=x onerror={JS}>",
    "\" autofocus onfocus=\"{JS}",
    "' autofocus onfocus='{JS}",
    "</title><script>{JS}</script>",
    "</textarea><script>{JS}</script>",
    "<body onload={JS}>",
    "<details open ontoggle={JS}>x</details>",
    "<math><mtext><table><mglyph><style><img src=x onerror={JS}>",
    "<svg><style><img src=x onerror={JS}></style></svg>",
    "<noscript><p title=\"</noscript><img src=x onerror={JS}>\">",
    "<a href=\"javascript:{JS}\">x</a>",
    "<a href=\" javascript:{JS}\">x</a>",
    "<a href=\"jav&#x09;ascript:{JS}\">x</a>",
    "<a href=\"javascript&#58;{JS}\">x</a>",
    "<a href=\"JaVaScRiPt:{JS}\">x</a>",
    "<a href=\"&#106;avascript:{JS}\">x</a>",
    "<a href=javascript&colon;{JS}>x</a>",
    "<a href=\"data:text/html,<script>{JS}</script>\">x</a>",
    "<form action=\"{CTL}/__ran/0\"><button formaction=\"javascript:{JS}\">go</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url={CTL}/__ran/0\">",
    "<base href=\"{CTL}/__ran/0/\">",
    "<object data=\"javascript:{JS}\"></object>",
    "<embed src=\"javascript:{JS}\">",
    "<style>@import '{CTL}/__ran/0.css';</style>",
    "<div style=\"background:url(javascript:{JS})\">x</div>",
    "<input autofocus onfocus={JS}>",
    "<video><source onerror={JS}></video>",
    "<audio src=x onerror={JS}>",
    "<marquee onstart={JS}>x</marquee>",
    "<svg><animate onbegin={JS} attributeName=x dur=1s>",
    "<svg><a xlink:href=\"javascript:{JS}\"><text x=20 y=20>x</text></a></svg>",
    "<svg><foreignObject><img src=x onerror={JS}></foreignObject></svg>",
    "<!--><img src=x onerror={JS}>-->",
    "<![CDATA[><img src=x onerror={JS}>]]>",
    "<scr<script>ipt>{JS}</scr</script>ipt>",
    "<iframe src=\"javascript:{JS}\"></iframe>",
    "<p onclick=\"{JS}\" onmouseover={JS}>x</p>",
    "<image src=x onerror={JS}>",
    "<input type=image src=x onerror={JS}>",
    "<svg onload={JS}//",
    "<a id=cb-search href=\"{CTL}/__ran/0\">clobber</a>",
    "<select autofocus onfocus={JS}><option>x</select>",
    "{{ 7*7777 }}",
    "{% for i in range(3) %}ran{% endfor %}",
    "{{ self }}${7*7777}",
    "<table background=\"javascript:{JS}\"><tr><td>x</td></tr></table>",
    "javascript:{JS}",
];

/// Markdown constructs, for the doors that render markdown (page body, comments).
const MARKDOWN: &[&str] = &[
    "[click](javascript:{JS})",
    "[click](JAVASCRIPT:{JS})",
    "[click](javascript&#58;{JS})",
    "[click](&#x6A;avascript:{JS})",
    "[click](<javascript:{JS}>)",
    "![img](javascript:{JS})",
    "![x](x\" onerror=\"{JS})",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<javascript:{JS}>",
    "[ref][rN]\n\n[rN]: javascript:{JS}",
    "[titled][tN]\n\n[tN]: /ok \"t\\\" onmouseover=\\\"{JS}\"",
    "[x](/ \"<img src=x onerror={JS}>\")",
    "`<img src=x onerror={JS}>`",
    "```html\n<script>{JS}</script>\n```",
    "```\"><img src=x onerror={JS}>\nx\n```",
    "| a | b |\n|---|---|\n| <img src=x onerror={JS}> | [x](javascript:{JS}) |",
    "Note[^fN].\n\n[^fN]: <img src=x onerror={JS}>",
    "[[<img src=x onerror={JS}>]]",
    "[[Home|<img src=x onerror={JS}>]]",
    "[[javascript:{JS}]]",
    "## \"><img src=x onerror={JS}>",
    "## Clobber {#cb-editor-form}",
    "- [x] <img src=x onerror={JS}>",
    "<div>\n\n<img src=x onerror={JS}>\n\n</div>",
];

/// The text before payload `n` in markdown doors: seeing it rendered proves the payload before
/// it did not swallow the rest of the document.
fn label(n: usize) -> String {
    format!("Payload {n}:")
}

struct Corpus {
    /// Number → payload text, markup first, then markdown.
    markup: Vec<(usize, String)>,
    markdown: Vec<(usize, String)>,
}

impl Corpus {
    fn new(ctl: &str) -> Corpus {
        let fill = |n: usize, t: &str| {
            t.replace("{JS}", &js(n))
                .replace("{CTL}", ctl)
                .replace("__ran/0", &format!("__ran/{n}"))
                .replace("rN]", &format!("r{n}]"))
                .replace("tN]", &format!("t{n}]"))
                .replace("^fN]", &format!("^f{n}]"))
        };
        let markup: Vec<(usize, String)> =
            MARKUP.iter().enumerate().map(|(i, t)| (i + 1, fill(i + 1, t))).collect();
        let markdown = MARKDOWN
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let n = MARKUP.len() + i + 1;
                (n, fill(n, t))
            })
            .collect();
        Corpus { markup, markdown }
    }

    fn len(&self) -> usize {
        self.markup.len() + self.markdown.len()
    }

    /// The markup payloads in one line, for single-line doors.
    fn line(&self) -> String {
        self.markup.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join(" ")
    }

    /// The markup payloads in lines of at most `max` bytes.
    fn lines(&self, max: usize) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, p) in &self.markup {
            match out.last_mut() {
                Some(l) if l.len() + 1 + p.len() <= max => {
                    l.push(' ');
                    l.push_str(p);
                }
                _ => out.push(p.clone()),
            }
        }
        out
    }

    fn all(&self) -> impl Iterator<Item = &(usize, String)> {
        self.markup.iter().chain(&self.markdown)
    }

    /// Payloads from number `from` on, one a paragraph after its label, for markdown doors.
    fn body(&self, from: usize) -> String {
        self.all()
            .filter(|(n, _)| *n >= from)
            .map(|(n, p)| format!("{}\n\n{p}\n", label(*n)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

// ---------------------------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------------------------

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CASEBOOK_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// The document after its scripts ran, as Chromium serialises it.
fn dump_dom(chromium: &Path, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=3000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish loading {url} within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = reader.join().unwrap();
    assert!(
        dom.contains("<html") || dom.contains("<feed") || dom.contains("<pre"),
        "chromium printed no document for {url}: {dom:.300}"
    );
    dom
}

/// What a dumped document shows of payloads that ran and of markup that could run.
#[derive(Debug, Default)]
struct Findings {
    ran: BTreeSet<String>,
    hazards: Vec<String>,
    evaluated: Vec<&'static str>,
}

impl Findings {
    fn of(dom: &str) -> Findings {
        let mut f = Findings::default();
        let mut rest = dom;
        while let Some(i) = rest.find("data-xssran") {
            rest = &rest[i + "data-xssran".len()..];
            let id: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            if rest[id.len()..].starts_with('=') {
                f.ran.insert(id);
            }
        }
        let mut rest = dom;
        while let Some(i) = rest.find("data-hazard=\"") {
            rest = &rest[i + "data-hazard=\"".len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            f.hazards.extend(
                rest[..end]
                    .split(" | ")
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.replace("&amp;", "&")),
            );
        }
        f.evaluated = EVALUATED.iter().copied().filter(|e| dom.contains(e)).collect();
        f
    }

    fn clean(&self) -> bool {
        self.ran.is_empty() && self.hazards.is_empty() && self.evaluated.is_empty()
    }
}

/// Loads every URL, a few browsers at a time, and returns what each showed.
fn load_all(chromium: &Path, urls: &[String]) -> Vec<(String, Findings, String)> {
    let queue = Arc::new(Mutex::new(urls.iter().cloned().enumerate().collect::<Vec<_>>()));
    let results = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (queue, results, chromium) = (queue.clone(), results.clone(), chromium.to_owned());
            std::thread::spawn(move || {
                loop {
                    let next = queue.lock().unwrap().pop();
                    let Some((i, url)) = next else { break };
                    let t = Instant::now();
                    let dom = dump_dom(&chromium, &url);
                    if let Some(dir) = std::env::var_os("CASEBOOK_BROWSER_DUMP") {
                        let name = format!("{i:03}.html");
                        let _ = std::fs::write(
                            Path::new(&dir).join(name),
                            format!("<!-- {url} {:?} -->\n{dom}", t.elapsed()),
                        );
                    }
                    results.lock().unwrap().push((i, url, Findings::of(&dom), dom));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut r = std::mem::take(&mut *results.lock().unwrap());
    r.sort_by_key(|x| x.0);
    r.into_iter().map(|(_, u, f, d)| (u, f, d)).collect()
}

// ---------------------------------------------------------------------------------------------
// The mirror: Casebook's bytes without the CSP header, with the probe
// ---------------------------------------------------------------------------------------------

/// Added to every HTML document the mirror serves. It flags markup that could run script, then
/// clicks every `javascript:` link, and on request drives the editor preview or the search
/// suggestions so that what the theme script writes into the page is scanned too.
const PROBE: &str = r#"<script id="cb-probe">(function () {
  var d = document, R = d.documentElement;
  function flag(msg) { R.setAttribute('data-hazard', (R.getAttribute('data-hazard') || '') + ' | ' + msg); }
  var BAD = ['iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'portal', 'style',
    'animate', 'set', 'foreignobject', 'math', 'svg', 'template', 'noscript', 'xmp', 'plaintext'];
  var URLS = /^(href|src|action|formaction|xlink:href|data|poster|background|cite|srcset|ping|codebase|lowsrc|dynsrc)$/;
  function scan(when) {
    var ids = {};
    d.querySelectorAll('*').forEach(function (el) {
      var tag = el.localName.toLowerCase();
      if (el.id === 'cb-probe') return;
      if (tag === 'script' && !/^\/static\/(casebook|editor)\.js$/.test(el.getAttribute('src') || '')) flag(when + ': script element');
      if (BAD.indexOf(tag) >= 0) flag(when + ': ' + tag + ' element');
      if (tag === 'meta' && el.hasAttribute('http-equiv')) flag(when + ': meta http-equiv');
      if (tag === 'link' && !/^(stylesheet|icon|alternate)$/.test(el.getAttribute('rel') || '')) flag(when + ': link rel=' + el.getAttribute('rel'));
      if (el.id && el.id.indexOf('cb-') === 0) { if (ids[el.id]) flag(when + ': second element with id ' + el.id); ids[el.id] = 1; }
      for (var i = 0; i < el.attributes.length; i++) {
        var a = el.attributes[i], name = a.name.toLowerCase();
        if (/^on/.test(name)) flag(when + ': handler ' + name + ' on ' + tag);
        if (name === 'style' || name === 'srcdoc') flag(when + ': ' + name + ' attribute on ' + tag);
        if (URLS.test(name)) {
          var u; try { u = new URL(a.value, d.baseURI); } catch (e) { continue; }
          if (/^(javascript|vbscript|data):$/.test(u.protocol)) flag(when + ': ' + name + '=' + u.protocol + ' on ' + tag);
          if ((name === 'action' || name === 'formaction') && u.origin !== location.origin) flag(when + ': off-site ' + name);
        }
      }
    });
    d.querySelectorAll('a').forEach(function (a) {
      if (/^\s*javascript:/i.test(a.href)) { try { a.click(); } catch (e) {} }
    });
  }
  d.addEventListener('DOMContentLoaded', function () {
    scan('page');
    var h = location.hash;
    if (h === '#probe-preview') {
      var tab = d.querySelector('.editor-tabs [data-tab="preview"]');
      if (!tab) flag('no preview tab'); else tab.click();
    } else if (h.indexOf('#probe-suggest=') === 0) {
      var box = d.getElementById('cb-search');
      if (!box) { flag('no search box'); } else {
        box.focus(); box.value = decodeURIComponent(h.slice(15));
        box.dispatchEvent(new Event('input', { bubbles: true }));
      }
    }
    setTimeout(function () {
      if (h === '#probe-preview' && !d.querySelector('#cb-preview .markdown, #cb-preview p, #cb-preview h2')) flag('preview did not render');
      if (h.indexOf('#probe-suggest=') === 0 && !d.querySelector('#cb-suggest a')) flag('no suggestions shown');
      scan('after script');
      R.setAttribute('data-probe-done', '1');
    }, 1500);
  });
})();</script>"#;

/// A page that is not Casebook's and runs payloads of the corpus's shape: the probe and the
/// marker must catch it, or the test proves nothing.
fn control_page() -> String {
    format!(
        "<!doctype html><html><head><title>control</title></head><body>\
         <img src=x onerror={}><svg onload={}></svg><a href=\"javascript:{}\">x</a></body></html>",
        js(9001),
        js(9002),
        js(9003)
    )
}

/// Answers to form posts, kept to be shown again at `/__saved/NAME` (a browser loads by GET).
type Saved = Arc<Mutex<BTreeMap<String, String>>>;

fn mirror(listener: TcpListener, casebook: String, saved: Saved) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let (casebook, saved) = (casebook.clone(), saved.clone());
        std::thread::spawn(move || {
            let _ = relay(conn, &casebook, &saved);
        });
    }
}

fn read_request(conn: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((head, body))
}

fn relay(mut conn: TcpStream, casebook: &str, saved: &Saved) -> std::io::Result<()> {
    let (head, body) = read_request(&mut conn)?;
    let mut first = head.lines().next().unwrap_or("").split(' ');
    let (method, target) = (first.next().unwrap_or("GET"), first.next().unwrap_or("/"));
    let answer = |status: &str, ctype: &str, body: &[u8]| {
        let mut out = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    };
    let reply = if target == "/__control" {
        answer("200 OK", "text/html; charset=utf-8", inject(&control_page()).as_bytes())
    } else if let Some(name) = target.strip_prefix("/__saved/") {
        let doc = saved.lock().unwrap().get(name).cloned().unwrap_or_default();
        answer("200 OK", "text/html; charset=utf-8", inject(&doc).as_bytes())
    } else if let Some(n) = target.strip_prefix("/__ran/") {
        let n: String = n.chars().take_while(|c| c.is_ascii_digit()).collect();
        let page =
            format!("<!doctype html><html data-xssran{n}=\"navigated\"><body>ran</body></html>");
        answer("200 OK", "text/html", page.as_bytes())
    } else {
        // Ask Casebook with HTTP/1.0: the answer ends when the connection closes, no chunks.
        let mut up = TcpStream::connect(casebook)?;
        let ctype = head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type").then(|| v.trim().to_string())
        });
        let mut req = format!("{method} {target} HTTP/1.0\r\nhost: {casebook}\r\n");
        if let Some(t) = ctype {
            req.push_str(&format!("content-type: {t}\r\n"));
        }
        req.push_str(&format!(
            "x-requested-with: casebook\r\ncontent-length: {}\r\n\r\n",
            body.len()
        ));
        up.write_all(req.as_bytes())?;
        up.write_all(&body)?;
        let mut raw = Vec::new();
        up.read_to_end(&mut raw)?;
        let split =
            raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or(raw.len());
        let up_head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = up_head.lines();
        let status = lines
            .next()
            .unwrap_or("")
            .split_once(' ')
            .map(|x| x.1)
            .unwrap_or("502 Bad Gateway")
            .to_string();
        let mut ctype = "application/octet-stream".to_string();
        let mut location = None;
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                match k.to_ascii_lowercase().as_str() {
                    "content-type" => ctype = v.trim().to_string(),
                    "location" => location = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        let mut up_body = raw[split..].to_vec();
        let doc = up_body.len() > 15 && up_body[..15].eq_ignore_ascii_case(b"<!doctype html>");
        if ctype.starts_with("text/html") && doc {
            up_body = inject(&String::from_utf8_lossy(&up_body)).into_bytes();
        }
        let mut out = answer(&status, &ctype, &up_body);
        if let Some(loc) = location {
            let at = out.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
            out.splice(at..at, format!("location: {loc}\r\n").into_bytes());
        }
        out
    };
    conn.write_all(&reply)
}

/// The probe goes first in the document, before anything a payload could put there.
fn inject(html: &str) -> String {
    match html.find("<head>") {
        Some(i) => format!("{}{PROBE}{}", &html[..i + 6], &html[i + 6..]),
        None => format!("{PROBE}{html}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Planting
// ---------------------------------------------------------------------------------------------

/// The fields of a case story that every door fills: text, enum, money and date fields.
const CASE_FIELDS: [&str; 8] =
    ["customer", "industry", "region", "outcome", "deal_type", "deal_size", "currency", "closed"];

/// A YAML scalar for any text (YAML reads JSON strings).
fn yaml(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

struct Planter {
    http: reqwest::Client,
    base: String,
}

impl Planter {
    async fn put(&self, path: &str, markdown: &str) {
        let resp = self
            .http
            .put(page_url(&self.base, path))
            .json(&json!({"markdown": markdown, "message": "Plant a payload"}))
            .send()
            .await
            .unwrap();
        let st = resp.status();
        assert!(st.is_success(), "{path}: {st} {}", resp.text().await.unwrap());
    }

    /// The page as the API answers it.
    async fn page(&self, path: &str) -> Value {
        self.http.get(page_url(&self.base, path)).send().await.unwrap().json().await.unwrap()
    }

    async fn revision(&self, path: &str) -> String {
        let v = self.page(path).await;
        v["revision"].as_str().expect("a revision").to_string()
    }

    /// A form post: status, body and where it redirects.
    async fn form(&self, url: &str, body: String) -> (u16, String, Option<String>) {
        let resp = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        (status, resp.text().await.unwrap(), location)
    }

    /// The page as Casebook renders it.
    async fn html(&self, path: &str) -> String {
        let v = self.page(path).await;
        v["html"].as_str().expect("a rendered page").to_string()
    }

    async fn post(&self, url: String, body: Value) -> Value {
        let resp = self.http.post(&url).json(&body).send().await.unwrap();
        let st = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(st.as_u16(), 201, "{url}: {text}");
        serde_json::from_str(&text).unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xss_corpus_stays_inert_in_headless_chromium() {
    let Some(chromium) = find_chromium() else {
        if std::env::var("CASEBOOK_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "CASEBOOK_REQUIRE_BROWSER=1 but chromium is not installed (apt-get install chromium)"
            );
        }
        println!("skipped: chromium not installed");
        return;
    };

    // The real server, visitors may edit.
    let server = Server::start(Access::Edit).await;
    let (addr, base) = (server.addr().to_string(), server.base.clone());

    // The mirror, on its own port.
    let mirror_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ctl = format!("http://{}", mirror_listener.local_addr().unwrap());
    let saved = Saved::default();
    {
        let (addr, saved) = (addr.clone(), saved.clone());
        std::thread::spawn(move || mirror(mirror_listener, addr, saved));
    }

    let corpus = Corpus::new(&ctl);
    assert!(corpus.len() >= 50, "the corpus has {} payloads", corpus.len());
    let p = Planter { http: reqwest::Client::new(), base: base.clone() };

    // Page body: every payload. Markup that is dropped together with everything after it (the
    // sanitiser removes an unclosed element whole) would hide the payloads behind it, so the
    // corpus is cut into as many pages as it takes for every payload to be followed by text
    // that is shown.
    let mut bodies: Vec<String> = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    let mut from = 1;
    while from <= corpus.len() {
        let path = format!("xss/Body {}", bodies.len() + 1);
        let body = corpus.body(from);
        p.put(&path, &format!("Tagged xsscorpus.\n\n{body}")).await;
        let html = p.html(&path).await;
        let shown = (from..=corpus.len())
            .take_while(|n| html.contains(&label(*n)))
            .last()
            .expect("the first label of a body is always shown");
        bodies.push(path);
        starts.push(from);
        from = shown + 1;
    }
    // The form of a new case story: refused with every field hostile (the form is shown again
    // with the values and the errors), then accepted with hostile text in the free fields.
    let form = |pairs: &[(&str, &str)]| {
        pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
    };
    let line = corpus.line();
    let hostile: Vec<(String, &str)> = CASE_FIELDS
        .iter()
        .chain(&["owner", "competitors"])
        .map(|k| (format!("f_{k}"), line.as_str()))
        .collect();
    let mut pairs: Vec<(&str, &str)> = hostile.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    pairs.extend([("title", line.as_str()), ("tags", line.as_str())]);
    let refused = p.form(&format!("{base}/new/case-story"), form(&pairs)).await;
    assert_eq!(refused.0, 400, "{}", refused.1);
    saved.lock().unwrap().insert("refused-form".into(), refused.1);
    let name = corpus.markup[1].1.as_str();
    let accepted = p
        .form(
            &format!("{base}/new/case-story"),
            form(&[
                ("title", name),
                ("f_customer", &line),
                ("f_industry", "retail"),
                ("f_region", "emea"),
                ("f_outcome", "won"),
                ("f_deal_type", "renewal"),
                ("f_deal_size", "1000"),
                ("f_closed", "2026-01-31"),
                ("f_owner", &line),
                ("f_competitors", &line),
                ("tags", &line),
            ]),
        )
        .await;
    assert_eq!(accepted.0, 303, "{}", accepted.1);
    let created = accepted.2.expect("the new page's editor");
    // An old revision and a diff: the corpus, then removed again.
    p.put("xss/Diffed", &format!("Tagged xsscorpus.\n\n{}", corpus.body(1))).await;
    let old_rev = p.revision("xss/Diffed").await;
    p.put("xss/Diffed", "Tagged xsscorpus.\n").await;
    // Titles: front matter and first heading.
    let title = corpus.line();
    p.put(
        "xss/Front matter title",
        &format!("---\ntitle: {}\n---\n\nTagged xsscorpus.\n", yaml(&title)),
    )
    .await;
    p.put("xss/Heading title", &format!("# {title}\n\nTagged xsscorpus.\n")).await;
    // Paths: payloads without a slash as file and folder names (a slash would only make more
    // folders), two to a name.
    let no_slash: Vec<&str> = corpus
        .markup
        .iter()
        .map(|(_, s)| s.as_str())
        .filter(|s| !s.contains('/') && s.len() < 110)
        .collect();
    let mut paths = Vec::new();
    for pair in no_slash.chunks(4) {
        let folder = pair[..pair.len().min(2)].join(" ");
        let name = if pair.len() > 2 { pair[2..].join(" ") } else { "page".into() };
        let path = format!("xss-path/{folder}/{name}");
        p.put(&path, "Tagged xsscorpus, under a hostile name.\n").await;
        paths.push(path);
    }
    // A page at the top whose whole name is a `javascript:` URL.
    let js_name = corpus
        .markup
        .iter()
        .map(|(_, s)| s.clone())
        .find(|s| s.starts_with("javascript:"))
        .unwrap();
    p.put(&js_name, "Tagged xsscorpus, named like a script URL.\n").await;
    paths.push(js_name);
    // A link to a missing page with a hostile name (wanted pages) and a page linking to them.
    p.put(
        "xss/Links",
        &format!(
            "Tagged xsscorpus. {}\n",
            no_slash.iter().map(|s| format!("[[{s}]]")).collect::<Vec<_>>().join(" ")
        ),
    )
    .await;
    // Tags.
    let tags: Vec<String> = corpus.markup.iter().map(|(_, s)| s.replace(',', " ")).collect();
    p.put(
        "xss/Tagged",
        &format!(
            "---\ntags: [{}]\n---\n\nTagged xsscorpus.\n",
            tags.iter().map(|t| yaml(t)).collect::<Vec<_>>().join(", ")
        ),
    )
    .await;
    // Front matter fields of a typed page: text, enum, money, date and list fields, and one the
    // type does not know.
    let fm: String = CASE_FIELDS
        .iter()
        .chain(&["competitors", "notes"])
        .map(|k| format!("{k}: {}\n", yaml(&title)))
        .collect();
    p.put(
        "cases/Hostile deal",
        &format!(
            "---\ntype: case-story\ntitle: {}\n{fm}tags: [xsscorpus]\n---\n\nTagged xsscorpus.\n",
            yaml(&title)
        ),
    )
    .await;
    p.put(
        "cases/Hostile list",
        &format!(
            "---\ntype: case-story\ncustomer: [{}]\nindustry: retail\nregion: emea\noutcome: won\ndeal_type: renewal\ndeal_size: 1000\nnotes: {{nested: {}}}\n---\n\nTagged xsscorpus.\n",
            yaml(&title),
            yaml(&title)
        ),
    )
    .await;
    // Discussions: a thread with a hostile title and body, and a hostile comment.
    p.put("xss/Discussed", "Tagged xsscorpus.\n").await;
    // A thread title is short: the markup payloads go into as many threads as they need.
    // Their bodies and comments are markdown, cut as the page bodies were.
    let titles = corpus.lines(200);
    let mut comment_edits = Vec::new();
    for i in 0..titles.len().max(starts.len()) {
        let (title, from) = (&titles[i % titles.len()], starts[i % starts.len()]);
        let thread = p
            .post(
                format!("{base}/api/v1/pages/xss/Discussed/discussions"),
                json!({"title": title, "body": corpus.body(from)}),
            )
            .await;
        let id = thread["id"].as_str().expect("a thread id").to_string();
        let comment = p
            .post(
                format!("{base}/api/v1/discussions/{}/comments", enc(&id)),
                json!({"body": corpus.body(from)}),
            )
            .await;
        let cid = comment["id"].as_str().expect("a comment id").to_string();
        comment_edits.push(format!("/discussions/{}/comments/{}/edit", enc(&id), enc(&cid)));
    }

    // Every page that shows a payload.
    let mut routes: Vec<String> = vec![
        "/".into(),
        "/browse".into(),
        "/wiki/xss/".into(),
        format!("/history/{}", enc_path(&bodies[0])),
        "/diff/xss/Diffed".into(),
        created.clone(),
        created.replacen("/edit/", "/wiki/", 1),
        "/new/case-story".into(),
        format!("/wiki/xss/Diffed?rev={old_rev}"),
        comment_edits[0].clone(),
        comment_edits[comment_edits.len() - 1].clone(),
        format!("/wiki/{}", enc_path("xss/Front matter title")),
        format!("/edit/{}", enc_path("xss/Front matter title")),
        format!("/history/{}", enc_path("xss/Front matter title")),
        format!("/wiki/{}", enc_path("xss/Heading title")),
        "/wiki/xss/Links".into(),
        "/wiki/xss/Tagged".into(),
        "/wiki/xss/Discussed".into(),
        format!("/wiki/{}", enc_path("cases/Hostile deal")),
        format!("/edit/{}", enc_path("cases/Hostile deal")),
        format!("/wiki/{}", enc_path("cases/Hostile list")),
        "/cases".into(),
        "/records/case-story".into(),
        "/types".into(),
        "/tags".into(),
        format!("/tags/{}", enc(&tags[1])),
        format!("/tags/{}", enc(&tags[5])),
        "/tags/xsscorpus".into(),
        "/discussions".into(),
        "/changes".into(),
        "/feed.atom".into(),
        "/special/wanted".into(),
        "/special/orphans".into(),
        "/wiki/xss-path/".into(),
        format!("/search?q={}", enc(&title)),
        "/search?q=xsscorpus".into(),
        "/search?q=xsscorpus&limit=100#probe-suggest=hostile".into(),
        format!("/api/v1/suggest?q={}", enc(no_slash[1])),
        format!("/wiki/{}", enc_path(&format!("xss/missing {}", no_slash[5]))),
        format!("/edit/{}", enc_path(&format!("xss/missing {}", no_slash[1]))),
        format!("/wiki/{}", enc(&format!(".{}", no_slash[1]))),
    ];
    for body in &bodies {
        routes.push(format!("/wiki/{}", enc_path(body)));
        routes.push(format!("/edit/{}#probe-preview", enc_path(body)));
    }
    for path in &paths {
        routes.push(format!("/wiki/{}", enc_path(path)));
    }
    routes.push(format!("/history/{}", enc_path(&paths[0])));
    routes.push(format!("/move/{}", enc_path(&paths[1])));
    routes.push(format!("/delete/{}", enc_path(&paths[2])));
    let folder = paths[0].rsplit_once('/').unwrap().0;
    routes.push(format!("/wiki/{}/", enc_path(folder)));

    let mut urls: Vec<String> = routes.iter().map(|r| format!("{base}{r}")).collect();
    urls.extend(routes.iter().map(|r| format!("{ctl}{r}")));
    urls.push(format!("{ctl}/__control"));
    urls.push(format!("{ctl}/__saved/refused-form"));
    let started = Instant::now();
    let results = tokio::task::spawn_blocking(move || load_all(&chromium, &urls)).await.unwrap();
    println!("page bodies start at payloads {starts:?}");
    println!(
        "{} payloads, {} documents loaded in Chromium in {:.1} s",
        corpus.len(),
        results.len(),
        started.elapsed().as_secs_f64()
    );

    // The control must be caught: marker from a handler, from a parsed element, from a
    // followed javascript: link, and the probe's hazards.
    let (_, control, dom) = results.iter().find(|(u, _, _)| u.ends_with("/__control")).unwrap();
    let want: BTreeSet<String> = ["9001", "9002", "9003"].map(String::from).into();
    assert_eq!(control.ran, want, "the control page's payloads did not all run: {dom}");
    assert!(
        control.hazards.iter().any(|h| h.contains("onerror"))
            && control.hazards.iter().any(|h| h.contains("javascript:")),
        "the probe missed the control page's hazards: {:?}",
        control.hazards
    );

    let mut failures = BTreeMap::new();
    for (url, f, dom) in &results {
        if url.ends_with("/__control") {
            continue;
        }
        let html = !url.contains("/api/") && !url.contains("/feed.atom");
        if !f.clean() {
            failures.insert(url.clone(), format!("{f:?}"));
        } else if url.starts_with(&ctl) && html && !dom.contains("data-probe-done") {
            failures.insert(url.clone(), format!("the probe did not finish: {dom:.2000}"));
        }
    }
    assert!(
        failures.is_empty(),
        "hostile markup was live in {} documents:\n{}",
        failures.len(),
        failures.iter().map(|(u, f)| format!("{u}\n    {f}")).collect::<Vec<_>>().join("\n")
    );

    // Every payload of the markdown doors reached the browser with the text after it.
    let shown = |pick: &dyn Fn(&str) -> bool| -> Vec<usize> {
        (1..=corpus.len())
            .filter(|n| {
                !results
                    .iter()
                    .any(|(u, _, dom)| u.starts_with(&ctl) && pick(u) && dom.contains(&label(*n)))
            })
            .collect()
    };
    let hidden = shown(&|u: &str| u.contains("/wiki/xss/Body"));
    assert!(hidden.is_empty(), "page bodies never showed payloads {hidden:?}");
    let hidden = shown(&|u: &str| u.contains("#probe-preview"));
    assert!(hidden.is_empty(), "editor previews never showed payloads {hidden:?}");
    let hidden = shown(&|u: &str| u.ends_with("/wiki/xss/Discussed"));
    assert!(hidden.is_empty(), "discussions never showed payloads {hidden:?}");

    server.stop().await;
}
