//! One source of time, and the calendar arithmetic of the timestamps AWS writes. Wall-clock
//! milliseconds are derived from tokio's monotonic clock plus the wall time read once at start,
//! so tests that pause tokio's clock control every timestamp and deadline.

use std::time::{SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Epoch milliseconds that move with tokio's (pausable) clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_epoch_ms: u64,
    base: Instant,
}

impl Clock {
    pub fn new() -> Self {
        let base_epoch_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Clock {
            base_epoch_ms,
            base: Instant::now(),
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.base_epoch_ms + self.base.elapsed().as_millis() as u64
    }

    /// The tokio instant at which the epoch time `ms` is reached (now, if already past).
    pub fn instant_at(&self, ms: u64) -> Instant {
        let now = self.now_ms();
        Instant::now() + std::time::Duration::from_millis(ms.saturating_sub(now))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}
// Calendar arithmetic for the timestamps AWS writes (UTC, no leap seconds).

/// `YYYY-MM-DDThh:mm:ssZ` for seconds since the epoch. Written digit by digit rather than
/// through `format!`: every PutEvents entry stamps one.
pub fn iso_seconds(secs: i64) -> String {
    let mut out = String::with_capacity(24);
    push_civil(&mut out, secs);
    out.push('Z');
    out
}

/// `YYYY-MM-DDThh:mm:ss.mmmZ` for milliseconds since the epoch.
pub fn iso_millis(ms: u64) -> String {
    let mut out = String::with_capacity(28);
    push_civil(&mut out, (ms / 1000) as i64);
    out.push('.');
    push_digits(&mut out, (ms % 1000) as u32, 3);
    out.push('Z');
    out
}

/// `YYYY-MM-DDThh:mm:ss`; a year outside 0..=9999 is written as `format!("{y:04}")` would.
fn push_civil(out: &mut String, secs: i64) {
    let (y, mo, d, h, mi, s) = civil(secs);
    match u32::try_from(y) {
        Ok(y) if y <= 9999 => push_digits(out, y, 4),
        _ => out.push_str(&format!("{y:04}")),
    }
    for (sep, v) in [('-', mo), ('-', d), ('T', h), (':', mi), (':', s)] {
        out.push(sep);
        push_digits(out, v, 2);
    }
}

/// The last `width` decimal digits of `v`, zero-padded.
fn push_digits(out: &mut String, v: u32, width: u32) {
    for i in (0..width).rev() {
        out.push(char::from(b'0' + (v / 10u32.pow(i) % 10) as u8));
    }
}

/// (year, month, day, hour, minute, second) of seconds since the epoch, UTC.
pub fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// Days since the epoch of a civil date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `iso_seconds` and `iso_millis` wrote before they stopped using `format!`.
    fn reference(ms: i64) -> (String, String) {
        let (y, mo, d, h, mi, s) = civil(ms.div_euclid(1000));
        let secs = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
        let millis = format!(
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
            ms.rem_euclid(1000)
        );
        (secs, millis)
    }

    #[test]
    fn iso_texts_at_known_points() {
        assert_eq!(iso_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_seconds(1_640_995_199), "2021-12-31T23:59:59Z");
        assert_eq!(iso_millis(1_640_995_200_007), "2022-01-01T00:00:00.007Z");
        // Years outside four digits are written as format! writes them.
        assert_eq!(
            iso_seconds(-62_167_219_201),
            reference(-62_167_219_201_000).0
        );
        assert_eq!(iso_seconds(253_402_300_800), "10000-01-01T00:00:00Z");
    }

    proptest::proptest! {
        #[test]
        fn iso_texts_match_format(ms in 0i64..400_000_000_000_000, secs in -100_000_000_000i64..400_000_000_000) {
            let (_, millis) = reference(ms);
            proptest::prop_assert_eq!(iso_millis(ms as u64), millis);
            proptest::prop_assert_eq!(iso_seconds(secs), reference(secs * 1000).0);
        }
    }
}
