//! HyperLogLog: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST. A HyperLogLog is a string
//! holding Redis's `HYLL` representation; reading and writing it is storaged's
//! (`types/hyperloglog`).
//!
//! None of these commands has an argument Redis checks before it looks at a key, so the
//! parsers only split the words. PFDEBUG's subcommand travels unchecked
//! ([`PfDebugOp::Unknown`]): Redis reports a missing or invalid key before an unknown
//! subcommand.

use tandem_shared::command::PfDebugOp;
use tandem_shared::Command;

use crate::args::{Args, ParseCtx};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, range, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

/// `PFADD key [element ...]`
pub fn pfadd(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let elements = args.rest_vecs();
    Ok(Command::PfAdd { key, elements })
}

/// `PFCOUNT key [key ...]`
pub fn pfcount(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let keys = args.rest_vecs();
    Ok(Command::PfCount { keys })
}

/// `PFMERGE destkey [sourcekey ...]` (no source is allowed: Redis 7 creates an empty
/// HyperLogLog at `destkey`).
pub fn pfmerge(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let dest = args.next_vec()?;
    let sources = args.rest_vecs();
    Ok(Command::PfMerge { dest, sources })
}

/// `PFDEBUG GETREG|DECODE|ENCODING|TODENSE key`, the subcommand in any case.
pub fn pfdebug(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let word = args.next_bytes()?;
    let key = args.next_vec()?;
    args.expect_end()?;
    let op = [
        (&b"getreg"[..], PfDebugOp::GetReg),
        (b"decode", PfDebugOp::Decode),
        (b"encoding", PfDebugOp::Encoding),
        (b"todense", PfDebugOp::ToDense),
    ]
    .into_iter()
    .find(|(name, _)| word.eq_ignore_ascii_case(name))
    .map_or_else(|| PfDebugOp::Unknown(word.to_vec()), |(_, op)| op);
    Ok(Command::PfDebug { op, key })
}

/// `PFSELFTEST`
pub fn pfselftest(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    args.expect_end()?;
    Ok(Command::PfSelfTest)
}

