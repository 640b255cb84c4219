//! ferry-load: the load generator of ferry's benchmark (`bench/run.sh`).
//!
//! Raw HTTP/1.1 keep-alive connections, one per worker, every request SigV4-signed the way the AWS
//! SDKs sign it, against endpoints on the loopback only. Each scenario prints one JSON line.
//! The pure parts (bodies, statistics, signing, wire encoding, bookkeeping of deliveries) live in
//! their own modules so they can be unit-tested; `client` and `scenario` do the I/O.

pub mod blackhole;
pub mod body;
pub mod client;
pub mod cpu;
pub mod endpoint;
pub mod scenario;
pub mod serve;
pub mod sign;
pub mod stats;
pub mod tracker;
pub mod wire;
