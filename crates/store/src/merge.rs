//! Three-way merge of page texts: what the writer started from (base), what is there now
//! (theirs), what the writer wants (yours).
//!
//! The merge costs little whatever the size of the page, and never more than a bound. Each
//! side's edit is found first by comparing lines from both ends (string comparisons, no diff):
//! the base's lines between what the side shares with it at the start and at the end. Edits
//! with an unchanged line between them are applied as they are, so two edits far apart in a page
//! of 400,000 lines merge in a few string comparisons per line. Edits that overlap or touch are
//! diffed (diffy, Myers' algorithm) with the lines all three texts share at both ends left out;
//! the diff's time grows with the square of the lines that differ, so when the two edits add up
//! to more than a limit of lines the merge is not tried and the answer is
//! [`MergeOutcome::TooLarge`]. diffy has no time budget of its own, so the bound is in lines.

/// The most lines the diffs of a merge may compare: for each side, the base's lines it replaced
/// and the lines it put in their place, added up.
///
/// Measured on a 2-core machine, edits where every line differs (the worst case, quadratic):
/// 8,000 lines took 37 ms in a release build (115 ms in a debug build), 20,000 lines 290 ms
/// (540 ms), 40,000 lines 1.2 s (2.2 s). Edits of a line here and there cost far less: 80,000
/// lines with every tenth line changed took 120 ms (200 ms). So at most about 60 ms of work,
/// for edits up to a few hundred kilobytes rewritten end to end; larger overlapping edits are a
/// conflict for a person to resolve.
pub const MERGE_LINES: usize = 10_000;

/// The result of a merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The edits touched different lines; this is both combined.
    Clean(String),
    /// The edits overlap; nothing can be decided without a person.
    Conflict,
    /// The edits span more lines than the merge compares (`lines`, over `limit`); it was not
    /// tried, and a person must decide.
    TooLarge { lines: usize, limit: usize },
}

/// Merges `yours` and `theirs`, both edited from `base`, line by line, comparing at most
/// [`MERGE_LINES`] lines.
pub fn merge3(base: &str, theirs: &str, yours: &str) -> MergeOutcome {
    merge3_within(base, theirs, yours, MERGE_LINES)
}

/// Merges as [`merge3`] does, comparing at most `limit` lines (see [`MERGE_LINES`]).
pub fn merge3_within(base: &str, theirs: &str, yours: &str, limit: usize) -> MergeOutcome {
    if theirs == yours || base == yours {
        return MergeOutcome::Clean(theirs.to_string());
    }
    if base == theirs {
        return MergeOutcome::Clean(yours.to_string());
    }
    let b: Vec<&str> = base.split_inclusive('\n').collect();
    let t: Vec<&str> = theirs.split_inclusive('\n').collect();
    let y: Vec<&str> = yours.split_inclusive('\n').collect();
    // What each side changed: the base's lines between what the side shares with it at the
    // start and at the end, replaced by the side's lines there.
    let (theirs_edit, yours_edit) = (Edit::of(&b, &t), Edit::of(&b, &y));
    // Edits with an unchanged line of the base between them: both apply as they are.
    if theirs_edit.end < yours_edit.start {
        return MergeOutcome::Clean(splice(&b, [(theirs_edit, &t[..]), (yours_edit, &y[..])]));
    }
    if yours_edit.end < theirs_edit.start {
        return MergeOutcome::Clean(splice(&b, [(yours_edit, &y[..]), (theirs_edit, &t[..])]));
    }
    let lines = theirs_edit.lines() + yours_edit.lines();
    if lines > limit {
        return MergeOutcome::TooLarge { lines, limit };
    }
    // The lines all three share at the start and at the end stay out of the diff.
    let prefix = theirs_edit.start.min(yours_edit.start);
    let suffix = (b.len() - theirs_edit.end).min(b.len() - yours_edit.end);
    let middle = |side: &[&str]| side[prefix..side.len() - suffix].concat();
    match diffy::merge(&middle(&b), &middle(&t), &middle(&y)) {
        Ok(merged) => {
            let mut out = String::with_capacity(merged.len() + base.len());
            out.extend(b[..prefix].iter().copied());
            out.push_str(&merged);
            out.extend(b[b.len() - suffix..].iter().copied());
            MergeOutcome::Clean(out)
        }
        Err(_) => MergeOutcome::Conflict,
    }
}

