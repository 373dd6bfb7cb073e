//! Helpers shared by the `ws` command's tests.
#![allow(dead_code, unreachable_pub)]

pub mod certs;
