//! Bitmaps: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO. Bitmaps are strings; what a bit
//! command does to a value is storaged's (`types/bitmap.rs`).
//!
//! The errors Redis gives before it looks at the key are answered here, in Redis's order
//! (offset, then bit value). `BITCOUNT` and `BITPOS` read their range only once the key
//! exists and is a string, so a bad range travels as [`BitRange::Invalid`].

use tandem_shared::command::{BitFieldOp, BitFieldType, BitOpKind, BitOverflow, BitRange};
use tandem_shared::{Command, ScanOptionError};

use crate::args::{parse_i64, Args, ParseCtx};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, range, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

const BAD_OFFSET: &str = "bit offset is not an integer or out of range";

/// A bit offset as Redis's `getBitOffsetFromArgument` reads it: an integer whose byte
/// (`offset / 8`) lies below `proto-max-bulk-len`.
fn bit_offset(arg: &[u8], ctx: &ParseCtx) -> Result<u64, CommandError> {
    checked_offset(parse_i64(arg), ctx)
}

fn checked_offset(offset: Option<i64>, ctx: &ParseCtx) -> Result<u64, CommandError> {
    offset
        .and_then(|o| u64::try_from(o).ok())
        .filter(|o| (o >> 3) < ctx.proto_max_bulk_len)
        .ok_or_else(|| CommandError::err(BAD_OFFSET))
}

/// A `BITFIELD` offset: a bit offset, or `#n` for `n` fields of `bits` (Redis multiplies
/// in 64 bits and then applies the same limits).
fn field_offset(arg: &[u8], bits: u8, ctx: &ParseCtx) -> Result<u64, CommandError> {
    match arg {
        [b'#', n @ ..] if !n.is_empty() => {
            checked_offset(parse_i64(n).map(|n| n.wrapping_mul(i64::from(bits))), ctx)
        }
        _ => bit_offset(arg, ctx),
    }
}

/// A `BITFIELD` type: `i1`..`i64` or `u1`..`u63`, either case.
fn field_type(arg: &[u8]) -> Result<BitFieldType, CommandError> {
    let signed = match arg.first() {
        Some(b'i' | b'I') => true,
        Some(b'u' | b'U') => false,
        _ => return Err(bad_type()),
    };
    let max = if signed { 64 } else { 63 };
    match parse_i64(&arg[1..]) {
        Some(bits @ 1..) if bits <= max => Ok(BitFieldType {
            signed,
            bits: bits as u8,
        }),
        _ => Err(bad_type()),
    }
}

fn bad_type() -> CommandError {
    CommandError::err(
        "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
    )
}

/// The operations of `BITFIELD`/`BITFIELD_RO`, checked in Redis's order (each word, its
/// type, its offset, its value), with the `OVERFLOW` in force resolved into each write.
fn field_ops(args: &mut Args, ctx: &ParseCtx) -> Result<Vec<BitFieldOp>, CommandError> {
    let words = args.rest();
    let mut ops = Vec::new();
    let mut overflow = BitOverflow::Wrap;
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        let remaining = words.len() - i - 1;
        let is = |name: &str| word.eq_ignore_ascii_case(name.as_bytes());
        if is("overflow") && remaining >= 1 {
            let mode = &words[i + 1];
            overflow = if mode.eq_ignore_ascii_case(b"wrap") {
                BitOverflow::Wrap
            } else if mode.eq_ignore_ascii_case(b"sat") {
                BitOverflow::Sat
            } else if mode.eq_ignore_ascii_case(b"fail") {
                BitOverflow::Fail
            } else {
                return Err(CommandError::err("Invalid OVERFLOW type specified"));
            };
            i += 2;
            continue;
        }
        let get = is("get") && remaining >= 2;
        let set = is("set") && remaining >= 3;
        let incr = is("incrby") && remaining >= 3;
        if !(get || set || incr) {
            return Err(CommandError::Syntax);
        }
        let ty = field_type(&words[i + 1])?;
        let offset = field_offset(&words[i + 2], ty.bits, ctx)?;
        if get {
            ops.push(BitFieldOp::Get { ty, offset });
            i += 3;
            continue;
        }
        let n = parse_i64(&words[i + 3]).ok_or(CommandError::NotInteger)?;
        ops.push(if set {
            BitFieldOp::Set {
                ty,
                offset,
                value: n,
                overflow,
            }
        } else {
            BitFieldOp::IncrBy {
                ty,
                offset,
                delta: n,
                overflow,
            }
        });
        i += 4;
    }
    Ok(ops)
}

