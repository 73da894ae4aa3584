//! The editor, driven in a real headless Chromium through WebDriver (Debian's chromedriver)
//! against the real server on 127.0.0.1:0: typing with the preview beside the text,
//! formatting shortcuts, completing a `[[` link, drafts that survive a reload, saving with
//! Ctrl+S. Each test starts its own wiki and browser; a failing test saves a screenshot and the
//! page's HTML under the target's temp dir (the path is printed).
//!
//! Without Chromium and chromedriver each test prints "skipped: …" and passes, unless
//! `CASEBOOK_REQUIRE_BROWSER=1` (CI, where `.ci/run` installs both), where it fails.
//!
//! `CASEBOOK_SCREENSHOTS=DIR` also writes the README's screenshots into DIR.

mod common;
mod webdriver;

use casebook_server::Access;
use common::{Server, enc_path, page_url};
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use webdriver::{Browser, CONTROL, ENTER, NULL};

/// Runs `steps` with a browser `width` pixels wide on a new wiki; on failure saves what the
/// browser showed before failing the test.
async fn scenario<F, Fut>(name: &str, width: u32, steps: F)
where
    F: FnOnce(Arc<Browser>, Arc<Server>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(browser) = Browser::start(width, 900, "light").await else { return };
    let browser = Arc::new(browser);
    let server = Arc::new(Server::start(Access::Edit).await);
    let outcome = tokio::spawn(steps(browser.clone(), server.clone())).await;
    if let Err(e) = outcome {
        browser.save_failure(name).await;
        std::panic::resume_unwind(e.into_panic());
    }
    if let Ok(b) = Arc::try_unwrap(browser) {
        b.quit().await;
    }
    if let Ok(s) = Arc::try_unwrap(server) {
        s.stop().await;
    }
}

