//! `medclassify export` (decoded images and their split in one `.mcdata` file) and
//! `medclassify export-onnx`.

use std::path::Path;

use medclassify::data::write_dataset;
use medclassify::native::{check_writable, write_atomic};
use medclassify::session::CurrentModel;

use crate::args::DataArgs;
use crate::source::{load, read_model, threads};

pub fn export(dir: &Path, data: &DataArgs, out: &Path) -> Result<(), String> {
    data.split_config()?;
    check_writable(out)?;
    let loaded = load(dir, data, threads(), false)?;
    let split = loaded.split()?;
    let bytes = write_dataset(&loaded.dataset, split);
    write_atomic(out, &bytes)?;
    eprintln!(
        "wrote {} images in {} classes ({} skipped files) to {} ({:.1} MB)",
        loaded.dataset.len(),
        loaded.dataset.classes.len(),
        loaded.report.skipped.len(),
        out.display(),
        bytes.len() as f64 / 1e6
    );
    Ok(())
}

pub fn export_onnx(model_path: &Path, out: &Path) -> Result<(), String> {
    check_writable(out)?;
    let current = CurrentModel::from_file(read_model(model_path)?, burn::prelude::Device::flex())?;
    let bytes = pollster::block_on(current.onnx())?;
    write_atomic(out, &bytes)?;
    let meta = &current.file.meta;
    eprintln!(
        "wrote {} ({} network, {} classes, input [batch, {channels}, {side}, {side}] of 0..255, {:.1} MB)",
        out.display(),
        meta.model.preset(),
        meta.classes.len(),
        bytes.len() as f64 / 1e6,
        channels = meta.shape().channels(),
        side = meta.shape().side(),
    );
    Ok(())
}
