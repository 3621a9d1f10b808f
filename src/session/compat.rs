//! The one check of a model against the data and the settings, for a model file that is
//! imported, evaluated or resumed (the network-against-data core of it is
//! [`ModelConfig::check_input`](crate::model::ModelConfig::check_input), which the trainer
//! also runs).

use crate::data::Dataset;
use crate::storage::ModelMeta;
use crate::training::TrainingConfig;

/// Whether the model `name` can score `dataset` as it is loaded: the same classes in the
/// same order, at the same image size. The message names both sides.
pub fn check_model_for_data(name: &str, meta: &ModelMeta, dataset: &Dataset) -> Result<(), String> {
    if meta.classes.len() != dataset.classes.len() {
        return Err(format!(
            "{name} has {} classes ({}), the loaded data has {} ({})",
            meta.classes.len(),
            meta.classes.join(", "),
            dataset.classes.len(),
            dataset.classes.join(", ")
        ));
    }
    if meta.shape().colour() != dataset.shape.colour() {
        return Err(format!(
            "{name} is a {} model and the loaded data is {}; load the data again with Colour set to {} or pick another model",
            meta.shape().colour().label(),
            dataset.shape.colour().label(),
            meta.shape().colour().label()
        ));
    }
    if meta
        .model
        .check_input(dataset.classes.len(), dataset.shape)
        .is_err()
    {
        return Err(format!(
            "{name} takes {} images, the data is loaded at {}; reload the data at {} px or pick another model",
            meta.shape(),
            dataset.shape,
            meta.shape().size()
        ));
    }
    if meta.classes != dataset.classes {
        return Err(format!(
            "{name} was trained on classes {}, the loaded data has {}",
            meta.classes.join(", "),
            dataset.classes.join(", ")
        ));
    }
    Ok(())
}

/// Whether training can continue from the checkpoint `meta` on `dataset` with `config`.
/// `Ok(Some(warning))` when it can but the data or split differ from the checkpoint's.
pub fn check_resume(
    meta: &ModelMeta,
    dataset: &Dataset,
    manifest_sha256: Option<&str>,
    config: &TrainingConfig,
) -> Result<Option<String>, String> {
    let Some(resume) = &meta.resume else {
        return Err("there is no checkpoint to resume from".into());
    };
    let done = resume.epochs_completed;
    if done >= config.epochs {
        return Err(format!(
            "the checkpoint already has {done} epochs: set Epochs above {done} to continue"
        ));
    }
    // Its message names what differs: the classes, the size or the colour.
    check_model_for_data("the checkpoint", meta, dataset)?;
    let expected = meta.data.as_ref().map(|d| d.manifest_sha256.as_str());
    Ok((expected.is_some() && expected != manifest_sha256).then(|| {
        "the loaded data or split differs from the checkpoint's (manifest hash); training continues on the current split".to_string()
    }))
}
