//! The refs a push would move, read from the start of its request, and git's own way of saying
//! no to them.
//!
//! The wiki shows one branch. A push to any other ref would be taken by git and then never
//! shown, so a push naming one is answered here, before git sees it, with a report-status that
//! the git client prints as `! [remote rejected] … (Casebook shows only the branch main)`.

/// The commands at the start of a receive-pack request: the refs to update and the
/// capabilities the client asked for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Commands {
    pub refs: Vec<String>,
    pub caps: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The command list goes on past what has arrived.
    More,
    Done(Commands),
    /// Not a command list this reads (a signed push, say): git decides alone.
    Unreadable,
}

/// Reads a command list (pkt-lines up to the first flush) as it arrives, remembering where it
/// stopped: each piece of the body is looked at once, however many pieces the list comes in.
#[derive(Debug, Default)]
pub(crate) struct Reader {
    /// Where the next pkt-line starts.
    at: usize,
    refs: Vec<String>,
    caps: Vec<String>,
}

impl Reader {
    /// Reads on from where the last call stopped; `buf` is the body so far (the same bytes as
    /// before, and maybe more).
    pub(crate) fn scan(&mut self, buf: &[u8]) -> Scan {
        loop {
            let at = self.at;
            let Some(head) = buf.get(at..at + 4) else {
                return Scan::More;
            };
            let Some(len) =
                std::str::from_utf8(head).ok().and_then(|h| usize::from_str_radix(h, 16).ok())
            else {
                return Scan::Unreadable;
            };
            if len == 0 {
                return if self.refs.is_empty() {
                    Scan::Unreadable
                } else {
                    Scan::Done(Commands {
                        refs: std::mem::take(&mut self.refs),
                        caps: std::mem::take(&mut self.caps),
                    })
                };
            }
            if len <= 4 {
                return Scan::Unreadable;
            }
            let Some(line) = buf.get(at + 4..at + len) else {
                return Scan::More;
            };
            self.at += len;
            let (line, offered) = match line.iter().position(|&b| b == 0) {
                Some(nul) => (&line[..nul], Some(&line[nul + 1..])),
                None => (line, None),
            };
            if let Some(offered) = offered {
                self.caps = String::from_utf8_lossy(offered)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect();
            }
            let Ok(text) = std::str::from_utf8(line) else {
                return Scan::Unreadable;
            };
            let text = text.trim_end_matches('\n');
            if text.starts_with("shallow ") {
                continue;
            }
            let mut parts = text.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(_old), Some(_new), Some(name)) if !name.is_empty() => {
                    self.refs.push(name.to_string())
                }
                _ => return Scan::Unreadable,
            }
        }
    }
}

/// Reads the command list from the start of `buf`, all of it there is.
#[cfg(test)]
pub(crate) fn commands(buf: &[u8]) -> Scan {
    Reader::default().scan(buf)
}

fn pkt(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:04x}", data.len() + 4).into_bytes();
    out.extend_from_slice(data);
    out
}

/// `data` on side-band `band`, in packets no larger than the client asked for.
fn banded(band: u8, data: &[u8], max_packet: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for part in data.chunks(max_packet - 5) {
        let mut payload = vec![band];
        payload.extend_from_slice(part);
        out.extend(pkt(&payload));
    }
    out
}

/// What to do instead, for the person pushing.
pub(crate) fn advice(branch: &str) -> String {
    let short = branch.strip_prefix("refs/heads/").unwrap_or(branch);
    format!(
        "This wiki shows the branch {short} only; push your commits to it: git push origin HEAD:{short}"
    )
}

/// Whether the client reads a report of each ref (every git client since 2005 does).
pub(crate) fn wants_report(c: &Commands) -> bool {
    c.caps.iter().any(|c| c == "report-status" || c == "report-status-v2")
}

