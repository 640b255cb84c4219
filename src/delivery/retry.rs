//! When to try again. SNS's HTTP `DeliveryPolicy` has four phases (immediate retries, retries at
//! the minimum delay, a backoff from the minimum to the maximum delay, retries at the maximum);
//! EventBridge's `RetryPolicy` counts attempts and the event's age, with exponential backoff and
//! jitter. Both are plain data so that a pending delivery carries its own schedule across restarts.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How the delay grows across SNS's backoff phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    Linear,
    Arithmetic,
    Geometric,
    Exponential,
}

impl Backoff {
    /// `backoffFunction` as SNS spells it.
    pub fn from_name(s: &str) -> Option<Backoff> {
        match s {
            "linear" => Some(Backoff::Linear),
            "arithmetic" => Some(Backoff::Arithmetic),
            "geometric" => Some(Backoff::Geometric),
            "exponential" => Some(Backoff::Exponential),
            _ => None,
        }
    }
}

/// A retry schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RetryPolicy {
    /// SNS `healthyRetryPolicy`: `num_retries` retries after the first attempt, in phases.
    Phased {
        num_retries: u32,
        num_no_delay: u32,
        num_min_delay: u32,
        num_max_delay: u32,
        min_delay_s: u32,
        max_delay_s: u32,
        backoff: Backoff,
    },
    /// EventBridge `RetryPolicy`: at most `max_retries` retries while the event is younger than
    /// `max_age_s`; delays double from one second, with jitter, up to a minute.
    Exponential { max_retries: u32, max_age_s: u64 },
    /// No retries: the first failure is final.
    Never,
}

impl RetryPolicy {
    /// SNS's default HTTP policy: 3 retries, 20 seconds apart.
    pub fn sns_default() -> RetryPolicy {
        RetryPolicy::Phased {
            num_retries: 3,
            num_no_delay: 0,
            num_min_delay: 0,
            num_max_delay: 0,
            min_delay_s: 20,
            max_delay_s: 20,
            backoff: Backoff::Linear,
        }
    }

    /// Which limit ended the retries once `delay` gave up: EventBridge's
    /// `EXHAUSTED_RETRY_CONDITION` (the attempts, unless the event's age ran out first).
    pub fn exhausted_by(&self, retry: u32, age: Duration) -> &'static str {
        match *self {
            RetryPolicy::Exponential {
                max_retries,
                max_age_s,
            } if retry <= max_retries && age.as_secs() >= max_age_s => "MaximumEventAgeInSeconds",
            _ => "MaximumRetryAttempts",
        }
    }

    /// The wait before retry number `retry` (1 for the first retry), or None when the policy is
    /// exhausted. `age` is how long ago the delivery was recorded.
    pub fn delay(&self, retry: u32, age: Duration) -> Option<Duration> {
        match *self {
            RetryPolicy::Never => None,
            RetryPolicy::Exponential {
                max_retries,
                max_age_s,
            } => {
                if retry > max_retries || age.as_secs() >= max_age_s {
                    return None;
                }
                let base = 1000u64.saturating_mul(1 << retry.saturating_sub(1).min(6));
                let capped = base.min(60_000);
                let jitter = rand::random_range(0..=capped / 2);
                Some(Duration::from_millis(capped / 2 + jitter))
            }
            RetryPolicy::Phased {
                num_retries,
                num_no_delay,
                num_min_delay,
                num_max_delay,
                min_delay_s,
                max_delay_s,
                backoff,
            } => {
                if retry == 0 || retry > num_retries {
                    return None;
                }
                let min = f64::from(min_delay_s);
                let max = f64::from(max_delay_s.max(min_delay_s));
                let secs = if retry <= num_no_delay {
                    0.0
                } else if retry <= num_no_delay + num_min_delay {
                    min
                } else if retry > num_retries.saturating_sub(num_max_delay) {
                    max
                } else {
                    let n = num_retries
                        .saturating_sub(num_no_delay + num_min_delay + num_max_delay)
                        .max(1);
                    let i = retry - num_no_delay - num_min_delay;
                    let x = f64::from(i) / f64::from(n);
                    let f = match backoff {
                        Backoff::Linear => x,
                        Backoff::Arithmetic => {
                            let (i, n) = (f64::from(i), f64::from(n));
                            i * (i + 1.0) / (n * (n + 1.0))
                        }
                        Backoff::Geometric => x * x,
                        Backoff::Exponential => {
                            (2f64.powf(f64::from(i)) - 1.0) / (2f64.powf(f64::from(n)) - 1.0)
                        }
                    };
                    min + (max - min) * f
                };
                Some(Duration::from_millis((secs * 1000.0).round() as u64))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phased(
        num_retries: u32,
        no: u32,
        min_n: u32,
        max_n: u32,
        min: u32,
        max: u32,
        backoff: Backoff,
    ) -> RetryPolicy {
        RetryPolicy::Phased {
            num_retries,
            num_no_delay: no,
            num_min_delay: min_n,
            num_max_delay: max_n,
            min_delay_s: min,
            max_delay_s: max,
            backoff,
        }
    }

    fn secs(p: &RetryPolicy) -> Vec<u64> {
        (1..=20)
            .map_while(|r| p.delay(r, Duration::ZERO))
            .map(|d| d.as_secs())
            .collect()
    }

    #[test]
    fn sns_default_is_three_retries_twenty_seconds_apart() {
        assert_eq!(secs(&RetryPolicy::sns_default()), vec![20, 20, 20]);
    }

    #[test]
    fn phases_in_order() {
        // 2 immediate, 1 at min, 4 backing off linearly from 10 to 50, 1 at max.
        let p = phased(8, 2, 1, 1, 10, 50, Backoff::Linear);
        assert_eq!(secs(&p), vec![0, 0, 10, 20, 30, 40, 50, 50]);
        let p = phased(4, 0, 0, 0, 1, 16, Backoff::Exponential);
        assert_eq!(secs(&p), vec![2, 4, 8, 16]);
        assert_eq!(
            phased(0, 0, 0, 0, 1, 1, Backoff::Linear).delay(1, Duration::ZERO),
            None
        );
    }

    #[test]
    fn exponential_stops_on_count_or_age() {
        let p = RetryPolicy::Exponential {
            max_retries: 2,
            max_age_s: 60,
        };
        assert!(p.delay(1, Duration::ZERO).is_some());
        assert!(p.delay(2, Duration::ZERO).unwrap() <= Duration::from_secs(2));
        assert_eq!(p.delay(3, Duration::ZERO), None);
        assert_eq!(p.delay(1, Duration::from_secs(60)), None);
        assert_eq!(RetryPolicy::Never.delay(1, Duration::ZERO), None);
        assert_eq!(p.exhausted_by(3, Duration::ZERO), "MaximumRetryAttempts");
        assert_eq!(
            p.exhausted_by(1, Duration::from_secs(60)),
            "MaximumEventAgeInSeconds"
        );
        assert_eq!(
            RetryPolicy::Never.exhausted_by(1, Duration::ZERO),
            "MaximumRetryAttempts"
        );
    }
}
