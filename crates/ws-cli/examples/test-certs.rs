//! Writes test certificates for `ws serve --tls-cert ... --tls-key ...` into a directory: a
//! CA (`ca.pem`) and a server certificate for `localhost` and `127.0.0.1` that it signed
//! (`cert.pem`, `key.pem`). For tests only (the browser test's https run): the CA's key is
//! thrown away, and nothing else is checked.
//!
//! ```text
//! cargo run -p ws-cli --example test-certs -- DIR
//! ```

#[path = "../../ws-tls/test-support/certs.rs"]
mod certs;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: test-certs DIR");
        return ExitCode::from(2);
    };
    match certs::write(&dir) {
        Ok(files) => {
            println!("{}", files.ca.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("test-certs: {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
