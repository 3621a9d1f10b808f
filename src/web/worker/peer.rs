//! The training helper: a second worker (the same module, on another core) that holds a
//! replica of the network and computes the gradient of half of each batch while the engine
//! computes the other half ([`crate::training::GradientPeer`]). Used for training on the CPU
//! when the browser reports more than one core.
//!
//! [`WorkerPeer`] is the engine's side; [`run`] is the helper's.

pub mod protocol;

use std::time::Duration;

use burn::prelude::Device;
use futures::channel::mpsc::{UnboundedReceiver, unbounded};
use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt};
use wasm_bindgen::JsCast;

use self::protocol::{PeerReply, PeerRequest, bytes_f32, f32_bytes};
use crate::training::{
    FeatureStep, GradientPeer, GradientReplica, PeerGradients, PeerSetup, PeerStep,
};
use crate::web::bridge::{self, BOOT_TIMEOUT, Bridge, Script, WorkerEvent};
use crate::web::platform::time;
use crate::web::protocol::BackendPreference;

/// How long the engine waits for one step's answer before training on alone.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// Cores the browser reports.
pub fn cores() -> usize {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    scope.navigator().hardware_concurrency() as usize
}

/// Whether work on the CPU may use a helper on a second core: the browser reports two cores
/// and the Train step's choice is not "CPU (one core)" (training and Predict both ask).
pub fn second_core_allowed(preference: BackendPreference) -> bool {
    preference != BackendPreference::CpuOneCore && cores() >= 2
}

/// The engine's handle on a training helper; the worker ends when this is dropped.
pub struct WorkerPeer {
    bridge: Bridge<PeerRequest, PeerReply>,
    events: UnboundedReceiver<WorkerEvent<PeerReply>>,
}

impl WorkerPeer {
    /// Starts a helper and waits until it has loaded the module.
    pub async fn launch() -> Result<Self, String> {
        let (bridge, events) = Bridge::launch(Script::Helper("peer"), BOOT_TIMEOUT)
            .await
            .map_err(|error| {
                if error.is_empty() {
                    "the helper worker stopped".into()
                } else {
                    error
                }
            })?;
        Ok(Self { bridge, events })
    }
}

impl GradientPeer for WorkerPeer {
    fn start(&mut self, setup: &PeerSetup) -> Result<(), String> {
        self.bridge.post(&PeerRequest::Setup(setup.clone()))
    }

    fn submit(&mut self, step: PeerStep) -> Result<(), String> {
        self.bridge.post(&PeerRequest::Step {
            weights: f32_bytes(&step.weights),
            pixels: step.pixels,
            labels: step.labels,
        })
    }

    fn gradients(&mut self) -> LocalBoxFuture<'_, Result<PeerGradients, String>> {
        Box::pin(async move {
            match self.reply().await? {
                PeerReply::Gradients {
                    gradients,
                    loss_sum,
                    correct,
                    compute_ms,
                } => Ok(PeerGradients {
                    gradients: bytes_f32(&gradients),
                    loss_sum,
                    correct,
                    compute_ms,
                }),
                PeerReply::Failed { message } => Err(message),
                PeerReply::Ready | PeerReply::Features { .. } => {
                    Err("it answered out of turn".into())
                }
            }
        })
    }

    fn submit_features(&mut self, step: FeatureStep) -> Result<(), String> {
        self.bridge.post(&PeerRequest::Features {
            weights: f32_bytes(step.weights.as_deref().unwrap_or_default()),
            pixels: step.pixels,
            output: step.output,
        })
    }

    fn features(&mut self) -> LocalBoxFuture<'_, Result<Vec<f32>, String>> {
        Box::pin(async move {
            match self.reply().await? {
                PeerReply::Features { features } => Ok(bytes_f32(&features)),
                PeerReply::Failed { message } => Err(message),
                PeerReply::Ready | PeerReply::Gradients { .. } => {
                    Err("it answered out of turn".into())
                }
            }
        })
    }
}

impl WorkerPeer {
    /// The helper's next message, within [`STEP_TIMEOUT`]; an error when it stopped, sent
    /// something unreadable or was silent.
    async fn reply(&mut self) -> Result<PeerReply, String> {
        let mut timeout = Box::pin(time::sleep(STEP_TIMEOUT).fuse());
        let event = futures::select! {
            event = self.events.next() => event,
            _ = timeout => return Err(format!("no answer within {} s", STEP_TIMEOUT.as_secs())),
        };
        match event {
            Some(WorkerEvent::Message(reply)) => Ok(reply),
            Some(WorkerEvent::Booted) => Err("it answered out of turn".into()),
            Some(WorkerEvent::Unreadable(error)) => Err(error),
            Some(WorkerEvent::Crashed(message)) if message.is_empty() => {
                Err("the helper worker stopped".into())
            }
            Some(WorkerEvent::Crashed(message)) => Err(message),
            None => Err("it stopped".into()),
        }
    }
}

/// Entry point of a training helper: builds the replica on `Setup` and answers each `Step`,
/// one at a time, in order.
pub fn run() {
    console_error_panic_hook::set_once();
    let (sender, mut requests) = unbounded::<Result<PeerRequest, String>>();
    bridge::listen(move |request| {
        let _ = sender.unbounded_send(request);
    });
    wasm_bindgen_futures::spawn_local(async move {
        let mut replica: Option<GradientReplica> = None;
        while let Some(request) = requests.next().await {
            match request {
                Ok(PeerRequest::Setup(setup)) => {
                    replica = Some(GradientReplica::new(&setup, &Device::flex()));
                }
                Ok(PeerRequest::Step {
                    weights,
                    pixels,
                    labels,
                }) => {
                    let started = time::now_ms();
                    let step = PeerStep {
                        weights: bytes_f32(&weights),
                        pixels,
                        labels,
                    };
                    let answer = match replica.as_mut() {
                        Some(replica) => replica.compute(&step).await,
                        None => Err("the replica was not set up".into()),
                    };
                    bridge::post_to_parent(&match answer {
                        Ok(answer) => PeerReply::Gradients {
                            gradients: f32_bytes(&answer.gradients),
                            loss_sum: answer.loss_sum,
                            correct: answer.correct,
                            compute_ms: time::now_ms() - started,
                        },
                        Err(message) => PeerReply::Failed { message },
                    });
                }
                Ok(PeerRequest::Features {
                    weights,
                    pixels,
                    output,
                }) => {
                    let step = FeatureStep {
                        weights: (!weights.is_empty()).then(|| bytes_f32(&weights)),
                        pixels,
                        output,
                    };
                    let answer = match replica.as_mut() {
                        Some(replica) => replica.features(&step).await,
                        None => Err("the replica was not set up".into()),
                    };
                    bridge::post_to_parent(&match answer {
                        Ok(features) => PeerReply::Features {
                            features: f32_bytes(&features),
                        },
                        Err(message) => PeerReply::Failed { message },
                    });
                }
                Err(message) => bridge::post_to_parent(&PeerReply::Failed { message }),
            }
        }
    });
    bridge::post_to_parent(&PeerReply::Ready);
}

impl bridge::FromWorker for PeerReply {
    fn is_boot(&self) -> bool {
        matches!(self, PeerReply::Ready)
    }
}
