//! Numbers as AWS compares them: exact decimals, not floating point.
//!
//! EventBridge compares numbers within -5.0e9..=5.0e9 with six digits after the decimal point;
//! SNS within -1.0e9..=1.0e9 with five. A literal is turned into an integer count of millionths
//! (`scaled`), parsed from its decimal text, so `300`, `300.0` and `3e2` are the same number and
//! `0.1 + 0.2` rounding never enters. A literal that is more precise or larger than the dialect
//! allows is refused in a pattern, and never matches a numeric condition when it is in an event.

/// Millionths in one unit: every accepted number is an integer count of these.
pub(crate) const SCALE: i128 = 1_000_000;

/// The numeric limits of one dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumLimits {
    /// Largest accepted absolute value, in whole units.
    pub max_abs: i64,
    /// Most digits accepted after the decimal point.
    pub max_decimals: u32,
}

/// EventBridge: -5e9..=5e9, six decimals.
pub(crate) const EVENTBRIDGE: NumLimits = NumLimits {
    max_abs: 5_000_000_000,
    max_decimals: 6,
};

/// SNS: -1e9..=1e9, five decimals.
pub(crate) const SNS: NumLimits = NumLimits {
    max_abs: 1_000_000_000,
    max_decimals: 5,
};

/// Why a literal cannot be compared numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumError {
    TooPrecise,
    OutOfRange,
    NotANumber,
}

impl NumLimits {
    /// The AWS reason text for a refused literal.
    pub(crate) fn message(&self, e: NumError) -> String {
        match e {
            NumError::TooPrecise => {
                format!(
                    "Only values upto {} decimals are supported",
                    self.max_decimals
                )
            }
            NumError::OutOfRange | NumError::NotANumber => format!(
                "Value must be between {} and {}, inclusive",
                -self.max_abs, self.max_abs
            ),
        }
    }

    /// The literal as millionths, if it is within these limits.
    pub(crate) fn scaled(&self, text: &str) -> Result<i64, NumError> {
        let (mantissa, exp10) = decimal(text)?;
        if mantissa == 0 {
            return Ok(0);
        }
        if exp10 < -(self.max_decimals as i64) {
            return Err(NumError::TooPrecise);
        }
        // mantissa has at most 38 significant digits here; 10^(exp10+6) must keep it in range.
        let shift = exp10 + 6;
        let digits = digits_of(mantissa.unsigned_abs()) as i64;
        if digits + shift > 17 {
            return Err(NumError::OutOfRange);
        }
        let v = if shift >= 0 {
            mantissa * 10i128.pow(shift as u32)
        } else {
            mantissa / 10i128.pow((-shift) as u32)
        };
        if v.abs() > self.max_abs as i128 * SCALE {
            return Err(NumError::OutOfRange);
        }
        Ok(v as i64)
    }
}

fn digits_of(mut v: u128) -> u32 {
    let mut n = 0;
    while v > 0 {
        v /= 10;
        n += 1;
    }
    n
}

/// Splits a JSON number literal into (mantissa without trailing zeros, power of ten).
fn decimal(text: &str) -> Result<(i128, i64), NumError> {
    let b = text.as_bytes();
    let mut i = 0;
    let neg = b.first() == Some(&b'-');
    if neg {
        i += 1;
    }
    let mut digits: Vec<u8> = Vec::new();
    let mut exp: i64 = 0;
    let mut seen = false;
    while let Some(&c) = b.get(i) {
        if c.is_ascii_digit() {
            digits.push(c - b'0');
            seen = true;
            i += 1;
        } else {
            break;
        }
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while let Some(&c) = b.get(i) {
            if c.is_ascii_digit() {
                digits.push(c - b'0');
                exp -= 1;
                seen = true;
                i += 1;
            } else {
                break;
            }
        }
    }
    if !seen {
        return Err(NumError::NotANumber);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let eneg = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut e: i64 = 0;
        let mut any = false;
        while let Some(&c) = b.get(i) {
            if c.is_ascii_digit() {
                e = (e * 10 + (c - b'0') as i64).min(1_000_000_000);
                any = true;
                i += 1;
            } else {
                break;
            }
        }
        if !any {
            return Err(NumError::NotANumber);
        }
        exp += if eneg { -e } else { e };
    }
    if i != b.len() {
        return Err(NumError::NotANumber);
    }
    // Strip leading zeros, then trailing zeros (each raises the exponent).
    let first = digits.iter().position(|&d| d != 0);
    let Some(first) = first else {
        return Ok((0, 0));
    };
    let mut last = digits.len();
    while digits[last - 1] == 0 {
        last -= 1;
        exp += 1;
    }
    let sig = &digits[first..last];
    if sig.len() > 30 {
        // Far more significant digits than either dialect keeps: too precise or too large.
        return Err(if exp < 0 {
            NumError::TooPrecise
        } else {
            NumError::OutOfRange
        });
    }
    let mut m: i128 = 0;
    for &d in sig {
        m = m * 10 + d as i128;
    }
    Ok((if neg { -m } else { m }, exp))
}

