//! TLS for HTTP clients. reqwest is built without its default aws-lc provider (a costly C build);
//! rustls' ring provider is installed once, process-wide, before any client is built, so https
//! endpoints work.

use std::sync::Once;

pub fn install_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
