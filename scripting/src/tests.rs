//! Engine tests. Every expected reply was taken from redis-server 7.0.15 (`EVAL …` through
//! redis-cli or a raw socket); the fake runner below stands in for storaged.

use std::collections::HashMap;

use tandem_shared::Reply;

use crate::{CommandRunner, Resp, ScriptEngine, ScriptFlags};

/// A few commands over a map, with Redis's script-side refusals.
#[derive(Default)]
struct FakeRunner {
    data: HashMap<Vec<u8>, Vec<u8>>,
    calls: Vec<Vec<Vec<u8>>>,
}

/// No keys or arguments, of a type `eval_sha` can infer.
const NO_ARGS: &[&[u8]] = &[];

impl CommandRunner for FakeRunner {
    fn call(&mut self, args: Vec<Vec<u8>>, _resp: Resp) -> Reply {
        self.calls.push(args.clone());
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let arity_ok = match name.as_str() {
            "ping" => true,
            "get" | "incr" => args.len() == 2,
            "set" => args.len() == 3,
            "echo" => args.len() == 2,
            _ => return Reply::Error("ERR Unknown Redis command called from script".into()),
        };
        if !arity_ok {
            return Reply::Error(
                "ERR Wrong number of args calling Redis command from script".into(),
            );
        }
        match name.as_str() {
            "ping" => Reply::Simple("PONG".into()),
            "echo" => Reply::Bulk(args[1].clone()),
            "get" => self
                .data
                .get(&args[1])
                .map_or(Reply::Nil, |v| Reply::Bulk(v.clone())),
            "set" => {
                self.data.insert(args[1].clone(), args[2].clone());
                Reply::ok()
            }
            "incr" => {
                let current = self
                    .data
                    .get(&args[1])
                    .map_or(Ok(0), |v| String::from_utf8_lossy(v).parse::<i64>());
                match current {
                    Ok(n) => {
                        self.data
                            .insert(args[1].clone(), (n + 1).to_string().into_bytes());
                        Reply::Integer(n + 1)
                    }
                    Err(_) => Reply::Error("ERR value is not an integer or out of range".into()),
                }
            }
            _ => Reply::Nil,
        }
    }

    fn acl_check(&mut self, args: &[Vec<u8>]) -> Option<bool> {
        matches!(args[0].as_slice(), b"get" | b"set").then_some(true)
    }
}

fn engine() -> ScriptEngine {
    ScriptEngine::new().expect("engine")
}

fn eval(e: &mut ScriptEngine, body: &str) -> Reply {
    e.eval(body.as_bytes(), &[], &[], FakeRunner::default()).0
}

