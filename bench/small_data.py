"""Small-data draws of MedNIST for the transfer-learning benchmark (bench/small_data.sh).

    .venv/bin/python bench/small_data.py MEDNIST_DIR REPORT.json OUT_DIR --per-class 5,20,100 \
        --seeds 1 --sizes 64,128

REPORT.json is `medclassify inspect MEDNIST_DIR --json` (seed 42, 70/15/15, duplicates kept
together): the project's own MedNIST split, the one the bundled model was tested on. For each
number N of images per class and each seed, the training set is a seeded draw of N images of
every class from that split's training part, the validation set a draw of N per class (at
least 3) from its validation part, and the test set is the split's whole test part (8,843
images). Each goes into one MedMNIST-format `.npz` per image size (MedNIST's 64 px as they are;
larger sizes resized with Pillow's bilinear filter), with its `.classes.txt`, so that every
network trains and is tested on exactly the same images.
"""
import argparse
import os
import json
import pathlib
import random

import numpy as np
from PIL import Image


def load(root, rows, size):
    images = np.zeros((len(rows), size, size), np.uint8)
    for i, row in enumerate(rows):
        image = Image.open(root / row["path"]).convert("L")
        if image.size != (size, size):
            image = image.resize((size, size), Image.BILINEAR)
        images[i] = np.asarray(image)
    return images


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mednist")
    ap.add_argument("report")
    ap.add_argument("out")
    ap.add_argument("--per-class", default="5,20,100")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--sizes", default="64,128")
    a = ap.parse_args()
    root, out = pathlib.Path(a.mednist), pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    report = json.loads(pathlib.Path(a.report).read_text())
    classes = sorted({row["class"] for row in report["manifest"]})
    by = {(s, c): [] for s in ("train", "validation", "test") for c in classes}
    for row in sorted(report["manifest"], key=lambda r: r["path"]):
        if row["split"] in ("train", "validation", "test"):
            by[(row["split"], row["class"])].append(row)
    test = [row for c in classes for row in by[("test", c)]]
    sizes = [int(s) for s in a.sizes.split(",")]
    test_arrays = {size: load(root, test, size) for size in sizes}
    test_labels = np.array([[classes.index(r["class"])] for r in test], np.int64)
    for n in [int(x) for x in a.per_class.split(",")]:
        for seed in [int(x) for x in a.seeds.split(",")]:
            rng = random.Random(seed * 1000 + n)
            train = [row for c in classes for row in rng.sample(by[("train", c)], n)]
            val = [row for c in classes for row in rng.sample(by[("validation", c)], max(n, 3))]
            for size in sizes:
                name = out / f"mednist-{n}pc-seed{seed}-{size}px.npz"
                # Written under another name, then renamed: a run stopped while it writes
                # leaves the old file or none, never half of one that the next run would read.
                part = name.with_name(f"{name.name}.{os.getpid()}.part")
                with open(part, "wb") as file:
                    np.savez_compressed(
                        file,
                        train_images=load(root, train, size),
                        train_labels=np.array([[classes.index(r["class"])] for r in train], np.int64),
                        val_images=load(root, val, size),
                        val_labels=np.array([[classes.index(r["class"])] for r in val], np.int64),
                        test_images=test_arrays[size],
                        test_labels=test_labels,
                    )
                os.replace(part, name)
                name.with_suffix(".classes.txt").write_text("\n".join(classes) + "\n")
                print(f"{name}: {len(train)} train, {len(val)} validation, {len(test)} test")


if __name__ == "__main__":
    main()
