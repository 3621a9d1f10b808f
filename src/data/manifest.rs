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
        let rows = dataset
            .samples
            .iter()
            .zip(&split.assignment)
            .map(|(sample, subset)| ManifestRow {
                path: sample.path.clone(),
                class: dataset.classes[sample.label].clone(),
                split: subset.name().to_string(),
                sha256: hex(&sample.sha256),
            })
            .collect();
        Self { rows }
    }

    /// CSV with a header line; fields are quoted where RFC 4180 requires it.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("path,class,split,sha256\n");
        for row in &self.rows {
            for (i, field) in [&row.path, &row.class, &row.split, &row.sha256]
                .into_iter()
                .enumerate()
            {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&csv_field(field));
            }
            out.push('\n');
        }
        out
    }

    /// SHA-256 (hex) of the CSV form: identifies the exact split a model was trained on.
    pub fn digest(&self) -> String {
        hex(&sha256(self.to_csv().as_bytes()))
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break.
///
/// Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return, e.g. a file named `=HYPERLINK(...).png`) gets a leading `'`, as OWASP
/// recommends; numbers (`-0.5`, `+3`) stay numbers.
pub fn csv_field(field: &str) -> String {
    let formula =
        field.starts_with(['=', '+', '-', '@', '\t', '\r']) && field.trim().parse::<f64>().is_err();
    let field = if formula {
        format!("'{field}")
    } else {
        field.to_string()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
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
