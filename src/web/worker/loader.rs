//! Decoding a load: the files the page reads and streams (on helper workers for large
//! loads), or the bundled sample set, with progress and cancel.

use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use futures::future::join_all;
use futures::{FutureExt, StreamExt};

use super::decoder::protocol::{
    DecoderReply, DecoderRequest, FileBytes, FileContent, prepare_chunk, unpack,
};
use super::decoder::{self, DecoderBridge};
use super::{Controls, notice, post};
use crate::data::{
    Archive, ArchiveError, ArchiveKind, ArchiveLimits, Dataset, DatasetBuilder, DecodeLimits,
    DicomOptions, InputShape, LABELS_FILE, LabelTable, LoadReport, PAGE_PIXEL_BUDGET,
    PROJECT_AFTER, PreparedImage, SkipReason, TarStream, archive_kind, check_pixel_budget,
    record_table,
};
use crate::web::bridge::{BOOT_TIMEOUT, WorkerEvent};
use crate::web::platform::{js, time};
use crate::web::protocol::Response;

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
/// engine reads): on helper workers (one per core) when there are enough files to repay
/// starting them, else here. Either way the images are added in the order they came,
/// whichever helper finishes first.
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
    let mut pool = if expected.shown() >= PARALLEL_FROM {
        DecoderPool::start(decoder::helper_count()).await
    } else {
        None
    };
    // Paths of every chunk received, by position; chunks not yet given to a helper; chunks
    // decoded but not yet added (an earlier one is still out).
    let mut paths: Vec<Vec<String>> = Vec::new();
    let mut waiting: VecDeque<(usize, Vec<FileBytes>)> = VecDeque::new();
    let mut decoded: BTreeMap<usize, Vec<Result<PreparedImage, SkipReason>>> = BTreeMap::new();
    let mut received = 0usize;
    let mut labels = Labels::default();
    let mut next_to_add = 0usize;
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
                helpers.dispatch(&mut waiting, shape, dicom);
                let idle = helpers.has_capacity();
                let turn = time::now_ms();
                futures::select! {
                    chunk = chunks.next() => incoming = Some(chunk),
                    event = helpers.events.next() => {
                        if let Some((index, outcomes)) = helpers.handle(event, &mut waiting) {
                            decoded.insert(index, outcomes);
                        }
                    }
                }
                if idle {
                    starved_ms += time::now_ms() - turn;
                }
            }
            None => match waiting.pop_front() {
                Some((index, files)) => {
                    decoded.insert(index, prepare_chunk(&files, shape, &limits));
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
                paths.push(originals);
                waiting.push_back((paths.len() - 1, files));
            }
            _ => {}
        }
        while let Some(outcomes) = decoded.remove(&next_to_add) {
            for (path, outcome) in paths[next_to_add].iter().zip(outcomes) {
                builder.add_prepared(path, outcome);
            }
            next_to_add += 1;
        }
        check_budget(&mut builder, expected.shown(), &mut reserved)?;
        progress(builder.files_seen(), expected.shown(), started, &mut last);
    }
    let total = builder.files_seen();
    let offered: Vec<String> = paths.into_iter().flatten().collect();
    if let Some(helpers) = pool.as_ref() {
        gloo::console::debug!(format!(
            "load of {total} files: {:.1} s, {} helpers decoding {:.1} s in all, helpers waiting for the page's files {:.1} s",
            (time::now_ms() - started) / 1e3,
            helpers.started,
            helpers.decode_ms / 1e3,
            starved_ms / 1e3
        ));
    }
    if let Some(helpers) = pool.as_ref()
        && helpers.lost > 0
    {
        notice(
            "warning",
            format!(
                "{} of {} decoding helper(s) stopped during the load; their files were decoded by the others",
                helpers.lost, helpers.started
            ),
        );
    }
    let (mut dataset, mut report) = builder.finish();
    if let Some(table) = &labels.table {
        record_table(table, &mut dataset, &mut report, &offered);
    }
    Ok((dataset, report))
}