/// Both sides of a conflict in one text, for a person to resolve: the lines both edits agree
/// on once, and each region where they differ as
///
/// ```text
/// <<<<<<< yours
/// your lines
/// =======
/// their lines
/// >>>>>>> theirs (their_label)
/// ```
///
/// so nothing either side wrote is lost. Edits spanning more than [`MERGE_LINES`] lines are
/// not diffed: the whole of both texts is one region.
pub fn merge3_marked(base: &str, theirs: &str, yours: &str, their_label: &str) -> String {
    let closing = if their_label.is_empty() {
        "theirs".to_string()
    } else {
        format!("theirs ({})", their_label.replace(['\r', '\n'], " "))
    };
    let whole = || {
        let nl = |s: &str| if s.is_empty() || s.ends_with('\n') { "" } else { "\n" };
        format!(
            "<<<<<<< yours\n{yours}{}=======\n{theirs}{}>>>>>>> {closing}\n",
            nl(yours),
            nl(theirs)
        )
    };
    match merge3(base, theirs, yours) {
        MergeOutcome::Clean(text) => return text,
        MergeOutcome::TooLarge { .. } => return whole(),
        MergeOutcome::Conflict => {}
    }
    let mut options = diffy::MergeOptions::new();
    options.set_conflict_style(diffy::ConflictStyle::Merge);
    let marked = match options.merge(base, yours, theirs) {
        Ok(text) => return text,
        Err(text) => text,
    };
    // diffy names the sides `ours` and `theirs`; a person reads whose is whose.
    let mut out = String::with_capacity(marked.len() + 64);
    for line in marked.split_inclusive('\n') {
        match line.trim_end_matches(['\r', '\n']) {
            "<<<<<<< ours" => out.push_str("<<<<<<< yours\n"),
            ">>>>>>> theirs" => out.push_str(&format!(">>>>>>> {closing}\n")),
            _ => out.push_str(line),
        }
    }
    out
}

/// Whether a text still holds a conflict region as [`merge3_marked`] writes it: a line
/// starting `<<<<<<< `, then a line `=======`, then a line starting `>>>>>>> `.
pub fn has_conflict_markers(text: &str) -> bool {
    let mut stage = 0;
    for line in text.lines() {
        stage = match (stage, line) {
            (0, l) if l.starts_with("<<<<<<< ") || l == "<<<<<<<" => 1,
            (1, "=======") => 2,
            (2, l) if l.starts_with(">>>>>>> ") || l == ">>>>>>>" => return true,
            (s, _) => s,
        };
    }
    false
}

/// One side's edit of the base: lines `start..end` of the base replaced by as many lines of the
/// side (from `start`) as leave the `b.len() - end` lines it shares with the base at the end.
#[derive(Debug, Clone, Copy)]
struct Edit {
    start: usize,
    end: usize,
    /// Lines of the side in place of the base's `start..end`.
    new: usize,
}

impl Edit {
    fn of(base: &[&str], side: &[&str]) -> Edit {
        let shortest = base.len().min(side.len());
        let prefix = (0..shortest).take_while(|&i| base[i] == side[i]).count();
        let suffix = (1..=shortest - prefix)
            .take_while(|&i| base[base.len() - i] == side[side.len() - i])
            .count();
        Edit { start: prefix, end: base.len() - suffix, new: side.len() - prefix - suffix }
    }

    /// The lines a diff of this side with the base compares.
    fn lines(&self) -> usize {
        self.end - self.start + self.new
    }
}

