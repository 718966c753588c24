//! The ACL file format (Redis's `aclfile`): one `user <name> <rules…>` line per user, as
//! `ACL LIST` prints it. storaged persists the deployment's table in it and sends it to
//! proxies in it.

use std::collections::BTreeMap;

use super::describe::list_line;
use super::user::User;

/// The table as ACL file text, users in name order.
pub fn to_text<'a>(users: impl IntoIterator<Item = &'a User>) -> String {
    let mut s = String::new();
    for u in users {
        s.push_str(&list_line(u));
        s.push('\n');
    }
    s
}

/// Parses ACL file text as Redis's `ACLLoadFromFile` does: lines split on spaces,
/// selectors merged, every rule applied to a new user. The default user is added (`on
/// nopass ~* &* +@all`) when the text does not define it.
///
/// # Errors
/// The first bad line, with Redis's reason.
pub fn parse(text: &str) -> Result<BTreeMap<Vec<u8>, User>, String> {
    let mut users = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_matches(|c| c == ' ' || c == '\t' || c == '\r');
        if line.is_empty() {
            continue;
        }
        let words: Vec<&[u8]> = line
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::as_bytes)
            .collect();
        if words.len() < 2 || words[0] != b"user" {
            return Err(format!(
                "line {}: should start with user keyword followed by the username",
                i + 1
            ));
        }
        let u = User::new(words[1])
            .with_rules(&words[2..])
            .map_err(|e| format!("line {}: {e}", i + 1))?;
        users.insert(words[1].to_vec(), u);
    }
    users
        .entry(b"default".to_vec())
        .or_insert_with(User::default_user);
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_format_round_trips() {
        let mut users = parse("").unwrap_or_default();
        let bob = User::new(b"bob")
            .with_rules(&[
                b"on",
                b">x",
                b"~a*",
                b"%R~b",
                b"&c",
                b"+@read",
                b"-get",
                b"+select|0",
                b"(+set ~s*)",
            ])
            .unwrap_or_else(|_| User::new(b"bob"));
        users.insert(b"bob".to_vec(), bob.clone());
        let again = parse(&to_text(users.values())).unwrap_or_default();
        assert_eq!(again.get(&b"bob"[..]), Some(&bob));
        assert_eq!(again.get(&b"default"[..]), Some(&User::default_user()));
        assert!(parse("nonsense here\n").is_err());
        assert!(parse("user x +nosuch\n").is_err());
    }
}
