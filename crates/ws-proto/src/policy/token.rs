//! Token checks: a token from the request, judged by the application.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::{refusal, Policy};
use crate::handshake::{HttpResponse, Request};

/// Where [`TokenAuth`] looks for the token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// `Authorization: Bearer TOKEN` (RFC 6750 section 2.1). Browsers cannot set it on a
    /// WebSocket; other clients can.
    Bearer,
    /// A query parameter of the request target: `/ws?NAME=TOKEN` (percent-decoded; `+` is
    /// kept as it is).
    Query(String),
    /// A cookie: `Cookie: NAME=TOKEN` (surrounding double quotes removed).
    Cookie(String),
}

/// The application's verdict on a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    /// The token is good: the request goes on to the next policy and the application.
    Valid,
    /// Unknown, expired or malformed: `401` with `WWW-Authenticate: Bearer realm="...",
    /// error="invalid_token"`.
    Invalid,
    /// Good, but not for this: `403 Forbidden`.
    Forbidden,
}

type Check = dyn Fn(&str, &Request) -> TokenCheck + Send + Sync;

/// Lets through only requests that carry a token the application's callback accepts.
///
/// The token is looked for in each [`TokenSource`] in order (by default only
/// `Authorization: Bearer`; [`query`](Self::query) and [`cookie`](Self::cookie) add sources,
/// which browsers need); the first found is passed to the callback with the request. The
/// answers (each with a short plain-text body):
///
/// * no token: `401 Unauthorized`, `WWW-Authenticate: Bearer realm="REALM"`, body
///   `authentication required`;
/// * [`TokenCheck::Invalid`] (or a token that is not UTF-8 once decoded): `401`,
///   `WWW-Authenticate: Bearer realm="REALM", error="invalid_token"`, body `invalid token`;
/// * [`TokenCheck::Forbidden`]: `403 Forbidden`, body `forbidden`.
///
/// ```
/// use ws_proto::policy::{TokenAuth, TokenCheck};
/// let auth = TokenAuth::new(|token, request| match (token, request.path()) {
///     ("admin-token", _) => TokenCheck::Valid,
///     ("user-token", "/admin") => TokenCheck::Forbidden,
///     ("user-token", _) => TokenCheck::Valid,
///     _ => TokenCheck::Invalid,
/// })
/// .query("access_token")
/// .cookie("session")
/// .realm("chat");
/// # let _ = auth;
/// ```
#[derive(Clone)]
pub struct TokenAuth {
    sources: Vec<TokenSource>,
    realm: String,
    check: Arc<Check>,
}

