//! Negotiation of permessage-deflate (RFC 7692 sections 5 and 7.1): offers, responses and the
//! parameters agreed.

use alloc::vec::Vec;

use super::DeflateConfig;
use crate::error::HandshakeError;
use crate::handshake::{Accept, ClientRequest, ExtensionOffer, Request};

/// The extension token (RFC 7692 section 7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// The smallest LZ77 window size parameter, 2^8 bytes (RFC 7692 section 7.1.2.1).
pub const MIN_WINDOW_BITS: u8 = 8;
/// The largest LZ77 window size parameter, 2^15 bytes, also the default.
pub const MAX_WINDOW_BITS: u8 = 15;

/// `client_max_window_bits` in an offer: absent, present without a value, or with one
/// (RFC 7692 section 7.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ClientMaxWindowBits {
    /// Not sent: the server must not limit the client's window.
    Absent,
    /// Sent without a value: the client can honour a limit the server sets in its response.
    #[default]
    NoValue,
    /// Sent with a value N (8..=15): the client will use a window of at most 2^N bytes, and
    /// the server may set a smaller limit.
    Value(u8),
}

/// One `permessage-deflate` element a client offers (RFC 7692 section 5).
///
/// A client may send several, most preferred first ([`DeflateConfig::offers`]). The default is
/// what browsers send: `permessage-deflate; client_max_window_bits`.
///
/// ```
/// use ws_proto::extensions::deflate::{ClientMaxWindowBits, DeflateOffer};
/// let mut offer = DeflateOffer::default();
/// offer.server_max_window_bits = Some(10);
/// offer.client_no_context_takeover = true;
/// assert_eq!(
///     offer.to_extension().to_string(),
///     "permessage-deflate; client_no_context_takeover; server_max_window_bits=10; \
///      client_max_window_bits"
/// );
/// assert_eq!(DeflateOffer::parse(&offer.to_extension()), Ok(offer));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct DeflateOffer {
    /// Ask the server not to keep its LZ77 window between messages (section 7.1.1.1). A server
    /// that accepts the offer must agree.
    pub server_no_context_takeover: bool,
    /// Tell the server this client will not keep its window between messages (section
    /// 7.1.1.2). The client then keeps to it whatever the response says.
    pub client_no_context_takeover: bool,
    /// Ask the server to use a window of at most 2^N bytes, N in 8..=15 (section 7.1.2.1).
    pub server_max_window_bits: Option<u8>,
    /// Whether and how the server may limit the client's window (section 7.1.2.2).
    pub client_max_window_bits: ClientMaxWindowBits,
}

impl DeflateOffer {
    /// The offer as a `Sec-WebSocket-Extensions` element, parameters in a fixed order.
    pub fn to_extension(&self) -> ExtensionOffer {
        element(
            self.server_no_context_takeover,
            self.client_no_context_takeover,
            self.server_max_window_bits,
            self.client_max_window_bits,
        )
    }

    /// Parses a `permessage-deflate` element a client sent, strictly: an element with another
    /// name, an unknown or repeated parameter, or an invalid value is refused with the reason
    /// (RFC 7692 section 5: the server then declines that offer and may accept another).
    pub fn parse(element: &ExtensionOffer) -> Result<DeflateOffer, &'static str> {
        let p = Params::parse(element)?;
        Ok(DeflateOffer {
            server_no_context_takeover: p.server_no_context_takeover,
            client_no_context_takeover: p.client_no_context_takeover,
            server_max_window_bits: p.server_max_window_bits,
            client_max_window_bits: match p.client_max_window_bits {
                None => ClientMaxWindowBits::Absent,
                Some(None) => ClientMaxWindowBits::NoValue,
                Some(Some(bits)) => ClientMaxWindowBits::Value(bits),
            },
        })
    }

    fn check(&self) -> Result<(), HandshakeError> {
        let bad = |bits: u8| !(MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits);
        let client_bad =
            matches!(self.client_max_window_bits, ClientMaxWindowBits::Value(b) if bad(b));
        if self.server_max_window_bits.is_some_and(bad) || client_bad {
            return Err(HandshakeError::InvalidArgument(
                "permessage-deflate window bits must be 8 to 15",
            ));
        }
        Ok(())
    }
}

