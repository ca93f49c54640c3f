//! Event ids: `log_` + a ULID-style suffix (48-bit milliseconds, 80 random bits, Crockford
//! base32), monotonic within a process so ids sort in append order.

use crate::model::Timestamp;
use std::sync::Mutex;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static LAST: Mutex<(u64, u128)> = Mutex::new((0, 0));

/// A fresh, unique, time-sortable event id for an event at `time`.
pub fn new_event_id(time: Timestamp) -> String {
    let ms = time.unix_millis().clamp(0, (1 << 48) - 1) as u64;
    let mut bytes = [0u8; 16];
    // Without OS randomness ids are still unique within this process (monotonic counter).
    let _ = getrandom::fill(&mut bytes[..10]);
    let fresh = u128::from_le_bytes(bytes) & ((1u128 << 80) - 1);
    let (ms, rand) = {
        let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
        // Same or earlier millisecond: keep the last time and count up, so ids stay sorted.
        let next = if ms <= last.0 {
            (last.0, (last.1 + 1) & ((1u128 << 80) - 1))
        } else {
            (ms, fresh)
        };
        *last = next;
        next
    };
    let value: u128 = (u128::from(ms) << 80) | rand;
    let mut out = String::with_capacity(30);
    out.push_str("log_");
    for i in (0..26).rev() {
        out.push(CROCKFORD[((value >> (i * 5)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_sorted() {
        let t = Timestamp::now();
        let ids: Vec<String> = (0..1000).map(|_| new_event_id(t)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.iter().all(|i| i.len() == 30 && i.starts_with("log_")));
    }
}
