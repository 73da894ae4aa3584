//! The editor, driven in a real headless Chromium through WebDriver (Debian's chromedriver)
//! against the real server on 127.0.0.1:0: typing with the preview beside the text,
//! formatting shortcuts, completing a `[[` link, drafts that survive a reload, saving with
//! Ctrl+S, a pasted image, a case story told through the new-page dialog and its form, a
//! conflict resolved keeping both edits, one field changed as one line. Each test starts its own wiki and browser; a failing test saves a screenshot and the
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

/// Lines a commit added or removed in `file`, as `git diff -U0` shows them.
fn changed_lines(server: &Server, file: &str) -> Vec<String> {
    let diff = server.repo_git(&["diff", "-U0", "HEAD~1", "HEAD", "--", file]);
    diff.lines()
        .filter(|l| (l.starts_with('+') || l.starts_with('-')) && !l.starts_with("+++"))
        .filter(|l| !l.starts_with("---"))
        .map(str::to_string)
        .collect()
}

/// Picks `value` in the select `css` as a person would: clicking the option.
async fn choose(b: &Browser, css: &str, value: &str) {
    b.click(&format!("{css} option[value=\"{value}\"]")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_story_is_told_through_the_new_page_dialog_and_its_form() {
    scenario("new-case", 1280, |b, server| async move {
        b.open(&format!("{}/new", server.base)).await;
        b.type_into("#new-title", "Zeta Pilot").await;
        b.click("#cb-new-page input[name=\"kind\"][value=\"case-story\"]").await;
        let placeholder = b.run("return document.querySelector('#new-folder').placeholder", json!([])).await;
        assert!(placeholder.as_str().unwrap().starts_with("cases"), "the folder suggested: {placeholder}");
        b.click("#cb-new-page button[type=\"submit\"]").await;
        b.wait_for("the editor with the type's form", "return location.pathname === '/edit/cases/Zeta%20Pilot' && document.querySelector('#field-outcome')").await;
        let text = b.run(&format!("return {TEXT}"), json!([])).await;
        assert!(text.as_str().unwrap().starts_with("# Zeta Pilot\n"), "the template under the title: {text}");
        let warnings = b.run("return document.querySelectorAll('.field-warning').length", json!([])).await;
        assert_eq!(warnings, json!(0), "a new story's form opens without complaints");
        b.type_into("#field-customer", "Zeta & Co").await;
        choose(&b, "#field-outcome", "won").await;
        choose(&b, "#field-industry", "logistics").await;
        choose(&b, "#field-region", "emea").await;
        choose(&b, "#field-deal_type", "new-business").await;
        b.type_into("#field-deal_size", "48000").await;
        choose(&b, "#field-currency", "EUR").await;
        // A date input takes its value in the browser's locale; set it as a date picker would.
        b.run(
            "const d = document.querySelector('#field-closed'); d.value = '2025-02-01'; d.dispatchEvent(new Event('change', { bubbles: true }));",
            json!([]),
        )
        .await;
        b.type_into("#cb-editor", "We won it by listening.\n").await;
        b.click("#cb-editor-form button[type=\"submit\"]").await;
        b.wait_for("the saved case story", "return location.pathname === '/wiki/cases/Zeta%20Pilot'").await;
        let saved = page_text(&server, "cases/Zeta Pilot").await;
        for line in ["type: case-story", "customer: Zeta & Co", "outcome: won", "closed: 2025-02-01", "deal_size: 48000", "currency: EUR"] {
            assert!(saved.lines().any(|l| l == line), "{line} in {saved}");
        }
        assert!(saved.contains("We won it by listening."), "{saved}");
        // Nobody wrote YAML, and the story is a record the case browser finds.
        b.open(&format!("{}/cases?outcome=won", server.base)).await;
        b.wait_for("the story among the won deals", "return document.body.textContent.includes('Zeta Pilot')").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_shows_both_versions_and_is_resolved_keeping_both_edits() {
    scenario("conflict", 1280, |b, server| async move {
        put_page(&server, "Conflict Probe", "# Conflict Probe\n\nPrice: list.\n\nEnd.\n").await;
        b.open(&edit_url(&server, "Conflict Probe")).await;
        // Select "list" and type over it, as a person would.
        b.run(
            "const ta = document.querySelector('#cb-editor'); const i = ta.value.indexOf('list'); ta.focus(); ta.setSelectionRange(i, i + 4);",
            json!([]),
        )
        .await;
        b.keys("ten percent off").await;
        // Meanwhile someone else saves the same line.
        put_page(&server, "Conflict Probe", "# Conflict Probe\n\nPrice: list, plus a pilot.\n\nEnd.\n").await;
        let before = server.commits();
        b.type_into("#cb-editor", &format!("{CONTROL}s{NULL}")).await;
        b.wait_for("both versions side by side", "return document.querySelector('#cb-conflict-yours') && document.querySelector('#cb-conflict-theirs')").await;
        assert_eq!(server.commits(), before, "nothing saved on a conflict");
        let sides = b
            .run("return [document.querySelector('#cb-conflict-yours').textContent, document.querySelector('#cb-conflict-theirs').textContent]", json!([]))
            .await;
        assert!(sides[0].as_str().unwrap().contains("Price: ten percent off."), "{sides}");
        assert!(sides[1].as_str().unwrap().contains("Price: list, plus a pilot."), "{sides}");
        let text = b.run(&format!("return {TEXT}"), json!([])).await;
        let text = text.as_str().unwrap();
        assert!(text.contains("<<<<<<< yours\nPrice: ten percent off.\n=======\nPrice: list, plus a pilot.\n>>>>>>> theirs"), "{text}");
        // Resolve: select from the first marker to the end of the last and type the merged line.
        b.run(
            "const ta = document.querySelector('#cb-editor'); const v = ta.value; const s = v.indexOf('<<<<<<<'); const e = v.indexOf('\\n', v.indexOf('>>>>>>>')) + 1; ta.focus(); ta.setSelectionRange(s, e);",
            json!([]),
        )
        .await;
        b.keys("Price: ten percent off, plus a pilot.\n").await;
        b.type_into("#cb-editor", &format!("{CONTROL}s{NULL}")).await;
        b.wait_for("the saved page", "return location.pathname === '/wiki/Conflict%20Probe'").await;
        assert_eq!(
            page_text(&server, "Conflict Probe").await,
            "# Conflict Probe\n\nPrice: ten percent off, plus a pilot.\n\nEnd.\n"
        );
        assert_eq!(server.commits(), before + 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_one_field_of_a_case_story_changes_only_that_line() {
    scenario("one-field", 1280, |b, server| async move {
        let path = "cases/Northwind Renewal Rescue";
        b.open(&edit_url(&server, path)).await;
        choose(&b, "#field-outcome", "lost").await;
        b.type_into("#cb-editor", &format!("{CONTROL}s{NULL}")).await;
        b.wait_for("the saved page", "return location.pathname === '/wiki/cases/Northwind%20Renewal%20Rescue'").await;
        assert_eq!(changed_lines(&server, &format!("{path}.md")), ["-outcome: won", "+outcome: lost"]);
        // A text field the same way: only its line.
        b.open(&edit_url(&server, path)).await;
        b.clear("#field-customer").await;
        b.type_into("#field-customer", "Northwind Logistics GmbH").await;
        b.type_into("#cb-editor", &format!("{CONTROL}s{NULL}")).await;
        b.wait_for("the saved page", "return location.pathname === '/wiki/cases/Northwind%20Renewal%20Rescue' && location.search.includes('saved')").await;
        assert_eq!(
            changed_lines(&server, &format!("{path}.md")),
            ["-customer: Northwind Logistics", "+customer: Northwind Logistics GmbH"]
        );
    })
    .await;
}
