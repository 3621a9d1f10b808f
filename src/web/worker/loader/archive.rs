//! An archive the page sent whole (`.zip`, `.tar`, `.tar.gz`), read by the engine and
//! streamed into the same decoding as a folder.

use std::cell::Cell;
use std::rc::Rc;

use super::{Expected, LoadStopped, PageChunk, load_files};
use crate::data::{
    Archive, ArchiveError, ArchiveKind, ArchiveLimits, Dataset, DicomOptions, InputShape,
    LABELS_FILE, LoadReport, TarStream, archive_kind,
};
use crate::web::protocol::{FileBytes, FileContent};
use crate::web::worker::Controls;

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