/// The permessage-deflate parameters in force on a connection, as agreed in the handshake.
///
/// The server's response element is [`to_extension`](Self::to_extension); a
/// [`Connection`](crate::Connection) applies them with
/// [`Connection::with_deflate`](crate::Connection::with_deflate). A window size that was not
/// negotiated is `None`, meaning the default 2^15 bytes.
///
/// ```
/// use ws_proto::extensions::deflate::DeflateParams;
/// let mut params = DeflateParams::default();
/// params.server_no_context_takeover = true;
/// params.client_max_window_bits = Some(12);
/// assert_eq!(
///     params.to_extension().to_string(),
///     "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"
/// );
/// assert_eq!(params.server_window_bits(), 15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct DeflateParams {
    /// The server starts every message with an empty LZ77 window.
    pub server_no_context_takeover: bool,
    /// The client starts every message with an empty LZ77 window.
    pub client_no_context_takeover: bool,
    /// The server's window is at most 2^N bytes.
    pub server_max_window_bits: Option<u8>,
    /// The client's window is at most 2^N bytes.
    pub client_max_window_bits: Option<u8>,
}

impl DeflateParams {
    /// The server's LZ77 window size parameter (15 when not negotiated).
    pub fn server_window_bits(&self) -> u8 {
        self.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS)
    }

    /// The client's LZ77 window size parameter (15 when not negotiated).
    pub fn client_window_bits(&self) -> u8 {
        self.client_max_window_bits.unwrap_or(MAX_WINDOW_BITS)
    }

    /// The response element a server sends for these parameters.
    pub fn to_extension(&self) -> ExtensionOffer {
        element(
            self.server_no_context_takeover,
            self.client_no_context_takeover,
            self.server_max_window_bits,
            self.client_max_window_bits
                .map_or(ClientMaxWindowBits::Absent, ClientMaxWindowBits::Value),
        )
    }

    /// Parses a server's response element strictly: unknown, repeated or invalid parameters,
    /// and `client_max_window_bits` without a value, are refused with the reason.
    pub fn parse_response(element: &ExtensionOffer) -> Result<DeflateParams, &'static str> {
        let p = Params::parse(element)?;
        let client_max_window_bits = match p.client_max_window_bits {
            None => None,
            // "... the server MUST include a value" in a response (section 7.1.2.2).
            Some(None) => return Err("client_max_window_bits without a value in a response"),
            Some(Some(bits)) => Some(bits),
        };
        Ok(DeflateParams {
            server_no_context_takeover: p.server_no_context_takeover,
            client_no_context_takeover: p.client_no_context_takeover,
            server_max_window_bits: p.server_max_window_bits,
            client_max_window_bits,
        })
    }

    /// Whether a response with these parameters answers `offer` correctly (section 7.1).
    pub(super) fn answers(&self, offer: &DeflateOffer) -> bool {
        // "the server MUST include the server_no_context_takeover extension parameter in the
        // corresponding extension negotiation response" (section 7.1.1.1)
        if offer.server_no_context_takeover && !self.server_no_context_takeover {
            return false;
        }
        // A server accepting an offer with server_max_window_bits=N answers with a value
        // <= N (section 7.1.2.1).
        if let Some(offered) = offer.server_max_window_bits {
            match self.server_max_window_bits {
                Some(answered) if answered <= offered => {}
                _ => return false,
            }
        }
        // "If a received extension negotiation offer doesn't have the client_max_window_bits
        // extension parameter, the corresponding extension negotiation response to the offer
        // MUST NOT include the client_max_window_bits extension parameter." (section 7.1.2.2)
        if let Some(answered) = self.client_max_window_bits {
            match offer.client_max_window_bits {
                ClientMaxWindowBits::Absent => return false,
                ClientMaxWindowBits::Value(offered) if answered > offered => return false,
                _ => {}
            }
        }
        true
    }
}

