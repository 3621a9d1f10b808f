//! The whole reducer: which parts an action changes, and what stays shared.

use super::evaluate::tests::{assessment, image};
use super::predict::tests::{heatmap, row};
use super::train::tests::{batch, epoch};
use super::*;
use crate::data::{InputShape, LoadReport};
use crate::model::{ModelConfig, Preset};
use crate::page::protocol::{ClassSamples, DataView, ExplainTarget, GpuReport, SplitView};

/// A split with the default settings and nothing in it.
fn plain_split() -> SplitView {
    SplitView {
        config: SplitConfig::default(),
        counts: Vec::new(),
        error: None,
        manifest_sha256: None,
        groups: None,
    }
}

fn engine(state: AppState, response: Response) -> AppState {
    reduce(state, Action::Engine(response))
}

/// A state with everything the page can hold: data with samples, a trained and assessed
/// model, predictions and a heatmap, training under way.
fn full_state() -> AppState {
    let mut state = AppState::default();
    let data = DataView {
        report: LoadReport {
            files_seen: 2,
            images: 2,
            shape: InputShape::square(4),
            ..LoadReport::default()
        },
        samples: vec![ClassSamples {
            class: "a".into(),
            pixels: vec![7; 32],
            count: 2,
        }],
        memory_bytes: 32.0,
        wasm_memory_bytes: 1e6,
        seconds: 0.5,
    };
    let split = plain_split();
    state = engine(state, Response::Loaded { data, split });
    state = engine(
        state,
        Response::TrainingDone {
            assessment: Box::new(assessment()),
            misclassified: vec![image(1)],
            wasm_memory_bytes: 2e6,
        },
    );
    state = engine(
        state,
        Response::Predictions {
            results: vec![row("x.png")],
        },
    );
    state = engine(
        state,
        Response::Explanation {
            target: ExplainTarget::Upload { index: 0 },
            heatmap: heatmap(),
            pixels: vec![3; 16],
        },
    );
    state = reduce(
        state,
        Action::TrainingRequested {
            now_ms: 0.0,
            resume: false,
        },
    );
    state
}

fn meta() -> ModelMeta {
    ModelMeta {
        format_version: 1,
        app_version: "test".into(),
        burn_version: "test".into(),
        model: ModelConfig::new(Preset::Seed, 2, InputShape::square(32)),
        classes: vec!["a".into(), "b".into()],
        input: InputShape::square(32),
        training: None,
        data: None,
        history: vec![epoch(1), epoch(2)],
        callback_events: Vec::new(),
        backend: None,
        resume: None,
        test: None,
        calibration: None,
        intervals: None,
        cross_validation: None,
        window: crate::data::Window::default(),
        frames: crate::data::Frames::default(),
    }
}

/// The messages on screen, oldest first.
fn on_screen(state: &AppState) -> Vec<&str> {
    state
        .notices
        .notices
        .iter()
        .map(|n| n.message.as_str())
        .collect()
}

#[test]
fn a_batch_event_copies_only_the_training_part() {
    let before = full_state();
    let after = engine(
        before.clone(),
        Response::Training {
            event: batch(1, 1, 3),
        },
    );
    // No pixel buffer is copied: the parts holding them are the same allocations.
    assert!(Rc::ptr_eq(&before.data, &after.data));
    assert!(Rc::ptr_eq(&before.evaluate, &after.evaluate));
    assert!(Rc::ptr_eq(&before.predict, &after.predict));
    assert!(Rc::ptr_eq(&before.notices, &after.notices));
    // The training part is new, and the old state is untouched.
    assert!(!Rc::ptr_eq(&before.train, &after.train));
    assert_eq!(before.train.batches.len(), 0);
    assert_eq!(after.train.batches.len(), 1);
    assert_eq!(after.train.status, TrainingStatus::Running);
    assert_eq!(after.version, before.version + 1);
    // The samples really are there to be shared.
    assert_eq!(
        after.data.loaded.as_ref().unwrap().samples[0].pixels.len(),
        32
    );
    assert_eq!(after.evaluate.misclassified.len(), 1);
    assert!(after.predict.explanation.is_some());
}

#[test]
fn a_training_notice_goes_to_the_notices_only() {
    let before = full_state();
    let after = engine(
        before.clone(),
        Response::Training {
            event: TrainingEvent::Notice {
                message: "loss is rising".into(),
            },
        },
    );
    assert!(Rc::ptr_eq(&before.train, &after.train));
    let last = after.notices.notices.last().unwrap();
    assert_eq!(
        (last.level.as_str(), last.message.as_str()),
        ("warning", "loss is rising")
    );
}

