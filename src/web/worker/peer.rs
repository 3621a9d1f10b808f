//! The training helper: a second worker (the same module, on another core) that holds a
//! replica of the network and computes the gradient of half of each batch while the engine
//! computes the other half ([`crate::training::GradientPeer`]). Used for training on the CPU
//! when the browser reports more than one core.
//!
//! [`WorkerPeer`] is the engine's side; [`run`] is the helper's.

use std::time::Duration;

use burn::prelude::Device;
use futures::channel::mpsc::{UnboundedReceiver, unbounded};
use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt};
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::decoder::spawn_helper;
use super::post_to_parent;
use crate::training::{GradientPeer, GradientReplica, PeerGradients, PeerSetup, PeerStep};
use crate::web::platform::{js, time};
use crate::web::protocol::{PeerReply, PeerRequest, bytes_f32, decode, encode, f32_bytes};

/// How long the engine waits for the helper to load its module.
const BOOT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the engine waits for one step's answer before training on alone.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// Cores the browser reports.
pub fn cores() -> usize {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    scope.navigator().hardware_concurrency() as usize
}

enum HelperEvent {
    Reply(JsValue),
    Crashed(String),
}

/// The engine's handle on a training helper; the worker ends when this is dropped.
pub struct WorkerPeer {
    worker: web_sys::Worker,
    events: UnboundedReceiver<HelperEvent>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl WorkerPeer {
    /// Starts a helper and waits until it has loaded the module.
    pub async fn launch() -> Result<Self, String> {
        let worker = spawn_helper("peer")?;
        let (sender, events) = unbounded();
        let on_message = {
            let sender = sender.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let _ = sender.unbounded_send(HelperEvent::Reply(event.data()));
            })
        };
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            event.prevent_default();
            let message = js::get_string(&event, "message");
            let _ = sender.unbounded_send(HelperEvent::Crashed(if message.is_empty() {
                "the helper worker stopped".into()
            } else {
                message
            }));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let mut peer = Self {
            worker,
            events,
            _on_message: on_message,
            _on_error: on_error,
        };
        let mut timeout = Box::pin(time::sleep(BOOT_TIMEOUT).fuse());
        let event = futures::select! {
            event = peer.events.next() => event,
            _ = timeout => return Err(format!("it did not start within {} s", BOOT_TIMEOUT.as_secs())),
        };
        match event {
            Some(HelperEvent::Reply(value)) => match decode::<PeerReply>(value) {
                Ok(PeerReply::Ready) => Ok(peer),
                Ok(_) => Err("it answered out of turn".into()),
                Err(error) => Err(error),
            },
            Some(HelperEvent::Crashed(message)) => Err(message),
            None => Err("it stopped".into()),
        }
    }

    fn post_to_parent(&self, request: &PeerRequest) -> Result<(), String> {
        let value = encode(request)?;
        self.worker
            .post_message(&value)
            .map_err(|e| js::error_text(&e))
    }
}

impl GradientPeer for WorkerPeer {
    fn start(&mut self, setup: &PeerSetup) -> Result<(), String> {
        self.post_to_parent(&PeerRequest::Setup(setup.clone()))
    }

    fn submit(&mut self, step: PeerStep) -> Result<(), String> {
        self.post_to_parent(&PeerRequest::Step {
            weights: f32_bytes(&step.weights),
            pixels: step.pixels,
            labels: step.labels,
        })
    }

    fn gradients(&mut self) -> LocalBoxFuture<'_, Result<PeerGradients, String>> {
        Box::pin(async move {
            let mut timeout = Box::pin(time::sleep(STEP_TIMEOUT).fuse());
            let event = futures::select! {
                event = self.events.next() => event,
                _ = timeout => return Err(format!("no answer within {} s", STEP_TIMEOUT.as_secs())),
            };
            match event {
                Some(HelperEvent::Reply(value)) => match decode::<PeerReply>(value)? {
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
                    PeerReply::Ready => Err("it answered out of turn".into()),
                },
                Some(HelperEvent::Crashed(message)) => Err(message),
                None => Err("it stopped".into()),
            }
        })
    }
}

impl Drop for WorkerPeer {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// Entry point of a training helper: builds the replica on `Setup` and answers each `Step`,
/// one at a time, in order.
pub fn run() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let (sender, mut requests) = unbounded::<JsValue>();
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let _ = sender.unbounded_send(event.data());
    });
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    wasm_bindgen_futures::spawn_local(async move {
        let mut replica: Option<GradientReplica> = None;
        while let Some(value) = requests.next().await {
            match decode::<PeerRequest>(value) {
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
                    post_to_parent(&match answer {
                        Ok(answer) => PeerReply::Gradients {
                            gradients: f32_bytes(&answer.gradients),
                            loss_sum: answer.loss_sum,
                            correct: answer.correct,
                            compute_ms: time::now_ms() - started,
                        },
                        Err(message) => PeerReply::Failed { message },
                    });
                }
                Err(message) => post_to_parent(&PeerReply::Failed { message }),
            }
        }
    });
    post_to_parent(&PeerReply::Ready);
}
