//! Which end of a connection this is.

/// Which end of the connection this is. Clients mask their frames; servers must not
/// (RFC 6455 section 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}
