//! A user and its selectors, and every rule `ACL SETUSER` accepts, applied as Redis 7.0's
//! `ACLSetUser`/`ACLSetSelector` apply them (same order of checks, same errors).

use super::sha256::sha256_hex;
use super::table::{entries, entry, find, CommandId, WORDS};
use crate::flags::AclCategories;

/// Why a rule was refused; [`AclError::message`] is Redis's `ACLSetUserStringError` text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclError {
    /// ENOENT.
    UnknownCommand,
    /// EINVAL.
    Syntax,
    /// EEXIST.
    AfterAllKeys,
    /// EISDIR.
    AfterAllChannels,
    /// ENODEV.
    NoSuchPassword,
    /// EBADMSG.
    BadHash,
    /// ECHILD.
    SubcommandFirstArg,
}

impl AclError {
    pub fn message(self) -> &'static str {
        match self {
            AclError::UnknownCommand => "Unknown command or category name in ACL",
            AclError::Syntax => "Syntax error",
            AclError::AfterAllKeys => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            AclError::AfterAllChannels => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            AclError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            AclError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            AclError::SubcommandFirstArg => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// A command permission bitmap over [`super::table`]'s ids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bits(pub(crate) [u64; WORDS]);

impl Bits {
    pub fn get(&self, id: CommandId) -> bool {
        let id = usize::from(id);
        self.0[id / 64] & (1 << (id % 64)) != 0
    }

    fn set(&mut self, id: CommandId, on: bool) {
        let id = usize::from(id);
        if on {
            self.0[id / 64] |= 1 << (id % 64);
        } else {
            self.0[id / 64] &= !(1 << (id % 64));
        }
    }
}

/// A key pattern and what it grants (`~` both, `%R~` read, `%W~` write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    pub pattern: Vec<u8>,
    pub read: bool,
    pub write: bool,
}

/// A set of permissions: the user's root one, or a `(…)` selector.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    pub(crate) allkeys: bool,
    pub(crate) allchannels: bool,
    /// Redis's SELECTOR_FLAG_ALLCOMMANDS: set by `+@all`, cleared by any removal.
    pub(crate) allcommands: bool,
    pub(crate) bits: Bits,
    /// Redis's reserved last bit: set only by `+@all`/`allcommands`, so the user may also
    /// run commands added later; decides whether a description starts `+@all` or `-@all`.
    pub(crate) future: bool,
    /// First arguments allowed for an otherwise denied command (`+select|0`), per id, in
    /// the order added.
    pub(crate) firstargs: Vec<(CommandId, Vec<Vec<u8>>)>,
    pub(crate) keys: Vec<KeyPattern>,
    pub(crate) channels: Vec<Vec<u8>>,
}

fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&c| c == 0 || matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
}

impl Selector {
    /// True after `+@all`/`allcommands` with nothing removed since.
    pub fn allows_every_command(&self) -> bool {
        self.allcommands
    }

    pub(crate) fn bit(&self, id: CommandId) -> bool {
        self.bits.get(id)
    }

    fn set_bit(&mut self, id: CommandId, on: bool) {
        self.bits.set(id, on);
        if !on {
            self.allcommands = false;
        }
    }

    fn reset_firstargs_for(&mut self, id: CommandId) {
        self.firstargs.retain(|(i, _)| *i != id);
    }

    /// Redis's `ACLChangeSelectorPerm`: the command and all its subcommands.
    pub(crate) fn change_perm(&mut self, id: CommandId, allow: bool) {
        self.set_bit(id, allow);
        self.reset_firstargs_for(id);
        for sub in entry(id).subs.clone() {
            self.set_bit(sub, allow);
        }
    }

    pub(crate) fn set_category(&mut self, cat: AclCategories, allow: bool) {
        for (i, e) in entries().iter().enumerate() {
            if e.command.acl.contains(cat) && !cat.is_empty() {
                self.change_perm(i as CommandId, allow);
            }
        }
    }

