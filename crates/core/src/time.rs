//! A commit time as git records it: seconds since the epoch plus the author's UTC offset.

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub seconds: i64,
    pub offset_minutes: i32,
}

impl Timestamp {
    pub fn new(seconds: i64, offset_minutes: i32) -> Timestamp {
        Timestamp {
            seconds,
            offset_minutes,
        }
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
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    )
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
        assert_eq!(
            Timestamp::new(1_795_763_327, 0).rfc3339(),
            "2026-11-27T07:08:47Z"
        );
        assert_eq!(Timestamp::new(951_782_400, 0).date(), "2000-02-29");
        assert_eq!(Timestamp::new(-86_400, 0).date(), "1969-12-31");
    }
}