/// A load's label table: `labels.csv` at the top of the folder (the page sends it first), and
/// the files routed by it.
#[derive(Default)]
struct Labels {
    table: Option<LabelTable>,
}

impl Labels {
    /// The real paths of `files` and the files as the decoders get them: the table read (and
    /// counted as seen) if it is among them, each file under `<label>/` when there is a table
    /// (or skipped as not listed).
    fn route(
        &mut self,
        files: Vec<FileBytes>,
        builder: &mut DatasetBuilder,
    ) -> Result<(Vec<String>, Vec<FileBytes>), LoadStopped> {
        let mut originals = Vec::with_capacity(files.len());
        let mut routed = Vec::with_capacity(files.len());
        for mut file in files {
            if file.path == LABELS_FILE && self.table.is_none() {
                if let FileContent::Bytes(bytes) = &file.content {
                    let table =
                        LabelTable::parse(&String::from_utf8_lossy(bytes)).map_err(LoadStopped)?;
                    self.table = Some(table);
                    builder.note_table_file();
                    continue;
                }
            }
            originals.push(file.path.clone());
            if let Some(table) = &self.table {
                match table.routed(&file.path) {
                    Some(path) => file.path = path,
                    None => file.content = FileContent::Skipped(SkipReason::NotInTable),
                }
            }
            routed.push(file);
        }
        Ok((originals, routed))
    }
}

/// Files of an archive sent to the decoding at once.
const ARCHIVE_CHUNK: usize = 256;

/// Decodes the files of an archive the page sent whole (`.zip`, `.tar`, `.tar.gz`): the engine
/// reads it (a `.tar.gz` is inflated as it goes) and streams its files into [`load_files`] as
/// the page streams a folder's, so they are decoded on the helpers with the same report while
/// the rest is still being read. One file read instead of tens of thousands is what makes a
/// large data set quick to open in a browser.
pub async fn load_archive(
    name: &str,
    bytes: &[u8],
    shape: InputShape,
    dicom: DicomOptions,
    controls: &Rc<Controls>,
) -> Result<(Dataset, LoadReport), LoadStopped> {
    const LOAD: u32 = 1;
    let stopped = |error: ArchiveError| LoadStopped(format!("{name}: {error}"));
    let kind = archive_kind(bytes)
        .ok_or(ArchiveError::NotAnArchive)
        .map_err(stopped)?;
    // A few chunks in flight: the archive is read no faster than the helpers decode it.
    let (mut sender, mut receiver) = futures::channel::mpsc::channel::<PageChunk>(4);
    let expected;
    let failure: Cell<Option<ArchiveError>> = Cell::new(None);
    let loaded = if kind == ArchiveKind::Zip {
        let archive = Archive::open(bytes, ArchiveLimits::default()).map_err(stopped)?;
        expected = Expected::known(archive.len());
        // A label table goes first, so that every image is routed by it.
        let mut order: Vec<usize> = (0..archive.len()).collect();
        order.sort_by_key(|&i| archive.path(i) != LABELS_FILE);
        let files = order.into_iter().map(|i| {
            let content = match archive.read(i) {
                Ok(bytes) => FileContent::Bytes(bytes.into_owned()),
                Err(reason) => FileContent::Skipped(reason),
            };
            Ok(FileBytes {
                path: archive.path(i).to_string(),
                content,
            })
        });
        let produce = send_all(files, &mut sender, controls, &failure, |_| ());
        futures::join!(
            produce,
            load_files(LOAD, &expected, shape, dicom, controls, &mut receiver)
        )
        .1
    } else {
        let mut stream = TarStream::open(bytes, ArchiveLimits::default()).map_err(stopped)?;
        expected = Expected::default();
        let files = std::iter::from_fn(|| stream.next_file()).map(|file| {
            file.map(|(path, data)| FileBytes {
                path,
                content: match data {
                    Ok(bytes) => FileContent::Bytes(bytes),
                    Err(reason) => FileContent::Skipped(reason),
                },
            })
        });
        let produce = send_all(files, &mut sender, controls, &failure, |sent| {
            expected.estimate.set(sent);
        });
        let produce = async {
            let sent = produce.await;
            expected.known.set(Some(sent));
        };
        futures::join!(
            produce,
            load_files(LOAD, &expected, shape, dicom, controls, &mut receiver)
        )
        .1
    };
    match failure.take() {
        Some(error) => Err(stopped(error)),
        None => loaded,
    }
}

