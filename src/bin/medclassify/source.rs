//! What a command reads: a data source (a folder, an archive, a `.mcdata` or `.npz` file),
//! loaded and split with progress, and a model file.

use std::path::Path;

use medclassify::native::{load_source, read_bounded};
use medclassify::session::LoadedData;
use medclassify::storage::ModelFile;

use crate::args::DataArgs;
use crate::progress;

/// Decoding threads: every core.
pub fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Loads `dir` (a folder or a `.mcdata` file) at `size` and splits it, with a progress bar
/// on a terminal unless `quiet`.
pub fn load(
    dir: &Path,
    data: &DataArgs,
    threads: usize,
    quiet: bool,
) -> Result<LoadedData, String> {
    let split = data.split_config()?;
    let dicom = data.dicom()?;
    let (dataset, report) = progress::loading(quiet, |tick| {
        load_source(dir, data.shape(), data.size.is_none(), threads, tick, dicom)
    })?;
    let mut loaded = LoadedData::new(dataset, report, split);
    loaded.dicom = dicom;
    Ok(loaded)
}

/// The largest model file read (far above any network `ModelConfig::validate` accepts).
const MAX_MODEL_FILE_BYTES: usize = 512 * 1024 * 1024;

/// Reads a model file.
pub fn read_model(path: &Path) -> Result<ModelFile, String> {
    let bytes =
        read_bounded(path, MAX_MODEL_FILE_BYTES).map_err(|e| format!("{}: {e}", path.display()))?;
    ModelFile::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}