/// The four parameters of an element, each at most once.
#[derive(Default)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: Option<Option<u8>>,
}

impl Params {
    fn parse(element: &ExtensionOffer) -> Result<Params, &'static str> {
        if element.name != EXTENSION_NAME {
            return Err("not a permessage-deflate element");
        }
        let mut p = Params::default();
        let mut seen = [false; 4];
        for (name, value) in &element.params {
            let index = match name.as_str() {
                SERVER_NO_CONTEXT_TAKEOVER => 0,
                CLIENT_NO_CONTEXT_TAKEOVER => 1,
                SERVER_MAX_WINDOW_BITS => 2,
                CLIENT_MAX_WINDOW_BITS => 3,
                _ => return Err("unknown permessage-deflate parameter"),
            };
            if core::mem::replace(&mut seen[index], true) {
                return Err("repeated permessage-deflate parameter");
            }
            let value = value.as_deref();
            match index {
                0 | 1 => {
                    if value.is_some() {
                        return Err("no_context_takeover parameter with a value");
                    }
                    if index == 0 {
                        p.server_no_context_takeover = true;
                    } else {
                        p.client_no_context_takeover = true;
                    }
                }
                2 => {
                    let bits = value.ok_or("server_max_window_bits without a value")?;
                    p.server_max_window_bits = Some(parse_bits(bits)?);
                }
                _ => p.client_max_window_bits = Some(value.map(parse_bits).transpose()?),
            }
        }
        Ok(p)
    }
}

/// A `permessage-deflate` element with the parameters in a fixed order.
fn element(
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: ClientMaxWindowBits,
) -> ExtensionOffer {
    let mut e = ExtensionOffer::new(EXTENSION_NAME);
    if server_no_context_takeover {
        e = e.with_param(SERVER_NO_CONTEXT_TAKEOVER, None);
    }
    if client_no_context_takeover {
        e = e.with_param(CLIENT_NO_CONTEXT_TAKEOVER, None);
    }
    if let Some(bits) = server_max_window_bits {
        e = e.with_param(SERVER_MAX_WINDOW_BITS, Some(bits_str(bits)));
    }
    match client_max_window_bits {
        ClientMaxWindowBits::Absent => {}
        ClientMaxWindowBits::NoValue => e = e.with_param(CLIENT_MAX_WINDOW_BITS, None),
        ClientMaxWindowBits::Value(bits) => {
            e = e.with_param(CLIENT_MAX_WINDOW_BITS, Some(bits_str(bits)));
        }
    }
    e
}

/// A window bits value: a decimal integer in 8..=15 without leading zeros (section 7.1.2).
fn parse_bits(value: &str) -> Result<u8, &'static str> {
    const INVALID: &str = "window bits value is not an integer from 8 to 15";
    if value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) || value.len() > 2 {
        return Err(INVALID);
    }
    match value.parse::<u8>() {
        Ok(bits) if (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits) => Ok(bits),
        _ => Err(INVALID),
    }
}

fn bits_str(bits: u8) -> &'static str {
    const NAMES: [&str; 16] = [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
    ];
    NAMES[usize::from(bits.min(15))]
}

impl DeflateConfig {
    /// The client's offers as `Sec-WebSocket-Extensions` elements, most preferred first; empty
    /// when [`enabled`](Self::enabled) is off.
    pub fn offers(&self) -> Vec<ExtensionOffer> {
        if !self.enabled {
            return Vec::new();
        }
        self.offers.iter().map(DeflateOffer::to_extension).collect()
    }