/// Sends `files` to a load in chunks, waiting for room; stops at the first archive error
/// (kept in `failure`) or when the load is cancelled. Returns how many files it sent, telling
/// `sent` after each chunk.
async fn send_all(
    files: impl Iterator<Item = Result<FileBytes, ArchiveError>>,
    sender: &mut futures::channel::mpsc::Sender<PageChunk>,
    controls: &Rc<Controls>,
    failure: &Cell<Option<ArchiveError>>,
    sent: impl Fn(usize),
) -> usize {
    use futures::SinkExt;
    let mut chunk = Vec::with_capacity(ARCHIVE_CHUNK);
    let (mut count, mut failed) = (0, false);
    for file in files {
        if controls.cancel_load.get() {
            break;
        }
        match file {
            Ok(file) => chunk.push(file),
            Err(error) => {
                failure.set(Some(error));
                failed = true;
                break;
            }
        }
        if chunk.len() == ARCHIVE_CHUNK {
            count += chunk.len();
            if sender.send((1, std::mem::take(&mut chunk))).await.is_err() {
                return count;
            }
            sent(count);
        }
    }
    if !chunk.is_empty() && !failed {
        count += chunk.len();
        let _ = sender.send((1, chunk)).await;
        sent(count);
    }
    sender.close_channel();
    count
}

/// Below this many files the engine decodes them itself (starting helpers costs ~0.1 s).
const PARALLEL_FROM: usize = 512;

/// Chunks a helper holds at once: one decoding while the next one's files are read.
const IN_FLIGHT: usize = 2;

/// What a helper's bridge passes on to the load: the helper's number and its event.
type HelperEvent = (usize, WorkerEvent<DecoderReply>);

/// One decoding helper worker (terminated when dropped).
struct Helper {
    bridge: DecoderBridge,
    /// Chunks sent and not yet answered, kept to be sent again if the helper stops.
    in_flight: Vec<(usize, Vec<FileBytes>)>,
}

/// The decoding helpers of one load; dropped (and the workers terminated) when it ends.
struct DecoderPool {
    helpers: Vec<Option<Helper>>,
    events: futures::channel::mpsc::UnboundedReceiver<HelperEvent>,
    started: usize,
    lost: usize,
    /// Time the helpers spent decoding, summed.
    decode_ms: f64,
}

