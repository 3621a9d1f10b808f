//! Storage: the model file format, weight serialisation and the model card.

mod card;
mod model_file;
mod onnx;
mod weights;

pub use card::{ModelCard, model_card_markdown};
pub use model_file::{
    BURN_VERSION, DataSummary, EXTENSION, FORMAT_VERSION, MAGIC, ModelFile, ModelFileError,
    ModelMeta,
};
pub use onnx::{ONNX_EXTENSION, export_onnx, onnx_bytes};
pub use weights::{decode_weights, encode_weights, parameter_values};
