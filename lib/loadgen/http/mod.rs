//! How to send: the HTTP clients (a lean HTTP/1.1 path and reqwest), per-chunk receive stamps,
//! SSE parsing, `--url` replicas, request cancellation, and the exchange record of one request.

pub mod cancel;
pub mod client;
pub mod h1;
pub mod replicas;
pub mod rx_stamp;
pub mod sse;
