//! The engine: one job at a time, results posted to the page. Each job is a call into the
//! session layer (`crate::session`), the same calls the command line makes; this file maps
//! messages to those calls and their results to messages.

use crate::page::protocol::Level;
use std::rc::Rc;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;

mod model_jobs;

use super::backend::Backends;
use super::host::{BEST_KEY, FINAL_KEY, LAST_KEY};
use super::loader::{self, LoadStopped, PageChunk};
use super::protocol::Job;
use super::{Controls, notice, post};
use crate::data::{
    Dataset, DicomOptions, InputShape, LoadReport, SplitConfig, npz_scales_to, read_npz,
    read_npz_as,
};
use crate::evaluation::Assessment;
use crate::session::{CurrentModel, LoadedData};
use crate::storage::{EXTENSION, ModelFile, ONNX_EXTENSION};
use crate::web::platform::{gpu, idb, js, time};
use crate::web::protocol::{ClassSamples, DataView, ModelSource, Response, SampleImage, SplitView};

/// The first bytes of a container (archive or `.npz`) that makes the engine panic: the drill by
/// which the tests show that a file that stops the engine while it reads a container (which
/// the engine does itself) is named, and that the page goes on with a restarted engine. To
/// every other reader it is a file that is neither an archive nor an `.npz`.
pub const CONTAINER_DRILL: &[u8] = b"MedClassify crash drill: this container stops the engine\n";

/// Sample images per class sent for the grid.
const SAMPLES_PER_CLASS: usize = 8;
/// Misclassified images sent with the assessment.
const MISCLASSIFIED_SHOWN: usize = 48;

/// Everything the worker holds.
pub struct Engine {
    controls: Rc<Controls>,
    backends: Backends,
    data: Option<LoadedData>,
    model: Option<CurrentModel>,
    uploads: Vec<Vec<u8>>,
    assessment: Option<Assessment>,
    /// The last cross-validation's fold models, when the user kept them.
    fold_models: Vec<ModelFile>,
    /// The files the page streams for a load.
    chunks: UnboundedReceiver<PageChunk>,
}

fn split_view(data: &LoadedData) -> SplitView {
    SplitView {
        // The split's own settings: they say whether it came with the data.
        config: data
            .split()
            .map_or(data.split_config.clone(), |s| s.config.clone()),
        counts: data.split().map(|s| s.counts.clone()).unwrap_or_default(),
        error: data.split().err().map(str::to_string),
        manifest_sha256: data.manifest_sha256.clone(),
        groups: data.split().ok().and_then(|s| s.groups.clone()),
    }
}

fn sample_image(dataset: &Dataset, sample: usize) -> SampleImage {
    SampleImage {
        sample,
        path: dataset.samples[sample].path.clone(),
        label: dataset.samples[sample].label,
        pixels: dataset.image(sample).to_vec(),
    }
}

/// The first images of each class, for the sample grid.
fn class_samples(dataset: &Dataset) -> Vec<ClassSamples> {
    let mut samples = Vec::new();
    for (label, class) in dataset.classes.iter().enumerate() {
        let picked: Vec<usize> = (0..dataset.len())
            .filter(|&i| dataset.samples[i].label == label)
            .take(SAMPLES_PER_CLASS)
            .collect();
        let mut pixels = Vec::with_capacity(picked.len() * dataset.image_len());
        for &i in &picked {
            pixels.extend_from_slice(&dataset.image(i));
        }
        samples.push(ClassSamples {
            class: class.clone(),
            pixels,
            count: picked.len(),
        });
    }
    samples
}

enum Source {
    /// Load `load` of `total` files, streamed by the page.
    Files {
        load: u32,
        total: usize,
        dicom: DicomOptions,
    },
    Sample(String),
    /// A MedMNIST file's bytes.
    Npz {
        name: String,
        bytes: Vec<u8>,
    },
    /// An archive's bytes.
    Archive {
        name: String,
        bytes: Vec<u8>,
        dicom: DicomOptions,
    },
}

impl Engine {
    /// A fresh engine.
    pub fn new(controls: Rc<Controls>, chunks: UnboundedReceiver<PageChunk>) -> Self {
        Self {
            backends: Backends::new(controls.clone()),
            controls,
            data: None,
            model: None,
            uploads: Vec::new(),
            assessment: None,
            fold_models: Vec::new(),
            chunks,
        }
    }

    /// Handles jobs until the page goes away.
    pub async fn run(mut self, mut jobs: UnboundedReceiver<Job>) {
        while let Some(job) = jobs.next().await {
            self.handle(job).await;
        }
    }