impl core::fmt::Debug for TokenAuth {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TokenAuth")
            .field("sources", &self.sources)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl TokenAuth {
    /// A token check with `check` judging each token, reading `Authorization: Bearer`, in the
    /// realm `ws`.
    pub fn new<F>(check: F) -> TokenAuth
    where
        F: Fn(&str, &Request) -> TokenCheck + Send + Sync + 'static,
    {
        TokenAuth {
            sources: alloc::vec![TokenSource::Bearer],
            realm: String::from("ws"),
            check: Arc::new(check),
        }
    }

    /// Also looks for the token in the query parameter `name`.
    pub fn query(self, name: &str) -> TokenAuth {
        self.source(TokenSource::Query(name.into()))
    }

    /// Also looks for the token in the cookie `name`.
    pub fn cookie(self, name: &str) -> TokenAuth {
        self.source(TokenSource::Cookie(name.into()))
    }

    /// Also looks in `source` (after the sources already set).
    pub fn source(mut self, source: TokenSource) -> TokenAuth {
        if !self.sources.contains(&source) {
            self.sources.push(source);
        }
        self
    }

    /// Looks only in these sources, in this order.
    pub fn sources(mut self, sources: impl IntoIterator<Item = TokenSource>) -> TokenAuth {
        self.sources = sources.into_iter().collect();
        self
    }

    /// The realm named in `WWW-Authenticate` (default `ws`). A `"` or `\` in it is dropped.
    pub fn realm(mut self, realm: &str) -> TokenAuth {
        self.realm = realm.chars().filter(|c| !matches!(c, '"' | '\\')).collect();
        self
    }

    /// The token the request carries, from the first source that has one (raw bytes for a
    /// query parameter that does not decode to UTF-8), for an application that wants it
    /// again (to know who connected).
    ///
    /// ```
    /// # use ws_proto::handshake::{HttpRequest, Status};
    /// use ws_proto::policy::{TokenAuth, TokenCheck};
    /// # let head = b"GET /ws?t=a%20b HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
    /// #   Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #   Sec-WebSocket-Version: 13\r\n\r\n";
    /// # let Status::Complete((head, _)) = HttpRequest::parse(head, Default::default())? else { panic!() };
    /// # let request = head.into_websocket()?;
    /// let auth = TokenAuth::new(|_, _| TokenCheck::Valid).query("t");
    /// assert_eq!(auth.token(&request).as_deref(), Some(&b"a b"[..]));
    /// # Ok::<(), ws_proto::HandshakeError>(())
    /// ```
    pub fn token<'r>(&self, request: &'r Request) -> Option<Cow<'r, [u8]>> {
        self.sources.iter().find_map(|source| find(source, request))
    }

    fn www_authenticate(&self, error: Option<&str>) -> String {
        match error {
            Some(error) => format!("Bearer realm=\"{}\", error=\"{error}\"", self.realm),
            None => format!("Bearer realm=\"{}\"", self.realm),
        }
    }

    fn unauthorized(&self, error: Option<&str>, body: &str) -> HttpResponse {
        refusal(401, body).with_header("WWW-Authenticate", &self.www_authenticate(error))
    }
}

impl Policy for TokenAuth {
    fn check(&self, request: &Request) -> Result<(), HttpResponse> {
        let Some(token) = self.token(request) else {
            return Err(self.unauthorized(None, "authentication required\n"));
        };
        let verdict = match core::str::from_utf8(&token) {
            Ok(token) => (self.check)(token, request),
            Err(_) => TokenCheck::Invalid,
        };
        match verdict {
            TokenCheck::Valid => Ok(()),
            TokenCheck::Invalid => Err(self.unauthorized(Some("invalid_token"), "invalid token\n")),
            TokenCheck::Forbidden => Err(refusal(403, "forbidden\n")),
        }
    }
}

fn find<'r>(source: &TokenSource, request: &'r Request) -> Option<Cow<'r, [u8]>> {
    match source {
        TokenSource::Bearer => {
            let value = trim(request.header("Authorization")?);
            let scheme = value.get(..7)?;
            if !scheme.eq_ignore_ascii_case(b"Bearer ") {
                return None;
            }
            let token = trim(&value[7..]);
            (!token.is_empty()).then_some(Cow::Borrowed(token))
        }
        TokenSource::Query(name) => request
            .query()?
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| percent_decode(key.as_bytes()).as_ref() == name.as_bytes())
            .map(|(_, value)| percent_decode(value.as_bytes()))
            .filter(|token| !token.is_empty()),
        TokenSource::Cookie(name) => request
            .headers()
            .get_all("Cookie")
            .flat_map(|line| line.split(|&b| b == b';'))
            .filter_map(|pair| {
                let at = pair.iter().position(|&b| b == b'=')?;
                Some((trim(&pair[..at]), trim(&pair[at + 1..])))
            })
            .find(|(key, _)| *key == name.as_bytes())
            .map(|(_, value)| {
                let value = value
                    .strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .unwrap_or(value);
                Cow::Borrowed(value)
            })
            .filter(|token| !token.is_empty()),
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// `%XX` decoding; a `%` not followed by two hex digits is kept as it is.
fn percent_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'%') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let byte = input[i];
        if byte == b'%' {
            let digits = (
                input.get(i + 1).and_then(hex),
                input.get(i + 2).and_then(hex),
            );
            if let (Some(hi), Some(lo)) = digits {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(byte);
        i += 1;
    }
    Cow::Owned(out)
}

