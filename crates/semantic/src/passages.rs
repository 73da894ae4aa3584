//! A page split into passages for the model: one per section (a heading and the text under
//! it), each carrying the page's title and the headings above it, so that a passage read alone
//! still says what it is about. Sections too short to stand alone join the next one; sections
//! longer than the model reads are cut into parts at sentence or line ends.

/// About the most words the model reads in one passage (256 tokens, title and headings
/// included).
const MAX_WORDS: usize = 90;
/// A section shorter than this joins the one after it.
const MIN_WORDS: usize = 20;

/// One passage of a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// The headings above the passage, outermost first (empty before the first heading).
    pub headings: Vec<String>,
    /// The passage's own text, without the title and headings.
    pub text: String,
}

impl Passage {
    /// What the model reads: the title, the headings, then the text.
    pub fn for_model(&self, title: &str) -> String {
        let mut s = String::with_capacity(title.len() + self.text.len() + 64);
        s.push_str(title);
        for h in &self.headings {
            if h != title {
                s.push_str(" > ");
                s.push_str(h);
            }
        }
        s.push('\n');
        s.push_str(&self.text);
        s
    }
}

/// The passages of a page from its plain text (one block per line, as the markdown crate
/// writes it) and its headings (level, text) in order of appearance.
pub fn split(text: &str, headings: &[(u8, String)]) -> Vec<Passage> {
    // Sections: the headings above, and the lines under them.
    let mut sections: Vec<(Vec<String>, Vec<&str>)> = vec![(Vec::new(), Vec::new())];
    let mut path: Vec<(u8, String)> = Vec::new();
    let mut next = headings.iter().peekable();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some((level, h)) = next.peek()
            && h.trim() == line
        {
            path.retain(|(l, _)| l < level);
            path.push((*level, h.trim().to_string()));
            sections.push((path.iter().map(|(_, h)| h.clone()).collect(), Vec::new()));
            next.next();
            continue;
        }
        if let Some(last) = sections.last_mut() {
            last.1.push(line);
        }
    }
    // Short sections lead into the next: each written as "heading: text" before it, the
    // passage taking the headings of its last section.
    let mut out: Vec<Passage> = Vec::new();
    let mut lead = String::new();
    for (headings, lines) in sections {
        let body = lines.join("\n");
        let text = if lead.is_empty() { body } else { format!("{lead}\n{body}") };
        if words(&text) < MIN_WORDS {
            lead = match headings.last() {
                Some(h) if lines.is_empty() => format!("{lead}\n{h}"),
                Some(h) => format!("{}\n{h}: {}", lead, lines.join("\n")),
                None => text,
            }
            .trim()
            .to_string();
            continue;
        }
        lead.clear();
        out.extend(cut(Passage { headings, text: text.trim().to_string() }));
    }
    if !lead.is_empty() {
        match out.last_mut() {
            Some(last) if words(&last.text) + words(&lead) <= MAX_WORDS => {
                last.text.push('\n');
                last.text.push_str(&lead);
            }
            _ => out.push(Passage { headings: Vec::new(), text: lead }),
        }
    }
    out
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// A passage longer than the model reads, cut into parts of at most [`MAX_WORDS`] words, at a
/// line or sentence end where there is one in the second half of a part.
fn cut(p: Passage) -> Vec<Passage> {
    if words(&p.text) <= MAX_WORDS {
        return vec![p];
    }
    let tokens: Vec<&str> = p.text.split_inclusive(char::is_whitespace).collect();
    let mut parts = Vec::new();
    let mut start = 0;
    while start < tokens.len() {
        let mut end = start;
        let mut counted = 0;
        let mut good_end = None;
        while end < tokens.len() && counted < MAX_WORDS {
            let t = tokens[end];
            if !t.trim().is_empty() {
                counted += 1;
            }
            end += 1;
            let ends_sentence = t.ends_with('\n') || t.trim_end().ends_with(['.', '!', '?', ':']);
            if ends_sentence && counted >= MAX_WORDS / 2 {
                good_end = Some(end);
            }
        }
        if end < tokens.len()
            && let Some(g) = good_end
        {
            end = g;
        }
        let text: String = tokens[start..end].concat();
        parts.push(Passage { headings: p.headings.clone(), text: text.trim().to_string() });
        start = end;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(level: u8, s: &str) -> (u8, String) {
        (level, s.to_string())
    }

    #[test]
    fn sections_carry_their_headings_and_short_ones_join_the_next() {
        let long = "word ".repeat(30);
        let text = format!("Intro line.\nPricing\nShort.\nDiscounts\n{long}\nRenewals\n{long}\n");
        let heads = [h(2, "Pricing"), h(3, "Discounts"), h(2, "Renewals")];
        let p = split(&text, &heads);
        assert_eq!(p.len(), 2, "{p:#?}");
        assert_eq!(p[0].headings, ["Pricing", "Discounts"]);
        assert!(p[0].text.starts_with("Intro line.\nPricing: Short.\n"), "{}", p[0].text);
        assert_eq!(p[1].headings, ["Renewals"]);
        assert_eq!(p[1].for_model("Deals").lines().next(), Some("Deals > Renewals"));
    }

    #[test]
    fn a_long_section_is_cut_at_sentence_ends_into_parts_the_model_reads_whole() {
        let sentence = "This sentence has exactly eight words in it. ";
        let text = format!("Long\n{}\n", sentence.repeat(60));
        let p = split(&text, &[h(2, "Long")]);
        assert!(p.len() >= 3, "{}", p.len());
        for part in &p {
            assert!(words(&part.text) <= MAX_WORDS);
            assert!(part.text.ends_with('.'), "cut at a sentence end: {}", part.text);
            assert_eq!(part.headings, ["Long"]);
        }
        let total: usize = p.iter().map(|x| words(&x.text)).sum();
        assert_eq!(total, 480, "no word lost");
    }

    #[test]
    fn a_page_of_one_short_line_is_one_passage() {
        let p = split("Just this.\n", &[]);
        assert_eq!(p, [Passage { headings: vec![], text: "Just this.".into() }]);
        assert!(split("", &[]).is_empty());
    }
}
