//! `medclassify inspect`: what a data source holds, as text or JSON.

use std::path::Path;

use medclassify::data::{Inspection, LoadReport};
use medclassify::native::terminal_safe;
use medclassify::session::LoadedData;

use crate::args::DataArgs;
use crate::output::print_json;
use crate::source::{load, threads};

pub fn inspect(
    dir: &Path,
    data: &DataArgs,
    threads_wanted: Option<usize>,
    json: bool,
) -> Result<(), String> {
    let started = std::time::Instant::now();
    let loaded = load(
        dir,
        data,
        threads_wanted.unwrap_or_else(threads).max(1),
        json,
    )?;
    let load_seconds = started.elapsed().as_secs_f64();
    let inspection = loaded.inspection();
    if json {
        let mut value = serde_json::to_value(&inspection).expect("plain data");
        value["load_seconds"] = serde_json::json!(load_seconds);
        value["memory_bytes"] = serde_json::json!(loaded.dataset.memory_bytes());
        print_json(&value);
        return Ok(());
    }
    print_text(&loaded, &inspection, data);
    Ok(())
}

/// The report on a terminal: the classes, what was skipped and why, duplicates, the split.
fn print_text(loaded: &LoadedData, inspection: &Inspection, data: &DataArgs) {
    let report = &inspection.report;
    println!(
        "{} files, {} images in {} classes ({})",
        report.files_seen,
        report.images,
        report.classes.len(),
        data.shape()
    );
    for class in &report.classes {
        println!("  {:<16} {}", terminal_safe(&class.name), class.count);
    }
    println!("{} skipped files", report.skipped.len());
    for file in report.skipped.iter().take(50) {
        println!(
            "  {}: {}",
            terminal_safe(&file.path),
            terminal_safe(&file.message)
        );
    }
    print_split(loaded, inspection, report);
}

/// DICOM facts, the imbalance warning, duplicates and the split table.
fn print_split(loaded: &LoadedData, inspection: &Inspection, report: &LoadReport) {
    for dicom in &report.dicom {
        println!(
            "  {}: {}",
            terminal_safe(&dicom.class),
            terminal_safe(&dicom.describe())
        );
    }
    if let Some(warning) = report.imbalance_warning() {
        println!("warning: {}", terminal_safe(&warning));
    }
    println!(
        "{} duplicate groups, {} redundant files",
        report.duplicate_groups.len(),
        report.redundant_files
    );
    match &inspection.split_error {
        Some(error) => println!("split: {error}"),
        None => {
            if loaded.split().is_ok_and(|s| s.config.from_file) {
                println!("split: as given in the file (its train, validation and test arrays)");
            }
            println!(
                "{:<16} {:>7} {:>10} {:>6}",
                "class", "train", "validation", "test"
            );
            for row in &inspection.split {
                println!(
                    "{:<16} {:>7} {:>10} {:>6}",
                    terminal_safe(&row.class),
                    row.train,
                    row.validation,
                    row.test
                );
            }
            if let Ok(split) = loaded.split()
                && let Some(groups) = &split.groups
            {
                println!(
                    "{}",
                    terminal_safe(&groups.describe(&split.config.group_by))
                );
            }
        }
    }
}
