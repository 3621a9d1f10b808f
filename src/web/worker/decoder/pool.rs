//! The engine's side of its decoding helpers during one load: a pool that hands out pieces of
//! the load and gathers what they decode, and that survives any single file.
//!
//! Why it must: a decoder that panics on a crafted file aborts its worker (a panic in wasm is
//! an abort), taking with it every piece the helper held. So when a helper stops, its pieces
//! are split file by file and tried again, each file alone in a helper that holds nothing
//! else, and a helper is started in its place; a file that stops a helper on its own is
//! reported as unreadable and the load goes on. The engine never decodes a file that stopped
//! a helper: there a panic would take the engine, its model and its data set with it.

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};

use super::protocol::{DecodedChunk, DecoderReply, DecoderRequest, unpack};
use super::{DecoderBridge, spawn};
use crate::data::{DicomOptions, InputShape, PreparedImage, SkipReason};
use crate::web::bridge::{BOOT_TIMEOUT, WorkerEvent};
use crate::web::platform::time;
use crate::web::protocol::FileBytes;

/// What decoding one file gave: its image, or why it was skipped.
pub type Outcome = Result<PreparedImage, SkipReason>;

/// Files of one chunk of the load, or a part of it, decoded together.
pub struct Piece {
    /// The chunk's position in the load.
    pub chunk: usize,
    /// Where in the chunk its first file is.
    pub offset: usize,
    /// The files.
    pub files: Vec<FileBytes>,
    /// Split off a piece whose helper stopped: one file, decoded alone in a helper that holds
    /// nothing else, so that the file is to blame if that helper stops too.
    pub alone: bool,
}

impl Piece {
    /// A whole chunk, as the page sent it.
    pub fn chunk(chunk: usize, files: Vec<FileBytes>) -> Self {
        Self {
            chunk,
            offset: 0,
            files,
            alone: false,
        }
    }

    /// The piece's outcome when it is the file to blame for a stopped helper (`why`), or when
    /// it cannot be tried alone any more.
    pub fn blamed(self, why: &str) -> Done {
        let outcomes = self
            .files
            .iter()
            .map(|_| {
                Err(SkipReason::Unreadable {
                    detail: why.to_string(),
                })
            })
            .collect();
        Done {
            chunk: self.chunk,
            offset: self.offset,
            outcomes,
        }
    }
}

/// What a piece gave, file by file.
pub struct Done {
    /// The chunk's position in the load.
    pub chunk: usize,
    /// Where in the chunk the first outcome belongs.
    pub offset: usize,
    /// Per file of the piece, in order.
    pub outcomes: Vec<Outcome>,
}

/// Pieces a helper holds at once: one decoding while the next one's files are posted.
const IN_FLIGHT: usize = 2;

/// How long a helper may hold a piece without answering before it counts as stopped (a
/// decoder caught in a loop; a chunk of 256 large images takes seconds).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// Helpers started in place of stopped ones in one load, at most: a load of many files that
/// each stop a helper ends in bounded time, its remaining suspects reported unread.
const MAX_RESTARTS: usize = 64;

/// What a helper's bridge passes on to the load: the helper's slot and its event.
type HelperEvent = (usize, WorkerEvent<DecoderReply>);

/// One decoding helper worker (terminated when dropped).
struct Helper {
    bridge: DecoderBridge,
    /// Pieces sent and not yet answered, by the number they were sent under.
    in_flight: Vec<(usize, Piece)>,
    /// When it was started, or last sent a piece to or heard from with pieces still out.
    since: f64,
}

/// The decoding helpers of one load; dropped (and the workers terminated) when it ends.
pub struct DecoderPool {
    helpers: Vec<Option<Helper>>,
    events: UnboundedReceiver<HelperEvent>,
    /// Kept to start helpers in place of stopped ones.
    sender: UnboundedSender<HelperEvent>,
    /// Helpers started at the beginning of the load.
    pub started: usize,
    /// How many times a helper stopped during the load.
    pub stopped: usize,
    /// Files reported unreadable because a helper stopped on each of them alone.
    pub blamed: usize,
    restarts: usize,
    next_number: usize,
    /// Time the helpers spent decoding, summed.
    pub decode_ms: f64,
}

