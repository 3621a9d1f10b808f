//! A load's label table (`labels.csv` at the top of the chosen folder or archive): read when
//! it arrives, and every later file routed by it.

use super::LoadStopped;
use crate::data::{DatasetBuilder, LABELS_FILE, LabelTable, SkipReason};
use crate::web::protocol::{FileBytes, FileContent};

/// A load's label table: `labels.csv` at the top of the folder (the page sends it first), and
/// the files routed by it.
#[derive(Default)]
pub(super) struct Labels {
    pub(super) table: Option<LabelTable>,
}

impl Labels {
    /// The real paths of `files` and the files as the decoders get them: the table read (and
    /// counted as seen) if it is among them, each file under `<label>/` when there is a table
    /// (or skipped as not listed).
    pub(super) fn route(
        &mut self,
        files: Vec<FileBytes>,
        builder: &mut DatasetBuilder,
    ) -> Result<(Vec<String>, Vec<FileBytes>), LoadStopped> {
        let mut originals = Vec::with_capacity(files.len());
        let mut routed = Vec::with_capacity(files.len());
        for mut file in files {
            if file.path == LABELS_FILE
                && self.table.is_none()
                && let FileContent::Bytes(bytes) = &file.content
            {
                let table =
                    LabelTable::parse(&String::from_utf8_lossy(bytes)).map_err(LoadStopped)?;
                self.table = Some(table);
                builder.note_table_file();
                continue;
            }
            originals.push(file.path.clone());
            if let Some(table) = &self.table {
                match table.routed(&file.path) {
                    Some(path) => file.path = path,
                    None => file.content = FileContent::Skipped(SkipReason::NotInTable),
                }
            }
            routed.push(file);
        }
        Ok((originals, routed))
    }
}
