//! Step 1: load a folder, see what is in it, split it.

use web_sys::{DragEvent, HtmlInputElement};
use yew::prelude::*;

use super::{AppContext, Thumbnail, bytes, on_picked_file, use_app};
use crate::data::{
    Colour, Frames, GroupBy, InputShape, SUPPORTED_SIZES, SplitConfig, WINDOW_PRESETS, Window,
};
use crate::web::hooks::asset_url;
use crate::web::platform::{files, time};
use crate::web::protocol::InputFile;
use crate::web::state::Action;
use crate::web::worker::protocol::{Control, Job};

/// URL of the bundled sample's file list.
pub const SAMPLE_INDEX: &str = "sample/index.json";

fn parse_percent(text: &str) -> Option<f64> {
    text.trim()
        .trim_end_matches('%')
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
}

/// The grouping keys offered: value (as `GroupBy::parse` reads it) and label.
const GROUP_CHOICES: [(&str, &str); 8] = [
    ("none", "duplicates only"),
    ("folder:1", "patient folder (class/patient/image)"),
    (
        "folder:2",
        "second folder level (class/patient/study/image)",
    ),
    ("prefix:_", "file name before \"_\" (p042_3.png)"),
    ("prefix:-", "file name before \"-\" (p042-3.png)"),
    ("dicom:patient", "DICOM Patient ID"),
    ("dicom:study", "DICOM Study Instance UID"),
    ("csv:group", "the group column of labels.csv"),
];

/// A split setting's field changed: parse it, or say what is wrong with it.
fn split_field(app: AppContext, field: &'static str) -> Callback<Event> {
    Callback::from(move |event: Event| {
        let input: HtmlInputElement = event.target_unchecked_into();
        let mut config: SplitConfig = app.state.data.split_config.clone();
        let value = input.value();
        match field {
            "seed" => match value.trim().parse::<u64>() {
                Ok(seed) if seed < (1u64 << 53) => config.seed = seed,
                _ => {
                    return app.notify(
                        "error",
                        format!("seed {value:?} must be a whole number below 2^53"),
                    );
                }
            },
            "drop" => config.drop_duplicates = input.checked(),
            "group" => match GroupBy::parse(&value) {
                Ok(group_by) => config.group_by = group_by,
                Err(why) => return app.notify("error", format!("grouping {value:?}: {why}")),
            },
            _ => match parse_percent(&value) {
                Some(percent) => match field {
                    "train" => config.train = percent / 100.0,
                    "validation" => config.validation = percent / 100.0,
                    _ => config.test = percent / 100.0,
                },
                None => {
                    return app.notify(
                        "error",
                        format!("{field} percentage {value:?} is not a number"),
                    );
                }
            },
        }
        app.dispatch(Action::SetSplit(config));
    })
}

/// Apply the edited split (the three fractions must make 100 %).
fn apply_split(app: AppContext) -> Callback<MouseEvent> {
    Callback::from(move |_: MouseEvent| {
        let config = app.state.data.split_config.clone();
        let sum = config.train + config.validation + config.test;
        if (sum - 1.0).abs() > 1e-3 {
            return app.notify(
                "error",
                format!(
                    "train + validation + test must be 100%, not {:.1}%",
                    sum * 100.0
                ),
            );
        }
        app.engine.send(Job::Resplit { split: config });
    })
}

/// A MedMNIST `.npz` file picked: its bytes go to the engine, which loads it at its own size
/// with its own split.
fn open_npz(app: AppContext) -> Callback<Event> {
    on_picked_file(app, |app, name, bytes| {
        app.dispatch(Action::LoadStarted);
        app.engine.send(Job::LoadNpz {
            name,
            bytes,
            split: app.state.data.split_config.clone(),
            colour: app.state.data.shape.colour(),
        });
    })
}

/// An archive picked (`.zip`, `.tar`, `.tar.gz`): its bytes go to the engine, which decodes
/// its files like a folder's at the chosen size.
fn open_archive(app: AppContext) -> Callback<Event> {
    on_picked_file(app, |app, name, bytes| {
        app.dispatch(Action::LoadStarted);
        app.engine.send(Job::LoadArchive {
            name,
            bytes,
            shape: app.state.data.shape,
            split: app.state.data.split_config.clone(),
            dicom: app.state.data.dicom,
        });
    })
}