/// The word that the head was trained first is information, not a warning.
#[test]
fn the_head_trained_first_is_told_as_information() {
    let before = full_state();
    let after = engine(
        before.clone(),
        Response::Training {
            event: TrainingEvent::HeadTrained {
                message: "the new head was trained first".into(),
            },
        },
    );
    assert!(Rc::ptr_eq(&before.train, &after.train));
    let last = after.notices.notices.last().unwrap();
    assert_eq!(
        (last.level.as_str(), last.message.as_str()),
        ("info", "the new head was trained first")
    );
}

/// The engine's word that a run of 2 epochs began, on `replicas` replicas.
fn started(replicas: usize) -> Response {
    Response::Training {
        event: TrainingEvent::Started {
            first_epoch: 1,
            epochs: 2,
            batches: 3,
            train_images: 100,
            validation_images: 20,
            parameters: 1000,
            replicas,
        },
    }
}

/// A training helper lost mid-run: the page warns, and what it says of the run ("2 cores")
/// follows, so that it does not claim a second core the run no longer has.
#[test]
fn a_lost_replica_is_a_warning_and_the_run_trains_on_one_core() {
    let started = engine(full_state(), started(2));
    assert_eq!(started.train.replicas, 2);
    let lost = engine(
        started,
        Response::Training {
            event: TrainingEvent::ReplicaLost {
                message: "the second training replica failed".into(),
            },
        },
    );
    assert_eq!(lost.train.replicas, 1);
    let last = lost.notices.notices.last().unwrap();
    assert_eq!(
        (last.level.as_str(), last.message.as_str()),
        ("warning", "the second training replica failed")
    );
}

#[test]
fn loading_data_clears_the_assessment_and_records_engine_memory() {
    let state = full_state();
    assert!(state.evaluate.assessment.is_some());
    assert_eq!(state.train.engine_memory, 2e6);
    let messages = on_screen(&state);
    assert_eq!(
        messages,
        ["loaded 2 images in 0 classes (0 files skipped) in 0.5 s"]
    );
    let data = state.data.loaded.as_ref().unwrap().as_ref().clone();
    let split = state.data.split.clone().unwrap();
    let state = engine(state, Response::Loaded { data, split });
    assert_eq!(*state.evaluate, EvaluateState::default());
    assert_eq!(state.train.engine_memory, 1e6);
}

#[test]
fn a_bundled_model_shows_its_history_and_says_so() {
    let state = engine(
        full_state(),
        Response::ModelReady {
            meta: Box::new(meta()),
            source: ModelSource::Bundled,
            file_bytes: 100,
        },
    );
    assert_eq!(state.train.epochs.len(), 2);
    assert_eq!(
        state.notices.notices.last().unwrap().message,
        "using the ready model (trained on the full MedNIST): seed preset, 2 classes"
    );
    assert_eq!(
        state.model.as_ref().map(|m| m.source),
        Some(ModelSource::Bundled)
    );
    // A model trained here keeps the run's history, adds no message, and withdraws the one
    // that named the ready model (it is no longer the model in use); other messages stay.
    let state = engine(
        state,
        Response::Notice {
            level: Level::Info,
            message: "an unrelated message".into(),
        },
    );
    let trained = || Response::ModelReady {
        meta: Box::new(ModelMeta {
            history: Vec::new(),
            ..meta()
        }),
        source: ModelSource::Trained,
        file_bytes: 100,
    };
    let before = state.clone();
    let state = engine(state, trained());
    assert!(Rc::ptr_eq(&before.train, &state.train));
    let messages = on_screen(&state);
    let loaded = "loaded 2 images in 0 classes (0 files skipped) in 0.5 s";
    assert_eq!(messages, [loaded, "an unrelated message"]);
    // A second trained model finds nothing to withdraw and leaves the messages as they are.
    let before = state.clone();
    let state = engine(state, trained());
    assert!(Rc::ptr_eq(&before.notices, &state.notices));
    // A model file after it is named, and replaces nothing else.
    let state = engine(
        state,
        Response::ModelReady {
            meta: Box::new(meta()),
            source: ModelSource::File,
            file_bytes: 100,
        },
    );
    let messages = on_screen(&state);
    assert_eq!(
        messages,
        [
            loaded,
            "an unrelated message",
            "using the model file: seed preset, 2 classes"
        ]
    );
}

