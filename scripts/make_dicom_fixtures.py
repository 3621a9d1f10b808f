"""Writes the DICOM test fixtures (tests/fixtures/dicom/) from the shipped MedNIST images.

Usage: .venv/bin/python scripts/make_dicom_fixtures.py

pydicom (requirements-test.txt) writes real DICOM files, so the reader is tested against an
independent writer:
- CT/  HeadCT images as 16-bit signed CT: Hounsfield units = 2 * pixel - 200 (brain tissue
       near 40 HU, bone above 240), stored as 2 * pixel with Rescale Intercept -200, Window
       40/400 (a brain window, as a radiologist would set it), three patients; one file
       without window tags; one multi-frame file (the real image is the middle of 3 frames);
       one RLE-compressed file.
- XR/  CXR images as MONOCHROME1 computed radiographs (stored inverted, 8-bit, no window);
       one JPEG-baseline file (the original JPEG bytes, encapsulated); one with no extension.
- bad/ a DICOM file without pixel data, and one that claims JPEG 2000 (refused by name).
- known/ct-hu.dcm  8 x 8, columns of known Hounsfield units (the known-answer test).
- known/voi-lut.dcm  a HeadCT image as 12-bit MR with a VOI LUT table (a square-root curve)
       and a window that disagrees with it; pydicom's apply_voi_lut is its oracle.
The images come from www/sample/MedNIST (CC BY-SA 4.0, see www/sample/LICENSE).
"""

import io
import pathlib

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
    generate_uid,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "www" / "sample" / "MedNIST"
OUT = ROOT / "tests" / "fixtures" / "dicom"
# Fixed UIDs and dates, so the files are the same every time they are written.
UID_ROOT = "1.2.826.0.1.3680043.8.498."


def uid(*parts):
    return UID_ROOT + ".".join(str(p) for p in parts)


def dataset(sop, modality, patient, rows, columns):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = sop
    ds.Modality = modality
    ds.PatientID = patient
    ds.StudyInstanceUID = uid(9, patient.encode().hex() and len(patient), sum(patient.encode()))
    ds.SeriesInstanceUID = sop + ".1"
    ds.StudyDate = "20260101"
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    return ds


def gray(path):
    return np.asarray(Image.open(path).convert("L"))


def ct(pixels, sop, patient, window=True, frames=None):
    ds = dataset(sop, "CT", patient, *pixels.shape)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -200, 1, "HU"
    if window:
        ds.WindowCenter, ds.WindowWidth = 40, 400
    stored = (pixels.astype(np.int16) * 2)
    if frames is not None:
        stored = np.stack([f.astype(np.int16) * 2 for f in frames])
        ds.NumberOfFrames = len(frames)
    ds.PixelData = stored.tobytes()
    return ds


def xr(pixels, sop, patient):
    ds = dataset(sop, "CR", patient, *pixels.shape)
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = (255 - pixels).astype(np.uint8).tobytes()
    return ds


def voi_lut(pixels):
    """A 12-bit MR-like image (stored = 16 * pixel) with a VOI LUT table, a square-root
    curve over 0..4095 to 12 bits, and a Window Center/Width that says otherwise (the table
    takes precedence, as in pydicom and most viewers)."""
    ds = dataset(uid(5, 0), "MR", "VOI", *pixels.shape)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    item = pydicom.Dataset()
    item.add_new(0x00283002, "US", [4096, 0, 12])  # LUT Descriptor: entries, first, bits
    curve = np.floor(np.sqrt(np.arange(4096) / 4095) * 4095 + 0.5).astype(np.uint16)
    item.add_new(0x00283006, "US", curve.tolist())  # LUT Data
    item.LUTExplanation = "square root"
    ds.VOILUTSequence = pydicom.Sequence([item])
    ds.PixelData = (pixels.astype(np.uint16) * 16).tobytes()
    return ds


def save(ds, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def main():
    # MedNIST's HeadCT class holds some flat images (one grey value); a fixture made from one
    # would test nothing about windowing or classes, so only images with contrast are used.
    heads = [p for p in sorted((SAMPLE / "HeadCT").glob("*.jpeg")) if gray(p).std() > 10][:8]
    chests = sorted((SAMPLE / "CXR").glob("*.jpeg"))[:8]
    for i, path in enumerate(heads[:6]):
        save(ct(gray(path), uid(1, i), f"CT-P{i // 2 + 1}"), OUT / "CT" / f"ct-{i}.dcm")
    save(ct(gray(heads[6]), uid(1, 6), "CT-P4", window=False), OUT / "CT" / "ct-no-window.dcm")
    blank = np.zeros((64, 64), np.uint8)
    multi = ct(gray(heads[7]), uid(1, 7), "CT-P4", frames=[blank, gray(heads[7]), blank + 200])
    save(multi, OUT / "CT" / "ct-multiframe.dcm")
    rle = ct(gray(heads[0]), uid(1, 8), "CT-P5")
    rle.compress(RLELossless)
    save(rle, OUT / "CT" / "ct-rle.dcm")

    for i, path in enumerate(chests[:6]):
        save(xr(gray(path), uid(2, i), f"XR-P{i // 2 + 1}"), OUT / "XR" / f"xr-{i}.dcm")
    jpeg = dataset(uid(2, 6), "CR", "XR-P4", 64, 64)
    jpeg.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    jpeg.BitsAllocated, jpeg.BitsStored, jpeg.HighBit, jpeg.PixelRepresentation = 8, 8, 7, 0
    jpeg.PixelData = encapsulate([chests[6].read_bytes()])
    jpeg["PixelData"].VR = "OB"
    save(jpeg, OUT / "XR" / "xr-jpeg.dcm")
    save(xr(gray(chests[7]), uid(2, 7), "XR-P4"), OUT / "XR" / "xr-no-extension")

    no_pixels = dataset(uid(3, 0), "SR", "BAD-1", 0, 0)
    del no_pixels.Rows, no_pixels.Columns, no_pixels.SamplesPerPixel, no_pixels.PhotometricInterpretation
    save(no_pixels, OUT / "bad" / "no-pixels.dcm")
    j2k = ct(gray(heads[0]), uid(3, 1), "BAD-2")
    j2k.file_meta.TransferSyntaxUID = JPEG2000Lossless
    j2k.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\0" * 60])
    j2k["PixelData"].VR = "OB"
    save(j2k, OUT / "bad" / "jpeg2000.dcm")

    # Known answers: columns of Hounsfield units; with window 40/400 they map (DICOM's linear
    # window) to 0 (<= -160), 255 (> 239) and in between by ((hu - 39.5) / 399 + 0.5) * 255.
    hu = np.array([-1000, -160, -100, 0, 40, 100, 239, 1000], np.int16)
    known = ct(np.zeros((8, 8), np.uint8), uid(4, 0), "KNOWN")
    known.PixelData = (np.tile(hu, (8, 1)) + 200).astype(np.int16).tobytes()
    save(known, OUT.parent / "dicom-known" / "ct-hu.dcm")
    save(voi_lut(gray(heads[6])), OUT.parent / "dicom-known" / "voi-lut.dcm")
    print(f"wrote {sum(1 for _ in OUT.rglob('*') if _.is_file())} files under {OUT}")


if __name__ == "__main__":
    main()