    pub(crate) fn all_commands(&mut self, allow: bool) {
        self.bits = if allow {
            Bits([u64::MAX; WORDS])
        } else {
            Bits::default()
        };
        self.future = allow;
        self.allcommands = allow;
        self.firstargs.clear();
    }

    fn add_firstarg(&mut self, id: CommandId, arg: &[u8]) {
        if let Some((_, args)) = self.firstargs.iter_mut().find(|(i, _)| *i == id) {
            if !args.iter().any(|a| a.eq_ignore_ascii_case(arg)) {
                args.push(arg.to_vec());
            }
        } else {
            self.firstargs.push((id, vec![arg.to_vec()]));
        }
    }

    /// One rule of a selector (Redis's `ACLSetSelector`).
    ///
    /// # Errors
    /// The reason Redis gives for refusing it.
    pub fn apply(&mut self, op: &[u8]) -> Result<(), AclError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("allkeys") || is("~*") {
            self.allkeys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.keys.clear();
        } else if is("allchannels") || is("&*") {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.all_commands(false);
        } else if op.first() == Some(&b'~') || op.first() == Some(&b'%') {
            if self.allkeys {
                return Err(AclError::AfterAllKeys);
            }
            let (mut read, mut write) = (false, false);
            let mut offset = 1;
            if op[0] == b'%' {
                while offset < op.len() {
                    let c = op[offset].to_ascii_uppercase();
                    if c == b'R' && !read {
                        read = true;
                    } else if c == b'W' && !write {
                        write = true;
                    } else if op[offset] == b'~' {
                        offset += 1;
                        break;
                    } else {
                        return Err(AclError::Syntax);
                    }
                    offset += 1;
                }
                if !read && !write {
                    return Err(AclError::Syntax);
                }
            } else {
                read = true;
                write = true;
            }
            let pattern = &op[offset.min(op.len())..];
            if has_spaces(pattern) {
                return Err(AclError::Syntax);
            }
            if let Some(p) = self.keys.iter_mut().find(|p| p.pattern == pattern) {
                p.read |= read;
                p.write |= write;
            } else {
                self.keys.push(KeyPattern {
                    pattern: pattern.to_vec(),
                    read,
                    write,
                });
            }
            self.allkeys = false;
        } else if op.first() == Some(&b'&') {
            if self.allchannels {
                return Err(AclError::AfterAllChannels);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(AclError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(pattern.to_vec());
            }
            self.allchannels = false;
        } else if op.first() == Some(&b'+') && op.get(1) != Some(&b'@') {
            let name = &op[1..];
            match name.iter().rposition(|&c| c == b'|') {
                None => {
                    let id = find(name).ok_or(AclError::UnknownCommand)?;
                    self.change_perm(id, true);
                }
                Some(bar) => {
                    let base = find(&name[..bar]).ok_or(AclError::UnknownCommand)?;
                    if entry(base).parent.is_some() {
                        return Err(AclError::SubcommandFirstArg);
                    }
                    let sub = &name[bar + 1..];
                    if sub.is_empty() {
                        return Err(AclError::Syntax);
                    }
                    if entry(base).subs.is_empty() {
                        // Redis logs a deprecation warning for this and allows it.
                        self.add_firstarg(base, sub);
                    } else {
                        let id = find(name).ok_or(AclError::UnknownCommand)?;
                        self.change_perm(id, true);
                    }
                }
            }
        } else if op.first() == Some(&b'-') && op.get(1) != Some(&b'@') {
            let id = find(&op[1..]).ok_or(AclError::UnknownCommand)?;
            self.change_perm(id, false);
        } else if matches!(op.first(), Some(b'+' | b'-')) && op.get(1) == Some(&b'@') {
            let cat = std::str::from_utf8(&op[2..])
                .ok()
                .and_then(category)
                .ok_or(AclError::UnknownCommand)?;
            self.set_category(cat, op[0] == b'+');
        } else {
            return Err(AclError::Syntax);
        }
        Ok(())
    }
}

