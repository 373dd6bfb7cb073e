//! Proxy URLs: `http://[user:pass@]host[:port]`, `socks5://...`, `socks5h://...`.

use alloc::string::String;
use alloc::vec::Vec;

use super::ProxyError;

/// The protocol spoken with a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyKind {
    /// HTTP `CONNECT` (`http://`; default port 8080). The proxy resolves the target's name.
    Http,
    /// SOCKS5 with names resolved by the client (`socks5://`; default port 1080).
    Socks5,
    /// SOCKS5 with names resolved by the proxy (`socks5h://`; default port 1080).
    Socks5h,
}

/// A parsed proxy URL.
///
/// ```
/// use ws_proto::proxy::{ProxyKind, ProxyUrl};
/// let proxy = ProxyUrl::parse("socks5h://bob:p%40ss@127.0.0.1:9050").unwrap();
/// assert_eq!(proxy.kind(), ProxyKind::Socks5h);
/// assert_eq!((proxy.host(), proxy.port()), ("127.0.0.1", 9050));
/// assert_eq!(proxy.credentials(), Some(("bob", "p@ss")));
/// assert_eq!(ProxyUrl::parse("http://[::1]").unwrap().port(), 8080);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyUrl {
    kind: ProxyKind,
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
}

impl core::fmt::Debug for ProxyUrl {
    // Never prints the password.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProxyUrl")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .finish()
    }
}

impl ProxyUrl {
    /// Parses a proxy URL. The scheme is `http`, `socks5` or `socks5h` (any case); user and
    /// password are percent-decoded; a path other than `/` is refused; the port defaults to
    /// 8080 (HTTP) or 1080 (SOCKS5).
    ///
    /// # Errors
    ///
    /// [`ProxyError::InvalidUrl`].
    pub fn parse(input: &str) -> Result<ProxyUrl, ProxyError> {
        let (scheme, rest) = input
            .split_once("://")
            .ok_or(ProxyError::InvalidUrl("missing scheme"))?;
        let kind = if scheme.eq_ignore_ascii_case("http") {
            ProxyKind::Http
        } else if scheme.eq_ignore_ascii_case("socks5") {
            ProxyKind::Socks5
        } else if scheme.eq_ignore_ascii_case("socks5h") {
            ProxyKind::Socks5h
        } else {
            return Err(ProxyError::InvalidUrl(
                "scheme is not http, socks5 or socks5h",
            ));
        };
        if !rest.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ProxyError::InvalidUrl(
                "space, control or non-ASCII character",
            ));
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(ProxyError::InvalidUrl("a proxy URL has no path or query"));
        }
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let credentials = match userinfo {
            None => None,
            Some(u) => {
                let (user, pass) = u.split_once(':').unwrap_or((u, ""));
                Some((percent_decode(user)?, percent_decode(pass)?))
            }
        };
        let (host, port) = split_host_port(hostport)?;
        let port = match port {
            None if kind == ProxyKind::Http => 8080,
            None => 1080,
            Some(p) if !p.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(ProxyError::InvalidUrl("invalid port"))
            }
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p != 0 => p,
                _ => return Err(ProxyError::InvalidUrl("invalid port")),
            },
        };
        Ok(ProxyUrl {
            kind,
            host,
            port,
            credentials,
        })
    }

    /// The protocol.
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// The proxy's host: a lowercased name, an IPv4 address, or an IPv6 address without
    /// brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user and password, decoded (an absent password is empty).
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// Whether the proxy resolves the target's name (HTTP and `socks5h`), or the client
    /// must (`socks5`).
    pub fn resolves_names(&self) -> bool {
        self.kind != ProxyKind::Socks5
    }
}

fn split_host_port(authority: &str) -> Result<(String, Option<&str>), ProxyError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or(ProxyError::InvalidUrl("unclosed IPv6 bracket"))?;
        if v6.parse::<core::net::Ipv6Addr>().is_err() {
            return Err(ProxyError::InvalidUrl("invalid IPv6 address"));
        }
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or(ProxyError::InvalidUrl("junk after IPv6 address"))?,
            ),
        };
        (v6, port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(ProxyError::InvalidUrl("missing host"));
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
    {
        return Err(ProxyError::InvalidUrl("invalid character in host"));
    }
    Ok((host.to_ascii_lowercase(), port))
}

fn percent_decode(s: &str) -> Result<String, ProxyError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| core::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(ProxyError::InvalidUrl("invalid percent-encoding"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ProxyError::InvalidUrl("credentials are not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_scheme_with_defaults() {
        let p = ProxyUrl::parse("HTTP://Proxy.Example").unwrap();
        assert_eq!(
            (p.kind(), p.host(), p.port(), p.credentials()),
            (ProxyKind::Http, "proxy.example", 8080, None)
        );
        let p = ProxyUrl::parse("socks5://10.0.0.1/").unwrap();
        assert_eq!((p.kind(), p.port()), (ProxyKind::Socks5, 1080));
        assert!(!p.resolves_names());
        let p = ProxyUrl::parse("socks5h://u@[::1]:1").unwrap();
        assert_eq!((p.host(), p.port()), ("::1", 1));
        assert_eq!(p.credentials(), Some(("u", "")));
        assert!(p.resolves_names());
    }

    #[test]
    fn credentials_are_decoded_and_not_printed() {
        let p = ProxyUrl::parse("http://a%3Ab:c%3a%40d@h:3128").unwrap();
        assert_eq!(p.credentials(), Some(("a:b", "c:@d")));
        assert!(!alloc::format!("{p:?}").contains("c:@d"));
    }

    #[test]
    fn refuses_bad_urls() {
        for bad in [
            "proxy:3128",
            "ftp://h",
            "socks4://h",
            "http://",
            "http://h:0",
            "http://h:99999",
            "http://h:+80",
            "http://h:x",
            "http://h/path",
            "http://h?q",
            "http://u:%zz@h",
            "http://u:%c3@h",
            "http://h st",
            "http://[::1",
            "http://[zz]",
            "http://[::1]x",
            "http://h\u{e9}",
        ] {
            assert!(
                matches!(ProxyUrl::parse(bad), Err(ProxyError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }
}
