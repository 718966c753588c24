//! `MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
//! [AUTH2 username password] [KEYS key ...]`, as Redis 7.0's `migrateCommand` does it:
//! DUMP each key (with its TTL) from storaged, send `AUTH`, `SELECT` and one `RESTORE` per
//! key to the target in one write, read a reply line for each, and delete the keys the
//! target accepted unless `COPY`. Replies and error texts are Redis's (`+NOKEY`, `-IOERR
//! error or timeout connecting to the client`, `Target instance replied with error: …`).
//!
//! Differences, documented in `docs/OPERATIONS.md`: the DUMP and the DEL are two storage
//! requests, so a write to a key between them (from another client) is deleted with it,
//! where Redis's single thread would have run MIGRATE whole; and no connection to a target
//! is cached between calls (each MIGRATE connects, so each sends `SELECT`).
//!
//! Owns the target connection for one call; reads and deletes only through the session's
//! storage link.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tandem_commands::args::{parse_i64, Args};
use tandem_resp::encode::encode_command;
use tandem_shared::command::TimeUnit;
use tandem_shared::wire::Outcome;
use tandem_shared::{Command, Reply};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::error::CommandError;
use crate::session::{Flow, LocalResult, Session};

const CONNECT_ERROR: &str = "IOERR error or timeout connecting to the client";

/// What MIGRATE was asked to do.
struct Request {
    host: Bytes,
    port: Bytes,
    keys: Vec<Bytes>,
    db: i64,
    timeout: Duration,
    copy: bool,
    replace: bool,
    auth: Option<(Option<Bytes>, Bytes)>,
}

/// Redis's argument handling: options first (from the sixth argument), then the timeout
/// and the database must be integers.
fn parse(mut args: Args) -> Result<Request, CommandError> {
    let all: Vec<Bytes> = args.rest();
    // The table checked the arity (-6): host port key db timeout are there.
    let [host, port, key, ..] = all.as_slice() else {
        return Err(CommandError::WrongArity("migrate".into()));
    };
    let (host, port, key) = (host.clone(), port.clone(), key.clone());
    let mut keys = vec![key.clone()];
    let (mut copy, mut replace, mut auth) = (false, false, None);
    let mut j = 5;
    while j < all.len() {
        let more = all.len() - 1 - j;
        let word = all[j].to_ascii_lowercase();
        match word.as_slice() {
            b"copy" => copy = true,
            b"replace" => replace = true,
            b"auth" => {
                if more < 1 {
                    return Err(CommandError::Syntax);
                }
                j += 1;
                auth = Some((None, all[j].clone()));
            }
            b"auth2" => {
                if more < 2 {
                    return Err(CommandError::Syntax);
                }
                auth = Some((Some(all[j + 1].clone()), all[j + 2].clone()));
                j += 2;
            }
            b"keys" => {
                if !key.is_empty() {
                    return Err(CommandError::err(
                        "When using MIGRATE KEYS option, the key argument must be set to the empty string",
                    ));
                }
                keys = all[j + 1..].to_vec();
                break;
            }
            _ => return Err(CommandError::Syntax),
        }
        j += 1;
    }
    let int = |b: &Bytes| parse_i64(b).ok_or(CommandError::NotInteger);
    let ms = int(&all[4])?;
    let db = int(&all[3])?;
    let ms = if ms <= 0 { 1000 } else { ms };
    Ok(Request {
        host,
        port,
        keys,
        db,
        timeout: Duration::from_millis(u64::try_from(ms).unwrap_or(1000)),
        copy,
        replace,
        auth,
    })
}

/// One key to move: its name, DUMP payload and the TTL to restore it with (0: none).
struct Dumped {
    key: Bytes,
    payload: Vec<u8>,
    ttl_ms: i64,
}

/// DUMP and PTTL of every key, in one storage request (one committed state).
async fn dump(session: &mut Session, keys: &[Bytes]) -> Result<Vec<Dumped>, CommandError> {
    let mut commands = Vec::with_capacity(keys.len() * 2);
    for key in keys {
        commands.push(Command::Dump { key: key.to_vec() });
        commands.push(Command::Ttl {
            key: key.to_vec(),
            unit: TimeUnit::Milliseconds,
        });
    }
    let outcomes = session.call_storage(session.state.db, commands).await?;
    let mut out = Vec::new();
    for (key, pair) in keys.iter().zip(outcomes.chunks(2)) {
        let [dumped, ttl] = pair else {
            return Err(CommandError::err("storage returned too few replies"));
        };
        let payload = match dumped {
            Outcome::Ok(Reply::Bulk(p)) => p.clone(),
            Outcome::Ok(_) => continue,
            Outcome::Err(e) => return Err(CommandError::Other(e.to_string())),
        };
        let ttl_ms = match ttl {
            // Expired between the two reads: Redis skips it too.
            Outcome::Ok(Reply::Integer(-2)) => continue,
            Outcome::Ok(Reply::Integer(-1)) => 0,
            Outcome::Ok(Reply::Integer(ms)) => (*ms).max(1),
            _ => 0,
        };
        out.push(Dumped {
            key: key.clone(),
            payload,
            ttl_ms,
        });
    }
    Ok(out)
}

