//! The application's side of the event loop.

use ws_proto::handshake::{Accept, HttpRequest, HttpResponse, Request};
use ws_proto::{Chunk, CloseCode, Message};

use crate::{ConnId, Ctx, Error};

/// The application: the event loop calls these methods as things happen, each with a
/// [`Ctx`] to send, broadcast, close or connect.
///
/// Every method has a default, so a handler implements only what it needs. One handler runs
/// per event loop (see [`Server::bind`](crate::Server::bind)); its methods run on the loop's
/// thread and must not block: a slow method delays every connection of the loop.
///
/// The life of a connection, as the handler sees it:
///
/// * server side: [`handshake`](Self::handshake) (accept or reject), or [`http`](Self::http)
///   for a request that is not a WebSocket upgrade; client side: the id returned by
///   [`Ctx::connect`];
/// * [`open`](Self::open), once the handshake succeeded;
/// * [`message`](Self::message) (or [`chunk`](Self::chunk) in stream mode) for each message,
///   [`drain`](Self::drain) when a slow consumer has caught up;
/// * [`error`](Self::error) when something went wrong: a failed handshake (then nothing else
///   follows; with TLS, a failed TLS handshake too), a protocol error, a timeout, a socket or
///   TLS error;
/// * [`close`](Self::close), exactly once for every connection that was opened, when the
///   WebSocket connection is closed. The id is then gone.
#[allow(unused_variables)]
pub trait Handler {
    /// The event loop started; `ctx` can open client connections here. Called once per loop.
    fn start(&mut self, ctx: &mut Ctx<'_>) {}

    /// A client asks to open a WebSocket connection: accept it (choosing a subprotocol and
    /// adding headers with the [`Accept`] builder) or refuse it with any HTTP response (a 401
    /// with `WWW-Authenticate` and a body, a 403, a redirect...).
    ///
    /// Default: accept any path and origin, with no subprotocol.
    fn handshake(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: ConnId,
        request: &Request,
    ) -> Result<Accept, HttpResponse> {
        Ok(request.accept())
    }

    /// A request that is not a WebSocket upgrade arrived (for example a browser's `GET /`):
    /// the response to send, after which the connection is closed.
    ///
    /// Default: `426 Upgrade Required` with `Upgrade: websocket`.
    fn http(&mut self, ctx: &mut Ctx<'_>, id: ConnId, request: &HttpRequest) -> HttpResponse {
        HttpResponse::new(426)
            .with_header("Upgrade", "websocket")
            .with_header("Sec-WebSocket-Version", "13")
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body("this is a WebSocket endpoint\n")
    }

    /// The connection is open: messages can be sent to `id`.
    fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {}

    /// A complete message arrived.
    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {}

    /// A piece of a message arrived, when
    /// [`Config::message_mode`](ws_proto::Config::message_mode) is
    /// [`MessageMode::Stream`](ws_proto::MessageMode::Stream).
    fn chunk(&mut self, ctx: &mut Ctx<'_>, id: ConnId, chunk: Chunk) {}

    /// A connection that reached [`Options::high_watermark`](crate::Options::high_watermark)
    /// has written its output down to the low watermark: it is read again, and the
    /// application may resume sending to it.
    fn drain(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {}

    /// Something went wrong on the connection. If it was open, [`close`](Self::close)
    /// follows; if the handshake failed, nothing does.
    fn error(&mut self, ctx: &mut Ctx<'_>, id: ConnId, error: &Error) {}

    /// A timer armed with [`Ctx::set_timer`](crate::Ctx::set_timer) is due: `token` is the
    /// one it was armed with.
    fn timer(&mut self, ctx: &mut Ctx<'_>, token: u64) {}

    /// The WebSocket connection is closed: `code` and `reason` are those of the peer's Close
    /// frame (1005 if it had no code), or, if none arrived, of the failure (1006 when the
    /// connection was lost, 1011 after a keepalive timeout, 1002 after a protocol error...).
    fn close(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: CloseCode, reason: &str) {}
}