/// The base with two edits applied, the first one ending before the second starts.
fn splice(base: &[&str], edits: [(Edit, &[&str]); 2]) -> String {
    let mut out = String::new();
    let mut at = 0;
    for (edit, side) in edits {
        out.extend(base[at..edit.start].iter().copied());
        out.extend(side[edit.start..edit.start + edit.new].iter().copied());
        at = edit.end;
    }
    out.extend(base[at..].iter().copied());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn separate_paragraphs_merge() {
        let base = "a\n\nb\n\nc\n";
        let theirs = "A\n\nb\n\nc\n";
        let yours = "a\n\nb\n\nC\n";
        assert_eq!(merge3(base, theirs, yours), MergeOutcome::Clean("A\n\nb\n\nC\n".into()));
    }

    #[test]
    fn same_line_conflicts() {
        assert_eq!(merge3("a\n", "b\n", "c\n"), MergeOutcome::Conflict);
    }

    #[test]
    fn identical_edits_are_not_a_conflict() {
        assert_eq!(merge3("a\n", "b\n", "b\n"), MergeOutcome::Clean("b\n".into()));
    }

    #[test]
    fn shared_lines_at_the_ends_are_kept_whole() {
        // The last line lacks a newline in one text only; lines differ by their ending too.
        let base = "a\nb\nc\nd\ne";
        let theirs = "a\nB\nc\nd\ne";
        let yours = "a\nb\nc\nD\ne\n";
        assert_eq!(merge3(base, theirs, yours), MergeOutcome::Clean("a\nB\nc\nD\ne\n".into()));
        // Insertions at the same place with shared lines around them still conflict.
        assert_eq!(merge3("a\nb\n", "a\nX\nb\n", "a\nY\nb\n"), MergeOutcome::Conflict);
        // One side removing a line the other kept, at the very start and end.
        assert_eq!(merge3("a\nb\nc\n", "b\nc\n", "a\nb\n"), MergeOutcome::Clean("b\n".into()));
    }

    #[test]
    fn edits_close_together_are_merged_by_the_diff() {
        let base = numbered(1_000, "line");
        let theirs = base.replacen("line 500\n", "theirs 500\n", 1).replacen(
            "line 510\n",
            "theirs 510\n",
            1,
        );
        let yours = base.replacen("line 505\n", "yours 505\n", 1);
        let MergeOutcome::Clean(merged) = merge3(&base, &theirs, &yours) else {
            panic!("a clean merge");
        };
        assert_eq!(
            merged,
            theirs.replacen("line 505\n", "yours 505\n", 1),
            "both edits, and every other line as it was"
        );
        // Edits of neighbouring lines are for a person to combine, as before.
        let yours = base.replacen("line 511\n", "yours 511\n", 1);
        assert_eq!(merge3(&base, &theirs, &yours), MergeOutcome::Conflict);
    }

    /// Edits made at random to texts of distinct lines: the merge agrees with diffy's merge of
    /// the whole texts.
    #[test]
    fn agrees_with_a_merge_of_the_whole_texts() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut fresh = 0;
        for _ in 0..2_000 {
            let base: Vec<String> = (0..next(12)).map(|i| format!("{i}\n")).collect();
            let mut edit = |tag: &str| {
                let mut side = base.clone();
                for _ in 0..next(3) {
                    let at = next(side.len() + 1);
                    match next(3) {
                        0 if at < side.len() => {
                            side.remove(at);
                        }
                        1 if at < side.len() => side[at] = format!("{tag}{fresh}\n"),
                        _ => side.insert(at, format!("{tag}{fresh}\n")),
                    }
                    fresh += 1;
                }
                side.concat()
            };
            let (theirs, yours) = (edit("t"), edit("y"));
            let base = base.concat();
            let expected = match diffy::merge(&base, &theirs, &yours) {
                Ok(m) => MergeOutcome::Clean(m),
                Err(_) => MergeOutcome::Conflict,
            };
            assert_eq!(merge3(&base, &theirs, &yours), expected, "{base:?} {theirs:?} {yours:?}");
        }
    }

    #[test]
    fn a_marked_merge_keeps_both_sides() {
        let base = "a\nb\nc\nd\ne\n";
        let theirs = "a\nB theirs\nc\nd\nE\n";
        let yours = "a\nB yours\nc\nd\ne\n";
        let merged = merge3_marked(base, theirs, yours, "saved by Ann at 10:00");
        assert_eq!(
            merged,
            "a\n<<<<<<< yours\nB yours\n=======\nB theirs\n>>>>>>> theirs (saved by Ann at 10:00)\nc\nd\nE\n"
        );
        assert!(has_conflict_markers(&merged));
        assert!(!has_conflict_markers(&theirs.replace('a', "<<<<<<< x")));
        // What merges cleanly needs no markers.
        assert_eq!(merge3_marked(base, theirs, base, ""), theirs);
        // Too large to diff: both whole.
        let big = numbered(6_000, "line");
        let merged = merge3_marked(&big, &numbered(6_000, "t"), "yours", "");
        assert!(merged.starts_with("<<<<<<< yours\nyours\n=======\nt 0\n"));
        assert!(merged.ends_with("t 5999\n>>>>>>> theirs\n"));
    }

    fn numbered(lines: usize, tag: &str) -> String {
        (0..lines).map(|i| format!("{tag} {i}\n")).collect()
    }

    #[test]
    fn a_one_line_change_in_a_huge_page_merges_quickly() {
        let base = numbered(400_000, "line");
        let theirs = base.replacen("line 10\n", "line ten\n", 1);
        let yours = base.replacen("line 399990\n", "line three hundred ninety-nine thousand\n", 1);
        let t = Instant::now();
        let MergeOutcome::Clean(merged) = merge3(&base, &theirs, &yours) else {
            panic!("a clean merge");
        };
        let took = t.elapsed();
        assert!(merged.contains("line ten\n") && merged.contains("ninety-nine thousand\n"));
        assert_eq!(merged.lines().count(), 400_000);
        // Both edits lie 399,980 lines apart: each side's own edit is what its diff compares.
        assert!(took < Duration::from_secs(2), "took {took:?}");
    }

    #[test]
    fn a_huge_differing_region_is_refused_quickly() {
        let base = numbered(400_000, "line");
        let theirs = numbered(400_000, "theirs");
        let yours = numbered(400_000, "yours");
        let t = Instant::now();
        let outcome = merge3(&base, &theirs, &yours);
        let took = t.elapsed();
        assert_eq!(outcome, MergeOutcome::TooLarge { lines: 1_600_000, limit: MERGE_LINES });
        assert!(took < Duration::from_secs(2), "took {took:?}");
        // Just over the limit is refused too; just under is merged.
        let base = numbered(100, "line");
        let theirs = numbered(100, "theirs");
        let yours = base.replacen("line 99\n", "", 1);
        assert_eq!(
            merge3_within(&base, &theirs, &yours, 200),
            MergeOutcome::TooLarge { lines: 201, limit: 200 }
        );
        assert_eq!(merge3_within(&base, &theirs, &yours, 201), MergeOutcome::Conflict);
    }
}
