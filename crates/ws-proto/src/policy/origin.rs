//! The `Origin` allow-list.

use alloc::string::String;
use alloc::vec::Vec;

use super::{refusal, Policy};
use crate::handshake::{HttpResponse, Request};

/// Lets through only requests whose `Origin` is on a list (RFC 6455 section 4.2.2, step 4,
/// and section 10.2): others are refused with `403 Forbidden` and the body
/// `origin not allowed`.
///
/// Browsers always send `Origin`, so this is what stops another site's page from opening a
/// WebSocket to this server with the user's cookies (cross-site WebSocket hijacking). Other
/// clients send what they like, so it is no authentication.
///
/// Each entry is an exact origin (`https://example.com`, `http://localhost:8080`) or a
/// wildcard subdomain, `*.` right after the scheme (`https://*.example.com`): it matches
/// every subdomain at any depth (`https://a.example.com`, `https://a.b.example.com`) with
/// the same scheme and port, not `https://example.com` itself (list it too) nor
/// `https://evilexample.com`. Matching ignores ASCII case; a trailing `/` in an entry is
/// ignored. `Origin: null` (sandboxed pages, files) matches only an entry `null`.
///
/// A request without `Origin` (from a non-browser client) is let through unless
/// [`allow_missing(false)`](Self::allow_missing) says otherwise; it is then refused with
/// `403` and the body `origin required`.
///
/// ```
/// use ws_proto::policy::AllowedOrigins;
/// let origins = AllowedOrigins::new(["https://example.com", "https://*.example.com"]);
/// assert!(origins.allows("https://example.com"));
/// assert!(origins.allows("https://chat.eu.example.com"));
/// assert!(!origins.allows("http://chat.example.com")); // another scheme
/// assert!(!origins.allows("https://chat.example.com:8443")); // another port
/// assert!(!origins.allows("https://evilexample.com"));
/// ```
#[derive(Debug, Clone)]
pub struct AllowedOrigins {
    exact: Vec<String>,
    /// `(scheme and "://", ".domain[:port]")` of each wildcard entry, lowercase.
    wildcard: Vec<(String, String)>,
    allow_missing: bool,
}

impl AllowedOrigins {
    /// An allow-list of these origins; a request without `Origin` is let through.
    pub fn new<I, S>(origins: I) -> AllowedOrigins
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = AllowedOrigins {
            exact: Vec::new(),
            wildcard: Vec::new(),
            allow_missing: true,
        };
        for origin in origins {
            list.add(origin.as_ref());
        }
        list
    }

    /// Returns the list with `origin` added.
    pub fn with(mut self, origin: &str) -> AllowedOrigins {
        self.add(origin);
        self
    }

    /// Whether a request without an `Origin` header is let through (default `true`).
    pub fn allow_missing(mut self, allow: bool) -> AllowedOrigins {
        self.allow_missing = allow;
        self
    }

    fn add(&mut self, origin: &str) {
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        match origin.split_once("://*.") {
            Some((scheme, domain)) => {
                let prefix = alloc::format!("{scheme}://");
                let suffix = alloc::format!(".{domain}");
                self.wildcard.push((prefix, suffix));
            }
            None => self.exact.push(origin),
        }
    }

    /// Whether `origin` (an `Origin` header value) is on the list.
    pub fn allows(&self, origin: &str) -> bool {
        let origin = origin.trim();
        if self.exact.iter().any(|e| e.eq_ignore_ascii_case(origin)) {
            return true;
        }
        self.wildcard.iter().any(|(prefix, suffix)| {
            let Some(rest) = strip_prefix_ignore_case(origin, prefix) else {
                return false;
            };
            let Some(sub) = strip_suffix_ignore_case(rest, suffix) else {
                return false;
            };
            is_subdomain_labels(sub)
        })
    }

    /// The decision on a request: `None` lets it through.
    fn refuse(&self, request: &Request) -> Option<HttpResponse> {
        match request.origin() {
            Some(origin) if self.allows(origin) => None,
            Some(_) => Some(refusal(403, "origin not allowed\n")),
            None if self.allow_missing => None,
            None => Some(refusal(403, "origin required\n")),
        }
    }
}

