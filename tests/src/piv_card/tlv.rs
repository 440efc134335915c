//! BER-TLV as PIV uses it: tags of one to three bytes, definite lengths.

/// Appends tag, length and value.
pub fn put(out: &mut Vec<u8>, tag: &[u8], value: &[u8]) {
    out.extend_from_slice(tag);
    put_len(out, value.len());
    out.extend_from_slice(value);
}

/// A TLV as a fresh vector.
pub fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    put(&mut out, tag, value);
    out
}

/// Appends a definite length (short form, 81 or 82).
pub fn put_len(out: &mut Vec<u8>, len: usize) {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        _ => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
    }
}

/// Splits `data` into (tag, value) pairs; `None` when malformed.
pub fn parse(mut data: &[u8]) -> Option<Vec<(Vec<u8>, &[u8])>> {
    let mut items = Vec::new();
    while !data.is_empty() {
        let mut tag_len = 1;
        if data[0] & 0x1F == 0x1F {
            while *data.get(tag_len)? & 0x80 != 0 {
                tag_len += 1;
            }
            tag_len += 1;
        }
        let tag = data.get(..tag_len)?.to_vec();
        let (len, len_len) = match *data.get(tag_len)? {
            n @ 0..=0x7F => (usize::from(n), 1),
            0x81 => (usize::from(*data.get(tag_len + 1)?), 2),
            0x82 => (
                usize::from(u16::from_be_bytes([
                    *data.get(tag_len + 1)?,
                    *data.get(tag_len + 2)?,
                ])),
                3,
            ),
            _ => return None,
        };
        let start = tag_len + len_len;
        let value = data.get(start..start + len)?;
        items.push((tag, value));
        data = &data[start + len..];
    }
    Some(items)
}

/// The value of the first item tagged `tag`.
pub fn find<'a>(items: &[(Vec<u8>, &'a [u8])], tag: &[u8]) -> Option<&'a [u8]> {
    items.iter().find(|(t, _)| t == tag).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_multi_byte_tags_and_long_lengths() {
        let long = vec![7u8; 300];
        let mut data = tlv(&[0x5C], &[0x5F, 0xC1, 0x05]);
        put(&mut data, &[0x53], &long);
        put(&mut data, &[0x7F, 0x49], &[1, 2]);
        let items = parse(&data).unwrap();
        assert_eq!(find(&items, &[0x5C]), Some(&[0x5F, 0xC1, 0x05][..]));
        assert_eq!(find(&items, &[0x53]).map(<[u8]>::len), Some(300));
        assert_eq!(find(&items, &[0x7F, 0x49]), Some(&[1, 2][..]));
        assert!(parse(&[0x53, 0x05, 1]).is_none());
    }
}