    /// Client: adds [`offers`](Self::offers) to a handshake.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidArgument`] if an offer has a window size outside 8..=15.
    pub fn offer(&self, mut handshake: ClientRequest) -> Result<ClientRequest, HandshakeError> {
        if !self.enabled {
            return Ok(handshake);
        }
        for offer in &self.offers {
            offer.check()?;
            handshake = handshake.extension(offer.to_extension())?;
        }
        Ok(handshake)
    }

    /// Client: the parameters in force after the server's response, or `None` if the server
    /// declined permessage-deflate. `agreed` is the extensions the response names,
    /// [`Response::extensions`](crate::handshake::Response::extensions);
    /// [`ClientHandshake`](crate::handshake::ClientHandshake) calls this itself.
    ///
    /// The response element must answer one of [`offers`](Self::offers) correctly (RFC 7692
    /// section 7.1); it is read as answering the most preferred offer it fits. The parameters
    /// returned include what the client keeps to on its own: the `client_no_context_takeover`
    /// and `client_max_window_bits=N` it offered.
    ///
    /// ```
    /// use ws_proto::extensions::deflate::DeflateConfig;
    /// use ws_proto::handshake::{ClientRequest, Limits};
    ///
    /// let config = DeflateConfig::default();
    /// let client = config.offer(ClientRequest::from_parts("example.com", "/", [7; 16])?)?;
    /// let mut request = Vec::new();
    /// client.write_request(&mut request);
    /// assert!(String::from_utf8_lossy(&request)
    ///     .contains("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"));
    ///
    /// let reply = format!(
    ///     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///      Sec-WebSocket-Accept: {}\r\n\
    ///      Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n",
    ///     std::str::from_utf8(&ws_proto::handshake::accept_key(client.key().as_bytes())).unwrap(),
    /// );
    /// let (response, _) = client.parse_response(reply.as_bytes(), Limits::default())?.complete().unwrap();
    /// let params = config.client_agreed(response.extensions())?.expect("accepted");
    /// assert_eq!(params.client_max_window_bits, Some(10));
    /// # Ok::<(), ws_proto::HandshakeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`HandshakeError::Extension`] when the response names permessage-deflate more than once,
    /// has an unknown, repeated or invalid parameter, or fits none of the offers (for example
    /// a `client_max_window_bits` that was not offered or a `server_max_window_bits` above the
    /// one offered). The client must then fail the connection.
    pub fn client_agreed(
        &self,
        agreed: &[ExtensionOffer],
    ) -> Result<Option<DeflateParams>, HandshakeError> {
        let mut elements = agreed.iter().filter(|e| e.name == EXTENSION_NAME);
        let Some(element) = elements.next() else {
            return Ok(None);
        };
        if elements.next().is_some() {
            return Err(HandshakeError::Extension(
                "permessage-deflate answered twice",
            ));
        }
        if !self.enabled || self.offers.is_empty() {
            return Err(HandshakeError::Extension(
                "permessage-deflate was not offered",
            ));
        }
        let mut params =
            DeflateParams::parse_response(element).map_err(HandshakeError::Extension)?;
        let offer = self
            .offers
            .iter()
            .find(|offer| params.answers(offer))
            .ok_or(HandshakeError::Extension(
                "permessage-deflate response does not fit any offer",
            ))?;
        // What the client promised in its offer, it keeps to (sections 7.1.1.2 and 7.1.2.2).
        params.client_no_context_takeover |= offer.client_no_context_takeover;
        if let ClientMaxWindowBits::Value(offered) = offer.client_max_window_bits {
            params.client_max_window_bits = Some(params.client_window_bits().min(offered));
        }
        Ok(Some(params))
    }

    /// Server: the parameters to accept for these offers, or `None` to decline
    /// permessage-deflate.
    ///
    /// Every `permessage-deflate` element is parsed; invalid ones are skipped and the first
    /// that the server's policy accepts wins (RFC 7692 section 5).
    pub(super) fn accept_offers(&self, offers: &[ExtensionOffer]) -> Option<DeflateParams> {
        if !self.enabled {
            return None;
        }
        offers
            .iter()
            .filter_map(|e| DeflateOffer::parse(e).ok())
            .find_map(|offer| self.server_answer(&offer))
    }

