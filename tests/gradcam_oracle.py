"""Grad-CAM of a MedClassify ONNX export, computed without MedClassify (run by
tests/onnx_export.rs).

Usage: gradcam_oracle.py CASE.json

The case names an ONNX file, raw images (uint8, [n, channels, side, side]) and, per image, the
class to explain. onnxruntime runs the file with the input of its GlobalAveragePool added as an
output: the last convolution's feature maps A, [n, C, h, w]. The head after the pool is one
dense layer (the graph's own Gemm weights W, [C, K]), so the gradient of the explained score
with respect to A[k, y, x] is the same at every position: d/dA = W'[k] / (h w), where the score
is MedClassify's class margin, (1 + 1/(K-1)) z_c - (1/(K-1)) sum_j z_j, and W' is that
combination of W's columns. Grad-CAM in its element-wise form is then max(0, sum_k A[k] W'[k])
(the constant 1/(h w) cancels in the normalisation), upsampled to the input size bilinearly
with the corners aligned and divided by its maximum. Prints the maps as JSON; the Rust test
compares them with MedClassify's own.
"""

import json
import sys

import numpy as np
import onnx
import onnxruntime
from onnx import helper, numpy_helper


def upsample(cam, size):
    h, w = cam.shape
    ys = np.arange(size) * (h - 1) / (size - 1) if size > 1 else np.zeros(1)
    xs = np.arange(size) * (w - 1) / (size - 1) if size > 1 else np.zeros(1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = cam[y0][:, x0] * (1 - fx) + cam[y0][:, x1] * fx
    bottom = cam[y1][:, x0] * (1 - fx) + cam[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def main():
    with open(sys.argv[1]) as f:
        case = json.load(f)
    model = onnx.load(case["onnx"])
    nodes = model.graph.node
    pool = next(n for n in nodes if n.op_type == "GlobalAveragePool")
    gemm = next(n for n in nodes if n.op_type == "Gemm")
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    dense = weights[gemm.input[1]].astype(np.float64)
    if any(a.name == "transB" and a.i == 1 for a in gemm.attribute):
        dense = dense.T  # [C, K]
    model.graph.output.append(helper.make_tensor_value_info(pool.input[0], onnx.TensorProto.FLOAT, None))
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    pixels = np.array(case["pixels"], dtype=np.uint8).reshape(case["shape"]).astype(np.float32)
    (features,) = session.run([pool.input[0]], {"image": pixels})
    features = features.astype(np.float64)
    k = dense.shape[1]
    maps = []
    for image, target in zip(features, case["classes"]):
        others = k - 1
        weight = (1 + 1 / others) * dense[:, target] - dense.sum(axis=1) / others
        cam = np.maximum(np.tensordot(weight, image, axes=(0, 0)), 0.0)
        cam = upsample(cam, case["shape"][2])
        peak = cam.max()
        maps.append((cam / peak if peak > 0 else cam * 0).ravel().tolist())
    print(json.dumps({"feature_map": list(features.shape[1:]), "maps": maps}))


if __name__ == "__main__":
    main()
