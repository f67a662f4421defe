//! TFRecord framing and the few TensorFlow protobuf messages a scalar
//! summary needs, encoded by hand.
//!
//! A record is `u64 length | u32 masked_crc32c(length) | data |
//! u32 masked_crc32c(data)`, little-endian (tensorflow/core/lib/io/record_writer.cc).
//! Messages (tensorflow/core/util/event.proto, framework/summary.proto):
//! `Event { double wall_time = 1; int64 step = 2; string file_version = 3;
//! Summary summary = 5; }`, `Summary { repeated Value value = 1; }`,
//! `Value { string tag = 1; float simple_value = 2; }`.

/// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, bitwise: event
/// files are small, and a table would be the only other code here.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The masking TFRecord applies so that CRCs of data containing CRCs stay
/// well distributed (tensorflow/core/lib/hash/crc32c.h, `Mask`).
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c(data);
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

pub fn record(data: &[u8]) -> Vec<u8> {
    let length = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&length);
    out.extend_from_slice(&masked_crc32c(&length).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    out
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field (wire type 2).
fn bytes_field(field: u64, data: &[u8], out: &mut Vec<u8>) {
    varint(field << 3 | 2, out);
    varint(data.len() as u64, out);
    out.extend_from_slice(data);
}

fn event_header(wall_time: f64, step: i64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(1 << 3 | 1, &mut out); // wall_time, 64-bit
    out.extend_from_slice(&wall_time.to_le_bytes());
    varint(2 << 3, &mut out); // step, varint (two's complement for int64)
    varint(step as u64, &mut out);
    out
}

/// The first event of every file: `file_version: "brain.Event:2"`.
pub fn file_version_event(wall_time: f64) -> Vec<u8> {
    let mut out = event_header(wall_time, 0);
    bytes_field(3, b"brain.Event:2", &mut out);
    out
}

/// An event carrying scalar summaries, one `Value` per (tag, value).
pub fn scalars_event(wall_time: f64, step: i64, scalars: &[(String, f32)]) -> Vec<u8> {
    let mut summary = Vec::new();
    for (tag, value) in scalars {
        let mut v = Vec::new();
        bytes_field(1, tag.as_bytes(), &mut v);
        varint(2 << 3 | 5, &mut v); // simple_value, 32-bit
        v.extend_from_slice(&value.to_le_bytes());
        bytes_field(1, &v, &mut summary);
    }
    let mut out = event_header(wall_time, step);
    bytes_field(5, &summary, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_values() {
        // The CRC catalogue's check value for CRC-32/ISCSI, and RFC 3720
        // B.4's 32 zero bytes.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
    }

    #[test]
    fn records_frame_their_data() {
        let r = record(b"abc");
        assert_eq!(r.len(), 8 + 4 + 3 + 4);
        assert_eq!(&r[..8], &3u64.to_le_bytes());
        assert_eq!(&r[12..15], b"abc");
        let mask = |c: u32| c.rotate_right(15).wrapping_add(0xa282_ead8);
        assert_eq!(&r[15..], &mask(crc32c(b"abc")).to_le_bytes());
    }

    #[test]
    fn varints_by_hand() {
        let mut out = Vec::new();
        varint(300, &mut out);
        assert_eq!(out, [0xAC, 0x02]);
    }
}
