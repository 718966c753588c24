//! Typed bitsets for what Redis 7 reports as strings: command flags (`COMMAND INFO`'s third
//! field), ACL categories (its seventh) and key-spec flags. Each bitset lists its names in
//! the order Redis prints them, so a reply built from it matches redis-server's byte for
//! byte; code routes on the bits, never on the names.
//!
//! The table spells a set with the [`flags!`](crate::flags!), [`acl!`](crate::acl!) and
//! [`key_flags!`](crate::key_flags!) macros, e.g. `flags!(WRITE | DENYOOM | FAST)`.

/// Defines a `u64` bitset with named constants and the printed names in declaration order.
macro_rules! bitset {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$cmeta:meta])* $konst:ident = $bit:literal, $text:literal, $shown:literal; )* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(u64);

        impl $name {
            /// No bit set.
            pub const EMPTY: $name = $name(0);
            $( $(#[$cmeta])* pub const $konst: $name = $name(1 << $bit); )*

            /// Every bit with its name and whether Redis prints it, in Redis's order.
            const NAMES: &'static [($name, &'static str, bool)] = &[ $( ($name(1 << $bit), $text, $shown), )* ];

            /// This set plus `other` (`const`, for the table).
            pub const fn with(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }

            /// True when every bit of `other` is set here.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// True when no bit is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// The names Redis prints for this set, in Redis's order (hidden bits left out).
            pub fn names(self) -> impl Iterator<Item = &'static str> {
                Self::NAMES
                    .iter()
                    .filter(move |(bit, _, shown)| *shown && self.contains(*bit))
                    .map(|(_, text, _)| *text)
            }

            /// The bit printed as `name` (ASCII case ignored), if any.
            pub fn from_name(name: &str) -> Option<$name> {
                Self::NAMES
                    .iter()
                    .find(|(_, text, _)| text.eq_ignore_ascii_case(name))
                    .map(|(bit, _, _)| *bit)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_list()
                    .entries(Self::NAMES.iter().filter(|(bit, _, _)| self.contains(*bit)).map(|(_, t, _)| t))
                    .finish()
            }
        }
    };
}

bitset! {
    /// Redis 7 command flags. Printed names and order are redis-server's
    /// (`addReplyFlagsForCommand`); `may_replicate`, `sentinel` and `only_sentinel` are
    /// hidden there and here, and the table sets only flags redis-server prints (the hidden
    /// ones cannot be checked against it).
    Flags {
        WRITE = 0, "write", true;
        READONLY = 1, "readonly", true;
        DENYOOM = 2, "denyoom", true;
        MODULE = 3, "module", true;
        ADMIN = 4, "admin", true;
        PUBSUB = 5, "pubsub", true;
        /// Refused inside a script (`redis.call`).
        NOSCRIPT = 6, "noscript", true;
        BLOCKING = 7, "blocking", true;
        LOADING = 8, "loading", true;
        STALE = 9, "stale", true;
        SKIP_MONITOR = 10, "skip_monitor", true;
        SKIP_SLOWLOG = 11, "skip_slowlog", true;
        ASKING = 12, "asking", true;
        FAST = 13, "fast", true;
        NO_AUTH = 14, "no_auth", true;
        MAY_REPLICATE = 15, "may_replicate", false;
        SENTINEL = 16, "sentinel", false;
        ONLY_SENTINEL = 17, "only_sentinel", false;
        NO_MANDATORY_KEYS = 18, "no_mandatory_keys", true;
        NO_ASYNC_LOADING = 19, "no_async_loading", true;
        NO_MULTI = 20, "no_multi", true;
        MOVABLEKEYS = 21, "movablekeys", true;
        ALLOW_BUSY = 22, "allow_busy", true;
    }
}

