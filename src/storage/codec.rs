//! A tiny length-prefixed binary codec for stored values. Every value starts with a version byte so
//! that the layout can change without losing data written by an older ferry.

use super::{StoreError, StoreResult};

/// Appends fields to a buffer.
#[derive(Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    pub fn new(version: u8) -> Self {
        Enc(vec![version])
    }
    /// An encoder with room for `capacity` bytes, for values written on every request (one
    /// allocation instead of a string of reallocations).
    pub fn with_capacity(version: u8, capacity: usize) -> Self {
        let mut v = Vec::with_capacity(capacity.max(1));
        v.push(version);
        Enc(v)
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
        self
    }
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }
    pub fn opt_str(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(s) => self.u8(1).str(s),
            None => self.u8(0),
        }
    }
    pub fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Reads fields back; every read checks bounds, so a corrupt value is an error, not a panic.
pub struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    /// Starts reading, checking the version byte.
    pub fn new(buf: &'a [u8], version: u8) -> StoreResult<Self> {
        match buf.first() {
            Some(&v) if v == version => Ok(Dec { buf, pos: 1 }),
            Some(&v) => Err(StoreError(format!("unsupported value version {v}"))),
            None => Err(StoreError("empty value".into())),
        }
    }
    fn take(&mut self, n: usize) -> StoreResult<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| StoreError("truncated value".into()))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub fn u8(&mut self) -> StoreResult<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> StoreResult<u32> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    pub fn u64(&mut self) -> StoreResult<u64> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    pub fn bytes(&mut self) -> StoreResult<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn str(&mut self) -> StoreResult<&'a str> {
        std::str::from_utf8(self.bytes()?).map_err(|_| StoreError("invalid utf-8 in value".into()))
    }
    pub fn opt_str(&mut self) -> StoreResult<Option<&'a str>> {
        match self.u8()? {
            0 => Ok(None),
            _ => self.str().map(Some),
        }
    }
}

/// Small, rarely written records (queue configurations, move tasks) are JSON behind a version
/// byte: readable when debugging, and still versioned like everything else.
pub fn encode_json<T: serde::Serialize>(version: u8, value: &T) -> Vec<u8> {
    let mut v = vec![version];
    v.extend(serde_json::to_vec(value).expect("records serialize to JSON"));
    v
}

/// Reads a value written by [`encode_json`]; `what` names it in errors.
pub fn decode_json<T: serde::de::DeserializeOwned>(
    version: u8,
    buf: &[u8],
    what: &str,
) -> StoreResult<T> {
    match buf.split_first() {
        Some((&v, rest)) if v == version => {
            serde_json::from_slice(rest).map_err(|e| StoreError(format!("{what}: {e}")))
        }
        _ => Err(StoreError(format!("unsupported {what} version"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let mut e = Enc::new(3);
        e.u8(7)
            .u32(9)
            .u64(u64::MAX)
            .str("héllo")
            .opt_str(None)
            .opt_str(Some("x"))
            .bytes(&[0, 1]);
        let v = e.finish();
        let mut d = Dec::new(&v, 3).unwrap();
        assert_eq!(d.u8().unwrap(), 7);
        assert_eq!(d.u32().unwrap(), 9);
        assert_eq!(d.u64().unwrap(), u64::MAX);
        assert_eq!(d.str().unwrap(), "héllo");
        assert_eq!(d.opt_str().unwrap(), None);
        assert_eq!(d.opt_str().unwrap(), Some("x"));
        assert_eq!(d.bytes().unwrap(), &[0, 1]);
        assert!(d.u8().is_err());
        assert!(Dec::new(&v, 4).is_err());
    }

    proptest! {
        #[test]
        fn never_panics_on_garbage(buf in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(mut d) = Dec::new(&buf, buf.first().copied().unwrap_or(0)) {
                let _ = d.str();
                let _ = d.u64();
                let _ = d.opt_str();
            }
        }
    }
}
