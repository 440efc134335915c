//! The little DER the attestation certificates need (X.509 v3 with custom extensions).

use super::tlv::put_len;

fn tagged(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    put_len(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

/// SEQUENCE of the concatenated parts.
pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tagged(0x30, &parts.concat())
}

/// SET of the concatenated parts.
pub fn set(parts: &[&[u8]]) -> Vec<u8> {
    tagged(0x31, &parts.concat())
}

/// OBJECT IDENTIFIER from dotted text, e.g. `"1.3.6.1.4.1.41482.3.3"`.
pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|a| a.parse().expect("numeric OID arc"))
        .collect();
    let mut body = Vec::new();
    let mut encode = |mut v: u64| {
        let mut bytes = vec![(v & 0x7F) as u8];
        v >>= 7;
        while v > 0 {
            bytes.push(0x80 | (v & 0x7F) as u8);
            v >>= 7;
        }
        bytes.reverse();
        body.extend_from_slice(&bytes);
    };
    encode(arcs[0] * 40 + arcs[1]);
    for a in &arcs[2..] {
        encode(*a);
    }
    tagged(0x06, &body)
}

/// INTEGER holding the unsigned big-endian `bytes`.
pub fn uint(bytes: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = bytes.iter().copied().skip_while(|&x| x == 0).collect();
    if b.first().is_none_or(|&x| x & 0x80 != 0) {
        b.insert(0, 0);
    }
    tagged(0x02, &b)
}

pub fn boolean(v: bool) -> Vec<u8> {
    tagged(0x01, &[if v { 0xFF } else { 0 }])
}

pub fn octets(v: &[u8]) -> Vec<u8> {
    tagged(0x04, v)
}

/// BIT STRING with no unused bits.
pub fn bits(v: &[u8]) -> Vec<u8> {
    tagged(0x03, &[&[0u8][..], v].concat())
}

pub fn utf8(s: &str) -> Vec<u8> {
    tagged(0x0C, s.as_bytes())
}

/// UTCTime `YYMMDDHHMMSSZ`.
pub fn utc_time(s: &str) -> Vec<u8> {
    tagged(0x17, s.as_bytes())
}

/// GeneralizedTime `YYYYMMDDHHMMSSZ`.
pub fn generalized_time(s: &str) -> Vec<u8> {
    tagged(0x18, s.as_bytes())
}

/// `[n]` EXPLICIT (constructed context tag).
pub fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
    tagged(0xA0 | n, inner)
}

/// A Name with one CommonName RDN.
pub fn name_cn(cn: &str) -> Vec<u8> {
    seq(&[&set(&[&seq(&[&oid("2.5.4.3"), &utf8(cn)])])])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_oids_and_integers_as_der() {
        assert_eq!(
            oid("1.2.840.10045.2.1"),
            vec![0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
        );
        assert_eq!(uint(&[0, 0, 0x7F]), vec![2, 1, 0x7F]);
        assert_eq!(uint(&[0x80]), vec![2, 2, 0, 0x80]);
        assert_eq!(uint(&[]), vec![2, 1, 0]);
    }
}
