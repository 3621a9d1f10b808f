"""PyTorch reference for MedClassify's benchmarks: the same `seed` and `strong` networks, the
same data (a `.mcdata` file written by `medclassify export`, so the same pixels and the same
split), the same batch size, Adam 1e-3 and cross-entropy, on the same GPU. Run only on the
benchmark machine:

    python3 bench/pytorch_reference.py DATA.mcdata --preset seed --epochs 3 --batch 64

Prints one JSON object: images/s per epoch (training only), test accuracy after each epoch,
and the training time until the test accuracy first reached 99%.
"""
import argparse
import json
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_mcdata(path):
    raw = open(path, "rb").read()
    assert raw[:8] == b"MCDATA\x00\x01", "not a .mcdata file"
    (length,) = struct.unpack("<I", raw[8:12])
    header = json.loads(raw[12 : 12 + length])
    size = header["image_size"]
    pixels = np.frombuffer(raw[12 + length :], dtype=np.uint8).reshape(-1, 1, size, size)
    labels = np.array([s["label"] for s in header["samples"]], dtype=np.int64)
    splits = np.array([s["split"] for s in header["samples"]])
    return header, pixels, labels, splits


class Seed(nn.Module):
    """Conv(1->32,3)+ReLU, MaxPool2, Conv(32->64,3)+ReLU, MaxPool2, Flatten, Dropout(0.5), Dense."""

    def __init__(self, classes, size):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        side = ((size - 2) // 2 - 2) // 2
        self.dropout = nn.Dropout(0.5)
        self.dense = nn.Linear(64 * side * side, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x / 255.0)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.dense(self.dropout(torch.flatten(x, 1)))


class Strong(nn.Module):
    """Four conv3x3-BN-ReLU blocks (16, 32, 64, 64 channels), max-pool after the first three,
    global average pooling, dropout 0.2, dense."""

    def __init__(self, classes, size, width=16):
        super().__init__()
        widths = [1, width, 2 * width, 4 * width, 4 * width]
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b, momentum=0.1, eps=1e-5), nn.ReLU())
            for a, b in zip(widths[:-1], widths[1:])
        )
        self.dropout = nn.Dropout(0.2)
        self.dense = nn.Linear(4 * width, classes)

    def forward(self, x):
        x = x / 255.0
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < 3:
                x = F.max_pool2d(x, 2)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.dense(self.dropout(x))


def accuracy(model, x, y, batch=1024):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum().item()
    model.train()
    return correct / len(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--preset", default="seed", choices=["seed", "strong"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    header, pixels, labels, splits = read_mcdata(args.data)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    # Raw intensities as float on the device, as the Burn model receives them.
    x = torch.from_numpy(pixels.astype(np.float32)).to(device)
    y = torch.from_numpy(labels).to(device)
    train_idx = torch.from_numpy(np.nonzero(splits == "train")[0]).to(device)
    test_idx = torch.from_numpy(np.nonzero(splits == "test")[0]).to(device)
    classes, size = len(header["classes"]), header["image_size"]
    model = (Seed if args.preset == "seed" else Strong)(classes, size).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = []
    time_to_99 = None
    training_seconds = 0.0
    for epoch in range(1, args.epochs + 1):
        order = train_idx[torch.randperm(len(train_idx), device=device)]
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for i in range(0, len(order), args.batch):
            index = order[i : i + args.batch]
            loss = F.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        training_seconds += seconds
        test_accuracy = accuracy(model, x[test_idx], y[test_idx])
        history.append({"epoch": epoch, "seconds": seconds, "images_per_second": len(order) / seconds, "test_accuracy": test_accuracy})
        if time_to_99 is None and test_accuracy >= 0.99:
            time_to_99 = training_seconds
    print(json.dumps({
        "framework": f"PyTorch {torch.__version__}",
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
        "preset": args.preset,
        "batch": args.batch,
        "train_images": int(len(train_idx)),
        "test_images": int(len(test_idx)),
        "history": history,
        "seconds_to_99_percent_test_accuracy": time_to_99,
    }))


if __name__ == "__main__":
    main()
