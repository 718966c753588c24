//! Frame encoding and checked decoding.
//!
//! Header (16 bytes, little-endian): magic `b"TD"`, protocol version (u8), kind (u8),
//! payload length (u32), schema hash (u32), reserved (u32, zero). The payload is an rkyv
//! archive. Decoding copies the payload into a 16-byte-aligned buffer (checked `access`
//! rejects unaligned archives, and a read buffer gives no alignment guarantee), except a
//! large payload the read buffer already holds aligned, which is split off in place; the
//! archive is validated before any field is read: the peer's bytes are never trusted.
//! Hand-written because the header is tandem's own contract.

use bytes::{Buf, BufMut, BytesMut};
use rkyv::api::high::{HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::rancor;
use rkyv::ser::allocator::ArenaHandle;
use rkyv::util::AlignedVec;
use rkyv::Archive;

use super::kind::FrameKind;
use super::message::Message;
use super::{PROTOCOL_VERSION, SCHEMA_HASH};

/// Length of the fixed frame header.
pub const HEADER_LEN: usize = 16;

/// Most bytes [`decode`] reserves at once for a frame that has not fully arrived. A frame's
/// buffer grows with the bytes received (this much ahead, amortised doubling beyond), never by
/// the length its header announces: a peer that announces 576 MiB and stalls makes this side
/// hold what it sent, not what it claimed.
pub const READ_CHUNK: usize = 64 * 1024;

/// Largest Hello or HelloAck frame. Until its Hello is accepted a peer is unknown, so both
/// sides read the handshake with this limit instead of the link's `max_frame`: an
/// un-handshaken peer can make the other side hold at most this much (a real Hello is about
/// 100 bytes; a refusal's HelloAck carries a sentence).
pub const MAX_HANDSHAKE_FRAME: u32 = 64 * 1024;
const MAGIC: [u8; 2] = *b"TD";

/// Why a frame was refused. Any of these ends the link: the stream can no longer be trusted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("bad frame magic {0:02x?}: peer is not a tandem link")]
    BadMagic([u8; 2]),
    #[error("peer speaks wire protocol v{theirs}, this side speaks v{ours}")]
    Version { ours: u8, theirs: u8 },
    #[error("peer schema hash {theirs:#010x} differs from ours {ours:#010x}: binaries built from different message definitions")]
    Schema { ours: u32, theirs: u32 },
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: u32, max: u32 },
    #[error("expected a {expected:?} frame, got {got:?}")]
    UnexpectedKind { expected: FrameKind, got: FrameKind },
    #[error("invalid archive in {kind:?} frame of {len} bytes: {reason}")]
    Invalid {
        kind: FrameKind,
        len: usize,
        reason: String,
    },
    #[error("could not serialize {kind:?} frame: {reason}")]
    Serialize { kind: FrameKind, reason: String },
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub kind: FrameKind,
    pub len: u32,
}

/// One received frame with its payload in an aligned buffer, ready for checked access.
#[derive(Debug)]
pub struct Frame {
    pub kind: FrameKind,
    payload: Payload,
}

/// A frame's payload, 16-byte aligned either way.
#[derive(Debug)]
enum Payload {
    /// Copied out of the read buffer into an aligned buffer.
    Copied(AlignedVec<16>),
    /// The read buffer's own bytes, split off uncopied: a large payload that the buffer
    /// happens to hold at an aligned address (a 512 MiB value was copied once more here).
    InPlace(BytesMut),
}

/// Payloads at least this large are kept in place when aligned. Smaller ones are copied,
/// so a long-lived small frame (a parked blocking request) never pins a read buffer.
const IN_PLACE_ABOVE: usize = 64 * 1024;

impl std::ops::Deref for Payload {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Payload::Copied(v) => v.as_slice(),
            Payload::InPlace(b) => b,
        }
    }
}

impl Frame {
    /// Validates the payload as message type `M` and returns a reference into it.
    ///
    /// # Errors
    /// `UnexpectedKind` if the frame is another kind, `Invalid` if the bytes are not a valid
    /// archive of `M`.
    pub fn access<M>(&self) -> Result<&M::Archived, FrameError>
    where
        M: Message + Archive,
        M::Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>,
    {
        if self.kind != M::KIND {
            return Err(FrameError::UnexpectedKind {
                expected: M::KIND,
                got: self.kind,
            });
        }
        rkyv::access::<M::Archived, rancor::Error>(&self.payload).map_err(|e| FrameError::Invalid {
            kind: self.kind,
            len: self.payload.len(),
            reason: e.to_string(),
        })
    }

