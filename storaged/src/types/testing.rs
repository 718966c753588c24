//! Test support for the type modules: an engine with its writer, driven the way the
//! executor drives it (each write in its own committed group, reads against committed
//! state). Each module wraps [`TestDb`] in its own `Db` to add its type's helpers.
//!
//! The engine is the in-memory one by default ([`TestDb::open`]): no temp dir, no
//! RocksDB, so model tests run thousands of cases in seconds. [`TestDb::open_rocks`] gives
//! the same harness over RocksDB in a temp dir, for the run of each model test that keeps
//! the real engine honest and for tests of what only RocksDB has (the record cache, the
//! socket thread's in-memory views).

use tandem_engine::{KvEngine, MemoryEngine};

use crate::engine::group::{WriteGroup, Writer};
use crate::engine::now_ms;
use crate::types::At;

/// Cases each type's model property test runs on the memory engine in the default test
/// run (the RocksDB run of the same test keeps its own, smaller count).
pub const MODEL_CASES: u32 = 2_000;

/// See the module docs.
pub struct TestDb<E: KvEngine = MemoryEngine> {
    pub engine: E,
    pub writer: Writer<E>,
    /// A RocksDB engine's directory, removed after the engine closes (fields drop in
    /// declaration order, so it is declared after them).
    _dir: Option<tempfile::TempDir>,
}

/// Database 0 at the current time.
pub fn at() -> At {
    At {
        db: 0,
        now_ms: now_ms(),
    }
}

impl TestDb<MemoryEngine> {
    /// A fresh in-memory engine.
    pub fn open() -> TestDb<MemoryEngine> {
        let engine = MemoryEngine::new();
        TestDb {
            writer: Writer::new(engine.clone()),
            engine,
            _dir: None,
        }
    }

    /// A fresh RocksDB engine on a temp dir with small caches. Its type stays opaque: the
    /// type tests see it through the seam's traits only.
    pub fn open_rocks() -> TestDb<impl KvEngine> {
        let (dir, engine) = crate::engine::open_temp();
        TestDb::with_dir(engine, dir)
    }
}

impl<E: KvEngine> TestDb<E> {
    /// A harness over `engine`, which lives in `dir` (removed after the engine closes).
    pub fn with_dir(engine: E, dir: tempfile::TempDir) -> TestDb<E> {
        TestDb {
            writer: Writer::new(engine.clone()),
            engine,
            _dir: Some(dir),
        }
    }

    /// [`at`], for tests that ask the database.
    pub fn at(&self) -> At {
        at()
    }

    /// Runs `f` in a write group and commits it.
    pub fn write<R>(&mut self, f: impl FnOnce(&mut WriteGroup<'_, E>, At) -> R) -> R {
        let mut g = self.writer.begin();
        let r = f(&mut g, at());
        g.commit().expect("commit");
        r
    }

    /// Runs `f` against committed state.
    pub fn read<R>(&self, f: impl FnOnce(&E, At) -> R) -> R {
        f(&self.engine, at())
    }
}

/// Gives a module's `Db<E>(TestDb<E>)` wrapper the [`TestDb`] methods and fields.
macro_rules! test_db_wrapper {
    ($name:ident) => {
        impl<E: tandem_engine::KvEngine> std::ops::Deref for $name<E> {
            type Target = $crate::types::testing::TestDb<E>;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }
        impl<E: tandem_engine::KvEngine> std::ops::DerefMut for $name<E> {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.0
            }
        }
    };
}
pub(crate) use test_db_wrapper;
