//! ONNX export: the network in inference mode as a standard ONNX graph (opset 13), so a model
//! trained here runs in any ONNX runtime (onnxruntime, TensorRT, OpenCV's DNN, ...).
//!
//! Burn has no ONNX writer, so this is one: [`crate::model::inference_layers`] says what the
//! network computes, and each layer becomes the ONNX operator with the same semantics: `Div`
//! (the input scaling the model carries), `Conv` (grouped for depthwise convolutions),
//! `BatchNormalization` (running statistics, not folded, so the file shows the network as
//! trained), `Relu`, `Clip` (ReLU6), `Mul` and `Add` (an input normalisation), `Concat` (a
//! grayscale image as three channels), `Add` (residual connections), `MaxPool`,
//! `GlobalAveragePool`, `Flatten`, `Gemm`, and a final `Softmax`. The graph takes raw
//! intensities, `[batch, channels, side, side]` in 0..=255, exactly as MedClassify does, and
//! gives `logits` and `probabilities`. The class names and the input's meaning travel in the
//! file's metadata. The test suite runs the file in `onnxruntime` and compares probabilities
//! with MedClassify's on real images (`tests/onnx_export.rs`).

mod protobuf;

use protobuf::Message;

use crate::model::{Classifier, Layer, WeightValues, inference_layers};
use crate::storage::ModelMeta;

/// The file extension of an exported model.
pub const ONNX_EXTENSION: &str = "onnx";
/// The operator set the graph uses (every operator above has had its current form since 13).
const OPSET: i64 = 13;
/// The IR version that goes with opset 13.
const IR_VERSION: i64 = 7;
/// `TensorProto.DataType.FLOAT`.
const FLOAT: i64 = 1;

/// The ONNX file of `model` (any backend; its weights are read without blocking), described
/// by its header `meta`.
pub async fn export_onnx(model: &Classifier, meta: &ModelMeta) -> Result<Vec<u8>, String> {
    let layers = inference_layers(model, meta.shape().side()).await?;
    onnx_bytes(&layers, meta)
}

/// The ONNX file of `layers` for the model described by `meta`.
pub fn onnx_bytes(layers: &[Layer<WeightValues>], meta: &ModelMeta) -> Result<Vec<u8>, String> {
    let channels = meta.shape().channels();
    let side = meta.shape().side() as i64;
    let mut graph = Graph::default();
    let mut current = "image".to_string();
    for layer in layers {
        current = graph.add(layer, &current)?;
    }
    graph.node("Identity", &[&current], "logits", &[]);
    let mut axis = Message::new();
    axis.string(1, "axis").int(20, 2).int(3, 1);
    graph.node("Softmax", &["logits"], "probabilities", &[axis]);

    let classes = meta.classes.len() as i64;
    let mut body = Message::new();
    for node in &graph.nodes {
        body.message(1, node);
    }
    body.string(2, "medclassify");
    for initializer in &graph.initializers {
        body.message(5, initializer);
    }
    body.string(
        10,
        "Input: raw intensities 0..255 (the graph divides by 255). Outputs: logits and \
         softmax probabilities, one column per class in the order of the metadata's classes.",
    );
    let batch = Dim::Param("batch");
    let input_dims = [
        batch,
        Dim::Value(channels as i64),
        Dim::Value(side),
        Dim::Value(side),
    ];
    body.message(11, &value_info("image", &input_dims));
    for name in ["logits", "probabilities"] {
        body.message(12, &value_info(name, &[batch, Dim::Value(classes)]));
    }

    let mut model = Message::new();
    model.int(1, IR_VERSION);
    model.string(2, "MedClassify");
    model.string(3, env!("CARGO_PKG_VERSION"));
    model.message(7, &body);
    let mut opset = Message::new();
    opset.string(1, "").int(2, OPSET);
    model.message(8, &opset);
    let classes_json = serde_json::to_string(&meta.classes).map_err(|e| e.to_string())?;
    for (key, value) in [
        ("classes", classes_json.as_str()),
        ("preset", meta.model.preset().name()),
        (
            "input",
            "raw intensities 0..255, [batch, channels, side, side]",
        ),
    ] {
        let mut entry = Message::new();
        entry.string(1, key).string(2, value);
        model.message(14, &entry);
    }
    Ok(model.into_bytes())
}

#[derive(Clone, Copy)]
enum Dim {
    Value(i64),
    Param(&'static str),
}

/// A `ValueInfoProto` of a float tensor.
fn value_info(name: &str, dims: &[Dim]) -> Message {
    let mut shape = Message::new();
    for dim in dims {
        let mut d = Message::new();
        match *dim {
            Dim::Value(v) => d.int(1, v),
            Dim::Param(p) => d.string(2, p),
        };
        shape.message(1, &d);
    }
    let mut tensor = Message::new();
    tensor.int(1, FLOAT).message(2, &shape);
    let mut kind = Message::new();
    kind.message(1, &tensor);
    let mut info = Message::new();
    info.string(1, name).message(2, &kind);
    info
}

/// An `AttributeProto` holding a list of integers.
fn ints_attribute(name: &str, values: &[usize]) -> Message {
    let values: Vec<i64> = values.iter().map(|&v| v as i64).collect();
    let mut a = Message::new();
    a.string(1, name).int(20, 7).ints(8, &values);
    a
}

/// An `AttributeProto` holding one integer.
fn int_attribute(name: &str, value: i64) -> Message {
    let mut a = Message::new();
    a.string(1, name).int(20, 2).int(3, value);
    a
}

/// The nodes and weights, as they are added.
#[derive(Default)]
struct Graph {
    nodes: Vec<Message>,
    initializers: Vec<Message>,
}

impl Graph {
    fn node(&mut self, op: &str, inputs: &[&str], output: &str, attributes: &[Message]) {
        let mut node = Message::new();
        for input in inputs {
            node.string(1, input);
        }
        node.string(2, output);
        node.string(3, &format!("{op}_{}", self.nodes.len()));
        node.string(4, op);
        for attribute in attributes {
            node.message(5, attribute);
        }
        self.nodes.push(node);
    }