#[test]
fn a_lost_gpu_device_is_said_in_the_header_until_a_reload() {
    let gpu = GpuReport {
        available: true,
        vendor: "google".into(),
        architecture: "swiftshader".into(),
        software: true,
        ..GpuReport::default()
    };
    let state = engine(full_state(), Response::Ready { gpu });
    let header = |state: &AppState| state.notices.gpu.as_ref().map(GpuReport::label);
    assert_eq!(
        header(&state).as_deref(),
        Some("WebGPU: google swiftshader (software)")
    );
    let state = engine(state, Response::GpuLost);
    assert_eq!(
        header(&state).as_deref(),
        Some("CPU (the WebGPU device was lost)")
    );
    let report = state.notices.gpu.clone().unwrap();
    assert!(!report.available && report.problem.unwrap().contains("until it is reloaded"));
}

#[test]
fn a_crash_stops_the_run_and_the_load_and_says_why() {
    let mut state = reduce(full_state(), Action::LoadStarted);
    state = engine(
        state,
        Response::Ready {
            gpu: GpuReport::default(),
        },
    );
    state = reduce(
        state,
        Action::TrainingRequested {
            now_ms: 0.0,
            resume: false,
        },
    );
    assert!(state.data.loaded.is_some());
    state = engine(
        state,
        Response::PredictProgress {
            done: 16,
            total: 40,
        },
    );
    assert_eq!(state.predict.progress, Some((16, 40)));
    state = reduce(state, Action::Crashed("the engine stopped".into()));
    assert_eq!(
        state.predict.progress, None,
        "a batch the engine will not end"
    );
    assert_eq!(state.train.status, TrainingStatus::Error);
    assert_eq!(state.data.loading, None);
    assert!(
        state.data.loaded.is_none(),
        "the engine's data set went with it"
    );
    assert_eq!(
        state.notices.engine_crashed.as_deref(),
        Some("the engine stopped")
    );
    assert!(state.notices.engine_ready);
}

#[test]
fn cell_images_open_and_close_and_other_images_are_ignored() {
    let state = full_state();
    let before = state.clone();
    let state = engine(
        state,
        Response::Images {
            purpose: "samples".into(),
            images: vec![image(5)],
        },
    );
    assert!(Rc::ptr_eq(&before.evaluate, &state.evaluate));
    let state = engine(
        state,
        Response::Images {
            purpose: "cell:0,1".into(),
            images: vec![image(5)],
        },
    );
    assert_eq!(
        state.evaluate.cell_images.as_ref().map(|c| (c.0, c.1)),
        Some((0, 1))
    );
    let state = reduce(state, Action::CloseCell);
    assert_eq!(state.evaluate.cell_images, None);
    let state = reduce(state, Action::Show(Step::Predict));
    assert_eq!(state.step, Step::Predict);
}

#[test]
fn imbalanced_data_gets_a_warning_that_proposes_class_weighting() {
    use crate::data::ClassCount;
    let report = |counts: [usize; 2]| DataView {
        report: LoadReport {
            files_seen: counts[0] + counts[1],
            images: counts[0] + counts[1],
            shape: InputShape::square(4),
            classes: vec![
                ClassCount {
                    name: "normal".into(),
                    count: counts[0],
                },
                ClassCount {
                    name: "pneumonia".into(),
                    count: counts[1],
                },
            ],
            ..LoadReport::default()
        },
        samples: Vec::new(),
        memory_bytes: 0.0,
        wasm_memory_bytes: 0.0,
        seconds: 0.1,
    };
    let split = plain_split();
    let warnings = |state: &AppState| -> Vec<String> {
        state
            .notices
            .notices
            .iter()
            .filter(|n| n.level == Level::Warning)
            .map(|n| n.message.clone())
            .collect()
    };
    // 3 to 1 exactly is not flagged; 100 to 30 is.
    let even = engine(
        AppState::default(),
        Response::Loaded {
            data: report([30, 90]),
            split: split.clone(),
        },
    );
    assert!(warnings(&even).is_empty(), "{:?}", warnings(&even));
    let skewed = engine(
        AppState::default(),
        Response::Loaded {
            data: report([30, 100]),
            split,
        },
    );
    assert_eq!(
        warnings(&skewed),
        [
            "the classes are imbalanced: pneumonia has 100 images, normal only 30 (3.3 to 1); consider class weighting \"balanced\" in the training settings"
        ]
    );
}

