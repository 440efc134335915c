//! BER-TLV as PIV uses it: one- or two-byte tags (a first byte with its low
//! five bits set takes a second), definite lengths up to three bytes.

/// `tag || length || value`.
pub fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tag.len() + 4 + value.len());
    out.extend_from_slice(tag);
    put_len(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    match n {
        0..=0x7F => out.push(n as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, n as u8]),
        _ => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
}

/// Parsed items: (tag, value).
pub type Items<'a> = Vec<(Vec<u8>, &'a [u8])>;

/// The items at the top level of `data`, as (tag, value); `Err` when a length
/// runs past the end or is not definite.
pub fn parse(data: &[u8]) -> Result<Items<'_>, String> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let tag_len = if rest[0] & 0x1F == 0x1F {
            // Multi-byte tag: continuation bytes have bit 8 set.
            let mut n = 2;
            while n <= rest.len() && rest[n - 1] & 0x80 != 0 {
                n += 1;
            }
            n
        } else {
            1
        };
        if rest.len() < tag_len + 1 {
            return Err("TLV cut short in its tag".into());
        }
        let tag = rest[..tag_len].to_vec();
        let (len, len_len) = match rest[tag_len] {
            n @ 0..=0x7F => (usize::from(n), 1),
            0x81 if rest.len() > tag_len + 1 => (usize::from(rest[tag_len + 1]), 2),
            0x82 if rest.len() > tag_len + 2 => (
                usize::from(rest[tag_len + 1]) << 8 | usize::from(rest[tag_len + 2]),
                3,
            ),
            0x83 if rest.len() > tag_len + 3 => (
                usize::from(rest[tag_len + 1]) << 16
                    | usize::from(rest[tag_len + 2]) << 8
                    | usize::from(rest[tag_len + 3]),
                4,
            ),
            b => return Err(format!("TLV length byte {b:02X} not understood")),
        };
        let start = tag_len + len_len;
        let end = start
            .checked_add(len)
            .filter(|e| *e <= rest.len())
            .ok_or_else(|| format!("TLV {} runs past the end", hex(&tag)))?;
        out.push((tag, &rest[start..end]));
        rest = &rest[end..];
    }
    Ok(out)
}

/// The first value with `tag` among `items`.
pub fn find<'a>(items: &[(Vec<u8>, &'a [u8])], tag: &[u8]) -> Option<&'a [u8]> {
    items.iter().find(|(t, _)| t == tag).map(|(_, v)| *v)
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for n in [0usize, 1, 0x7F, 0x80, 0xFF, 0x100, 0x1234] {
            let v = vec![0xAB; n];
            let enc = tlv(&[0x53], &v);
            let items = parse(&enc).unwrap();
            assert_eq!(items.len(), 1, "{n}");
            assert_eq!(items[0].0, vec![0x53]);
            assert_eq!(items[0].1.len(), n);
        }
        assert_eq!(tlv(&[0x80], &[1, 2]), vec![0x80, 2, 1, 2]);
        assert_eq!(&tlv(&[0x70], &[0; 200])[..3], &[0x70, 0x81, 200]);
        assert_eq!(&tlv(&[0x70], &[0; 300])[..4], &[0x70, 0x82, 0x01, 0x2C]);
    }

    #[test]
    fn two_byte_tags_and_several_items() {
        let mut d = tlv(&[0x7F, 0x49], &tlv(&[0x86], &[4, 1, 2]));
        d.extend(tlv(&[0x5F, 0xFF, 0x01], &[9]));
        let items = parse(&d).unwrap();
        assert_eq!(items[0].0, vec![0x7F, 0x49]);
        assert_eq!(
            find(&parse(items[0].1).unwrap(), &[0x86]),
            Some(&[4u8, 1, 2][..])
        );
        assert_eq!(items[1].0, vec![0x5F, 0xFF, 0x01]);
        assert_eq!(find(&items, &[0x99]), None);
    }

    #[test]
    fn bad_input_is_an_error() {
        for bad in [
            &[0x53, 0x05, 1, 2][..],
            &[0x53][..],
            &[0x53, 0x81][..],
            &[0x53, 0x84, 0, 0, 0, 1][..],
            &[0x7F][..],
        ] {
            assert!(parse(bad).is_err(), "{bad:02x?}");
        }
    }
}
