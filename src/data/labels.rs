//! Labels from a CSV instead of folders: a `labels.csv` at the top of the chosen folder (or
//! archive), with a header naming a `path` and a `label` column (and optionally `group`, a
//! patient or study key). Each listed file takes its label from the table wherever it sits;
//! files the table does not name are skipped with that reason; rows whose file is missing are
//! listed in the report.
//!
//! The table routes a file to its class by giving `prepare_file` the path `<label>/<path>`,
//! so the decoders (the page's helpers included) need nothing new; the data set keeps the
//! real path.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{LabelsReport, MAX_CLASS_NAME};

/// The file name a folder's label table has.
pub const LABELS_FILE: &str = "labels.csv";
/// The most rows read.
pub const MAX_ROWS: usize = 2_000_000;

/// One row: a file's label and, optionally, its group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelRow {
    /// The class.
    pub label: String,
    /// The group key (patient, study), if the table has a `group` column.
    pub group: Option<String>,
}

/// A parsed `labels.csv`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelTable {
    rows: BTreeMap<String, LabelRow>,
    /// Whether the table has a `group` column.
    pub has_groups: bool,
}

/// `path` as the table and the file lists both write it: `/`-separated, no `./`.
fn normal(path: &str) -> String {
    path.trim()
        .replace('\\', "/")
        .trim_start_matches("./")
        .to_string()
}

impl LabelTable {
    /// Parses the CSV `text`; the message names the row and what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| format!("{LABELS_FILE}: {e}"))?
            .clone();
        let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let (Some(path_at), Some(label_at)) = (column("path"), column("label")) else {
            return Err(format!(
                "{LABELS_FILE}: the header needs a \"path\" and a \"label\" column (found: {})",
                header.iter().collect::<Vec<_>>().join(", ")
            ));
        };
        let group_at = column("group");
        let mut table = LabelTable {
            has_groups: group_at.is_some(),
            ..Default::default()
        };
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record = record.map_err(|e| format!("{LABELS_FILE} line {line}: {e}"))?;
            if table.rows.len() >= MAX_ROWS {
                return Err(format!("{LABELS_FILE}: more than {MAX_ROWS} rows"));
            }
            let path = normal(record.get(path_at).unwrap_or_default());
            let label = record.get(label_at).unwrap_or_default().to_string();
            if path.is_empty() {
                return Err(format!("{LABELS_FILE} line {line}: the path is empty"));
            }
            if label.is_empty() || label.contains('/') || label.chars().count() > MAX_CLASS_NAME {
                return Err(format!(
                    "{LABELS_FILE} line {line}: the label {label:?} of {path} is empty, has a '/' or is longer than {MAX_CLASS_NAME} characters"
                ));
            }
            let group = group_at
                .and_then(|at| record.get(at))
                .filter(|g| !g.is_empty())
                .map(str::to_string);
            let row = LabelRow { label, group };
            match table.rows.get(&path) {
                Some(earlier) if earlier.label != row.label => {
                    return Err(format!(
                        "{LABELS_FILE} line {line}: {path} is labelled both {:?} and {:?}",
                        earlier.label, row.label
                    ));
                }
                _ => {
                    table.rows.insert(path, row);
                }
            }
        }
        Ok(table)
    }

    /// The row of the file at `path` (relative to the chosen folder).
    pub fn row(&self, path: &str) -> Option<&LabelRow> {
        self.rows.get(&normal(path))
    }

    /// The path `prepare_file` should see for the file at `path`: `<label>/<path>`, so its
    /// class is its label; `None` when the table does not name it.
    pub fn routed(&self, path: &str) -> Option<String> {
        self.row(path).map(|row| format!("{}/{path}", row.label))
    }

    /// The report, given the paths of every file offered.
    pub fn report<'a>(&self, offered: impl IntoIterator<Item = &'a str>) -> LabelsReport {
        let offered: std::collections::BTreeSet<String> = offered.into_iter().map(normal).collect();
        let missing: Vec<String> = self
            .rows
            .keys()
            .filter(|p| !offered.contains(*p))
            .cloned()
            .collect();
        LabelsReport {
            rows: self.rows.len(),
            missing_count: missing.len(),
            missing: missing.into_iter().take(1000).collect(),
        }
    }
}

/// After a load with a label table: the report's account of it, and each sample's group from
/// its `group` column (for grouping by it).
pub fn record_table(
    table: &LabelTable,
    dataset: &mut super::Dataset,
    report: &mut super::LoadReport,
    offered: &[String],
) {
    report.labels = Some(table.report(offered.iter().map(String::as_str)));
    if table.has_groups {
        dataset.table_groups = dataset
            .samples
            .iter()
            .map(|s| table.row(&s.path).and_then(|r| r.group.clone()))
            .collect();
    }
}

#[cfg(test)]
mod tests;