/// One side of a numeric range, in millionths; `open` excludes the bound itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bound {
    pub value: i64,
    pub open: bool,
}

/// A numeric condition: `None` on a side means unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Range {
    pub lo: Option<Bound>,
    pub hi: Option<Bound>,
}

impl Range {
    pub(crate) fn contains(&self, v: i64) -> bool {
        if let Some(lo) = self.lo
            && (v < lo.value || (lo.open && v == lo.value))
        {
            return false;
        }
        if let Some(hi) = self.hi
            && (v > hi.value || (hi.open && v == hi.value))
        {
            return false;
        }
        true
    }

    /// The range as a closed interval of "keys" (`2v` for a value, `2v±1` just past it), so
    /// open and closed ends become plain integer intervals for the interval index.
    pub(crate) fn keys(&self) -> (i64, i64) {
        let lo = match self.lo {
            None => i64::MIN,
            Some(b) => 2 * b.value + b.open as i64,
        };
        let hi = match self.hi {
            None => i64::MAX,
            Some(b) => 2 * b.value - b.open as i64,
        };
        (lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_scale_alike() {
        let l = EVENTBRIDGE;
        assert_eq!(l.scaled("300"), Ok(300_000_000));
        assert_eq!(l.scaled("300.0"), Ok(300_000_000));
        assert_eq!(l.scaled("3e2"), Ok(300_000_000));
        assert_eq!(l.scaled("3.00E+2"), Ok(300_000_000));
        assert_eq!(l.scaled("-0.000001"), Ok(-1));
        assert_eq!(l.scaled("0.0000000"), Ok(0));
        assert_eq!(l.scaled("-0"), Ok(0));
    }

    #[test]
    fn limits() {
        let l = EVENTBRIDGE;
        assert_eq!(l.scaled("5000000000"), Ok(5_000_000_000_000_000));
        assert_eq!(l.scaled("-5e9"), Ok(-5_000_000_000_000_000));
        assert_eq!(l.scaled("5000000000.000001"), Err(NumError::OutOfRange));
        assert_eq!(l.scaled("0.0000001"), Err(NumError::TooPrecise));
        assert_eq!(l.scaled("1e400"), Err(NumError::OutOfRange));
        assert_eq!(l.scaled("1e-400"), Err(NumError::TooPrecise));
        assert_eq!(l.scaled("123456789012"), Err(NumError::OutOfRange));
        assert_eq!(SNS.scaled("0.000001"), Err(NumError::TooPrecise));
        assert_eq!(SNS.scaled("1000000001"), Err(NumError::OutOfRange));
        assert_eq!(
            l.message(NumError::OutOfRange),
            "Value must be between -5000000000 and 5000000000, inclusive"
        );
        assert_eq!(
            l.message(NumError::TooPrecise),
            "Only values upto 6 decimals are supported"
        );
    }

    #[test]
    fn range_keys_respect_open_ends() {
        let r = Range {
            lo: Some(Bound {
                value: 0,
                open: true,
            }),
            hi: Some(Bound {
                value: 5,
                open: false,
            }),
        };
        assert!(!r.contains(0) && r.contains(1) && r.contains(5) && !r.contains(6));
        assert_eq!(r.keys(), (1, 10));
    }
}
