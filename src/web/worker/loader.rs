//! Decoding a load: the files the page reads and streams (on helper workers for large
//! loads), an archive (`archive`), or the bundled sample set, with progress and cancel; a
//! label table routes the files (`labels`).

use crate::page::protocol::Level;
use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use futures::future::join_all;
use futures::{FutureExt, StreamExt};

use super::decoder;
use super::decoder::pool::{DecoderPool, Done, NOT_RETRIED, Outcome, Piece};
use super::decoder::protocol::prepare_chunk;
use super::{Controls, notice, post};
use crate::data::{
    Dataset, DatasetBuilder, DecodeLimits, DicomOptions, InputShape, LoadReport, PAGE_PIXEL_BUDGET,
    PROJECT_AFTER, check_pixel_budget, record_table,
};
use crate::web::platform::{js, time};
use crate::web::protocol::FileBytes;
use crate::web::protocol::Response;

mod archive;
mod labels;

pub use archive::load_archive;
use labels::Labels;

/// A chunk of a load as the page sent it: `(load, files)`.
pub type PageChunk = (u32, Vec<FileBytes>);

/// The load number of an empty chunk that only wakes a waiting load (the page numbers its
/// loads from 1).
pub const WAKE_UP: u32 = 0;

/// Why a load ended without a data set.
pub struct LoadStopped(pub String);

fn progress(done: usize, total: usize, started: f64, last: &mut f64) {
    let now = time::now_ms();
    if now - *last > 100.0 || done == total {
        *last = now;
        post(&Response::LoadProgress {
            done,
            total,
            elapsed_ms: now - started,
        });
    }
}

fn cancelled(done: usize, total: usize) -> LoadStopped {
    LoadStopped(format!("loading cancelled after {done} of {total} files"))
}

/// How many files a load will have: known from the start (a folder, the sample set, a zip),
/// or only once an archive stream has been read to its end (an estimate meanwhile, for the
/// progress bar).
#[derive(Default)]
pub struct Expected {
    known: Cell<Option<usize>>,
    estimate: Cell<usize>,
}

impl Expected {
    /// `files` files.
    pub fn known(files: usize) -> Self {
        let expected = Self::default();
        expected.known.set(Some(files));
        expected
    }

    /// The count, or "not yet known".
    fn total(&self) -> usize {
        self.known.get().unwrap_or(usize::MAX)
    }

    /// The count, or the estimate while it is not known.
    fn shown(&self) -> usize {
        self.known.get().unwrap_or(self.estimate.get())
    }
}

/// Stops a load whose images would pass the page's budget, projected from the first
/// [`PROJECT_AFTER`] (their size is known only once decoded: images smaller than the input
/// are kept at their own size), and then sizes the pixel store once for the rest. Multi-frame
/// files can hold more images than there were files: past the budget it stops whatever the
/// projection said.
fn check_budget(
    builder: &mut DatasetBuilder,
    files: usize,
    reserved: &mut bool,
) -> Result<(), LoadStopped> {
    let images = builder.images();
    if images < PROJECT_AFTER.min(files) && builder.pixel_bytes() <= PAGE_PIXEL_BUDGET {
        return Ok(());
    }
    let decoded = builder.decoded(files);
    check_pixel_budget(decoded, builder.shape(), PAGE_PIXEL_BUDGET).map_err(LoadStopped)?;
    if !*reserved {
        *reserved = true;
        builder.reserve_pixels(decoded.projected().saturating_sub(decoded.bytes));
    }
    Ok(())
}

