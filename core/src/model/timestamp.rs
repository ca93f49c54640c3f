//! Timestamps with nanosecond precision over Firestore's range (0001-01-01 .. 9999-12-31).

use crate::{Error, Result};
use std::fmt;

/// Seconds from 0001-01-01T00:00:00Z to the Unix epoch (negative).
const MIN_SECONDS: i64 = -62_135_596_800;
/// Seconds from the Unix epoch to 9999-12-31T23:59:59Z.
const MAX_SECONDS: i64 = 253_402_300_799;

/// A point in time: seconds since the Unix epoch plus nanoseconds, like
/// `google.protobuf.Timestamp`, limited to the range Firestore accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    seconds: i64,
    nanos: u32,
}

impl Timestamp {
    /// The earliest timestamp Firestore stores: 0001-01-01T00:00:00Z.
    pub const MIN: Timestamp = Timestamp {
        seconds: MIN_SECONDS,
        nanos: 0,
    };
    /// The latest timestamp Firestore stores: 9999-12-31T23:59:59.999999999Z.
    pub const MAX: Timestamp = Timestamp {
        seconds: MAX_SECONDS,
        nanos: 999_999_999,
    };

    /// Builds a timestamp, checking the range and that `nanos < 1e9`.
    pub fn new(seconds: i64, nanos: u32) -> Result<Self> {
        if nanos >= 1_000_000_000 {
            return Err(Error::InvalidInput(format!(
                "timestamp nanos must be below 1,000,000,000, got {nanos}"
            )));
        }
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
            return Err(Error::InvalidInput(format!(
                "timestamp {seconds}s is outside 0001-01-01..9999-12-31"
            )));
        }
        Ok(Timestamp { seconds, nanos })
    }

    /// Seconds since the Unix epoch.
    pub fn seconds(&self) -> i64 {
        self.seconds
    }

    /// Nanoseconds within the second.
    pub fn nanos(&self) -> u32 {
        self.nanos
    }

    /// The current system time.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("system clock before 1970");
        Timestamp {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        }
    }

    /// Milliseconds since the Unix epoch (truncated).
    pub fn unix_millis(&self) -> i64 {
        self.seconds * 1000 + i64::from(self.nanos / 1_000_000)
    }

    /// From milliseconds since the Unix epoch.
    pub fn from_unix_millis(millis: i64) -> Result<Self> {
        Timestamp::new(
            millis.div_euclid(1000),
            (millis.rem_euclid(1000) as u32) * 1_000_000,
        )
    }

    /// This timestamp plus (or minus) a number of seconds, if still in range.
    pub fn add_seconds(&self, delta: i64) -> Result<Self> {
        Timestamp::new(
            self.seconds.checked_add(delta).ok_or_else(|| {
                Error::InvalidInput("timestamp arithmetic overflowed".to_string())
            })?,
            self.nanos,
        )
    }

    /// RFC 3339 in UTC with as many fractional digits as needed (0, 3, 6 or 9),
    /// as Firestore's REST API prints: `2024-05-01T12:00:00.123456789Z`.
    pub fn to_rfc3339(&self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        let mut out = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
        if self.nanos != 0 {
            if self.nanos % 1_000_000 == 0 {
                out.push_str(&format!(".{:03}", self.nanos / 1_000_000));
            } else if self.nanos % 1_000 == 0 {
                out.push_str(&format!(".{:06}", self.nanos / 1_000));
            } else {
                out.push_str(&format!(".{:09}", self.nanos));
            }
        }
        out.push('Z');
        out
    }

    /// RFC 3339 in UTC with exactly three fractional digits (audit events).
    pub fn to_rfc3339_millis(&self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        format!(
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
            self.nanos / 1_000_000
        )
    }

    /// Parses RFC 3339 (`Z` or a numeric offset, 0–9 fractional digits).
    pub fn parse_rfc3339(s: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidInput(format!(
                "{s:?} is not an RFC 3339 timestamp like 2024-05-01T12:00:00.5Z"
            ))
        };
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b't') {
            return Err(bad());
        }
        if b[13] != b':' || b[16] != b':' {
            return Err(bad());
        }
        // Digits accumulated in place: `str::parse` per field was most of a parse, and
        // every document line holds several timestamps (at most 4 digits: no overflow).
        let num = |r: std::ops::Range<usize>| -> Result<i64> {
            let mut value = 0i64;
            for &c in b.get(r).ok_or_else(bad)? {
                if !c.is_ascii_digit() {
                    return Err(bad());
                }
                value = value * 10 + i64::from(c - b'0');
            }
            Ok(value)
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 {
            return Err(bad());
        }
        if sec > 59 {
            return Err(bad());
        }
        let mut i = 19;
        let mut nanos: u32 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let digits = i - start;
            if digits == 0 || digits > 9 {
                return Err(bad());
            }
            // At most 9 digits, all checked above: fits a u32.
            let frac = b[start..i]
                .iter()
                .fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
            nanos = frac * 10u32.pow((9 - digits) as u32);
        }
        let offset = match b.get(i) {
            Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
            Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6)?;
                if oh > 23 || om > 59 {
                    return Err(bad());
                }
                let off = oh * 3600 + om * 60;
                if *sign == b'+' { off } else { -off }
            }
            _ => return Err(bad()),
        };
        let days = days_from_civil(y, mo, d);
        let seconds = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
        Timestamp::new(seconds, nanos)
    }

    fn civil(&self) -> (i64, i64, i64, i64, i64, i64) {
        let days = self.seconds.div_euclid(86_400);
        let rem = self.seconds.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (
            y,
            m.into(),
            d.into(),
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60,
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's civil-calendar algorithms (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31); the one copy, used by the
/// JSON encoder and retention's calendar buckets too.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_round_trip() {
        assert_eq!(Timestamp::MIN.to_rfc3339(), "0001-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::MAX.to_rfc3339(),
            "9999-12-31T23:59:59.999999999Z"
        );
        for t in [
            Timestamp::MIN,
            Timestamp::MAX,
            Timestamp::new(0, 1).unwrap(),
        ] {
            assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
        }
    }

    #[test]
    fn offsets_and_errors() {
        let a = Timestamp::parse_rfc3339("2024-02-29T01:00:00+01:00").unwrap();
        assert_eq!(a.to_rfc3339(), "2024-02-29T00:00:00Z");
        assert!(Timestamp::parse_rfc3339("2023-02-29T00:00:00Z").is_err());
        assert!(Timestamp::parse_rfc3339("2024-01-01 00:00:00Z").is_err());
        assert!(Timestamp::new(0, 1_000_000_000).is_err());
        // Anything but an ASCII digit where digits go is refused: signs, spaces, other
        // Unicode digits and multi-byte characters, in every field and the fraction.
        let good = "2024-05-01T12:34:56.123456789+01:30";
        assert!(Timestamp::parse_rfc3339(good).is_ok());
        for (at, c) in good.char_indices() {
            if !c.is_ascii_digit() {
                continue;
            }
            for bad in ["+", "-", " ", "a", "\u{0663}", "é"] {
                let s = format!("{}{bad}{}", &good[..at], &good[at + 1..]);
                assert!(Timestamp::parse_rfc3339(&s).is_err(), "{s}");
            }
        }
        assert_eq!(
            Timestamp::parse_rfc3339("0001-01-01T00:00:00.000000001Z").unwrap(),
            Timestamp::new(Timestamp::MIN.seconds(), 1).unwrap()
        );
        assert_eq!(
            Timestamp::new(1, 500_000_000).unwrap().to_rfc3339_millis(),
            "1970-01-01T00:00:01.500Z"
        );
    }
}
