//! DNS messages parsed from the bytes the BPF programs copy out of port-53
//! packets (or sends and receives, on the syscall path): RFC 1035 wire format,
//! TCP's two-byte length prefix.

use garrison_event::DnsRecord;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The parts of a DNS message the event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: u16,
    /// True for a response (QR bit).
    pub response: bool,
    pub rcode: u8,
    /// First question's name (no trailing dot) and type.
    pub query: String,
    pub qtype: u16,
    pub answers: Vec<DnsRecord>,
}

/// Parses a message. `stream`: for TCP, the bytes the syscall transferred; the
/// payload then starts with the two-byte length prefix when that prefix equals
/// them less two (the whole framed message in one call). A read or write that
/// carries the message without its prefix (glibc writes the prefix with its own
/// iovec and reads it with its own read) is parsed as it is.
/// `None` when the bytes are not a DNS message with at least one question.
pub fn parse(payload: &[u8], stream: Option<usize>) -> Option<Message> {
    let msg = match (stream, payload.get(..2)) {
        (Some(n), Some(len)) if u16::from_be_bytes([len[0], len[1]]) as usize + 2 == n => {
            payload.get(2..)?
        }
        _ => payload,
    };
    let id = be16(msg, 0)?;
    let flags = be16(msg, 2)?;
    let qd = be16(msg, 4)?;
    let an = be16(msg, 6)?;
    if qd == 0 {
        return None;
    }
    let mut pos = 12;
    let (query, next) = name(msg, pos)?;
    pos = next;
    let qtype = be16(msg, pos)?;
    pos += 4;
    for _ in 1..qd {
        let (_, next) = name(msg, pos)?;
        pos = next + 4;
    }
    let mut answers = Vec::new();
    for _ in 0..an.min(64) {
        let Some((owner, next)) = name(msg, pos) else {
            break;
        };
        let (Some(rtype), Some(ttl), Some(rdlen)) =
            (be16(msg, next), be32(msg, next + 4), be16(msg, next + 8))
        else {
            break;
        };
        let rdata_at = next + 10;
        let Some(rdata) = msg.get(rdata_at..rdata_at + rdlen as usize) else {
            break;
        };
        let data = match (rtype, rdata.len()) {
            (1, 4) => Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]).to_string(),
            (28, 16) => {
                let mut a = [0u8; 16];
                a.copy_from_slice(rdata);
                Ipv6Addr::from(a).to_string()
            }
            (2 | 5 | 12, _) => name(msg, rdata_at).map(|(n, _)| n).unwrap_or_default(),
            (16, _) => txt(rdata),
            _ => rdata.iter().map(|b| format!("{b:02x}")).collect(),
        };
        answers.push(DnsRecord {
            name: owner,
            rtype: rtype_name(rtype),
            data,
            ttl,
        });
        pos = rdata_at + rdlen as usize;
    }
    Some(Message {
        id,
        response: flags & 0x8000 != 0,
        rcode: (flags & 0xf) as u8,
        query,
        qtype,
        answers,
    })
}

/// Parses the payload of a TCP segment as a packet carries it (`segment`: the
/// segment's payload length, of which `payload` may be the first part). A segment
/// in which a message starts begins with the two-byte length prefix, which then
/// frames at least the rest of the segment (a longer message continues in later
/// segments: its first part is parsed, answers cut off at the end are left out);
/// a segment with the message alone (its prefix sent in a segment of its own) is
/// parsed as it is. `None` when neither reading gives a DNS message.
pub fn parse_segment(payload: &[u8], segment: usize) -> Option<Message> {
    if let Some(len) = payload.get(..2) {
        if u16::from_be_bytes([len[0], len[1]]) as usize + 2 >= segment {
            if let Some(m) = payload.get(2..).and_then(|rest| parse(rest, None)) {
                return Some(m);
            }
        }
    }
    parse(payload, None)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A (possibly compressed) name at `at`; returns it and the offset after it in
/// the original position. Bounded: at most 128 labels and jumps.
fn name(msg: &[u8], at: usize) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut pos = at;
    let mut end = None;
    for _ in 0..128 {
        let len = *msg.get(pos)? as usize;
        match len {
            0 => {
                return Some((out, end.unwrap_or(pos + 1)));
            }
            l if l & 0xc0 == 0xc0 => {
                let ptr = ((l & 0x3f) << 8) | *msg.get(pos + 1)? as usize;
                if end.is_none() {
                    end = Some(pos + 2);
                }
                if ptr >= msg.len() {
                    return None;
                }
                pos = ptr;
            }
            l if l < 64 => {
                let label = msg.get(pos + 1..pos + 1 + l)?;
                if !out.is_empty() {
                    out.push('.');
                }
                for &c in label {
                    if c.is_ascii_graphic() && c != b'.' && c != b'\\' {
                        out.push(c as char);
                    } else {
                        out.push_str(&format!("\\{c:03}"));
                    }
                }
                pos += 1 + l;
            }
            _ => return None,
        }
    }
    None
}