fn hex(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::super::test_request;
    use super::*;

    fn auth() -> TokenAuth {
        TokenAuth::new(|token, _| match token {
            "good" | "a b" => TokenCheck::Valid,
            "user" => TokenCheck::Forbidden,
            _ => TokenCheck::Invalid,
        })
        .query("token")
        .cookie("session")
        .realm("chat")
    }

    fn status(target: &str, headers: &str) -> (u16, String, String) {
        match auth().check(&test_request(target, headers)) {
            Ok(()) => (101, String::new(), String::new()),
            Err(r) => (
                r.status(),
                String::from_utf8_lossy(r.header("WWW-Authenticate").unwrap_or_default()).into(),
                String::from_utf8_lossy(r.body()).into(),
            ),
        }
    }

    #[test]
    fn bearer_header() {
        assert_eq!(status("/", "Authorization: Bearer good\r\n").0, 101);
        assert_eq!(status("/", "Authorization: bearer   good \r\n").0, 101);
        let (code, www, body) = status("/", "Authorization: Bearer nope\r\n");
        assert_eq!(code, 401);
        assert_eq!(www, "Bearer realm=\"chat\", error=\"invalid_token\"");
        assert_eq!(body, "invalid token\n");
        // Another scheme carries no bearer token.
        let (code, www, body) = status("/", "Authorization: Basic Z29vZA==\r\n");
        assert_eq!((code, www.as_str()), (401, "Bearer realm=\"chat\""));
        assert_eq!(body, "authentication required\n");
        assert_eq!(status("/", "Authorization: Bearer\r\n").0, 401);
    }

    #[test]
    fn query_parameter() {
        assert_eq!(status("/ws?x=1&token=good", "").0, 101);
        assert_eq!(status("/ws?token=a%20b", "").0, 101);
        assert_eq!(status("/ws?tok%65n=good", "").0, 101);
        assert_eq!(status("/ws?token=bad", "").0, 401);
        assert_eq!(status("/ws?token=", "").1, "Bearer realm=\"chat\"");
        assert_eq!(
            status("/ws?token=%ff", "").1,
            "Bearer realm=\"chat\", error=\"invalid_token\""
        );
        assert_eq!(status("/ws?tokens=good", "").0, 401);
    }

    #[test]
    fn cookie() {
        assert_eq!(status("/", "Cookie: a=1; session=good; b=2\r\n").0, 101);
        assert_eq!(
            status("/", "Cookie: a=1\r\nCookie: session=\"good\"\r\n").0,
            101
        );
        assert_eq!(status("/", "Cookie: xsession=good\r\n").0, 401);
    }

    #[test]
    fn forbidden_is_403() {
        let (code, www, body) = status("/", "Authorization: Bearer user\r\n");
        assert_eq!(
            (code, www.as_str(), body.as_str()),
            (403, "", "forbidden\n")
        );
    }

    #[test]
    fn sources_are_tried_in_order() {
        // The bearer header comes first: its bad token is judged, not the good cookie.
        assert_eq!(
            status("/", "Authorization: Bearer bad\r\nCookie: session=good\r\n").0,
            401
        );
        let cookie_only = auth().sources([TokenSource::Cookie("session".into())]);
        let request = test_request("/?token=good", "Authorization: Bearer good\r\n");
        assert!(cookie_only.check(&request).is_err());
    }

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode(b"a%2"), Cow::Borrowed(&b"a%2"[..]));
        assert_eq!(&*percent_decode(b"%41%zz%"), b"A%zz%");
        assert_eq!(&*percent_decode(b"%"), b"%");
    }

    #[test]
    fn realm_quotes_are_dropped() {
        let auth = TokenAuth::new(|_, _| TokenCheck::Valid).realm("a\"b\\c");
        let refused = auth.check(&test_request("/", "")).unwrap_err();
        assert_eq!(
            refused.header("www-authenticate"),
            Some(&b"Bearer realm=\"abc\""[..])
        );
    }
}
