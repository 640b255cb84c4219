//! IP addresses and CIDR blocks, as the `cidr` operator and IP-looking exact values use them.
//!
//! AWS treats an exact string that is an IP address literal as that address, so
//! `"2001:db8::1"` in a pattern matches `"2001:0db8:0:0:0:0:0:1"` in an event. Only strings shaped
//! like an IPv4 dotted quad or an IPv6 literal (hex digits and colons) are considered; anything
//! else is "nonstandard", and the reason texts follow AWS's.

use std::net::Ipv6Addr;

/// An inclusive range of addresses of one family (IPv4 in the low 32 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpRange {
    pub v6: bool,
    pub lo: u128,
    pub hi: u128,
}

impl IpRange {
    pub(crate) fn contains(&self, ip: (bool, u128)) -> bool {
        ip.0 == self.v6 && self.lo <= ip.1 && ip.1 <= self.hi
    }
}

/// AWS's shape test for IPv4: four dot-separated runs of digits (any length).
fn looks_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

/// AWS's shape test for IPv6: hex digits and colons, at least one colon.
fn looks_v6(s: &str) -> bool {
    s.contains(':') && s.bytes().all(|c| c.is_ascii_hexdigit() || c == b':')
}

/// Parses an address literal: `Ok(None)` if the string is not shaped like one,
/// `Err(())` if it is shaped like one but invalid.
fn parse_ip(s: &str) -> Result<Option<(bool, u128)>, ()> {
    if looks_v4(s) {
        let mut v: u128 = 0;
        for p in s.split('.') {
            let octet: u32 = p.parse().map_err(|_| ())?;
            if octet > 255 {
                return Err(());
            }
            v = (v << 8) | octet as u128;
        }
        Ok(Some((false, v)))
    } else if looks_v6(s) {
        let a: Ipv6Addr = s.parse().map_err(|_| ())?;
        Ok(Some((true, u128::from(a))))
    } else {
        Ok(None)
    }
}

/// The address an event string denotes, if it is a valid IP literal.
pub(crate) fn ip_of(s: &str) -> Option<(bool, u128)> {
    if s.len() > 45 || s.len() < 2 {
        return None;
    }
    parse_ip(s).ok().flatten()
}

/// An exact pattern value that is an IP literal becomes a one-address range.
pub(crate) fn exact_ip(s: &str) -> Option<IpRange> {
    ip_of(s).map(|(v6, a)| IpRange { v6, lo: a, hi: a })
}

/// Parses a `cidr` operand, with AWS's reason texts.
pub(crate) fn parse_cidr(s: &str) -> Result<IpRange, String> {
    // Java's String.split drops trailing empty pieces; mirror that.
    let mut parts: Vec<&str> = s.split('/').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() != 2 {
        return Err("Malformed CIDR, one '/' required".into());
    }
    let bits = parse_java_int(parts[1])
        .ok_or_else(|| "Malformed CIDR, mask bits must be an integer".to_string())?;
    if bits < 0 {
        return Err("Malformed CIDR, mask bits must not be negative".into());
    }
    let ip = match parse_ip(parts[0]) {
        Ok(Some(ip)) => ip,
        Ok(None) => return Err(format!("Nonstandard IP address: {}", parts[0])),
        Err(()) => return Err(format!("Invalid IP address: {}", parts[0])),
    };
    let width: i64 = if ip.0 { 128 } else { 32 };
    if !ip.0 && bits > 31 {
        return Err("IPv4 mask bits must be < 32".into());
    }
    if ip.0 && bits > 127 {
        return Err("IPv6 mask bits must be < 128".into());
    }
    let var = (width - bits) as u32;
    let mask: u128 = match var {
        0 => 0,
        128.. => u128::MAX,
        v => (1u128 << v) - 1,
    };
    Ok(IpRange {
        v6: ip.0,
        lo: ip.1 & !mask,
        hi: ip.1 | mask,
    })
}

/// `Integer.parseInt` semantics: optional sign, ASCII digits, 32-bit range.
fn parse_java_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) || digits.len() > 11 {
        return None;
    }
    let v: i64 = s.parse().ok()?;
    (i32::MIN as i64..=i32::MAX as i64)
        .contains(&v)
        .then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_blocks() {
        let r = parse_cidr("10.0.0.0/24").unwrap();
        assert!(r.contains(ip_of("10.0.0.255").unwrap()));
        assert!(!r.contains(ip_of("10.0.1.0").unwrap()));
        assert_eq!(ip_of("10.0.0.256"), None);
        assert!(
            parse_cidr("0.0.0.0/0")
                .unwrap()
                .contains(ip_of("255.1.2.3").unwrap())
        );
    }

    #[test]
    fn v6_blocks() {
        let r = parse_cidr("2001:db8:1234:1a00::/64").unwrap();
        assert!(r.contains(ip_of("2001:0db8:1234:1a00:0000:0000:0000:0001").unwrap()));
        assert!(!r.contains(ip_of("2001:0db8:123f:1a01:0000:0000:0000:0000").unwrap()));
        assert!(!r.contains(ip_of("10.0.0.1").unwrap()));
        let all = parse_cidr("::/0").unwrap();
        assert!(all.contains(ip_of("ffff::1").unwrap()));
        assert!(!all.contains(ip_of("1.2.3.4").unwrap()));
    }

    #[test]
    fn reasons() {
        assert_eq!(
            parse_cidr("xx.11.xx/8").unwrap_err(),
            "Nonstandard IP address: xx.11.xx"
        );
        assert_eq!(
            parse_cidr("bad-/64filter").unwrap_err(),
            "Malformed CIDR, mask bits must be an integer"
        );
        assert_eq!(
            parse_cidr("xxxx:db8:1234:1a00::/64").unwrap_err(),
            "Nonstandard IP address: xxxx:db8:1234:1a00::"
        );
        assert_eq!(
            parse_cidr("10.0.0.0").unwrap_err(),
            "Malformed CIDR, one '/' required"
        );
        assert_eq!(
            parse_cidr("10.0.0.0/32").unwrap_err(),
            "IPv4 mask bits must be < 32"
        );
        assert_eq!(
            parse_cidr("::/128").unwrap_err(),
            "IPv6 mask bits must be < 128"
        );
        assert_eq!(
            parse_cidr("300.0.0.0/8").unwrap_err(),
            "Invalid IP address: 300.0.0.0"
        );
        assert_eq!(
            parse_cidr("1111.0.0.0/8").unwrap_err(),
            "Invalid IP address: 1111.0.0.0"
        );
        assert_eq!(parse_cidr(":::/8").unwrap_err(), "Invalid IP address: :::");
        assert_eq!(
            parse_cidr("1.2.3.4/-1").unwrap_err(),
            "Malformed CIDR, mask bits must not be negative"
        );
    }

    #[test]
    fn exact_ip_normalises() {
        let r = exact_ip("2001:db8::1").unwrap();
        assert!(r.contains(ip_of("2001:0db8:0:0:0:0:0:1").unwrap()));
        assert_eq!(exact_ip("hello"), None);
    }
}
