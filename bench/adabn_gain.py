"""How far AdaBN moves each BatchNorm of EfficientNet-Lite0 from ImageNet's normalisation.

Reads two ONNX exports of the same network (`medclassify export-onnx`): one fine-tuned with
ImageNet's statistics kept, one with them fitted to the training images (`--adapt-norm`), and
prints, per BatchNorm layer in graph order, how many channels the fitted statistics scale up
by more than 3x against ImageNet's (the gain sqrt((var_imagenet + eps) / (var_fitted + eps)),
eps = 1e-3 as in the network), the largest gain and the median. Training never moves these
statistics (they are frozen), so a one-epoch run of each shows what the whole run uses.

    python bench/adabn_gain.py imagenet.onnx fitted.onnx [more fitted.onnx ...]
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper

EPS = 1e-3


def variances(path):
    """Each BatchNormalization node's running variance, in graph order."""
    model = onnx.load(path)
    values = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    return [values[n.input[4]] for n in model.graph.node if n.op_type == "BatchNormalization"]


def main(imagenet_path, fitted_paths):
    imagenet = variances(imagenet_path)
    fitted = [variances(p) for p in fitted_paths]
    print("layer channels " + " | ".join(f"{p}: gain>3 max median" for p in fitted_paths))
    totals = [0] * len(fitted)
    for k, base in enumerate(imagenet):
        cells = []
        for j, run in enumerate(fitted):
            gain = np.sqrt((base + EPS) / (run[k] + EPS))
            totals[j] += int((gain > 3).sum())
            cells.append(f"{int((gain > 3).sum()):4d} {gain.max():6.1f} {np.median(gain):5.2f}")
        print(f"{k:5d} {len(base):8d} " + " | ".join(cells))
    print("channels scaled up more than 3x, all layers: " + ", ".join(
        f"{p}: {t}" for p, t in zip(fitted_paths, totals)))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
