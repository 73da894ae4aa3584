//! `casebook-bench`: page-view, save and search latency of a real Casebook server on loopback.

use anyhow::{Context, Result};
use casebook_core::{Author, FolderPath, ReadScope};
use casebook_engine::{Engine, Options};
use casebook_server::{Access, AppState, ServerOptions};
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "Benchmark Casebook over loopback HTTP")]
struct Args {
    /// Generate a wiki of this many pages.
    #[arg(long, default_value_t = 10_000)]
    pages: usize,
    /// Import this folder instead of generating pages.
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Sequential page views measured.
    #[arg(long, default_value_t = 2_000)]
    views: usize,
    /// Concurrent clients for the throughput phase.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds of the throughput phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Sequential saves measured.
    #[arg(long, default_value_t = 200)]
    saves: usize,
    /// Rounds of the search query set.
    #[arg(long, default_value_t = 5)]
    search_rounds: usize,
    /// Search queries (default: a mixed set for the generated corpus).
    #[arg(long)]
    query: Vec<String>,
    /// Make this many generated pages link to one page (`hub/Target`), then measure its
    /// backlinks and moving it with its links rewritten (one commit touching all of them).
    #[arg(long, default_value_t = 0)]
    link_sources: usize,
    /// Moves measured in the links phase (back and forth).
    #[arg(long, default_value_t = 6)]
    moves: usize,
    /// Search by meaning with the model in this folder: the first full embedding is timed, and
    /// searches are answered by words and meaning together.
    #[arg(long)]
    semantic_model: Option<PathBuf>,
    /// Keep the wiki (repository, index, vectors) in this folder, and reuse it when it is there
    /// already instead of importing again.
    #[arg(long)]
    keep: Option<PathBuf>,
}

/// A deterministic pseudo-random sequence (xorshift), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "renewal",
    "pricing",
    "discount",
    "champion",
    "procurement",
    "pilot",
    "discovery",
    "value",
    "insight",
    "stakeholder",
    "budget",
    "timeline",
    "competitor",
    "objection",
    "contract",
    "expansion",
    "churn",
    "forecast",
    "pipeline",
    "quota",
    "margin",
    "onboarding",
    "integration",
    "security",
    "review",
    "executive",
    "sponsor",
    "workshop",
    "proposal",
    "legal",
    "retail",
    "logistics",
    "healthcare",
    "manufacturing",
    "banking",
    "warehouse",
    "scheduling",
    "returns",
    "inventory",
    "fleet",
    "the",
    "a",
    "we",
    "they",
    "and",
    "of",
    "to",
    "in",
    "for",
    "with",
    "on",
    "that",
    "their",
    "our",
    "was",
    "because",
];

/// The page the `--link-sources` pages link to.
const LINK_TARGET: &str = "hub/Target";

fn generate(dir: &std::path::Path, n: usize, link_sources: usize) -> Result<()> {
    // Every `step`-th page links to the target too, half by wiki link, half by a `.md` link.
    let step = n.checked_div(link_sources).unwrap_or(0).max(1);
    let mut sources = 0;
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let folders = ["cases", "insights", "playbooks", "accounts/emea", "accounts/americas"];
    for i in 0..n {
        let folder = folders[i % folders.len()];
        std::fs::create_dir_all(dir.join(folder))?;
        let mut md = format!(
            "---\ntitle: Page {i}\ntags: [{}, {}]\noutcome: {}\n---\n\n# Page {i}\n\n",
            WORDS[i % 30],
            WORDS[(i / 7) % 30],
            ["won", "lost", "no-decision"][i % 3]
        );
        for s in 0..(3 + rng.below(4)) {
            md.push_str(&format!("## Section {s}\n\n"));
            for _ in 0..(2 + rng.below(3)) {
                let len = 30 + rng.below(60);
                let words: Vec<&str> = (0..len).map(|_| WORDS[rng.below(WORDS.len())]).collect();
                md.push_str(&words.join(" "));
                md.push_str(&format!(" token{}.\n\n", rng.below(n.max(1) * 4)));
            }
            let target = rng.below(n);
            md.push_str(&format!(
                "See [[Page {target}]] and [another](../{}/p{:05}.md).\n\n",
                folders[target % folders.len()],
                target
            ));
        }
        if sources < link_sources && i % step == 0 {
            if sources % 2 == 0 {
                md.push_str(&format!("Background in [[{LINK_TARGET}]].\n"));
            } else {
                md.push_str(&format!(
                    "Background in [the target](../{}{LINK_TARGET}.md#why).\n",
                    if folder.contains('/') { "../" } else { "" }
                ));
            }
            sources += 1;
        }
        std::fs::write(dir.join(folder).join(format!("p{i:05}.md")), md)?;
    }
    if link_sources > 0 {
        std::fs::create_dir_all(dir.join("hub"))?;
        std::fs::write(
            dir.join(format!("{LINK_TARGET}.md")),
            "# Target\n\nThe page many others link to.\n\n## Why\n\nBecause.\n",
        )?;
    }
    Ok(())
}

