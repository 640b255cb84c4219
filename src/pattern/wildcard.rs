//! The `wildcard` operator: `*` matches any run of characters, `\*` and `\\` are literal.
//!
//! AWS refuses `**` ("Consecutive wildcard characters at pos N") and any other backslash
//! ("Invalid escape character at pos N"), counting positions in UTF-8 bytes from 1 (AWS parses
//! the operand with its opening quote, so the first character is at 1). It also refuses
//! rules whose wildcards would make its automaton too large ("Rule is too complex ..."): see
//! `complexity.rs`.
//!
//! Matching is linear: a pattern is a list of literal pieces between stars, and a greedy
//! left-to-right search for each middle piece is exact for star-only globs, so no input can make
//! it backtrack. That is what keeps nasty patterns like `*a*a*a*a*b` from running away.

/// The complexity above which a wildcard rule is refused (`complexity.rs`). AWS does not publish
/// its cap; 100 is the cap event-ruler's documentation and tests use.
pub(crate) const MAX_COMPLEXITY: usize = 100;

/// The reason text for a too-complex wildcard rule.
pub(crate) const TOO_COMPLEX: &str = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character";

/// A compiled wildcard: literal pieces separated by stars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wildcard {
    /// `pieces.len() == stars + 1`; pieces may be empty.
    pub pieces: Vec<String>,
}

impl Wildcard {
    /// Parses a wildcard operand with AWS's escaping rules.
    pub(crate) fn parse(src: &str) -> Result<Wildcard, String> {
        let b = src.as_bytes();
        let mut pieces = vec![Vec::new()];
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'*' => {
                    if b.get(i + 1) == Some(&b'*') {
                        return Err(format!("Consecutive wildcard characters at pos {}", i + 1));
                    }
                    pieces.push(Vec::new());
                }
                b'\\' => match b.get(i + 1) {
                    Some(&c @ (b'*' | b'\\')) => {
                        if let Some(p) = pieces.last_mut() {
                            p.push(c);
                        }
                        i += 1;
                    }
                    _ => return Err(format!("Invalid escape character at pos {}", i + 1)),
                },
                c => {
                    if let Some(p) = pieces.last_mut() {
                        p.push(c);
                    }
                }
            }
            i += 1;
        }
        let pieces = pieces
            .into_iter()
            .map(|p| String::from_utf8(p).unwrap_or_default())
            .collect();
        Ok(Wildcard { pieces })
    }

    /// True when the pattern has no star, so it is an exact string.
    pub(crate) fn literal(&self) -> Option<&str> {
        (self.pieces.len() == 1).then(|| self.pieces[0].as_str())
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        let n = self.pieces.len();
        let first = self.pieces[0].as_str();
        if n == 1 {
            return s == first;
        }
        let last = self.pieces[n - 1].as_str();
        if s.len() < first.len() + last.len() || !s.starts_with(first) || !s.ends_with(last) {
            return false;
        }
        let mut rest = &s[first.len()..s.len() - last.len()];
        for piece in &self.pieces[1..n - 1] {
            match rest.find(piece.as_str()) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Wildcard::parse(p).unwrap().matches(s)
    }

    #[test]
    fn basics() {
        assert!(m(
            "arn:aws:events:us-east-1:*:event-bus/*",
            "arn:aws:events:us-east-1:123456789012:event-bus/myEventBus"
        ));
        assert!(m("*/dir/*", "a/dir/b"));
        assert!(!m("*/dir/*", "a/dirb"));
        assert!(m("*", ""));
        assert!(m("a*a", "aa"));
        assert!(!m("a*a", "a"));
        assert!(m("*.png", "x.png"));
        assert!(!m("", "x"));
        assert!(m("", ""));
        assert!(m("he*o*", "hello world"));
        assert!(m(
            "/Users/*/dir/dir/dir/dir/dir/doc.txt",
            "/Users/ls_user/dir/dir/dir/dir/dir/doc.txt"
        ));
        assert!(!m(
            "/Users/*/dir/dir/dir/dir/dir/doc.txt",
            "/Users/ls_user/dir/dir/dir/dir/otherdir/doc.txt"
        ));
    }

    #[test]
    fn escapes() {
        assert!(m(r"a\*b", "a*b"));
        assert!(!m(r"a\*b", "axb"));
        assert!(m(r"a\\*", r"a\xyz"));
        assert_eq!(
            Wildcard::parse(r"a\bc").unwrap_err(),
            "Invalid escape character at pos 2"
        );
        assert_eq!(
            Wildcard::parse("a\\").unwrap_err(),
            "Invalid escape character at pos 2"
        );
        assert_eq!(
            Wildcard::parse("a**").unwrap_err(),
            "Consecutive wildcard characters at pos 2"
        );
        assert_eq!(
            Wildcard::parse("abc**def").unwrap_err(),
            "Consecutive wildcard characters at pos 4"
        );
        assert_eq!(
            Wildcard::parse("arn:aws:events:us-east-1:**:event-bus/*").unwrap_err(),
            "Consecutive wildcard characters at pos 26"
        );
        assert_eq!(
            Wildcard::parse("é**").unwrap_err(),
            "Consecutive wildcard characters at pos 3"
        );
        assert!(Wildcard::parse(r"a\**").is_ok());
    }

    #[test]
    fn many_stars_are_linear() {
        let p = format!("{}b", "*a".repeat(1000));
        let w = Wildcard::parse(&p).unwrap();
        let s = "a".repeat(100_000);
        let t = std::time::Instant::now();
        assert!(!w.matches(&s));
        assert!(t.elapsed().as_secs() < 2);
    }
}
