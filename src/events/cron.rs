//! When a schedule fires next, in UTC as EventBridge evaluates schedules, and the event a
//! scheduled rule delivers. Pure, so the scheduler can run on the paused clock in tests.
//!
//! `rate(N unit)` fires every period counted from the rule's creation. `cron(...)` fires at the
//! start of every matching minute; day-of-month supports `L`, `LW` and `nW` (nearest weekday),
//! day-of-week (1 = SUN … 7 = SAT) supports `nL` (last such day of the month) and `n#k` (k-th
//! such day). Ranges may wrap (`FRI-MON`).

use super::envelope::{civil, days_from_civil, iso_seconds};
use super::schedule::{Kind, Schedule};
use serde_json::{Value, json};

/// Last year a cron expression can name.
const LAST_YEAR: i64 = 2199;

/// A day-of-month or day-of-week condition beyond a plain set of values.
#[derive(Debug, Clone, Default)]
struct Days {
    any: bool,
    set: Vec<u32>,
    last: bool,
    last_weekday: bool,
    nearest_weekday: Vec<u32>,
    /// Day-of-week `nL`.
    last_of: Vec<u32>,
    /// Day-of-week `n#k`.
    nth: Vec<(u32, u32)>,
}

struct Cron {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    dom: Days,
    months: Vec<u32>,
    dow: Days,
    years: Vec<u32>,
}

fn expand(field: &str, k: Kind) -> Vec<u32> {
    let (lo, hi) = k.range();
    let mut out = Vec::new();
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((b, s)) => (b, s.parse::<u32>().unwrap_or(1).max(1)),
            None => (item, 1),
        };
        let (a, b) = if base == "*" {
            (lo, hi)
        } else if let Some((a, b)) = base.split_once('-') {
            match (k.value(a), k.value(b)) {
                (Some(a), Some(b)) => (a, b),
                _ => continue,
            }
        } else {
            match k.value(base) {
                // `a/n` runs from a to the top of the range.
                Some(a) if item.contains('/') => (a, hi),
                Some(a) => (a, a),
                None => continue,
            }
        };
        let span = if a <= b { b - a } else { hi - a + 1 + b - lo };
        let mut i = 0;
        while i <= span {
            let v = a + i;
            out.push(if v > hi { v - (hi - lo + 1) } else { v });
            i += step;
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn days(field: &str, k: Kind) -> Days {
    let mut d = Days::default();
    if field == "?" {
        d.any = true;
        return d;
    }
    for item in field.split(',') {
        if k == Kind::DayOfMonth {
            match item {
                "L" => d.last = true,
                "LW" => d.last_weekday = true,
                _ => match item.strip_suffix('W').and_then(|n| k.value(n)) {
                    Some(n) => d.nearest_weekday.push(n),
                    None => d.set.extend(expand(item, k)),
                },
            }
        } else if item == "L" {
            d.last_of.push(7);
        } else if let Some(n) = item.strip_suffix('L').and_then(|n| k.value(n)) {
            d.last_of.push(n);
        } else if let Some((n, w)) = item.split_once('#') {
            if let (Some(n), Ok(w)) = (k.value(n), w.parse()) {
                d.nth.push((n, w));
            }
        } else {
            d.set.extend(expand(item, k));
        }
    }
    d
}

fn days_in_month(y: i64, m: u32) -> u32 {
    let next = if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, i64::from(m) + 1, 1)
    };
    (next - days_from_civil(y, i64::from(m), 1)) as u32
}

/// 1 = Sunday … 7 = Saturday.
fn weekday(y: i64, m: u32, d: u32) -> u32 {
    // 1970-01-01 was a Thursday (5).
    ((days_from_civil(y, i64::from(m), i64::from(d)) + 4).rem_euclid(7) + 1) as u32
}

/// The weekday nearest to day `n` of the month, not leaving the month.
fn nearest_weekday(y: i64, m: u32, n: u32) -> u32 {
    let dim = days_in_month(y, m);
    let n = n.min(dim);
    match weekday(y, m, n) {
        7 if n == 1 => 3,
        7 => n - 1,
        1 if n == dim => n - 2,
        1 => n + 1,
        _ => n,
    }
}

