//! Which device trains: WebGPU (started on first use, watched for errors and loss) or the
//! CPU, as the user's preference and, for "auto", a short timing probe decide.

use crate::page::protocol::Level;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use burn::prelude::*;

use super::host::Pacer;
use super::{Controls, notice, post};
use crate::compute::GpuErrors;
use crate::model::ModelConfig;
use crate::training::{CheckpointSlot, TrainingEvent, TrainingHost, measure_step_ms};
use crate::tuning::TuningLedger;
use crate::web::platform::time;
use crate::web::protocol::{BackendPreference, GpuReport, Response};

/// The WebGPU device in use.
pub struct WebGpu {
    pub device: Device,
    /// Validation errors the adapter reported.
    pub errors: Arc<GpuErrors>,
    /// Set (with the browser's message) once the device is lost.
    pub lost: Arc<OnceLock<String>>,
}

/// The engine's compute devices.
pub struct Backends {
    controls: Rc<Controls>,
    /// What the adapter query found.
    pub gpu: GpuReport,
    /// The WebGPU device, once started.
    pub webgpu: Option<WebGpu>,
    /// Why WebGPU cannot be used, once known.
    pub webgpu_error: Option<String>,
    /// Kernel tuning on the WebGPU device, once started.
    pub tuning: Option<Arc<TuningLedger>>,
}

/// The probe's host: paced like training, stores nothing.
struct ProbeHost(Pacer);

impl TrainingHost for ProbeHost {
    fn event(&mut self, _: TrainingEvent) {}

    async fn proceed(&mut self) -> bool {
        self.0.proceed().await
    }

    fn now_ms(&self) -> f64 {
        time::now_ms()
    }

    async fn store(&mut self, _: CheckpointSlot, _: &[u8]) -> Result<String, String> {
        Ok(String::new())
    }
}

impl Backends {
    /// No device started yet.
    pub fn new(controls: Rc<Controls>) -> Self {
        Self {
            controls,
            gpu: GpuReport::default(),
            webgpu: None,
            webgpu_error: None,
            tuning: None,
        }
    }

    /// The WebGPU device was lost: never use it again in this page, and say so in its header.
    pub fn forget_webgpu(&mut self) {
        self.webgpu = None;
        *self.controls.gpu_device.borrow_mut() = None;
        self.webgpu_error = Some("the WebGPU device was lost".into());
        self.gpu.mark_lost();
        post(&Response::GpuLost);
    }

    /// The WebGPU device, started on first use; the reason when there is none.
    pub async fn webgpu_device(&mut self) -> Result<Device, String> {
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
        let hook = self.controls.tuning_hook.get();
        let ledger = super::tuning::start(&self.gpu, hook).await;
        let policy = ledger.policy();
        let state = if policy.enabled { "on" } else { "off" };
        notice(
            Level::Info,
            format!("Kernel tuning is {state}: {}.", policy.reason),
        );
        self.tuning = Some(ledger);
        match Device::wgpu_options().init_with_setup_async().await {
            Ok((device, setup)) => {
                let errors = crate::compute::watch_gpu_errors(&setup.device);
                *self.controls.gpu_device.borrow_mut() = Some(setup.device.clone());
                let lost = Arc::new(OnceLock::new());
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

    /// Keeps the kernel-tuning winners measured since the last call in this browser, and says
    /// what tuning did.
    pub async fn keep_tuning(&self) {
        let Some(ledger) = &self.tuning else {
            return;
        };
        if let Err(error) = super::tuning::save(ledger).await {
            notice(
                Level::Warning,
                format!("the kernel-tuning results could not be kept in this browser: {error}"),
            );
        }
        if let Some(sentence) = ledger.take_summary().sentence() {
            notice(Level::Info, sentence);
        }
    }

    /// Picks the training device and says why.
    pub async fn choose_device(
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
                // A pretrained network is large: on a hardware adapter its steps are many
                // times faster than on the CPU, where a probe step alone takes seconds.
                if let Some(backbone) = model.preset().pretrained() {
                    return (
                        gpu_device,
                        "WebGPU".into(),
                        format!(
                            "auto: {} on a hardware adapter, without a timing probe (one CPU step of it takes seconds)",
                            backbone.label
                        ),
                    );
                }
                let mut probe_host = ProbeHost(Pacer::new(self.controls.clone()));
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
}
