//! Helpers shared by the `ws` command's tests.
#![allow(dead_code, unreachable_pub)]

#[path = "../../../ws-tls/test-support/certs.rs"]
pub mod certs;