bitset! {
    /// ACL categories, printed with an `@` prefix in Redis's order (`ACLCommandCategories`).
    AclCategories {
        KEYSPACE = 0, "@keyspace", true;
        READ = 1, "@read", true;
        WRITE = 2, "@write", true;
        SET = 3, "@set", true;
        SORTEDSET = 4, "@sortedset", true;
        LIST = 5, "@list", true;
        HASH = 6, "@hash", true;
        STRING = 7, "@string", true;
        BITMAP = 8, "@bitmap", true;
        HYPERLOGLOG = 9, "@hyperloglog", true;
        GEO = 10, "@geo", true;
        STREAM = 11, "@stream", true;
        PUBSUB = 12, "@pubsub", true;
        ADMIN = 13, "@admin", true;
        FAST = 14, "@fast", true;
        SLOW = 15, "@slow", true;
        BLOCKING = 16, "@blocking", true;
        DANGEROUS = 17, "@dangerous", true;
        CONNECTION = 18, "@connection", true;
        TRANSACTION = 19, "@transaction", true;
        SCRIPTING = 20, "@scripting", true;
    }
}

bitset! {
    /// Flags of one key spec (what the command does to the keys it finds), in Redis's order.
    KeySpecFlags {
        RO = 0, "RO", true;
        RW = 1, "RW", true;
        OW = 2, "OW", true;
        RM = 3, "RM", true;
        ACCESS = 4, "access", true;
        UPDATE = 5, "update", true;
        INSERT = 6, "insert", true;
        DELETE = 7, "delete", true;
        NOT_KEY = 8, "not_key", true;
        INCOMPLETE = 9, "incomplete", true;
        VARIABLE_FLAGS = 10, "variable_flags", true;
    }
}

bitset! {
    /// Flags of a documented argument (`COMMAND DOCS`), in Redis's order.
    ArgFlags {
        OPTIONAL = 0, "optional", true;
        MULTIPLE = 1, "multiple", true;
        MULTIPLE_TOKEN = 2, "multiple_token", true;
    }
}

/// A [`Flags`] set: `flags!(WRITE | DENYOOM)`, or `flags!()` for none.
#[macro_export]
macro_rules! flags {
    () => { $crate::flags::Flags::EMPTY };
    ($($f:ident)|+) => { $crate::flags::Flags::EMPTY $(.with($crate::flags::Flags::$f))+ };
}

/// An [`AclCategories`] set: `acl!(WRITE | STRING | FAST)`.
#[macro_export]
macro_rules! acl {
    () => { $crate::flags::AclCategories::EMPTY };
    ($($f:ident)|+) => { $crate::flags::AclCategories::EMPTY $(.with($crate::flags::AclCategories::$f))+ };
}

/// A [`KeySpecFlags`] set: `key_flags!(RW | ACCESS | UPDATE)`.
#[macro_export]
macro_rules! key_flags {
    () => { $crate::flags::KeySpecFlags::EMPTY };
    ($($f:ident)|+) => { $crate::flags::KeySpecFlags::EMPTY $(.with($crate::flags::KeySpecFlags::$f))+ };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_out_in_redis_order_whatever_the_spelling_order() {
        let f = flags!(FAST | DENYOOM | WRITE);
        assert_eq!(f.names().collect::<Vec<_>>(), ["write", "denyoom", "fast"]);
        let a = acl!(FAST | STRING | WRITE);
        assert_eq!(
            a.names().collect::<Vec<_>>(),
            ["@write", "@string", "@fast"]
        );
        assert_eq!(flags!().names().count(), 0);
    }

    #[test]
    fn hidden_flags_are_kept_but_not_printed() {
        let f = flags!(PUBSUB | MAY_REPLICATE | FAST);
        assert!(f.contains(Flags::MAY_REPLICATE));
        assert_eq!(f.names().collect::<Vec<_>>(), ["pubsub", "fast"]);
    }

    #[test]
    fn names_parse_back_ignoring_case() {
        assert_eq!(
            AclCategories::from_name("@SortedSet"),
            Some(AclCategories::SORTEDSET)
        );
        assert_eq!(Flags::from_name("movablekeys"), Some(Flags::MOVABLEKEYS));
        assert_eq!(Flags::from_name("nosuchflag"), None);
    }
}
