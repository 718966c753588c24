//! Where RDB bytes come from: a payload in memory (`RESTORE`) or a file read front to
//! back (`import-rdb`). Both count the bytes consumed, so every error names its offset, and
//! neither allocates by a length the input claims before the bytes are there.

use std::io::Read;

use super::RdbError;

/// Read by [`SliceInput`] and [`ReadInput`] in steps of at most this many bytes, so a
/// claimed length of gigabytes in a truncated file fails at its end instead of reserving
/// the memory first.
const STEP: usize = 1 << 20;

/// A source of RDB bytes.
pub trait Input {
    /// Bytes consumed so far.
    fn offset(&self) -> u64;

    /// Fills `buf` exactly.
    ///
    /// # Errors
    /// [`RdbError`] "unexpected end of data" at the offset where the input ran out.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RdbError>;

    /// The next `n` bytes.
    ///
    /// # Errors
    /// As [`Input::fill`].
    fn bytes(&mut self, n: u64) -> Result<Vec<u8>, RdbError>;

    /// Redis's CRC64 of every byte consumed so far (what an RDB file's trailer holds).
    fn checksum(&self) -> u64;

    /// The next byte.
    ///
    /// # Errors
    /// As [`Input::fill`].
    fn byte(&mut self) -> Result<u8, RdbError> {
        let mut b = [0u8; 1];
        self.fill(&mut b)?;
        Ok(b[0])
    }
}

/// A payload in memory.
pub struct SliceInput<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> SliceInput<'a> {
    pub fn new(bytes: &'a [u8]) -> SliceInput<'a> {
        SliceInput { bytes, pos: 0 }
    }
}

impl Input for SliceInput<'_> {
    fn offset(&self) -> u64 {
        self.pos as u64
    }

    fn checksum(&self) -> u64 {
        super::crc64(&self.bytes[..self.pos])
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RdbError> {
        let end = self.pos + buf.len();
        let src = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| RdbError::truncated(self.bytes.len() as u64))?;
        buf.copy_from_slice(src);
        self.pos = end;
        Ok(())
    }

    fn bytes(&mut self, n: u64) -> Result<Vec<u8>, RdbError> {
        let left = (self.bytes.len() - self.pos) as u64;
        if n > left {
            return Err(RdbError::truncated(self.bytes.len() as u64));
        }
        let end = self.pos + n as usize;
        let v = self.bytes[self.pos..end].to_vec();
        self.pos = end;
        Ok(v)
    }
}

/// Any reader, e.g. a buffered file.
pub struct ReadInput<R> {
    inner: R,
    pos: u64,
    crc: u64,
}

impl<R: Read> ReadInput<R> {
    pub fn new(inner: R) -> ReadInput<R> {
        ReadInput {
            inner,
            pos: 0,
            crc: 0,
        }
    }
}

impl<R: Read> Input for ReadInput<R> {
    fn offset(&self) -> u64 {
        self.pos
    }

    fn checksum(&self) -> u64 {
        self.crc
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RdbError> {
        let mut done = 0;
        while done < buf.len() {
            match self.inner.read(&mut buf[done..]) {
                Ok(0) => return Err(RdbError::truncated(self.pos + done as u64)),
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(RdbError::new(
                        self.pos + done as u64,
                        format!("read failed: {e}"),
                    ))
                }
            }
        }
        self.pos += buf.len() as u64;
        self.crc = super::crc64_update(self.crc, buf);
        Ok(())
    }

    fn bytes(&mut self, n: u64) -> Result<Vec<u8>, RdbError> {
        let mut out = Vec::new();
        let mut left = n;
        while left > 0 {
            let step = usize::try_from(left).unwrap_or(STEP).min(STEP);
            let at = out.len();
            out.resize(at + step, 0);
            self.fill(&mut out[at..])?;
            left -= step as u64;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_input_counts_and_refuses_short_reads() {
        let mut i = SliceInput::new(b"abcdef");
        assert_eq!(i.byte().unwrap(), b'a');
        assert_eq!(i.bytes(3).unwrap(), b"bcd");
        assert_eq!(i.offset(), 4);
        let e = i.bytes(3).unwrap_err();
        assert_eq!(e.offset, 6);
        assert_eq!(i.bytes(u64::MAX).unwrap_err().offset, 6);
    }

    #[test]
    fn read_input_counts_and_refuses_short_reads() {
        let data = vec![7u8; 3 * STEP + 5];
        let mut i = ReadInput::new(&data[..]);
        assert_eq!(i.bytes(2 * STEP as u64 + 1).unwrap().len(), 2 * STEP + 1);
        assert_eq!(i.offset(), 2 * STEP as u64 + 1);
        let e = i.bytes(1 << 40).unwrap_err();
        assert_eq!(e.offset, data.len() as u64);
    }
}
