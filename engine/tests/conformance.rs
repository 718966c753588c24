//! The memory engine against the engine conformance checks (storaged runs the same checks
//! on RocksDB).

use tandem_engine::{conformance, MemoryEngine};

#[test]
fn memory_engine_conforms() {
    conformance::run_all(MemoryEngine::new);
}
