//! `ScheduleExpression` as EventBridge validates it: `rate(N unit)` and six-field `cron(...)`.
//!
//! AWS is strict and answers every refusal with the same text, `Parameter ScheduleExpression is
//! not valid.`: the unit must be minute, hour or day, singular exactly when N is 1, lower case,
//! with one space and nothing else inside the parentheses; N is a positive integer. A cron
//! expression has minutes, hours, day-of-month, month, day-of-week and year, and exactly one of
//! day-of-month and day-of-week is `?`.

/// A validated schedule, kept in a shape the scheduler can fire from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every `seconds` seconds.
    Rate { seconds: u64 },
    /// The six fields, as written.
    Cron { fields: Vec<String> },
}

/// AWS's one message for every refused schedule expression.
pub const INVALID: &str = "Parameter ScheduleExpression is not valid.";

/// Validates a schedule expression exactly as EventBridge does.
pub fn parse(expr: &str) -> Result<Schedule, &'static str> {
    if let Some(inner) = expr.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
        return rate(inner).ok_or(INVALID);
    }
    if let Some(inner) = expr.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')) {
        return cron(inner).ok_or(INVALID);
    }
    Err(INVALID)
}

fn rate(inner: &str) -> Option<Schedule> {
    let (n, unit) = inner.split_once(' ')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = n.parse().ok()?;
    if n == 0 {
        return None;
    }
    let (singular, seconds) = match unit {
        "minute" => (true, 60),
        "minutes" => (false, 60),
        "hour" => (true, 3600),
        "hours" => (false, 3600),
        "day" => (true, 86_400),
        "days" => (false, 86_400),
        _ => return None,
    };
    if singular != (n == 1) {
        return None;
    }
    Some(Schedule::Rate {
        seconds: n.checked_mul(seconds)?,
    })
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl Kind {
    pub(super) fn range(self) -> (u32, u32) {
        match self {
            Kind::Minute => (0, 59),
            Kind::Hour => (0, 23),
            Kind::DayOfMonth => (1, 31),
            Kind::Month => (1, 12),
            Kind::DayOfWeek => (1, 7),
            Kind::Year => (1970, 2199),
        }
    }

    /// A single value: a number in range, or a month or day name where those are allowed.
    pub(super) fn value(self, s: &str) -> Option<u32> {
        let names: &[&str] = match self {
            Kind::Month => &MONTHS,
            Kind::DayOfWeek => &DAYS,
            _ => &[],
        };
        let upper = s.to_ascii_uppercase();
        if let Some(i) = names.iter().position(|n| *n == upper) {
            return Some(i as u32 + 1);
        }
        if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u32 = s.parse().ok()?;
        let (lo, hi) = self.range();
        (lo..=hi).contains(&v).then_some(v)
    }
}

fn cron(inner: &str) -> Option<Schedule> {
    let fields: Vec<&str> = inner.split(' ').collect();
    if fields.len() != 6 || fields.iter().any(|f| f.is_empty()) {
        return None;
    }
    let kinds = [
        Kind::Minute,
        Kind::Hour,
        Kind::DayOfMonth,
        Kind::Month,
        Kind::DayOfWeek,
        Kind::Year,
    ];
    for (f, k) in fields.iter().zip(kinds) {
        if !field(f, k) {
            return None;
        }
    }
    // Exactly one of day-of-month and day-of-week is `?`.
    if (fields[2] == "?") == (fields[4] == "?") {
        return None;
    }
    Some(Schedule::Cron {
        fields: fields.into_iter().map(String::from).collect(),
    })
}

fn field(f: &str, k: Kind) -> bool {
    if f == "?" {
        return matches!(k, Kind::DayOfMonth | Kind::DayOfWeek);
    }
    if k == Kind::DayOfMonth && (f == "L" || f == "LW") {
        return true;
    }
    f.split(',').all(|item| self::item(item, k))
}

fn item(item: &str, k: Kind) -> bool {
    if item.is_empty() {
        return false;
    }
    // Day-of-month `15W`, day-of-week `6L` and `3#2`.
    if k == Kind::DayOfMonth
        && let Some(d) = item.strip_suffix('W')
    {
        return k.value(d).is_some();
    }
    if k == Kind::DayOfWeek {
        if item == "L" {
            return true;
        }
        if let Some(d) = item.strip_suffix('L') {
            return k.value(d).is_some();
        }
        if let Some((d, n)) = item.split_once('#') {
            return k.value(d).is_some() && matches!(n, "1" | "2" | "3" | "4" | "5");
        }
    }
    let (base, step) = match item.split_once('/') {
        Some((b, s)) => (b, Some(s)),
        None => (item, None),
    };
    if let Some(step) = step {
        let ok = !step.is_empty()
            && step.len() <= 4
            && step.bytes().all(|b| b.is_ascii_digit())
            && step.parse::<u32>().is_ok_and(|s| s > 0);
        if !ok {
            return false;
        }
    }
    if base == "*" {
        return true;
    }
    match base.split_once('-') {
        Some((a, b)) => k.value(a).is_some() && k.value(b).is_some(),
        None => k.value(base).is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_aws_accepts() {
        assert_eq!(parse("rate(1 minute)"), Ok(Schedule::Rate { seconds: 60 }));
        assert_eq!(
            parse("rate(10 minutes)"),
            Ok(Schedule::Rate { seconds: 600 })
        );
        assert_eq!(parse("rate(1 hour)"), Ok(Schedule::Rate { seconds: 3600 }));
        assert_eq!(parse("rate(2 hours)"), Ok(Schedule::Rate { seconds: 7200 }));
        assert_eq!(parse("rate(1 day)"), Ok(Schedule::Rate { seconds: 86_400 }));
        assert_eq!(
            parse("rate(2 days)"),
            Ok(Schedule::Rate { seconds: 172_800 })
        );
    }

    /// Every rate expression AWS was recorded refusing.
    #[test]
    fn rates_aws_refuses() {
        for bad in [
            "rate(10 seconds)",
            "rate(10 years)",
            "rate(1 minutes)",
            "rate(1 hours)",
            "rate(1 days)",
            "rate(10 minute)",
            "rate(10 hour)",
            "rate(10 day)",
            "rate()",
            "rate(10)",
            "rate(10 minutess)",
            "rate(foo minutes)",
            "rate(0 minutes)",
            "rate(-10 minutes)",
            "rate(10 MINUTES)",
            "rate( 10 minutes )",
            " rate(10 minutes)",
            "rate(10  minutes)",
            "rate(99999999999999999999 minutes)",
        ] {
            assert_eq!(parse(bad), Err(INVALID), "{bad}");
        }
    }

    #[test]
    fn crons_aws_accepts() {
        for good in [
            "cron(0 12 * * ? *)",
            "cron(15 10 ? * 6L 2022-2023)",
            "cron(0 18 ? * MON-FRI *)",
            "cron(0 8 1 * ? *)",
            "cron(0/10 * ? * MON-FRI *)",
            "cron(0/5 8-17 ? * MON-FRI *)",
            "cron(0 9 ? * 2#1 *)",
            "cron(0 0 L * ? *)",
            "cron(0 0 15W * ? *)",
            "cron(5,35 14 * * ? *)",
            "cron(0 10 * JAN,FEB ? *)",
            "cron(59 23 31 12 ? 2199)",
        ] {
            assert!(parse(good).is_ok(), "{good}");
        }
    }

    /// Every cron expression AWS was recorded refusing, and a few more of the same kinds.
    #[test]
    fn crons_aws_refuses() {
        for bad in [
            "cron(0 1 * * * *)",
            "cron(7 20 * * NOT *)",
            "cron(INVALID)",
            "cron(0 dummy ? * MON-FRI *)",
            "cron(71 8 1 * ? *)",
            "cron(0 24 * * ? *)",
            "cron(0 12 ? * ? *)",
            "cron(0 12 32 * ? *)",
            "cron(0 12 * 13 ? *)",
            "cron(0 12 * * ? 1969)",
            "cron(0 12 * * ?)",
            "cron(0 12 * * ? * *)",
            "cron(0/0 12 * * ? *)",
            "cron(0 12 ? * 8 *)",
            "cron(0  12 * * ? *)",
            "cron()",
            "cron(0 12 ? * 2#6 *)",
        ] {
            assert_eq!(parse(bad), Err(INVALID), "{bad}");
        }
    }

    #[test]
    fn neither_form() {
        assert_eq!(parse("every 5 minutes"), Err(INVALID));
        assert_eq!(parse(""), Err(INVALID));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}", n in 0u64..100_000) {
            let _ = parse(&s);
            let _ = parse(&format!("cron({s})"));
            let _ = parse(&format!("rate({n} {s})"));
        }
    }
}
