//! The split as a table: `path,class,split,sha256`.

use serde::{Deserialize, Serialize};

use super::{Dataset, Split, hex, sha256};

/// One row of the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRow {
    /// Path relative to the chosen folder.
    pub path: String,
    /// Class name.
    pub class: String,
    /// `train`, `validation`, `test` or `dropped`.
    pub split: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// The grouping key (patient, study), when the split was grouped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// Every image with its class, subset and content hash, sorted by path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The rows.
    pub rows: Vec<ManifestRow>,
}

impl Manifest {
    /// The manifest of `split` over `dataset`.
    pub fn new(dataset: &Dataset, split: &Split) -> Self {
        let group_by = &split.config.group_by;
        let rows = dataset
            .samples
            .iter()
            .zip(&split.assignment)
            .enumerate()
            .map(|(i, (sample, subset))| ManifestRow {
                path: sample.path.clone(),
                class: dataset.classes[sample.label].clone(),
                split: subset.name().to_string(),
                sha256: hex(&sample.sha256),
                group: (!group_by.is_none())
                    .then(|| group_by.key_of(dataset, i).unwrap_or_default()),
            })
            .collect();
        Self { rows }
    }

    /// CSV with a header line; fields are quoted where RFC 4180 requires it. A grouped split
    /// has a fifth column, `group` (an ungrouped one keeps the four columns, and so the
    /// digests that model files recorded).
    pub fn to_csv(&self) -> String {
        if self.rows.iter().any(|r| r.group.is_some()) {
            return csv_table(
                ["path", "class", "split", "sha256", "group"],
                self.rows.iter().map(|row| {
                    let group = row.group.as_deref().unwrap_or_default();
                    [&row.path[..], &row.class, &row.split, &row.sha256, group]
                }),
            );
        }
        csv_table(
            ["path", "class", "split", "sha256"],
            self.rows
                .iter()
                .map(|row| [&row.path, &row.class, &row.split, &row.sha256]),
        )
    }

    /// SHA-256 (hex) of the CSV form: identifies the exact split a model was trained on.
    pub fn digest(&self) -> String {
        hex(&sha256(self.to_csv().as_bytes()))
    }
}

/// Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return, e.g. a file named `=HYPERLINK(...).png`) gets a leading `'`, as OWASP
/// recommends; numbers (`-0.5`, `+3`) stay numbers.
fn neutralise(field: &str) -> std::borrow::Cow<'_, str> {
    let formula =
        field.starts_with(['=', '+', '-', '@', '\t', '\r']) && field.trim().parse::<f64>().is_err();
    match formula {
        true => format!("'{field}").into(),
        false => field.into(),
    }
}

/// A table as CSV: a header line, then one line per row, every field neutralised (see
/// `neutralise`) and quoted where RFC 4180 requires it (the `csv` crate: a comma, quote or
/// line break), lines ending in `\n`. The split manifest's SHA-256 is taken of this text,
/// so its bytes must not change.
pub fn csv_table<H, R, F>(
    header: impl IntoIterator<Item = H>,
    rows: impl IntoIterator<Item = R>,
) -> String
where
    H: AsRef<str>,
    R: IntoIterator<Item = F>,
    F: AsRef<str>,
{
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .flexible(true)
        .from_writer(Vec::new());
    let mut write = |fields: Vec<String>| {
        writer
            .write_record(fields.iter().map(|f| neutralise(f).into_owned()))
            .expect("writing to memory cannot fail");
    };
    write(header.into_iter().map(|h| h.as_ref().to_string()).collect());
    for row in rows {
        write(row.into_iter().map(|f| f.as_ref().to_string()).collect());
    }
    let bytes = writer.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("written from UTF-8 text")
}

/// One field as [`csv_table`] writes it.
pub fn csv_field(field: &str) -> String {
    let line = csv_table([field, ""], std::iter::empty::<[&str; 0]>());
    line[..line.len() - 2].to_string()
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn spreadsheet_formulas_are_neutralised_and_numbers_kept() {
        let cases = [
            ("Hand/000001.jpeg", "Hand/000001.jpeg"),
            (
                "=HYPERLINK(\"http://x\")",
                "\"'=HYPERLINK(\"\"http://x\"\")\"",
            ),
            ("+cmd", "'+cmd"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("-0.5", "-0.5"),
            ("+3", "+3"),
            ("a,b", "\"a,b\""),
        ];
        for (field, written) in cases {
            assert_eq!(csv_field(field), written, "{field:?}");
        }
    }
}
