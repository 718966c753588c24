//! Test support for the type modules: a temp-dir engine with its writer, driven the way the
//! executor drives it (each write in its own committed group, reads against committed
//! state). Each module wraps [`TestDb`] in its own `Db` to add its type's helpers.

use crate::engine::{now_ms, Engine, EngineOptions};
use crate::executor::{WriteGroup, Writer};
use crate::types::At;

/// See the module docs.
pub struct TestDb {
    _dir: tempfile::TempDir,
    pub engine: Engine,
    pub writer: Writer,
}

/// Database 0 at the current time.
pub fn at() -> At {
    At {
        db: 0,
        now_ms: now_ms(),
    }
}

impl TestDb {
    /// A fresh engine on a temp dir with small caches.
    pub fn open() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let opts = EngineOptions {
            block_cache_bytes: 8 << 20,
            write_buffer_bytes: 4 << 20,
            ..Default::default()
        };
        let engine = Engine::open(dir.path(), &opts).expect("engine opens");
        TestDb {
            _dir: dir,
            writer: Writer::new(engine.clone()),
            engine,
        }
    }

    /// [`at`], for tests that ask the database.
    pub fn at(&self) -> At {
        at()
    }

    /// Runs `f` in a write group and commits it.
    pub fn write<R>(&mut self, f: impl FnOnce(&mut WriteGroup<'_>, At) -> R) -> R {
        let mut g = self.writer.begin();
        let r = f(&mut g, at());
        g.commit().expect("commit");
        r
    }

    /// Runs `f` against committed state.
    pub fn read<R>(&self, f: impl FnOnce(&Engine, At) -> R) -> R {
        f(&self.engine, at())
    }
}

/// Gives a module's `Db(TestDb)` wrapper the [`TestDb`] methods and fields.
macro_rules! test_db_wrapper {
    ($name:ident) => {
        impl std::ops::Deref for $name {
            type Target = $crate::types::testing::TestDb;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }
        impl std::ops::DerefMut for $name {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.0
            }
        }
    };
}
pub(crate) use test_db_wrapper;