/// The Data step.
#[component]
pub fn DataStep() -> Html {
    let app = use_app();
    let state = &app.state;
    let dragging = use_state(|| false);

    let start_load = {
        let app = app.clone();
        Callback::from(move |files: Vec<InputFile>| {
            if files.is_empty() {
                app.notify("warning", "the folder is empty");
                return;
            }
            app.dispatch(Action::LoadStarted);
            app.engine.load_files(
                files,
                app.state.data.shape,
                app.state.data.split_config.clone(),
                app.state.data.dicom,
            );
        })
    };
    let on_folder = {
        let start_load = start_load.clone();
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            if let Some(list) = input.files() {
                start_load.emit(files::from_file_list(&list));
            }
            input.set_value("");
        })
    };
    let on_picker = {
        let app = app.clone();
        let start_load = start_load.clone();
        Callback::from(move |_: MouseEvent| {
            let app = app.clone();
            let start_load = start_load.clone();
            yew::platform::spawn_local(async move {
                let mut errors = Vec::new();
                match files::pick_directory(&mut errors).await {
                    Ok(list) => start_load.emit(list),
                    Err(error) if error.contains("AbortError") => {}
                    Err(error) => {
                        app.notify("error", format!("the folder could not be opened: {error}"))
                    }
                }
                for (path, error) in errors {
                    app.notify("warning", format!("{path}: {error}"));
                }
            });
        })
    };
    let on_drop = {
        let app = app.clone();
        let start_load = start_load.clone();
        let dragging = dragging.clone();
        Callback::from(move |event: DragEvent| {
            event.prevent_default();
            dragging.set(false);
            let Some(transfer) = event.data_transfer() else {
                return;
            };
            let (entries, loose) = files::drop_entries(&transfer);
            let app = app.clone();
            let start_load = start_load.clone();
            yew::platform::spawn_local(async move {
                let mut errors = Vec::new();
                let list = files::walk_drop(entries, loose, &mut errors).await;
                for (path, error) in errors {
                    app.notify("warning", format!("{path}: could not be read ({error})"));
                }
                start_load.emit(list);
            });
        })
    };
    let on_drag_over = {
        let dragging = dragging.clone();
        Callback::from(move |event: DragEvent| {
            event.prevent_default();
            dragging.set(true);
        })
    };
    let on_drag_leave = {
        let dragging = dragging.clone();
        Callback::from(move |_: DragEvent| dragging.set(false))
    };
    let on_sample = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| {
            app.dispatch(Action::LoadStarted);
            app.engine.send(Job::LoadSample {
                shape: app.state.data.shape,
                split: app.state.data.split_config.clone(),
                index_url: asset_url(SAMPLE_INDEX),
            });
        })
    };
    let on_npz = open_npz(app.clone());
    let on_archive = open_archive(app.clone());
    let on_window = {
        let app = app.clone();
        Callback::from(move |event: Event| {
            let select: web_sys::HtmlSelectElement = event.target_unchecked_into();
            match Window::parse(&select.value()) {
                Ok(window) => app.dispatch(Action::SetWindow(window)),
                Err(error) => app.notify("error", error),
            }
        })
    };
    let on_frames = {
        let app = app.clone();
        Callback::from(move |event: Event| {
            let select: web_sys::HtmlSelectElement = event.target_unchecked_into();
            if let Ok(frames) = Frames::parse(&select.value()) {
                app.dispatch(Action::SetFrames(frames));
            }
        })
    };
    let on_cancel = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| app.engine.send(Control::CancelLoad))
    };
    let on_size = {
        let app = app.clone();
        Callback::from(move |event: Event| {
            let input: web_sys::HtmlSelectElement = event.target_unchecked_into();
            if let Ok(size) = input.value().parse::<u32>() {
                let colour = app.state.data.shape.colour();
                app.dispatch(Action::SetImageSize(
                    InputShape::square(size).with_colour(colour),
                ));
                if app.state.data.loaded.is_some() {
                    app.notify(
                        "info",
                        format!("load the folder again to decode it at {size}x{size}"),
                    );
                }
            }
        })
    };
    let on_colour = {
        let app = app.clone();
        Callback::from(move |event: Event| {
            let select: web_sys::HtmlSelectElement = event.target_unchecked_into();
            let colour = Colour::parse(&select.value()).unwrap_or_default();
            app.dispatch(Action::SetImageSize(
                app.state.data.shape.with_colour(colour),
            ));
            if app.state.data.loaded.is_some() {
                app.notify(
                    "info",
                    format!("load the data again to decode it in {}", colour.label()),
                );
            }
        })
    };
    let split_field = |field: &'static str| split_field(app.clone(), field);
    let split_group = split_field("group");
    let on_apply_split = apply_split(app.clone());
    let on_manifest = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| app.engine.send(Job::ManifestCsv))
    };
    let loading = state.data.loading;
    let config = &state.data.split_config;
    let busy = loading.is_some();

    html! {
        <section class="step" aria-labelledby="data-title">
            <h2 id="data-title">{"Load a folder of images"}</h2>
            <p class="lead">{"Choose a folder with one subfolder per class (for MedNIST: AbdomenCT, BreastMRI, CXR, ChestCT, Hand, HeadCT). The images are decoded in this browser; nothing is uploaded."}</p>
            <div class={classes!("drop-zone", (*dragging).then_some("dragging"))}
                ondrop={on_drop} ondragover={on_drag_over} ondragleave={on_drag_leave}>
                <p class="drop-hint">{"Drop a folder here, or"}</p>
                <div class="actions">
                    <label class="button primary" for="folder-input">
                        {"Choose folder…"}
                    </label>
                    <input id="folder-input" class="file-input" type="file" webkitdirectory=true multiple=true
                        data-testid="folder-input" aria-label="Choose a folder of images" onchange={on_folder} disabled={busy} />
                    if files::has_directory_picker() {
                        <button type="button" class="button" onclick={on_picker} disabled={busy}>{"Open folder (file system access)…"}</button>
                    }
                    <button type="button" class="button" data-testid="sample-data" onclick={on_sample} disabled={busy}>{"Try sample data"}</button>
                    <label class="button" for="npz-input">{"Open a MedMNIST file (.npz)…"}</label>
                    <input id="npz-input" class="file-input" type="file" accept=".npz"
                        data-testid="npz-input" aria-label="Open a MedMNIST file (.npz)" onchange={on_npz} disabled={busy} />
                    <label class="button" for="archive-input">{"Open an archive (.zip, .tar, .tar.gz)…"}</label>
                    <input id="archive-input" class="file-input" type="file" accept=".zip,.tar,.gz,.tgz"
                        data-testid="archive-input" aria-label="Open an archive of class folders (.zip, .tar, .tar.gz)" onchange={on_archive} disabled={busy} />
                </div>
            </div>

            <details class="settings" open=true>
                <summary>{"Image size, colour and split"}</summary>
                <div class="form-grid">
                    <label>{"Image size"}
                        <select onchange={on_size} aria-label="Image size" disabled={busy}>
                            for size in SUPPORTED_SIZES {
                                <option value={size.to_string()} selected={size == state.data.shape.size()}>{format!("{size} x {size}")}</option>
                            }
                        </select>
                    </label>
                    <label>{"Colour"}
                        <select onchange={on_colour} data-testid="colour" aria-label="Colour" disabled={busy}
                            title="Grayscale: colour files become luma. Colour (RGB): the networks take three channels, and gray files repeat their value. A model records it; applies to the next load">
                            for colour in [Colour::Grayscale, Colour::Rgb] {
                                <option value={colour.name()} selected={colour == state.data.shape.colour()}>{ colour.label() }</option>
                            }
                        </select>
                    </label>
                    <label>{"DICOM window"}
                        <select onchange={on_window} data-testid="dicom-window" aria-label="DICOM window" disabled={busy}
                            title="How DICOM intensities (after rescale slope/intercept) become 8-bit: the file's own window, the image's min-max, or a CT window in Hounsfield units; applies to the next load">
                            <option value="from-file" selected={state.data.dicom.window == Window::FromFile}>{"from the file"}</option>
                            <option value="min-max" selected={state.data.dicom.window == Window::MinMax}>{"min-max"}</option>
                            for (name, center, width) in WINDOW_PRESETS {
                                <option value={name} selected={state.data.dicom.window.name() == name}>{ format!("{name} ({center}/{width})") }</option>
                            }
                        </select>
                    </label>
                    <label>{"DICOM frames"}
                        <select onchange={on_frames} data-testid="dicom-frames" aria-label="DICOM frames" disabled={busy}
                            title="Of a multi-frame DICOM file (a cine loop, a volume): the middle frame only, or one image per frame (a file's frames always stay in one subset); applies to the next load">
                            <option value="middle" selected={state.data.dicom.frames == Frames::Middle}>{"middle frame"}</option>
                            <option value="every" selected={state.data.dicom.frames == Frames::Every}>{"every frame"}</option>
                        </select>
                    </label>
                    <label>{"Train %"}<input type="number" min="1" max="98" step="1" value={format!("{:.0}", config.train * 100.0)} onchange={split_field("train")} /></label>
                    <label>{"Validation %"}<input type="number" min="1" max="98" step="1" value={format!("{:.0}", config.validation * 100.0)} onchange={split_field("validation")} /></label>
                    <label>{"Test %"}<input type="number" min="1" max="98" step="1" value={format!("{:.0}", config.test * 100.0)} onchange={split_field("test")} /></label>
                    <label>{"Seed"}<input type="number" min="0" step="1" value={config.seed.to_string()} onchange={split_field("seed")} /></label>
                    <label class="check"><input type="checkbox" checked={config.drop_duplicates} onchange={split_field("drop")} />{"Drop exact duplicates"}</label>
                    <label>{"Keep together"}
                        <select onchange={split_group} data-testid="group-by" title="Images of one patient (or study) never end up in two of train, validation and test, nor in two cross-validation folds">
                            for (value, label) in GROUP_CHOICES {
                                <option value={value} selected={config.group_by.name() == value}>{ label }</option>
                            }
                        </select>
                    </label>
                    <button type="button" class="button" onclick={on_apply_split} disabled={state.data.loaded.is_none() || busy}>{"Apply split"}</button>
                </div>
            </details>

            if let Some((done, total, elapsed)) = loading {
                <div class="progress-block" role="status" data-testid="load-progress">
                    <progress max={total.max(1).to_string()} value={done.to_string()} aria-label="Files decoded"></progress>
                    <span>{ load_text(done, total, elapsed) }</span>
                    <button type="button" class="button" onclick={on_cancel}>{"Cancel"}</button>
                </div>
            }

            if let Some(data) = state.data.loaded.clone() {
                <div class="report" data-testid="data-report">
                    <p class="summary">
                        { format!("{} images in {} classes from {} files, stored as {}x{} {} ({} of image data; engine memory {}; loaded in {:.1} s).",
                            data.report.images, data.report.classes.len(), data.report.files_seen, data.report.shape.size(), data.report.shape.size(), data.report.shape.colour().label(), bytes(data.memory_bytes), bytes(data.wasm_memory_bytes), data.seconds) }
                    </p>
                    if state.data.split.as_ref().is_some_and(|s| s.config.from_file) {
                        <p data-testid="split-from-file">{"Split as given in the file (its train, validation and test arrays); the settings below do not change it."}</p>
                    }
                    <table class="split-table" data-testid="split-table">
                        <caption>{"Images per class and split"}</caption>
                        <thead><tr><th scope="col">{"Class"}</th><th scope="col">{"Images"}</th><th scope="col">{"Train"}</th><th scope="col">{"Validation"}</th><th scope="col">{"Test"}</th></tr></thead>
                        <tbody>
                            for class in data.report.classes.iter() {
                                <tr key={class.name.clone()}>
                                    <th scope="row">{ class.name.clone() }</th>
                                    <td>{ class.count }</td>
                                    { split_cells(state.data.split.as_ref(), &class.name) }
                                </tr>
                            }
                        </tbody>
                    </table>
                    if let Some(labels) = &data.report.labels {
                        <p data-testid="labels-report">{ format!("Labels from labels.csv: {} rows{}.", labels.rows,
                            if labels.missing_count == 0 { String::new() } else {
                                format!("; {} rows name files that are not here: {}", labels.missing_count, labels.missing.iter().take(5).cloned().collect::<Vec<_>>().join(", "))
                            }) }</p>
                    }
                    if !data.report.dicom.is_empty() {
                        <ul class="dicom-report" data-testid="dicom-report" aria-label="DICOM files per class">
                            for d in data.report.dicom.iter() {
                                <li><strong>{ d.class.clone() }</strong>{ format!(": {}", d.describe()) }</li>
                            }
                        </ul>
                    }
                    if let Some(split) = &state.data.split {
                        if let Some(groups) = &split.groups {
                            <p data-testid="split-groups">{ groups.describe(&split.config.group_by) }</p>
                        }
                        if let Some(error) = &split.error {
                            <p class="error-text" role="alert">{ error.clone() }</p>
                        } else {
                            <p class="muted">{ format!("{} Manifest SHA-256 {}…",
                                if split.config.from_file { "The file's own split.".to_string() } else { format!("Stratified by class, seed {}, duplicates kept together.", split.config.seed) },
                                split.manifest_sha256.clone().unwrap_or_default().chars().take(16).collect::<String>()) }
                                {" "}<button type="button" class="link" onclick={on_manifest}>{"Download manifest (CSV)"}</button>
                            </p>
                        }
                    }
                    <h3>{"Samples"}</h3>
                    <div class="sample-grid">
                        for samples in data.samples.iter() {
                            <div class="sample-row" key={samples.class.clone()}>
                                <span class="sample-class">{ samples.class.clone() }</span>
                                <div class="thumbs">
                                    for (i, pixels) in samples.pixels.chunks(data.report.shape.values()).enumerate() {
                                        <Thumbnail key={i} pixels={pixels.to_vec()} size={data.report.shape.size()} alt={format!("{} sample {}", samples.class, i + 1)} />
                                    }
                                </div>
                            </div>
                        }
                    </div>
                    <details data-testid="skipped-files">
                        <summary>{ format!("Skipped files: {}", data.report.skipped.len()) }</summary>
                        if data.report.skipped.is_empty() {
                            <p class="muted">{"Every file was used."}</p>
                        } else {
                            <table class="compact">
                                <thead><tr><th scope="col">{"File"}</th><th scope="col">{"Reason"}</th></tr></thead>
                                <tbody>
                                    for file in data.report.skipped.iter().take(500) {
                                        <tr><td class="path">{ file.path.clone() }</td><td>{ file.message.clone() }</td></tr>
                                    }
                                </tbody>
                            </table>
                            if data.report.skipped.len() > 500 { <p class="muted">{ format!("… and {} more", data.report.skipped.len() - 500) }</p> }
                        }
                    </details>
                    <details data-testid="duplicates">
                        <summary>{ format!("Exact duplicates: {} groups, {} redundant files", data.report.duplicate_groups.len(), data.report.redundant_files) }</summary>
                        <p class="muted">{"Byte-identical files are always put in the same split, so no test image has a twin in training."}</p>
                        <ul class="compact">
                            for group in data.report.duplicate_groups.iter().take(100) {
                                <li key={group.sha256.clone()}>{ format!("{} files ({}): {}", group.paths.len(), group.classes.join(", "), group.paths.iter().take(4).cloned().collect::<Vec<_>>().join(", ")) }
                                    if group.paths.len() > 4 { {" …"} }
                                </li>
                            }
                        </ul>
                    </details>
                    <div class="next"><button type="button" class="button primary" onclick={
                        let app = app.clone();
                        Callback::from(move |_| app.dispatch(Action::Show(crate::web::state::Step::Train)))
                    }>{"Next: train →"}</button></div>
                </div>
            }
        </section>
    }
}

fn split_cells(split: Option<&crate::web::protocol::SplitView>, class: &str) -> Html {
    match split.and_then(|s| s.counts.iter().find(|c| c.class == class)) {
        Some(c) => html! { <><td>{ c.train }</td><td>{ c.validation }</td><td>{ c.test }</td></> },
        None => html! { <><td>{"–"}</td><td>{"–"}</td><td>{"–"}</td></> },
    }
}

fn load_text(done: usize, total: usize, elapsed_ms: f64) -> String {
    if total == 0 {
        return "reading the folder…".into();
    }
    let seconds = elapsed_ms / 1000.0;
    let rate = if seconds > 0.0 {
        done as f64 / seconds
    } else {
        0.0
    };
    let left = if rate > 0.0 {
        (total - done) as f64 / rate
    } else {
        f64::NAN
    };
    let _ = time::now_ms;
    if left.is_finite() {
        format!("{done} / {total} files · {rate:.0} files/s · about {left:.0} s left")
    } else {
        format!("{done} / {total} files")
    }
}