#[test]
fn a_cross_validation_runs_fold_by_fold_and_ends_with_its_summary() {
    use crate::evaluation::{CrossValidation, FoldScores};
    use crate::session::FoldEvent;
    let fold = |fold: usize, accuracy: f64| FoldScores {
        fold,
        images: 20,
        accuracy,
        balanced_accuracy: accuracy,
        macro_f1: accuracy,
        macro_auc: 0.95,
        epochs: 2,
    };
    let mut state = reduce(AppState::default(), Action::SetFolds(3));
    state = reduce(state, Action::SetKeepFoldModels(true));
    state = reduce(state, Action::CrossValidationRequested { now_ms: 1.0 });
    assert_eq!(state.train.status, TrainingStatus::Loading);
    assert!(state.train.cross_validation.running);
    let started = FoldEvent::Started {
        fold: 0,
        k: 3,
        train: 40,
        validation: 20,
        held_out: 20,
    };
    state = engine(state, Response::Fold { event: started });
    assert!(
        state
            .train
            .cross_validation
            .progress()
            .unwrap()
            .starts_with("Fold 1 of 3")
    );
    let before = state.evaluate.clone();
    state = engine(
        state,
        Response::Fold {
            event: FoldEvent::Finished(fold(0, 0.8)),
        },
    );
    assert!(
        Rc::ptr_eq(&before, &state.evaluate),
        "a fold leaves the Evaluate step alone"
    );
    let summary = CrossValidation::new(3, 42, vec![fold(0, 0.8), fold(1, 0.9), fold(2, 1.0)]);
    state = engine(
        state,
        Response::CrossValidated {
            summary: Box::new(summary.clone()),
            kept: true,
        },
    );
    let cv = &state.train.cross_validation;
    assert_eq!(state.train.status, TrainingStatus::Done);
    assert!(!cv.running && cv.kept && cv.last_run);
    assert_eq!(cv.finished.len(), 3);
    assert!((cv.summary.as_ref().unwrap().accuracy.mean - 0.9).abs() < 1e-12);
    let last = &state.notices.notices.last().unwrap().message;
    assert!(
        last.starts_with("cross-validation finished: 3-fold: accuracy 0.9000 ± 0.1000"),
        "{last}"
    );
    // A training run afterwards is not a cross-validation.
    state = reduce(
        state,
        Action::TrainingRequested {
            now_ms: 2.0,
            resume: false,
        },
    );
    assert!(!state.train.cross_validation.last_run);
}

#[test]
fn a_download_shows_until_it_completes_and_a_run_or_failure_clears_it() {
    let download = |received, total| Response::Download {
        what: "the weights".into(),
        received,
        total,
    };
    let state = engine(full_state(), download(0, 100));
    let shown = state.train.download.clone().unwrap();
    assert_eq!((shown.received, shown.total), (0, 100));
    assert_eq!(shown.what, "the weights");
    // Only the training part changes with each report.
    let later = engine(state.clone(), download(60, 100));
    assert!(Rc::ptr_eq(&state.data, &later.data));
    assert_eq!(later.train.download.as_ref().unwrap().received, 60);
    // The last report (all received) clears the line, as does the run's start or a failure.
    assert_eq!(
        engine(later.clone(), download(100, 100)).train.download,
        None
    );
    let started = engine(later.clone(), started(1));
    assert_eq!(started.train.download, None);
    let failed = engine(
        later,
        Response::TrainingFailed {
            message: "the weights could not be downloaded".into(),
        },
    );
    assert_eq!(failed.train.download, None);
}

#[test]
fn a_run_stopped_before_its_first_epoch_goes_back_to_idle_and_keeps_the_model() {
    let state = full_state();
    let model_before = state.predict.clone();
    let features = engine(
        state,
        Response::Training {
            event: TrainingEvent::Features {
                done: 64,
                total: 50_000,
                seconds: 8.0,
            },
        },
    );
    assert!(features.train.features.is_some());
    let stopped = engine(
        features,
        Response::TrainingStopped {
            message: crate::session::STOPPED_BEFORE_AN_EPOCH.into(),
        },
    );
    assert_eq!(stopped.train.status, TrainingStatus::Idle);
    assert_eq!(stopped.train.features, None);
    assert!(Rc::ptr_eq(&model_before, &stopped.predict));
    let notice = stopped.notices.notices.last().unwrap();
    assert_eq!(notice.level, Level::Info);
    assert!(
        notice.message.contains("nothing was trained"),
        "{}",
        notice.message
    );
}