/// A category by name (no `@`; ASCII case ignored).
pub fn category(name: &str) -> Option<AclCategories> {
    if name.is_empty() || name.starts_with('@') {
        return None;
    }
    AclCategories::from_name(&format!("@{name}"))
}

/// User flags, in the order Redis prints them.
pub(crate) const USER_FLAGS: &[(u8, &str)] = &[
    (User::ENABLED, "on"),
    (User::DISABLED, "off"),
    (User::NOPASS, "nopass"),
    (User::SKIP_SANITIZE, "skip-sanitize-payload"),
    (User::SANITIZE, "sanitize-payload"),
];

/// One ACL user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: Vec<u8>,
    pub(crate) flags: u8,
    /// SHA-256 hex of each password, in the order added.
    pub(crate) passwords: Vec<String>,
    /// The root selector first, then the `(…)` selectors in the order added.
    pub(crate) selectors: Vec<Selector>,
}

impl User {
    pub(crate) const ENABLED: u8 = 1;
    pub(crate) const DISABLED: u8 = 2;
    pub(crate) const NOPASS: u8 = 4;
    pub(crate) const SKIP_SANITIZE: u8 = 8;
    pub(crate) const SANITIZE: u8 = 16;

    /// A new user as `ACL SETUSER name` creates it: off, no passwords, no permissions.
    pub fn new(name: &[u8]) -> User {
        User {
            name: name.to_vec(),
            flags: User::DISABLED,
            passwords: Vec::new(),
            selectors: vec![Selector::default()],
        }
    }

