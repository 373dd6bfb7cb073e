//! SOCKS5 `CONNECT` (RFC 1928) with optional username/password authentication (RFC 1929).

use alloc::vec::Vec;
use core::net::IpAddr;

use super::{ProxyError, Target};

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0x00;
const USER_PASS: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xff;
const CONNECT: u8 = 0x01;
const ATYP_V4: u8 = 0x01;
const ATYP_NAME: u8 = 0x03;
const ATYP_V6: u8 = 0x04;

/// The text of a SOCKS5 reply code (RFC 1928 section 6).
pub(super) fn reply_text(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure (1)",
        2 => "connection not allowed by ruleset (2)",
        3 => "network unreachable (3)",
        4 => "host unreachable (4)",
        5 => "connection refused (5)",
        6 => "TTL expired (6)",
        7 => "command not supported (7)",
        8 => "address type not supported (8)",
        _ => "unassigned reply code",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Waiting for the method selection.
    Method,
    /// Waiting for the username/password status.
    Auth,
    /// Waiting for the reply to `CONNECT`.
    Reply,
}

/// The client side of a SOCKS5 handshake.
#[derive(Debug)]
pub(super) struct Socks5 {
    step: Step,
    /// The `CONNECT` request, sent once authentication is settled.
    request: Vec<u8>,
    /// The RFC 1929 sub-negotiation, when credentials were given.
    auth: Option<Vec<u8>>,
}

impl Socks5 {
    /// Writes the greeting to `out`.
    pub(super) fn new(
        out: &mut Vec<u8>,
        target: Target,
        port: u16,
        credentials: Option<(&str, &str)>,
    ) -> Result<Socks5, ProxyError> {
        let mut request = alloc::vec![VERSION, CONNECT, 0];
        match target {
            Target::Ip(IpAddr::V4(ip)) => {
                request.push(ATYP_V4);
                request.extend_from_slice(&ip.octets());
            }
            Target::Ip(IpAddr::V6(ip)) => {
                request.push(ATYP_V6);
                request.extend_from_slice(&ip.octets());
            }
            Target::Name(name) => {
                request.push(ATYP_NAME);
                push_short(
                    &mut request,
                    &name,
                    "target host name is empty or over 255 bytes",
                )?;
            }
        }
        request.extend_from_slice(&port.to_be_bytes());
        let auth = match credentials {
            None => None,
            Some((user, pass)) => {
                let mut auth = alloc::vec![1];
                push_short(&mut auth, user, "SOCKS5 user is empty or over 255 bytes")?;
                push_short(
                    &mut auth,
                    pass,
                    "SOCKS5 password is empty or over 255 bytes",
                )?;
                Some(auth)
            }
        };
        if auth.is_some() {
            out.extend_from_slice(&[VERSION, 2, NO_AUTH, USER_PASS]);
        } else {
            out.extend_from_slice(&[VERSION, 1, NO_AUTH]);
        }
        Ok(Socks5 {
            step: Step::Method,
            request,
            auth,
        })
    }

