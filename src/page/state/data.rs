//! Step 1's state: the load in progress, the loaded data set's report and samples, the split
//! and the settings being edited.

use crate::page::protocol::Level;
use std::rc::Rc;

use crate::data::{DicomOptions, InputShape, SplitConfig};
use crate::page::protocol::{DataView, SplitView};

/// What the Data step shows.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DataState {
    /// Load in progress: (done, total, elapsed ms).
    pub loading: Option<(usize, usize, f64)>,
    /// The loaded data set. Behind its own `Rc`: its sample images are the largest thing the
    /// page holds, and a progress or split change must not copy them.
    pub loaded: Option<Rc<DataView>>,
    /// Current split.
    pub split: Option<SplitView>,
    /// Split settings being edited.
    pub split_config: SplitConfig,
    /// The image shape chosen for the next load.
    pub shape: InputShape,
    /// How the next load decodes DICOM files (window, frames).
    pub dicom: DicomOptions,
}

impl DataState {
    /// A load began (the count comes with the first progress report).
    pub fn started(&mut self) {
        self.loading = Some((0, 0, 0.0));
    }

    /// Load progress.
    pub fn progress(&mut self, done: usize, total: usize, elapsed_ms: f64) {
        self.loading = Some((done, total, elapsed_ms));
    }

    /// The load stopped (cancelled or failed): the previous data set stays.
    pub fn stopped(&mut self) {
        self.loading = None;
    }

    /// The engine died: the data set it held went with it, so the page stops showing it (the
    /// restarted engine would refuse to train on it) and the settings stay for the next load.
    pub fn lost(&mut self) {
        self.loading = None;
        self.loaded = None;
        self.split = None;
    }

    /// A data set arrived with its split. Returns the messages to show, in order: why the
    /// split failed, then what was loaded.
    pub fn loaded(&mut self, data: DataView, split: SplitView) -> Vec<(Level, String)> {
        let mut messages = Vec::new();
        self.loading = None;
        self.shape = data.report.shape;
        self.split_config = split.config.clone();
        if let Some(error) = &split.error {
            messages.push((Level::Warning, error.clone()));
        }
        if data.report.images > 0 {
            messages.push((
                Level::Info,
                format!(
                    "loaded {} images in {} classes ({} files skipped) in {:.1} s",
                    data.report.images,
                    data.report.classes.len(),
                    data.report.skipped.len(),
                    data.seconds
                ),
            ));
        }
        if let Some(warning) = data.report.imbalance_warning() {
            messages.push((Level::Warning, warning));
        }
        self.loaded = Some(Rc::new(data));
        self.split = Some(split);
        messages
    }

    /// A new split. Returns why it failed, if it did.
    pub fn split_changed(&mut self, split: SplitView) -> Option<String> {
        let error = split.error.clone();
        self.split_config = split.config.clone();
        self.split = Some(split);
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ClassCount, LoadReport};

    fn view(images: usize) -> DataView {
        DataView {
            report: LoadReport {
                files_seen: images + 1,
                images,
                shape: InputShape::square(64),
                classes: vec![ClassCount {
                    name: "Hand".into(),
                    count: images,
                }],
                ..LoadReport::default()
            },
            samples: Vec::new(),
            memory_bytes: 0.0,
            wasm_memory_bytes: 0.0,
            seconds: 1.5,
        }
    }

    fn split(error: Option<&str>) -> SplitView {
        SplitView {
            config: SplitConfig {
                seed: 7,
                ..SplitConfig::default()
            },
            counts: Vec::new(),
            error: error.map(str::to_string),
            manifest_sha256: None,
            groups: None,
        }
    }

    #[test]
    fn a_load_reports_progress_then_the_data_and_its_split() {
        let mut state = DataState::default();
        state.started();
        assert_eq!(state.loading, Some((0, 0, 0.0)));
        state.progress(3, 10, 5.0);
        assert_eq!(state.loading, Some((3, 10, 5.0)));
        let messages = state.loaded(view(12), split(Some("too few images to split")));
        assert_eq!(
            messages,
            [
                (Level::Warning, "too few images to split".to_string()),
                (
                    Level::Info,
                    "loaded 12 images in 1 classes (0 files skipped) in 1.5 s".to_string()
                ),
            ]
        );
        assert_eq!(state.loading, None);
        assert_eq!(state.shape, InputShape::square(64));
        assert_eq!(state.split_config.seed, 7);
        assert_eq!(state.loaded.as_ref().map(|d| d.report.images), Some(12));
    }

    #[test]
    fn an_empty_load_says_nothing_and_a_resplit_keeps_the_data() {
        let mut state = DataState::default();
        assert!(state.loaded(view(0), split(None)).is_empty());
        let data = state.loaded.clone().unwrap();
        assert_eq!(
            state
                .split_changed(split(Some("no test images")))
                .as_deref(),
            Some("no test images")
        );
        assert!(Rc::ptr_eq(state.loaded.as_ref().unwrap(), &data));
        state.started();
        state.stopped();
        assert_eq!(state.loading, None);
    }
}
