"""PyTorch reference for fine-tuning EfficientNet-Lite0 (issue 25's GPU row): the network
MedClassify builds (TF 'SAME' padding, BatchNorm eps 1e-3, ReLU6, no squeeze-excitation), the
same ImageNet weights (the safetensors file `scripts/weights.sh` writes), the same training
images (`medclassify export --size 64` of the folder `medclassify train` reads: the same
pixels and the same split; its training split only), grey images as three equal channels,
(x - 127) / 128, bilinear scaling to SIZE, a new head for the classes, every layer trained
(Adam, 1e-4 for the backbone and 1e-3 for the head, BatchNorm in training mode), fp32. Run only
on the benchmark machine (bench/gpu.sh):

    medclassify export FOLDER --size 64 --out DATA.mcdata
    python3 bench/pytorch_finetune.py DATA.mcdata WEIGHTS.safetensors --size 224 --batch 32 --epochs 3

Prints one JSON object: training images/s per epoch (the whole step: scaling, forward,
backward, update, synchronised at the end of the epoch).
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np

STAGES = [  # (repeats, kernel, stride, expand, in, out): EfficientNet-Lite0
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]


def read_mcdata(path):
    """The images and split `medclassify export` wrote (bench/pytorch_reference.py's reader)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from pytorch_reference import read_mcdata as read

    header, pixels, labels, splits = read(path)
    train = np.nonzero(splits == "train")[0]
    return pixels[train, 0], labels[train], len(header["classes"])


def read_safetensors(path):
    raw = open(path, "rb").read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    base = 8 + length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(raw[base + start : base + end], np.float32).reshape(info["shape"])
    return tensors


def build(torch, classes, size):
    nn, F = torch.nn, torch.nn.functional

    class SameConv(nn.Conv2d):
        """A convolution with TensorFlow's 'SAME' padding for a fixed input size."""

        def __init__(self, cin, cout, k, stride, groups, size_in):
            super().__init__(cin, cout, k, stride, 0, groups=groups, bias=False)
            out = math.ceil(size_in / stride)
            total = max((out - 1) * stride + k - size_in, 0)
            self.pads = (total // 2, total - total // 2) * 2
            self.size_out = out

        def forward(self, x):
            return super().forward(F.pad(x, self.pads))

    def bn(c):
        return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)

    class Block(nn.Module):
        def __init__(self, k, s, e, cin, cout, size_in):
            super().__init__()
            mid = cin * e
            self.expand = e != 1
            if self.expand:
                self._expand_conv = SameConv(cin, mid, 1, 1, 1, size_in)
                self._bn0 = bn(mid)
            self._depthwise_conv = SameConv(mid, mid, k, s, mid, size_in)
            self._bn1 = bn(mid)
            self._project_conv = SameConv(mid, cout, 1, 1, 1, self._depthwise_conv.size_out)
            self._bn2 = bn(cout)
            self.skip = s == 1 and cin == cout
            self.size_out = self._depthwise_conv.size_out

        def forward(self, x):
            y = x
            if self.expand:
                y = F.relu6(self._bn0(self._expand_conv(y)))
            y = F.relu6(self._bn1(self._depthwise_conv(y)))
            y = self._bn2(self._project_conv(y))
            return y + x if self.skip else y

    class Lite0(nn.Module):
        def __init__(self):
            super().__init__()
            self._conv_stem = SameConv(3, 32, 3, 2, 1, size)
            self._bn0 = bn(32)
            s = self._conv_stem.size_out
            blocks = []
            for repeats, k, stride, e, cin, cout in STAGES:
                for r in range(repeats):
                    b = Block(k, stride if r == 0 else 1, e, cin if r == 0 else cout, cout, s)
                    s = b.size_out
                    blocks.append(b)
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = SameConv(320, 1280, 1, 1, 1, s)
            self._bn1 = bn(1280)
            self.head = nn.Linear(1280, classes)

        def forward(self, x):
            x = F.relu6(self._bn0(self._conv_stem(x)))
            for b in self._blocks:
                x = b(x)
            x = F.relu6(self._bn1(self._conv_head(x)))
            return self.head(x.mean(dim=(2, 3)))

    return Lite0()


def train(args):
    import torch

    torch.backends.cudnn.benchmark = True
    pixels, labels, classes = read_mcdata(args.data)
    device = torch.device("cuda")
    model = build(torch, classes, args.size)
    weights = read_safetensors(args.weights)
    state = model.state_dict()
    loaded = 0
    for name in state:
        if name in weights:
            state[name] = torch.from_numpy(weights[name].copy()).reshape(state[name].shape)
            loaded += 1
    model.load_state_dict(state)
    model.to(device).train()
    head = list(model.head.parameters())
    backbone = [p for n, p in model.named_parameters() if not n.startswith("head.")]
    opt = torch.optim.Adam([{"params": backbone, "lr": 1e-4}, {"params": head, "lr": 1e-3}])
    x_all = torch.from_numpy(pixels).to(device)
    y_all = torch.from_numpy(labels).to(device)
    generator = torch.Generator(device="cpu").manual_seed(0)
    history = []
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(labels), generator=generator).to(device)
        torch.cuda.synchronize()
        start = time.perf_counter()
        seen = 0
        for i in range(0, len(labels), args.batch):
            idx = order[i : i + args.batch]
            x = x_all[idx].float().unsqueeze(1)
            x = torch.nn.functional.interpolate(x, size=(args.size, args.size), mode="bilinear",
                                                align_corners=False)
            x = ((x - 127.0) / 128.0).expand(-1, 3, -1, -1)
            loss = torch.nn.functional.cross_entropy(model(x), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(idx)
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        history.append({"epoch": epoch, "seconds": seconds, "images_per_second": seen / seconds,
                        "loss_last_batch": loss.item()})
    print(json.dumps({
        "framework": f"PyTorch {torch.__version__}", "device": torch.cuda.get_device_name(0),
        "network": "efficientnet_lite0", "transfer": "all", "size": args.size, "batch": args.batch,
        "train_images": int(len(labels)), "weights_loaded": loaded, "cudnn_benchmark": True,
        "history": history,
    }))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("weights")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    train(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
