//! The hooks `git receive-pack` runs for a push over HTTP: a `pre-receive` hook that holds
//! pushed pages to the limit a page saved on the web obeys.
//!
//! The server writes them at start into `DATA/git-hooks/` and points git at that folder with
//! `core.hooksPath` (see `super::command`), whatever the repository's own configuration says;
//! the limit comes in the backend's environment as `CASEBOOK_MAX_PAGE_BYTES`. A refused push's
//! objects stay in git's quarantine and are dropped with it, so nothing of it enters the
//! repository. Each other hook git may run for a push is passed on to the repository's own
//! (`hooks/NAME` in its git directory), so a hook an administrator set up there still runs.

use casebook_core::{Error, Result};
use std::path::{Path, PathBuf};

/// The folder of the data dir holding the hooks.
pub(crate) const DIR: &str = "git-hooks";

/// The variable that gives the hook the page limit, in bytes.
pub(crate) const LIMIT_VAR: &str = "CASEBOOK_MAX_PAGE_BYTES";

/// Every file ending in `.md` (pages and the files of discussions) that a pushed commit adds
/// or changes is looked up, size only (`git cat-file --batch-check` reads an object's header,
/// never its content). The files come from each new commit's differences with its parents
/// (`git log --raw -m`), not from `git rev-list --objects`, which names each object once by
/// the first path it meets: a large blob pushed both as `a.bin` and as `a.md` would be named
/// `a.bin` there and pass.
const PRE_RECEIVE: &str = r#"#!/bin/sh
# Written by Casebook each time it starts: changes made here are lost.
# Refuses a push that brings a page (a file ending in .md) over the wiki's page limit.
limit=${CASEBOOK_MAX_PAGE_BYTES:-}
case $limit in
''|*[!0-9]*)
	echo "Casebook: the page limit is not set, so the push is refused" >&2
	exit 1 ;;
esac
input=$(cat)
changed=
nl='
'
while read -r old new ref; do
	case $new in *[!0]*) ;; *) continue ;; esac
	case $old in *[!0]*) range="$old..$new" ;; *) range="$new" ;; esac
	out=$(git -c core.quotePath=false log --format= --raw --no-abbrev --no-renames --diff-merges=separate --root -r "$range") || {
		echo "Casebook: cannot read the commits pushed to $ref" >&2
		exit 1
	}
	changed="$changed$nl$out"
done <<EOF
$input
EOF
sizes=$(printf '%s\n' "$changed" |
	awk -F '\t' '/^:/ { split($1, m, " "); if (m[5] != "D" && m[4] !~ /^0+$/) print m[4], substr($0, length($1) + 2) }' |
	git cat-file --batch-check='%(objecttype) %(objectsize) %(rest)') || {
	echo "Casebook: cannot read the sizes of the pushed files" >&2
	exit 1
}
printf '%s\n' "$sizes" | awk -v limit="$limit" '
	$1 == "blob" && $2 + 0 > limit + 0 {
		path = $0
		sub(/^[^ ]+ [^ ]+ /, "", path)
		name = path
		gsub(/^"|"$/, "", name)
		if (name ~ /\.md$/ && !(path in seen)) {
			seen[path] = 1
			refused++
			printf "Casebook: %s is %s bytes; a page may be at most %s bytes (the limit of a page saved on the web)\n", path, $2, limit
		}
	}
	END { if (refused) { print "Casebook: the push is refused; nothing of it was stored"; exit 1 } }
' >&2 || exit 1
own="${GIT_DIR:-.}/hooks/pre-receive"
if [ -x "$own" ]; then
	printf '%s\n' "$input" | "$own"
	exit $?
fi
exit 0
"#;

/// Any other hook: the repository's own of that name, if it has one.
const PASS_ON: &str = r#"#!/bin/sh
# Written by Casebook each time it starts: changes made here are lost.
# Runs the repository's own hook of this name, if it has one.
own="${GIT_DIR:-.}/hooks/${0##*/}"
if [ -x "$own" ]; then
	exec "$own" "$@"
fi
exit 0
"#;

/// The hooks git may run while receiving a push, besides `pre-receive`.
const PASSED_ON: &[&str] = &[
    "update",
    "post-receive",
    "post-update",
    "reference-transaction",
    "push-to-checkout",
    "pre-auto-gc",
];

/// Writes the hooks into `data/git-hooks` and returns that folder.
pub(crate) fn write(data: &Path) -> Result<PathBuf> {
    let dir = data.join(DIR);
    let fail = |what: &str, e: std::io::Error| {
        Error::unavailable(format!("cannot write the git hooks in {}: {what}: {e}", dir.display()))
    };
    std::fs::create_dir_all(&dir).map_err(|e| fail("cannot create the folder", e))?;
    let files = std::iter::once(("pre-receive", PRE_RECEIVE))
        .chain(PASSED_ON.iter().map(|name| (*name, PASS_ON)));
    for (name, script) in files {
        let path = dir.join(name);
        // Written beside and renamed over, so a push running meanwhile never sees half a file.
        let tmp = dir.join(format!(".{name}.new"));
        std::fs::write(&tmp, script).map_err(|e| fail(name, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| fail(name, e))?;
        }
        std::fs::rename(&tmp, &path).map_err(|e| fail(name, e))?;
    }
    Ok(dir)
}
