#!/usr/bin/env python3
"""Writes (or checks) src/bin/medclassify/imagenet_classes.txt: the 1,000 ImageNet-1k class
names in the standard class order, one per line, for `medclassify imagenet`.

The names come from a pinned package, never from a model hub: the PyPI wheel
torchvision 0.20.1 (BSD 3-Clause, Copyright (c) Soumith Chintala 2016), whose
`torchvision/models/_meta.py` holds them as `_IMAGENET_CATEGORIES`. The wheel is fetched by
exact name and checked by SHA-256; the list is read with `ast` (nothing of torchvision runs).

    python3 scripts/imagenet_classes.py          # rewrite the file
    python3 scripts/imagenet_classes.py --check  # exit 1 when the file differs
"""
import ast
import hashlib
import pathlib
import subprocess
import sys
import tempfile
import zipfile

WHEEL = "torchvision-0.20.1-cp311-cp311-manylinux1_x86_64.whl"
SHA256 = "86f6523dee420000fe14c3527f6c8e0175139fda7d995b187f54a0b0ebec7eb6"
OUT = pathlib.Path(__file__).resolve().parent.parent / "src/bin/medclassify/imagenet_classes.txt"


def download(folder: pathlib.Path) -> pathlib.Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--python-version", "3.11", "--platform", "manylinux1_x86_64",
         "torchvision==0.20.1", "-d", str(folder)],
        check=True,
    )
    wheel = folder / WHEEL
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != SHA256:
        sys.exit(f"{WHEEL}: SHA-256 {digest}, expected {SHA256}")
    return wheel


def names(wheel: pathlib.Path) -> list:
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("torchvision/models/_meta.py").decode()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_IMAGENET_CATEGORIES":
            found = ast.literal_eval(node.value)
            if len(found) != 1000 or any("\n" in n or not n for n in found):
                sys.exit(f"{WHEEL}: _IMAGENET_CATEGORIES is not 1,000 one-line names")
            return found
    sys.exit(f"{WHEEL}: no _IMAGENET_CATEGORIES in torchvision/models/_meta.py")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        text = "".join(n + "\n" for n in names(download(pathlib.Path(tmp))))
    if "--check" in sys.argv[1:]:
        if OUT.read_text() != text:
            sys.exit(f"{OUT} differs from the names in {WHEEL}")
        print(f"{OUT}: the 1,000 names of {WHEEL}")
        return
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
