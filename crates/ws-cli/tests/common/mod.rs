//! Helpers shared by the `ws` command's tests.
#![allow(dead_code, unreachable_pub)]

#[path = "../../../ws-std/tests/common/certs.rs"]
pub mod certs;
