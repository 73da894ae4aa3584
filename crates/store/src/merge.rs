//! Three-way merge of page texts: what the writer started from (base), what is there now
//! (theirs), what the writer wants (yours).

/// The result of a merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The edits touched different lines; this is both combined.
    Clean(String),
    /// The edits overlap; nothing can be decided without a person.
    Conflict,
}

/// Merges `yours` and `theirs`, both edited from `base`, line by line.
pub fn merge3(base: &str, theirs: &str, yours: &str) -> MergeOutcome {
    if theirs == yours || base == yours {
        return MergeOutcome::Clean(theirs.to_string());
    }
    if base == theirs {
        return MergeOutcome::Clean(yours.to_string());
    }
    match diffy::merge(base, theirs, yours) {
        Ok(merged) => MergeOutcome::Clean(merged),
        Err(_) => MergeOutcome::Conflict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separate_paragraphs_merge() {
        let base = "a\n\nb\n\nc\n";
        let theirs = "A\n\nb\n\nc\n";
        let yours = "a\n\nb\n\nC\n";
        assert_eq!(
            merge3(base, theirs, yours),
            MergeOutcome::Clean("A\n\nb\n\nC\n".into())
        );
    }

    #[test]
    fn same_line_conflicts() {
        assert_eq!(merge3("a\n", "b\n", "c\n"), MergeOutcome::Conflict);
    }

    #[test]
    fn identical_edits_are_not_a_conflict() {
        assert_eq!(
            merge3("a\n", "b\n", "b\n"),
            MergeOutcome::Clean("b\n".into())
        );
    }
}