/// Saves `markdown` as the page at `path` through the JSON API.
async fn put_page(server: &Server, path: &str, markdown: &str) {
    let resp = reqwest::Client::new()
        .put(page_url(&server.base, path))
        .json(&json!({"markdown": markdown}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "saving {path}: {}", resp.status());
}

/// The page's markdown as the JSON API has it.
async fn page_text(server: &Server, path: &str) -> String {
    let v: Value = reqwest::get(page_url(&server.base, path)).await.unwrap().json().await.unwrap();
    v["markdown"].as_str().unwrap_or_default().to_string()
}

fn edit_url(server: &Server, path: &str) -> String {
    format!("{}/edit/{}", server.base, enc_path(path))
}

const TEXT: &str = "document.querySelector('#cb-editor').value";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_shows_the_preview_beside_the_text_and_ctrl_s_saves() {
    scenario("preview", 1280, |b, server| async move {
        b.open(&edit_url(&server, "notes/Try It")).await;
        b.wait_for("the editor split beside its preview", "return document.querySelector('#cb-editor-form.split') !== null && !document.querySelector('#cb-preview').hidden").await;
        b.type_into("#cb-editor", "# Hello\n\nSome **bold** words\n\n").await;
        b.wait_for(
            "the preview to follow the text",
            "const s = document.querySelector('#cb-preview strong'); return s && s.textContent === 'bold'",
        )
        .await;
        // Ctrl+B with nothing selected inserts bold placeholder text, selected: typing replaces it.
        b.type_into("#cb-editor", &format!("{CONTROL}b{NULL}firm")).await;
        let text = b.run(&format!("return {TEXT}"), json!([])).await;
        assert!(text.as_str().unwrap().ends_with("**firm**"), "{text}");
        b.type_into("#cb-editor", &format!("{CONTROL}s{NULL}")).await;
        b.wait_for("the saved page", "return location.pathname === '/wiki/notes/Try%20It'").await;
        let saved = page_text(&server, "notes/Try It").await;
        assert!(saved.contains("Some **bold** words") && saved.contains("**firm**"), "{saved}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_gets_write_and_preview_tabs() {
    scenario("tabs", 400, |b, server| async move {
        b.open(&edit_url(&server, "notes/Small")).await;
        b.type_into("#cb-editor", "Some _small_ text").await;
        let split = b.run("return document.querySelector('#cb-editor-form.split') !== null", json!([])).await;
        assert_eq!(split, json!(false), "a narrow screen shows one pane at a time");
        b.click("#cb-tab-preview").await;
        b.wait_for("the preview tab", "const e = document.querySelector('#cb-preview em'); return e && e.textContent === 'small' && document.querySelector('#cb-editor').hidden").await;
        b.click("#cb-tab-write").await;
        b.wait_for("the write tab", "return !document.querySelector('#cb-editor').hidden").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_two_brackets_completes_a_link_to_a_page() {
    scenario("complete", 1280, |b, server| async move {
        put_page(&server, "playbooks/Mutual Close Plan", "# Mutual Close Plan\n\nA shared timeline.\n")
            .await;
        b.open(&edit_url(&server, "notes/Links")).await;
        b.type_into("#cb-editor", "See [[Mutual Cl").await;
        b.wait_for(
            "the suggestions",
            "const l = document.querySelector('#cb-complete'); return l && !l.hidden && l.textContent.includes('Mutual Close Plan')",
        )
        .await;
        let expanded = b.run("return document.querySelector('#cb-editor').getAttribute('aria-expanded')", json!([])).await;
        assert_eq!(expanded, json!("true"));
        b.type_into("#cb-editor", ENTER).await;
        let text = b.run(&format!("return {TEXT}"), json!([])).await;
        assert!(text.as_str().unwrap().ends_with("See [[playbooks/Mutual Close Plan]]"), "{text}");
        b.wait_for(
            "the link in the preview",
            "const a = document.querySelector('#cb-preview a'); return a && a.getAttribute('href').includes('Mutual%20Close%20Plan')",
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_survives_a_reload_and_merges_with_what_was_saved_meanwhile() {
    scenario("draft", 1280, |b, server| async move {
        put_page(&server, "Draft Probe", "# Draft Probe\n\nFirst line.\n\nLast line.\n").await;
        let url = edit_url(&server, "Draft Probe");
        b.open(&url).await;
        b.type_into("#cb-editor", "Added in the browser.\n").await;
        b.wait_for("the draft kept", "return (localStorage.getItem('casebook-draft:Draft Probe') || '').includes('Added in the browser')").await;
        // The tab goes away without saving; meanwhile someone else changes the first line.
        b.open(&format!("{}/wiki/Home", server.base)).await;
        put_page(&server, "Draft Probe", "# Draft Probe\n\nFirst line, changed.\n\nLast line.\n").await;
        b.open(&url).await;
        b.wait_for("the offer to restore", "const d = document.querySelector('#cb-draft'); return d && !d.hidden && d.textContent.includes('unsaved text from')").await;
        b.click("[data-draft=\"restore\"]").await;
        let text = b.run(&format!("return {TEXT}"), json!([])).await;
        assert!(text.as_str().unwrap().contains("Added in the browser."), "{text}");
        b.type_into("#cb-editor", &format!("{CONTROL}s{NULL}")).await;
        b.wait_for("the saved page", "return location.pathname === '/wiki/Draft%20Probe'").await;
        let saved = page_text(&server, "Draft Probe").await;
        assert!(
            saved.contains("First line, changed.") && saved.contains("Added in the browser."),
            "the draft's save merged with the other edit: {saved}"
        );
        b.wait_for(
            "the saved draft dropped",
            "return localStorage.getItem('casebook-draft:Draft Probe') === null",
        )
        .await;
    })
    .await;
}

/// The README's pictures of the editor, light and dark: a playbook with its preview beside it,
/// and a case story's fields as a form. Written only when `CASEBOOK_SCREENSHOTS=DIR` is set;
/// without it the pages are still loaded and checked to render their preview.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_the_editor_light_and_dark() {
    scenario("screenshots", 1280, |b, server| async move {
        let dir = std::env::var_os("CASEBOOK_SCREENSHOTS").map(std::path::PathBuf::from);
        for scheme in ["light", "dark"] {
            for (name, path) in
                [("editor", "playbooks/Discovery Call"), ("case-form", "cases/Northwind Renewal Rescue")]
            {
                b.open_in(&edit_url(&server, path), scheme).await;
                b.wait_for(
                    "the preview",
                    "const p = document.querySelector('#cb-preview'); return p && p.querySelector('p, li, h2')",
                )
                .await;
                let theme = b.run("return document.documentElement.dataset.theme || ''", json!([])).await;
                assert_eq!(theme, json!(scheme), "the theme follows the reader's choice");
                if let Some(dir) = &dir {
                    std::fs::create_dir_all(dir).unwrap();
                    std::fs::write(dir.join(format!("{name}-{scheme}.png")), b.screenshot().await)
                        .unwrap();
                }
            }
        }
    })
    .await;
}

/// A red 2×2 PNG.
const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_image_is_attached_shown_in_the_preview_and_on_the_saved_page() {
    scenario("paste", 1280, |b, server| async move {
        put_page(&server, "cases/Paste Probe", "# Paste Probe\n\nBefore the picture.\n").await;
        let before = server.commits();
        b.open(&edit_url(&server, "cases/Paste Probe")).await;
        // What a browser hands the page when someone pastes a screenshot.
        b.run(
            "const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
             const dt = new DataTransfer();
             dt.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
             const ta = document.querySelector('#cb-editor');
             ta.focus();
             ta.setSelectionRange(ta.value.length, ta.value.length);
             ta.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));",
            json!([PNG_BASE64]),
        )
        .await;
        let text = b
            .wait_for(
                "the image's markdown",
                "const v = document.querySelector('#cb-editor').value; return v.includes('](<Paste Probe.files/pasted-') && v",
            )
            .await;
        assert!(!text.as_str().unwrap().contains("uploading"), "{text}");
        assert_eq!(server.commits(), before + 1, "the upload is one commit");
        let files = server.repo_git(&["ls-tree", "-r", "--name-only", "HEAD", "cases/"]);
        assert!(files.contains("cases/Paste Probe.files/pasted-"), "{files}");
        b.wait_for(
            "the picture in the preview",
            "const i = document.querySelector('#cb-preview img'); return i && i.complete && i.naturalWidth === 2",
        )
        .await;
        b.type_into("#cb-editor", &format!("{CONTROL}s{NULL}")).await;
        b.wait_for("the saved page", "return location.pathname === '/wiki/cases/Paste%20Probe'").await;
        b.wait_for(
            "the picture on the page",
            "const i = document.querySelector('.content img'); return i && i.complete && i.naturalWidth === 2",
        )
        .await;
    })
    .await;
}