/// Why talking to the target failed, in Redis's words.
enum Failure {
    Writing,
    Reading,
}

impl Failure {
    fn error(self) -> CommandError {
        let what = match self {
            Failure::Writing => "writing",
            Failure::Reading => "reading",
        };
        CommandError::Other(format!("IOERR error or timeout {what} to target instance"))
    }
}

/// Reads one reply line (without CR LF), as Redis's `syncReadLine` does.
async fn read_line(reader: &mut BufReader<TcpStream>, limit: Duration) -> Result<Vec<u8>, Failure> {
    let mut line = Vec::new();
    match timeout(limit, reader.read_until(b'\n', &mut line)).await {
        Ok(Ok(n)) if n > 0 => {
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            Ok(line)
        }
        _ => Err(Failure::Reading),
    }
}

/// `MIGRATE`.
pub async fn migrate(args: Args, session: &mut Session) -> LocalResult {
    let req = parse(args)?;
    let dumped = dump(session, &req.keys).await?;
    if dumped.is_empty() {
        return Ok((Reply::Simple("NOKEY".into()), Flow::Continue));
    }
    let address = format!(
        "{}:{}",
        String::from_utf8_lossy(&req.host),
        // Redis takes the port with atoi: what is not a number connects to port 0.
        String::from_utf8_lossy(&req.port)
            .trim()
            .parse::<u16>()
            .unwrap_or(0)
    );
    let stream = match timeout(req.timeout, TcpStream::connect(&address)).await {
        Ok(Ok(s)) => s,
        // Redis's non-blocking connect takes a refused socket for connected (it only
        // waits for it to be writable); the write then fails.
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(Failure::Writing.error())
        }
        _ => return Err(CommandError::Other(CONNECT_ERROR.into())),
    };
    let _ = stream.set_nodelay(true);
    let mut out = BytesMut::new();
    if let Some((user, password)) = &req.auth {
        match user {
            Some(user) => encode_command(&[&b"AUTH"[..], &user[..], &password[..]], &mut out),
            None => encode_command(&[&b"AUTH"[..], &password[..]], &mut out),
        }
    }
    let db = req.db.to_string();
    encode_command(&[&b"SELECT"[..], db.as_bytes()], &mut out);
    for d in &dumped {
        let ttl = d.ttl_ms.to_string();
        let mut words: Vec<&[u8]> = vec![b"RESTORE", &d.key, ttl.as_bytes(), &d.payload];
        if req.replace {
            words.push(b"REPLACE");
        }
        encode_command(&words, &mut out);
    }
    let mut reader = BufReader::new(stream);
    if !matches!(
        timeout(req.timeout, reader.get_mut().write_all(&out)).await,
        Ok(Ok(()))
    ) {
        return Err(Failure::Writing.error());
    }
    let auth_reply = match &req.auth {
        Some(_) => Some(read_line(&mut reader, req.timeout).await),
        None => None,
    };
    let select_reply = read_line(&mut reader, req.timeout).await;
    let (auth_reply, select_reply) = match (auth_reply.transpose(), select_reply) {
        (Ok(a), Ok(s)) => (a, s),
        _ => return Err(Failure::Reading.error()),
    };
    let mut target_error = None;
    let mut moved = Vec::new();
    let mut socket_error = false;
    for d in &dumped {
        let line = match read_line(&mut reader, req.timeout).await {
            Ok(line) => line,
            Err(_) => {
                socket_error = true;
                break;
            }
        };
        let failed = [
            auth_reply.as_deref(),
            Some(select_reply.as_slice()),
            Some(&line),
        ]
        .into_iter()
        .flatten()
        .find(|l| l.first() == Some(&b'-'));
        match failed {
            Some(error) => {
                target_error
                    .get_or_insert_with(|| String::from_utf8_lossy(&error[1..]).into_owned());
            }
            None if !req.copy => moved.push(d.key.to_vec()),
            None => {}
        }
    }
    if !moved.is_empty() {
        session
            .call_storage(session.state.db, vec![Command::Del { keys: moved }])
            .await?;
    }
    if let Some(error) = target_error {
        return Err(CommandError::err(format!(
            "Target instance replied with error: {error}"
        )));
    }
    if socket_error {
        return Err(Failure::Reading.error());
    }
    Ok((Reply::ok(), Flow::Continue))
}