/// `BITFIELD key [GET type offset | SET type offset value | INCRBY type offset increment
/// | OVERFLOW WRAP|SAT|FAIL] ...`
pub fn bitfield(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let ops = field_ops(args, ctx)?;
    Ok(Command::BitField { key, ops })
}

/// `BITFIELD_RO key [GET type offset] ...`
pub fn bitfield_ro(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let ops = field_ops(args, ctx)?;
    if ops.iter().any(|op| !matches!(op, BitFieldOp::Get { .. })) {
        return Err(CommandError::err(
            "BITFIELD_RO only supports the GET subcommand",
        ));
    }
    Ok(Command::BitFieldRo { key, ops })
}

/// `SETBIT key offset 0|1`
pub fn setbit(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let offset = bit_offset(&args.next_bytes()?, ctx)?;
    let on = match parse_i64(&args.next_bytes()?) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(CommandError::err("bit is not an integer or out of range")),
    };
    args.expect_end()?;
    Ok(Command::SetBit { key, offset, on })
}

/// `GETBIT key offset`
pub fn getbit(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let offset = bit_offset(&args.next_bytes()?, ctx)?;
    args.expect_end()?;
    Ok(Command::GetBit { key, offset })
}

/// The `BYTE|BIT` word of a range: `Some(true)` for `BIT`.
fn unit(word: &[u8]) -> Option<bool> {
    if word.eq_ignore_ascii_case(b"bit") {
        Some(true)
    } else if word.eq_ignore_ascii_case(b"byte") {
        Some(false)
    } else {
        None
    }
}

/// `BITCOUNT key [start end [BYTE|BIT]]`. Checks in Redis's order: `start`, `end`, then
/// a negative range that is empty whatever the value, then the unit.
pub fn bitcount(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let rest = args.rest();
    let range = match rest.as_slice() {
        [] => BitRange::Whole,
        [start, end, unit_word @ ..] if unit_word.len() <= 1 => {
            match (parse_i64(start), parse_i64(end)) {
                (Some(start), Some(end)) if start < 0 && end < 0 && start > end => BitRange::Empty,
                (Some(start), Some(end)) => match unit_word.first().map(|w| unit(w)) {
                    None => BitRange::Span {
                        start,
                        end: Some(end),
                        bits: false,
                    },
                    Some(Some(bits)) => BitRange::Span {
                        start,
                        end: Some(end),
                        bits,
                    },
                    Some(None) => BitRange::Invalid(ScanOptionError::Syntax),
                },
                _ => BitRange::Invalid(ScanOptionError::NotInteger),
            }
        }
        _ => BitRange::Invalid(ScanOptionError::Syntax),
    };
    Ok(Command::BitCount { key, range })
}

/// `BITPOS key bit [start [end [BYTE|BIT]]]`. The bit is checked here (Redis checks it
/// before the key); the range in Redis's order: `start`, the unit, then `end`.
pub fn bitpos(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let bit = match args.next_i64()? {
        0 => false,
        1 => true,
        _ => return Err(CommandError::err("The bit argument must be 1 or 0.")),
    };
    let rest = args.rest();
    let range = match rest.as_slice() {
        [] => BitRange::Whole,
        [start, more @ ..] if more.len() <= 2 => {
            let bits = match more.get(1) {
                None => Some(false),
                Some(w) => unit(w),
            };
            match (parse_i64(start), bits) {
                (None, _) => BitRange::Invalid(ScanOptionError::NotInteger),
                (Some(_), None) => BitRange::Invalid(ScanOptionError::Syntax),
                (Some(start), Some(bits)) => match more.first().map(|e| parse_i64(e)) {
                    None => BitRange::Span {
                        start,
                        end: None,
                        bits,
                    },
                    Some(Some(end)) => BitRange::Span {
                        start,
                        end: Some(end),
                        bits,
                    },
                    Some(None) => BitRange::Invalid(ScanOptionError::NotInteger),
                },
            }
        }
        _ => BitRange::Invalid(ScanOptionError::Syntax),
    };
    Ok(Command::BitPos { key, bit, range })
}

