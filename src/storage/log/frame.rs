//! The on-disk framing of the message log. One `append` is one frame, so a batch of ops is atomic
//! after a crash: a frame is either whole (magic, length and CRC agree) or it is not there.
//!
//! ```text
//! frame  = magic:u8 (0xFE) | len:u32 LE | crc32(payload):u32 LE | payload[len]
//! payload = op*
//! op     = 1:u8 | klen:u16 LE | vlen:u32 LE | key | value                    (put)
//!        | 2:u8 | klen:u16 LE | first:u32 LE | last:u32 LE | key             (delete)
//!        | 3:u8 | segment:u32 LE | len:u64 LE                               (seal)
//! ```
//!
//! A seal op is the first frame of every head (data format 3 on): "segment `segment` held `len`
//! bytes when this head began". Replay uses it to tell a sealed segment torn by a power cut during
//! its flush (shorter than `len`: the head after it goes too) from a damaged one (an error).
//!
//! A delete (tombstone) hides every put of its key in segments `first..=last`: `first` is the
//! oldest segment that may still hold a put of the key, `last` the segment the delete was written
//! in. Puts in later segments are newer than the delete (dead puts are never copied forward), so a
//! replayed tombstone never hides them; and once no segment of that range is left, the tombstone
//! itself can go.

use crate::storage::{StoreError, StoreResult};

pub const MAGIC: u8 = 0xFE;
pub const HEADER: usize = 9;
/// The largest payload a frame may claim; anything larger is corruption, not data.
pub const MAX_PAYLOAD: usize = 256 * 1024 * 1024;

const PUT: u8 = 1;
const DELETE: u8 = 2;
const SEAL: u8 = 3;
/// Bytes of a seal op.
const SEAL_SIZE: usize = 13;

/// One decoded op, borrowing from the frame's bytes. `value_at` is the value's offset within the
/// payload (puts), so the index can point straight at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<'a> {
    Put {
        key: &'a [u8],
        value: &'a [u8],
        value_at: usize,
    },
    Delete {
        key: &'a [u8],
        first: u32,
        last: u32,
    },
    /// The segment before this head held `len` bytes when the head began.
    Seal { segment: u32, len: u64 },
}

impl Entry<'_> {
    /// Bytes this op takes in a payload: what a segment's live share is counted in.
    pub fn size(&self) -> usize {
        match self {
            Entry::Put { key, value, .. } => put_size(key.len(), value.len()),
            Entry::Delete { key, .. } => delete_size(key.len()),
            Entry::Seal { .. } => SEAL_SIZE,
        }
    }
}

pub fn put_size(key: usize, value: usize) -> usize {
    7 + key + value
}

pub fn delete_size(key: usize) -> usize {
    11 + key
}

/// Builds one frame; ops are added, then `finish` fills in the header.
pub struct FrameBuf {
    buf: Vec<u8>,
}

