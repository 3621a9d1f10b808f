//! Predicting, explaining and evaluating with the current model.

use crate::data::{
    Dataset, DecodeLimits, DicomOptions, Frames, InputShape, PreparedImage, Window, frame_path,
    prepare_file,
};
use crate::evaluation::{
    ClassRoc, ConfidenceIntervals, DEFAULT_RESAMPLES, Evaluation, ExplainMethod, Heatmap,
    INTERVAL_SEED, OperatingPoint, Scores, TwoClassScores, argmax, confidence_intervals, grad_cam,
    roc_curves, saliency, score_pixels, score_samples,
};

use super::CurrentModel;
use super::scoring::{ScoringPeer, score_pixels_shared};

/// One image to classify and its answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The name the user knows it by.
    pub name: String,
    /// The decoded image at the model's size (empty when it could not be decoded).
    pub pixels: Vec<u8>,
    /// One probability per class (empty until scored, or on error).
    pub probabilities: Vec<f32>,
    /// Why it could not be classified.
    pub error: Option<String>,
}

/// Decodes `bytes` (or keeps the reason they could not be read) for a model taking images of
/// `shape`, the same way a data set's files are decoded: one row per image the file holds
/// (every frame of a multi-frame DICOM file, named `file#frame001`, ... as in a data set), or
/// one row saying why it cannot be classified.
pub fn decode_for_prediction(
    name: &str,
    bytes: Result<Vec<u8>, String>,
    shape: InputShape,
    window: Window,
) -> Vec<Prediction> {
    let limits = DecodeLimits::with_dicom(prediction_options(window));
    let decoded = bytes.and_then(|bytes| {
        prepare_file(&prediction_path(name), &bytes, shape, &limits).map_err(|r| r.to_string())
    });
    prediction_rows(name, decoded, shape)
}

/// How a file to predict is decoded: with the model's window, every frame (the middle one of
/// a file with more than [`crate::data::MAX_FRAMES`], its row named so).
pub fn prediction_options(window: Window) -> DicomOptions {
    DicomOptions {
        window,
        frames: Frames::EveryOrMiddle,
    }
}

/// The path a file to predict is decoded under: its name alone under a stand-in class folder.
/// Prediction has no classes, but the same checks (hidden files) and decoder apply.
pub fn prediction_path(name: &str) -> String {
    let file_name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    format!("x/{file_name}")
}

/// The rows of one decoded file (or of the reason it was not): one per image it holds.
pub fn prediction_rows(
    name: &str,
    decoded: Result<PreparedImage, String>,
    shape: InputShape,
) -> Vec<Prediction> {
    let row = |name: String, pixels: Vec<u8>, error| Prediction {
        name,
        pixels,
        probabilities: Vec::new(),
        error,
    };
    let (pixels, dicom) = match decoded {
        Ok(image) => (image.pixels.into_shape(shape), image.dicom),
        Err(error) => return vec![row(name.to_string(), Vec::new(), Some(error))],
    };
    let frames: Vec<&[u8]> = pixels.chunks(shape.values()).collect();
    match (frames.len(), dicom) {
        (1, Some(info)) if info.frames > 1 => vec![row(
            format!("{name} (middle frame of {})", info.frames),
            pixels.clone(),
            None,
        )],
        (1, _) => vec![row(name.to_string(), pixels.clone(), None)],
        _ => frames
            .into_iter()
            .enumerate()
            .map(|(frame, image)| row(frame_path(name, frame), image.to_vec(), None))
            .collect(),
    }
}

/// Scores every decoded image of `rows` in one pass and fills in its probabilities, each
/// step's first half on `peer` when there is one (the page's second core; one that fails is
/// dropped and its share scored here).
pub async fn predict(
    current: &CurrentModel,
    rows: &mut [Prediction],
    peer: &mut ScoringPeer,
) -> Result<(), String> {
    let classes = current.classes().len();
    let shape = current.file.meta.shape();
    let mut batch = Vec::new();
    let mut positions = Vec::new();
    for (position, row) in rows.iter().enumerate() {
        if row.error.is_none() && row.pixels.len() == shape.values() {
            positions.push(position);
            batch.extend_from_slice(&row.pixels);
        }
    }
    if batch.is_empty() {
        return Ok(());
    }
    let scores = score_pixels_shared(
        &current.model,
        &batch,
        shape,
        classes,
        &current.device,
        peer,
    )
    .await
    .map_err(|e| format!("prediction failed: {e}"))?;
    let probabilities = scores.probabilities(1.0);
    for (position, row) in positions.iter().zip(probabilities.chunks_exact(classes)) {
        rows[*position].probabilities = row.to_vec();
    }
    Ok(())
}