    /// The payload bytes, for logging a refused frame.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
}

/// Appends one frame carrying `msg` to `out`. The archive is serialized straight into
/// `out` behind the header (see [`FrameWriter`]): no intermediate buffer, so a frame with
/// a 512 MiB value costs `out` its 512 MiB and nothing more (it cost two more copies, one
/// of them in a buffer doubled to 1 GiB).
///
/// # Errors
/// `Serialize` if rkyv fails, `TooLarge` if the archive exceeds `max_frame`; `out` is then
/// as it was.
pub fn encode<M>(msg: &M, max_frame: u32, out: &mut BytesMut) -> Result<(), FrameError>
where
    M: Message
        + for<'a, 'b> rkyv::Serialize<HighSerializer<FrameWriter<'b>, ArenaHandle<'a>, rancor::Error>>,
{
    let frame_start = out.len();
    out.reserve(HEADER_LEN);
    out.put_slice(&MAGIC);
    out.put_u8(PROTOCOL_VERSION);
    out.put_u8(M::KIND as u8);
    out.put_u32_le(0); // the length, patched below
    out.put_u32_le(SCHEMA_HASH);
    out.put_u32_le(0);
    let start = out.len();
    let written = rkyv::api::high::to_bytes_in::<_, rancor::Error>(msg, FrameWriter { out, start });
    if let Err(e) = written {
        out.truncate(frame_start);
        return Err(FrameError::Serialize {
            kind: M::KIND,
            reason: e.to_string(),
        });
    }
    let len = u32::try_from(out.len() - start).unwrap_or(u32::MAX);
    if len > max_frame {
        out.truncate(frame_start);
        return Err(FrameError::TooLarge {
            len,
            max: max_frame,
        });
    }
    out[frame_start + 4..frame_start + 8].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// Where [`encode`] has rkyv write a frame's archive: the end of the output buffer, with
/// positions counted from the payload's start. Relative pointers and alignment padding
/// then hold for the payload on its own, which is what the receiver copies into an aligned
/// buffer; the header is 16 bytes, so the payload's place in `out` does not matter.
pub struct FrameWriter<'a> {
    out: &'a mut BytesMut,
    start: usize,
}

/// Slack reserved behind a large write (a value's bytes), for what rkyv writes after it
/// (the rest of the archive, its root last): without it the buffer, sized exactly for the
/// value, doubles to take the few bytes that follow.
const LARGE_WRITE_SLACK: usize = 4096;

impl rkyv::ser::Positional for FrameWriter<'_> {
    fn pos(&self) -> usize {
        self.out.len() - self.start
    }
}

impl<E> rkyv::ser::Writer<E> for FrameWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), E> {
        if bytes.len() >= READ_CHUNK {
            self.out.reserve(bytes.len() + LARGE_WRITE_SLACK);
        }
        self.out.extend_from_slice(bytes);
        Ok(())
    }
}

/// Parses and checks a header without consuming it.
///
/// # Errors
/// Any header-level refusal: magic, version, schema, kind, size.
pub fn parse_header(h: &[u8; HEADER_LEN], max_frame: u32) -> Result<FrameHeader, FrameError> {
    let magic = [h[0], h[1]];
    if magic != MAGIC {
        return Err(FrameError::BadMagic(magic));
    }
    if h[2] != PROTOCOL_VERSION {
        return Err(FrameError::Version {
            ours: PROTOCOL_VERSION,
            theirs: h[2],
        });
    }
    let kind = FrameKind::from_u8(h[3]).ok_or(FrameError::UnknownKind(h[3]))?;
    let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    let schema = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    if schema != SCHEMA_HASH {
        return Err(FrameError::Schema {
            ours: SCHEMA_HASH,
            theirs: schema,
        });
    }
    if len > max_frame {
        return Err(FrameError::TooLarge {
            len,
            max: max_frame,
        });
    }
    Ok(FrameHeader { kind, len })
}