fn err(text: &str) -> Reply {
    Reply::Error(text.to_owned())
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

/// The "script: SHA, on @user_script:LINE." suffix Redis appends to raised errors.
fn at(body: &str, line: u32) -> String {
    format!(
        " script: {}, on @user_script:{line}.",
        crate::sha1_hex(body.as_bytes())
    )
}

fn raised(body: &str, msg: &str, line: u32) -> Reply {
    Reply::Error(format!("{msg}{}", at(body, line)))
}

#[test]
fn sandbox_refuses_globals_as_redis_does() {
    let mut e = engine();
    let cases = [
        (
            "x = 5",
            "ERR user_script:1: Attempt to modify a readonly table",
            1,
        ),
        (
            "return y",
            "ERR user_script:1: Script attempted to access nonexistent global variable 'y'",
            1,
        ),
        (
            "string.foo = 1",
            "ERR user_script:1: Attempt to modify a readonly table",
            1,
        ),
        (
            "rawset(_G, \"x\", 1)",
            "ERR Attempt to modify a readonly table",
            1,
        ),
        (
            "setmetatable(_G, nil)",
            "ERR Attempt to modify a readonly table",
            1,
        ),
        (
            "local m = getmetatable(_G) m.__index = nil",
            "ERR user_script:1: Attempt to modify a readonly table",
            1,
        ),
        (
            "redis.call = nil",
            "ERR user_script:1: Attempt to modify a readonly table",
            1,
        ),
        (
            "KEYS = 1",
            "ERR user_script:1: Attempt to modify a readonly table",
            1,
        ),
    ];
    for (body, msg, line) in cases {
        assert_eq!(eval(&mut e, body), raised(body, msg, line), "{body}");
    }
    for name in [
        "os", "io", "debug", "print", "loadfile", "dofile", "getfenv", "setfenv", "newproxy",
        "require", "module",
    ] {
        let body = format!("return type({name})");
        let msg = format!(
            "ERR user_script:1: Script attempted to access nonexistent global variable '{name}'"
        );
        assert_eq!(eval(&mut e, &body), raised(&body, &msg, 1), "{name}");
    }
    // What stays writable: KEYS/ARGV contents, local tables.
    assert_eq!(
        eval(&mut e, "KEYS[1] = 5 return KEYS[1]"),
        Reply::Integer(5)
    );
    assert_eq!(
        eval(&mut e, "local t = setmetatable({}, {}) return 1"),
        Reply::Integer(1)
    );
    // A failed write leaves nothing behind for the next script.
    eval(
        &mut e,
        "pcall(function() string.len = nil end) pcall(rawset, string, 'len', nil)",
    );
    assert_eq!(eval(&mut e, "return string.len('abc')"), Reply::Integer(3));
    // getmetatable(_G) is a table, as on Redis.
    assert_eq!(eval(&mut e, "return getmetatable(_G) == nil"), Reply::Nil);
}

#[test]
fn globals_are_those_of_redis() {
    let mut e = engine();
    let names = eval(
        &mut e,
        "local t={} for k,v in pairs(_G) do t[#t+1]=k end table.sort(t) return t",
    );
    let expected = [
        "ARGV",
        "KEYS",
        "_G",
        "_VERSION",
        "__redis__err__handler",
        "assert",
        "bit",
        "cjson",
        "cmsgpack",
        "collectgarbage",
        "coroutine",
        "error",
        "gcinfo",
        "getmetatable",
        "ipairs",
        "load",
        "loadstring",
        "math",
        "next",
        "pairs",
        "pcall",
        "rawequal",
        "rawget",
        "rawset",
        "redis",
        "select",
        "setmetatable",
        "string",
        "struct",
        "table",
        "tonumber",
        "tostring",
        "type",
        "unpack",
        "xpcall",
    ];
    let Reply::Array(names) = names else {
        panic!("{names:?}")
    };
    let names: Vec<String> = names
        .iter()
        .map(|r| match r {
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, expected);
    let redis_keys = eval(
        &mut e,
        "local t={} for k,v in pairs(redis) do t[#t+1]=k end table.sort(t) return t",
    );
    let expected_redis = [
        "LOG_DEBUG",
        "LOG_NOTICE",
        "LOG_VERBOSE",
        "LOG_WARNING",
        "REDIS_VERSION",
        "REDIS_VERSION_NUM",
        "REPL_ALL",
        "REPL_AOF",
        "REPL_NONE",
        "REPL_REPLICA",
        "REPL_SLAVE",
        "acl_check_cmd",
        "breakpoint",
        "call",
        "debug",
        "error_reply",
        "log",
        "pcall",
        "replicate_commands",
        "set_repl",
        "setresp",
        "sha1hex",
        "status_reply",
    ];
    assert_eq!(
        redis_keys,
        Reply::Array(expected_redis.iter().map(|s| bulk(s)).collect())
    );
    assert_eq!(eval(&mut e, "return _VERSION"), bulk("Lua 5.1"));
    assert_eq!(
        eval(&mut e, "return type(rawget(string, 'len'))"),
        bulk("function")
    );
    assert_eq!(
        eval(
            &mut e,
            "local n = 0 for k in next, math do n = n + 1 end return n > 10"
        ),
        Reply::Integer(1)
    );
}

#[test]
fn redis_constants() {
    let mut e = engine();
    assert_eq!(
        eval(
            &mut e,
            "return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}"
        ),
        Reply::Array(vec![bulk("7.0.15"), Reply::Integer(458767)])
    );
    let consts = "return {redis.REPL_NONE,redis.REPL_AOF,redis.REPL_SLAVE,redis.REPL_REPLICA,redis.REPL_ALL,redis.LOG_DEBUG,redis.LOG_VERBOSE,redis.LOG_NOTICE,redis.LOG_WARNING}";
    assert_eq!(
        eval(&mut e, consts),
        Reply::Array([0, 1, 2, 2, 3, 0, 1, 2, 3].map(Reply::Integer).to_vec())
    );
    assert_eq!(eval(&mut e, "return redis.breakpoint()"), Reply::Nil);
    assert_eq!(eval(&mut e, "return redis.debug('x')"), Reply::Nil);
    assert_eq!(
        eval(&mut e, "return redis.replicate_commands()"),
        Reply::Integer(1)
    );
    assert_eq!(
        eval(&mut e, "return redis.set_repl(redis.REPL_ALL)"),
        Reply::Nil
    );
    let body = "return redis.set_repl(99)";
    assert_eq!(
        eval(&mut e, body),
        raised(
            body,
            "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
            1
        )
    );
    let body = "return redis.set_repl()";
    assert_eq!(
        eval(&mut e, body),
        raised(body, "ERR redis.set_repl() requires two arguments.", 1)
    );
}

#[test]
fn call_and_pcall_errors() {
    let mut e = engine();
    let cases = [
        (
            "return redis.call()",
            "ERR Please specify at least one argument for this redis lib call",
        ),
        (
            "return redis.call(\"nosuch\")",
            "ERR Unknown Redis command called from script",
        ),
        (
            "return redis.call(\"get\")",
            "ERR Wrong number of args calling Redis command from script",
        ),
        (
            "return redis.call(\"get\", {})",
            "ERR Lua redis lib command arguments must be strings or integers",
        ),
        ("return redis.sha1hex()", "ERR wrong number of arguments"),
    ];
    for (body, msg) in cases {
        assert_eq!(eval(&mut e, body), raised(body, msg, 1), "{body}");
    }
    // pcall returns the error table, which as a reply is the bare error.
    assert_eq!(
        eval(&mut e, "return redis.pcall()"),
        err("ERR Please specify at least one argument for this redis lib call")
    );
    assert_eq!(
        eval(&mut e, "return redis.pcall(\"nosuch\")"),
        err("ERR Unknown Redis command called from script")
    );
    assert_eq!(
        eval(&mut e, "return redis.pcall(\"get\", {})"),
        err("ERR Lua redis lib command arguments must be strings or integers")
    );
    // Lua's pcall catches an error table as its err string.
    assert_eq!(
        eval(
            &mut e,
            "local ok, e = pcall(redis.call, \"nosuch\") return {type(e), e}"
        ),
        Reply::Array(vec![
            bulk("string"),
            bulk("ERR Unknown Redis command called from script")
        ])
    );
    assert_eq!(
        eval(
            &mut e,
            "local ok, e = pcall(function() error(\"boom\") end) return e"
        ),
        bulk("user_script:1: boom")
    );
    // The line of a raised error is the caller's, also through a Lua function.
    let body = "local function f() return redis.call(\"nosuch\") end\nreturn f()";
    assert_eq!(
        eval(&mut e, body),
        raised(body, "ERR Unknown Redis command called from script", 1)
    );
    let body = "local a = 1\nlocal b = 2\nreturn redis.call('incr', 'k', 'x')";
    assert_eq!(
        eval(&mut e, body),
        raised(
            body,
            "ERR Wrong number of args calling Redis command from script",
            3
        )
    );
    // A command's error reply raised by call keeps its own code.
    let mut runner = FakeRunner::default();
    runner.data.insert(b"s".to_vec(), b"abc".to_vec());
    let body = "return redis.call('incr', 's')";
    let (reply, runner) = e.eval(body.as_bytes(), &[], &[], runner);
    assert_eq!(
        reply,
        raised(body, "ERR value is not an integer or out of range", 1)
    );
    let body = "return redis.pcall('incr', 's')";
    let (reply, runner) = e.eval(body.as_bytes(), &[], &[], runner);
    assert_eq!(reply, err("ERR value is not an integer or out of range"));
    // The runner comes back with the commands the scripts ran.
    assert_eq!(runner.calls.len(), 2);
}

#[test]
fn raised_values_as_redis_reports_them() {
    let mut e = engine();
    let cases = [
        ("error(\"boom\")", "ERR user_script:1: boom"),
        ("error({err=\"MY boom\"})", "MY boom"),
        ("error(nil)", "ERR nil"),
        ("error(12)", "ERR user_script:1: 12"),
        ("error(\"a\\nb\")", "ERR user_script:1: a b"),
        (
            "local x = pairs(nil) return x",
            "ERR user_script:1: bad argument #1 to 'pairs' (table expected, got nil)",
        ),
        (
            "local x = table.insert(nil, 1)",
            "ERR user_script:1: bad argument #1 to 'insert' (table expected, got nil)",
        ),
        (
            "return string.rep()",
            "ERR user_script:1: bad argument #1 to 'rep' (string expected, got no value)",
        ),
        (
            "local t = {} t = t .. 1",
            "ERR user_script:1: attempt to concatenate local 't' (a table value)",
        ),
    ];
    for (body, msg) in cases {
        assert_eq!(eval(&mut e, body), raised(body, msg, 1), "{body}");
    }
    let body = "return loadstring(\"error(\\\"x\\\")\")()";
    let expected = format!(
        "ERR [string \"error(\"x\")\"]:1: x script: {}, on error(\"x\"):1.",
        crate::sha1_hex(body.as_bytes())
    );
    assert_eq!(eval(&mut e, body), Reply::Error(expected));
}

#[test]
fn error_and_status_helpers() {
    let mut e = engine();
    assert_eq!(
        eval(&mut e, "return redis.error_reply(\"MY err\")"),
        err("MY err")
    );
    assert_eq!(
        eval(&mut e, "return redis.error_reply(\"-MY err\")"),
        err("MY err")
    );
    assert_eq!(
        eval(&mut e, "return redis.error_reply(\"noerr\")"),
        err("ERR noerr")
    );
    assert_eq!(
        eval(&mut e, "return redis.error_reply(1)"),
        err("ERR wrong number or type of arguments")
    );
    assert_eq!(
        eval(&mut e, "return redis.status_reply(\"FINE\")"),
        Reply::Simple("FINE".into())
    );
    assert_eq!(
        eval(&mut e, "return redis.status_reply(1)"),
        err("ERR wrong number or type of arguments")
    );
    assert_eq!(eval(&mut e, "return {err=\"x y\"}"), err("x y"));
    assert_eq!(eval(&mut e, "return {err=\"-x y\"}"), err("-x y"));
    assert_eq!(eval(&mut e, "return {err=\"xy\"}"), err("xy"));
    assert_eq!(eval(&mut e, "return {err=\"a\\nb\\r\\n\"}"), err("a b"));
    assert_eq!(
        eval(&mut e, "return {ok=\"a\\r\\nb\"}"),
        Reply::Simple("a  b".into())
    );
    assert_eq!(
        eval(&mut e, "return redis.sha1hex(\"\")"),
        bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
    assert_eq!(
        eval(&mut e, "return redis.sha1hex(12)"),
        bulk("7b52009b64fd0a2a49e6d8a939753077792b0554")
    );
    assert_eq!(
        eval(&mut e, "return redis.sha1hex(nil)"),
        bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
}

#[test]
fn lua_to_reply_conversion_resp2_and_resp3() {
    let mut e = engine();
    assert_eq!(
        eval(&mut e, "return {1,2,nil,4}"),
        Reply::Array(vec![Reply::Integer(1), Reply::Integer(2)])
    );
    assert_eq!(
        eval(
            &mut e,
            "return {1.9, -1.9, 3.0, true, false, \"s\", {ok=\"fine\"}}"
        ),
        Reply::Array(vec![
            Reply::Integer(1),
            Reply::Integer(-1),
            Reply::Integer(3),
            Reply::Integer(1),
            Reply::Nil,
            bulk("s"),
            Reply::Simple("fine".into())
        ])
    );
    let min = Reply::Integer(i64::MIN);
    assert_eq!(
        eval(&mut e, "return {1e30, -1e30, 0/0, 1/0, -1/0, 2^53+1, -0.5}"),
        Reply::Array(vec![
            min.clone(),
            min.clone(),
            min.clone(),
            min.clone(),
            min,
            Reply::Integer(9007199254740992),
            Reply::Integer(0)
        ])
    );
    assert_eq!(
        eval(&mut e, "return {{map={a=1}}}"),
        Reply::Array(vec![Reply::Map(vec![(bulk("a"), Reply::Integer(1))])])
    );
    assert_eq!(
        eval(
            &mut e,
            "return {true, false, {double=1.5}, {set={a=true}}, {big_number=\"123\"}}"
        ),
        Reply::Array(vec![
            Reply::Integer(1),
            Reply::Nil,
            Reply::Double(1.5),
            Reply::Set(vec![bulk("a")]),
            Reply::BigNumber("123".into())
        ])
    );
    assert_eq!(
        eval(&mut e, "redis.setresp(3) return {true, false, {double=1.5}, {verbatim_string={format=\"txt\", string=\"hi\"}}}"),
        Reply::Array(vec![Reply::Bool(true), Reply::Bool(false), Reply::Double(1.5), Reply::Verbatim(b"hi".to_vec())])
    );
    // redis-server 7.0.15: `(12  3` to a RESP3 client (CR/LF become spaces, no digit check).
    assert_eq!(
        eval(&mut e, "return {big_number='12\\r\\n3'}"),
        Reply::BigNumber("12  3".into())
    );
    // setresp lasts for one script only.
    assert_eq!(eval(&mut e, "return false"), Reply::Nil);
    assert_eq!(eval(&mut e, "return"), Reply::Nil);
    assert_eq!(eval(&mut e, "return function() end"), Reply::Nil);
    let body = "return redis.setresp(4)";
    assert_eq!(
        eval(&mut e, body),
        raised(body, "ERR RESP version must be 2 or 3.", 1)
    );
}

#[test]
fn self_containing_table_stops_at_the_stack_limit() {
    // redis-server replies 7995 nested one-element arrays, then "reached lua stack limit";
    // tandem stops at MAX_REPLY_DEPTH (see its docs for why).
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let mut e = engine();
            let mut reply = eval(&mut e, "local t = {} t[1] = t return t");
            let mut depth = 0;
            while let Reply::Array(mut items) = reply {
                assert_eq!(items.len(), 1);
                reply = items.remove(0);
                depth += 1;
            }
            assert_eq!(depth, crate::convert::MAX_REPLY_DEPTH);
            assert_eq!(reply, err("ERR reached lua stack limit"));
        })
        .expect("thread")
        .join()
        .expect("no panic");
}

#[test]
fn reply_to_lua_conversion() {
    let mut e = engine();
    let mut runner = Some(FakeRunner::default());
    let mut run = |e: &mut ScriptEngine, body: &str| {
        let (reply, back) = e.eval(body.as_bytes(), &[], &[], runner.take().expect("runner"));
        runner = Some(back);
        reply
    };
    assert_eq!(
        run(&mut e, "return type(redis.call('get', 'nokey'))"),
        bulk("boolean")
    );
    assert_eq!(
        run(
            &mut e,
            "redis.setresp(3) return type(redis.call('get', 'nokey'))"
        ),
        bulk("nil")
    );
    assert_eq!(
        run(&mut e, "return redis.call('ping')"),
        Reply::Simple("PONG".into())
    );
    assert_eq!(run(&mut e, "return redis.call('ping').ok"), bulk("PONG"));
    assert_eq!(
        run(&mut e, "return redis.call('set', 'k', 1.5)"),
        Reply::Simple("OK".into())
    );
    assert_eq!(run(&mut e, "return redis.call('get', 'k')"), bulk("1.5"));
    // Numbers become arguments through %.17g.
    assert_eq!(
        run(&mut e, "return redis.call('echo', 0.1)"),
        bulk("0.10000000000000001")
    );
    assert_eq!(
        run(&mut e, "return redis.call('incr', 'n') + 1"),
        Reply::Integer(2)
    );
    assert_eq!(
        run(&mut e, "return redis.pcall('incr', 'k').err"),
        bulk("ERR value is not an integer or out of range")
    );
    assert_eq!(
        run(&mut e, "return redis.acl_check_cmd('get')"),
        Reply::Integer(1)
    );
}

#[test]
fn reply_shapes_reach_lua_by_protocol() {
    use crate::convert::{lua_to_reply, reply_to_lua, Resp};
    let lua = mlua::Lua::new();
    let map = Reply::Map(vec![
        (bulk("a"), Reply::Double(1.5)),
        (bulk("b"), Reply::Bool(true)),
    ]);
    let v2 = reply_to_lua(&lua, &map, Resp::Resp2).unwrap();
    assert_eq!(
        lua_to_reply(&v2, Resp::Resp2),
        Reply::Array(vec![bulk("a"), bulk("1.5"), bulk("b"), Reply::Integer(1)])
    );
    let v3 = reply_to_lua(&lua, &map, Resp::Resp3).unwrap();
    let Reply::Map(mut pairs) = lua_to_reply(&v3, Resp::Resp3) else {
        panic!()
    };
    pairs.sort_by(|a, b| format!("{:?}", a.0).cmp(&format!("{:?}", b.0)));
    assert_eq!(
        pairs,
        vec![
            (bulk("a"), Reply::Double(1.5)),
            (bulk("b"), Reply::Bool(true))
        ]
    );
    let pairs = Reply::Pairs(vec![(bulk("m"), Reply::Double(2.0))]);
    let v = reply_to_lua(&lua, &pairs, Resp::Resp3).unwrap();
    assert_eq!(
        lua_to_reply(&v, Resp::Resp3),
        Reply::Array(vec![Reply::Array(vec![bulk("m"), Reply::Double(2.0)])])
    );
    let v = reply_to_lua(&lua, &Reply::Error("NOSPACE".into()), Resp::Resp2).unwrap();
    assert_eq!(lua_to_reply(&v, Resp::Resp2), err("ERR NOSPACE"));
    // A command's big number: `{big_number=…}` under RESP3, a string under RESP2.
    let big = Reply::BigNumber("1234567999999999999999999999999999999".into());
    let v = reply_to_lua(&lua, &big, Resp::Resp3).unwrap();
    let mlua::Value::Table(t) = &v else {
        panic!("{v:?}")
    };
    assert_eq!(
        t.raw_get::<String>("big_number").unwrap(),
        "1234567999999999999999999999999999999"
    );
    assert_eq!(lua_to_reply(&v, Resp::Resp3), big);
    let v = reply_to_lua(&lua, &big, Resp::Resp2).unwrap();
    assert_eq!(
        lua_to_reply(&v, Resp::Resp2),
        bulk("1234567999999999999999999999999999999")
    );
    let v = reply_to_lua(
        &lua,
        &Reply::Array(vec![Reply::Nil, Reply::Integer(1)]),
        Resp::Resp3,
    )
    .unwrap();
    // A RESP3 null leaves a hole: the array reply stops before it.
    assert_eq!(lua_to_reply(&v, Resp::Resp3), Reply::Array(vec![]));
}

#[test]
fn compile_errors_and_shebang() {
    let mut e = engine();
    assert_eq!(eval(&mut e, "return 1 +"), err("ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"));
    assert_eq!(eval(&mut e, "local x = \n 1 +"), err("ERR Error compiling script (new function): user_script:2: unexpected symbol near '<eof>'"));
    assert_eq!(eval(&mut e, "return 'abc"), err("ERR Error compiling script (new function): user_script:1: unfinished string near '<eof>'"));
    assert_eq!(
        eval(&mut e, "#!lua flags=bogus\nreturn 1"),
        err("ERR Unexpected flag in script shebang: bogus")
    );
    assert_eq!(eval(&mut e, "#!lua\nreturn 1"), Reply::Integer(1));
    let body = "#!lua flags=no-writes\nerror('x')";
    assert_eq!(eval(&mut e, body), raised(body, "ERR user_script:2: x", 2));
    let (sha, flags) = e
        .load_script(b"#!lua flags=no-writes,allow-oom\nreturn 1")
        .unwrap();
    assert_eq!(flags, ScriptFlags::NO_WRITES.union(ScriptFlags::ALLOW_OOM));
    assert!(e.script_exists(&sha.to_ascii_uppercase()));
    assert_eq!(e.script_flags(&sha), Some(flags));
    let runner = FakeRunner::default();
    let (reply, runner) = e.eval_sha(&sha, NO_ARGS, NO_ARGS, runner);
    assert_eq!(reply, Reply::Integer(1));
    e.flush_scripts();
    assert_eq!(
        e.eval_sha(&sha, NO_ARGS, NO_ARGS, runner).0,
        err("NOSCRIPT No matching script. Please use EVAL.")
    );
}

#[test]
fn keys_and_argv() {
    let mut e = engine();
    let keys = vec![b"k1".to_vec(), b"k2".to_vec()];
    let args = vec![b"a1".to_vec()];
    let r = e
        .eval(
            b"return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}",
            &keys,
            &args,
            FakeRunner::default(),
        )
        .0;
    assert_eq!(
        r,
        Reply::Array(vec![
            bulk("k1"),
            bulk("k2"),
            bulk("a1"),
            Reply::Integer(2),
            Reply::Integer(1)
        ])
    );
    assert_eq!(eval(&mut e, "return #KEYS"), Reply::Integer(0));
}

#[test]
fn math_random_is_redis_sequence() {
    let mut e = engine();
    // redis-server 7.0.15: after math.randomseed(42).
    assert_eq!(
        eval(
            &mut e,
            "math.randomseed(42) return {tostring(math.random()), math.random(1000000)}"
        ),
        Reply::Array(vec![bulk("0.74452500033403"), Reply::Integer(342702)])
    );
    // A fresh server's first values (no randomseed); the sequence continues across scripts.
    let mut e = engine();
    assert_eq!(
        eval(&mut e, "return {tostring(math.random()), tostring(math.random()), math.random(100), math.random(5,10)}"),
        Reply::Array(vec![bulk("0.39646477363839"), bulk("0.84048536971234"), Reply::Integer(36), Reply::Integer(7)])
    );
    assert_eq!(
        eval(&mut e, "return {tostring(math.random()), math.random(100)}"),
        Reply::Array(vec![bulk("0.31869277233197"), Reply::Integer(89)])
    );
}

#[test]
fn log_goes_to_the_sink() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let lines = Rc::new(RefCell::new(Vec::new()));
    let mut e = engine();
    let sink = lines.clone();
    e.set_log_sink(Box::new(move |level, line| {
        sink.borrow_mut().push((level, line.to_vec()))
    }));
    assert_eq!(
        eval(&mut e, "redis.log(redis.LOG_WARNING, 'a', 1, {}, 'b')"),
        Reply::Nil
    );
    assert_eq!(
        *lines.borrow(),
        vec![(crate::LogLevel::Warning, b"a 1 b".to_vec())]
    );
    let body = "redis.log(redis.LOG_WARNING)";
    assert_eq!(
        eval(&mut e, body),
        raised(body, "ERR redis.log() requires two arguments or more.", 1)
    );
    let body = "redis.log('x', 'y')";
    assert_eq!(
        eval(&mut e, body),
        raised(body, "ERR First argument must be a number (log level).", 1)
    );
    let body = "redis.log(9, 'y')";
    assert_eq!(
        eval(&mut e, body),
        raised(body, "ERR Invalid debug level.", 1)
    );
}

#[test]
fn bit_library() {
    let mut e = engine();
    let body = "return {bit.tobit(0xffffffff), bit.tobit(2^32+5), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5), bit.bnot(0), bit.band(0xff, 0x0f, 0x3), bit.bor(1,2,4), bit.bxor(5,3), bit.lshift(1, 31), bit.lshift(1,33), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 12), bit.ror(0x12345678, 12), bit.bswap(0x12345678), bit.tobit(\"12\")}";
    let expected = [
        -1,
        5,
        2,
        2,
        -2,
        -1,
        3,
        7,
        6,
        -2147483648,
        2,
        15,
        -16,
        1164411171,
        1736516421,
        2018915346,
        12,
    ];
    assert_eq!(
        eval(&mut e, body),
        Reply::Array(expected.map(Reply::Integer).to_vec())
    );
    let body = "return {bit.tohex(255), bit.tohex(-1), bit.tohex(255, 2), bit.tohex(255, -4), bit.tohex(0x12345678, 10), bit.tohex(1, 0)}";
    let expected = ["000000ff", "ffffffff", "ff", "00FF", "12345678", ""];
    assert_eq!(
        eval(&mut e, body),
        Reply::Array(expected.map(bulk).to_vec())
    );
    for (body, msg) in [
        (
            "return bit.tobit()",
            "ERR user_script:1: bad argument #1 to 'tobit' (number expected, got no value)",
        ),
        (
            "return bit.band(1, \"x\")",
            "ERR user_script:1: bad argument #2 to 'band' (number expected, got string)",
        ),
        (
            "return bit.band()",
            "ERR user_script:1: bad argument #1 to 'band' (number expected, got no value)",
        ),
    ] {
        assert_eq!(eval(&mut e, body), raised(body, msg, 1), "{body}");
    }
}

fn load_err(e: &mut ScriptEngine, code: &str) -> String {
    match e.load_library(code.as_bytes(), false) {
        Err(err) => err.reply_text(),
        Ok(name) => panic!("{code:?} loaded as {name}"),
    }
}

#[test]
fn function_load_errors_as_redis() {
    let mut e = engine();
    assert_eq!(
        e.load_library(
            b"#!lua name=lib1\nredis.register_function(\"f1\", function(keys, args) return 1 end)",
            false
        )
        .unwrap(),
        "lib1"
    );
    let reg = "ERR Error registering functions: ";
    let cases: Vec<(&str, String)> = vec![
        ("#!lua name=lib1\nredis.register_function(\"f1\", function(keys, args) return 1 end)", "ERR Library 'lib1' already exists".into()),
        ("#!lua\nredis.register_function(\"f1\", function() return 1 end)", "ERR Library name was not given".into()),
        ("redis.register_function(\"f1\", function() return 1 end)", "ERR Missing library metadata".into()),
        ("#!lua name=lib2\nreturn 1", "ERR No functions registered".into()),
        ("#!lua name=lib2\nredis.register_function(\"f1\", function() return 1 end)", "ERR Function f1 already exists".into()),
        ("#!lua name=lib3\nredis.register_function(\"g1\", function() return 1 end)\nredis.register_function(\"g1\", function() return 1 end)", format!("{reg}ERR Function already exists in the library")),
        ("#!lua name=lib3\nredis.register_function(\"g-1\", function() return 1 end)", format!("{reg}ERR {}", crate::body::INVALID_NAME)),
        ("#!lua name=lib4\nredis.register_function{function_name=\"g1\", callback=function() return 1 end, flags={\"bogus\"}}", format!("{reg}ERR unknown flag given")),
        ("#!lua name=lib4\nredis.register_function{function_name=\"g1\", callback=function() return 1 end, flags=\"no-writes\"}", format!("{reg}ERR flags argument to redis.register_function must be a table representing function flags")),
        ("#!lua name=lib4\nredis.register_function{function_name=\"g1\", callback=function() return 1 end, foo=1}", format!("{reg}ERR unknown argument given to redis.register_function")),
        ("#!lua name=lib4\nredis.register_function{callback=function() return 1 end}", format!("{reg}ERR redis.register_function must get a function name argument")),
        ("#!lua name=lib4\nredis.register_function{function_name=\"g1\"}", format!("{reg}ERR redis.register_function must get a callback argument")),
        ("#!lua name=lib4\nredis.register_function(\"g1\")", format!("{reg}ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")),
        ("#!lua name=lib4\nredis.register_function(\"g1\", 1)", format!("{reg}ERR second argument to redis.register_function must be a function")),
        ("#!lua name=lib7\nredis.register_function{function_name=\"z7\", callback=function() end, flags={}, description={}}", format!("{reg}ERR description argument given to redis.register_function must be a string")),
        ("#!lua name=lib7\nredis.register_function(\"z7\", function() end, \"x\")", format!("{reg}ERR wrong number of arguments to redis.register_function")),
        ("#!lua name=lib7\nredis.register_function{function_name=\"z7\", callback=function() end, flags={1}}", format!("{reg}ERR unknown flag given")),
        ("#!lua name=lib5\nerror(\"boom\")", format!("{reg}ERR user_function:2: Script attempted to access nonexistent global variable 'error'")),
        ("#!lua name=lib5\nreturn (", "ERR Error compiling function: user_function:2: unexpected symbol near '<eof>'".into()),
        ("#!lua name=lib5\nredis.setresp(3)", format!("{reg}ERR user_function:2: Script attempted to access nonexistent global variable 'setresp'")),
        ("#!lua name=lib5\nlocal function f() end\nredis.register_function(\"h\" .. string.rep(\"x\", 10), f)", format!("{reg}ERR user_function:3: Script attempted to access nonexistent global variable 'string'")),
        ("#!lua name=lib6\nredis.register_function{function_name=\"\", callback=function() return 1 end}", format!("{reg}ERR {}", crate::body::INVALID_NAME)),
        ("#!py name=lib3\nx", "ERR Engine 'py' not found".into()),
    ];
    for (code, expected) in cases {
        assert_eq!(load_err(&mut e, code), expected, "{code}");
    }
    // What the load-time API offers (each accepted by redis-server).
    for probe in [
        "redis",
        "redis.register_function",
        "redis.log",
        "redis.LOG_WARNING",
        "redis.REDIS_VERSION",
        "redis.REDIS_VERSION_NUM",
        "redis.LOG_DEBUG",
    ] {
        let code = format!(
            "#!lua name=probe\nlocal x = {probe}\nredis.register_function('f', function() end)"
        );
        assert_eq!(
            e.load_library(code.as_bytes(), false).unwrap(),
            "probe",
            "{probe}"
        );
        e.delete_library("probe").unwrap();
    }
    for missing in [
        "call",
        "pcall",
        "sha1hex",
        "error_reply",
        "set_repl",
        "breakpoint",
    ] {
        let code = format!("#!lua name=probe\nlocal x = redis.{missing}\nredis.register_function('f', function() end)");
        let msg = format!("{reg}ERR user_function:2: Script attempted to access nonexistent global variable '{missing}'");
        assert_eq!(load_err(&mut e, &code), msg);
    }
    // A positional numeric name is its string.
    assert_eq!(
        e.load_library(
            b"#!lua name=lib4\nredis.register_function(1, function() end)",
            false
        )
        .unwrap(),
        "lib4"
    );
    assert!(e.function_flags("1").is_some());
    assert_eq!(
        e.delete_library("nolib").unwrap_err().reply_text(),
        "ERR Library not found"
    );
}

#[test]
fn fcall_runs_functions() {
    let mut e = engine();
    let code = "#!lua name=t1
redis.register_function(\"ferr\", function(k, a) error(\"boom\") end)
redis.register_function(\"fcallerr\", function(k, a) return redis.call(\"nosuch\") end)
redis.register_function(\"fglob\", function(k, a) return KEYS end)
redis.register_function(\"fset\", function(k, a) x = 1 end)
redis.register_function(\"fargs\", function(k, a) return {k[1], a[1], #k, #a} end)
redis.register_function(\"fetab\", function(k, a) error({err=\"X y\"}) end)
local function helper() return string.upper(\"ok\") end
redis.register_function(\"fhelper\", function(k, a) return helper() end)
redis.register_function(\"ftype\", function(k, a) return type(redis.register_function) end)
redis.register_function{function_name=\"ro\", callback=function(k, a) return 1 end, flags={\"no-writes\", \"ALLOW-OOM\"}, description=\"d\"}";
    assert_eq!(e.load_library(code.as_bytes(), false).unwrap(), "t1");
    let call = |e: &mut ScriptEngine, name: &str, keys: &[&str], args: &[&str]| {
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.as_bytes().to_vec()).collect();
        let args: Vec<Vec<u8>> = args.iter().map(|k| k.as_bytes().to_vec()).collect();
        e.fcall(name, &keys, &args, FakeRunner::default()).0
    };
    let on = |name: &str, line: u32| format!(" script: {name}, on @user_function:{line}.");
    assert_eq!(
        call(&mut e, "ferr", &[], &[]),
        err(&format!("ERR user_function:2: boom{}", on("ferr", 2)))
    );
    assert_eq!(
        call(&mut e, "fcallerr", &[], &[]),
        err(&format!(
            "ERR Unknown Redis command called from script{}",
            on("fcallerr", 3)
        ))
    );
    assert_eq!(
        call(&mut e, "fglob", &[], &[]),
        err(&format!(
            "ERR user_function:4: Script attempted to access nonexistent global variable 'KEYS'{}",
            on("fglob", 4)
        ))
    );
    assert_eq!(
        call(&mut e, "fset", &[], &[]),
        err(&format!(
            "ERR user_function:5: Attempt to modify a readonly table{}",
            on("fset", 5)
        ))
    );
    assert_eq!(
        call(&mut e, "fetab", &[], &[]),
        err(&format!("X y{}", on("fetab", 7)))
    );
    assert_eq!(call(&mut e, "fhelper", &[], &[]), bulk("OK"));
    // An EVAL's KEYS do not leak into functions.
    assert_eq!(
        e.eval(
            b"return #KEYS",
            &[b"k".to_vec()],
            &[],
            FakeRunner::default()
        )
        .0,
        Reply::Integer(1)
    );
    assert!(
        matches!(call(&mut e, "fglob", &[], &[]), Reply::Error(m) if m.contains("nonexistent global variable 'KEYS'"))
    );
    assert_eq!(call(&mut e, "ftype", &[], &[]), bulk("nil"));
    assert_eq!(
        call(&mut e, "fargs", &["k1"], &["a1", "a2"]),
        Reply::Array(vec![
            bulk("k1"),
            bulk("a1"),
            Reply::Integer(1),
            Reply::Integer(2)
        ])
    );
    assert_eq!(
        call(&mut e, "nosuch", &[], &[]),
        err("ERR Function not found")
    );
    assert_eq!(
        e.function_flags("ro"),
        Some(ScriptFlags::NO_WRITES.union(ScriptFlags::ALLOW_OOM))
    );
    let lib = e.libraries().next().unwrap();
    assert_eq!(lib.engine, "LUA");
    let ro = lib.functions.iter().find(|f| f.name == "ro").unwrap();
    assert_eq!(ro.description.as_deref(), Some("d"));
    assert_eq!(ro.flags.names(), vec!["no-writes", "allow-oom"]);
    // REPLACE swaps the library; a function of another library still collides.
    assert_eq!(
        e.load_library(
            b"#!lua name=t1\nredis.register_function('only', function() return 2 end)",
            true
        )
        .unwrap(),
        "t1"
    );
    assert_eq!(
        call(&mut e, "ferr", &[], &[]),
        err("ERR Function not found")
    );
    assert_eq!(call(&mut e, "only", &[], &[]), Reply::Integer(2));
    e.flush_functions();
    assert_eq!(
        call(&mut e, "only", &[], &[]),
        err("ERR Function not found")
    );
    assert_eq!(e.libraries().count(), 0);
}

#[test]
fn kill_stops_a_busy_script_even_through_pcall() {
    let mut e = engine();
    for body in [
        "local i = 0 while true do i = i + 1 end",
        "while true do pcall(function() while true do end end) end",
    ] {
        let handle = e.kill_handle();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            handle.kill();
        });
        // redis-server, after SCRIPT KILL.
        assert_eq!(
            eval(&mut e, body),
            raised(body, "ERR Script killed by user with SCRIPT KILL...", 1)
        );
        killer.join().expect("killer");
    }
    // The engine runs the next script normally.
    assert_eq!(
        eval(
            &mut e,
            "local n = 0 for i = 1, 300000 do n = n + 1 end return n"
        ),
        Reply::Integer(300000)
    );
}

#[test]
fn memory_limit_fails_the_script_not_the_engine() {
    let mut e = engine();
    e.set_memory_limit(e.used_memory() + (4 << 20)).unwrap();
    let reply = eval(
        &mut e,
        "local t = {} for i = 1, 10000000 do t[i] = string.rep('x', 100) .. i end return #t",
    );
    assert!(
        matches!(&reply, Reply::Error(m) if m.contains("memory")),
        "{reply:?}"
    );
    assert_eq!(eval(&mut e, "return 1"), Reply::Integer(1));
}

#[test]
fn cjson_encode_as_redis() {
    let mut e = engine();
    let ok = [
        ("return cjson.encode({1,2,3})", "[1,2,3]"),
        ("return cjson.encode({a=1})", "{\"a\":1}"),
        ("return cjson.encode({})", "{}"),
        ("return cjson.encode({1,nil,3})", "[1,null,3]"),
        (
            "return cjson.encode({[1]=1,[10]=2})",
            "[1,null,null,null,null,null,null,null,null,2]",
        ),
        ("return cjson.encode({[3]=1})", "[null,null,1]"),
        ("return cjson.encode({[0]=1})", "{\"0\":1}"),
        ("return cjson.encode({[1.5]=1})", "{\"1.5\":1}"),
        ("return cjson.encode(0.1)", "0.1"),
        ("return cjson.encode(1/3)", "0.33333333333333"),
        ("return cjson.encode(1e100)", "1e+100"),
        ("return cjson.encode(1e17)", "1e+17"),
        ("return cjson.encode(nil)", "null"),
        ("return cjson.encode(cjson.null)", "null"),
        ("return cjson.encode(true)", "true"),
        (
            "return cjson.encode({a={b={1,2,{c=\"d\"}}}})",
            "{\"a\":{\"b\":[1,2,{\"c\":\"d\"}]}}",
        ),
        (
            "return cjson.encode(12345678901234567)",
            "1.2345678901235e+16",
        ),
        ("return cjson.encode({[1]=1, a=2})", "{\"1\":1,\"a\":2}"),
        ("return cjson.encode(cjson.decode(\"[]\"))", "{}"),
        ("return cjson._VERSION", "2.1.0"),
        ("return type(cjson.null)", "userdata"),
    ];
    for (body, expected) in ok {
        assert_eq!(eval(&mut e, body), bulk(expected), "{body}");
    }
    assert_eq!(
        eval(
            &mut e,
            "return cjson.encode(\"a\\\"b\\\\c/d\\n\\r\\t\\b\\f\\1\\127\\200\")"
        ),
        Reply::Bulk(b"\"a\\\"b\\\\c\\/d\\n\\r\\t\\b\\f\\u0001\\u007f\xc8\"".to_vec())
    );
    let errors = [
        (
            "return cjson.encode({[1]=1,[2]=2,[20]=3})",
            "Cannot serialise table: excessively sparse array",
        ),
        (
            "return cjson.encode({[1]=1,[11]=2})",
            "Cannot serialise table: excessively sparse array",
        ),
        (
            "return cjson.encode({[true]=1})",
            "Cannot serialise boolean: table key must be a number or string",
        ),
        (
            "return cjson.encode(0/0)",
            "Cannot serialise number: must not be NaN or Inf",
        ),
        (
            "return cjson.encode(1/0)",
            "Cannot serialise number: must not be NaN or Inf",
        ),
        (
            "return cjson.encode()",
            "bad argument #1 to 'encode' (expected 1 argument)",
        ),
        (
            "return cjson.encode(1, 2)",
            "bad argument #1 to 'encode' (expected 1 argument)",
        ),
        (
            "return cjson.encode(function() end)",
            "Cannot serialise function: type not supported",
        ),
        (
            "return cjson.encode({f=function() end})",
            "Cannot serialise function: type not supported",
        ),
        (
            "local t = {} t[1] = t return cjson.encode(t)",
            "Cannot serialise, excessive nesting (1001)",
        ),
    ];
    for (body, msg) in errors {
        assert_eq!(
            eval(&mut e, body),
            raised(body, &format!("ERR user_script:1: {msg}"), 1),
            "{body}"
        );
    }
    let config = [
        (
            "return {cjson.encode_max_depth()}",
            Reply::Array(vec![Reply::Integer(1000)]),
        ),
        (
            "return {cjson.encode_sparse_array()}",
            Reply::Array(vec![Reply::Nil, Reply::Integer(2), Reply::Integer(10)]),
        ),
        (
            "return {cjson.encode_number_precision()}",
            Reply::Array(vec![Reply::Integer(14)]),
        ),
        (
            "return {cjson.encode_invalid_numbers()}",
            Reply::Array(vec![Reply::Nil]),
        ),
        (
            "return {cjson.decode_invalid_numbers()}",
            Reply::Array(vec![Reply::Integer(1)]),
        ),
        (
            "return {cjson.decode_max_depth()}",
            Reply::Array(vec![Reply::Integer(1000)]),
        ),
        (
            "return {cjson.encode_keep_buffer()}",
            Reply::Array(vec![Reply::Integer(1)]),
        ),
    ];
    for (body, expected) in config {
        assert_eq!(eval(&mut e, body), expected, "{body}");
    }
    for (body, msg) in [
        (
            "return cjson.encode_number_precision(0)",
            "bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)",
        ),
        (
            "return cjson.encode_max_depth(0)",
            "bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)",
        ),
    ] {
        assert_eq!(
            eval(&mut e, body),
            raised(body, &format!("ERR user_script:1: {msg}"), 1),
            "{body}"
        );
    }
}

#[test]
fn cjson_decode_as_redis() {
    let mut e = engine();
    assert_eq!(
        eval(&mut e, "return cjson.decode(\"[1,2,3]\")"),
        Reply::Array([1, 2, 3].map(Reply::Integer).to_vec())
    );
    assert_eq!(
        eval(&mut e, "local t = cjson.decode(\"{\\\"a\\\":[1,2,{\\\"b\\\":null}], \\\"c\\\":\\\"x\\\\u00e9\\\\n\\\"}\") return {t.a[1], type(t.a[3].b), t.a[3].b == cjson.null, t.c}"),
        Reply::Array(vec![Reply::Integer(1), bulk("userdata"), Reply::Integer(1), Reply::Bulk(b"x\xc3\xa9\n".to_vec())])
    );
    let ok = [
        ("return cjson.decode(\"1.5e3\")", Reply::Integer(1500)),
        ("return cjson.decode(\"  true \")", Reply::Integer(1)),
        ("return type(cjson.decode(\"null\"))", bulk("userdata")),
        ("return cjson.decode(\"0x10\")", Reply::Integer(16)),
        ("return cjson.decode(\"nan\")", Reply::Integer(i64::MIN)),
        ("return tostring(cjson.decode(\"inf\"))", bulk("inf")),
        ("return cjson.decode(\"01\")", Reply::Integer(1)),
        ("return cjson.decode(\"1.\")", Reply::Integer(1)),
        (
            "return cjson.decode(\"\\\"\\\\ud83d\\\\ude00\\\"\")",
            Reply::Bulk(b"\xf0\x9f\x98\x80".to_vec()),
        ),
        ("return cjson.decode(\"\\\"a\\tb\\\"\")", bulk("a\tb")),
        (
            "return #cjson.decode(string.rep(\"[\", 1000) .. string.rep(\"]\", 1000))",
            Reply::Integer(1),
        ),
        ("return cjson.decode(1)", Reply::Integer(1)),
        ("return cjson.decode(\"[]\")[1]", Reply::Nil),
        (
            "return cjson.decode(\"{\\\"1\\\":5}\")[\"1\"]",
            Reply::Integer(5),
        ),
        ("return cjson.decode(\"1e400\")", Reply::Integer(i64::MIN)),
        ("return cjson.decode(\"-0\")", Reply::Integer(0)),
        (
            "return cjson.decode(\"[true,false]\")",
            Reply::Array(vec![Reply::Integer(1), Reply::Nil]),
        ),
    ];
    for (body, expected) in ok {
        assert_eq!(eval(&mut e, body), expected, "{body}");
    }
    let errors = [
        (
            "return cjson.decode(\"\")",
            "Expected value but found T_END at character 1",
        ),
        (
            "return cjson.decode(\"[1,2\")",
            "Expected comma or array end but found T_END at character 5",
        ),
        (
            "return cjson.decode(\"[1,,2]\")",
            "Expected value but found T_COMMA at character 4",
        ),
        (
            "return cjson.decode(\"{1:2}\")",
            "Expected object key string but found T_NUMBER at character 2",
        ),
        (
            "return cjson.decode(\"{\\\"a\\\" 2}\")",
            "Expected colon but found T_NUMBER at character 6",
        ),
        (
            "return cjson.decode(\"{\\\"a\\\":2,}\")",
            "Expected object key string but found T_OBJ_END at character 8",
        ),
        (
            "return cjson.decode(\"[1] x\")",
            "Expected the end but found invalid token at character 5",
        ),
        (
            "return cjson.decode(\"\\\"\\\\x\\\"\")",
            "Expected value but found invalid escape code at character 2",
        ),
        (
            "return cjson.decode(\"\\\"\\\\u12\\\"\")",
            "Expected value but found invalid unicode escape code at character 2",
        ),
        (
            "return cjson.decode(\"\\\"abc\")",
            "Expected value but found unexpected end of string at character 5",
        ),
        (
            "return cjson.decode(\"tru\")",
            "Expected value but found invalid token at character 1",
        ),
        (
            "return cjson.decode(\"-\")",
            "Expected value but found invalid number at character 1",
        ),
        (
            "return cjson.decode(\".5\")",
            "Expected value but found invalid token at character 1",
        ),
        (
            "return cjson.decode(\"\\\"\\\\ud83d\\\"\")",
            "Expected value but found invalid unicode escape code at character 2",
        ),
        (
            "return cjson.decode(string.rep(\"[\", 1001) .. string.rep(\"]\", 1001))",
            "Found too many nested data structures (1001) at character 1001",
        ),
        (
            "return cjson.decode()",
            "bad argument #1 to 'decode' (expected 1 argument)",
        ),
        (
            "return cjson.decode({})",
            "bad argument #1 to 'decode' (string expected, got table)",
        ),
        (
            "return cjson.decode(\"[1,2]\", 5)",
            "bad argument #1 to 'decode' (expected 1 argument)",
        ),
        (
            "return cjson.decode(\"  \")",
            "Expected value but found T_END at character 3",
        ),
    ];
    for (body, msg) in errors {
        assert_eq!(
            eval(&mut e, body),
            raised(body, &format!("ERR user_script:1: {msg}"), 1),
            "{body}"
        );
    }
}

#[test]
fn struct_library() {
    let mut e = engine();
    let packs: [(&str, &[u8]); 10] = [
        ("return struct.pack(\">I2\", 258)", b"\x01\x02"),
        ("return struct.pack(\"<i\", -2)", b"\xfe\xff\xff\xff"),
        ("return struct.pack(\"bBhHlLT\", -1, 255, -2, 65535, -3, 7, 9)", b"\xff\xff\xfe\xff\xff\xff\xfd\xff\xff\xff\xff\xff\xff\xff\x07\x00\x00\x00\x00\x00\x00\x00\t\x00\x00\x00\x00\x00\x00\x00"),
        ("return struct.pack(\"!4 b i\", 1, 2)", b"\x01\x00\x00\x00\x02\x00\x00\x00"),
        ("return struct.pack(\"!bd\", 1, 1.5)", b"\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xf8?"),
        ("return struct.pack(\"b x d\", 1, 1.5)", b"\x01\x00\x00\x00\x00\x00\x00\x00\xf8?"),
        ("return struct.pack(\"s c3 c0\", \"ab\", \"xyz\", \"hello\")", b"ab\x00xyzhello"),
        ("return struct.pack(\"f\", 1.5)", b"\x00\x00\xc0?"),
        ("return struct.pack(\"i\", 2^40)", b"\x00\x00\x00\x00"),
        ("return struct.pack(\">i16\", -1)", b"\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff"),
    ];
    for (body, expected) in packs {
        assert_eq!(eval(&mut e, body), Reply::Bulk(expected.to_vec()), "{body}");
    }
    let ints = |v: &[i64]| Reply::Array(v.iter().map(|&i| Reply::Integer(i)).collect());
    let unpacks = [
        (
            "return {struct.unpack(\">I2\", \"\\1\\2\")}",
            ints(&[258, 3]),
        ),
        (
            "return {struct.unpack(\"<i\", \"\\254\\255\\255\\255\")}",
            ints(&[-2, 5]),
        ),
        (
            "return {struct.unpack(\"bBhH\", \"\\255\\255\\254\\255\\255\\255\")}",
            ints(&[-1, 255, -2, 65535, 7]),
        ),
        (
            "return {struct.unpack(\"s\", \"ab\\0cd\")}",
            Reply::Array(vec![bulk("ab"), Reply::Integer(4)]),
        ),
        (
            "return {struct.unpack(\"b c0\", \"\\3abcdef\")}",
            Reply::Array(vec![bulk("abc"), Reply::Integer(5)]),
        ),
        (
            "return {struct.unpack(\"i\", \"abcdabcd\", 5)}",
            ints(&[1684234849, 9]),
        ),
        (
            "return {struct.unpack(\"!4 b i\", \"\\1\\0\\0\\0\\2\\0\\0\\0\")}",
            ints(&[1, 2, 9]),
        ),
        (
            "return {struct.unpack(\">f\", \"\\63\\192\\0\\0\")}",
            ints(&[1, 5]),
        ),
        (
            "return {tostring(struct.unpack(\"d\", struct.pack(\"d\", 0.1)))}",
            Reply::Array(vec![bulk("0.1")]),
        ),
        (
            "return {struct.unpack(\">i16\", struct.pack(\">i16\", -5))}",
            ints(&[-5, 17]),
        ),
        (
            "return {struct.unpack(\"I9\", \"\\1\\2\\3\\4\\5\\6\\7\\8\\9\")}",
            ints(&[578437695752307200, 10]),
        ),
        ("return struct.size(\"bhi\")", Reply::Integer(7)),
        ("return struct.size(\"!bhi\")", Reply::Integer(8)),
        ("return struct.size(\"c3 z q\")", Reply::Integer(3)),
        ("return struct.size(\"!8 b d\")", Reply::Integer(16)),
    ];
    for (body, expected) in unpacks {
        assert_eq!(eval(&mut e, body), expected, "{body}");
    }
    let errors = [
        (
            "return struct.pack(\"c5\", \"ab\")",
            "bad argument #3 to 'pack' (string too short)",
        ),
        (
            "return struct.pack(\"z\", 1)",
            "bad argument #1 to 'pack' (invalid format option 'z')",
        ),
        (
            "return struct.pack(\"i33\", 1)",
            "integral size 33 is larger than limit of 32",
        ),
        (
            "return struct.pack(\"!3i\", 1)",
            "alignment 3 is not a power of 2",
        ),
        (
            "return struct.pack(\"i\", \"x\")",
            "bad argument #2 to 'pack' (number expected, got string)",
        ),
        (
            "return struct.pack(\"i\")",
            "bad argument #2 to 'pack' (number expected, got nil)",
        ),
        (
            "return {struct.unpack(\"s\", \"abcd\")}",
            "unfinished string in data",
        ),
        (
            "return {struct.unpack(\"c0\", \"abc\")}",
            "format 'c0' needs a previous size",
        ),
        (
            "return {struct.unpack(\"i\", \"ab\")}",
            "bad argument #2 to 'unpack' (data string too short)",
        ),
        (
            "return {struct.unpack(\"i\", \"abcd\", 0)}",
            "bad argument #3 to 'unpack' (offset must be 1 or greater)",
        ),
        (
            "return struct.size(\"s\")",
            "bad argument #1 to 'size' (option 's' has no fixed size)",
        ),
        (
            "return struct.size(\"c0\")",
            "bad argument #1 to 'size' (option 'c0' has no fixed size)",
        ),
    ];
    for (body, msg) in errors {
        assert_eq!(
            eval(&mut e, body),
            raised(body, &format!("ERR user_script:1: {msg}"), 1),
            "{body}"
        );
    }
}

#[test]
fn cmsgpack_library() {
    let mut e = engine();
    let packs: [(&str, &[u8]); 6] = [
        ("return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65536, 2^32, -32, -33, -129, -32769, -2^31-1)", b"\x01\xff\x7f\xcc\x80\xcc\xff\xcd\x01\x00\xce\x00\x01\x00\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xe0\xd0\xdf\xd1\xff\x7f\xd2\xff\xff\x7f\xff\xd3\xff\xff\xff\xff\x7f\xff\xff\xff"),
        ("return cmsgpack.pack(1.5, 0.1, 1/0, 0/0, nil, true, false)", b"\xca?\xc0\x00\x00\xcb?\xb9\x99\x99\x99\x99\x99\x9a\xca\x7f\x80\x00\x00\xcb\xff\xf8\x00\x00\x00\x00\x00\x00\xc0\xc3\xc2"),
        ("return cmsgpack.pack(\"abc\", string.rep(\"x\", 32), {}, {1,2,3}, {a=1}, {1, nil, 3}, {[2]=1})", b"\xa3abc\xd9 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\x90\x93\x01\x02\x03\x81\xa1a\x01\x82\x01\x01\x03\x03\x81\x02\x01"),
        ("local t = {} t[1] = t return cmsgpack.pack(t)", b"\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\xc0"),
        ("return cmsgpack.pack({[\"1\"]=5})", b"\x81\xa11\x05"),
        ("return cmsgpack.pack(function() end)", b"\xc0"),
    ];
    for (body, expected) in packs {
        assert_eq!(eval(&mut e, body), Reply::Bulk(expected.to_vec()), "{body}");
    }
    let mut long = b"\xda\x01\x00".to_vec();
    long.extend(std::iter::repeat_n(b'x', 256));
    assert_eq!(
        eval(&mut e, "return cmsgpack.pack(string.rep(\"x\", 256))"),
        Reply::Bulk(long)
    );
    let ints = |v: &[i64]| Reply::Array(v.iter().map(|&i| Reply::Integer(i)).collect());
    let unpacks = [
        (
            "return {cmsgpack.unpack(cmsgpack.pack(1, \"a\", {1,2}, {a=5}, true))}",
            Reply::Array(vec![Reply::Integer(1), bulk("a"), ints(&[1, 2]), Reply::Array(vec![]), Reply::Integer(1)]),
        ),
        (
            "local a, b, c = cmsgpack.unpack(cmsgpack.pack(1.5, 2^40, -2^40)) return {tostring(a), tostring(b), tostring(c)}",
            Reply::Array(vec![bulk("1.5"), bulk("1099511627776"), bulk("-1099511627776")]),
        ),
        ("return {cmsgpack.unpack(\"\")}", Reply::Array(vec![])),
        ("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2))}", ints(&[1, 1])),
        ("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 1)}", ints(&[-1, 2])),
        ("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}", ints(&[2, 1, 2])),
        ("return cmsgpack.unpack(5)", Reply::Integer(53)),
        ("return type(cmsgpack.unpack(\"\\192\"))", bulk("nil")),
        ("return cmsgpack._VERSION", bulk("lua-cmsgpack 0.4.0")),
    ];
    for (body, expected) in unpacks {
        assert_eq!(eval(&mut e, body), expected, "{body}");
    }
    let errors = [
        (
            "return cmsgpack.pack()",
            "ERR user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.)",
        ),
        (
            "return cmsgpack.unpack(\"\\205\")",
            "ERR user_script:1: Missing bytes in input.",
        ),
        (
            "return cmsgpack.unpack(\"\\193\")",
            "ERR user_script:1: Bad data format in input.",
        ),
        (
            "return {cmsgpack.unpack(\"\\196\\2ab\")}",
            "ERR user_script:1: Bad data format in input.",
        ),
        (
            "return {cmsgpack.unpack(\"\\199\\1\\1a\")}",
            "ERR user_script:1: Bad data format in input.",
        ),
        (
            "return {cmsgpack.unpack_one(\"\\1\", 5)}",
            "ERR user_script:1: Start offset 5 greater than input length 1.",
        ),
        (
            "return cmsgpack.unpack()",
            "ERR user_script:1: bad argument #1 to 'unpack' (string expected, got no value)",
        ),
        (
            "return {cmsgpack.unpack(\"\\129\\192\\1\")}",
            "ERR table index is nil",
        ),
    ];
    for (body, msg) in errors {
        assert_eq!(eval(&mut e, body), raised(body, msg, 1), "{body}");
    }
    // Deep input is refused, not a stack overflow.
    let deep = "return cmsgpack.unpack(string.rep(\"\\145\", 100000))";
    assert!(matches!(eval(&mut e, deep), Reply::Error(m) if m.contains("Nesting too deep")));
}

#[test]
fn kill_reaches_a_loop_inside_a_coroutine() {
    let mut e = engine();
    for body in [
        "local co = coroutine.wrap(function() while true do end end) co()",
        "local co = coroutine.create(function() while true do end end) local ok, err = coroutine.resume(co) while true do end",
    ] {
        let handle = e.kill_handle();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            handle.kill();
        });
        let reply = eval(&mut e, body);
        assert!(matches!(&reply, Reply::Error(m) if m.starts_with("ERR Script killed by user with SCRIPT KILL...")), "{body}: {reply:?}");
        killer.join().expect("killer");
    }
    // Coroutines still work as Lua's.
    let body = "local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) return {co(1), co(5)}";
    assert_eq!(
        eval(&mut e, body),
        Reply::Array(vec![Reply::Integer(2), Reply::Integer(10)])
    );
    let body = "local co = coroutine.create(function() error({err='X'}) end) local ok, err = coroutine.resume(co) return {tostring(ok), err.err}";
    assert_eq!(
        eval(&mut e, body),
        Reply::Array(vec![bulk("false"), bulk("X")])
    );
    let body = "local f = coroutine.wrap(function() error('inner') end)\nf()";
    assert_eq!(
        eval(&mut e, body),
        raised(body, "ERR user_script:2: user_script:1: inner", 2)
    );
}

#[test]
fn sandbox_details_as_redis() {
    let mut e = engine();
    let body = "loadstring(\"x = 1\")()";
    let expected = format!(
        "ERR [string \"x = 1\"]:1: Attempt to modify a readonly table script: {}, on x = 1:1.",
        crate::sha1_hex(body.as_bytes())
    );
    assert_eq!(eval(&mut e, body), Reply::Error(expected));
    assert_eq!(
        eval(
            &mut e,
            "return loadstring(\"return string.len\")()(\"abc\")"
        ),
        Reply::Integer(3)
    );
    for (body, msg) in [
        (
            "setmetatable(string, {})",
            "ERR Attempt to modify a readonly table",
        ),
        (
            "getmetatable(\"\").__index = nil",
            "ERR user_script:1: Attempt to modify a readonly table",
        ),
        (
            "table.insert(string, 1)",
            "ERR Attempt to modify a readonly table",
        ),
    ] {
        assert_eq!(eval(&mut e, body), raised(body, msg, 1), "{body}");
    }
    let ok = [
        (
            "return getmetatable(\"\").__index == string",
            Reply::Integer(1),
        ),
        (
            "local co = coroutine.create(function() x = 1 end) return {coroutine.resume(co)}",
            Reply::Array(vec![
                Reply::Nil,
                bulk("user_script:1: Attempt to modify a readonly table"),
            ]),
        ),
        ("return rawequal(_G, _G)", Reply::Integer(1)),
        ("return #_G", Reply::Integer(0)),
        ("return next(string) ~= nil", Reply::Integer(1)),
        ("return {pcall(error)}", Reply::Array(vec![Reply::Nil])),
        (
            "return {pcall()}",
            Reply::Array(vec![Reply::Nil, bulk("attempt to call a boolean value")]),
        ),
        (
            "return select(\"#\", pcall(function() return 1, 2, 3 end))",
            Reply::Integer(4),
        ),
        (
            "return {xpcall(function() error({err=\"x\"}) end, function(e) return type(e) end)}",
            Reply::Array(vec![Reply::Nil, bulk("table")]),
        ),
        ("return type(gcinfo())", bulk("number")),
        ("return collectgarbage(\"count\") > 0", Reply::Integer(1)),
        ("return unpack({1,2,3})", Reply::Integer(1)),
        (
            "return string.format(\"%d %s %5.2f\", 3, \"x\", 1.5)",
            bulk("3 x  1.50"),
        ),
        ("return math.huge", Reply::Integer(i64::MIN)),
        ("return tostring(math.pi)", bulk("3.1415926535898")),
    ];
    for (body, expected) in ok {
        assert_eq!(eval(&mut e, body), expected, "{body}");
    }
}

#[test]
fn function_load_times_out() {
    let mut e = engine();
    let err = e
        .load_library(b"#!lua name=tl\nwhile true do end", false)
        .unwrap_err();
    // redis-server 7.0.15.
    assert_eq!(
        err.reply_text(),
        "ERR Error registering functions: ERR FUNCTION LOAD timeout"
    );
    assert_eq!(e.libraries().count(), 0);
    // Scripts still run, with the kill hook back.
    assert_eq!(
        eval(
            &mut e,
            "local n = 0 for i = 1, 300000 do n = n + 1 end return n"
        ),
        Reply::Integer(300000)
    );
}

#[test]
fn deep_values_fail_cleanly() {
    // Nesting far past every limit ends in an error reply, never in a panic of mlua's handle
    // stack or a stack overflow.
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| {
            let mut e = engine();
            let r = eval(&mut e, "local t = {} local c = t for i = 1, 5000 do local n = {} c.map = {k = n} c = n end return t");
            let mut depth = 0;
            let mut cur = r;
            while let Reply::Map(mut pairs) = cur {
                cur = pairs.remove(0).1;
                depth += 1;
            }
            assert_eq!(cur, err("ERR reached lua stack limit"));
            assert!(depth <= crate::convert::MAX_REPLY_DEPTH);
            let body = "cjson.encode_max_depth(100000) local t = {} t[1] = t return cjson.encode(t)";
            assert_eq!(eval(&mut e, body), raised(body, "ERR user_script:1: Cannot serialise, excessive nesting (1001)", 1));
            let body = "cjson.decode_max_depth(100000) return #cjson.decode(string.rep('[', 50000) .. string.rep(']', 50000))";
            assert_eq!(eval(&mut e, body), raised(body, "ERR user_script:1: Found too many nested data structures (1001) at character 1001", 1));
            let r = eval(&mut e, "local t = {} local c = t for i = 1, 5000 do local n = {} c[1] = n c = n end return cmsgpack.pack(t)");
            assert!(matches!(r, Reply::Bulk(b) if b.len() == 17));
        })
        .expect("thread")
        .join()
        .expect("no panic");
}

#[test]
fn many_values_fail_cleanly() {
    let mut e = engine();
    let body = "return select('#', cmsgpack.unpack(string.rep(cmsgpack.pack('abc'), 20000)))";
    assert_eq!(
        eval(&mut e, body),
        raised(body, "ERR user_script:1: too many results to unpack", 1)
    );
    let body = "return select('#', struct.unpack(string.rep('c1', 20000), string.rep('x', 20000)))";
    assert_eq!(
        eval(&mut e, body),
        raised(body, "ERR user_script:1: too many results to unpack", 1)
    );
    assert_eq!(
        eval(
            &mut e,
            "return select('#', cmsgpack.unpack(string.rep(cmsgpack.pack('abc'), 3000)))"
        ),
        Reply::Integer(3000)
    );
    // Thousands of arguments reach the runner.
    let body =
        "local t = {} for i = 1, 7000 do t[i] = 'x' .. i end return redis.pcall('echo', unpack(t))";
    assert_eq!(
        eval(&mut e, body),
        err("ERR Wrong number of args calling Redis command from script")
    );
    // Near Lua's own unpack limit mlua runs out of handles: the script fails, the engine lives.
    let body =
        "local t = {} for i = 1, 7990 do t[i] = 'x' .. i end return redis.pcall('echo', unpack(t))";
    assert!(matches!(eval(&mut e, body), Reply::Error(_)));
    assert_eq!(
        eval(&mut e, "return redis.call('echo', 'still')"),
        bulk("still")
    );
}

#[test]
fn kill_handle_reports_the_running_script() {
    let mut e = engine();
    let handle = e.kill_handle();
    assert_eq!(handle.running_for(), None);
    // A kill with nothing running does not reach the next script.
    assert!(!handle.kill());
    assert_eq!(eval(&mut e, "return 1"), Reply::Integer(1));
    let watcher = handle.clone();
    let killer = std::thread::spawn(move || {
        let started = std::time::Instant::now();
        while watcher
            .running_for()
            .is_none_or(|d| d < std::time::Duration::from_millis(30))
        {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "script never seen running"
            );
            std::thread::yield_now();
        }
        assert!(watcher.kill());
    });
    let body = "while true do end";
    assert_eq!(
        eval(&mut e, body),
        raised(body, "ERR Script killed by user with SCRIPT KILL...", 1)
    );
    killer.join().expect("killer");
    assert_eq!(handle.running_for(), None);
    // After a kill the counting hook is back (a per-line hook would make this slow, not wrong).
    assert_eq!(
        eval(
            &mut e,
            "local n = 0 for i = 1, 300000 do n = n + 1 end return n"
        ),
        Reply::Integer(300000)
    );
}

#[test]
fn function_load_survives_handle_exhaustion() {
    let mut e = engine();
    let code = "#!lua name=big\nlocal t = {} for i = 1, 7990 do t[i] = 'x' .. i end\nredis.log(redis.LOG_DEBUG, unpack(t))\nredis.register_function('f', function() return 1 end)";
    // redis-server loads this library; here the load fails cleanly (see the test above).
    assert!(e.load_library(code.as_bytes(), false).is_err());
    assert_eq!(
        e.load_library(
            b"#!lua name=ok\nredis.register_function('g', function() return 2 end)",
            false
        )
        .unwrap(),
        "ok"
    );
    assert_eq!(
        e.fcall("g", &[], &[], FakeRunner::default()).0,
        Reply::Integer(2)
    );
}

#[test]
fn precompiled_chunks_are_refused() {
    let mut e = engine();
    // redis-server 7.0.15 parses every chunk as text.
    let cases = [
        ("return select(2, loadstring(string.dump(function() return 1 end)))", Reply::Bulk(b"[string \"\x1bLuaQ\"]:1: unexpected symbol near 'char(27)'".to_vec())),
        (
            "local s = string.dump(function() return 1 end) local i = 0 return select(2, load(function() i = i + 1 if i == 1 then return s end return nil end))",
            bulk("(load):1: unexpected symbol near 'char(27)'"),
        ),
        ("return select(2, loadstring(\"\\27abc\"))", Reply::Bulk(b"[string \"\x1babc\"]:1: unexpected symbol near 'char(27)'".to_vec())),
        ("return select(2, loadstring(\"x x\"))", bulk("[string \"x x\"]:1: '=' expected near 'x'")),
        ("return select(2, load(function() return nil end))", Reply::Nil),
        ("local f = load(function() return nil end) return type(f)", bulk("function")),
        ("return select(2, loadstring(\"\\27abc\", \"nm\"))", bulk("[string \"nm\"]:1: unexpected symbol near 'char(27)'")),
        ("return {loadstring(string.dump(function() return 1 end))}", Reply::Array(vec![])),
    ];
    for (body, expected) in cases {
        assert_eq!(eval(&mut e, body), expected, "{body}");
    }
    assert_eq!(
        e.eval(b"\x1bLuaQ\0\x01", &[], &[], FakeRunner::default()).0,
        err("ERR Error compiling script (new function): user_script:1: unexpected symbol near 'char(27)'")
    );
    let parts = "local p = {'return ', '4', '2'} local i = 0 return load(function() i = i + 1 return p[i] end)()";
    assert_eq!(eval(&mut e, parts), Reply::Integer(42));
}

#[test]
fn error_table_without_err_field() {
    // redis-server 7.0.15 crashes on this (assertion in luaExtractErrorInformation).
    let mut e = engine();
    let body = "error({x=1})";
    assert_eq!(
        eval(&mut e, body),
        raised(
            body,
            "ERR the script raised an error table without an 'err' field",
            1
        )
    );
    assert_eq!(eval(&mut e, "return 1"), Reply::Integer(1));
}

#[test]
fn function_dump_and_restore_policies_as_redis() {
    use crate::dump::{dump_libraries, parse_dump};
    use crate::{RestorePolicy, ScriptError};
    // Each step and its reply observed with redis-server 7.0.15, in this order.
    const A: &[u8] = b"#!lua name=a\nredis.register_function('f', function() return 1 end)";
    const A2: &[u8] = b"#!lua name=a\nredis.register_function('g', function() return 1 end)";
    const B: &[u8] = b"#!lua name=b\nredis.register_function('f', function() return 2 end)";
    const C: &[u8] = b"#!lua name=c\nredis.register_function('h', function() return 3 end)";
    fn invalid(text: &str) -> Result<(), ScriptError> {
        Err(ScriptError::Invalid(text.to_owned()))
    }
    fn names(e: &ScriptEngine) -> Vec<(String, Vec<String>)> {
        e.libraries()
            .map(|l| {
                let fs = l.functions.iter().map(|f| f.name.clone()).collect();
                (l.name.clone(), fs)
            })
            .collect()
    }
    fn lib(name: &str, fs: &[&str]) -> (String, Vec<String>) {
        let fs = fs.iter().map(|f| (*f).to_owned()).collect();
        (name.to_owned(), fs)
    }
    let mut e = engine();
    let append = RestorePolicy::Append;
    let restore = |e: &mut ScriptEngine, codes: &[&[u8]], policy| {
        e.restore_functions(&dump_libraries(codes.iter().copied()), policy)
    };
    assert_eq!(e.dump_functions(), b"\n\x00]\x9b\\@\x0f\x7f\xa2\xda");
    assert_eq!(
        e.restore_functions(b"", append),
        invalid("DUMP payload version or checksum are wrong")
    );
    // Opcode 0, then the trailer.
    let body = b"\x00\n\x00";
    let crc = crate::dump::crc64(body).to_le_bytes();
    let not_a_function = [&body[..], &crc].concat();
    assert_eq!(
        e.restore_functions(&not_a_function, append),
        invalid("given type is not a function")
    );
    assert_eq!(
        restore(&mut e, &[b"return 1"], append),
        invalid("Missing library metadata")
    );
    assert_eq!(
        restore(&mut e, &[b"#!lua name=x\nreturn 1 +"], append),
        invalid("Error compiling function: user_function:2: unexpected symbol near '<eof>'")
    );
    assert_eq!(
        restore(&mut e, &[b"#!lua name=x\nreturn 1"], append),
        invalid("No functions registered")
    );
    assert_eq!(
        restore(&mut e, &[A, B], append),
        invalid("Function f already exists")
    );
    assert_eq!(
        restore(&mut e, &[A, A], append),
        invalid("Library 'a' already exists")
    );
    assert!(names(&e).is_empty(), "a failed restore loads nothing");
    assert_eq!(restore(&mut e, &[A], append), Ok(()));
    assert_eq!(
        restore(&mut e, &[A], append),
        invalid("Library a already exists")
    );
    assert_eq!(
        restore(&mut e, &[B], append),
        invalid("Function f already exists")
    );
    assert_eq!(
        restore(&mut e, &[B], RestorePolicy::Replace),
        invalid("Function f already exists")
    );
    assert_eq!(restore(&mut e, &[C], append), Ok(()));
    assert_eq!(restore(&mut e, &[A2, C], RestorePolicy::Replace), Ok(()));
    assert_eq!(names(&e), vec![lib("a", &["g"]), lib("c", &["h"])]);
    assert_eq!(restore(&mut e, &[A2, B], RestorePolicy::Replace), Ok(()));
    assert_eq!(
        names(&e),
        vec![lib("a", &["g"]), lib("b", &["f"]), lib("c", &["h"])]
    );
    assert_eq!(
        e.fcall("f", &[], &[], FakeRunner::default()).0,
        Reply::Integer(2)
    );
    // A restore that fails after its libraries loaded leaves the loaded ones as they were.
    // With two conflicts redis-server names the first in its hash table's order (`c` for
    // both [c, a] and [a, c]); tandem names the first in the payload.
    assert_eq!(
        restore(&mut e, &[C, A], append),
        invalid("Library c already exists")
    );
    assert_eq!(
        names(&e),
        vec![lib("a", &["g"]), lib("b", &["f"]), lib("c", &["h"])]
    );
    assert_eq!(restore(&mut e, &[A2, C], RestorePolicy::Flush), Ok(()));
    assert_eq!(names(&e), vec![lib("a", &["g"]), lib("c", &["h"])]);
    assert_eq!(
        e.fcall("f", &[], &[], FakeRunner::default()).0,
        err("ERR Function not found")
    );
    // DUMP lists libraries by name; its payload restores as it was.
    let dump = e.dump_functions();
    assert_eq!(parse_dump(&dump), Ok(vec![A2.to_vec(), C.to_vec()]));
    let mut other = engine();
    assert_eq!(other.restore_functions(&dump, append), Ok(()));
    assert_eq!(other.dump_functions(), dump);
    // redis-server accepts a string that runs into the trailer: this library's last line is
    // a comment that swallows the version (9) and the CRC.
    let swallowed = b"\xf5@O#!lua name=x\nredis.register_function('f', function() return 1 end)\n--\t\x00\xdc+\xe2\x0c\x1b\xa9O\x01";
    assert_eq!(other.restore_functions(swallowed, append), Ok(()));
    assert_eq!(
        other.fcall("f", &[], &[], FakeRunner::default()).0,
        Reply::Integer(1)
    );
    // ... and answers "Missing library metadata" when such a string is not a library.
    let body = b"\xf5\x05ab\n\x00";
    let crc = crate::dump::crc64(body).to_le_bytes();
    assert_eq!(
        other.restore_functions(&[&body[..], &crc].concat(), append),
        invalid("Missing library metadata")
    );
}

/// The busy tick runs while a script loops (what storaged answers waiting writes from),
/// and not at all for a script that ends at once.
#[test]
fn the_busy_tick_runs_while_a_script_runs() {
    use std::cell::Cell;
    use std::rc::Rc;
    let mut e = engine();
    let ticks = Rc::new(Cell::new(0u32));
    let counter = Rc::clone(&ticks);
    e.set_busy_tick(Box::new(move || counter.set(counter.get() + 1)));
    assert_eq!(eval(&mut e, "return 1"), Reply::Integer(1));
    assert_eq!(ticks.get(), 0);
    assert_eq!(
        eval(
            &mut e,
            "local n = 0 for i = 1, 2000000 do n = n + i end return 1"
        ),
        Reply::Integer(1)
    );
    assert!(ticks.get() >= 5, "ticked {} times", ticks.get());
}
