"""Small PneumoniaMNIST draws for the transfer-learning benchmark (bench/small_pneumonia.sh).

    .venv/bin/python bench/small_pneumonia.py NPZ OUT_DIR --per-class 50 --seeds 1,2,3 --sizes 28,128

NPZ is the shared MedMNIST-format file (its own train / val / test arrays, 28 px). For each
seed the training set is a seeded draw of N images of each class from its training array; the
validation and test arrays are kept whole (524 and 624 images), so every network is tested on
the official test split. Each draw is written once per size (28 px as it is; larger sizes
resized with Pillow's bilinear filter), so that every network sees exactly the same images.
"""
import argparse
import os
import pathlib

import numpy as np
from PIL import Image


def resize(images, size):
    if images.shape[1] == size:
        return images
    return np.stack([np.asarray(Image.fromarray(i).resize((size, size), Image.BILINEAR)) for i in images])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("npz")
    ap.add_argument("out")
    ap.add_argument("--per-class", type=int, default=50)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--sizes", default="28,128")
    a = ap.parse_args()
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    data = np.load(a.npz)
    labels = data["train_labels"].ravel()
    for seed in [int(s) for s in a.seeds.split(",")]:
        rng = np.random.default_rng(seed)
        picked = np.concatenate([
            np.sort(rng.choice(np.flatnonzero(labels == c), a.per_class, replace=False))
            for c in np.unique(labels)
        ])
        for size in [int(s) for s in a.sizes.split(",")]:
            name = out / f"pneumonia-{a.per_class}pc-seed{seed}-{size}px.npz"
            # Written under another name, then renamed: never half a file for the next run.
            part = name.with_name(f"{name.name}.{os.getpid()}.part")
            with open(part, "wb") as file:
                np.savez_compressed(
                    file,
                    train_images=resize(data["train_images"][picked], size),
                    train_labels=data["train_labels"][picked],
                    val_images=resize(data["val_images"], size),
                    val_labels=data["val_labels"],
                    test_images=resize(data["test_images"], size),
                    test_labels=data["test_labels"],
                )
            os.replace(part, name)
            print(f"{name}: {len(picked)} train, {len(data['val_labels'])} validation, {len(data['test_labels'])} test")


if __name__ == "__main__":
    main()
