//! Step 1: load a folder, see what is in it, split it.

use crate::page::protocol::Level;
use web_sys::{DragEvent, HtmlInputElement};
use yew::prelude::*;

use super::{AppContext, DataSettings, Thumbnail, bytes, on_picked_file, use_app};
use crate::web::hooks::asset_url;
use crate::web::platform::{files, time};
use crate::web::protocol::InputFile;
use crate::web::state::Action;
use crate::web::worker::protocol::{Control, Job};

/// URL of the bundled sample's file list.
pub const SAMPLE_INDEX: &str = "sample/index.json";

/// A MedMNIST `.npz` file picked: its bytes go to the engine, which loads it with its own
/// split, at its own size unless a pretrained network's size is chosen.
fn open_npz(app: AppContext) -> Callback<Event> {
    on_picked_file(app, |app, name, bytes| {
        app.dispatch(Action::LoadStarted);
        app.engine.send(Job::LoadNpz {
            name,
            bytes,
            split: app.state.data.split_config.clone(),
            colour: app.state.data.shape.colour(),
            size: app.state.data.shape.size(),
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
                app.notify(Level::Warning, "the folder is empty");
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
                    Err(files::PickError::Cancelled) => {}
                    Err(files::PickError::Failed(error)) => app.notify(
                        Level::Error,
                        format!("the folder could not be opened: {error}"),
                    ),
                }
                for (path, error) in errors {
                    app.notify(Level::Warning, format!("{path}: {error}"));
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
                    app.notify(
                        Level::Warning,
                        format!("{path}: could not be read ({error})"),
                    );
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
    let on_cancel = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| app.engine.send(Control::CancelLoad))
    };
    let on_manifest = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| app.engine.send(Job::ManifestCsv))
    };
    let loading = state.data.loading;
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
                    <label class="button" for="npz-input" title="Loads with the file's own split and image size; with Image size at 128 px or more (a pretrained network's), its images are scaled to that size, kept at their own size in memory">{"Open a MedMNIST file (.npz)…"}</label>
                    <input id="npz-input" class="file-input" type="file" accept=".npz"
                        data-testid="npz-input" aria-label="Open a MedMNIST file (.npz)" onchange={on_npz} disabled={busy} />
                    <label class="button" for="archive-input">{"Open an archive (.zip, .tar, .tar.gz)…"}</label>
                    <input id="archive-input" class="file-input" type="file" accept=".zip,.tar,.gz,.tgz"
                        data-testid="archive-input" aria-label="Open an archive of class folders (.zip, .tar, .tar.gz)" onchange={on_archive} disabled={busy} />
                </div>
            </div>

            <DataSettings />

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