impl DecoderPool {
    /// Starts `count` helpers and waits (up to [`BOOT_TIMEOUT`]) until they have loaded the
    /// module; `Err` says why none could start (the engine then decodes alone).
    pub async fn start(count: usize) -> Result<Self, String> {
        let (sender, events) = unbounded();
        let mut pool = Self {
            helpers: Vec::new(),
            events,
            sender,
            started: 0,
            stopped: 0,
            blamed: 0,
            restarts: 0,
            next_number: 0,
            decode_ms: 0.0,
        };
        for id in 0..count {
            match pool.spawn_helper(id) {
                Ok(helper) => pool.helpers.push(Some(helper)),
                Err(error) if id == 0 => return Err(error),
                Err(_) => break,
            }
        }
        let mut timeout = Box::pin(futures::FutureExt::fuse(time::sleep(BOOT_TIMEOUT)));
        while pool.ready_count() < pool.live_count() {
            let event = futures::select! {
                event = pool.events.next() => event,
                _ = timeout => None,
            };
            match event {
                Some((id, WorkerEvent::Crashed(_))) => pool.helpers[id] = None,
                Some(_) => {}
                None => break,
            }
        }
        // Helpers that did not boot in time are not waited for.
        for slot in &mut pool.helpers {
            if slot.as_ref().is_some_and(|h| !h.bridge.is_booted()) {
                *slot = None;
            }
        }
        pool.started = pool.live_count();
        match pool.started {
            0 => Err("no decoding helper started".into()),
            _ => Ok(pool),
        }
    }

    fn spawn_helper(&self, id: usize) -> Result<Helper, String> {
        let sender = self.sender.clone();
        let bridge = spawn(move |event| {
            let _ = sender.unbounded_send((id, event));
        })?;
        Ok(Helper {
            bridge,
            in_flight: Vec::new(),
            since: time::now_ms(),
        })
    }

    fn live_count(&self) -> usize {
        self.helpers.iter().flatten().count()
    }

    fn ready_count(&self) -> usize {
        self.helpers
            .iter()
            .flatten()
            .filter(|h| h.bridge.is_booted())
            .count()
    }

    /// Whether no helper is left (the engine then decodes what has never stopped one).
    pub fn is_empty(&self) -> bool {
        self.live_count() == 0
    }

    /// Whether some helper could take another piece.
    pub fn has_capacity(&self) -> bool {
        self.helpers
            .iter()
            .flatten()
            .any(|h| h.in_flight.len() < IN_FLIGHT)
    }

    /// Gives every helper work until it holds [`IN_FLIGHT`] pieces or nothing is waiting; a
    /// piece to be decoded alone goes only to a helper that holds nothing. What came of
    /// helpers that could not be posted to is returned.
    pub fn dispatch(
        &mut self,
        waiting: &mut VecDeque<Piece>,
        shape: InputShape,
        dicom: DicomOptions,
    ) -> Vec<Done> {
        let mut done = Vec::new();
        for id in 0..self.helpers.len() {
            while let Some(helper) = self.helpers[id].as_mut() {
                let holds_alone = helper.in_flight.iter().any(|(_, p)| p.alone);
                let Some(front) = waiting.front() else {
                    return done;
                };
                let busy = !helper.in_flight.is_empty();
                if holds_alone || helper.in_flight.len() >= IN_FLIGHT || (front.alone && busy) {
                    break;
                }
                let piece = waiting.pop_front().expect("a piece was waiting");
                let number = self.next_number;
                self.next_number += 1;
                let request = DecoderRequest::Decode {
                    chunk: number,
                    shape,
                    dicom,
                    files: piece.files,
                };
                let sent = helper.bridge.post(&request);
                let DecoderRequest::Decode { files, .. } = request;
                if !busy {
                    helper.since = time::now_ms();
                }
                helper.in_flight.push((number, Piece { files, ..piece }));
                if let Err(error) = sent {
                    done.extend(self.helper_stopped(id, &error, waiting));
                }
            }
        }
        done
    }

    /// The next event from the helpers (waiting at most a second, so that time-outs are
    /// checked), acted on: decoded pieces, and the outcomes of files that stopped a helper.
    pub async fn next(&mut self, waiting: &mut VecDeque<Piece>) -> Vec<Done> {
        let mut tick = Box::pin(futures::FutureExt::fuse(time::sleep(Duration::from_secs(
            1,
        ))));
        let event = futures::select! {
            event = self.events.next() => event,
            _ = tick => return self.check_time_outs(waiting),
        };
        // Checked after every event too: a helper that answers often must not hide one that
        // never does.
        let mut done = self.handle(event, waiting);
        done.extend(self.check_time_outs(waiting));
        done
    }

