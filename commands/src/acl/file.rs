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

/// Parses an `aclfile` as Redis 7.0's `ACLLoadFromFile` does (`ACL LOAD`, and at start):
/// every line trimmed and split on single spaces, blank lines skipped; all of the file or
/// nothing. The default user is added (`on nopass ~* &* +@all`) when the file does not
/// define it.
///
/// # Errors
/// Redis's text naming every bad line by `filename:line`, ending with its warning that
/// nothing changed.
pub fn load(text: &str, filename: &str) -> Result<BTreeMap<Vec<u8>, User>, String> {
    let mut users = BTreeMap::new();
    let mut errors = String::new();
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = line.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if line.is_empty() {
            continue;
        }
        // sdssplitlen: every space separates, so two spaces make an empty word.
        let argv: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        if argv[0] != b"user" || argv.len() < 2 {
            errors.push_str(&format!(
                "{filename}:{n} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let name = argv[1];
        if !super::user::valid_username(name) {
            errors.push_str(&format!(
                "'{filename}:{n}: username '{}' contains invalid characters. ",
                String::from_utf8_lossy(name)
            ));
            continue;
        }
        if users.contains_key(name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {n}. ",
                String::from_utf8_lossy(name)
            ));
            continue;
        }
        let mut user = User::new(name);
        let merged = match super::user::merge_selector_args(&argv[2..]) {
            Ok(m) => m,
            Err(_) => {
                errors.push_str(&format!(
                    "{filename}:{n}: Unmatched parenthesis in selector definition."
                ));
                Vec::new()
            }
        };
        let mut syntax_error = false;
        for op in &merged {
            let op: &[u8] = {
                let t = op.as_slice();
                let start = t
                    .iter()
                    .position(|c| !matches!(c, b'\t' | b'\r' | b'\n'))
                    .unwrap_or(t.len());
                let end = t
                    .iter()
                    .rposition(|c| !matches!(c, b'\t' | b'\r' | b'\n'))
                    .map_or(start, |e| e + 1);
                &t[start..end.max(start)]
            };
            if let Err(e) = user.apply(op) {
                if e == super::user::AclError::UnknownCommand {
                    // Missing commands are named: nothing secret in them.
                    errors.push_str(&format!(
                        "{filename}:{n}: Error in applying operation '{}': {}. ",
                        String::from_utf8_lossy(op),
                        e.message()
                    ));
                } else if !syntax_error {
                    // Only the first other error: it may explain the ones after it.
                    errors.push_str(&format!("{filename}:{n}: {}. ", e.message()));
                    syntax_error = true;
                }
            }
        }
        users.insert(name.to_vec(), user);
    }
    if !errors.is_empty() {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        return Err(errors);
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

    /// The texts redis-server 7.0.15 answered `ACL LOAD` with for the same file.
    #[test]
    fn load_reports_every_bad_line_as_redis_does() {
        let text = "user default on nopass ~* &* +@all\nuser bad on +nosuch\nfoo bar\nuser x \"unbalanced\nuser alice on >pw ~k* +get\nuser alice off\nuser sp(ace on\nuser y (+get\n";
        assert_eq!(
            load(text, "/tmp/a.acl").err().as_deref(),
            Some("/tmp/a.acl:2: Error in applying operation '+nosuch': Unknown command or category name in ACL. /tmp/a.acl:3 should start with user keyword followed by the username. /tmp/a.acl:4: Syntax error. WARNING: Duplicate user 'alice' found on line 6. /tmp/a.acl:8: Unmatched parenthesis in selector definition.WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
        );
        assert_eq!(
            load("\n\n   \nuser   z   on   +get  \n", "f").err().as_deref(),
            Some("f:4: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
        );
        let ok = load("user alice on >pw ~k* +get\n", "f").unwrap_or_default();
        assert_eq!(ok.len(), 2);
        assert!(ok.contains_key(&b"default"[..]));
    }
}
