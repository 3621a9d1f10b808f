//! The shape of an image as the networks take it: one home for the size (and, later, the
//! channels), so that the data, the network and the model file agree by construction.

use serde::{Deserialize, Serialize};

/// Square 8-bit grayscale images of `size` pixels a side.
///
/// Serialised as the bare number (`32`), the form the model file and `inspect --json` have
/// always had.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InputShape {
    size: u32,
}

impl InputShape {
    /// Square images of `size` pixels a side.
    pub const fn square(size: u32) -> Self {
        Self { size }
    }

    /// Side in pixels.
    pub const fn size(self) -> u32 {
        self.size
    }

    /// Side in pixels, as an index.
    pub const fn side(self) -> usize {
        self.size as usize
    }

    /// Values per image.
    pub const fn values(self) -> usize {
        self.side() * self.side()
    }
}

/// 32x32, the size the page and the command line start with (the reference notebook's).
impl Default for InputShape {
    fn default() -> Self {
        Self::square(32)
    }
}

impl std::fmt::Display for InputShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{0}x{0}", self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::InputShape;

    #[test]
    fn serialises_as_the_bare_size() {
        let shape = InputShape::square(32);
        assert_eq!(serde_json::to_string(&shape).unwrap(), "32");
        assert_eq!(
            serde_json::from_str::<InputShape>("64").unwrap(),
            InputShape::square(64)
        );
        assert_eq!(
            (shape.side(), shape.values(), shape.to_string()),
            (32, 1024, "32x32".into())
        );
    }
}