impl Cron {
    fn parse(fields: &[String]) -> Cron {
        Cron {
            minutes: expand(&fields[0], Kind::Minute),
            hours: expand(&fields[1], Kind::Hour),
            dom: days(&fields[2], Kind::DayOfMonth),
            months: expand(&fields[3], Kind::Month),
            dow: days(&fields[4], Kind::DayOfWeek),
            years: expand(&fields[5], Kind::Year),
        }
    }

    fn day_matches(&self, y: i64, m: u32, d: u32) -> bool {
        let dim = days_in_month(y, m);
        let dom = &self.dom;
        let dom_ok = dom.any
            || dom.set.contains(&d)
            || (dom.last && d == dim)
            || (dom.last_weekday && d == nearest_weekday(y, m, dim))
            || dom
                .nearest_weekday
                .iter()
                .any(|&n| d == nearest_weekday(y, m, n));
        let wd = weekday(y, m, d);
        let dow = &self.dow;
        let dow_ok = dow.any
            || dow.set.contains(&wd)
            || dow.last_of.iter().any(|&n| n == wd && d + 7 > dim)
            || dow
                .nth
                .iter()
                .any(|&(n, k)| n == wd && (d - 1) / 7 + 1 == k);
        dom_ok && dow_ok
    }

    /// The first matching minute strictly after `after_secs`.
    fn next_after(&self, after_secs: i64) -> Option<i64> {
        let start = (after_secs.div_euclid(60) + 1) * 60;
        let (y0, m0, d0, h0, mi0, _) = civil(start);
        let first_day = days_from_civil(y0, i64::from(m0), i64::from(d0));
        let last_day = days_from_civil(LAST_YEAR, 12, 31);
        for day in first_day..=last_day {
            let (y, m, d, _, _, _) = civil(day * 86_400);
            if !self.years.contains(&(y as u32)) {
                // Jump to the next year that can match.
                if !self.years.iter().any(|&yy| i64::from(yy) > y) {
                    return None;
                }
                continue;
            }
            if !self.months.contains(&m) || !self.day_matches(y, m, d) {
                continue;
            }
            let today = day == first_day;
            for &h in &self.hours {
                if today && h < h0 {
                    continue;
                }
                for &mi in &self.minutes {
                    if today && h == h0 && mi < mi0 {
                        continue;
                    }
                    return Some(day * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60);
                }
            }
        }
        None
    }
}

impl Schedule {
    /// The first firing strictly after `after_ms`, in epoch milliseconds; rates count whole
    /// periods from `anchor_ms` (the rule's creation). `None` when a cron never fires again.
    pub fn next_after(&self, anchor_ms: u64, after_ms: u64) -> Option<u64> {
        match self {
            Schedule::Rate { seconds } => {
                let period = seconds * 1000;
                let k = if after_ms < anchor_ms {
                    1
                } else {
                    (after_ms - anchor_ms) / period + 1
                };
                Some(anchor_ms + k * period)
            }
            Schedule::Cron { fields } => Cron::parse(fields)
                .next_after((after_ms / 1000) as i64)
                .map(|s| s as u64 * 1000),
        }
    }
}

/// The event a scheduled rule delivers (EB-041), in AWS's key order.
pub fn scheduled_event(
    id: &str,
    account: &str,
    region: &str,
    rule_arn: &str,
    fired_ms: u64,
) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": iso_seconds((fired_ms / 1000) as i64),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    })
}

#[cfg(test)]
mod tests {
    use super::super::schedule::parse;
    use super::*;

    fn at(s: &str) -> u64 {
        let (y, m, d) = (&s[0..4], &s[5..7], &s[8..10]);
        let (h, mi) = (&s[11..13], &s[14..16]);
        let days = days_from_civil(y.parse().unwrap(), m.parse().unwrap(), d.parse().unwrap());
        (days * 86_400 + h.parse::<i64>().unwrap() * 3600 + mi.parse::<i64>().unwrap() * 60) as u64
            * 1000
    }

    fn next(expr: &str, after: &str) -> String {
        let s = parse(expr).unwrap();
        let ms = s.next_after(0, at(after)).expect("fires");
        iso_seconds((ms / 1000) as i64)
    }

    #[test]
    fn rates_count_from_creation() {
        let s = parse("rate(5 minutes)").unwrap();
        assert_eq!(s.next_after(1_000, 1_000), Some(301_000));
        assert_eq!(s.next_after(1_000, 300_999), Some(301_000));
        assert_eq!(s.next_after(1_000, 301_000), Some(601_000));
        assert_eq!(s.next_after(1_000, 0), Some(301_000));
    }