impl DecoderPool {
    /// Starts `count` helpers and waits (up to [`BOOT_TIMEOUT`]) until they have loaded the
    /// module; `None` if none could start (the engine then decodes alone).
    async fn start(count: usize) -> Option<Self> {
        let (sender, events) = futures::channel::mpsc::unbounded();
        let mut helpers = Vec::new();
        for id in 0..count {
            let sender = sender.clone();
            let bridge = match decoder::spawn(move |event| {
                let _ = sender.unbounded_send((id, event));
            }) {
                Ok(bridge) => bridge,
                Err(error) => {
                    notice("info", format!("decoding in the engine alone: {error}"));
                    break;
                }
            };
            helpers.push(Some(Helper {
                bridge,
                in_flight: Vec::new(),
            }));
        }
        drop(sender);
        let started = helpers.len();
        let mut pool = Self {
            helpers,
            events,
            started,
            lost: 0,
            decode_ms: 0.0,
        };
        let mut timeout = Box::pin(time::sleep(BOOT_TIMEOUT).fuse());
        while pool.ready_count() < pool.live_count() {
            let event = futures::select! {
                event = pool.events.next() => event,
                _ = timeout => None,
            };
            match event {
                // The bridge marks a helper booted; other messages before that are ignored.
                Some((
                    _,
                    WorkerEvent::Booted | WorkerEvent::Message(_) | WorkerEvent::Unreadable(_),
                )) => {}
                Some((id, WorkerEvent::Crashed(_))) => pool.drop_helper(id),
                None => break,
            }
        }
        // Helpers that did not boot in time are not waited for.
        for id in 0..pool.helpers.len() {
            if pool.helpers[id]
                .as_ref()
                .is_some_and(|h| !h.bridge.is_booted())
            {
                pool.drop_helper(id);
            }
        }
        if pool.lost > 0 {
            notice(
                "info",
                format!(
                    "{} of {} decoding helper(s) did not start; decoding with the others",
                    pool.lost, pool.started
                ),
            );
        }
        pool.started = pool.live_count();
        pool.lost = 0;
        (!pool.is_empty()).then_some(pool)
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

    fn is_empty(&self) -> bool {
        self.live_count() == 0
    }

    /// Whether some helper could take another chunk.
    fn has_capacity(&self) -> bool {
        self.helpers
            .iter()
            .flatten()
            .any(|h| h.in_flight.len() < IN_FLIGHT)
    }

    fn drop_helper(&mut self, id: usize) {
        // Dropping the helper terminates its worker.
        if self.helpers.get_mut(id).and_then(Option::take).is_some() {
            self.lost += 1;
        }
    }

    /// Gives every helper work until it holds [`IN_FLIGHT`] chunks or nothing is waiting.
    fn dispatch(
        &mut self,
        waiting: &mut VecDeque<(usize, Vec<FileBytes>)>,
        shape: InputShape,
        dicom: DicomOptions,
    ) {
        for id in 0..self.helpers.len() {
            while let Some(helper) = self.helpers[id].as_mut() {
                if helper.in_flight.len() >= IN_FLIGHT {
                    break;
                }
                let Some((index, files)) = waiting.pop_front() else {
                    return;
                };
                let request = DecoderRequest::Decode {
                    chunk: index,
                    shape,
                    dicom,
                    files,
                };
                let sent = helper.bridge.post(&request);
                let DecoderRequest::Decode { files, .. } = request;
                helper.in_flight.push((index, files));
                if sent.is_err() {
                    self.fail(id, waiting);
                }
            }
        }
    }

    /// A helper stopped: its chunks go back to the front of the queue, in order.
    fn fail(&mut self, id: usize, waiting: &mut VecDeque<(usize, Vec<FileBytes>)>) {
        if let Some(helper) = self.helpers.get_mut(id).and_then(Option::as_mut) {
            for chunk in helper.in_flight.drain(..).rev() {
                waiting.push_front(chunk);
            }
        }
        self.drop_helper(id);
    }

    /// Acts on one event from the helpers: the decoded chunk `(index, outcomes)`, or nothing
    /// (a helper stopped, or answered what cannot be read: its chunks go back in the queue).
    fn handle(
        &mut self,
        event: Option<HelperEvent>,
        waiting: &mut VecDeque<(usize, Vec<FileBytes>)>,
    ) -> Option<(usize, Vec<Result<PreparedImage, SkipReason>>)> {
        let (id, packed) = match event {
            Some((id, WorkerEvent::Message(DecoderReply::Decoded(packed)))) => (id, packed),
            Some((_, WorkerEvent::Booted | WorkerEvent::Message(DecoderReply::Ready))) => {
                return None;
            }
            Some((id, WorkerEvent::Unreadable(_) | WorkerEvent::Crashed(_))) => {
                self.fail(id, waiting);
                return None;
            }
            None => {
                for id in 0..self.helpers.len() {
                    self.fail(id, waiting);
                }
                return None;
            }
        };
        let index = packed.chunk;
        self.decode_ms += packed.decode_ms;
        let helper = self.helpers.get_mut(id).and_then(Option::as_mut)?;
        let position = helper.in_flight.iter().position(|(i, _)| *i == index)?;
        let (_, files) = helper.in_flight.remove(position);
        match unpack(packed).filter(|outcomes| outcomes.len() == files.len()) {
            Some(outcomes) => Some((index, outcomes)),
            None => {
                // Put the chunk back and retire the helper that garbled it.
                helper.in_flight.push((index, files));
                self.fail(id, waiting);
                None
            }
        }
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
