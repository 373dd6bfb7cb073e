//! Closing (RFC 6455 section 7): the closing handshake, failing the connection, the timers
//! that bound both, and the one [`Event::Closed`] that ends every connection.

use alloc::string::String;

use super::Connection;
use crate::close::{CloseCode, CloseFrame};
use crate::closed::{CloseCause, Closed};
use crate::error::{ProtocolError, SendError};
use crate::frame::{OpCode, MAX_CONTROL_PAYLOAD};
use crate::message::Event;
use crate::role::Role;
use crate::time::Instant;
use crate::timer::Timer;

/// Why the connection is failing, kept until its Close frame can be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Failure {
    cause: CloseCause,
    code: CloseCode,
    reason: &'static str,
    /// The Close frame has been queued (or could not be) and the end reported.
    released: bool,
}

impl Connection {
    /// Starts the closing handshake (section 7.1.2) at time `now`: queues a Close frame with
    /// `code` and `reason` (at most 123 bytes of UTF-8) and starts the close timer.
    ///
    /// Received data is still delivered until the peer's Close frame arrives; then (server)
    /// the transport is to be closed, or (client) the server is given
    /// [`Config::close_timeout`](crate::Config::close_timeout) to close it. Without an answer
    /// within that time, the connection ends with [`CloseCause::CloseTimeout`].
    ///
    /// Next: write the output, then ask [`poll_timeout`](Self::poll_timeout).
    pub fn close(&mut self, code: CloseCode, reason: &str, now: Instant) -> Result<(), SendError> {
        if !code.is_sendable() {
            return Err(SendError::InvalidCloseCode(code.as_u16()));
        }
        if reason.len() > MAX_CONTROL_PAYLOAD - 2 {
            return Err(SendError::ControlPayloadTooLong);
        }
        self.check_can_send()?;
        self.closed_first_locally = !self.close_received;
        self.send_close(Some(code), reason);
        self.timers
            .set_after(Timer::Close, now, self.config.close_timeout);
        Ok(())
    }

    /// Reports that the transport reached end of stream (or failed: nothing more will
    /// arrive).
    ///
    /// After a closing handshake this completes it; otherwise the connection ends with
    /// [`CloseCause::TransportLost`] (code 1006).
    ///
    /// Next: drain [`poll_event`](Self::poll_event) ([`Event::Closed`] comes last) and close
    /// the transport.
    pub fn receive_eof(&mut self) {
        if self.eof_received {
            return;
        }
        self.eof_received = true;
        self.input_done = true;
        self.shutdown = true;
        self.timers.stop_all();
        if self.closed.is_some() || self.close_reply_pending {
            // Ended already, or ends when the pending Close reply is released.
            return;
        }
        if let Some(failure) = &self.failure {
            if !failure.released {
                return; // ends when the failure is released
            }
        }
        if self.close_received {
            // The client's wait for the server's end of stream is over.
            self.end_cleanly();
        } else {
            self.end(
                CloseCause::TransportLost,
                CloseCode::ABNORMAL,
                String::from("connection closed without a close frame"),
            );
        }
    }

