//! One source of time. Wall-clock milliseconds are derived from tokio's monotonic clock plus the wall
//! time read once at start, so tests that pause tokio's clock control every timestamp and deadline.

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
