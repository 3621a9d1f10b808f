//! The shape of an image as the networks take it: one home for the size and the channels, so
//! that the data, the network and the model file agree by construction.

use serde::{Deserialize, Serialize};

/// Grayscale or colour: the data set's choice, recorded in the model file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    /// One channel: colour files become luma (BT.709), as MedClassify always did.
    #[default]
    Grayscale,
    /// Three channels, red, green and blue: grayscale files repeat their one value.
    Rgb,
}

impl Colour {
    /// 1 or 3.
    pub const fn channels(self) -> usize {
        match self {
            Colour::Grayscale => 1,
            Colour::Rgb => 3,
        }
    }

    /// `grayscale` or `rgb`, as the command line and the page's setting take it.
    pub const fn name(self) -> &'static str {
        match self {
            Colour::Grayscale => "grayscale",
            Colour::Rgb => "rgb",
        }
    }

    /// Parses `grayscale` (`gray`, `grey`) or `rgb` (`colour`, `color`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "grayscale" | "greyscale" | "gray" | "grey" => Some(Colour::Grayscale),
            "rgb" | "colour" | "color" => Some(Colour::Rgb),
            _ => None,
        }
    }

    /// How the user reads it: "grayscale" or "colour (RGB)".
    pub const fn label(self) -> &'static str {
        match self {
            Colour::Grayscale => "grayscale",
            Colour::Rgb => "colour (RGB)",
        }
    }
}

/// Square 8-bit images of `size` pixels a side, in one (grayscale) or three (RGB) channels,
/// stored channel after channel (`[channels, size, size]`, the networks' layout).
///
/// A grayscale shape is serialised as the bare number (`32`), the form the model file and
/// `inspect --json` have always had, so older files read unchanged; a colour one as
/// `{"size": 32, "colour": "rgb"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "ShapeForm", into = "ShapeForm")]
pub struct InputShape {
    size: u32,
    colour: Colour,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ShapeForm {
    Gray(u32),
    Full { size: u32, colour: Colour },
}

impl From<ShapeForm> for InputShape {
    fn from(form: ShapeForm) -> Self {
        match form {
            ShapeForm::Gray(size) => InputShape::square(size),
            ShapeForm::Full { size, colour } => InputShape::square(size).with_colour(colour),
        }
    }
}

impl From<InputShape> for ShapeForm {
    fn from(shape: InputShape) -> Self {
        match shape.colour {
            Colour::Grayscale => ShapeForm::Gray(shape.size),
            colour => ShapeForm::Full {
                size: shape.size,
                colour,
            },
        }
    }
}

impl InputShape {
    /// Square grayscale images of `size` pixels a side.
    pub const fn square(size: u32) -> Self {
        Self {
            size,
            colour: Colour::Grayscale,
        }
    }

    /// The same size in `colour`.
    pub const fn with_colour(self, colour: Colour) -> Self {
        Self { colour, ..self }
    }

    /// Side in pixels.
    pub const fn size(self) -> u32 {
        self.size
    }

    /// Side in pixels, as an index.
    pub const fn side(self) -> usize {
        self.size as usize
    }

    /// Grayscale or colour.
    pub const fn colour(self) -> Colour {
        self.colour
    }

    /// 1 or 3.
    pub const fn channels(self) -> usize {
        self.colour.channels()
    }

    /// Pixels per channel (`size * size`).
    pub const fn plane(self) -> usize {
        self.side() * self.side()
    }

    /// Values per image (`channels * size * size`).
    pub const fn values(self) -> usize {
        self.channels() * self.plane()
    }

    /// The tensor dimensions of `n` images: `[n, channels, size, size]`.
    pub const fn dims(self, n: usize) -> [usize; 4] {
        [n, self.channels(), self.side(), self.side()]
    }
}

/// 32x32 grayscale, what the page and the command line start with (the reference notebook's).
impl Default for InputShape {
    fn default() -> Self {
        Self::square(32)
    }
}

impl std::fmt::Display for InputShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{0}x{0}", self.size)?;
        match self.colour {
            Colour::Grayscale => Ok(()),
            Colour::Rgb => f.write_str(" RGB"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Colour, InputShape};

    #[test]
    fn a_gray_shape_serialises_as_the_bare_size() {
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

    #[test]
    fn a_colour_shape_names_its_colour() {
        let shape = InputShape::square(28).with_colour(Colour::Rgb);
        let json = serde_json::to_string(&shape).unwrap();
        assert_eq!(json, r#"{"size":28,"colour":"rgb"}"#);
        assert_eq!(serde_json::from_str::<InputShape>(&json).unwrap(), shape);
        assert_eq!(
            (shape.values(), shape.dims(2), shape.to_string()),
            (3 * 784, [2, 3, 28, 28], "28x28 RGB".into())
        );
        assert_eq!(Colour::parse("Colour"), Some(Colour::Rgb));
        assert_eq!(Colour::parse("grey"), Some(Colour::Grayscale));
    }
}
