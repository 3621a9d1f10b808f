#![cfg(not(target_arch = "wasm32"))]
//! Images smaller than the network's input are kept at their own size and resized when used:
//! the memory of the full MedNIST at 224 px is its 64 x 64 files, and every pixel a batch,
//! a prediction or the dataset file sees is the one a straight resize of the file gives.

mod common;

use image::imageops::{FilterType, resize};
use medclassify::data::{Colour, InputShape, batch_pixels, decode_pixels};
use medclassify::native::load_folder;
use medclassify::session::decode_for_prediction;

/// The oracle: the file decoded by the `image` crate and resized to `side` with the filter the
/// decoder documents (triangle), as gray or as planar RGB; none of MedClassify's code.
fn straight_resize(bytes: &[u8], side: u32, colour: Colour) -> Vec<u8> {
    let image = image::load_from_memory(bytes).unwrap();
    match colour {
        Colour::Grayscale => resize(&image.to_luma8(), side, side, FilterType::Triangle).into_raw(),
        Colour::Rgb => {
            let rgb = resize(&image.to_rgb8(), side, side, FilterType::Triangle);
            (0..3)
                .flat_map(|c| rgb.pixels().map(move |p| p[c]).collect::<Vec<_>>())
                .collect()
        }
    }
}

#[test]
fn mednist_at_224_px_is_kept_at_64_px_and_used_at_224() {
    let root = common::fixture();
    for colour in [Colour::Grayscale, Colour::Rgb] {
        let shape = InputShape::square(224).with_colour(colour);
        let (dataset, report) = load_folder(&root, shape, 2).unwrap();
        assert_eq!(dataset.len(), 247);
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        // The store holds the 64 x 64 files, not 224 x 224 copies (12.25 times less).
        assert_eq!(dataset.pixels.len(), 247 * 64 * 64 * colour.channels());
        for (index, sample) in dataset.samples.iter().enumerate() {
            let bytes = std::fs::read(root.join(&sample.path)).unwrap();
            let expected = straight_resize(&bytes, 224, colour);
            assert!(
                *dataset.image(index) == expected[..],
                "{} at {shape}: the image used differs from the file resized",
                sample.path
            );
            if index % 40 == 0 {
                // Prediction decodes the same file to the same pixels as training uses.
                let rows = decode_for_prediction(
                    &sample.path,
                    Ok(bytes.clone()),
                    shape,
                    Default::default(),
                );
                assert_eq!(rows.len(), 1);
                assert!(rows[0].pixels == expected, "{}: predict", sample.path);
            }
        }
        // A batch (what training sees) is made of the same images.
        let (pixels, labels) = batch_pixels(&dataset, &[5, 100, 246], None);
        assert_eq!(labels.len(), 3);
        let one = shape.values();
        assert!(pixels[one..2 * one] == *dataset.image(100));
    }
}

#[test]
fn images_larger_than_the_input_are_kept_at_the_input_size() {
    // The control: at 32 px the 64 px files are resized once, when loaded, and kept at 32.
    let root = common::fixture();
    let shape = InputShape::square(32);
    let (dataset, _) = load_folder(&root, shape, 2).unwrap();
    assert_eq!(dataset.pixels.len(), 247 * 32 * 32);
    assert!(dataset.stored.is_empty(), "a uniform store needs no table");
    let sample = &dataset.samples[17];
    let bytes = std::fs::read(root.join(&sample.path)).unwrap();
    assert!(*dataset.image(17) == straight_resize(&bytes, 32, Colour::Grayscale)[..]);
    // At 64 px (the files' own size) nothing is resized at all.
    let (at_64, _) = load_folder(&root, InputShape::square(64), 2).unwrap();
    assert!(at_64.stored.is_empty());
    assert!(
        *at_64.image(17)
            == decode_pixels(&bytes, InputShape::square(64), &Default::default()).unwrap()[..]
    );
}