    /// Server: completes the application's [`Accept`] with permessage-deflate;
    /// [`ServerHandshake::accept`](crate::handshake::ServerHandshake::accept) calls this itself.
    /// When the application already answered the extension, its answer is used as is;
    /// otherwise the `permessage-deflate` offers of the request are parsed, invalid ones are
    /// skipped, the first that this configuration accepts wins (RFC 7692 section 5), and its
    /// answer is added to the accepted extensions.
    ///
    /// Returns the response to send and the parameters to build the connection with
    /// ([`Connection::with_deflate`](crate::Connection::with_deflate)), or `None` when
    /// permessage-deflate is declined.
    ///
    /// ```
    /// use ws_proto::extensions::deflate::DeflateConfig;
    /// use ws_proto::handshake::{HttpRequest, Limits};
    ///
    /// let request = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    ///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    ///     Sec-WebSocket-Version: 13\r\n\
    ///     Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9; foo, \
    ///     permessage-deflate; server_no_context_takeover\r\n\r\n";
    /// let (head, _) = HttpRequest::parse(request, Limits::default())?.complete().unwrap();
    /// let request = head.into_websocket()?;
    /// let config = DeflateConfig::default();
    /// // The first offer has an unknown parameter: the second is accepted.
    /// let (accept, params) = config.negotiate(&request, request.accept())?;
    /// let params = params.expect("accepted");
    /// assert_eq!(params.to_extension().to_string(), "permessage-deflate; server_no_context_takeover");
    /// assert_eq!(accept.selected_extensions(), [params.to_extension()]);
    /// # Ok::<(), ws_proto::HandshakeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidArgument`] if the application's own answer is not a valid
    /// permessage-deflate response: its mistake, answered with 500.
    pub fn negotiate(
        &self,
        request: &Request,
        accept: Accept,
    ) -> Result<(Accept, Option<DeflateParams>), HandshakeError> {
        let selected = accept.selected_extensions();
        if let Some(own) = selected.iter().find(|e| e.name == EXTENSION_NAME) {
            let params =
                DeflateParams::parse_response(own).map_err(HandshakeError::InvalidArgument)?;
            return Ok((accept, Some(params)));
        }
        let Some(params) = self.accept_offers(request.extensions()) else {
            return Ok((accept, None));
        };
        let mut extensions = selected.to_vec();
        extensions.push(params.to_extension());
        Ok((accept.extensions(extensions)?, Some(params)))
    }

    /// The server's answer to one valid offer under its policy, or `None` to decline it.
    fn server_answer(&self, offer: &DeflateOffer) -> Option<DeflateParams> {
        let own_bits = clamp_bits(self.server_max_window_bits);
        let server_max_window_bits = match offer.server_max_window_bits {
            Some(asked) if asked < self.min_server_max_window_bits => return None,
            Some(asked) => Some(asked.min(own_bits)),
            None if own_bits < MAX_WINDOW_BITS => Some(own_bits),
            None => None,
        };
        let client_bits = clamp_bits(self.client_max_window_bits);
        let client_max_window_bits = match offer.client_max_window_bits {
            ClientMaxWindowBits::Absent if client_bits < MAX_WINDOW_BITS => {
                if self.require_client_max_window_bits {
                    return None;
                }
                None
            }
            ClientMaxWindowBits::Absent => None,
            ClientMaxWindowBits::NoValue if client_bits < MAX_WINDOW_BITS => Some(client_bits),
            ClientMaxWindowBits::NoValue => None,
            ClientMaxWindowBits::Value(offered) => Some(offered.min(client_bits)),
        };
        Some(DeflateParams {
            server_no_context_takeover: offer.server_no_context_takeover
                || self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits,
            client_max_window_bits,
        })
    }
}

pub(super) fn clamp_bits(bits: u8) -> u8 {
    bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS)
}
