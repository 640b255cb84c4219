//! Message bodies that identify themselves: who sent them, which one, and when.
//!
//! Layout: 4 hex digits of sender, 10 of sequence number, 12 of send time in microseconds since the
//! start of the run, then `.` up to the requested size. Every body of a run is unique, so a
//! receiver can tell lost, duplicated and foreign messages apart and measure end-to-end latency
//! without any other state.

/// Length of the self-describing prefix; the smallest body there is.
pub const MIN_SIZE: usize = 26;

const PAD: u8 = b'.';

/// The key of message `seq` of sender `sender`: unique within a run.
pub fn key(sender: u16, seq: u64) -> u64 {
    (u64::from(sender) << 40) | (seq & ((1 << 40) - 1))
}

/// The body of message `seq` of `sender`, sent `sent_us` after the start of the run, padded to
/// `size` bytes (at least [`MIN_SIZE`]).
pub fn make(sender: u16, seq: u64, sent_us: u64, size: usize) -> String {
    let mut s = format!(
        "{sender:04x}{:010x}{:012x}",
        seq & ((1 << 40) - 1),
        sent_us & ((1 << 48) - 1)
    );
    let size = size.max(MIN_SIZE);
    s.extend(std::iter::repeat_n(PAD as char, size - s.len()));
    s
}

/// What a body says about itself.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    /// [`key`] of its sender and sequence number.
    pub key: u64,
    /// Send time, microseconds after the start of the run.
    pub sent_us: u64,
}

/// Reads a body made by [`make`]; `None` for anything else (a foreign or damaged message).
pub fn parse(body: &str) -> Option<Parsed> {
    let b = body.as_bytes();
    if b.len() < MIN_SIZE || !b[MIN_SIZE..].iter().all(|&c| c == PAD) {
        return None;
    }
    let hex = |r: std::ops::Range<usize>| {
        let s = &body[r];
        if s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            u64::from_str_radix(s, 16).ok()
        } else {
            None
        }
    };
    let sender = hex(0..4)? as u16;
    let seq = hex(4..14)?;
    let sent_us = hex(14..26)?;
    Some(Parsed {
        key: key(sender, seq),
        sent_us,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_requested_size_and_reads_back() {
        for size in [0, 1, 26, 27, 256, 4096] {
            let b = make(7, 123_456, 9_876_543, size);
            assert_eq!(b.len(), size.max(MIN_SIZE));
            assert_eq!(
                parse(&b),
                Some(Parsed {
                    key: key(7, 123_456),
                    sent_us: 9_876_543
                })
            );
        }
        assert_eq!(&make(0x1f, 2, 3, 30), "001f0000000002000000000003....");
    }

    #[test]
    fn bodies_are_unique_per_sender_and_sequence() {
        let mut seen = std::collections::HashSet::new();
        for sender in 0..64u16 {
            for seq in 0..200u64 {
                assert!(seen.insert(key(sender, seq)));
                assert!(seen.contains(&parse(&make(sender, seq, 0, 64)).unwrap().key));
            }
        }
        assert_ne!(make(1, 2, 0, 64), make(2, 1, 0, 64));
    }

    #[test]
    fn foreign_bodies_are_rejected() {
        let good = make(1, 2, 3, 40);
        for bad in [
            "",
            "hello",
            &good[..25],
            &format!("{good}x"),
            &good.replacen('0', "g", 1),
            &good.replacen('0', "A", 1),
            "{\"Message\":\"000100000000020000000000003\"}",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