    /// Consumes the complete messages at the start of `input`, queuing what to send next in
    /// `out`; `Ok(Some(n))` once the `CONNECT` reply, the first `n` bytes of what is left in
    /// `input`, has succeeded.
    pub(super) fn receive(
        &mut self,
        input: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<Option<usize>, ProxyError> {
        loop {
            match self.step {
                Step::Method => {
                    let Some(&[version, method]) = input.get(..2) else {
                        return Ok(None);
                    };
                    if version != VERSION {
                        return Err(ProxyError::BadReply("not a SOCKS5 method selection"));
                    }
                    input.drain(..2);
                    match method {
                        NO_AUTH => {
                            out.extend_from_slice(&self.request);
                            self.step = Step::Reply;
                        }
                        USER_PASS => {
                            let auth = self.auth.take().ok_or(ProxyError::BadReply(
                                "SOCKS5 proxy chose username/password, which was not offered",
                            ))?;
                            out.extend_from_slice(&auth);
                            self.step = Step::Auth;
                        }
                        NO_ACCEPTABLE if self.auth.is_some() => return Err(ProxyError::AuthFailed),
                        NO_ACCEPTABLE => return Err(ProxyError::AuthRequired),
                        _ => {
                            return Err(ProxyError::BadReply(
                                "SOCKS5 proxy chose a method that was not offered",
                            ))
                        }
                    }
                }
                Step::Auth => {
                    let Some(&[version, status]) = input.get(..2) else {
                        return Ok(None);
                    };
                    if version != 1 {
                        return Err(ProxyError::BadReply(
                            "not a SOCKS5 username/password status",
                        ));
                    }
                    if status != 0 {
                        return Err(ProxyError::AuthFailed);
                    }
                    input.drain(..2);
                    out.extend_from_slice(&self.request);
                    self.step = Step::Reply;
                }
                Step::Reply => return reply_length(input),
            }
        }
    }
}

/// The length of a complete, successful `CONNECT` reply at the start of `input`.
fn reply_length(input: &[u8]) -> Result<Option<usize>, ProxyError> {
    let Some(&[version, reply, reserved, atyp]) = input.get(..4) else {
        return Ok(None);
    };
    if version != VERSION {
        return Err(ProxyError::BadReply("not a SOCKS5 reply"));
    }
    if reply != 0 {
        return Err(ProxyError::SocksRefused(reply));
    }
    if reserved != 0 {
        return Err(ProxyError::BadReply(
            "SOCKS5 reply with a non-zero reserved byte",
        ));
    }
    let address = match atyp {
        ATYP_V4 => 4,
        ATYP_V6 => 16,
        ATYP_NAME => match input.get(4) {
            Some(&len) => 1 + usize::from(len),
            None => return Ok(None),
        },
        _ => {
            return Err(ProxyError::BadReply(
                "SOCKS5 reply with an unknown address type",
            ))
        }
    };
    let len = 4 + address + 2;
    Ok((input.len() >= len).then_some(len))
}

fn push_short(out: &mut Vec<u8>, s: &str, why: &'static str) -> Result<(), ProxyError> {
    let len = u8::try_from(s.len()).map_err(|_| ProxyError::InvalidRequest(why))?;
    if len == 0 {
        return Err(ProxyError::InvalidRequest(why));
    }
    out.push(len);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Progress, ProxyHandshake, ProxyUrl};
    use super::*;

    fn start(url: &str, target: Target) -> (ProxyHandshake, Vec<u8>) {
        let mut h = ProxyHandshake::new(&ProxyUrl::parse(url).unwrap(), target, 0x1f90).unwrap();
        let mut out = Vec::new();
        h.poll_transmit(&mut out);
        (h, out)
    }

    fn sent(h: &mut ProxyHandshake) -> Vec<u8> {
        let mut out = Vec::new();
        h.poll_transmit(&mut out);
        out
    }

    #[test]
    fn no_auth_with_a_name() {
        let (mut h, greeting) = start("socks5h://p", Target::Name("ws.example".into()));
        assert_eq!(greeting, [5, 1, 0]);
        assert_eq!(h.receive_data(&[5, 0]), Ok(Progress::NeedMore));
        let mut request = alloc::vec![5, 1, 0, 3, 10];
        request.extend_from_slice(b"ws.example");
        request.extend_from_slice(&[0x1f, 0x90]);
        assert_eq!(sent(&mut h), request);
        assert_eq!(
            h.receive_data(&[5, 0, 0, 1, 127, 0]),
            Ok(Progress::NeedMore)
        );
        assert_eq!(
            h.receive_data(&[0, 1, 0x1f, 0x90, b'H', b'T']),
            Ok(Progress::Ready(b"HT".to_vec()))
        );
    }

