//! A commit time as git records it: seconds since the epoch plus the author's UTC offset.

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub seconds: i64,
    pub offset_minutes: i32,
}

impl Timestamp {
    pub fn new(seconds: i64, offset_minutes: i32) -> Timestamp {
        Timestamp { seconds, offset_minutes }
    }

    /// RFC 3339 in UTC, e.g. `2026-11-27T07:22:07Z`.
    pub fn rfc3339(&self) -> String {
        let (y, mo, d, h, mi, s) = civil(self.seconds);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }

    /// `2026-11-27 07:22` in UTC, for pages.
    pub fn short(&self) -> String {
        let (y, mo, d, h, mi, _) = civil(self.seconds);
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}")
    }

    /// `2026-11-27` in UTC.
    pub fn date(&self) -> String {
        let (y, mo, d, ..) = civil(self.seconds);
        format!("{y:04}-{mo:02}-{d:02}")
    }

    /// Now, in UTC.
    pub fn now() -> Timestamp {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Timestamp::new(secs, 0)
    }

    /// Reads what [`Timestamp::rfc3339`] writes (`2026-11-27T07:22:07Z`); also accepts a
    /// numeric offset (`+02:00`) instead of `Z`.
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let s = s.trim();
        let num = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
        let sep = |i: usize, c: &[u8]| s.as_bytes().get(i).is_some_and(|b| c.contains(b));
        if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
            return None;
        }
        let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let offset = match s.get(19..)? {
            "Z" | "z" => 0,
            tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) => {
                let oh = tz.get(1..3)?.parse::<i64>().ok()?;
                let om = tz.get(4..6)?.parse::<i64>().ok()?;
                let m = oh * 60 + om;
                if tz.starts_with('-') { -m } else { m }
            }
            _ => return None,
        };
        let days = days_from_civil(y, mo as u32, d as u32);
        let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset * 60;
        Some(Timestamp::new(secs, 0))
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days-from-civil inverse (Howard Hinnant's algorithm), valid for the whole i64 day range we meet.
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (y, m, d, (rem / 3600) as u32, ((rem % 3600) / 60) as u32, (rem % 60) as u32)
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(Timestamp::new(0, 0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp::new(1_795_763_327, 0).rfc3339(), "2026-11-27T07:08:47Z");
        assert_eq!(Timestamp::new(951_782_400, 0).date(), "2000-02-29");
        assert_eq!(Timestamp::new(-86_400, 0).date(), "1969-12-31");
    }

    #[test]
    fn parses_what_it_formats() {
        for secs in [0, 951_782_400, 1_795_763_327, -86_400, 4_102_444_800] {
            let t = Timestamp::new(secs, 0);
            assert_eq!(Timestamp::parse_rfc3339(&t.rfc3339()), Some(t));
        }
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-27T09:08:47+02:00"),
            Some(Timestamp::new(1_795_763_327, 0))
        );
        for bad in [
            "",
            "2026-11-27",
            "2026-13-01T00:00:00Z",
            "2026-11-27T07:08:47",
            "x026-11-27T07:08:47Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }
}
