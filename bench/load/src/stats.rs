//! Latency samples and their summary (p50, p99, max, mean), and the rounding of reported numbers.

use serde_json::{Value, json};
use std::time::Duration;

/// Latencies of one kind of call, in microseconds: every sample is kept (a 10 s run at 40,000
/// calls/s is 1.6 MB), so percentiles are exact.
#[derive(Clone, Debug, Default)]
pub struct Latencies(Vec<u32>);

impl Latencies {
    /// Adds one sample (saturating at about 71 minutes).
    pub fn record(&mut self, d: Duration) {
        self.0
            .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
    }

    /// Adds a sample already in microseconds.
    pub fn record_us(&mut self, us: u64) {
        self.0.push(u32::try_from(us).unwrap_or(u32::MAX));
    }

    /// Takes over the samples of another worker.
    pub fn merge(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// p50, p99, max and mean in milliseconds.
    pub fn summary(mut self) -> Summary {
        self.0.sort_unstable();
        let v = &self.0;
        if v.is_empty() {
            return Summary::default();
        }
        let ms = |us: u32| f64::from(us) / 1000.0;
        let sum: u64 = v.iter().map(|&x| u64::from(x)).sum();
        Summary {
            count: v.len(),
            p50: Some(ms(percentile(v, 0.50))),
            p99: Some(ms(percentile(v, 0.99))),
            max: Some(ms(v[v.len() - 1])),
            mean: Some(sum as f64 / v.len() as f64 / 1000.0),
        }
    }
}

/// The nearest-rank percentile `q` (0 < q <= 1) of sorted samples: the smallest sample that at
/// least `q` of all samples do not exceed.
pub fn percentile(sorted: &[u32], q: f64) -> u32 {
    assert!(!sorted.is_empty(), "percentile of no samples");
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Latency summary in milliseconds; all `None` when there were no samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    pub count: usize,
}

impl Summary {
    /// The `latency_ms` object of the JSON line.
    pub fn to_json(&self) -> Value {
        let r = |x: Option<f64>| x.map(|v| round(v, 3));
        json!({"p50": r(self.p50), "p99": r(self.p99), "max": r(self.max), "mean": r(self.mean),
               "count": self.count})
    }
}

/// `x` rounded to `digits` decimals.
pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// `n` per second over `seconds`, two decimals; 0 when no time passed.
pub fn rate(n: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        round(n as f64 / seconds, 2)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.50), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile(&v, 0.001), 1);
        assert_eq!(percentile(&[7], 0.5), 7);
        assert_eq!(percentile(&[1, 2], 0.5), 1);
        assert_eq!(percentile(&[1, 2, 3], 0.5), 2);
        let v: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&v, 0.99), 990);
    }

    #[test]
    fn summary_in_milliseconds_from_unsorted_merged_samples() {
        let mut a = Latencies::default();
        let mut b = Latencies::default();
        for us in (1..=50).rev() {
            a.record(Duration::from_micros(us * 1000));
        }
        for us in 51..=100 {
            b.record_us(us * 1000);
        }
        a.merge(b);
        assert_eq!(a.len(), 100);
        let s = a.summary();
        assert_eq!(s.count, 100);
        assert_eq!((s.p50, s.p99, s.max), (Some(50.0), Some(99.0), Some(100.0)));
        assert_eq!(s.mean, Some(50.5));
        assert_eq!(
            s.to_json(),
            json!({"p50": 50.0, "p99": 99.0, "max": 100.0, "mean": 50.5, "count": 100})
        );
    }

    #[test]
    fn empty_summary_is_null_not_zero() {
        let s = Latencies::default().summary();
        assert_eq!(s.count, 0);
        assert_eq!(s.to_json()["p50"], Value::Null);
    }

    #[test]
    fn rates_and_rounding() {
        assert_eq!(rate(1000, 3.0), 333.33);
        assert_eq!(rate(5, 0.0), 0.0);
        assert_eq!(round(1.23456, 3), 1.235);
        let mut l = Latencies::default();
        l.record(Duration::from_secs(100_000));
        assert_eq!(l.summary().max, Some(f64::from(u32::MAX) / 1000.0));
    }
}
