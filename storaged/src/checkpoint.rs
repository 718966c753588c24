//! The client side of `tandem-storaged checkpoint DIR`: one short link to the running
//! storaged, one `Checkpoint` command, its answer. Blocking std I/O: it runs alone, before
//! any runtime exists. The checkpoint itself is the engine's (`Engine::checkpoint`).

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use bytes::BytesMut;
use tandem_shared::reply::ArchivedReply;
use tandem_shared::wire::{self, ArchivedOutcome, FrameKind, Hello, HelloAck, Request, Response};
use tandem_shared::Command;

/// How long a checkpoint may take before the command gives up waiting (flushing a large
/// memtable and linking every SST file is quick; copying across filesystems is not).
const TIMEOUT: Duration = Duration::from_secs(600);

/// Asks the storaged serving on `socket` for a checkpoint in `dir` (made absolute against
/// this process's working directory, since storaged resolves it). Returns a line for the
/// operator naming the directory.
///
/// # Errors
/// No storaged on the socket, a refused link, or storaged's error (e.g. `dir` exists).
pub fn request(socket: &Path, dir: &Path, max_frame: u32) -> Result<String, String> {
    let dir = std::path::absolute(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut stream = UnixStream::connect(socket)
        .map_err(|e| format!("cannot connect to storaged at {}: {e}", socket.display()))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut buf = BytesMut::with_capacity(4096);
    let hello = Hello {
        protocol: wire::PROTOCOL_VERSION,
        schema: wire::SCHEMA_HASH,
        instance_id: 0,
        pid: std::process::id(),
        name: format!("tandem-storaged checkpoint {}", env!("CARGO_PKG_VERSION")),
    };
    send(&mut stream, frame_of(&hello, max_frame))?;
    let ack = read_frame(&mut stream, &mut buf, max_frame)?;
    let ack = ack
        .access::<HelloAck>()
        .map_err(|e| format!("handshake: {e}"))?;
    if !ack.accepted {
        return Err(format!(
            "storaged refused the link: {}",
            ack.message.as_str()
        ));
    }
    let request = Request {
        id: 1,
        db: 0,
        commands: vec![Command::Checkpoint {
            dir: dir.as_os_str().as_bytes().to_vec(),
        }],
    };
    send(&mut stream, frame_of(&request, max_frame))?;
    loop {
        let frame = read_frame(&mut stream, &mut buf, max_frame)?;
        if frame.kind != FrameKind::Response {
            continue; // a Notice (storaged going away): the answer may still come
        }
        let response = frame
            .access::<Response>()
            .map_err(|e| format!("bad response: {e}"))?;
        return match response.outcomes.first() {
            Some(ArchivedOutcome::Ok(ArchivedReply::Bulk(_))) => {
                Ok(format!("checkpoint written to {}", dir.display()))
            }
            Some(ArchivedOutcome::Err(e)) => Err(format!("checkpoint failed: {e:?}")),
            other => Err(format!("unexpected answer: {other:?}")),
        };
    }
}

fn send(stream: &mut UnixStream, frame: Result<BytesMut, wire::FrameError>) -> Result<(), String> {
    let out = frame.map_err(|e| e.to_string())?;
    stream
        .write_all(&out)
        .map_err(|e| format!("write to storaged: {e}"))
}

/// One frame carrying `msg`.
fn frame_of<M>(msg: &M, max_frame: u32) -> Result<BytesMut, wire::FrameError>
where
    M: wire::Message,
    for<'a, 'b> M: rkyv::Serialize<
        rkyv::api::high::HighSerializer<
            wire::codec::FrameWriter<'b>,
            rkyv::ser::allocator::ArenaHandle<'a>,
            rkyv::rancor::Error,
        >,
    >,
{
    let mut out = BytesMut::new();
    wire::encode(msg, max_frame, &mut out)?;
    Ok(out)
}

fn read_frame(
    stream: &mut UnixStream,
    buf: &mut BytesMut,
    max_frame: u32,
) -> Result<wire::Frame, String> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(frame) = wire::decode(buf, max_frame).map_err(|e| e.to_string())? {
            return Ok(frame);
        }
        let n = stream
            .read(&mut chunk)
            .map_err(|e| format!("read from storaged: {e}"))?;
        if n == 0 {
            return Err("storaged closed the link".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
