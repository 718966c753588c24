//! The storage engine seam: traits and byte layouts with no RocksDB type, and an in-memory engine. (Being built.)