    #[test]
    fn crons_fire_at_matching_minutes() {
        // 2024-01-01 was a Monday.
        assert_eq!(
            next("cron(0 12 * * ? *)", "2024-01-01T11:59"),
            "2024-01-01T12:00:00Z"
        );
        assert_eq!(
            next("cron(0 12 * * ? *)", "2024-01-01T12:00"),
            "2024-01-02T12:00:00Z"
        );
        assert_eq!(
            next("cron(0/15 * * * ? *)", "2024-01-01T10:07"),
            "2024-01-01T10:15:00Z"
        );
        assert_eq!(
            next("cron(0 18 ? * MON-FRI *)", "2024-01-05T18:00"),
            "2024-01-08T18:00:00Z"
        );
        assert_eq!(
            next("cron(0 8 1 * ? *)", "2024-01-15T00:00"),
            "2024-02-01T08:00:00Z"
        );
        assert_eq!(
            next("cron(0 0 L * ? *)", "2024-02-01T00:00"),
            "2024-02-29T00:00:00Z"
        );
        // 2024-03-31 is a Sunday: the last weekday is Friday the 29th.
        assert_eq!(
            next("cron(0 0 LW * ? *)", "2024-03-01T00:00"),
            "2024-03-29T00:00:00Z"
        );
        // 2024-06-15 is a Saturday: the nearest weekday is Friday the 14th.
        assert_eq!(
            next("cron(0 0 15W * ? *)", "2024-06-01T00:00"),
            "2024-06-14T00:00:00Z"
        );
        // The first Monday of February 2024 is the 5th; the last Friday of January the 26th.
        assert_eq!(
            next("cron(0 9 ? * 2#1 *)", "2024-01-10T00:00"),
            "2024-02-05T09:00:00Z"
        );
        assert_eq!(
            next("cron(0 9 ? * 6L *)", "2024-01-01T00:00"),
            "2024-01-26T09:00:00Z"
        );
        // Wrapping range FRI-MON from a Tuesday.
        assert_eq!(
            next("cron(0 0 ? * FRI-MON *)", "2024-01-02T00:00"),
            "2024-01-05T00:00:00Z"
        );
        assert_eq!(
            next("cron(30 6 29 2 ? *)", "2024-03-01T00:00"),
            "2028-02-29T06:30:00Z"
        );
    }

    #[test]
    fn years_end() {
        let s = parse("cron(0 0 1 1 ? 2020)").unwrap();
        assert_eq!(s.next_after(0, at("2021-01-01T00:00")), None);
        assert_eq!(
            next("cron(0 0 1 1 ? 2030-2031)", "2024-05-05T00:00"),
            "2030-01-01T00:00:00Z"
        );
    }

    #[test]
    fn scheduled_event_shape() {
        let e = scheduled_event(
            "id-1",
            "000000000000",
            "us-east-1",
            "arn:aws:events:us-east-1:000000000000:rule/r",
            at("2024-01-01T12:00"),
        );
        assert_eq!(
            e.to_string(),
            r#"{"version":"0","id":"id-1","detail-type":"Scheduled Event","source":"aws.events","account":"000000000000","time":"2024-01-01T12:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:000000000000:rule/r"],"detail":{}}"#
        );
    }

    #[test]
    fn weekdays() {
        assert_eq!(weekday(2024, 1, 1), 2); // Monday
        assert_eq!(weekday(1970, 1, 1), 5); // Thursday
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
    }

    proptest::proptest! {
        /// The next firing is after the given time, on a minute, and nothing fires in between.
        #[test]
        fn next_is_the_first_after(after in 0u64..4_000_000_000_000, which in 0usize..5) {
            let exprs = ["cron(0/7 3-5 * * ? *)", "cron(0 0 L * ? *)", "cron(15 10 ? * 6L *)",
                "cron(0 9 ? * 2#3 *)", "cron(59 23 ? * SAT-SUN *)"];
            let s = parse(exprs[which]).unwrap();
            let n = s.next_after(0, after).unwrap();
            proptest::prop_assert!(n > after);
            proptest::prop_assert_eq!(n % 60_000, 0);
            proptest::prop_assert_eq!(s.next_after(0, n - 1), Some(n));
        }
    }
}
