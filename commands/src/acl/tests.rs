//! Unit tests of the ACL model; the expected lines are what redis-server 7.0.15 printed for
//! the same rules (tests/tests/acl.rs compares against a live redis-server).

use bytes::Bytes;

use super::check::{check, Denied};
use super::describe::list_line;
use super::table::find;
use super::user::{AclError, User};
use crate::flags::KeySpecFlags;

fn user(name: &str, rules: &[&str]) -> Result<User, String> {
    let args: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
    User::new(name.as_bytes()).with_rules(&args)
}

fn line(name: &str, rules: &[&str]) -> String {
    match user(name, rules) {
        Ok(u) => list_line(&u),
        Err(e) => e,
    }
}

#[test]
fn descriptions_match_redis() {
    assert_eq!(line("alice", &[]), "user alice off resetchannels -@all");
    assert_eq!(
        list_line(&User::default_user()),
        "user default on nopass ~* &* +@all"
    );
    assert_eq!(
        line(
            "bob",
            &["on", ">x", "~a*", "%R~b*", "%W~c", "&ch", "+get", "+@string", "-set", "(+get ~x)"]
        ),
        "user bob on #2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 ~a* %R~b* %W~c resetchannels &ch -@all +@string -set (~x resetchannels -@all +get)"
    );
    assert_eq!(
        line("bob", &["-@all", "+@all", "-get"]),
        "user bob off resetchannels +@all -get"
    );
    assert_eq!(
        line("q5", &["%R~a", "%W~a", "~b", "%R~b"]),
        "user q5 off ~a ~b resetchannels -@all"
    );
    assert_eq!(line("r1", &["%R"]), "user r1 off %R~ resetchannels -@all");
    assert_eq!(
        line("r8", &["reset"]),
        "user r8 off sanitize-payload resetchannels -@all"
    );
    assert_eq!(
        line("r9", &[">a", "nopass"]),
        "user r9 off nopass resetchannels -@all"
    );
    assert_eq!(
        line("r7", &["%RW~x", "%R~y", "nopass", ">a", ">b", "<a", "skip-sanitize-payload", "on"]),
        "user r7 on skip-sanitize-payload #3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d ~x %R~y resetchannels -@all"
    );
    assert_eq!(
        line("q2", &["(+get", "~x)", "(", "+set", ")"]),
        "user q2 off resetchannels -@all (~x resetchannels -@all +get) (resetchannels -@all +set)"
    );
}

#[test]
fn errors_match_redis() {
    let err = |rule: &str| user("q", &[rule]).err().unwrap_or_default();
    assert_eq!(err("%"), "Error in ACL SETUSER modifier '%': Syntax error");
    assert_eq!(
        err("%~x"),
        "Error in ACL SETUSER modifier '%~x': Syntax error"
    );
    assert_eq!(
        err("%RR~x"),
        "Error in ACL SETUSER modifier '%RR~x': Syntax error"
    );
    assert_eq!(
        err("+"),
        "Error in ACL SETUSER modifier '+': Unknown command or category name in ACL"
    );
    assert_eq!(
        err("+@"),
        "Error in ACL SETUSER modifier '+@': Unknown command or category name in ACL"
    );
    assert_eq!(
        err("(on)"),
        "Error in ACL SETUSER modifier '(on)': Syntax error"
    );
    assert_eq!(
        err("+get|"),
        "Error in ACL SETUSER modifier '+get|': Syntax error"
    );
    assert_eq!(
        err("+config|get|x"),
        "Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg of a subcommand is not supported"
    );
    assert_eq!(
        err("+get|a|b"),
        "Error in ACL SETUSER modifier '+get|a|b': Unknown command or category name in ACL"
    );
    assert_eq!(
        err("#abc"),
        "Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
    );
    assert_eq!(
        err("<nope"),
        "Error in ACL SETUSER modifier '<nope': The password you are trying to remove from the user does not exist"
    );
    assert_eq!(
        user("q", &["(+get", "x"]).err().unwrap_or_default(),
        "Unmatched parenthesis in acl selector starting at '(+get'."
    );
    assert_eq!(
        user("q", &["~*", "~x"]).err().unwrap_or_default(),
        format!(
            "Error in ACL SETUSER modifier '~x': {}",
            AclError::AfterAllKeys.message()
        )
    );
    assert_eq!(
        user("q", &["&*", "&x"]).err().unwrap_or_default(),
        format!(
            "Error in ACL SETUSER modifier '&x': {}",
            AclError::AfterAllChannels.message()
        )
    );
    for ok in [
        "%R", "%rw~x", "~", "&", "()", "( )", "+GET", "-@ALL", "", "+get|foo",
    ] {
        assert!(user("q", &[ok]).is_ok(), "{ok}");
    }
}

