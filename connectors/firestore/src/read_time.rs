//! Firestore's rules for point-in-time reads, checked before any call so that a wrong
//! `read_time` fails with an explanation instead of a bare INVALID_ARGUMENT.
//!
//! * Within the last hour: any time with microsecond precision.
//! * Older, up to 7 days: whole minutes only, and only when point-in-time recovery (PITR)
//!   is enabled on the database (the server refuses otherwise).
//! * Older than 7 days, or in the future: refused.

use firekeep_core::model::Timestamp;
use firekeep_core::{Error, Result};

/// Clock skew tolerated between this machine and Firestore for "future" read times.
pub const FUTURE_TOLERANCE_SECS: i64 = 10;
const HOUR: i64 = 3600;
const SEVEN_DAYS: i64 = 7 * 24 * HOUR;

/// Checks `read_time` against Firestore's point-in-time rules, relative to `now`.
pub fn validate_read_time(read_time: Timestamp, now: Timestamp) -> Result<()> {
    let age_nanos = (i128::from(now.seconds()) * 1_000_000_000 + i128::from(now.nanos()))
        - (i128::from(read_time.seconds()) * 1_000_000_000 + i128::from(read_time.nanos()));
    let age_secs = age_nanos.div_euclid(1_000_000_000);
    if age_secs < -i128::from(FUTURE_TOLERANCE_SECS) {
        return Err(Error::InvalidInput(format!(
            "read time {read_time} is in the future; use a time in the past (or omit it to read now)"
        )));
    }
    if read_time.nanos() % 1_000 != 0 {
        return Err(Error::InvalidInput(format!(
            "read time {read_time} has sub-microsecond digits; Firestore accepts microsecond \
             precision only"
        )));
    }
    if age_secs < i128::from(HOUR) {
        return Ok(());
    }
    if age_secs > i128::from(SEVEN_DAYS) {
        return Err(Error::InvalidInput(format!(
            "read time {read_time} is more than 7 days ago; Firestore keeps versions for at most \
             7 days (with point-in-time recovery enabled)"
        )));
    }
    if read_time.nanos() != 0 || read_time.seconds().rem_euclid(60) != 0 {
        return Err(Error::InvalidInput(format!(
            "read time {read_time} is more than 1 hour ago, so it must be a whole minute \
             (e.g. {}); such reads also need point-in-time recovery enabled on the database",
            Timestamp::new(read_time.seconds() - read_time.seconds().rem_euclid(60), 0)
                .map(|t| t.to_string())
                .unwrap_or_default()
        )));
    }
    Ok(())
}

/// `t` rounded down to a whole microsecond.
pub(crate) fn truncate_to_micros(t: Timestamp) -> Timestamp {
    Timestamp::new(t.seconds(), t.nanos() - t.nanos() % 1_000).expect("same second stays in range")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64, n: u32) -> Timestamp {
        Timestamp::new(s, n).unwrap()
    }

    #[test]
    fn rules() {
        let now = at(1_700_000_000, 500_000_000);
        // Recent: microseconds fine, nanoseconds not.
        assert!(validate_read_time(at(1_700_000_000 - 10, 123_456_000), now).is_ok());
        assert!(validate_read_time(at(1_700_000_000 - 10, 123_456_789), now).is_err());
        // Small skew tolerated, real future refused.
        assert!(validate_read_time(at(1_700_000_002, 0), now).is_ok());
        let e = validate_read_time(at(1_700_003_600, 0), now).unwrap_err();
        assert!(e.to_string().contains("future"), "{e}");
        // 2 hours ago: whole minutes only.
        let two_h: i64 = 1_700_000_000 - 7200;
        let minute = two_h - two_h.rem_euclid(60);
        assert!(validate_read_time(at(minute, 0), now).is_ok());
        let e = validate_read_time(at(minute + 1, 0), now).unwrap_err();
        assert!(e.to_string().contains("whole minute"), "{e}");
        // 8 days ago: refused.
        let old: i64 = 1_700_000_000 - 8 * 86_400;
        let e = validate_read_time(at(old - old.rem_euclid(60), 0), now).unwrap_err();
        assert!(e.to_string().contains("7 days"), "{e}");
        assert_eq!(truncate_to_micros(at(5, 123_456_789)), at(5, 123_456_000));
    }
}
