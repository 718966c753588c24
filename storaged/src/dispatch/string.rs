//! Strings: GET, MGET, STRLEN, GETRANGE, LCS; SET, SETNX, MSET, MSETNX, GETDEL, GETEX,
//! APPEND, SETRANGE, INCRBY (INCR, DECR, DECRBY), INCRBYFLOAT.

use tandem_shared::command::{
    ArchivedCommand, ArchivedGetExExpiry, ArchivedLcsMode, ArchivedSetCondition, ArchivedSetExpiry,
};
use tandem_shared::{GetExExpiry, LcsMode, Reply, SetCondition, SetExpiry};

use super::arm::{done, LIGHT_READ_MAX};
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::{int, Flags};
use crate::types::string::{self, SetOptions};
use crate::types::{At, CmdResult};

const G: u32 = Flags::GENERIC;
const STR: u32 = Flags::STRING;

/// The light reads (see [`super::is_light_read`]).
pub(super) fn light(cmd: &ArchivedCommand) -> bool {
    match cmd {
        ArchivedCommand::Get { .. } | ArchivedCommand::StrLen { .. } => true,
        ArchivedCommand::MGet { keys } => keys.len() <= LIGHT_READ_MAX,
        _ => false,
    }
}

/// The read-only string commands; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(match cmd {
        C::Get { key } => string::get(s, at, key),
        C::MGet { keys } => string::mget(s, at, keys.iter().map(|k| k.as_slice())),
        C::StrLen { key } => string::strlen(s, at, key),
        C::GetRange { key, start, end } => {
            string::getrange(s, at, key, start.to_native(), end.to_native())
        }
        C::Lcs { key1, key2, mode } => string::lcs(s, at, key1, key2, lcs_mode(mode)),
        _ => return None,
    })
}

/// The string commands that write, each with its keyspace events; `None` for any other.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    let db = at.db;
    Some(match cmd {
        C::Set {
            key,
            value,
            condition,
            expiry,
            get,
        } => {
            let opts = SetOptions {
                condition: set_condition(condition),
                expiry: set_expiry(expiry),
                get: *get,
            };
            let r = string::set(w, at, key, value, opts);
            done(w, r, |e, reply| {
                let stored = if opts.get {
                    match opts.condition {
                        SetCondition::Always => true,
                        SetCondition::IfAbsent => matches!(reply, Reply::Nil),
                        SetCondition::IfPresent => !matches!(reply, Reply::Nil),
                    }
                } else {
                    !matches!(reply, Reply::Nil)
                };
                if !stored {
                    return;
                }
                // A SET with a past expiry leaves no key in tandem; Redis stores it and
                // expires it on next access, so announce all of that now.
                if !e.live_before(db, key) {
                    e.new_key(db, key);
                }
                e.push(STR, "set", db, key);
                if let SetExpiry::At(t) = opts.expiry {
                    e.push(G, "expire", db, key);
                    if t <= e.now_ms() as i64 {
                        e.push(Flags::EXPIRED, "expired", db, key);
                    }
                }
            })
        }
        C::SetNx { key, value } => {
            let r = string::setnx(w, at, key, value);
            done(w, r, |e, reply| {
                if int(reply) == 1 {
                    e.write(STR, "set", db, key);
                }
            })
        }
        C::MSet { pairs } => {
            let r = string::mset(
                w,
                at,
                pairs.iter().map(|p| (p.0.as_slice(), p.1.as_slice())),
            );
            done(w, r, |e, _| {
                for p in pairs.iter() {
                    e.write(STR, "set", db, &p.0);
                }
            })
        }
        C::MSetNx { pairs } => {
            let r = string::msetnx(
                w,
                at,
                pairs.iter().map(|p| (p.0.as_slice(), p.1.as_slice())),
            );
            done(w, r, |e, reply| {
                if int(reply) == 1 {
                    for p in pairs.iter() {
                        e.write(STR, "set", db, &p.0);
                    }
                }
            })
        }
        C::GetDel { key } => {
            let r = string::getdel(w, at, key);
            done(w, r, |e, reply| {
                if !matches!(reply, Reply::Nil) {
                    e.push(G, "del", db, key);
                }
            })
        }
        C::GetEx { key, expiry } => {
            let expiry = getex_expiry(expiry);
            let r = string::getex(w, at, key, expiry);
            done(w, r, |e, reply| {
                if matches!(reply, Reply::Nil) {
                    return;
                }
                match expiry {
                    GetExExpiry::Unchanged => {}
                    GetExExpiry::Persist => {
                        if e.touched(db, key) {
                            e.push(G, "persist", db, key);
                        }
                    }
                    GetExExpiry::At(t) => {
                        if t <= e.now_ms() as i64 {
                            e.push(G, "del", db, key);
                        } else {
                            e.push(G, "expire", db, key);
                        }
                    }
                }
            })
        }
        C::Append { key, value } => {
            let r = string::append(w, at, key, value);
            done(w, r, |e, _| e.write(STR, "append", db, key))
        }
        C::SetRange { key, offset, value } => {
            let r = string::setrange(w, at, key, offset.to_native(), value);
            done(w, r, |e, _| {
                if !value.is_empty() {
                    e.write(STR, "setrange", db, key);
                }
            })
        }
        C::IncrBy { key, delta } => {
            let r = string::incr_by(w, at, key, delta.to_native());
            done(w, r, |e, _| e.write(STR, "incrby", db, key))
        }
        C::IncrByFloat { key, delta } => {
            let r = string::incr_by_float_text(w, at, key, delta.as_slice());
            done(w, r, |e, _| e.write(STR, "incrbyfloat", db, key))
        }
        _ => return None,
    })
}

fn set_condition(c: &ArchivedSetCondition) -> SetCondition {
    match c {
        ArchivedSetCondition::Always => SetCondition::Always,
        ArchivedSetCondition::IfAbsent => SetCondition::IfAbsent,
        ArchivedSetCondition::IfPresent => SetCondition::IfPresent,
    }
}

fn set_expiry(e: &ArchivedSetExpiry) -> SetExpiry {
    match e {
        ArchivedSetExpiry::Clear => SetExpiry::Clear,
        ArchivedSetExpiry::Keep => SetExpiry::Keep,
        ArchivedSetExpiry::At(t) => SetExpiry::At(t.to_native()),
    }
}

fn getex_expiry(e: &ArchivedGetExExpiry) -> GetExExpiry {
    match e {
        ArchivedGetExExpiry::Unchanged => GetExExpiry::Unchanged,
        ArchivedGetExExpiry::Persist => GetExExpiry::Persist,
        ArchivedGetExExpiry::At(t) => GetExExpiry::At(t.to_native()),
    }
}

fn lcs_mode(m: &ArchivedLcsMode) -> LcsMode {
    match m {
        ArchivedLcsMode::String => LcsMode::String,
        ArchivedLcsMode::Length => LcsMode::Length,
        ArchivedLcsMode::Indexes {
            min_match_len,
            with_match_len,
        } => LcsMode::Indexes {
            min_match_len: min_match_len.to_native(),
            with_match_len: *with_match_len,
        },
    }
}