    #[test]
    fn user_pass_with_addresses() {
        let (mut h, greeting) = start("socks5://u:pw@p", Target::Ip("10.1.2.3".parse().unwrap()));
        assert_eq!(greeting, [5, 2, 0, 2]);
        assert_eq!(h.receive_data(&[5, 2]), Ok(Progress::NeedMore));
        assert_eq!(sent(&mut h), [1, 1, b'u', 2, b'p', b'w']);
        assert_eq!(h.receive_data(&[1, 0]), Ok(Progress::NeedMore));
        assert_eq!(sent(&mut h), [5, 1, 0, 1, 10, 1, 2, 3, 0x1f, 0x90]);
        let mut reply = alloc::vec![5, 0, 0, 4];
        reply.extend_from_slice(&[0; 18]);
        assert_eq!(h.receive_data(&reply), Ok(Progress::Ready(Vec::new())));

        let (_, _) = start("socks5://p", Target::Ip("::1".parse().unwrap()));
        let (mut h, _) = start("socks5://p", Target::Ip("::1".parse().unwrap()));
        h.receive_data(&[5, 0]).unwrap();
        let mut request = alloc::vec![5, 1, 0, 4];
        request.extend_from_slice(&"::1".parse::<core::net::Ipv6Addr>().unwrap().octets());
        request.extend_from_slice(&[0x1f, 0x90]);
        assert_eq!(sent(&mut h), request);
    }

    #[test]
    fn the_whole_exchange_in_one_read() {
        // Method, auth status and reply together: each step is consumed in turn.
        let (mut h, _) = start("socks5://u:p@p", Target::Name("h".into()));
        let all = [5, 2, 1, 0, 5, 0, 0, 3, 1, b'x', 0, 80, 9];
        assert_eq!(h.receive_data(&all), Ok(Progress::Ready(alloc::vec![9])));
    }

    #[test]
    fn failures() {
        let cases: [(&str, &[u8], ProxyError); 9] = [
            ("socks5://p", &[5, 0xff], ProxyError::AuthRequired),
            ("socks5://u:p@p", &[5, 0xff], ProxyError::AuthFailed),
            ("socks5://u:p@p", &[5, 2, 1, 1], ProxyError::AuthFailed),
            (
                "socks5://p",
                &[5, 2],
                ProxyError::BadReply("SOCKS5 proxy chose username/password, which was not offered"),
            ),
            (
                "socks5://p",
                &[5, 1],
                ProxyError::BadReply("SOCKS5 proxy chose a method that was not offered"),
            ),
            (
                "socks5://p",
                &[4, 0],
                ProxyError::BadReply("not a SOCKS5 method selection"),
            ),
            (
                "socks5://p",
                &[5, 0, 5, 5, 0, 1],
                ProxyError::SocksRefused(5),
            ),
            (
                "socks5://p",
                &[5, 0, 5, 0, 0, 9],
                ProxyError::BadReply("SOCKS5 reply with an unknown address type"),
            ),
            (
                "socks5://p",
                b"HTTP/1.1 400 Bad Request\r\n\r\n",
                ProxyError::BadReply("not a SOCKS5 method selection"),
            ),
        ];
        for (url, reply, err) in cases {
            let (mut h, _) = start(url, Target::Name("h".into()));
            assert_eq!(h.receive_data(reply), Err(err.clone()), "{url} {reply:?}");
            assert!(h.is_done());
        }
    }

    #[test]
    fn long_names_and_credentials_are_refused() {
        let long = "a".repeat(256);
        let proxy = ProxyUrl::parse("socks5h://p").unwrap();
        assert!(matches!(
            ProxyHandshake::new(&proxy, Target::Name(long.clone()), 1),
            Err(ProxyError::InvalidRequest(_))
        ));
        let proxy = ProxyUrl::parse(&alloc::format!("socks5://{long}:x@p")).unwrap();
        assert!(matches!(
            ProxyHandshake::new(&proxy, Target::Name("h".into()), 1),
            Err(ProxyError::InvalidRequest(_))
        ));
    }
}