/// Takes one whole frame off the front of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed (not an error). The header is checked
/// before the payload is waited for, so an oversized length is refused at once. While a
/// frame is partial, at most [`READ_CHUNK`] bytes of room are reserved ahead of what arrived.
///
/// # Errors
/// See [`FrameError`]; after an error the stream is unusable and the link must close.
pub fn decode(buf: &mut BytesMut, max_frame: u32) -> Result<Option<Frame>, FrameError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let mut h = [0u8; HEADER_LEN];
    h.copy_from_slice(&buf[..HEADER_LEN]);
    let header = parse_header(&h, max_frame)?;
    let total = HEADER_LEN + header.len as usize;
    if buf.len() < total {
        if header.len as usize >= IN_PLACE_ABOVE
            && !(buf.as_ptr() as usize + HEADER_LEN).is_multiple_of(16)
        {
            // A large payload is taken in place only if it starts 16-aligned, and a
            // buffer keeps its data's offset as it grows: move what has arrived (a read's
            // worth) once, now, to a fresh allocation, instead of copying the whole
            // payload when it is complete (a 512 MiB SET was copied here).
            let mut fresh = BytesMut::with_capacity(buf.len() + READ_CHUNK);
            fresh.extend_from_slice(buf);
            *buf = fresh;
        }
        // Room for the next read only: the announced length is a claim, not bytes.
        buf.reserve((total - buf.len()).min(READ_CHUNK));
        return Ok(None);
    }
    buf.advance(HEADER_LEN);
    let len = header.len as usize;
    let payload = if len >= IN_PLACE_ABOVE && (buf.as_ptr() as usize).is_multiple_of(16) {
        Payload::InPlace(buf.split_to(len))
    } else {
        let mut payload = AlignedVec::<16>::with_capacity(len);
        payload.extend_from_slice(&buf[..len]);
        buf.advance(len);
        Payload::Copied(payload)
    };
    if len >= super::SHRINK_ABOVE {
        // The buffer's allocation grew for this frame. Left under `buf`, whose `capacity()`
        // counts only the room past the frame, it stayed for the life of the link, where
        // `shrink_after_burst` never saw it, and under an in-place payload even after the
        // frame was dropped (a 512 MiB SET's frame outlived its commit in storaged, and
        // each proxy link kept the size of the largest reply it had read). What follows
        // the frame moves to a buffer of its own.
        *buf = BytesMut::from(&buf[..]);
    }
    Ok(Some(Frame {
        kind: header.kind,
        payload,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Outcome, Request, Response};
    use crate::{Command, Reply, SetCondition, SetExpiry, StorageError};
    use proptest::prelude::*;

    fn sample_request() -> Request {
        Request {
            id: 7,
            db: 3,
            commands: vec![
                Command::Set {
                    key: b"k".to_vec(),
                    value: b"v".to_vec(),
                    condition: SetCondition::IfAbsent,
                    expiry: SetExpiry::At(1_700_000_000_000),
                    get: true,
                },
                Command::Get { key: b"k".to_vec() },
            ],
        }
    }

    #[test]
    fn a_large_frame_arriving_behind_an_odd_offset_is_taken_in_place_and_owns_its_buffer() {
        let big = Request {
            id: 1,
            db: 0,
            commands: vec![Command::Set {
                key: b"k".to_vec(),
                value: vec![b'v'; 2 * crate::wire::SHRINK_ABOVE],
                condition: SetCondition::Always,
                expiry: SetExpiry::Clear,
                get: false,
            }],
        };
        let mut frame = BytesMut::new();
        encode(&big, u32::MAX, &mut frame).unwrap();
        // A small frame first, so the large one starts at an unaligned offset, then the
        // large one in reads of 1000 bytes as a socket would hand them over.
        let mut small = BytesMut::new();
        encode(&sample_request(), u32::MAX, &mut small).unwrap();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"x");
        buf.advance(1);
        buf.extend_from_slice(&small);
        assert!(decode(&mut buf, u32::MAX).unwrap().is_some());
        let mut got = None;
        for (i, piece) in frame.chunks(1000).enumerate() {
            buf.extend_from_slice(piece);
            if i == 0 {
                assert!(!(buf.as_ptr() as usize + HEADER_LEN).is_multiple_of(16));
            }
            if let Some(f) = decode(&mut buf, u32::MAX).unwrap() {
                got = Some(f);
            }
        }
        let got = got.expect("the frame decoded");
        assert!(matches!(got.payload, Payload::InPlace(_)), "copied");
        assert_eq!(got.payload().len() + HEADER_LEN, frame.len());
        // Nothing of the frame's allocation stays with the buffer.
        assert!(buf.is_empty());
        assert_eq!(buf.capacity(), 0);
    }

    #[test]
    fn frames_are_written_in_place_behind_what_out_holds() {
        // A frame appended after an odd number of bytes still decodes (positions count
        // from the payload), a large value leaves slack instead of doubling the buffer,
        // and a refused frame leaves `out` as it was.
        let big = Request {
            id: 9,
            db: 0,
            commands: vec![Command::Set {
                key: b"k".to_vec(),
                value: vec![b'v'; 4 << 20],
                condition: SetCondition::Always,
                expiry: SetExpiry::Clear,
                get: false,
            }],
        };
        let mut out = BytesMut::new();
        out.extend_from_slice(b"abc");
        encode(&big, u32::MAX, &mut out).unwrap();
        assert!(out.capacity() < out.len() + 2 * LARGE_WRITE_SLACK + READ_CHUNK);
        let frame_len = out.len() - 3;
        let mut tail = out.split_off(3);
        assert_eq!(&out[..], b"abc");
        let frame = decode(&mut tail, u32::MAX).unwrap().unwrap();
        assert!(tail.is_empty());
        assert_eq!(frame.payload().len() + HEADER_LEN, frame_len);
        let back: Request =
            rkyv::deserialize::<Request, rancor::Error>(frame.access::<Request>().unwrap())
                .unwrap();
        assert_eq!(back, big);
        let mut out = BytesMut::from(&b"xyz"[..]);
        assert!(matches!(
            encode(&big, 1 << 20, &mut out),
            Err(FrameError::TooLarge { .. })
        ));
        assert_eq!(&out[..], b"xyz");
    }

    #[test]
    fn a_large_aligned_payload_is_decoded_in_place_and_an_unaligned_one_copied() {
        let big = Request {
            id: 1,
            db: 0,
            commands: vec![Command::Get {
                key: vec![b'k'; 2 * IN_PLACE_ABOVE],
            }],
        };
        for shift in [0usize, 1] {
            let mut buf = BytesMut::with_capacity(4 * IN_PLACE_ABOVE);
            // Start the frame `shift` bytes past a 16-byte boundary of the buffer.
            let pad = (16 - buf.as_ptr() as usize % 16) % 16 + shift;
            buf.extend_from_slice(&vec![0; pad]);
            encode(&big, u32::MAX, &mut buf).unwrap();
            buf.advance(pad);
            let payload_at = buf.as_ptr() as usize + HEADER_LEN;
            let frame = decode(&mut buf, u32::MAX).unwrap().unwrap();
            assert!(buf.is_empty());
            let in_place = frame.payload().as_ptr() as usize == payload_at;
            assert_eq!(in_place, shift == 0, "shift {shift}");
            assert_eq!(frame.payload().as_ptr() as usize % 16, 0);
            let req = frame.access::<Request>().unwrap();
            assert_eq!(req.commands.len(), 1);
        }
    }

    #[test]
    fn request_round_trips() {
        let mut buf = BytesMut::new();
        encode(&sample_request(), u32::MAX, &mut buf).unwrap();
        let frame = decode(&mut buf, u32::MAX).unwrap().unwrap();
        assert!(buf.is_empty());
        let req = frame.access::<Request>().unwrap();
        assert_eq!(req.id.to_native(), 7);
        assert_eq!(req.db, 3);
        let back: Request = rkyv::deserialize::<Request, rancor::Error>(req).unwrap();
        assert_eq!(back, sample_request());
    }

    #[test]
    fn keyed_request_round_trips_and_is_not_a_request() {
        let keyed = crate::wire::KeyedRequest {
            id: 9,
            db: 1,
            key: crate::wire::RequestKey {
                proxy: 0xfeed,
                seq: 77,
                born_ms: 1_700_000_000_123,
            },
            attempt: 2,
            commands: sample_request().commands,
        };
        let mut buf = BytesMut::new();
        encode(&keyed, u32::MAX, &mut buf).unwrap();
        let frame = decode(&mut buf, u32::MAX).unwrap().unwrap();
        assert_eq!(frame.kind, FrameKind::KeyedRequest);
        assert!(matches!(
            frame.access::<Request>(),
            Err(FrameError::UnexpectedKind { .. })
        ));
        let back: crate::wire::KeyedRequest = rkyv::deserialize::<_, rancor::Error>(
            frame.access::<crate::wire::KeyedRequest>().unwrap(),
        )
        .unwrap();
        assert_eq!(back, keyed);
    }

    #[test]
    fn partial_frames_wait_for_more() {
        let mut full = BytesMut::new();
        encode(&sample_request(), u32::MAX, &mut full).unwrap();
        for cut in 0..full.len() {
            let mut part = BytesMut::from(&full[..cut]);
            assert!(
                decode(&mut part, u32::MAX).unwrap().is_none(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn oversized_length_is_refused_before_payload_arrives() {
        let mut buf = BytesMut::new();
        encode(&sample_request(), u32::MAX, &mut buf).unwrap();
        buf.truncate(HEADER_LEN);
        let err = decode(&mut buf, 8).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { max: 8, .. }));
    }

    /// A header that announces a frame near the limit, with no payload behind it.
    fn announcing(len: u32) -> BytesMut {
        let mut buf = BytesMut::new();
        encode(&sample_request(), u32::MAX, &mut buf).unwrap();
        buf.truncate(HEADER_LEN);
        buf[4..8].copy_from_slice(&len.to_le_bytes());
        buf
    }

    #[test]
    fn an_announced_length_is_not_reserved_before_its_bytes_arrive() {
        let len = crate::wire::DEFAULT_MAX_FRAME;
        let mut buf = announcing(len);
        assert!(decode(&mut buf, len).unwrap().is_none());
        assert!(
            buf.capacity() <= HEADER_LEN + 2 * READ_CHUNK,
            "a {len}-byte claim reserved {} bytes",
            buf.capacity()
        );
    }

    #[test]
    fn a_frame_buffer_grows_with_the_bytes_received() {
        let big = Request {
            id: 1,
            db: 0,
            commands: vec![Command::Set {
                key: b"k".to_vec(),
                value: vec![7u8; 4 << 20],
                condition: SetCondition::Always,
                expiry: SetExpiry::Clear,
                get: false,
            }],
        };
        let mut full = BytesMut::new();
        encode(&big, u32::MAX, &mut full).unwrap();
        let mut buf = BytesMut::new();
        let mut frame = None;
        // Feed it as a socket would, in reads of at most the room `decode` left.
        let mut at = 0;
        while at < full.len() {
            if let Some(f) = decode(&mut buf, u32::MAX).unwrap() {
                frame = Some(f);
                break;
            }
            let room = (buf.capacity() - buf.len()).clamp(1, 8192);
            let n = room.min(full.len() - at);
            buf.extend_from_slice(&full[at..at + n]);
            at += n;
            assert!(
                buf.capacity() <= 2 * buf.len() + 2 * READ_CHUNK,
                "holding {} bytes of capacity for {} received",
                buf.capacity(),
                buf.len()
            );
        }
        let frame = frame
            .or_else(|| decode(&mut buf, u32::MAX).unwrap())
            .unwrap();
        let back: Request =
            rkyv::deserialize::<Request, rancor::Error>(frame.access::<Request>().unwrap())
                .unwrap();
        assert_eq!(back, big);
        assert!(buf.is_empty());
    }

    #[test]
    fn the_handshake_limit_refuses_what_the_link_limit_allows() {
        let hello = |name: String| crate::wire::Hello {
            protocol: PROTOCOL_VERSION,
            schema: SCHEMA_HASH,
            instance_id: 1,
            pid: 2,
            name,
        };
        let mut buf = BytesMut::new();
        encode(
            &hello("tandem-proxy 0.1.0".into()),
            MAX_HANDSHAKE_FRAME,
            &mut buf,
        )
        .unwrap();
        assert!(decode(&mut buf, MAX_HANDSHAKE_FRAME).unwrap().is_some());
        // A Request of any size is announced before the handshake: refused on its header.
        let mut buf = announcing(MAX_HANDSHAKE_FRAME + 1);
        assert_eq!(
            decode(&mut buf, MAX_HANDSHAKE_FRAME).unwrap_err(),
            FrameError::TooLarge {
                len: MAX_HANDSHAKE_FRAME + 1,
                max: MAX_HANDSHAKE_FRAME
            }
        );
        let mut buf = BytesMut::new();
        encode(&hello("x".repeat(100_000)), u32::MAX, &mut buf).unwrap();
        assert!(matches!(
            decode(&mut buf, MAX_HANDSHAKE_FRAME),
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn wrong_magic_version_and_kind_are_refused() {
        let mut good = BytesMut::new();
        encode(&sample_request(), u32::MAX, &mut good).unwrap();
        let mut bad = good.clone();
        bad[0] = b'X';
        assert!(matches!(
            decode(&mut bad, u32::MAX),
            Err(FrameError::BadMagic(_))
        ));
        let mut bad = good.clone();
        bad[2] = PROTOCOL_VERSION + 1;
        assert!(matches!(
            decode(&mut bad, u32::MAX),
            Err(FrameError::Version { .. })
        ));
        let mut bad = good.clone();
        bad[3] = 99;
        assert_eq!(
            decode(&mut bad, u32::MAX).unwrap_err(),
            FrameError::UnknownKind(99)
        );
        let mut bad = good.clone();
        bad[8] ^= 1;
        assert!(matches!(
            decode(&mut bad, u32::MAX),
            Err(FrameError::Schema { .. })
        ));
        let frame = decode(&mut good, u32::MAX).unwrap().unwrap();
        assert!(matches!(
            frame.access::<Response>(),
            Err(FrameError::UnexpectedKind { .. })
        ));
    }

    #[test]
    fn response_with_nested_replies_round_trips() {
        let resp = Response {
            id: 1,
            outcomes: vec![
                Outcome::Ok(Reply::Array(vec![
                    Reply::Integer(-1),
                    Reply::Nil,
                    Reply::bulk("x"),
                ])),
                Outcome::Err(StorageError::WrongType),
                Outcome::Ok(Reply::Map(vec![(Reply::bulk("a"), Reply::Double(1.5))])),
            ],
        };
        let mut buf = BytesMut::new();
        encode(&resp, u32::MAX, &mut buf).unwrap();
        let frame = decode(&mut buf, u32::MAX).unwrap().unwrap();
        let back: Response =
            rkyv::deserialize::<Response, rancor::Error>(frame.access::<Response>().unwrap())
                .unwrap();
        assert_eq!(back, resp);
    }

    proptest! {
        /// Garbage payloads behind a valid header never panic: they are refused or, if by
        /// chance valid, accessed safely.
        #[test]
        fn garbage_payload_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut buf = BytesMut::new();
            buf.put_slice(&MAGIC);
            buf.put_u8(PROTOCOL_VERSION);
            buf.put_u8(FrameKind::Request as u8);
            buf.put_u32_le(payload.len() as u32);
            buf.put_u32_le(SCHEMA_HASH);
            buf.put_u32_le(0);
            buf.put_slice(&payload);
            if let Ok(Some(frame)) = decode(&mut buf, u32::MAX) {
                let _ = frame.access::<Request>();
            }
        }

        #[test]
        fn arbitrary_keys_round_trip(key in proptest::collection::vec(any::<u8>(), 0..300),
                                     value in proptest::collection::vec(any::<u8>(), 0..300),
                                     id in any::<u64>(), db in 0u8..16) {
            let req = Request { id, db, commands: vec![Command::Set {
                key, value, condition: SetCondition::Always, expiry: SetExpiry::Clear, get: false }] };
            let mut buf = BytesMut::new();
            encode(&req, u32::MAX, &mut buf).unwrap();
            let frame = decode(&mut buf, u32::MAX).unwrap().unwrap();
            let back: Request = rkyv::deserialize::<Request, rancor::Error>(frame.access::<Request>().unwrap()).unwrap();
            prop_assert_eq!(back, req);
        }
    }
}