/// Why [`explain`] gave no heatmap, as the page must tell them apart: an image that no
/// longer fits the model (the user loads it again: a warning) or a failure of the computation.
#[derive(Clone, Debug, PartialEq)]
pub enum ExplainError {
    /// The image was decoded for another model (another size or colour).
    DecodedForAnotherModel,
    /// The computation failed.
    Failed(String),
}

impl std::fmt::Display for ExplainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExplainError::DecodedForAnotherModel => {
                f.write_str("the image was decoded at another size than the model's; load it again")
            }
            ExplainError::Failed(message) => write!(f, "explaining failed: {message}"),
        }
    }
}

/// A heatmap of why `current` gives `class` (its own top class when `None`) to `pixels`.
pub async fn explain(
    current: &CurrentModel,
    pixels: &[u8],
    class: Option<usize>,
    method: ExplainMethod,
) -> Result<Heatmap, ExplainError> {
    let shape = current.file.meta.shape();
    if pixels.len() != shape.values() {
        return Err(ExplainError::DecodedForAnotherModel);
    }
    let failed = |e: burn::tensor::ExecutionError| ExplainError::Failed(e.to_string());
    let class = match class {
        Some(class) => class,
        None => {
            let classes = current.classes().len();
            let scores = score_pixels(&current.model, pixels, shape, classes, &current.device)
                .await
                .map_err(failed)?;
            argmax(&scores.logits)
        }
    };
    let (model, device) = (&current.model, &current.device);
    match method {
        ExplainMethod::GradCam => grad_cam(model, pixels, shape, class, device).await,
        ExplainMethod::Saliency => saliency(model, pixels, shape, class, device).await,
    }
    .map_err(failed)
}

/// The scores of a model on a folder whose subfolders name the true classes.
pub struct FolderEvaluation {
    /// Metrics over the images in folders named after the model's classes.
    pub evaluation: Evaluation,
    /// Images scored.
    pub images: usize,
    /// Images in folders that are not model classes (not scored).
    pub unknown_class: Vec<String>,
    /// 95 % intervals of the accuracy and of each class's sensitivity, specificity and AUC.
    pub intervals: ConfidenceIntervals,
    /// Each class's one-vs-rest ROC curve (thinned), AUC and average precision.
    pub curves: Vec<ClassRoc>,
    /// For a two-class model, the probabilities behind a chosen decision threshold.
    pub two_class: Option<TwoClassScores>,
}

/// Scores `current` on every image of `dataset` whose class is one of the model's (mapped by
/// name, so the folder may hold fewer classes or others).
pub async fn evaluate_folder(
    current: &CurrentModel,
    dataset: &Dataset,
) -> Result<FolderEvaluation, String> {
    let classes = current.classes();
    let mut unknown_class = Vec::new();
    let (mut indices, mut labels) = (Vec::new(), Vec::new());
    for (index, sample) in dataset.samples.iter().enumerate() {
        match classes
            .iter()
            .position(|c| *c == dataset.classes[sample.label])
        {
            Some(label) => {
                indices.push(index);
                labels.push(label);
            }
            None => unknown_class.push(sample.path.clone()),
        }
    }
    if indices.is_empty() {
        return Err(format!(
            "no image is in a folder named after one of the model's classes ({})",
            classes.join(", ")
        ));
    }
    let scores = score_samples(&current.model, dataset, &indices, &current.device)
        .await
        .map_err(|e| e.to_string())?;
    let scores = Scores {
        classes: classes.len(),
        logits: scores.logits,
    };
    let probabilities = scores.probabilities(1.0);
    let evaluation = Evaluation::from_probabilities(classes, &probabilities, &labels);
    let k = classes.len();
    let intervals = confidence_intervals(
        &probabilities,
        &labels,
        k,
        OperatingPoint::Argmax,
        DEFAULT_RESAMPLES,
        INTERVAL_SEED,
    );
    let curves = roc_curves(&probabilities, &labels, k);
    Ok(FolderEvaluation {
        evaluation,
        images: indices.len(),
        unknown_class,
        intervals,
        curves,
        two_class: (k == 2).then_some(TwoClassScores {
            probabilities,
            labels,
            youden_validation: [None, None],
        }),
    })
}