/// `BITOP AND|OR|XOR|NOT destkey key [key ...]`
pub fn bitop(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let word = args.next_bytes()?;
    let op = [
        (&b"and"[..], BitOpKind::And),
        (b"or", BitOpKind::Or),
        (b"xor", BitOpKind::Xor),
        (b"not", BitOpKind::Not),
    ]
    .into_iter()
    .find(|(name, _)| word.eq_ignore_ascii_case(name))
    .map(|(_, op)| op)
    .ok_or(CommandError::Syntax)?;
    let dest = args.next_vec()?;
    let keys = args.rest_vecs();
    if op == BitOpKind::Not && keys.len() != 1 {
        return Err(CommandError::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    Ok(Command::BitOp { op, dest, keys })
}

/// Rows of the bitmap commands; values from redis-server 7.0's `COMMAND INFO`/`DOCS`
/// (`commands/tools/row-from-redis`).
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "setbit",
        arity: 4,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | BITMAP | SLOW),
        tips: &[],
        key_specs: &[KeySpec::new(
            key_flags!(RW | ACCESS | UPDATE),
            index(1),
            range(0, 1, 0),
        )],
        subcommands: &[],
        doc: Doc {
            summary: "Sets or clears the bit at offset in the string value stored at key",
            since: "2.2.0",
            group: "bitmap",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("offset", T::Integer),
                arg("value", T::Integer),
            ],
        },
        handler: Handler::Storage(setbit),
    },
    CommandSpec {
        name: "getbit",
        arity: 3,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | BITMAP | FAST),
        tips: &[],
        key_specs: &[KeySpec::new(
            key_flags!(RO | ACCESS),
            index(1),
            range(0, 1, 0),
        )],
        subcommands: &[],
        doc: Doc {
            summary: "Returns the bit value at offset in the string value stored at key",
            since: "2.2.0",
            group: "bitmap",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[arg("key", T::Key).key_spec(0), arg("offset", T::Integer)],
        },
        handler: Handler::Storage(getbit),
    },
    CommandSpec {
        name: "bitcount",
        arity: -2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | BITMAP | SLOW),
        tips: &[],
        key_specs: &[KeySpec::new(
            key_flags!(RO | ACCESS),
            index(1),
            range(0, 1, 0),
        )],
        subcommands: &[],
        doc: Doc {
            summary: "Count set bits in a string",
            since: "2.6.0",
            group: "bitmap",
            complexity: "O(N)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[("7.0.0", "Added the `BYTE|BIT` option.")],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("index", T::Block).optional().args(&[
                    arg("start", T::Integer),
                    arg("end", T::Integer),
                    arg("index_unit", T::OneOf)
                        .since("7.0.0")
                        .optional()
                        .args(&[
                            arg("byte", T::PureToken).token("BYTE"),
                            arg("bit", T::PureToken).token("BIT"),
                        ]),
                ]),
            ],
        },
        handler: Handler::Storage(bitcount),
    },
    CommandSpec {
        name: "bitpos",
        arity: -3,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | BITMAP | SLOW),
        tips: &[],
        key_specs: &[KeySpec::new(
            key_flags!(RO | ACCESS),
            index(1),
            range(0, 1, 0),
        )],
        subcommands: &[],
        doc: Doc {
            summary: "Find first bit set or clear in a string",
            since: "2.8.7",
            group: "bitmap",
            complexity: "O(N)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[("7.0.0", "Added the `BYTE|BIT` option.")],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("bit", T::Integer),
                arg("index", T::Block).optional().args(&[
                    arg("start", T::Integer),
                    arg("end_index", T::Block).optional().args(&[
                        arg("end", T::Integer),
                        arg("index_unit", T::OneOf)
                            .since("7.0.0")
                            .optional()
                            .args(&[
                                arg("byte", T::PureToken).token("BYTE"),
                                arg("bit", T::PureToken).token("BIT"),
                            ]),
                    ]),
                ]),
            ],
        },
        handler: Handler::Storage(bitpos),
    },
    CommandSpec {
        name: "bitop",
        arity: -4,
        flags: flags!(WRITE | DENYOOM),
        first_key: 2,
        last_key: -1,
        step: 1,
        acl: acl!(WRITE | BITMAP | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(OW | UPDATE), index(2), range(0, 1, 0)),
            KeySpec::new(key_flags!(RO | ACCESS), index(3), range(-1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Perform bitwise operations between strings",
            since: "2.6.0",
            group: "bitmap",
            complexity: "O(N)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("operation", T::String),
                arg("destkey", T::Key).key_spec(0),
                arg("key", T::Key).key_spec(1).multiple(),
            ],
        },
        handler: Handler::Storage(bitop),
    },
    CommandSpec {
        name: "bitfield",
        arity: -2,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | BITMAP | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE | VARIABLE_FLAGS), index(1), range(0, 1, 0)).notes("This command allows both access and modification of the key"),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Perform arbitrary bitfield integer operations on strings",
            since: "3.2.0",
            group: "bitmap",
            complexity: "O(1) for each subcommand specified",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("operation", T::OneOf).optional().multiple().args(&[
                        arg("encoding_offset", T::Block).token("GET").args(&[
                                arg("encoding", T::String),
                                arg("offset", T::Integer),
                            ]),
                        arg("write", T::Block).args(&[
                                arg("wrap_sat_fail", T::OneOf).token("OVERFLOW").optional().args(&[
                                        arg("wrap", T::PureToken).token("WRAP"),
                                        arg("sat", T::PureToken).token("SAT"),
                                        arg("fail", T::PureToken).token("FAIL"),
                                    ]),
                                arg("write_operation", T::OneOf).args(&[
                                        arg("encoding_offset_value", T::Block).token("SET").args(&[
                                                arg("encoding", T::String),
                                                arg("offset", T::Integer),
                                                arg("value", T::Integer),
                                            ]),
                                        arg("encoding_offset_increment", T::Block).token("INCRBY").args(&[
                                                arg("encoding", T::String),
                                                arg("offset", T::Integer),
                                                arg("increment", T::Integer),
                                            ]),
                                    ]),
                            ]),
                    ]),
            ],
        },
        handler: Handler::Storage(bitfield),
    },
    CommandSpec {
        name: "bitfield_ro",
        arity: -2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | BITMAP | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
            since: "6.0.0",
            group: "bitmap",
            complexity: "O(1) for each subcommand specified",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("encoding_offset", T::Block).token("GET").optional().multiple().multiple_token().args(&[
                        arg("encoding", T::String),
                        arg("offset", T::Integer),
                    ]),
            ],
        },
        handler: Handler::Storage(bitfield_ro),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::{AclCategories, Flags};
    use crate::testing::{err, run, run_in};

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn every_bitmap_command_is_in_the_table() {
        let names = [
            "setbit",
            "getbit",
            "bitcount",
            "bitpos",
            "bitop",
            "bitfield",
            "bitfield_ro",
        ];
        for name in names {
            let spec = crate::lookup(name.as_bytes()).expect(name);
            assert_eq!(spec.doc.group, "bitmap", "{name}");
            assert!(spec.acl.contains(AclCategories::BITMAP), "{name}");
            let readonly = spec.flags.contains(Flags::READONLY);
            assert_eq!(readonly, !spec.is_write(), "{name}");
        }
        assert!(crate::lookup(b"SETBIT").expect("setbit").is_write());
        assert!(!crate::lookup(b"BITPOS").expect("bitpos").is_write());
    }

    #[test]
    fn setbit_and_getbit_offsets_and_bits() {
        assert_eq!(
            run(setbit, &["k", "4294967295", "1"]),
            Ok(Command::SetBit {
                key: v("k"),
                offset: 4_294_967_295,
                on: true
            })
        );
        assert_eq!(
            run(getbit, &["k", "0"]),
            Ok(Command::GetBit {
                key: v("k"),
                offset: 0
            })
        );
        let bad_offset = "ERR bit offset is not an integer or out of range";
        // The byte of the offset must lie below proto-max-bulk-len (512 MiB).
        assert_eq!(err(setbit, &["k", "4294967296", "1"]), bad_offset);
        for o in ["-1", "x", "1.5", "", "#1"] {
            assert_eq!(err(setbit, &["k", o, "1"]), bad_offset, "{o}");
            assert_eq!(err(getbit, &["k", o]), bad_offset, "{o}");
        }
        let mut small = crate::testing::ctx();
        small.proto_max_bulk_len = 10;
        assert!(run_in(getbit, &["k", "79"], small).is_ok());
        assert!(run_in(getbit, &["k", "80"], small).is_err());
        // The offset is checked before the bit.
        assert_eq!(err(setbit, &["k", "-1", "2"]), bad_offset);
        let bad_bit = "ERR bit is not an integer or out of range";
        for b in ["2", "-1", "x", "01"] {
            assert_eq!(err(setbit, &["k", "0", b]), bad_bit, "{b}");
        }
    }

    #[test]
    fn bitcount_ranges_travel_until_the_key_is_seen() {
        let bc = |range| Ok(Command::BitCount { key: v("k"), range });
        let span = |start, end, bits| BitRange::Span {
            start,
            end: Some(end),
            bits,
        };
        assert_eq!(run(bitcount, &["k"]), bc(BitRange::Whole));
        assert_eq!(run(bitcount, &["k", "1", "-1"]), bc(span(1, -1, false)));
        assert_eq!(
            run(bitcount, &["k", "1", "-1", "bIt"]),
            bc(span(1, -1, true))
        );
        assert_eq!(
            run(bitcount, &["k", "1", "2", "BYTE"]),
            bc(span(1, 2, false))
        );
        assert_eq!(
            run(bitcount, &["k", "-1", "-2", "nope"]),
            bc(BitRange::Empty)
        );
        let invalid = |e| bc(BitRange::Invalid(e));
        assert_eq!(run(bitcount, &["k", "1"]), invalid(ScanOptionError::Syntax));
        assert_eq!(
            run(bitcount, &["k", "1", "2", "bit", "x"]),
            invalid(ScanOptionError::Syntax)
        );
        assert_eq!(
            run(bitcount, &["k", "1", "2", "nope"]),
            invalid(ScanOptionError::Syntax)
        );
        assert_eq!(
            run(bitcount, &["k", "x", "2", "nope"]),
            invalid(ScanOptionError::NotInteger)
        );
    }

    #[test]
    fn bitpos_checks_its_bit_first_and_carries_its_range() {
        let bp = |bit, range| {
            Ok(Command::BitPos {
                key: v("k"),
                bit,
                range,
            })
        };
        let span = |start, end, bits| BitRange::Span { start, end, bits };
        assert_eq!(run(bitpos, &["k", "1"]), bp(true, BitRange::Whole));
        assert_eq!(
            run(bitpos, &["k", "0", "2"]),
            bp(false, span(2, None, false))
        );
        assert_eq!(
            run(bitpos, &["k", "0", "2", "-1"]),
            bp(false, span(2, Some(-1), false))
        );
        assert_eq!(
            run(bitpos, &["k", "1", "2", "9", "BIT"]),
            bp(true, span(2, Some(9), true))
        );
        let invalid = |e| bp(true, BitRange::Invalid(e));
        // Redis reads the unit before the end.
        assert_eq!(
            run(bitpos, &["k", "1", "2", "x", "nope"]),
            invalid(ScanOptionError::Syntax)
        );
        assert_eq!(
            run(bitpos, &["k", "1", "2", "x", "bit"]),
            invalid(ScanOptionError::NotInteger)
        );
        assert_eq!(
            run(bitpos, &["k", "1", "2", "3", "bit", "x"]),
            invalid(ScanOptionError::Syntax)
        );
        assert_eq!(
            err(bitpos, &["k", "2"]),
            "ERR The bit argument must be 1 or 0."
        );
        assert_eq!(
            err(bitpos, &["k", "x"]),
            "ERR value is not an integer or out of range"
        );
    }

    #[test]
    fn bitop_operations_and_not_arity() {
        assert_eq!(
            run(bitop, &["xOr", "d", "a", "b"]),
            Ok(Command::BitOp {
                op: BitOpKind::Xor,
                dest: v("d"),
                keys: vec![v("a"), v("b")]
            })
        );
        assert_eq!(err(bitop, &["nand", "d", "a"]), "ERR syntax error");
        assert_eq!(
            err(bitop, &["not", "d", "a", "b"]),
            "ERR BITOP NOT must be called with a single source key."
        );
        assert!(run(bitop, &["not", "d", "a"]).is_ok());
    }

    #[test]
    fn bitfield_operations_overflow_and_offsets() {
        let (u8t, i5) = (
            BitFieldType {
                signed: false,
                bits: 8,
            },
            BitFieldType {
                signed: true,
                bits: 5,
            },
        );
        assert_eq!(
            run(
                bitfield,
                &[
                    "k", "GET", "u8", "#2", "overflow", "SAT", "set", "I5", "3", "-7", "OVERFLOW",
                    "fail", "INCRBY", "u8", "0", "9"
                ]
            ),
            Ok(Command::BitField {
                key: v("k"),
                ops: vec![
                    BitFieldOp::Get {
                        ty: u8t,
                        offset: 16
                    },
                    BitFieldOp::Set {
                        ty: i5,
                        offset: 3,
                        value: -7,
                        overflow: BitOverflow::Sat
                    },
                    BitFieldOp::IncrBy {
                        ty: u8t,
                        offset: 0,
                        delta: 9,
                        overflow: BitOverflow::Fail
                    },
                ]
            })
        );
        assert_eq!(
            run(bitfield, &["k"]),
            Ok(Command::BitField {
                key: v("k"),
                ops: vec![]
            })
        );
        let bad_type = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
        for t in ["u64", "i65", "i0", "x8", "u", "", "u-1", "i+8"] {
            assert_eq!(err(bitfield, &["k", "GET", t, "0"]), bad_type, "{t}");
        }
        assert!(run(bitfield, &["k", "GET", "i64", "0", "GET", "u63", "0"]).is_ok());
        let bad_offset = "ERR bit offset is not an integer or out of range";
        for o in ["#", "#-1", "-1", "x", "4294967296", "#536870912"] {
            assert_eq!(err(bitfield, &["k", "GET", "u8", o]), bad_offset, "{o}");
        }
        assert_eq!(err(bitfield, &["k", "GET", "u8"]), "ERR syntax error");
        assert_eq!(err(bitfield, &["k", "SET", "u8", "0"]), "ERR syntax error");
        assert_eq!(err(bitfield, &["k", "FOO", "u8", "0"]), "ERR syntax error");
        assert_eq!(err(bitfield, &["k", "OVERFLOW"]), "ERR syntax error");
        assert_eq!(
            err(bitfield, &["k", "OVERFLOW", "nope"]),
            "ERR Invalid OVERFLOW type specified"
        );
        assert_eq!(
            err(bitfield, &["k", "SET", "u8", "0", "x"]),
            "ERR value is not an integer or out of range"
        );
        // The type is checked before the offset, the offset before the value.
        assert_eq!(err(bitfield, &["k", "SET", "u64", "x", "x"]), bad_type);
        assert_eq!(err(bitfield, &["k", "SET", "u8", "x", "x"]), bad_offset);
    }

    #[test]
    fn bitfield_ro_takes_only_get() {
        assert!(run(bitfield_ro, &["k", "GET", "u8", "0", "OVERFLOW", "SAT"]).is_ok());
        assert_eq!(
            err(bitfield_ro, &["k", "SET", "u8", "0", "1"]),
            "ERR BITFIELD_RO only supports the GET subcommand"
        );
        // Every operation is parsed first, as in Redis.
        assert_eq!(
            err(bitfield_ro, &["k", "SET", "u8", "0", "1", "GET", "x", "0"]),
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
        );
    }
}
