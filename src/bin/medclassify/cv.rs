//! `medclassify cv`: k-fold cross-validation of a training setting on a data set, through the
//! session's `cross_validate` (the page's Cross-validate runs the same).

use std::path::PathBuf;

use medclassify::data::MAX_FOLDS;
use medclassify::native::{TerminalHost, select_device, write_atomic};
use medclassify::session::cross_validate;

use crate::output::print_json;
use crate::source::{load, threads};
use crate::train::TrainingArgs;

/// The options of `medclassify cv`.
#[derive(clap::Args)]
pub struct CvArgs {
    /// The folder (or .npz / .mcdata file).
    dir: PathBuf,
    /// Folds (3 to 20): each is held out once; the run holding out fold f validates on fold
    /// f+1 and trains on the rest.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    #[command(flatten)]
    training: TrainingArgs,
    /// Keep each fold's model as <DIR>/fold-<n>.mcmodel (the summary in its card); without
    /// it the fold models are discarded.
    #[arg(long)]
    keep_models: Option<PathBuf>,
    /// Print the folds and the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub fn cv_command(args: &CvArgs) -> Result<(), String> {
    let (config, choice) = args.training.check()?;
    if !(3..=MAX_FOLDS).contains(&args.folds) {
        return Err(format!("--folds {}: use 3 to {MAX_FOLDS}", args.folds));
    }
    if let Some(dir) = &args.keep_models {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let data = load(&args.dir, &args.training.data, threads(), args.json)?;
    let (device, description) = select_device(choice)?;
    if !args.json {
        eprintln!(
            "{} images in {} classes; {}-fold cross-validation on {description}",
            data.dataset.len(),
            data.dataset.classes.len(),
            args.folds
        );
    }
    let mut host = TerminalHost::new(None, args.json);
    let done = pollster::block_on(cross_validate(
        &data,
        config,
        args.folds,
        device,
        description,
        &mut host,
    ))?;
    let mut kept = Vec::new();
    if let Some(dir) = &args.keep_models {
        for (file, fold) in done.files.iter().zip(&done.summary.folds) {
            let path = dir.join(format!("fold-{}.mcmodel", fold.fold + 1));
            write_atomic(&path, &file.to_bytes())?;
            kept.push(path.display().to_string());
        }
    }
    if args.json {
        print_json(&serde_json::json!({
            "cross_validation": done.summary,
            "backend": done.backend,
            "models": kept,
            "folds": data.dataset.samples.iter().zip(&done.folds.fold_of).map(|(sample, fold)| {
                serde_json::json!({ "path": sample.path, "fold": fold.map(|f| f + 1) })
            }).collect::<Vec<_>>(),
        }));
    } else {
        println!("{}", done.summary.describe());
        for path in kept {
            println!("kept {path}");
        }
    }
    Ok(())
}