impl FrameBuf {
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(512);
        buf.extend_from_slice(&[0; HEADER]);
        FrameBuf { buf }
    }

    /// Adds a put; returns the value's offset from the start of the frame.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> usize {
        self.buf.push(PUT);
        self.buf
            .extend_from_slice(&(key.len() as u16).to_le_bytes());
        self.buf
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(key);
        let at = self.buf.len();
        self.buf.extend_from_slice(value);
        at
    }

    pub fn delete(&mut self, key: &[u8], first: u32, last: u32) {
        self.buf.push(DELETE);
        self.buf
            .extend_from_slice(&(key.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(&first.to_le_bytes());
        self.buf.extend_from_slice(&last.to_le_bytes());
        self.buf.extend_from_slice(key);
    }

    /// Adds a seal op (the first frame of a head names the segment before it).
    pub fn seal(&mut self, segment: u32, len: u64) {
        self.buf.push(SEAL);
        self.buf.extend_from_slice(&segment.to_le_bytes());
        self.buf.extend_from_slice(&len.to_le_bytes());
    }

    pub fn is_empty(&self) -> bool {
        self.buf.len() == HEADER
    }

    /// Bytes of ops so far.
    pub fn payload_len(&self) -> usize {
        self.buf.len() - HEADER
    }

    /// The finished frame bytes.
    pub fn finish(&mut self) -> &[u8] {
        let len = (self.buf.len() - HEADER) as u32;
        let crc = crc32fast::hash(&self.buf[HEADER..]);
        self.buf[0] = MAGIC;
        self.buf[1..5].copy_from_slice(&len.to_le_bytes());
        self.buf[5..9].copy_from_slice(&crc.to_le_bytes());
        &self.buf
    }
}

/// Checks that keys fit the format (the key length is a u16).
pub fn check_key(key: &[u8]) -> StoreResult<()> {
    if key.len() > u16::MAX as usize {
        return Err(StoreError(format!(
            "key of {} bytes is too long",
            key.len()
        )));
    }
    Ok(())
}

/// The frame at `at`, if a whole, valid one starts there: (payload offset, payload length).
pub fn frame_at(buf: &[u8], at: usize) -> Option<(usize, usize)> {
    let header = buf.get(at..at.checked_add(HEADER)?)?;
    if header[0] != MAGIC {
        return None;
    }
    let len = u32::from_le_bytes(header[1..5].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[5..9].try_into().ok()?);
    if len > MAX_PAYLOAD {
        return None;
    }
    let start = at + HEADER;
    let payload = buf.get(start..start.checked_add(len)?)?;
    (crc32fast::hash(payload) == crc).then_some((start, len))
}

/// Decodes the ops of a payload whose CRC matched; an error here means a format bug or a
/// corrupt-but-checksummed frame, both reported as corruption.
pub fn entries(payload: &[u8]) -> StoreResult<Vec<Entry<'_>>> {
    let bad = || StoreError("malformed op inside a checksummed frame".into());
    let mut out = Vec::new();
    let mut p = 0usize;
    let take = |p: &mut usize, n: usize| -> StoreResult<&[u8]> {
        let end = p
            .checked_add(n)
            .filter(|&e| e <= payload.len())
            .ok_or_else(bad)?;
        let s = &payload[*p..end];
        *p = end;
        Ok(s)
    };
    while p < payload.len() {
        let kind = take(&mut p, 1)?[0];
        let u32_at = |p: &mut usize| -> StoreResult<u32> {
            Ok(u32::from_le_bytes(take(p, 4)?.try_into().expect("4 bytes")))
        };
        if kind == SEAL {
            let segment = u32_at(&mut p)?;
            let len = u64::from_le_bytes(take(&mut p, 8)?.try_into().expect("8 bytes"));
            out.push(Entry::Seal { segment, len });
            continue;
        }
        let klen = u16::from_le_bytes(take(&mut p, 2)?.try_into().expect("2 bytes")) as usize;
        match kind {
            PUT => {
                let n = u32_at(&mut p)?;
                let key = take(&mut p, klen)?;
                let value_at = p;
                let value = take(&mut p, n as usize)?;
                out.push(Entry::Put {
                    key,
                    value,
                    value_at,
                });
            }
            DELETE => {
                let (first, last) = (u32_at(&mut p)?, u32_at(&mut p)?);
                let key = take(&mut p, klen)?;
                out.push(Entry::Delete { key, first, last });
            }
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

/// How a segment's bytes read: its frames, and where (if anywhere) they stop making sense.
#[derive(Debug)]
pub struct Scan {
    /// (payload offset, payload length) of every valid frame, in order.
    pub frames: Vec<(usize, usize)>,
    /// The offset of the first byte that is not part of a valid frame, if any.
    pub stop: Option<usize>,
    /// True when a valid frame follows the stop: the damage is in the middle, not a torn tail.
    pub valid_after_stop: bool,
}

/// True when the bytes at `at` are the start of one frame cut short by the end of the file: its
/// header is whole, its payload runs past the end, and what there is of it reads as whole ops
/// followed at most by the start of one more. Such a tail is a write that did not complete, even
/// when a value in it holds bytes that look like a frame (a client's binary attribute may), so
/// those are not searched for. A damaged length that merely runs past the end reads as garbage
/// where the next frame begins (its magic is no op), and the search that follows finds that frame.
fn torn_frame_at(buf: &[u8], at: usize) -> bool {
    let Some(header) = buf.get(at..at.saturating_add(HEADER)) else {
        return false;
    };
    let len = u32::from_le_bytes(header[1..5].try_into().expect("4 bytes")) as usize;
    let start = at + HEADER;
    if header[0] != MAGIC || len > MAX_PAYLOAD || start + len <= buf.len() {
        return false;
    }
    let part = &buf[start..];
    let field = |p: usize, n: usize| part.get(p..p + n);
    let mut p = 0;
    while p < part.len() {
        let size = match part[p] {
            SEAL => SEAL_SIZE,
            kind @ (PUT | DELETE) => {
                let (Some(k), Some(n)) = (field(p + 1, 2), field(p + 3, 4)) else {
                    return true; // cut inside the op's own header
                };
                let klen = u16::from_le_bytes(k.try_into().expect("2 bytes")) as usize;
                let n = u32::from_le_bytes(n.try_into().expect("4 bytes")) as usize;
                if kind == PUT { 7 + klen + n } else { 11 + klen }
            }
            _ => return false,
        };
        match p.checked_add(size) {
            Some(end) if end <= len => p = end,
            _ => return false,
        }
    }
    true
}

/// True when the file ends in zeros that the frame at `at` runs into (or starts in): the shape a
/// file system leaves that kept a file's size but not its last blocks through a power cut.
pub fn zeroed_from(buf: &[u8], at: usize) -> bool {
    let zeros = buf.iter().rev().take_while(|&&b| b == 0).count();
    let from = buf.len() - zeros;
    if zeros == 0 || at > from {
        return false;
    }
    let claimed_end = buf
        .get(at + 1..at + 5)
        .map(|l| at + HEADER + u32::from_le_bytes(l.try_into().expect("4 bytes")) as usize);
    at == from || claimed_end.is_none_or(|end| end > from)
}

/// True when a whole frame starts somewhere after `at`. The checksums this computes are bounded
/// to a few times the segment's size: bytes made so that many frame headers fit would otherwise
/// take time quadratic in it, and past the bound the answer is yes (damage: refuse, never cut).
fn frame_after(buf: &[u8], at: usize) -> bool {
    let mut budget = 4 * buf.len();
    for i in at + 1..buf.len() {
        let Some(header) = buf.get(i..i + HEADER).filter(|h| h[0] == MAGIC) else {
            continue;
        };
        let len = u32::from_le_bytes(header[1..5].try_into().expect("4 bytes")) as usize;
        if len > MAX_PAYLOAD || i + HEADER + len > buf.len() {
            continue;
        }
        let Some(left) = budget.checked_sub(len) else {
            return true;
        };
        budget = left;
        if frame_at(buf, i).is_some() {
            return true;
        }
    }
    false
}

/// Reads every frame of a segment's bytes.
pub fn scan(buf: &[u8]) -> Scan {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        match frame_at(buf, at) {
            Some((start, len)) => {
                frames.push((start, len));
                at = start + len;
            }
            None => {
                let valid_after_stop = !torn_frame_at(buf, at) && frame_after(buf, at);
                return Scan {
                    frames,
                    stop: Some(at),
                    valid_after_stop,
                };
            }
        }
    }
    Scan {
        frames,
        stop: None,
        valid_after_stop: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(ops: &[(&[u8], Option<&[u8]>)]) -> Vec<u8> {
        let mut f = FrameBuf::new();
        for (k, v) in ops {
            match v {
                Some(v) => {
                    f.put(k, v);
                }
                None => f.delete(k, 7, 9),
            }
        }
        f.finish().to_vec()
    }

    #[test]
    fn round_trip() {
        let f = frame(&[(b"k1", Some(b"v1")), (b"k2", None), (b"", Some(b""))]);
        let (start, len) = frame_at(&f, 0).unwrap();
        let es = entries(&f[start..start + len]).unwrap();
        assert_eq!(es.len(), 3);
        assert!(matches!(
            es[0],
            Entry::Put {
                key: b"k1",
                value: b"v1",
                ..
            }
        ));
        assert_eq!(
            es[1],
            Entry::Delete {
                key: b"k2",
                first: 7,
                last: 9
            }
        );
        if let Entry::Put { value_at, .. } = es[0] {
            assert_eq!(&f[start + value_at..start + value_at + 2], b"v1");
        }
    }

    #[test]
    fn torn_tail_versus_damage_in_the_middle() {
        let a = frame(&[(b"a", Some(b"1"))]);
        let b = frame(&[(b"b", Some(b"2"))]);
        let mut buf = [a.clone(), b.clone()].concat();
        // Every cut inside the second frame is a torn tail.
        for cut in a.len()..buf.len() {
            let s = scan(&buf[..cut]);
            assert_eq!(s.frames.len(), 1);
            assert_eq!(s.stop, (cut > a.len()).then_some(a.len()));
            assert!(!s.valid_after_stop);
        }
        // A flipped byte in the first frame, with a valid one after it, is damage.
        buf[HEADER + 2] ^= 0xFF;
        let s = scan(&buf);
        assert_eq!(s.stop, Some(0));
        assert!(s.valid_after_stop);
    }

    proptest! {
        #[test]
        fn scanning_garbage_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..256)) {
            let s = scan(&buf);
            for (start, len) in s.frames {
                let _ = entries(&buf[start..start + len]);
            }
        }

        #[test]
        fn entries_of_garbage_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = entries(&buf);
        }

        /// Garbage after a stop that claims many frames, none whole, would cost checksums
        /// quadratic in its size: past a bound of a few times the size it reads as damage.
        #[test]
        fn headers_that_claim_too_much_read_as_damage(n in 2_000usize..4_000) {
            let mut header = vec![MAGIC];
            header.extend_from_slice(&4096u32.to_le_bytes());
            header.extend_from_slice(&[0; 4]);
            let buf: Vec<u8> = std::iter::once(0).chain(header.iter().copied().cycle().take(n * HEADER)).collect();
            let s = scan(&buf);
            prop_assert_eq!(s.stop, Some(0));
            prop_assert!(s.valid_after_stop);
            // The same claims, fewer than the bound: no whole frame, so a torn tail.
            let few: Vec<u8> = std::iter::once(0).chain(header.iter().copied().cycle().take(HEADER * 4)).chain(std::iter::repeat_n(0, 8192)).collect();
            prop_assert!(!scan(&few).valid_after_stop);
        }

        /// Any frame cut anywhere after its header reads as torn, even when its values hold
        /// whole frames; the same frame followed by another, with a length that runs past the
        /// end, does not (the next frame's magic is no op).
        #[test]
        fn a_cut_frame_is_torn_and_a_damaged_length_is_not(
            values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..5),
            embed in any::<bool>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let inner = frame(&[(b"x", Some(b"y"))]);
            let mut f = FrameBuf::new();
            f.seal(3, 99);
            for (i, v) in values.iter().enumerate() {
                let v = if embed { [v.as_slice(), &inner].concat() } else { v.clone() };
                f.put(format!("k{i}").as_bytes(), &v);
                f.delete(b"gone", 1, 2);
            }
            let whole = f.finish().to_vec();
            let at = HEADER + cut.index(whole.len() - HEADER);
            let s = scan(&whole[..at]);
            prop_assert_eq!(s.stop, Some(0));
            prop_assert!(!s.valid_after_stop, "cut at {}", at);
            let mut two = [whole.as_slice(), &inner].concat();
            let past_the_end = two.len() as u32;
            two[1..5].copy_from_slice(&past_the_end.to_le_bytes());
            prop_assert!(!torn_frame_at(&two, 0));
            prop_assert!(scan(&two).valid_after_stop);
        }
    }
}