/// The whole push refused: each ref of another branch for that reason, the wiki's branch (if
/// named too) along with them, so that a push lands whole or not at all.
pub(crate) fn refusal(c: &Commands, branch: &str) -> Vec<u8> {
    let short = branch.strip_prefix("refs/heads/").unwrap_or(branch);
    let mut report = pkt(b"unpack ok\n");
    for name in &c.refs {
        let why = if name == branch {
            "refused with the rest of this push".to_string()
        } else {
            format!("Casebook shows only the branch {short}")
        };
        report.extend(pkt(format!("ng {name} {why}\n").as_bytes()));
    }
    report.extend_from_slice(b"0000");
    let max_packet = if c.caps.iter().any(|c| c == "side-band-64k") {
        65520
    } else if c.caps.iter().any(|c| c == "side-band") {
        1000
    } else {
        return report;
    };
    let says = format!("{}\n", advice(branch));
    let mut out = banded(2, says.as_bytes(), max_packet);
    out.extend(banded(1, &report, max_packet));
    out.extend_from_slice(b"0000");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "0000000000000000000000000000000000000000";
    const NEW: &str = "1111111111111111111111111111111111111111";

    #[test]
    fn reads_the_command_list_as_it_arrives() {
        let mut body =
            pkt(format!("{OLD} {NEW} refs/heads/main\0report-status side-band-64k agent=git/2\n")
                .as_bytes());
        body.extend(pkt(format!("{OLD} {NEW} refs/heads/idea\n").as_bytes()));
        body.extend_from_slice(b"0000PACK...");
        for cut in [0, 3, 10, body.len() - 12] {
            assert_eq!(commands(&body[..cut]), Scan::More, "cut at {cut}");
        }
        // Read as it arrives, a byte at a time: each line is read once, when it is whole.
        let mut reader = Reader::default();
        let mut done = None;
        for end in 0..=body.len() {
            match reader.scan(&body[..end]) {
                Scan::More => {}
                Scan::Done(c) => {
                    done = Some((end, c));
                    break;
                }
                Scan::Unreadable => panic!("unreadable at {end}"),
            }
            assert!(reader.at <= end, "read past what arrived");
        }
        let (end, c) = done.expect("the list is read");
        assert_eq!(end, body.len() - "PACK...".len());
        assert_eq!(c.refs, ["refs/heads/main", "refs/heads/idea"]);
        // What was read is not read again: spoiling a line already read changes nothing.
        let first =
            4 + usize::from_str_radix(std::str::from_utf8(&body[..4]).unwrap(), 16).unwrap();
        let mut reader = Reader::default();
        assert_eq!(reader.scan(&body[..first + 2]), Scan::More);
        let mut spoiled = body.clone();
        spoiled[..4].copy_from_slice(b"zzzz");
        assert!(matches!(reader.scan(&spoiled), Scan::Done(_)));
        let Scan::Done(c) = commands(&body) else {
            panic!("not read: {body:?}");
        };
        assert_eq!(c.refs, ["refs/heads/main", "refs/heads/idea"]);
        assert!(wants_report(&c));
        assert!(c.caps.contains(&"side-band-64k".to_string()));

        assert_eq!(commands(b"zzzz"), Scan::Unreadable);
        assert_eq!(commands(b"0000"), Scan::Unreadable);
        let cert = pkt(b"push-cert\0report-status\n");
        assert_eq!(commands(&cert), Scan::Unreadable);
    }

    #[test]
    fn the_refusal_names_each_ref_in_the_bands_asked_for() {
        let c = Commands {
            refs: vec!["refs/heads/main".into(), "refs/heads/idea".into()],
            caps: vec!["report-status".into()],
        };
        let plain = String::from_utf8(refusal(&c, "refs/heads/main")).unwrap();
        assert_eq!(
            plain,
            "000eunpack ok\n\
             003ang refs/heads/main refused with the rest of this push\n\
             003bng refs/heads/idea Casebook shows only the branch main\n\
             0000"
        );
        let banded = Commands { caps: vec!["report-status".into(), "side-band-64k".into()], ..c };
        let out = refusal(&banded, "refs/heads/main");
        // A message on band 2, the report on band 1, then the end.
        assert_eq!(&out[4..5], b"\x02");
        assert!(out.ends_with(b"0000"));
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("\x01000eunpack ok\n"), "{text}");
        assert!(text.contains("push your commits to it: git push origin HEAD:main"));
    }
}
