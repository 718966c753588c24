//! The RESP2/RESP3 codec: pure, no I/O, no tokio. (Being moved here from proxy/src/resp.)