#[test]
fn first_args_and_subcommands_are_described() {
    // redis-server printed "+get|foo +config|get" or the other order (hash order).
    let l = line("w", &["+config|get", "+get|foo"]);
    assert!(l.starts_with("user w off resetchannels -@all "), "{l}");
    let mut rules: Vec<&str> = l["user w off resetchannels -@all ".len()..]
        .split(' ')
        .collect();
    rules.sort_unstable();
    assert_eq!(rules, ["+config|get", "+get|foo"]);
}

fn argv(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

fn run(u: &User, words: &[&str], keys: &[(usize, KeySpecFlags)]) -> Result<(), Denied> {
    let id = find(words[0].as_bytes()).unwrap_or_default();
    check(u, id, &argv(words), || keys.to_vec())
}

#[test]
fn checks_pick_redis_relevant_denial() {
    let bob = user("bob", &["on", "~a*", "+@all", "-get", "(+get ~x)"])
        .unwrap_or_else(|_| User::new(b"x"));
    let read = crate::key_flags!(RO | ACCESS);
    // Root refuses the command, the selector the key: the key wins (redis-server's DRYRUN).
    assert_eq!(run(&bob, &["get", "k"], &[(1, read)]), Err(Denied::Key(1)));
    assert_eq!(run(&bob, &["get", "x"], &[(1, read)]), Ok(()));
    assert_eq!(run(&bob, &["get", "a1"], &[(1, read)]), Err(Denied::Key(1)));
    let k = user("k", &["on", "+@all", "%R~r*", "%W~w*"]).unwrap_or_else(|_| User::new(b"x"));
    let write = crate::key_flags!(RW | ACCESS | UPDATE);
    assert_eq!(
        run(&k, &["set", "r1", "x"], &[(1, write)]),
        Err(Denied::Key(1))
    );
    assert_eq!(run(&k, &["get", "r1"], &[(1, read)]), Ok(()));
    let copy = [(1, read), (2, crate::key_flags!(OW | UPDATE))];
    assert_eq!(run(&k, &["copy", "r1", "w1"], &copy), Ok(()));
    assert_eq!(run(&k, &["copy", "w1", "r1"], &copy), Err(Denied::Key(1)));
    let ch = user("ch", &["on", "&foo*", "+@all", "~*"]).unwrap_or_else(|_| User::new(b"x"));
    assert_eq!(run(&ch, &["publish", "foox", "m"], &[]), Ok(()));
    assert_eq!(
        run(&ch, &["publish", "bar", "m"], &[]),
        Err(Denied::Channel(1))
    );
    assert_eq!(
        run(&ch, &["psubscribe", "foo*", "fo*"], &[]),
        Err(Denied::Channel(2))
    );
    assert_eq!(
        run(&ch, &["subscribe", "foo1", "bar"], &[]),
        Err(Denied::Channel(2))
    );
    let fa = user("fa", &["on", "~*", "+select|0"]).unwrap_or_else(|_| User::new(b"x"));
    assert_eq!(run(&fa, &["select", "0"], &[]), Ok(()));
    assert_eq!(run(&fa, &["select", "1"], &[]), Err(Denied::Command));
    // AUTH is no_auth: always allowed.
    assert_eq!(run(&fa, &["auth", "x"], &[]), Ok(()));
}

#[test]
fn passwords() {
    let u = user("p", &["on", ">secret"]).unwrap_or_else(|_| User::new(b"x"));
    assert!(u.password_ok(b"secret"));
    assert!(!u.password_ok(b"other"));
    let off = user("p", &["off", "nopass"]).unwrap_or_else(|_| User::new(b"x"));
    assert!(!off.password_ok(b""));
}

#[test]
fn selector_arguments_split_like_sdssplitargs() {
    use super::user::split_args;
    assert_eq!(
        split_args(b" ~a  \"+get\" 'x y'"),
        Some(vec![b"~a".to_vec(), b"+get".to_vec(), b"x y".to_vec()])
    );
    assert_eq!(split_args(b"\"unclosed"), None);
}