#[test]
fn an_estimate_shows_until_a_setting_the_backend_or_the_split_changes() {
    use crate::training::{Rates, RunEstimate, Workload};
    let estimate = RunEstimate::project(
        Workload {
            epochs: 5,
            batches: 4,
            train: 120,
            validation: 40,
            test: 60,
            cached_features: false,
            head_first: false,
            saves_per_epoch: 0,
            adapt_images: 0,
        },
        Rates {
            batch_seconds: Some(2.0),
            inference_images_per_second: 20.0,
            timed_batches: 2,
            checkpoint_seconds: 0.0,
            lost_replica: None,
        },
    );
    let answered = |state: AppState| {
        let measuring = reduce(state, Action::EstimateRequested);
        assert_eq!(measuring.train.estimate, EstimateView::Measuring);
        engine(
            measuring,
            Response::Estimated {
                estimate: Box::new(estimate.clone()),
                backend: "CPU".into(),
                replicas: 2,
            },
        )
    };
    let ready = answered(full_state());
    assert!(
        matches!(&ready.train.estimate, EstimateView::Ready { estimate, replicas: 2, .. } if estimate.seconds == 53.0)
    );
    // The same settings again (a select set to what it shows): still valid.
    let config = ready.train.train_config.clone();
    let same = reduce(ready.clone(), Action::SetTrainConfig(config.clone()));
    assert_ne!(same.train.estimate, EstimateView::None);
    // Another epoch count, another backend, a new split: stale, dropped.
    let more_epochs = TrainingConfig {
        epochs: config.epochs + 1,
        ..config
    };
    let changed = reduce(ready.clone(), Action::SetTrainConfig(more_epochs));
    assert_eq!(changed.train.estimate, EstimateView::None);
    let backend = reduce(
        ready.clone(),
        Action::SetBackend(BackendPreference::CpuOneCore),
    );
    assert_eq!(backend.train.estimate, EstimateView::None);
    let split = plain_split();
    let resplit = engine(ready, Response::SplitChanged { split });
    assert_eq!(resplit.train.estimate, EstimateView::None);
    // A failure is said where the estimate would be.
    let failed = engine(
        reduce(full_state(), Action::EstimateRequested),
        Response::EstimateFailed {
            message: "the estimate was stopped".into(),
        },
    );
    assert_eq!(
        failed.train.estimate,
        EstimateView::Failed("the estimate was stopped".into())
    );
}

/// A state holding a model with a resume point after epoch 3, classes "a" and "b".
fn with_checkpoint(state: AppState) -> AppState {
    let resume = crate::training::ResumeState {
        epochs_completed: 3,
        learning_rate: 1e-3,
        callbacks: crate::training::CallbackStates {
            early_stopping: None,
            reduce_lr: None,
            checkpoint: None,
        },
    };
    engine(
        state,
        Response::ModelReady {
            meta: Box::new(ModelMeta {
                resume: Some(resume),
                ..meta()
            }),
            source: ModelSource::Trained,
            file_bytes: 100,
        },
    )
}

/// Data of `classes` loaded (two images each).
fn load(state: AppState, classes: &[&str]) -> AppState {
    let report = LoadReport {
        shape: InputShape::square(32),
        classes: classes
            .iter()
            .map(|c| crate::data::ClassCount {
                name: (*c).into(),
                count: 2,
            })
            .collect(),
        ..LoadReport::default()
    };
    let data = DataView {
        report,
        samples: Vec::new(),
        memory_bytes: 0.0,
        wasm_memory_bytes: 0.0,
        seconds: 0.1,
    };
    engine(
        state,
        Response::Loaded {
            data,
            split: plain_split(),
        },
    )
}

#[test]
fn resume_is_offered_only_for_data_with_the_models_classes() {
    // After a reload, before any data: offered (the button waits for data).
    let state = with_checkpoint(AppState::default());
    assert_eq!(state.resumable_after(), Some(3));
    assert_eq!(load(state.clone(), &["a", "b"]).resumable_after(), Some(3));
    // Another data set (other names, another order, another count) cannot resume it.
    assert_eq!(load(state.clone(), &["x", "y"]).resumable_after(), None);
    assert_eq!(load(state.clone(), &["b", "a"]).resumable_after(), None);
    assert_eq!(load(state, &["a", "b", "c"]).resumable_after(), None);
    // A model without a resume point offers nothing.
    let plain = engine(
        load(AppState::default(), &["a", "b"]),
        Response::ModelReady {
            meta: Box::new(meta()),
            source: ModelSource::Bundled,
            file_bytes: 100,
        },
    );
    assert_eq!(plain.resumable_after(), None);
}
