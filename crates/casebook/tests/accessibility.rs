//! The accessibility audit: axe-core (the npm package, pinned in `.ci/run`) run in a real
//! headless Chromium on the editor, a case story's editor, a page, search and the case browser,
//! in the light and the dark theme. No finding of serious or critical impact may remain.
//!
//! `CASEBOOK_AXE` names `axe.min.js`; without it (or without Chromium and chromedriver) the
//! test prints "skipped: …" and passes, unless `CASEBOOK_REQUIRE_BROWSER=1` (CI), where it fails.

mod common;
mod webdriver;

use casebook_server::Access;
use common::Server;
use serde_json::{Value, json};
use webdriver::Browser;

/// The pages audited, as paths on the starter wiki.
const PAGES: &[&str] = &[
    "/edit/playbooks/Discovery%20Call",
    "/edit/cases/Northwind%20Renewal%20Rescue",
    "/wiki/playbooks/Discovery%20Call",
    "/search?q=renewal",
    "/cases",
];

/// Runs axe on the open page: its violations of serious or critical impact, one line each.
async fn audit(b: &Browser, axe: &str) -> Vec<String> {
    b.run(axe, json!([])).await;
    let found = b
        .run_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then((r) => done(r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))))
               .catch((e) => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
            json!([]),
        )
        .await;
    found
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v: &Value| format!("{} ({}): {} at {}", v["id"], v["impact"], v["help"], v["nodes"]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_serious_accessibility_findings_light_and_dark() {
    let axe = match std::env::var_os("CASEBOOK_AXE") {
        Some(p) => std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("CASEBOOK_AXE={}: {e}", p.to_string_lossy())),
        None => {
            let why = "skipped: CASEBOOK_AXE does not name axe.min.js (.ci/run fetches it)";
            assert!(std::env::var("CASEBOOK_REQUIRE_BROWSER").as_deref() != Ok("1"), "{why}");
            eprintln!("{why}");
            return;
        }
    };
    let Some(b) = Browser::start(1280, 900, "light").await else { return };
    let server = Server::start(Access::Edit).await;
    let mut findings = Vec::new();
    for scheme in ["light", "dark"] {
        for page in PAGES {
            b.open_in(&format!("{}{page}", server.base), scheme).await;
            for f in audit(&b, &axe).await {
                findings.push(format!("{page} ({scheme}): {f}"));
            }
        }
    }
    if !findings.is_empty() {
        b.save_failure("accessibility").await;
    }
    assert!(findings.is_empty(), "accessibility findings:\n{}", findings.join("\n"));
    b.quit().await;
    server.stop().await;
}
