"""Runs MedClassify's ONNX exports in onnxruntime (run by tests/onnx_export.rs).

Usage: onnx_parity.py CASES.json

Each case names an ONNX file, raw images (uint8, [n, channels, side, side]), MedClassify's
probabilities for them and the class names. For each, the file must pass onnx.checker with
full shape inference, carry the class names in its metadata, and run in onnxruntime (CPU).
Prints, as JSON, the largest absolute difference between the two sets of probabilities, the
share of images whose top class agrees, and whether the class names match; the Rust test
decides what passes (it also sends a control case that must disagree).
"""

import json
import sys

import numpy as np
import onnx
import onnxruntime


def run(case):
    model = onnx.load(case["onnx"])
    onnx.checker.check_model(model, full_check=True)
    metadata = {p.key: p.value for p in model.metadata_props}
    session = onnxruntime.InferenceSession(case["onnx"], providers=["CPUExecutionProvider"])
    pixels = np.array(case["pixels"], dtype=np.uint8).reshape(case["shape"])
    logits, probabilities = session.run(
        ["logits", "probabilities"], {"image": pixels.astype(np.float32)}
    )
    ours = np.array(case["probabilities"], dtype=np.float64).reshape(probabilities.shape)
    theirs = probabilities.astype(np.float64)
    return {
        "name": case["name"],
        "images": int(pixels.shape[0]),
        "max_abs_difference": float(np.max(np.abs(ours - theirs))),
        "argmax_agreement": float(np.mean(ours.argmax(1) == theirs.argmax(1))),
        "classes": json.loads(metadata.get("classes", "null")) == case["classes"],
        "opset": [(o.domain, o.version) for o in model.opset_import],
        "operators": sorted({node.op_type for node in model.graph.node}),
    }


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    print(json.dumps([run(case) for case in cases]))


if __name__ == "__main__":
    main()
