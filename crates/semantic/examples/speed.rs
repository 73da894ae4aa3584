//! How fast the model embeds: `cargo run --release -p casebook-semantic --example speed -- DIR`.
fn main() {
    let dir = std::env::args().nth(1).expect("the model's folder");
    let m = casebook_semantic::Model::load(std::path::Path::new(&dir)).unwrap();
    let text =
        "Procurement wanted a thirty percent cut and the new COO planned to drop us. ".repeat(12);
    let texts: Vec<&str> = (0..200).map(|_| text.as_str()).collect();
    let tokens = m.tokens(&text) * texts.len();
    for threads in [1, 2] {
        let t = std::time::Instant::now();
        m.embed_all(&texts, threads, &|_| {});
        let s = t.elapsed().as_secs_f64();
        println!(
            "{threads} thread(s): {} texts, {tokens} tokens in {s:.2} s: {:.0} tokens/s",
            texts.len(),
            tokens as f64 / s
        );
    }
    let q = "a shared timeline with the buyer so the deal does not slip";
    let t = std::time::Instant::now();
    for _ in 0..50 {
        m.embed(q);
    }
    println!("a {}-token query: {:.2} ms", m.tokens(q), t.elapsed().as_secs_f64() * 1000.0 / 50.0);
}