    /// Acts on one event from the helpers.
    fn handle(&mut self, event: Option<HelperEvent>, waiting: &mut VecDeque<Piece>) -> Vec<Done> {
        let (id, packed) = match event {
            Some((id, WorkerEvent::Message(DecoderReply::Decoded(packed)))) => (id, packed),
            Some((_, WorkerEvent::Booted | WorkerEvent::Message(DecoderReply::Ready))) => {
                return Vec::new();
            }
            Some((id, WorkerEvent::Unreadable(why) | WorkerEvent::Crashed(why))) => {
                return self.helper_stopped(id, &why, waiting);
            }
            // The pool holds a sender itself, so this does not happen; if it did, no helper
            // would answer any more.
            None => {
                return (0..self.helpers.len())
                    .flat_map(|id| self.helper_stopped(id, "the helpers' channel closed", waiting))
                    .collect();
            }
        };
        self.decode_ms += packed.decode_ms;
        match self.take_answer(id, packed) {
            Some(done) => vec![done],
            None => self.helper_stopped(id, "its answer could not be read", waiting),
        }
    }

    /// The piece a helper answered for, with its outcomes; `None` if the answer does not fit
    /// the piece (the piece stays with the helper, to be retried when it is retired).
    fn take_answer(&mut self, id: usize, packed: DecodedChunk) -> Option<Done> {
        let helper = self.helpers.get_mut(id)?.as_mut()?;
        let position = helper
            .in_flight
            .iter()
            .position(|(n, _)| *n == packed.chunk)?;
        let files = helper.in_flight[position].1.files.len();
        let outcomes = unpack(packed).filter(|outcomes| outcomes.len() == files)?;
        let (_, piece) = helper.in_flight.remove(position);
        helper.since = time::now_ms();
        Some(Done {
            chunk: piece.chunk,
            offset: piece.offset,
            outcomes,
        })
    }

    /// Helpers that have not booted, or not answered, in time count as stopped.
    fn check_time_outs(&mut self, waiting: &mut VecDeque<Piece>) -> Vec<Done> {
        let now = time::now_ms();
        let mut done = Vec::new();
        for id in 0..self.helpers.len() {
            let Some(helper) = self.helpers[id].as_ref() else {
                continue;
            };
            let (limit, what) = if !helper.bridge.is_booted() {
                (BOOT_TIMEOUT, "it did not start")
            } else if !helper.in_flight.is_empty() {
                (ANSWER_TIMEOUT, "it did not answer")
            } else {
                continue;
            };
            if now - helper.since > limit.as_secs_f64() * 1e3 {
                let why = format!("{what} within {} s", limit.as_secs());
                done.extend(self.helper_stopped(id, &why, waiting));
            }
        }
        done
    }

    /// A helper stopped (`why`): a piece it held alone is that file's fault and is reported
    /// unreadable; its other pieces go back to the front of the queue file by file, to be
    /// decoded alone; a fresh helper takes its place while restarts remain.
    fn helper_stopped(&mut self, id: usize, why: &str, waiting: &mut VecDeque<Piece>) -> Vec<Done> {
        let Some(helper) = self.helpers.get_mut(id).and_then(Option::take) else {
            return Vec::new();
        };
        self.stopped += 1;
        gloo::console::warn!(format!("decoding helper {id} stopped: {why}"));
        let mut done = Vec::new();
        for (_, piece) in helper.in_flight.into_iter().rev() {
            if piece.alone {
                self.blamed += piece.files.len();
                done.push(piece.blamed(&stopped_on_file(why)));
                continue;
            }
            let Piece {
                chunk,
                offset,
                files,
                ..
            } = piece;
            for (k, file) in files.into_iter().enumerate().rev() {
                waiting.push_front(Piece {
                    chunk,
                    offset: offset + k,
                    files: vec![file],
                    alone: true,
                });
            }
        }
        // Dropping the old helper terminated its worker; a new one takes its slot.
        if self.restarts < MAX_RESTARTS {
            self.restarts += 1;
            if let Ok(helper) = self.spawn_helper(id) {
                self.helpers[id] = Some(helper);
            }
        }
        done
    }
}

/// The reason given for a file that stopped a decoding helper while decoding it alone.
pub fn stopped_on_file(why: &str) -> String {
    let why = if why.is_empty() { "no message" } else { why };
    format!(
        "the decoder stopped on this file ({why}); it is damaged or in a form the decoders cannot handle"
    )
}

/// The reason given for a file that stopped a helper along with others, when no helper is
/// left to decode it alone (the engine does not try it).
pub const NOT_RETRIED: &str = "a decoding helper stopped on a chunk holding this file, and no helper was left to decode it alone";
