//! The part of the protocol-buffers wire format an ONNX file needs: varints, 32-bit floats,
//! and length-delimited fields (strings, bytes, nested messages). Writing only; a dozen lines
//! instead of a code generator and a `protoc` in every build.
//!
//! Repeated integers are written one field each (unpacked), which every reader must accept:
//! `onnx.proto` is proto2, where packing is opt-in per field.

/// One message being written.
#[derive(Default)]
pub struct Message(Vec<u8>);

impl Message {
    /// An empty message.
    pub fn new() -> Self {
        Self::default()
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.raw_varint((u64::from(field) << 3) | u64::from(wire_type));
    }

    fn raw_varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    /// An `int32`/`int64` field (negative numbers as ten-byte two's complement, per the spec).
    pub fn int(&mut self, field: u32, value: i64) -> &mut Self {
        self.key(field, 0);
        self.raw_varint(value as u64);
        self
    }

    /// A repeated `int64` field, one entry per value.
    pub fn ints(&mut self, field: u32, values: &[i64]) -> &mut Self {
        for &value in values {
            self.int(field, value);
        }
        self
    }

    /// A `float` field.
    pub fn float(&mut self, field: u32, value: f32) -> &mut Self {
        self.key(field, 5);
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// A `bytes` field.
    pub fn bytes(&mut self, field: u32, value: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.raw_varint(value.len() as u64);
        self.0.extend_from_slice(value);
        self
    }

    /// A `string` field.
    pub fn string(&mut self, field: u32, value: &str) -> &mut Self {
        self.bytes(field, value.as_bytes())
    }

    /// A nested message field.
    pub fn message(&mut self, field: u32, value: &Message) -> &mut Self {
        self.bytes(field, &value.0)
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Message;

    /// Known encodings from the protocol-buffers documentation ("Encoding"): field 1 = 150 is
    /// `08 96 01`; field 2 = "testing" is `12 07 74 65 73 74 69 6e 67`; an embedded message
    /// holding the first is `1a 03 08 96 01`.
    #[test]
    fn matches_the_documented_encodings() {
        let mut m = Message::new();
        m.int(1, 150);
        assert_eq!(m.into_bytes(), [0x08, 0x96, 0x01]);
        let mut m = Message::new();
        m.string(2, "testing");
        assert_eq!(
            m.into_bytes(),
            [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]
        );
        let mut inner = Message::new();
        inner.int(1, 150);
        let mut m = Message::new();
        m.message(3, &inner);
        assert_eq!(m.into_bytes(), [0x1a, 0x03, 0x08, 0x96, 0x01]);
        let mut m = Message::new();
        m.int(1, -1);
        assert_eq!(m.into_bytes().len(), 11, "negative int64: ten varint bytes");
        let mut m = Message::new();
        m.float(2, 1.0);
        assert_eq!(m.into_bytes(), [0x15, 0x00, 0x00, 0x80, 0x3f]);
    }
}
