//! Close codes and the Close frame payload (RFC 6455 sections 5.5.1 and 7.4).

use alloc::string::String;
use core::fmt;

use crate::error::ProtocolError;

/// A close status code (RFC 6455 section 7.4).
///
/// ```
/// use ws_proto::CloseCode;
/// assert!(CloseCode::NORMAL.is_sendable());
/// assert!(CloseCode::from(4000).is_sendable());
/// assert!(!CloseCode::NO_STATUS.is_sendable()); // 1005 never goes on the wire
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code was present. Reported locally, never sent.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: closed without a Close frame. Reported locally, never sent.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: data inconsistent with the message type (invalid UTF-8 in text).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: the message violates the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: bad gateway (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: TLS handshake failure. Reported locally, never sent.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// The numeric value.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether this code may appear in a Close frame on the wire.
    ///
    /// Accepted: 1000-1003, 1007-1011, 1012-1014 (registered with IANA after RFC 6455 and sent
    /// by real servers), and 3000-4999 (libraries, frameworks and applications). Everything else,
    /// including 1004-1006 and 1015, is rejected (section 7.4.1, 7.4.2).
    pub const fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The content of a Close frame: a status code and a UTF-8 reason (at most 123 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason; may be empty.
    pub reason: String,
}

impl CloseFrame {
    /// Parses a Close frame payload received from the peer (section 5.5.1).
    ///
    /// Returns `Ok(None)` for an empty payload (the peer gave no status; report 1005 locally).
    pub fn parse(payload: &[u8]) -> Result<Option<CloseFrame>, ProtocolError> {
        match payload.len() {
            0 => Ok(None),
            // "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned
            // integer" (section 5.5.1): a single byte cannot be one.
            1 => Err(ProtocolError::InvalidClosePayload),
            _ => {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                if !CloseCode(code).is_sendable() {
                    return Err(ProtocolError::InvalidCloseCode(code));
                }
                let reason = core::str::from_utf8(&payload[2..])
                    .map_err(|_| ProtocolError::InvalidCloseReason)?;
                Ok(Some(CloseFrame {
                    code: CloseCode(code),
                    reason: reason.into(),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ops::RangeInclusive;

    /// RFC 6455 section 7.4, row by row: each range of codes and whether an endpoint may put
    /// it in a Close frame. The rows are in order and cover every `u16`.
    const SECTION_7_4: &[(RangeInclusive<u16>, bool)] = &[
        (0..=999, false),         // 7.4.2: not used
        (1000..=1003, true),      // 7.4.1: normal, going away, protocol error, unsupported data
        (1004..=1004, false),     // 7.4.1: reserved, its meaning may be defined later
        (1005..=1006, false),     // 7.4.1: no status, abnormal closure: MUST NOT be sent
        (1007..=1011, true),      // 7.4.1: bad payload, policy, too big, extension, internal
        (1012..=1014, true),      // IANA registry: service restart, try again later, bad gateway
        (1015..=1015, false),     // 7.4.1: TLS handshake failure: MUST NOT be sent
        (1016..=2999, false),     // 7.4.2: reserved for this protocol and extensions, unassigned
        (3000..=3999, true),      // 7.4.2: registered with IANA by libraries and frameworks
        (4000..=4999, true),      // 7.4.2: private use
        (5000..=u16::MAX, false), // outside every range of section 7.4.2
    ];

    #[test]
    fn sendable_codes_follow_the_section_7_4_table() {
        let mut next = 0u32;
        for (codes, sendable) in SECTION_7_4 {
            assert_eq!(
                u32::from(*codes.start()),
                next,
                "gap or overlap before {codes:?}"
            );
            for code in codes.clone() {
                assert_eq!(
                    CloseCode(code).is_sendable(),
                    *sendable,
                    "{code} (row {codes:?})"
                );
            }
            next = u32::from(*codes.end()) + 1;
        }
        assert_eq!(next, 0x1_0000, "the table stops before u16::MAX");
    }

    /// Each named constant has the value section 7.4.1 (or the IANA registry) gives its name,
    /// and may be sent exactly when the RFC allows it.
    #[test]
    fn named_codes_have_their_registered_values() {
        let named = [
            (CloseCode::NORMAL, 1000, true),
            (CloseCode::GOING_AWAY, 1001, true),
            (CloseCode::PROTOCOL_ERROR, 1002, true),
            (CloseCode::UNSUPPORTED_DATA, 1003, true),
            (CloseCode::NO_STATUS, 1005, false),
            (CloseCode::ABNORMAL, 1006, false),
            (CloseCode::INVALID_PAYLOAD, 1007, true),
            (CloseCode::POLICY_VIOLATION, 1008, true),
            (CloseCode::TOO_BIG, 1009, true),
            (CloseCode::MANDATORY_EXTENSION, 1010, true),
            (CloseCode::INTERNAL_ERROR, 1011, true),
            (CloseCode::SERVICE_RESTART, 1012, true),
            (CloseCode::TRY_AGAIN_LATER, 1013, true),
            (CloseCode::BAD_GATEWAY, 1014, true),
            (CloseCode::TLS_HANDSHAKE, 1015, false),
        ];
        for (code, value, sendable) in named {
            assert_eq!(code.as_u16(), value);
            assert_eq!(code.is_sendable(), sendable, "{value}");
        }
    }

    /// A received Close frame is checked against the same table: the codes at the edges of
    /// each row are accepted or rejected with the code in the error.
    #[test]
    fn parse_checks_the_code_against_section_7_4() {
        let accepted: [u16; 10] = [1000, 1003, 1007, 1011, 1012, 1014, 3000, 3999, 4000, 4999];
        let rejected: [u16; 12] = [
            0, 1, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 0xffff,
        ];
        for code in accepted {
            let [hi, lo] = code.to_be_bytes();
            let frame = CloseFrame::parse(&[hi, lo, b'x']).unwrap().unwrap();
            assert_eq!((frame.code.as_u16(), frame.reason.as_str()), (code, "x"));
        }
        for code in rejected {
            let [hi, lo] = code.to_be_bytes();
            assert_eq!(
                CloseFrame::parse(&[hi, lo]),
                Err(ProtocolError::InvalidCloseCode(code)),
                "{code}"
            );
        }
    }

    #[test]
    fn parse_close_payloads() {
        assert_eq!(CloseFrame::parse(&[]), Ok(None));
        assert_eq!(
            CloseFrame::parse(&[0x03]),
            Err(ProtocolError::InvalidClosePayload)
        );
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xe8, b'b', b'y', b'e']),
            Ok(Some(CloseFrame {
                code: CloseCode::NORMAL,
                reason: "bye".into()
            }))
        );
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xed]),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xe8, 0xff]),
            Err(ProtocolError::InvalidCloseReason)
        );
    }
}