    async fn handle(&mut self, job: Job) {
        match job {
            Job::Hello { bundled_model_url } => self.hello(&bundled_model_url).await,
            Job::LoadFiles {
                load,
                shape,
                split,
                total,
                dicom,
            } => {
                self.load(shape, split, Source::Files { load, total, dicom })
                    .await
            }
            Job::LoadSample {
                shape,
                split,
                index_url,
            } => self.load(shape, split, Source::Sample(index_url)).await,
            Job::LoadNpz {
                name,
                bytes,
                split,
                colour,
                size,
            } => {
                let shape = InputShape::square(size).with_colour(colour);
                self.load(shape, split, Source::Npz { name, bytes }).await
            }
            Job::LoadArchive {
                name,
                bytes,
                shape,
                split,
                dicom,
            } => {
                let source = Source::Archive { name, bytes, dicom };
                self.load(shape, split, source).await
            }
            Job::Resplit { split } => self.resplit(split),
            Job::ManifestCsv => self.manifest(),
            Job::Train {
                config,
                backend,
                resume,
            } => self.train(config, backend, resume).await,
            Job::Estimate {
                config,
                backend,
                resume,
            } => self.estimate(config, backend, resume).await,
            Job::CrossValidate {
                config,
                backend,
                folds,
                keep_models,
            } => {
                self.cross_validate(config, backend, folds, keep_models)
                    .await
            }
            Job::ExportFoldModel { fold } => match self.fold_models.get(fold) {
                Some(file) => post(&Response::ModelFile {
                    file_name: format!(
                        "medclassify-{}-{}px-fold-{}.{EXTENSION}",
                        file.meta.model.preset(),
                        file.meta.shape().size(),
                        fold + 1
                    ),
                    bytes: file.to_bytes(),
                }),
                None => notice(Level::Warning, "that fold's model was not kept"),
            },
            Job::Images { purpose, samples } => self.images(purpose, samples),
            Job::Predict { files, backend } => self.predict(files, backend).await,
            Job::Explain {
                target,
                class,
                method,
            } => self.explain(target, class, method).await,
            Job::ExportModel => self.export(),
            Job::ExportOnnx => self.export_onnx().await,
            // A refusal has been posted to the page already.
            Job::ImportModel { name, bytes } => {
                let _ = self.import(&name, &bytes, ModelSource::File);
            }
            Job::LoadBundledModel { url } => match js::fetch_bytes(&url).await {
                Ok(bytes) => {
                    let _ = self.import("the bundled model", &bytes, ModelSource::Bundled);
                }
                Err(error) => notice(
                    Level::Warning,
                    format!("the bundled model could not be loaded: {error}"),
                ),
            },
            Job::ForgetSaved => {
                for key in [BEST_KEY, LAST_KEY, FINAL_KEY] {
                    let _ = idb::delete(key).await;
                }
                notice(
                    Level::Info,
                    "saved models and checkpoints were deleted from this browser",
                );
            }
        }
    }

    /// Restores the last model, then reports the adapter. `Ready` comes last so that the page
    /// is settled once it shows the backend: the restored model's notice, which pushes the
    /// step's buttons down, is already there (a click aimed at a button as that notice arrived
    /// landed on whatever took the button's place).
    async fn hello(&mut self, bundled_model_url: &str) {
        self.backends.gpu = gpu::adapter_report().await;
        self.restore_model(bundled_model_url).await;
        post(&Response::Ready {
            gpu: self.backends.gpu.clone(),
        });
    }

    /// The model the page starts with: the saved one, else the last checkpoint, else the
    /// bundled ready model.
    async fn restore_model(&mut self, bundled_model_url: &str) {
        // Restore the last model from IndexedDB: the finished one, else the last checkpoint,
        // else the bundled model; a stored file that no longer reads (damaged, or from a
        // version that wrote what this one refuses) falls through to the next, and the
        // notice says which was used.
        let mut refused = Vec::new();
        for (key, what) in [
            (FINAL_KEY, "the saved model"),
            (LAST_KEY, "the last checkpoint"),
        ] {
            match idb::get(key).await {
                Ok(Some(bytes)) => match self.import(what, &bytes, ModelSource::Saved) {
                    Ok(()) => {
                        if !refused.is_empty() {
                            notice(
                                Level::Warning,
                                format!("{}; {what} was restored instead", refused.join("; ")),
                            );
                        }
                        return;
                    }
                    Err(error) => refused.push(error),
                },
                Ok(None) => {}
                Err(error) => {
                    notice(
                        Level::Warning,
                        format!("saved models are unavailable: {error}"),
                    );
                    break;
                }
            }
        }
        let outcome = match js::fetch_bytes(bundled_model_url).await {
            Ok(bytes) => self.import("the bundled model", &bytes, ModelSource::Bundled),
            Err(error) => Err(format!("the ready model could not be loaded: {error}")),
        };
        match outcome {
            Ok(()) if !refused.is_empty() => notice(
                Level::Warning,
                format!(
                    "{}; the bundled ready model was loaded instead",
                    refused.join("; ")
                ),
            ),
            Ok(()) => {}
            Err(error) => notice(Level::Warning, error),
        }
    }