/// Decodes the files of load `load` as they stream in (from the page, or from an archive the
/// engine reads) on decoding helpers: one per core for a large load, one for a small one, so
/// that a file that makes a decoder panic stops a helper and not the engine
/// ([`DecoderPool`]). Only when no helper can start does the engine decode alone. Either way
/// the images are added in the order they came, whichever helper finishes first.
pub async fn load_files<S>(
    load: u32,
    expected: &Expected,
    shape: InputShape,
    dicom: DicomOptions,
    controls: &Rc<Controls>,
    chunks: &mut S,
) -> Result<(Dataset, LoadReport), LoadStopped>
where
    S: futures::Stream<Item = PageChunk> + futures::stream::FusedStream + Unpin,
{
    let started = time::now_ms();
    let mut last = 0.0;
    let limits = DecodeLimits::with_dicom(dicom);
    let mut builder = DatasetBuilder::with_limits(shape, limits);
    builder.reserve(expected.shown());
    // Whether the pixel store was sized from the first images' projection yet.
    let mut reserved = false;
    let limits = *builder.limits();
    let mut pool = start_helpers(expected.shown()).await;
    // Chunks (and pieces of chunks) not yet given to a helper.
    let mut waiting: VecDeque<Piece> = VecDeque::new();
    let mut assembly = Assembly::default();
    let mut received = 0usize;
    let mut labels = Labels::default();
    // Time a helper had room for work and nothing from the page was waiting.
    let mut starved_ms = 0.0;
    while builder.files_seen() < expected.total() {
        if controls.cancel_load.get() {
            return Err(cancelled(builder.files_seen(), expected.shown()));
        }
        // What the page sent, if this turn waited for it.
        let mut incoming: Option<Option<PageChunk>> = None;
        match pool.as_mut().filter(|helpers| !helpers.is_empty()) {
            Some(helpers) => {
                assembly.record(helpers.dispatch(&mut waiting, shape, dicom));
                let idle = helpers.has_capacity();
                let turn = time::now_ms();
                futures::select! {
                    chunk = chunks.next() => incoming = Some(chunk),
                    done = helpers.next(&mut waiting).fuse() => assembly.record(done),
                }
                if idle {
                    starved_ms += time::now_ms() - turn;
                }
            }
            None => match waiting.pop_front() {
                Some(piece) => {
                    assembly.record(vec![decode_here(piece, shape, &limits)]);
                    // Let the cancel button and the next chunks in.
                    time::yield_now().await;
                }
                None => incoming = Some(chunks.next().await),
            },
        }
        match incoming {
            Some(None) if received < expected.total() => {
                return Err(LoadStopped("the page stopped sending files".into()));
            }
            // Chunks of an earlier, cancelled load (or beyond the announced total) are dropped.
            Some(Some((chunk_load, files)))
                if chunk_load == load && received + files.len() <= expected.total() =>
            {
                received += files.len();
                let (originals, files) = labels.route(files, &mut builder)?;
                waiting.push_back(Piece::chunk(assembly.add_chunk(originals), files));
            }
            _ => {}
        }
        while let Some((paths, outcomes)) = assembly.next_complete() {
            for (path, outcome) in paths.iter().zip(outcomes) {
                builder.add_prepared(path, outcome);
            }
        }
        check_budget(&mut builder, expected.shown(), &mut reserved)?;
        progress(builder.files_seen(), expected.shown(), started, &mut last);
    }
    if let Some(helpers) = pool.as_ref() {
        report_helpers(helpers, builder.files_seen(), started, starved_ms);
    }
    let (mut dataset, mut report) = builder.finish();
    if let Some(table) = &labels.table {
        record_table(table, &mut dataset, &mut report, &assembly.offered());
    }
    Ok((dataset, report))
}

/// Below this many files one decoding helper is enough (starting one costs ~0.1 s).
const PARALLEL_FROM: usize = 512;

/// The helpers for a load of `files` files, or `None` (said in a notice) if none can start.
async fn start_helpers(files: usize) -> Option<DecoderPool> {
    let count = if files >= PARALLEL_FROM {
        decoder::helper_count()
    } else {
        1
    };
    match DecoderPool::start(count).await {
        Ok(pool) => {
            if pool.started < count {
                notice(
                    Level::Info,
                    format!(
                        "{} of {count} decoding helper(s) did not start; decoding with the others",
                        count - pool.started
                    ),
                );
            }
            Some(pool)
        }
        Err(error) => {
            notice(
                Level::Info,
                format!("decoding in the engine alone: {error}"),
            );
            None
        }
    }
}

/// Decodes files a group at a time on one helper kept for the whole job (the engine alone if
/// none starts), e.g. the images to predict: a file that stops the helper is reported, and the
/// engine goes on. The caller reads each group just before it is decoded, so that only one
/// group's bytes are held at once.
pub struct FewDecoder {
    pool: Option<DecoderPool>,
    shape: InputShape,
    dicom: DicomOptions,
}

impl FewDecoder {
    /// Starts the helper.
    pub async fn start(shape: InputShape, dicom: DicomOptions) -> Self {
        Self {
            pool: start_helpers(1).await,
            shape,
            dicom,
        }
    }

    /// What each of `files` decodes to, in order.
    pub async fn decode(&mut self, files: Vec<FileBytes>) -> Vec<Outcome> {
        let (shape, dicom) = (self.shape, self.dicom);
        let limits = DecodeLimits::with_dicom(dicom);
        let mut assembly = Assembly::default();
        let paths = files.iter().map(|file| file.path.clone()).collect();
        let mut waiting = VecDeque::from([Piece::chunk(assembly.add_chunk(paths), files)]);
        while assembly.next < assembly.paths.len() {
            match self.pool.as_mut().filter(|helpers| !helpers.is_empty()) {
                Some(helpers) => {
                    assembly.record(helpers.dispatch(&mut waiting, shape, dicom));
                    assembly.record(helpers.next(&mut waiting).await);
                }
                None => match waiting.pop_front() {
                    Some(piece) => assembly.record(vec![decode_here(piece, shape, &limits)]),
                    None => break,
                },
            }
            if let Some((_, decoded)) = assembly.next_complete() {
                return decoded;
            }
        }
        Vec::new()
    }
}