    /// Redis's default user: `on nopass ~* &* +@all`.
    pub fn default_user() -> User {
        let mut u = User::new(b"default");
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            // These rules cannot fail.
            let _ = u.apply(op.as_bytes());
        }
        u
    }

    pub fn enabled(&self) -> bool {
        self.flags & User::ENABLED != 0
    }

    pub fn nopass(&self) -> bool {
        self.flags & User::NOPASS != 0
    }

    pub fn root(&self) -> &Selector {
        &self.selectors[0]
    }

    fn root_mut(&mut self) -> &mut Selector {
        &mut self.selectors[0]
    }

    /// True when every command, key and channel is allowed (the default user): checks can
    /// be skipped.
    pub fn unrestricted(&self) -> bool {
        let r = self.root();
        r.allcommands && r.allkeys && r.allchannels
    }

    /// Redis's `ACLCheckUserCredentials`: enabled, and nopass or one of the passwords.
    pub fn password_ok(&self, password: &[u8]) -> bool {
        if self.flags & User::DISABLED != 0 {
            return false;
        }
        if self.nopass() {
            return true;
        }
        let hashed = sha256_hex(password);
        // Compared without an early exit, as Redis's time_independent_strcmp.
        self.passwords.iter().fold(false, |found, p| {
            let diff = p
                .bytes()
                .zip(hashed.bytes())
                .fold(0u8, |d, (a, b)| d | (a ^ b));
            found | (diff == 0 && p.len() == hashed.len())
        })
    }

    /// One `ACL SETUSER` rule (Redis's `ACLSetUser`); a `(…)` selector comes as one rule.
    ///
    /// # Errors
    /// The reason Redis gives for refusing it.
    pub fn apply(&mut self, op: &[u8]) -> Result<(), AclError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("on") {
            self.flags = (self.flags | User::ENABLED) & !User::DISABLED;
        } else if is("off") {
            self.flags = (self.flags | User::DISABLED) & !User::ENABLED;
        } else if is("skip-sanitize-payload") {
            self.flags = (self.flags | User::SKIP_SANITIZE) & !User::SANITIZE;
        } else if is("sanitize-payload") {
            self.flags = (self.flags | User::SANITIZE) & !User::SKIP_SANITIZE;
        } else if is("nopass") {
            self.flags |= User::NOPASS;
            self.passwords.clear();
        } else if is("resetpass") {
            self.flags &= !User::NOPASS;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let pass = if op[0] == b'>' {
                sha256_hex(&op[1..])
            } else {
                valid_hash(&op[1..])?
            };
            if !self.passwords.contains(&pass) {
                self.passwords.push(pass);
            }
            self.flags &= !User::NOPASS;
        } else if op[0] == b'<' || op[0] == b'!' {
            let pass = if op[0] == b'<' {
                sha256_hex(&op[1..])
            } else {
                valid_hash(&op[1..])?
            };
            let at = self
                .passwords
                .iter()
                .position(|p| *p == pass)
                .ok_or(AclError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut selector = Selector::default();
            let inner = &op[1..op.len() - 1];
            // Redis splits the inside with sdssplitargs; an unbalanced quote leaves it empty.
            for word in split_args(inner).unwrap_or_default() {
                selector.apply(&word)?;
            }
            self.selectors.push(selector);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.flags &= !User::NOPASS;
            self.passwords.clear();
            let root = self.root_mut();
            root.allkeys = false;
            root.keys.clear();
            root.allchannels = false;
            root.channels.clear();
            self.flags = (self.flags | User::DISABLED) & !User::ENABLED;
            self.flags = (self.flags | User::SANITIZE) & !User::SKIP_SANITIZE;
            self.selectors.truncate(1);
            self.root_mut().all_commands(false);
        } else {
            self.root_mut().apply(op)?;
        }
        Ok(())
    }

    /// Applies `ACL SETUSER`'s arguments to a copy of this user, merging selectors written
    /// over several arguments first; the copy is returned only if every rule applies.
    ///
    /// # Errors
    /// Redis's whole error text.
    pub fn with_rules(&self, args: &[&[u8]]) -> Result<User, String> {
        let merged = merge_selector_args(args).map_err(|start| {
            format!(
                "Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(args[start])
            )
        })?;
        let mut user = self.clone();
        for op in &merged {
            user.apply(op).map_err(|e| {
                format!(
                    "Error in ACL SETUSER modifier '{}': {}",
                    String::from_utf8_lossy(op),
                    e.message()
                )
            })?;
        }
        Ok(user)
    }
}

fn valid_hash(hash: &[u8]) -> Result<String, AclError> {
    if hash.len() != 64 || !hash.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(AclError::BadHash);
    }
    Ok(String::from_utf8_lossy(hash).into_owned())
}

/// True when a user name is acceptable (`ACL SETUSER` refuses spaces and NULs).
pub fn valid_username(name: &[u8]) -> bool {
    !has_spaces(name)
}

/// Redis's `ACLMergeSelectorArguments`: an argument starting with `(` but not ending with
/// `)` opens a selector that runs, joined with spaces, to the argument ending with `)`.
///
/// # Errors
/// The index of the argument that opened an unclosed selector.
pub fn merge_selector_args(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, &op) in args.iter().enumerate() {
        if let Some((start, mut sel)) = open.take() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                out.push(sel);
            } else {
                open = Some((start, sel));
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((i, op.to_vec()));
            continue;
        }
        out.push(op.to_vec());
    }
    match open {
        Some((start, _)) => Err(start),
        None => Ok(out),
    }
}

/// Redis's `sdssplitargs`: words split on spaces, with "double" (escapes) and 'single'
/// quotes; `None` on unbalanced quotes or a closing quote not followed by a space.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut word = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            if inq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && hex(line[i + 2]).is_some()
                    && hex(line[i + 3]).is_some()
                {
                    word.push(hex(line[i + 2]).unwrap_or(0) * 16 + hex(line[i + 3]).unwrap_or(0));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    word.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    word.push(c);
                }
            } else if insq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    word.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    word.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => word.push(c),
                }
            }
            i += 1;
        }
        out.push(word);
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}