    async fn load(&mut self, shape: InputShape, split: SplitConfig, source: Source) {
        self.controls.cancel_load.set(false);
        let started = time::now_ms();
        let dicom = match &source {
            Source::Files { dicom, .. } | Source::Archive { dicom, .. } => *dicom,
            Source::Sample(_) | Source::Npz { .. } => DicomOptions::default(),
        };
        let (dataset, report) = match self.read_source(shape, source).await {
            Ok(loaded) => loaded,
            Err(LoadStopped(message)) => return post(&Response::LoadStopped { message }),
        };
        if dataset.is_empty() {
            // Still show what was skipped and why (the report follows).
            post(&Response::LoadStopped {
                message: format!(
                    "no usable image among {} files: pick a folder with one subfolder of images per class",
                    report.files_seen
                ),
            });
        }
        let view = DataView {
            report: report.clone(),
            samples: class_samples(&dataset),
            memory_bytes: dataset.memory_bytes() as f64,
            wasm_memory_bytes: crate::web::protocol::wasm_memory_bytes(),
            seconds: (time::now_ms() - started) / 1000.0,
        };
        let mut data = LoadedData::new(dataset, report, split);
        data.dicom = dicom;
        let split = split_view(&data);
        self.data = Some(data);
        self.assessment = None;
        post(&Response::Loaded { data: view, split });
    }

    /// The images of `source` at `shape`.
    async fn read_source(
        &mut self,
        shape: InputShape,
        source: Source,
    ) -> Result<(Dataset, LoadReport), LoadStopped> {
        match source {
            Source::Files { load, total, dicom } => {
                let expected = loader::Expected::known(total);
                let chunks = &mut self.chunks;
                loader::load_files(load, &expected, shape, dicom, &self.controls, chunks).await
            }
            Source::Sample(url) => loader::load_sample(&url, shape, &self.controls).await,
            // The file's own image size unless a pretrained network's size was chosen; the
            // chosen colour.
            Source::Npz { name, bytes } if bytes.starts_with(CONTAINER_DRILL) => {
                panic!("crash drill: {name}")
            }
            Source::Archive { name, bytes, .. } if bytes.starts_with(CONTAINER_DRILL) => {
                panic!("crash drill: {name}")
            }
            Source::Npz { name, bytes } => match npz_scales_to(shape.size()) {
                true => read_npz(&bytes, Some(shape), None),
                false => read_npz_as(&bytes, shape.colour(), None),
            }
            .map(|data| (data.dataset, data.report))
            .map_err(|error| LoadStopped(format!("{name}: {error}"))),
            Source::Archive { name, bytes, dicom } => {
                loader::load_archive(&name, &bytes, shape, dicom, &self.controls).await
            }
        }
    }

    fn resplit(&mut self, config: SplitConfig) {
        let Some(data) = self.data.as_mut() else {
            return notice(Level::Warning, "load a folder before changing the split");
        };
        data.resplit(config);
        post(&Response::SplitChanged {
            split: split_view(data),
        });
    }

    fn manifest(&self) {
        match self.data.as_ref().and_then(LoadedData::manifest) {
            Some(manifest) => post(&Response::ManifestCsv {
                csv: manifest.to_csv(),
            }),
            None => notice(Level::Warning, "there is no split to export yet"),
        }
    }

    fn images(&self, purpose: String, samples: Vec<usize>) {
        let Some(data) = &self.data else { return };
        let images = samples
            .into_iter()
            .filter(|&s| s < data.dataset.len())
            .take(200)
            .map(|s| sample_image(&data.dataset, s))
            .collect();
        post(&Response::Images { purpose, images });
    }

    fn export(&self) {
        match &self.model {
            Some(current) => post(&Response::ModelFile {
                file_name: format!(
                    "medclassify-{}-{}px.{EXTENSION}",
                    current.file.meta.model.preset(),
                    current.file.meta.shape().size()
                ),
                bytes: current.file.to_bytes(),
            }),
            None => notice(Level::Warning, "there is no model to download yet"),
        }
    }

    async fn export_onnx(&self) {
        let Some(current) = &self.model else {
            return notice(Level::Warning, "there is no model to export yet");
        };
        match current.onnx().await {
            Ok(bytes) => post(&Response::ModelFile {
                file_name: format!(
                    "medclassify-{}-{}px.{ONNX_EXTENSION}",
                    current.file.meta.model.preset(),
                    current.file.meta.shape().size()
                ),
                bytes,
            }),
            Err(error) => notice(Level::Error, format!("the ONNX export failed: {error}")),
        }
    }
}
