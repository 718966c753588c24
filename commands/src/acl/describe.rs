//! How Redis 7.0 prints a user: `ACL LIST`'s line (`ACLDescribeUser`) and `ACL GETUSER`'s
//! map. The command rules are not the rules the user was given but a reconstruction from
//! the permission bitmap (`ACLDescribeSelectorCommandRules`): `+@all` or `-@all` by the
//! future-commands bit, then greedily the categories that fit best, then single commands.
//! Redis walks its command dictionary in hash order, which changes with every process; here
//! single commands come in name order (the set of rules is the same).

use tandem_shared::Reply;

use super::table::{entries, CommandId};
use super::user::{KeyPattern, Selector, User, USER_FLAGS};
use crate::flags::AclCategories;

/// Every category in Redis's order, without the `@`.
pub fn categories() -> impl Iterator<Item = (AclCategories, &'static str)> {
    (0..64).filter_map(|bit| {
        let cat = category_bit(bit)?;
        let name = cat.names().next()?;
        Some((cat, &name[1..]))
    })
}

fn category_bit(bit: u32) -> Option<AclCategories> {
    // Walk the named bits through their names, keeping the type's invariants.
    let names = [
        "keyspace",
        "read",
        "write",
        "set",
        "sortedset",
        "list",
        "hash",
        "string",
        "bitmap",
        "hyperloglog",
        "geo",
        "stream",
        "pubsub",
        "admin",
        "fast",
        "slow",
        "blocking",
        "dangerous",
        "connection",
        "transaction",
        "scripting",
    ];
    let name = names.get(bit as usize)?;
    AclCategories::from_name(&format!("@{name}"))
}

fn count(sel: &Selector, cat: AclCategories) -> (u64, u64) {
    let (mut on, mut off) = (0, 0);
    for (i, e) in entries().iter().enumerate() {
        if e.command.acl.contains(cat) {
            if sel.bit(i as CommandId) {
                on += 1;
            } else {
                off += 1;
            }
        }
    }
    (on, off)
}

/// The command rules of a selector, as `ACL LIST` and `ACL GETUSER` show them.
pub fn command_rules(sel: &Selector) -> String {
    let mut rules = String::new();
    let additive = !sel.future;
    let mut fake = Selector::default();
    if additive {
        rules.push_str("-@all ");
        fake.all_commands(false);
    } else {
        rules.push_str("+@all ");
        fake.all_commands(true);
    }
    let mut temp = Selector {
        bits: sel.bits.clone(),
        ..Selector::default()
    };
    let cats: Vec<(AclCategories, &str)> = categories().collect();
    let mut applied = vec![false; cats.len()];
    loop {
        let mut best = None;
        let (mut mindiff, mut maxsame) = (u64::from(u32::MAX >> 1), 0);
        for (j, &(cat, _)) in cats.iter().enumerate() {
            if applied[j] {
                continue;
            }
            let (on, off) = count(&temp, cat);
            let (diff, same) = if additive { (off, on) } else { (on, off) };
            if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                best = Some(j);
                mindiff = diff;
                maxsame = same;
            }
        }
        let Some(j) = best else { break };
        let (cat, name) = cats[j];
        fake.set_category(cat, additive);
        temp.set_category(cat, !additive);
        rules.push_str(if additive { "+@" } else { "-@" });
        rules.push_str(name);
        rules.push(' ');
        applied[j] = true;
    }
    for (i, e) in entries().iter().enumerate() {
        let id = i as CommandId;
        let userbit = sel.bit(id);
        if userbit != fake.bit(id) {
            rules.push(if userbit { '+' } else { '-' });
            rules.push_str(e.command.name);
            rules.push(' ');
            fake.change_perm(id, userbit);
        }
        if !userbit {
            if let Some((_, args)) = sel.firstargs.iter().find(|(f, _)| *f == id) {
                for a in args {
                    rules.push('+');
                    rules.push_str(e.command.name);
                    rules.push('|');
                    rules.push_str(&String::from_utf8_lossy(a));
                    rules.push(' ');
                }
            }
        }
    }
    rules.pop();
    rules
}

fn pattern_text(p: &KeyPattern) -> String {
    let prefix = match (p.read, p.write) {
        (true, true) => "~",
        (true, false) => "%R~",
        _ => "%W~",
    };
    format!("{prefix}{}", String::from_utf8_lossy(&p.pattern))
}

/// `ACLDescribeSelector`: keys, channels, then command rules.
fn describe_selector(sel: &Selector) -> String {
    let mut s = String::new();
    if sel.allkeys {
        s.push_str("~* ");
    } else {
        for p in &sel.keys {
            s.push_str(&pattern_text(p));
            s.push(' ');
        }
    }
    if sel.allchannels {
        s.push_str("&* ");
    } else {
        s.push_str("resetchannels ");
        for c in &sel.channels {
            s.push('&');
            s.push_str(&String::from_utf8_lossy(c));
            s.push(' ');
        }
    }
    s.push_str(&command_rules(sel));
    s
}

/// What follows `user <name> ` in `ACL LIST` (and an ACL file).
pub fn describe_user(u: &User) -> String {
    let mut s = String::new();
    for &(flag, name) in USER_FLAGS {
        if u.flags & flag != 0 {
            s.push_str(name);
            s.push(' ');
        }
    }
    for p in &u.passwords {
        s.push('#');
        s.push_str(p);
        s.push(' ');
    }
    for (i, sel) in u.selectors.iter().enumerate() {
        if i == 0 {
            s.push_str(&describe_selector(sel));
        } else {
            s.push_str(" (");
            s.push_str(&describe_selector(sel));
            s.push(')');
        }
    }
    s
}

/// `ACL LIST`'s line for a user.
pub fn list_line(u: &User) -> String {
    format!(
        "user {} {}",
        String::from_utf8_lossy(&u.name),
        describe_user(u)
    )
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

fn selector_fields(sel: &Selector) -> Vec<(Reply, Reply)> {
    let keys = if sel.allkeys {
        "~*".to_owned()
    } else {
        sel.keys
            .iter()
            .map(pattern_text)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let channels = if sel.allchannels {
        "&*".to_owned()
    } else {
        sel.channels
            .iter()
            .map(|c| format!("&{}", String::from_utf8_lossy(c)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    vec![
        (bulk("commands"), bulk(&command_rules(sel))),
        (bulk("keys"), bulk(&keys)),
        (bulk("channels"), bulk(&channels)),
    ]
}

/// `ACL GETUSER`'s reply: a map (an array of pairs in RESP2) of flags (a set), passwords,
/// commands, keys, channels and selectors.
pub fn getuser_reply(u: &User) -> Reply {
    let flags = USER_FLAGS
        .iter()
        .filter(|(f, _)| u.flags & f != 0)
        .map(|(_, n)| bulk(n))
        .collect();
    let mut fields = vec![
        (bulk("flags"), Reply::Set(flags)),
        (
            bulk("passwords"),
            Reply::Array(u.passwords.iter().map(|p| bulk(p)).collect()),
        ),
    ];
    fields.extend(selector_fields(&u.selectors[0]));
    fields.push((
        bulk("selectors"),
        Reply::Array(
            u.selectors[1..]
                .iter()
                .map(|s| Reply::Map(selector_fields(s)))
                .collect(),
        ),
    ));
    Reply::Map(fields)
}
