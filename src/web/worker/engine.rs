//! The engine: one job at a time, results posted to the page.

use std::rc::Rc;

use burn::prelude::*;
use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;

use super::host::{BEST_KEY, FINAL_KEY, LAST_KEY, WorkerHost};
use super::loader::{self, LoadStopped, PageChunk};
use super::peer::{self, WorkerPeer};
use super::{Controls, RunState, notice, post};
use crate::data::{Dataset, LoadReport, Manifest, Split, SplitConfig, Subset, split_dataset};
use crate::evaluation::{Assessment, ExplainMethod, assess, grad_cam, saliency, score_pixels};
use crate::model::{Classifier, ModelConfig};
use crate::storage::{
    DataSummary, EXTENSION, ModelFile, ModelMeta, decode_weights, encode_weights,
};
use crate::training::{
    GradientPeer, TrainingConfig, TrainingData, TrainingError, measure_step_ms, train,
};
use crate::web::platform::{gpu, idb, js, time};
use crate::web::protocol::{
    BackendPreference, ClassSamples, DataView, ExplainTarget, GpuReport, InputFile, ModelSource,
    PredictionRow, Request, Response, SampleImage, SplitView,
};

/// Sample images per class sent for the grid.
const SAMPLES_PER_CLASS: usize = 8;
/// Misclassified images sent with the assessment.
const MISCLASSIFIED_SHOWN: usize = 48;

struct LoadedData {
    dataset: Dataset,
    report: LoadReport,
    split_config: SplitConfig,
    split: Option<Split>,
    manifest_sha256: Option<String>,
}

struct CurrentModel {
    model: Classifier,
    file: ModelFile,
    device: Device,
}

struct WebGpu {
    device: Device,
    errors: std::sync::Arc<crate::compute::GpuErrors>,
    /// Set (with the browser's message) once the device is lost.
    lost: std::sync::Arc<std::sync::OnceLock<String>>,
}

/// Everything the worker holds.
pub struct Engine {
    controls: Rc<Controls>,
    gpu: GpuReport,
    webgpu: Option<WebGpu>,
    webgpu_error: Option<String>,
    data: Option<LoadedData>,
    model: Option<CurrentModel>,
    uploads: Vec<Vec<u8>>,
    assessment: Option<Assessment>,
    /// The files the page streams for a load.
    chunks: UnboundedReceiver<PageChunk>,
}