fn txt(rdata: &[u8]) -> String {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(&len) = rdata.get(pos) {
        let Some(s) = rdata.get(pos + 1..pos + 1 + len as usize) else {
            break;
        };
        out.push(String::from_utf8_lossy(s).into_owned());
        pos += 1 + len as usize;
    }
    out.join(" ")
}

/// A record type's mnemonic.
pub fn rtype_name(t: u16) -> String {
    match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        65 => "HTTPS",
        255 => "ANY",
        _ => return format!("TYPE{t}"),
    }
    .to_string()
}

/// A response code's mnemonic.
pub fn rcode_name(r: u8) -> String {
    match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => return format!("RCODE{r}"),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real response as `dig` receives it: example.com A with a compressed owner.
    fn response() -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        m.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        // CNAME www.example.com -> example.com (pointer to offset 16)
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 16]);
        m.extend_from_slice(&[0xc0, 16, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 93, 184, 216, 34]);
        m
    }

    #[test]
    fn parses_questions_and_answers() {
        let m = parse(&response(), None).unwrap();
        assert_eq!(m.id, 0x1234);
        assert!(m.response);
        assert_eq!(m.query, "www.example.com");
        assert_eq!(m.qtype, 1);
        assert_eq!(m.answers.len(), 2);
        assert_eq!(m.answers[0].rtype, "CNAME");
        assert_eq!(m.answers[0].data, "example.com");
        assert_eq!(m.answers[1].data, "93.184.216.34");
        assert_eq!(m.answers[1].ttl, 256);
    }

    #[test]
    fn tcp_prefix_is_skipped() {
        let r = response();
        let mut t = (r.len() as u16).to_be_bytes().to_vec();
        t.extend_from_slice(&r);
        assert_eq!(parse(&t, Some(t.len())), parse(&r, None));
        // the message alone on a stream (its prefix sent or read on its own)
        assert_eq!(parse(&r, Some(r.len())), parse(&r, None));
        assert!(parse(&r, Some(r.len())).is_some());
        // an ID that reads as a larger length is not taken for a prefix
        let mut big = r.clone();
        big[0] = 0x44;
        big[1] = 0x44;
        assert_eq!(parse(&big, Some(big.len())).map(|m| m.id), Some(0x4444));
    }

    #[test]
    fn tcp_segments_with_and_without_their_prefix() {
        let r = response();
        let mut t = (r.len() as u16).to_be_bytes().to_vec();
        t.extend_from_slice(&r);
        // the whole framed message in one segment
        assert_eq!(parse_segment(&t, t.len()), parse(&r, None));
        // the first segment of a longer message: the question and what fits
        let cut = &t[..52];
        let m = parse_segment(cut, cut.len()).unwrap();
        assert_eq!((m.query.as_str(), m.id), ("www.example.com", 0x1234));
        assert_eq!(m.answers.len(), 1, "the A record is cut off: {m:?}");
        // the message alone (its prefix went in a segment of its own)
        assert_eq!(parse_segment(&r, r.len()), parse(&r, None));
        // the prefix alone, and a segment that is no DNS at all
        assert_eq!(parse_segment(&t[..2], 2), None);
        assert_eq!(parse_segment(b"GET / HTTP/1.1\r\n\r\n", 18), None);
    }

    #[test]
    fn garbage_and_loops_do_not_panic() {
        assert_eq!(parse(&[], None), None);
        assert_eq!(parse(&[0; 12], None), None);
        // a name pointing at itself
        let mut m = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1];
        assert_eq!(parse(&m, None), None);
        m.truncate(13);
        assert_eq!(parse(&m, None), None);
        for n in 0..response().len() {
            let _ = parse(&response()[..n], None);
            let _ = parse(&response()[..n], Some(n));
            let _ = parse(&response()[..n], Some(n + 2));
            let _ = parse_segment(&response()[..n], n);
            let _ = parse_segment(&response()[..n], n + 100);
        }
    }
}