fn pct(xs: &mut [f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[((p / 100.0) * (xs.len() - 1) as f64).round() as usize]
}

fn row(name: &str, lat: &mut [f64], other: &str) {
    if lat.is_empty() {
        return;
    }
    println!(
        "| {name} | {:.2} | {:.2} | {:.2} | {} | {other} |",
        pct(lat, 50.0),
        pct(lat, 95.0),
        pct(lat, 99.0),
        lat.len()
    );
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<f64>().unwrap_or(0.0))
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn main() -> Result<()> {
    let args = Args::parse();
    let tmp = tempfile::tempdir()?;
    let root = args.keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let repo = root.join("wiki.git");
    let reuse = repo.exists();
    let mut opts = Options::new(&repo, root.join("data"));
    opts.semantic_model = args.semantic_model.clone();
    let engine = Engine::open(opts).map_err(|e| anyhow::anyhow!(e.message))?;
    let src = match &args.corpus {
        _ if reuse => tmp.path().to_path_buf(),
        Some(c) => c.clone(),
        None => {
            let d = tmp.path().join("corpus");
            generate(&d, args.pages, args.link_sources)?;
            d
        }
    };
    let started = Instant::now();
    let report = if reuse {
        casebook_engine::ImportReport::default()
    } else {
        engine
            .import(
                &src,
                &FolderPath::root(),
                "Import the benchmark corpus",
                &Author::new("Bench", "bench@localhost"),
                None,
                &casebook_engine::LinkPrefixes::default(),
            )
            .map_err(|e| anyhow::anyhow!(e.message))?
    };
    let commit_s = started.elapsed().as_secs_f64();
    engine.wait_indexed();
    let import_s = started.elapsed().as_secs_f64();
    if let Some(status) = engine.semantic_status() {
        let started = Instant::now();
        let mut last = Instant::now();
        while !engine.is_embedded() {
            if last.elapsed() > Duration::from_secs(60) {
                let s = engine.semantic_status().unwrap_or(status.clone());
                eprintln!(
                    "embedding: {} of {} pages, {:.0} s",
                    s.indexed,
                    s.total,
                    started.elapsed().as_secs_f64()
                );
                last = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        // The count as it is now: when the run started, the embedder may not have looked at
        // the head yet.
        let done = engine.semantic_status().unwrap_or(status);
        println!(
            "search by meaning: {} pages with vectors, waited {:.1} s for them, with {}",
            done.total,
            started.elapsed().as_secs_f64(),
            done.model
        );
    }
    let pages: Vec<String> = engine
        .list_pages(&FolderPath::root(), None, &ReadScope::everything())
        .into_iter()
        .map(|p| p.path)
        .filter(|p| p != "Home" && !p.starts_with("guide/"))
        .collect();
    println!(
        "Casebook benchmark: {} pages ({} imported), import commit {commit_s:.1} s, import + index {import_s:.1} s",
        engine.page_count(&ReadScope::everything()),
        report.pages
    );
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_name()
    );
    println!();
    println!("| metric | p50 ms | p95 ms | p99 ms | n | other |");
    println!("|---|---|---|---|---|---|");

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let state = AppState::new(
            engine.clone(),
            ServerOptions { anonymous: Access::Edit, ..ServerOptions::default() },
        )
        .map_err(|e| anyhow::anyhow!(e.message))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(casebook_server::serve(listener, state, async {
            let _ = rx.await;
        }));
        let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
        let url = |p: &str| format!("{base}/wiki/{}", url_path(p));
        let mut rng = Rng(42);
        // Related pages as computed on a page view when not cached (tags, links, more-like-this),
        // on pages the views below have not seen yet.
        let mut lat = Vec::new();
        for p in pages.iter().rev().step_by(pages.len().div_ceil(300).max(1)) {
            let (e, p) = (engine.clone(), p.clone());
            let took = tokio::task::spawn_blocking(move || -> Result<f64> {
                let path =
                    casebook_core::PagePath::parse(&p).map_err(|e| anyhow::anyhow!(e.message))?;
                let page = e
                    .page(&path, None, &ReadScope::everything())
                    .map_err(|e| anyhow::anyhow!(e.message))?;
                let t = Instant::now();
                e.related(&page, 6, &ReadScope::everything())
                    .map_err(|e| anyhow::anyhow!(e.message))?;
                Ok(t.elapsed().as_secs_f64() * 1000.0)
            })
            .await??;
            lat.push(took);
        }
        row("related pages, not cached (engine)", &mut lat, "tags, links, more-like-this");
        // Warm-up.
        for _ in 0..50 {
            http.get(url(&pages[rng.below(pages.len())])).send().await?.bytes().await?;
        }
        // Page views, one at a time.
        let mut lat = Vec::with_capacity(args.views);
        let mut bytes = 0usize;
        for _ in 0..args.views {
            let t = Instant::now();
            let r = http.get(url(&pages[rng.below(pages.len())])).send().await?;
            anyhow::ensure!(r.status().is_success(), "view failed: {}", r.status());
            bytes += r.bytes().await?.len();
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let rate = lat.len() as f64 / (lat.iter().sum::<f64>() / 1000.0);
        row(
            "page view, c=1",
            &mut lat,
            &format!(
                "{rate:.0} views/s, mean HTML {:.1} KB",
                bytes as f64 / args.views as f64 / 1024.0
            ),
        );
        // Page views, concurrent clients, for a fixed time.
        let done = Arc::new(AtomicUsize::new(0));
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let pages = Arc::new(pages);
        let mut tasks = Vec::new();
        for c in 0..args.concurrency {
            let (http, pages, done, base) =
                (http.clone(), pages.clone(), done.clone(), base.clone());
            tasks.push(tokio::spawn(async move {
                let mut rng = Rng(1000 + c as u64);
                let mut lat = Vec::new();
                while Instant::now() < deadline {
                    let p = &pages[rng.below(pages.len())];
                    let u = format!("{base}/wiki/{}", url_path(p));
                    let t = Instant::now();
                    if let Ok(r) = http.get(u).send().await {
                        let _ = r.bytes().await;
                    }
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                lat
            }));
        }
        let t0 = Instant::now();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await?);
        }
        let rate = done.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64();
        row(&format!("page view, c={}", args.concurrency), &mut all, &format!("{rate:.0} views/s"));
        // Saves: each is a git commit; the first and the last quarter show whether cost grows.
        let mut lat = Vec::with_capacity(args.saves);
        for i in 0..args.saves {
            let p = &pages[rng.below(pages.len())];
            let api = format!("{base}/api/v1/pages/{}", url_path(p));
            let current: serde_json::Value = http.get(&api).send().await?.json().await?;
            let md = format!("{}\nEdit number {i}.\n", current["markdown"].as_str().unwrap_or(""));
            let t = Instant::now();
            let r = http
                .put(&api)
                .json(&serde_json::json!({"markdown": md, "message": format!("bench edit {i}")}))
                .send()
                .await?;
            anyhow::ensure!(r.status().is_success(), "save failed: {}", r.status());
            r.bytes().await?;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let q = lat.len() / 4;
        let (first, last) = (mean(&lat[..q.max(1)]), mean(&lat[lat.len() - q.max(1)..]));
        row(
            "save (git commit)",
            &mut lat,
            &format!("first quarter mean {first:.2} ms, last quarter {last:.2} ms"),
        );
        // The same saves without HTTP, to tell the engine's cost from the transport's.
        let mut lat = Vec::with_capacity(args.saves / 2);
        for i in 0..args.saves / 2 {
            let p = casebook_core::PagePath::parse(&pages[rng.below(pages.len())])
                .map_err(|e| anyhow::anyhow!(e.message))?;
            let e = engine.clone();
            let t = Instant::now();
            tokio::task::spawn_blocking(move || {
                let current = e.page(&p, None, &ReadScope::everything())?.markdown;
                let md = format!("{current}\nDirect edit {i}.\n");
                e.save(casebook_engine::Save {
                    path: &p,
                    markdown: &md,
                    message: "bench",
                    base: None,
                    author: &Author::new("Bench", "bench@localhost"),
                })
            })
            .await?
            .map_err(|e| anyhow::anyhow!(e.message))?;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        row("save, in process (read + commit)", &mut lat, "no HTTP");
        // Search.
        let queries: Vec<String> = if args.query.is_empty() {
            [
                "renewal",
                "pricing discount",
                "\"executive sponsor\"",
                "proc*",
                "champion -budget",
                "tag:churn",
                "outcome:won pilot",
                "in:cases warehouse",
                "renewl",
                "token123",
                "fleet OR inventory",
                "title:\"Page 42\"",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        } else {
            args.query.clone()
        };
        let mut lat = Vec::new();
        let mut first = Vec::new();
        for round in 0..args.search_rounds {
            if round == 1 {
                // The first time a query is asked includes embedding it; later rounds find its
                // embedding cached.
                first = std::mem::take(&mut lat);
            }
            for q in &queries {
                let t = Instant::now();
                let r = http
                    .get(format!("{base}/api/v1/search"))
                    .query(&[("q", q.as_str()), ("limit", "10")])
                    .send()
                    .await?;
                anyhow::ensure!(r.status().is_success(), "search failed: {}", r.status());
                r.bytes().await?;
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        if !first.is_empty() {
            row(
                "search, each query the first time",
                &mut first,
                &format!("{} queries", queries.len()),
            );
        }
        row(
            "search (mixed queries)",
            &mut lat,
            &format!(
                "{} queries x {} rounds",
                queries.len(),
                args.search_rounds.saturating_sub(1).max(1)
            ),
        );
        if args.link_sources > 0 {
            links_phase(&engine, &http, &base, args.link_sources, args.moves).await?;
        }
        println!();
        println!(
            "peak resident memory of this process (server and load generator): {:.0} MB",
            rss_mb()
        );
        let _ = tx.send(());
        server.await??;
        anyhow::Ok(())
    })?;
    engine.shutdown();
    Ok(())
}

/// Backlinks of the page `--link-sources` pages link to, and moving it with `update_links`
/// (each move one commit rewriting the links of every linking page), back and forth.
async fn links_phase(
    engine: &Engine,
    http: &reqwest::Client,
    base: &str,
    sources: usize,
    moves: usize,
) -> Result<()> {
    let api = |p: &str| format!("{base}/api/v1/pages/{}", url_path(p));
    let idle =
        |e: Engine| async move { tokio::task::spawn_blocking(move || e.wait_indexed()).await };
    idle(engine.clone()).await?;
    let target =
        casebook_core::PagePath::parse(LINK_TARGET).map_err(|e| anyhow::anyhow!(e.message))?;
    let found = engine
        .backlinks(&target, &ReadScope::everything())
        .map_err(|e| anyhow::anyhow!(e.message))?
        .len();
    anyhow::ensure!(found == sources, "{found} backlinks where {sources} were generated");
    // The engine call alone, then the page over HTTP (page, rendering and backlinks).
    let mut lat = Vec::new();
    for _ in 0..200 {
        let (e, t) = (engine.clone(), target.clone());
        let started = Instant::now();
        tokio::task::spawn_blocking(move || e.backlinks(&t, &ReadScope::everything()))
            .await?
            .map_err(|e| anyhow::anyhow!(e.message))?;
        lat.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    row(&format!("backlinks of a page linked from {sources} (engine)"), &mut lat, "");
    let mut lat = Vec::new();
    for _ in 0..100 {
        let started = Instant::now();
        let r = http.get(api(LINK_TARGET)).send().await?;
        anyhow::ensure!(r.status().is_success(), "page read failed: {}", r.status());
        let v: serde_json::Value = r.json().await?;
        anyhow::ensure!(v["backlinks"].as_array().map_or(0, |b| b.len()) == sources);
        lat.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    row(&format!("GET page with {sources} backlinks (HTTP)"), &mut lat, "");
    let moved = "hub/Target Moved";
    let mut lat = Vec::new();
    for i in 0..moves {
        let (from, to) = if i % 2 == 0 { (LINK_TARGET, moved) } else { (moved, LINK_TARGET) };
        // The previous move's index update is not this move's cost.
        idle(engine.clone()).await?;
        let started = Instant::now();
        let r = http
            .post(format!("{}/move", api(from)))
            .json(&serde_json::json!({"to": to, "update_links": true}))
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "move failed: {}", r.status());
        let v: serde_json::Value = r.json().await?;
        lat.push(started.elapsed().as_secs_f64() * 1000.0);
        let updated = v["updated_pages"].as_array().map_or(0, |u| u.len());
        anyhow::ensure!(updated == sources, "the move rewrote {updated} pages, not {sources}");
    }
    row(
        &format!("move a page linked from {sources}, links rewritten (HTTP)"),
        &mut lat,
        &format!("one commit of {} files", sources + 1),
    );
    Ok(())
}

/// A page path as it goes into a URL: with its spaces escaped, all the generated names need.
fn url_path(p: &str) -> String {
    p.replace(' ', "%20")
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .context("no cpu name")
        .unwrap_or_else(|_| "unknown CPU".into())
}