fn split_view(data: &LoadedData, error: Option<String>) -> SplitView {
    SplitView {
        config: data.split_config.clone(),
        counts: data
            .split
            .as_ref()
            .map(|s| s.counts.clone())
            .unwrap_or_default(),
        error,
        manifest_sha256: data.manifest_sha256.clone(),
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

impl Engine {
    /// A fresh engine.
    pub fn new(controls: Rc<Controls>, chunks: UnboundedReceiver<PageChunk>) -> Self {
        Self {
            controls,
            gpu: GpuReport::default(),
            webgpu: None,
            webgpu_error: None,
            data: None,
            model: None,
            uploads: Vec::new(),
            assessment: None,
            chunks,
        }
    }

    /// Handles requests until the page goes away.
    pub async fn run(mut self, mut requests: UnboundedReceiver<Request>) {
        while let Some(request) = requests.next().await {
            self.handle(request).await;
        }
    }

    async fn handle(&mut self, request: Request) {
        match request {
            Request::Hello { bundled_model_url } => self.hello(&bundled_model_url).await,
            Request::LoadFiles {
                load,
                size,
                split,
                total,
            } => self.load(size, split, Source::Files { load, total }).await,
            Request::LoadSample {
                size,
                split,
                index_url,
            } => self.load(size, split, Source::Sample(index_url)).await,
            Request::Resplit { split } => self.resplit(split),
            Request::ManifestCsv => self.manifest(),
            Request::Train {
                config,
                backend,
                resume,
            } => self.train(config, backend, resume).await,
            Request::Images { purpose, samples } => self.images(purpose, samples),
            Request::Predict { files } => self.predict(files).await,
            Request::Explain {
                target,
                class,
                method,
            } => self.explain(target, class, method).await,
            Request::ExportModel => self.export(),
            // A refusal has been posted to the page already.
            Request::ImportModel { name, bytes } => {
                let _ = self.import(&name, &bytes, ModelSource::File).await;
            }
            Request::LoadBundledModel { url } => match js::fetch_bytes(&url).await {
                Ok(bytes) => {
                    let _ = self
                        .import("the bundled model", &bytes, ModelSource::Bundled)
                        .await;
                }
                Err(error) => notice(
                    "warning",
                    format!("the bundled model could not be loaded: {error}"),
                ),
            },
            Request::ForgetSaved => {
                for key in [BEST_KEY, LAST_KEY, FINAL_KEY] {
                    let _ = idb::delete(key).await;
                }
                notice(
                    "info",
                    "saved models and checkpoints were deleted from this browser",
                );
            }
            // Handled at once by the message handler.
            Request::Pause
            | Request::Resume
            | Request::Stop
            | Request::CancelLoad
            | Request::LoadChunk { .. }
            | Request::SimulateDeviceLoss => {}
        }
    }

    async fn hello(&mut self, bundled_model_url: &str) {
        self.gpu = gpu::adapter_report().await;
        post(&Response::Ready {
            gpu: self.gpu.clone(),
        });
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
                Ok(Some(bytes)) => match self.import(what, &bytes, ModelSource::Saved).await {
                    Ok(()) => {
                        if !refused.is_empty() {
                            notice(
                                "warning",
                                format!("{}; {what} was restored instead", refused.join("; ")),
                            );
                        }
                        return;
                    }
                    Err(error) => refused.push(error),
                },
                Ok(None) => {}
                Err(error) => {
                    notice("warning", format!("saved models are unavailable: {error}"));
                    break;
                }
            }
        }
        let outcome = match js::fetch_bytes(bundled_model_url).await {
            Ok(bytes) => {
                self.import("the bundled model", &bytes, ModelSource::Bundled)
                    .await
            }
            Err(error) => Err(format!("the ready model could not be loaded: {error}")),
        };
        match outcome {
            Ok(()) if !refused.is_empty() => notice(
                "warning",
                format!(
                    "{}; the bundled ready model was loaded instead",
                    refused.join("; ")
                ),
            ),
            Ok(()) => {}
            Err(error) => notice("warning", error),
        }
    }

    async fn load(&mut self, size: u32, split: SplitConfig, source: Source) {
        self.controls.cancel_load.set(false);
        let started = time::now_ms();
        let result = match source {
            Source::Files { load, total } => {
                loader::load_files(load, total, size, &self.controls, &mut self.chunks).await
            }
            Source::Sample(url) => loader::load_sample(&url, size, &self.controls).await,
        };
        let (dataset, report) = match result {
            Ok(loaded) => loaded,
            Err(LoadStopped(message)) => {
                post(&Response::LoadStopped { message });
                return;
            }
        };
        if dataset.is_empty() {
            post(&Response::LoadStopped {
                message: format!(
                    "no usable image among {} files: pick a folder with one subfolder of images per class",
                    report.files_seen
                ),
            });
            // Still show what was skipped and why.
        }
        let mut samples = Vec::new();
        for (label, class) in dataset.classes.iter().enumerate() {
            let picked: Vec<usize> = (0..dataset.len())
                .filter(|&i| dataset.samples[i].label == label)
                .take(SAMPLES_PER_CLASS)
                .collect();
            let mut pixels = Vec::with_capacity(picked.len() * dataset.image_len());
            for &i in &picked {
                pixels.extend_from_slice(dataset.image(i));
            }
            samples.push(ClassSamples {
                class: class.clone(),
                pixels,
                count: picked.len(),
            });
        }
        let view = DataView {
            report: report.clone(),
            samples,
            memory_bytes: dataset.memory_bytes() as f64,
            wasm_memory_bytes: crate::web::protocol::wasm_memory_bytes(),
            seconds: (time::now_ms() - started) / 1000.0,
        };
        let mut data = LoadedData {
            dataset,
            report,
            split_config: split.clone(),
            split: None,
            manifest_sha256: None,
        };
        let error = Self::apply_split(&mut data, split);
        let split = split_view(&data, error);
        self.data = Some(data);
        self.assessment = None;
        post(&Response::Loaded { data: view, split });
    }

    fn apply_split(data: &mut LoadedData, config: SplitConfig) -> Option<String> {
        data.split_config = config.clone();
        match split_dataset(&data.dataset, &config) {
            Ok(split) => {
                data.manifest_sha256 = Some(Manifest::new(&data.dataset, &split).digest());
                data.split = Some(split);
                None
            }
            Err(error) => {
                data.split = None;
                data.manifest_sha256 = None;
                Some(error.to_string())
            }
        }
    }

    fn resplit(&mut self, config: SplitConfig) {
        let Some(data) = self.data.as_mut() else {
            notice("warning", "load a folder before changing the split");
            return;
        };
        let error = Self::apply_split(data, config);
        post(&Response::SplitChanged {
            split: split_view(data, error),
        });
    }

    fn manifest(&self) {
        match self
            .data
            .as_ref()
            .and_then(|d| d.split.as_ref().map(|s| (d, s)))
        {
            Some((data, split)) => post(&Response::ManifestCsv {
                csv: Manifest::new(&data.dataset, split).to_csv(),
            }),
            None => notice("warning", "there is no split to export yet"),
        }
    }

    async fn webgpu_device(&mut self) -> Result<Device, String> {
        if let Some(webgpu) = &self.webgpu {
            return Ok(webgpu.device.clone());
        }
        if let Some(error) = &self.webgpu_error {
            return Err(error.clone());
        }
        if !self.gpu.available {
            let error = self
                .gpu
                .problem
                .clone()
                .unwrap_or_else(|| "WebGPU is unavailable".into());
            self.webgpu_error = Some(error.clone());
            return Err(error);
        }
        match Device::wgpu_options().init_with_setup_async().await {
            Ok((device, setup)) => {
                let errors = crate::compute::watch_gpu_errors(&setup.device);
                *self.controls.gpu_device.borrow_mut() = Some(setup.device.clone());
                let lost = std::sync::Arc::new(std::sync::OnceLock::new());
                let sink = lost.clone();
                setup.device.set_device_lost_callback(move |kind, message| {
                    let _ = sink.set(format!("{kind:?}: {message}"));
                });
                self.webgpu = Some(WebGpu {
                    device: device.clone(),
                    errors,
                    lost,
                });
                Ok(device)
            }
            Err(error) => {
                let error = format!("WebGPU could not start: {error}");
                self.webgpu_error = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Picks the training device and says why.
    async fn choose_device(
        &mut self,
        preference: BackendPreference,
        model: &ModelConfig,
        batch: usize,
    ) -> (Device, String, String) {
        let cpu = || (Device::flex(), "CPU".to_string());
        let adapter = self.gpu.label();
        match preference {
            BackendPreference::Cpu => {
                let (d, n) = cpu();
                (d, n, "CPU chosen in the settings".into())
            }
            BackendPreference::CpuOneCore => {
                let (d, n) = cpu();
                (d, n, "CPU on one core chosen in the settings".into())
            }
            BackendPreference::Webgpu => match self.webgpu_device().await {
                Ok(device) => (
                    device,
                    "WebGPU".into(),
                    format!("WebGPU chosen in the settings ({adapter})"),
                ),
                Err(error) => {
                    let (d, n) = cpu();
                    (
                        d,
                        n,
                        format!("WebGPU was chosen but is unavailable ({error}); using the CPU"),
                    )
                }
            },
            BackendPreference::Auto | BackendPreference::AutoProbe => {
                if !self.gpu.available {
                    let (d, n) = cpu();
                    let why = self
                        .gpu
                        .problem
                        .clone()
                        .unwrap_or_else(|| "WebGPU is unavailable".into());
                    return (d, n, format!("auto: {why}"));
                }
                if self.gpu.software && preference != BackendPreference::AutoProbe {
                    let (d, n) = cpu();
                    return (
                        d,
                        n,
                        format!(
                            "auto: the WebGPU adapter ({adapter}) is a software emulation, slower than the CPU path"
                        ),
                    );
                }
                let gpu_device = match self.webgpu_device().await {
                    Ok(device) => device,
                    Err(error) => {
                        let (d, n) = cpu();
                        return (d, n, format!("auto: {error}"));
                    }
                };
                let mut probe_host = WorkerHost::new(self.controls.clone());
                let gpu_ms =
                    measure_step_ms(model, batch, 2, 3, &gpu_device, &mut probe_host).await;
                let cpu_ms =
                    measure_step_ms(model, batch, 1, 2, &Device::flex(), &mut probe_host).await;
                match (gpu_ms, cpu_ms) {
                    (Ok(g), Ok(c)) if g <= c => (
                        gpu_device,
                        "WebGPU".into(),
                        format!(
                            "auto: probe {g:.0} ms/step on WebGPU vs {c:.0} ms/step on the CPU"
                        ),
                    ),
                    (Ok(g), Ok(c)) => {
                        let (d, n) = cpu();
                        (
                            d,
                            n,
                            format!(
                                "auto: probe {c:.0} ms/step on the CPU vs {g:.0} ms/step on WebGPU"
                            ),
                        )
                    }
                    (Err(error), _) => {
                        let (d, n) = cpu();
                        (d, n, format!("auto: WebGPU failed the probe ({error})"))
                    }
                    (Ok(_), Err(_)) => (
                        gpu_device,
                        "WebGPU".into(),
                        "auto: the CPU probe failed".into(),
                    ),
                }
            }
        }
    }

    async fn train(&mut self, config: TrainingConfig, preference: BackendPreference, resume: bool) {
        self.controls.run.set(RunState::Running);
        let fail = |message: String| post(&Response::TrainingFailed { message });
        let Some(data) = self.data.as_ref() else {
            return fail("load a folder (or the sample data) first".into());
        };
        if data.split.is_none() {
            return fail("the split failed; fix the split settings first".into());
        }
        if let Err(error) = config.validate() {
            return fail(error);
        }
        let resume_file = if resume {
            match self.model.as_ref() {
                Some(current) if current.file.meta.resume.is_some() => Some(current.file.clone()),
                _ => return fail("there is no checkpoint to resume from".into()),
            }
        } else {
            None
        };
        if let Some(file) = &resume_file {
            let done = file
                .meta
                .resume
                .as_ref()
                .map(|r| r.epochs_completed)
                .unwrap_or(0);
            if done >= config.epochs {
                return fail(format!(
                    "the checkpoint already has {done} epochs: set Epochs above {done} to continue"
                ));
            }
            if file.meta.classes != data.dataset.classes
                || file.meta.image_size != data.dataset.image_size as usize
            {
                return fail(format!(
                    "the checkpoint was trained on classes {} at {}px; the loaded data has {} at {}px",
                    file.meta.classes.join(", "),
                    file.meta.image_size,
                    data.dataset.classes.join(", "),
                    data.dataset.image_size
                ));
            }
            let expected = file.meta.data.as_ref().map(|d| d.manifest_sha256.clone());
            if expected.is_some() && expected != data.manifest_sha256 {
                notice(
                    "warning",
                    "the loaded data or split differs from the checkpoint's (manifest hash); training continues on the current split",
                );
            }
        }
        let model_config = match &resume_file {
            Some(file) => file.meta.model.clone(),
            None => ModelConfig::new(
                config.preset,
                data.dataset.classes.len(),
                data.dataset.image_size as usize,
            ),
        };
        let (device, backend, reason) = self
            .choose_device(preference, &model_config, config.batch_size)
            .await;
        post(&Response::BackendChosen {
            backend: backend.clone(),
            reason,
        });
        let data = self.data.as_ref().expect("checked above");
        let split = data.split.as_ref().expect("checked above");
        let mut meta = ModelMeta::new(model_config, data.dataset.classes.clone());
        meta.data = Some(DataSummary::new(
            &data.report,
            &data.split_config,
            &split.counts,
            data.manifest_sha256.clone().unwrap_or_default(),
        ));
        meta.backend = Some(format!("{backend} in the browser ({})", self.gpu.label()));
        let training_data = TrainingData {
            dataset: &data.dataset,
            train: split.indices(Subset::Train),
            validation: split.indices(Subset::Validation),
        };
        let mut host = WorkerHost::new(self.controls.clone());
        if backend == "CPU" {
            host.peer = cpu_peer(preference).await;
        }
        let mut result = train(
            &training_data,
            &config,
            &device,
            meta.clone(),
            resume_file.as_ref(),
            &mut host,
        )
        .await;
        // A read that failed because the device went away is a device loss too, whichever of
        // the two (the failed read or the browser's `lost` promise) came first.
        if let (Err(TrainingError::Execution(message)), Some(webgpu)) = (&result, &self.webgpu) {
            time::sleep(std::time::Duration::from_millis(100)).await;
            if let Some(reason) = webgpu.lost.get() {
                gloo::console::warn!(format!("read failed after the device was lost: {message}"));
                result = Err(TrainingError::DeviceLost {
                    reason: reason.clone(),
                    epochs_completed: host.epochs_completed,
                });
            }
        }
        let mut device = device;
        if let Err(TrainingError::DeviceLost {
            reason,
            epochs_completed,
        }) = &result
        {
            let message = format!(
                "the GPU device was lost after epoch {epochs_completed}; training continues on the CPU from the last completed epoch (the browser said: {reason})"
            );
            notice("warning", message.clone());
            post(&Response::BackendChosen {
                backend: "CPU".into(),
                reason: message,
            });
            self.webgpu = None;
            *self.controls.gpu_device.borrow_mut() = None;
            self.webgpu_error = Some("the WebGPU device was lost".into());
            device = Device::flex();
            let resume = host
                .last_checkpoint
                .clone()
                .and_then(|bytes| ModelFile::from_bytes(&bytes).ok())
                .or(resume_file.clone());
            meta.backend = Some(format!("{backend}, then CPU after a GPU device loss"));
            self.controls.run.set(RunState::Running);
            host.peer = cpu_peer(preference).await;
            result = train(
                &training_data,
                &config,
                &device,
                meta,
                resume.as_ref(),
                &mut host,
            )
            .await;
        }
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(error) => return fail(error.to_string()),
        };
        if let Some(webgpu) = &self.webgpu
            && webgpu.errors.count() > 0
        {
            // The browser build launches no autotune candidates, so any error here means the
            // adapter refused real work: say so rather than trust the numbers silently.
            notice(
                "warning",
                format!(
                    "WebGPU reported {} error(s) during training, so its results may be wrong; train on the CPU to compare. First message: {}",
                    webgpu.errors.count(),
                    webgpu
                        .errors
                        .first()
                        .unwrap_or_default()
                        .lines()
                        .next()
                        .unwrap_or_default()
                ),
            );
        }
        let assessment = match assess(&outcome.model, &data.dataset, split, &device).await {
            Ok(assessment) => assessment,
            Err(error) => return fail(format!("evaluating on the test set failed: {error}")),
        };
        let mut meta = outcome.meta;
        meta.test = Some(assessment.evaluation.clone());
        meta.calibration = Some(assessment.calibration.clone());
        let weights = match encode_weights(&outcome.model, &meta.model).await {
            Ok(weights) => weights,
            Err(error) => return fail(error),
        };
        let file = ModelFile { meta, weights };
        let bytes = file.to_bytes();
        if let Err(error) = idb::put(FINAL_KEY, &bytes).await {
            notice(
                "warning",
                format!("the model could not be saved in this browser: {error}"),
            );
        }
        let misclassified = assessment
            .misclassified()
            .into_iter()
            .take(MISCLASSIFIED_SHOWN)
            .map(|p| sample_image(&data.dataset, p.sample))
            .collect();
        post(&Response::ModelReady {
            meta: Box::new(file.meta.clone()),
            source: ModelSource::Trained,
            file_bytes: bytes.len(),
        });
        post(&Response::TrainingDone {
            assessment: Box::new(assessment.clone()),
            misclassified,
            wasm_memory_bytes: crate::web::protocol::wasm_memory_bytes(),
        });
        self.assessment = Some(assessment);
        self.model = Some(CurrentModel {
            model: outcome.model,
            file,
            device,
        });
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

    async fn predict(&mut self, files: Vec<InputFile>) {
        let Some(current) = &self.model else {
            notice(
                "warning",
                "there is no model yet: train one, load a model file or use the ready model",
            );
            return;
        };
        let size = current.file.meta.image_size as u32;
        let classes = current.file.meta.classes.len();
        let mut rows = Vec::with_capacity(files.len());
        let mut batch = Vec::new();
        let mut positions = Vec::new();
        let builder = crate::data::DatasetBuilder::new(size);
        for input in &files {
            let name = input.path.clone();
            let bytes =
                match js::await_value(wasm_bindgen::JsValue::from(input.file.array_buffer())).await
                {
                    Ok(buffer) => js_sys::Uint8Array::new(&buffer).to_vec(),
                    Err(error) => {
                        rows.push(PredictionRow {
                            name,
                            probabilities: vec![],
                            error: Some(format!("unreadable: {}", js::error_text(&error))),
                            pixels: vec![],
                        });
                        continue;
                    }
                };
            match crate::data::decode_image(&bytes, size, builder.limits()) {
                Ok(pixels) => {
                    positions.push(rows.len());
                    batch.extend_from_slice(&pixels);
                    rows.push(PredictionRow {
                        name,
                        probabilities: vec![],
                        error: None,
                        pixels,
                    });
                }
                Err(reason) => rows.push(PredictionRow {
                    name,
                    probabilities: vec![],
                    error: Some(reason.to_string()),
                    pixels: vec![],
                }),
            }
            if rows.len() % 16 == 0 {
                time::yield_now().await;
            }
        }
        if !batch.is_empty() {
            match score_pixels(
                &current.model,
                &batch,
                size as usize,
                classes,
                &current.device,
            )
            .await
            {
                Ok(scores) => {
                    let probabilities = scores.probabilities(1.0);
                    for (position, row) in positions.iter().zip(probabilities.chunks_exact(classes))
                    {
                        rows[*position].probabilities = row.to_vec();
                    }
                }
                Err(error) => {
                    notice("error", format!("prediction failed: {error}"));
                    return;
                }
            }
        }
        self.uploads = rows.iter().map(|r| r.pixels.clone()).collect();
        post(&Response::Predictions { results: rows });
    }

    async fn explain(
        &mut self,
        target: ExplainTarget,
        class: Option<usize>,
        method: ExplainMethod,
    ) {
        let Some(current) = &self.model else {
            notice("warning", "there is no model to explain");
            return;
        };
        let pixels = match target {
            ExplainTarget::Sample { sample } => match &self.data {
                Some(data) if sample < data.dataset.len() => data.dataset.image(sample).to_vec(),
                _ => return notice("warning", "that image is no longer loaded"),
            },
            ExplainTarget::Upload { index } => match self.uploads.get(index) {
                Some(pixels) if !pixels.is_empty() => pixels.clone(),
                _ => return notice("warning", "that image is no longer available"),
            },
        };
        let size = current.file.meta.image_size;
        if pixels.len() != size * size {
            return notice(
                "warning",
                "the image was decoded at another size than the model's; load it again",
            );
        }
        let class = match class {
            Some(class) => class,
            None => match score_pixels(
                &current.model,
                &pixels,
                size,
                current.file.meta.classes.len(),
                &current.device,
            )
            .await
            {
                Ok(scores) => crate::evaluation::argmax(&scores.logits),
                Err(error) => return notice("error", format!("explaining failed: {error}")),
            },
        };
        let heatmap = match method {
            ExplainMethod::GradCam => {
                grad_cam(&current.model, &pixels, size, class, &current.device).await
            }
            ExplainMethod::Saliency => {
                saliency(&current.model, &pixels, size, class, &current.device).await
            }
        };
        match heatmap {
            Ok(heatmap) => post(&Response::Explanation {
                target,
                heatmap,
                pixels,
            }),
            Err(error) => notice("error", format!("explaining failed: {error}")),
        }
    }

    fn export(&self) {
        match &self.model {
            Some(current) => post(&Response::ModelFile {
                file_name: format!(
                    "medclassify-{}-{}px.{EXTENSION}",
                    current.file.meta.model.preset(),
                    current.file.meta.image_size
                ),
                bytes: current.file.to_bytes(),
            }),
            None => notice("warning", "there is no model to download yet"),
        }
    }

    /// Makes `bytes` the current model, or says why not (the current model stays). The
    /// reason is also returned, for the restore order in [`Self::hello`].
    async fn import(
        &mut self,
        name: &str,
        bytes: &[u8],
        source: ModelSource,
    ) -> Result<(), String> {
        let reject = |message: String| {
            post(&Response::ModelRejected {
                message: message.clone(),
            });
            Err(message)
        };
        let file = match ModelFile::from_bytes(bytes) {
            Ok(file) => file,
            Err(error) => return reject(format!("{name}: {error}; the current model stays")),
        };
        if let Some(data) = &self.data {
            if file.meta.classes.len() != data.dataset.classes.len() {
                return reject(format!(
                    "{name} has {} classes ({}), the loaded data has {} ({}); the current model stays",
                    file.meta.classes.len(),
                    file.meta.classes.join(", "),
                    data.dataset.classes.len(),
                    data.dataset.classes.join(", ")
                ));
            }
            if file.meta.image_size != data.dataset.image_size as usize {
                return reject(format!(
                    "{name} takes {0}x{0} images, the data is loaded at {1}x{1}; reload the data at {0} px or pick another model. The current model stays",
                    file.meta.image_size, data.dataset.image_size
                ));
            }
            if file.meta.classes != data.dataset.classes {
                return reject(format!(
                    "{name} was trained on classes {}, the loaded data has {}; the current model stays",
                    file.meta.classes.join(", "),
                    data.dataset.classes.join(", ")
                ));
            }
        }
        let device = Device::flex();
        let model = match decode_weights(&file.meta.model, &file.weights, &device) {
            Ok(model) => model,
            Err(error) => return reject(format!("{name}: {error}; the current model stays")),
        };
        post(&Response::ModelReady {
            meta: Box::new(file.meta.clone()),
            source,
            file_bytes: bytes.len(),
        });
        self.model = Some(CurrentModel {
            model: model.valid(),
            file,
            device,
        });
        Ok(())
    }
}

enum Source {
    /// Load `load` of `total` files, streamed by the page.
    Files {
        load: u32,
        total: usize,
    },
    Sample(String),
}

/// A training helper for CPU training on a second core, unless one core was asked for or the
/// browser reports one; `None` (with a notice) when it cannot start.
async fn cpu_peer(preference: BackendPreference) -> Option<Box<dyn GradientPeer>> {
    if preference == BackendPreference::CpuOneCore || peer::cores() < 2 {
        return None;
    }
    match WorkerPeer::launch().await {
        Ok(peer) => Some(Box::new(peer)),
        Err(error) => {
            notice(
                "info",
                format!("training on one core: the training helper did not start ({error})"),
            );
            None
        }
    }
}