impl Policy for AllowedOrigins {
    fn check(&self, request: &Request) -> Result<(), HttpResponse> {
        self.refuse(request).map_or(Ok(()), Err)
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let at = s.len().checked_sub(suffix.len())?;
    let tail = s.get(at..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &s[..at])
}

/// One or more non-empty DNS labels separated by dots: what `*` may stand for.
fn is_subdomain_labels(sub: &str) -> bool {
    !sub.is_empty()
        && sub.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::super::test_request;
    use super::*;

    fn origins() -> AllowedOrigins {
        AllowedOrigins::new([
            "https://example.com",
            "http://localhost:8080/",
            "https://*.example.com",
            "https://*.dev.example.org:8443",
        ])
    }

    #[test]
    fn exact_origins_match_ignoring_case() {
        let o = origins();
        assert!(o.allows("https://example.com"));
        assert!(o.allows("HTTPS://Example.COM"));
        assert!(o.allows("http://localhost:8080"));
        assert!(!o.allows("http://localhost:8081"));
        assert!(!o.allows("http://example.com"));
        assert!(!o.allows("null"));
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let o = origins();
        assert!(o.allows("https://a.example.com"));
        assert!(o.allows("https://a.b-c.example.com"));
        assert!(o.allows("https://A.Example.Com"));
        assert!(o.allows("https://x.dev.example.org:8443"));
        assert!(!o.allows("https://x.dev.example.org"));
        assert!(!o.allows("https://.example.com"));
        assert!(!o.allows("https://a..example.com"));
        assert!(!o.allows("https://evilexample.com"));
        assert!(!o.allows("https://example.com.evil.net"));
        assert!(!o.allows("https://a.example.com:444"));
        assert!(!o.allows("https://user@a.example.com"));
        assert!(!o.allows("https://evil.net/.example.com"));
        assert!(!o.allows("http://a.example.com"));
    }

    #[test]
    fn refusals_are_403_with_a_plain_text_body() {
        let o = origins();
        let refused = o
            .check(&test_request("/", "Origin: https://evil.net\r\n"))
            .unwrap_err();
        assert_eq!(refused.status(), 403);
        assert_eq!(refused.body(), b"origin not allowed\n");
        assert!(o
            .check(&test_request("/", "Origin: https://chat.example.com\r\n"))
            .is_ok());
    }

    #[test]
    fn a_missing_origin_is_allowed_or_refused_by_choice() {
        assert!(origins().check(&test_request("/", "")).is_ok());
        let refused = origins()
            .allow_missing(false)
            .check(&test_request("/", ""))
            .unwrap_err();
        assert_eq!(refused.status(), 403);
        assert_eq!(refused.body(), b"origin required\n");
    }

    proptest::proptest! {
        /// Any subdomain, at any depth, matches a wildcard; the same labels in a look-alike
        /// host, another port or another scheme do not.
        #[test]
        fn wildcards_match_exactly_the_subdomains(
            labels in proptest::collection::vec("[a-zA-Z0-9-]{1,12}", 1..5),
        ) {
            let o = AllowedOrigins::new(["https://*.example.com"]);
            let sub = labels.join(".");
            let allowed = alloc::format!("https://{sub}.example.com");
            proptest::prop_assert!(o.allows(&allowed), "{}", allowed);
            let look_alikes = [
                alloc::format!("https://{sub}example.com"),
                alloc::format!("https://{sub}.example.com.evil"),
                alloc::format!("https://example.com.{sub}.net"),
                alloc::format!("https://{sub}.example.com:1"),
                alloc::format!("http://{sub}.example.com"),
            ];
            for origin in look_alikes {
                proptest::prop_assert!(!o.allows(&origin), "{}", origin);
            }
        }
    }

    #[test]
    fn null_matches_only_when_listed() {
        let o = AllowedOrigins::new(["null"]);
        assert!(o.allows("null"));
        assert!(!AllowedOrigins::new(["https://*.null"]).allows("null"));
    }
}
