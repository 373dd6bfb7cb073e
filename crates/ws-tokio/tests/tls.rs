//! TLS (feature `tls`): see below.