    /// Tells the connection the current time. Spurious calls are harmless.
    ///
    /// Sends a keepalive Ping once the connection has been idle for
    /// [`Config::keepalive_interval`](crate::Config::keepalive_interval), fails it with 1011
    /// when the Ping is not answered in time ([`CloseCause::KeepaliveTimeout`]), and enforces
    /// the close timeout ([`CloseCause::CloseTimeout`]; on the client side after a closing
    /// handshake, the wait for the server to close the transport).
    ///
    /// Next: drain [`poll_event`](Self::poll_event), write the output, then ask
    /// [`poll_timeout`](Self::poll_timeout) again.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.expired(Timer::Close, now) {
            self.timers.stop_all();
            self.input_done = true;
            self.shutdown = true;
            if self.close_received {
                // Client side: the handshake completed but the server kept the TCP connection
                // open; section 7.1.1 lets the client close it now.
                self.end_cleanly();
            } else if self.closed.is_none() {
                // The peer never answered our Close frame.
                self.end(
                    CloseCause::CloseTimeout,
                    CloseCode::ABNORMAL,
                    String::from("closing handshake timed out"),
                );
            }
            return;
        }
        if self.timers.expired(Timer::Pong, now) {
            self.fail(Failure {
                cause: CloseCause::KeepaliveTimeout,
                code: CloseCode::INTERNAL_ERROR,
                reason: "no pong received in time",
                released: false,
            });
            return;
        }
        if self.timers.expired(Timer::Keepalive, now) {
            self.timers.stop(Timer::Keepalive);
            if !self.close_sent && self.failure.is_none() {
                self.write_frame(OpCode::Ping, true, 0, b"");
                self.timers
                    .set_after(Timer::Pong, now, self.config.keepalive_timeout);
            }
        }
    }

    /// The peer's Close frame arrived at `now`.
    pub(super) fn receive_close(&mut self, frame: Option<CloseFrame>, now: Instant) {
        self.close_received = true;
        self.close_received_at = now;
        self.input_done = true;
        self.timers.stop(Timer::Keepalive);
        self.timers.stop(Timer::Pong);
        self.peer_close = Some(match &frame {
            Some(frame) => (frame.code, frame.reason.clone()),
            None => (CloseCode::NO_STATUS, String::new()),
        });
        self.push_event(Event::Close(frame));
        self.close_reply_pending = true;
    }

    /// Fails the connection for a peer protocol error; returns the error for the caller.
    pub(super) fn fail_protocol(&mut self, error: ProtocolError) -> ProtocolError {
        self.fail(Failure {
            cause: CloseCause::Protocol(error),
            code: error.close_code(),
            reason: error.as_str(),
            released: false,
        });
        error
    }

    /// Fails the connection (section 7.1.7): discards further input; once the events decoded
    /// before the failure have been taken, queues a Close frame with the failure's code
    /// (unless one was sent), schedules closing the transport and ends the connection.
    fn fail(&mut self, failure: Failure) {
        if self.failure.is_some() || self.closed.is_some() {
            return;
        }
        self.failure = Some(failure);
        self.input_done = true;
        self.timers.stop_all();
    }

    /// Called when the application has seen every event: queues the Close frame that a
    /// failure or the peer's Close frame called for, so that what the application sent in
    /// response to earlier events goes out first (section 5.5.1: an endpoint "MAY delay
    /// sending a Close frame until its current message is sent").
    #[cold]
    #[inline(never)]
    pub(super) fn release_close(&mut self) {
        if let Some(failure) = self.failure.as_mut() {
            if failure.released {
                return;
            }
            failure.released = true;
            let failure = *failure;
            self.close_reply_pending = false;
            if !self.close_sent && failure.code.is_sendable() {
                self.send_close(Some(failure.code), failure.reason);
            }
            self.shutdown = true;
            self.end(failure.cause, failure.code, String::from(failure.reason));
            return;
        }
        if !self.close_reply_pending {
            return;
        }
        self.close_reply_pending = false;
        if !self.close_sent {
            // "If an endpoint receives a Close frame and did not previously send a Close frame,
            // the endpoint MUST send a Close frame in response ... typically echoing the status
            // code it received." (section 5.5.1)
            let code = self
                .peer_close
                .as_ref()
                .map(|(code, _)| *code)
                .filter(|code| *code != CloseCode::NO_STATUS);
            self.send_close(code, "");
        }
        match self.role {
            // "The server MUST close the underlying TCP connection immediately" once the
            // closing handshake is complete (section 7.1.1).
            Role::Server => {
                self.shutdown = true;
                self.timers.stop_all();
                self.end_cleanly();
            }
            Role::Client if self.eof_received => self.end_cleanly(),
            // The client waits for the server to close the TCP connection, for at most the
            // close timeout from the arrival of the server's Close frame.
            Role::Client => {
                let at = self.close_received_at;
                self.timers
                    .set_after(Timer::Close, at, self.config.close_timeout);
            }
        }
    }

    /// Queues a Close frame.
    fn send_close(&mut self, code: Option<CloseCode>, reason: &str) {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = match code {
            Some(code) => {
                payload[..2].copy_from_slice(&code.as_u16().to_be_bytes());
                payload[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
                2 + reason.len()
            }
            None => 0,
        };
        self.write_frame(OpCode::Close, true, 0, &payload[..len]);
        self.close_sent = true;
        self.timers.stop(Timer::Keepalive);
        self.timers.stop(Timer::Pong);
    }

    /// The closing handshake completed: who started it decides the cause.
    fn end_cleanly(&mut self) {
        let cause = if self.closed_first_locally {
            CloseCause::LocalClose
        } else {
            CloseCause::PeerClose
        };
        let (code, reason) = self
            .peer_close
            .clone()
            .unwrap_or((CloseCode::NO_STATUS, String::new()));
        self.end(cause, code, reason);
    }

    /// Ends the connection: records how, and reports it as the last event.
    fn end(&mut self, cause: CloseCause, code: CloseCode, reason: String) {
        if self.closed.is_some() {
            return;
        }
        self.input_done = true;
        let closed = Closed {
            code,
            reason,
            cause,
        };
        self.closed = Some(closed.clone());
        self.push_event(Event::Closed(closed));
    }
}
