#![cfg(not(target_arch = "wasm32"))]
//! The model file: round trip, and clear errors for files that are not models.

use burn::prelude::*;
use medclassify::data::InputShape;
use medclassify::model::{ModelConfig, Preset};
use medclassify::storage::{
    ModelFile, ModelFileError, ModelMeta, decode_weights, encode_weights, parameter_values,
};

fn file(preset: Preset) -> ModelFile {
    let device = Device::flex();
    device.seed(3);
    let config = ModelConfig::new(preset, 6, InputShape::square(32));
    let model = config.init(&device);
    let weights = pollster::block_on(encode_weights(&model, &config)).unwrap();
    let classes = ["AbdomenCT", "BreastMRI", "CXR", "ChestCT", "Hand", "HeadCT"]
        .map(String::from)
        .to_vec();
    ModelFile {
        meta: ModelMeta::new(config, classes),
        weights,
    }
}

#[test]
fn round_trip_keeps_header_and_weights() {
    for preset in [Preset::Seed, Preset::Strong] {
        let original = file(preset);
        let bytes = original.to_bytes();
        let back = ModelFile::from_bytes(&bytes).unwrap();
        assert_eq!(back.weights, original.weights);
        assert_eq!(back.meta.classes, original.meta.classes);
        assert_eq!(back.meta.model.preset(), preset);
        let a = decode_weights(&original.meta.model, &original.weights, &Device::flex()).unwrap();
        let b = decode_weights(&back.meta.model, &back.weights, &Device::flex()).unwrap();
        assert_eq!(
            pollster::block_on(parameter_values(&a)).unwrap(),
            pollster::block_on(parameter_values(&b)).unwrap()
        );
    }
}

#[test]
fn bad_files_are_refused_with_a_reason() {
    let good = file(Preset::Seed).to_bytes();
    assert_eq!(
        ModelFile::from_bytes(b"hello world, not a model").unwrap_err(),
        ModelFileError::NotAModel
    );
    assert_eq!(
        ModelFile::from_bytes(&good[..20]).unwrap_err(),
        ModelFileError::Truncated
    );
    let mut bad_header = good.clone();
    bad_header[13] = b'#';
    assert!(matches!(
        ModelFile::from_bytes(&bad_header).unwrap_err(),
        ModelFileError::BadHeader(_)
    ));
    // Weights of a seed network under a header that says strong: refused when loading.
    let mut mixed = file(Preset::Strong);
    mixed.weights = file(Preset::Seed).weights;
    let error = decode_weights(&mixed.meta.model, &mixed.weights, &Device::flex()).unwrap_err();
    assert!(error.contains("do not fit a strong network"), "{error}");
    // Damaged weights.
    let mut damaged = file(Preset::Seed);
    let n = damaged.weights.len();
    damaged.weights.truncate(n / 2);
    assert!(decode_weights(&damaged.meta.model, &damaged.weights, &Device::flex()).is_err());
    // A header whose class list disagrees with the network.
    let mut inconsistent = file(Preset::Seed);
    inconsistent.meta.classes.pop();
    assert!(matches!(
        ModelFile::from_bytes(&inconsistent.to_bytes()).unwrap_err(),
        ModelFileError::Inconsistent(_)
    ));
}