    /// Adds `weight` as an initializer named after the next node; returns its name.
    fn weight(&mut self, role: &str, weight: &WeightValues) -> Result<String, String> {
        let expected: usize = weight.shape.iter().product();
        if expected != weight.values.len() {
            return Err(format!(
                "a {role} weight has {} values for shape {:?}",
                weight.values.len(),
                weight.shape
            ));
        }
        let name = format!("{role}_{}", self.nodes.len());
        let dims: Vec<i64> = weight.shape.iter().map(|&d| d as i64).collect();
        let raw: Vec<u8> = weight.values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut tensor = Message::new();
        tensor
            .ints(1, &dims)
            .int(2, FLOAT)
            .string(8, &name)
            .bytes(9, &raw);
        self.initializers.push(tensor);
        Ok(name)
    }

    /// Adds a scalar constant as an initializer; returns its name.
    fn scalar(&mut self, role: &str, value: f32) -> Result<String, String> {
        let scalar = WeightValues {
            shape: Vec::new(),
            values: vec![value],
        };
        // Named by role and node number: the scalars of one node have different roles.
        self.weight(role, &scalar)
    }

    /// Adds the nodes of `layer` reading `input`; returns the name of its output.
    fn add(&mut self, layer: &Layer<WeightValues>, input: &str) -> Result<String, String> {
        let output = format!("x{}", self.nodes.len());
        match layer {
            Layer::Divide { divisor } => {
                let name = self.scalar("divisor", *divisor)?;
                self.node("Div", &[input, &name], &output, &[]);
            }
            Layer::Conv {
                weight,
                bias,
                stride,
                padding,
                groups,
            } => {
                let w = self.weight("conv_weight", weight)?;
                let mut inputs = vec![input.to_string(), w];
                if let Some(bias) = bias {
                    inputs.push(self.weight("conv_bias", bias)?);
                }
                let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                let kernel = &weight.shape[2..];
                let attributes = [
                    ints_attribute("kernel_shape", kernel),
                    ints_attribute("strides", stride),
                    ints_attribute("pads", padding),
                    int_attribute("group", *groups as i64),
                ];
                self.node("Conv", &inputs, &output, &attributes);
            }
            Layer::Clip { min, max } => {
                let min = self.scalar("clip_min", *min)?;
                let max = self.scalar("clip_max", *max)?;
                self.node("Clip", &[input, &min, &max], &output, &[]);
            }
            Layer::Affine { scale, shift } => {
                let scale = self.scalar("scale", *scale)?;
                let scaled = format!("{output}_scaled");
                self.node("Mul", &[input, &scale], &scaled, &[]);
                let shift = self.scalar("shift", *shift)?;
                self.node("Add", &[&scaled, &shift], &output, &[]);
            }
            Layer::RepeatChannels { times } => {
                let inputs = vec![input; *times];
                self.node("Concat", &inputs, &output, &[int_attribute("axis", 1)]);
            }
            Layer::Residual { body } => {
                let mut current = input.to_string();
                for layer in body {
                    current = self.add(layer, &current)?;
                }
                let output = format!("x{}", self.nodes.len());
                self.node("Add", &[&current, input], &output, &[]);
                return Ok(output);
            }
            Layer::BatchNorm {
                gamma,
                beta,
                mean,
                var,
                epsilon,
            } => {
                let names = [
                    self.weight("bn_scale", gamma)?,
                    self.weight("bn_bias", beta)?,
                    self.weight("bn_mean", mean)?,
                    self.weight("bn_var", var)?,
                ];
                let mut eps = Message::new();
                eps.string(1, "epsilon")
                    .int(20, 1)
                    .float(2, *epsilon as f32);
                let inputs = [input, &names[0], &names[1], &names[2], &names[3]];
                self.node("BatchNormalization", &inputs, &output, &[eps]);
            }
            Layer::Relu => self.node("Relu", &[input], &output, &[]),
            Layer::MaxPool { kernel, stride } => {
                let attributes = [
                    ints_attribute("kernel_shape", kernel),
                    ints_attribute("strides", stride),
                ];
                self.node("MaxPool", &[input], &output, &attributes);
            }
            Layer::GlobalAveragePool => self.node("GlobalAveragePool", &[input], &output, &[]),
            Layer::Flatten => {
                self.node("Flatten", &[input], &output, &[int_attribute("axis", 1)]);
            }
            Layer::Dense { weight, bias } => {
                let w = self.weight("dense_weight", weight)?;
                let mut inputs = vec![input.to_string(), w];
                if let Some(bias) = bias {
                    inputs.push(self.weight("dense_bias", bias)?);
                }
                let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                self.node("Gemm", &inputs, &output, &[]);
            }
        }
        Ok(output)
    }
}
