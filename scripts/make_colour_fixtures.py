"""Writes the colour test fixture (tests/fixtures/colour/) from the shipped MedNIST images.

Usage: .venv/bin/python scripts/make_colour_fixtures.py   (needs Pillow)

Two classes that differ only in colour, so a test can tell a network that sees colour from
one that does not:
- warm/  images tinted towards red,
- cool/  images tinted towards cyan,
each by the same amount along a direction with no luminance (BT.709 weights, the ones
MedClassify's grayscale conversion uses): an image's gray version is the same (to within
rounding) in both classes. The gray base is scaled into 50..205 so no channel clips.
Alternate images of www/sample/MedNIST (all six classes, CC BY-SA 4.0, see
www/sample/README.md) go to the two classes, so the content says nothing about the class;
32 x 32 RGB PNGs. A grayscale network can only guess (about 50 %); a colour one is near 100 %.
"""

import pathlib

import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "www" / "sample" / "MedNIST"
OUT = ROOT / "tests" / "fixtures" / "colour"
# Luma weights (BT.709) and a tint direction with zero luma: 0.2126 - 0.7152/4 - 0.0722 k = 0.
WEIGHTS = np.array([0.2126, 0.7152, 0.0722])
TINT = np.array([1.0, -0.25, -(0.2126 - 0.7152 * 0.25) / 0.0722])
AMOUNT = 40.0
PER_CLASS = 80


def tinted(path, sign):
    gray = np.asarray(Image.open(path).convert("L").resize((32, 32), Image.LANCZOS), np.float64)
    base = 50.0 + gray * (155.0 / 255.0)
    rgb = base[..., None] + sign * AMOUNT * TINT
    return Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), "RGB")


def main():
    assert abs(WEIGHTS @ TINT) < 1e-12
    files = sorted(SAMPLE.glob("*/*.jpeg"))[: 2 * PER_CLASS]
    for name in ("warm", "cool"):
        folder = OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
    for i, path in enumerate(files):
        name, sign = ("warm", 1.0) if i % 2 == 0 else ("cool", -1.0)
        tinted(path, sign).save(OUT / name / f"{path.parent.name}-{path.stem}.png", optimize=True)
    print(f"wrote {len(files)} images to {OUT}")


if __name__ == "__main__":
    main()