/// Decodes a piece in the engine (no helper is left): a file that already stopped a helper is
/// not tried here, where a panic would stop the engine.
fn decode_here(piece: Piece, shape: InputShape, limits: &DecodeLimits) -> Done {
    if piece.alone {
        return piece.blamed(NOT_RETRIED);
    }
    Done {
        chunk: piece.chunk,
        offset: piece.offset,
        outcomes: prepare_chunk(&piece.files, shape, limits),
    }
}

/// Logs what the helpers did, and tells the user when some stopped.
fn report_helpers(helpers: &DecoderPool, total: usize, started: f64, starved_ms: f64) {
    gloo::console::debug!(format!(
        "load of {total} files: {:.1} s, {} helpers decoding {:.1} s in all, helpers waiting for the page's files {:.1} s",
        (time::now_ms() - started) / 1e3,
        helpers.started,
        helpers.decode_ms / 1e3,
        starved_ms / 1e3
    ));
    if helpers.stopped > 0 {
        notice(
            Level::Warning,
            format!(
                "a decoding helper stopped {} time(s) during the load of {total} files and was replaced; {} file(s) that stopped one on their own are listed as unreadable, and the files decoded with them were decoded again",
                helpers.stopped, helpers.blamed
            ),
        );
    }
}

/// The chunks of a load by position, as their pieces come back decoded in any order.
#[derive(Default)]
struct Assembly {
    /// The real paths of every chunk received, by position.
    paths: Vec<Vec<String>>,
    /// Outcomes of chunks not yet complete or not yet taken, by position.
    outcomes: BTreeMap<usize, Vec<Option<Outcome>>>,
    /// The first chunk not yet taken.
    next: usize,
}

impl Assembly {
    /// A new chunk with these files' real paths; its position.
    fn add_chunk(&mut self, paths: Vec<String>) -> usize {
        self.outcomes
            .insert(self.paths.len(), paths.iter().map(|_| None).collect());
        self.paths.push(paths);
        self.paths.len() - 1
    }

    /// Puts decoded pieces in their places (a place filled twice keeps the first outcome).
    fn record(&mut self, done: Vec<Done>) {
        for piece in done {
            let Some(slots) = self.outcomes.get_mut(&piece.chunk) else {
                continue;
            };
            for (k, outcome) in piece.outcomes.into_iter().enumerate() {
                if let Some(slot @ None) = slots.get_mut(piece.offset + k) {
                    *slot = Some(outcome);
                }
            }
        }
    }

    /// The next chunk in order, once every one of its files has an outcome.
    fn next_complete(&mut self) -> Option<(&[String], Vec<Outcome>)> {
        let slots = self.outcomes.get(&self.next)?;
        if slots.iter().any(Option::is_none) {
            return None;
        }
        let outcomes = self
            .outcomes
            .remove(&self.next)?
            .into_iter()
            .flatten()
            .collect();
        self.next += 1;
        Some((&self.paths[self.next - 1], outcomes))
    }

    /// Every path offered, in order.
    fn offered(&self) -> Vec<String> {
        self.paths.iter().flatten().cloned().collect()
    }
}

/// Fetches the bundled sample set listed at `index_url` and decodes it at `shape`.
pub async fn load_sample(
    index_url: &str,
    shape: InputShape,
    controls: &Rc<Controls>,
) -> Result<(Dataset, LoadReport), LoadStopped> {
    let index = js::fetch_bytes(index_url).await.map_err(LoadStopped)?;
    let index: serde_json::Value =
        serde_json::from_slice(&index).map_err(|e| LoadStopped(format!("sample index: {e}")))?;
    let root = index["root"].as_str().unwrap_or("").to_string();
    let files: Vec<String> = index["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let total = files.len();
    let started = time::now_ms();
    let mut last = 0.0;
    let mut builder = DatasetBuilder::new(shape);
    for chunk in files.chunks(16) {
        if controls.cancel_load.get() {
            return Err(LoadStopped("loading the sample was cancelled".into()));
        }
        let fetches = chunk.iter().map(|path| {
            let url = js::resolve_url(&format!("{root}/{path}"), index_url);
            async move { js::fetch_bytes(&url).await }
        });
        for (path, bytes) in chunk.iter().zip(join_all(fetches).await) {
            match bytes {
                Ok(bytes) => {
                    builder.add_file(path, &bytes);
                }
                Err(error) => {
                    builder.add_unreadable(path, &error);
                }
            }
        }
        progress(builder.files_seen(), total, started, &mut last);
    }
    Ok(builder.finish())
}