/// Rows of the HyperLogLog commands; values from redis-server 7.0's `COMMAND INFO`/`DOCS`
/// (`commands/tools/row-from-redis`). PFCOUNT is `readonly` in Redis though one key may get
/// its cached cardinality written back; storaged runs it on its writer for that reason
/// (`facts::WRITER_OWNED`), so scripts and `EVAL_RO` still see it as the read Redis says.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "pfadd",
        arity: -2,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | HYPERLOGLOG | FAST),
        tips: &[],
        key_specs: &[KeySpec::new(
            key_flags!(RW | INSERT),
            index(1),
            range(0, 1, 0),
        )],
        subcommands: &[],
        doc: Doc {
            summary: "Adds the specified elements to the specified HyperLogLog.",
            since: "2.8.9",
            group: "hyperloglog",
            complexity: "O(1) to add every element.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("element", T::String).optional().multiple(),
            ],
        },
        handler: Handler::Storage(pfadd),
    },
    CommandSpec {
        name: "pfcount",
        arity: -2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(READ | HYPERLOGLOG | SLOW),
        tips: &[],
        key_specs: &[KeySpec::new(key_flags!(RW | ACCESS), index(1), range(-1, 1, 0))
            .notes(
                "RW because it may change the internal representation of the key, and propagate to replicas",
            )],
        subcommands: &[],
        doc: Doc {
            summary: "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
            since: "2.8.9",
            group: "hyperloglog",
            complexity: "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[arg("key", T::Key).key_spec(0).multiple()],
        },
        handler: Handler::Storage(pfcount),
    },
    CommandSpec {
        name: "pfmerge",
        arity: -2,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(WRITE | HYPERLOGLOG | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | INSERT), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RO | ACCESS), index(2), range(-1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Merge N different HyperLogLogs into a single one.",
            since: "2.8.9",
            group: "hyperloglog",
            complexity: "O(N) to merge N HyperLogLogs, but with high constant times.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("destkey", T::Key).key_spec(0),
                arg("sourcekey", T::Key).key_spec(1).multiple(),
            ],
        },
        handler: Handler::Storage(pfmerge),
    },
    CommandSpec {
        name: "pfdebug",
        arity: 3,
        flags: flags!(WRITE | DENYOOM | ADMIN),
        first_key: 2,
        last_key: 2,
        step: 1,
        acl: acl!(WRITE | HYPERLOGLOG | ADMIN | SLOW | DANGEROUS),
        tips: &[],
        key_specs: &[KeySpec::new(
            key_flags!(RW | ACCESS),
            index(2),
            range(0, 1, 0),
        )],
        subcommands: &[],
        doc: Doc {
            summary: "Internal commands for debugging HyperLogLog values",
            since: "2.8.9",
            group: "hyperloglog",
            complexity: "N/A",
            doc_flags: &["syscmd"],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("subcommand", T::String),
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(pfdebug),
    },
    CommandSpec {
        name: "pfselftest",
        arity: 1,
        flags: flags!(ADMIN),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(HYPERLOGLOG | ADMIN | SLOW | DANGEROUS),
        tips: &[],
        key_specs: &[],
        subcommands: &[],
        doc: Doc {
            summary: "An internal command for testing HyperLogLog values",
            since: "2.8.9",
            group: "hyperloglog",
            complexity: "N/A",
            doc_flags: &["syscmd"],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[],
        },
        handler: Handler::Storage(pfselftest),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::{AclCategories, Flags};
    use crate::testing::run;

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn every_hyperloglog_command_is_in_the_table() {
        for name in ["pfadd", "pfcount", "pfmerge", "pfdebug", "pfselftest"] {
            let spec = crate::lookup(name.as_bytes()).expect(name);
            assert_eq!(spec.doc.group, "hyperloglog", "{name}");
            assert!(spec.acl.contains(AclCategories::HYPERLOGLOG), "{name}");
        }
        assert!(crate::lookup(b"PFADD").expect("pfadd").is_write());
        assert!(crate::lookup(b"PFMERGE").expect("pfmerge").is_write());
        let pfcount = crate::lookup(b"pfcount").expect("pfcount");
        assert!(pfcount.flags.contains(Flags::READONLY));
        assert!(!pfcount.is_write());
    }

    #[test]
    fn words_become_keys_and_elements() {
        assert_eq!(
            run(pfadd, &["k"]),
            Ok(Command::PfAdd {
                key: v("k"),
                elements: vec![]
            })
        );
        assert_eq!(
            run(pfadd, &["k", "a", "b"]),
            Ok(Command::PfAdd {
                key: v("k"),
                elements: vec![v("a"), v("b")]
            })
        );
        assert_eq!(
            run(pfcount, &["a", "b"]),
            Ok(Command::PfCount {
                keys: vec![v("a"), v("b")]
            })
        );
        assert_eq!(
            run(pfmerge, &["d"]),
            Ok(Command::PfMerge {
                dest: v("d"),
                sources: vec![]
            })
        );
        assert_eq!(
            run(pfmerge, &["d", "a", "b"]),
            Ok(Command::PfMerge {
                dest: v("d"),
                sources: vec![v("a"), v("b")]
            })
        );
        assert_eq!(run(pfselftest, &[]), Ok(Command::PfSelfTest));
    }

    #[test]
    fn pfdebug_subcommands_in_any_case_and_unknown_ones_travel() {
        let dbg = |op| Ok(Command::PfDebug { op, key: v("k") });
        assert_eq!(run(pfdebug, &["GetReg", "k"]), dbg(PfDebugOp::GetReg));
        assert_eq!(run(pfdebug, &["decode", "k"]), dbg(PfDebugOp::Decode));
        assert_eq!(run(pfdebug, &["ENCODING", "k"]), dbg(PfDebugOp::Encoding));
        assert_eq!(run(pfdebug, &["todense", "k"]), dbg(PfDebugOp::ToDense));
        assert_eq!(
            run(pfdebug, &["Nope", "k"]),
            dbg(PfDebugOp::Unknown(v("Nope")))
        );
    }
}
