"""pydicom's own sample files, read by pydicom (run by tests/dicom.rs).

Usage: dicom_pydicom.py OUT.json

For every .dcm file that pydicom ships (pydicom/data/test_files), and the known-answer fixtures
(tests/fixtures/dicom-known, one with a VOI LUT table), writes: its path, and, when
pydicom can decode its pixels without optional plug-ins (numpy and RLE handlers), the 8-bit
image MedClassify should make of it: the middle frame, pydicom's modality LUT (rescale), the
VOI LUT table (pydicom's apply_voi_lut) or else the first Window Center/Width with DICOM's linear window (PS3.3 C.11.2.1.2.1) or else min-max,
MONOCHROME1 inverted, colour as BT.709 luma; for RGB files also the three channels as
Colour (RGB) should keep them. Written from the standard, not from our code.
Compared: files pydicom decodes with its own code (uncompressed and RLE).
"""

import json
import pathlib
import sys

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut, apply_voi_lut


def first(value):
    if value is None:
        return None
    try:
        return float(value[0])
    except TypeError:
        return float(value)


def expected(ds):
    arr = ds.pixel_array.astype(np.float64)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    samples = int(getattr(ds, "SamplesPerPixel", 1) or 1)
    if frames > 1:
        arr = arr[frames // 2]
    photometric = str(ds.PhotometricInterpretation)
    if samples == 1 and photometric.startswith("MONOCHROME"):
        arr = apply_modality_lut(arr, ds).astype(np.float64)
    rgb = None
    if samples == 3:
        if photometric != "RGB":
            return None, None  # YBR: left to the Rust side's converter, not compared
        # For Colour (RGB): the channels scaled from bits stored to 8 bits, no window (VOI
        # transforms are for monochrome images, PS3.3 C.11.2), channels first.
        full = 2 ** int(ds.BitsStored) - 1
        rgb = np.clip(np.floor(arr / full * 255 + 0.5), 0, 255).astype(np.uint8).transpose(2, 0, 1)
        arr = 0.2126 * arr[..., 0] + 0.7152 * arr[..., 1] + 0.0722 * arr[..., 2]
    if samples == 1 and "VOILUTSequence" in ds:
        # The file's VOI LUT table (pydicom prefers it to the window, as MedClassify does),
        # its output scaled from the table's bits to 8.
        bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        table = apply_voi_lut(arr, ds).astype(np.float64)
        out = np.clip(np.floor(table / (2**bits - 1) * 255 + 0.5), 0, 255).astype(np.uint8)
        return (255 - out if photometric == "MONOCHROME1" else out), rgb
    center, width = first(ds.get("WindowCenter")), first(ds.get("WindowWidth"))
    if center is None or width is None or width < 1:
        low, high = arr.min(), arr.max()
        width = high - low + 1
        center = low + 0.5 + (width - 1) / 2
    low_edge = center - 0.5 - (width - 1) / 2
    high_edge = center - 0.5 + (width - 1) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = ((arr - (center - 0.5)) / (width - 1) + 0.5) * 255
    out = np.where(arr <= low_edge, 0, np.where(arr > high_edge, 255, np.floor(scaled + 0.5)))
    out = np.clip(out, 0, 255).astype(np.uint8)
    if photometric == "MONOCHROME1":
        out = 255 - out
    return out, rgb


def main(path):
    root = pathlib.Path(pydicom.__file__).parent / "data" / "test_files"
    cases = []
    known = pathlib.Path(__file__).resolve().parent / "fixtures" / "dicom-known"
    for file in sorted(root.glob("*.dcm")) + sorted(known.glob("*.dcm")):
        case = {"path": str(file)}
        try:
            ds = pydicom.dcmread(file)
            syntax = ds.file_meta.TransferSyntaxUID if "TransferSyntaxUID" in ds.file_meta else None
            # Compared on what pydicom decodes with its own code: uncompressed and RLE (JPEG
            # needs a plug-in, which the test environment does not install).
            native = syntax is None or not syntax.is_compressed or syntax == pydicom.uid.RLELossless
            image, rgb = expected(ds) if "PixelData" in ds and native else (None, None)
            if image is not None:
                case["rows"], case["columns"] = image.shape
                case["pixels"] = image.flatten().tolist()
            if rgb is not None:
                case["rgb"] = rgb.flatten().tolist()
        except Exception as error:  # pydicom cannot decode it without plug-ins
            case["pydicom_error"] = f"{type(error).__name__}: {error}"[:200]
        cases.append(case)
    with open(path, "w") as f:
        json.dump({"pydicom": pydicom.__version__, "cases": cases}, f)


if __name__ == "__main__":
    main(sys.argv[1])
