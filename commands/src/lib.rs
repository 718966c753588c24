//! The command registry and parsers both processes share: pure, no I/O, no tokio, no RocksDB. (Being built.)
