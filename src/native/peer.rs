//! A gradient peer on a thread: the native counterpart of the page's training helper worker
//! (the same [`GradientReplica`], on its own thread, answering through channels).

use std::sync::mpsc;
use std::thread;

use futures::channel::oneshot;
use futures::future::LocalBoxFuture;

use crate::training::{
    FeatureStep, GradientPeer, GradientReplica, PeerGradients, PeerSetup, PeerStep,
};

enum Job {
    Setup(PeerSetup),
    Step(PeerStep, oneshot::Sender<Result<PeerGradients, String>>),
    Features(FeatureStep, oneshot::Sender<Result<Vec<f32>, String>>),
}

/// A replica on a thread of its own, computing on the Flex CPU backend.
///
/// Natively the Flex backend draws weights and dropout masks from one process-wide generator,
/// which the replica reseeds when it is set up and shares with the trainer: runs with a
/// `ThreadPeer` are reproducible only without dropout. (In the page each worker has its own.)
pub struct ThreadPeer {
    jobs: Option<mpsc::Sender<Job>>,
    answer: Option<oneshot::Receiver<Result<PeerGradients, String>>>,
    features: Option<oneshot::Receiver<Result<Vec<f32>, String>>>,
    worker: Option<thread::JoinHandle<()>>,
}

impl ThreadPeer {
    /// Starts the thread (the replica is built on [`GradientPeer::start`]).
    pub fn spawn() -> Self {
        let (jobs, receiver) = mpsc::channel::<Job>();
        let worker = thread::spawn(move || {
            let device = burn::prelude::Device::flex();
            let mut replica: Option<GradientReplica> = None;
            for job in receiver {
                match job {
                    Job::Setup(setup) => replica = Some(GradientReplica::new(&setup, &device)),
                    Job::Step(step, reply) => {
                        let started = std::time::Instant::now();
                        let answer = match replica.as_mut() {
                            Some(replica) => pollster::block_on(replica.compute(&step)),
                            None => Err("the replica was not set up".into()),
                        }
                        .map(|mut answer| {
                            answer.compute_ms = started.elapsed().as_secs_f64() * 1000.0;
                            answer
                        });
                        let _ = reply.send(answer);
                    }
                    Job::Features(step, reply) => {
                        let answer = match replica.as_mut() {
                            Some(replica) => pollster::block_on(replica.features(&step)),
                            None => Err("the replica was not set up".into()),
                        };
                        let _ = reply.send(answer);
                    }
                }
            }
        });
        Self {
            jobs: Some(jobs),
            answer: None,
            features: None,
            worker: Some(worker),
        }
    }

    fn send(&self, job: Job) -> Result<(), String> {
        self.jobs
            .as_ref()
            .ok_or("the replica thread was stopped")?
            .send(job)
            .map_err(|_| "the replica thread has ended".to_string())
    }
}

impl GradientPeer for ThreadPeer {
    fn start(&mut self, setup: &PeerSetup) -> Result<(), String> {
        self.send(Job::Setup(setup.clone()))
    }

    fn submit(&mut self, step: PeerStep) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Step(step, reply))?;
        self.answer = Some(answer);
        Ok(())
    }

    fn gradients(&mut self) -> LocalBoxFuture<'_, Result<PeerGradients, String>> {
        let answer = self.answer.take();
        Box::pin(async move {
            match answer {
                Some(answer) => answer
                    .await
                    .unwrap_or_else(|_| Err("the replica thread ended without answering".into())),
                None => Err("no step was submitted".into()),
            }
        })
    }

    fn submit_features(&mut self, step: FeatureStep) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Features(step, reply))?;
        self.features = Some(answer);
        Ok(())
    }

    fn features(&mut self) -> LocalBoxFuture<'_, Result<Vec<f32>, String>> {
        let answer = self.features.take();
        Box::pin(async move {
            match answer {
                Some(answer) => answer
                    .await
                    .unwrap_or_else(|_| Err("the replica thread ended without answering".into())),
                None => Err("no feature step was submitted".into()),
            }
        })
    }
}

impl Drop for ThreadPeer {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
