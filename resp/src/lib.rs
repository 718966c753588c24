//! `tandem-resp`: the RESP codec, client requests in, replies out.
//!
//! Pure code over [`bytes::BytesMut`]: [`decode`] turns request bytes into argument vectors
//! (multibulk and inline, with Redis's exact protocol errors and limits), [`encode`] turns
//! [`tandem_shared::Reply`] values into RESP2 or RESP3. No I/O, no command semantics. This is a
//! crate of its own so that Cargo, not review, keeps it that way: it cannot depend on tokio,
//! the proxy's state or the storage link.

pub mod decode;
pub mod encode;

pub use decode::{decode_command, split_args, Decoder, Limits};
pub use encode::{
    encode, encode_archived, encode_array_len, encode_bool, encode_bulk, encode_command,
    encode_double, encode_error, encode_integer, encode_map_len, encode_null, encode_null_array,
    encode_push_len, encode_set_len, encode_simple, format_double, Protocol,
};

/// Malformed RESP input. The connection replies with this text and then closes, as Redis does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("ERR Protocol error: {0}")]
    Invalid(String),
}
