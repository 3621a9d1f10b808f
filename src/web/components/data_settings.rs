//! Step 1's settings: image size, colour, DICOM window and frames, and the split.

use crate::page::protocol::Level;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::{AppContext, use_app};
use crate::data::{
    Colour, Frames, GroupBy, InputShape, SUPPORTED_SIZES, SplitConfig, WINDOW_PRESETS, Window,
};
use crate::web::state::Action;
use crate::web::worker::protocol::Job;

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
            "seed" => match crate::data::parse_seed(&value) {
                Ok(seed) => config.seed = seed,
                Err(error) => return app.notify(Level::Error, error),
            },
            "drop" => config.drop_duplicates = input.checked(),
            "group" => match GroupBy::parse(&value) {
                Ok(group_by) => config.group_by = group_by,
                Err(why) => return app.notify(Level::Error, format!("grouping {value:?}: {why}")),
            },
            _ => match parse_percent(&value) {
                Some(percent) => match field {
                    "train" => config.train = percent / 100.0,
                    "validation" => config.validation = percent / 100.0,
                    _ => config.test = percent / 100.0,
                },
                None => {
                    return app.notify(
                        Level::Error,
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
                Level::Error,
                format!(
                    "train + validation + test must be 100%, not {:.1}%",
                    sum * 100.0
                ),
            );
        }
        app.engine.send(Job::Resplit { split: config });
    })
}

/// The settings panel of the Data step: how the next load decodes, and how the data is split.
#[component]
pub fn DataSettings() -> Html {
    let app = use_app();
    let state = &app.state;
    let on_window = {
        let app = app.clone();
        Callback::from(move |event: Event| {
            let select: web_sys::HtmlSelectElement = event.target_unchecked_into();
            match Window::parse(&select.value()) {
                Ok(window) => app.dispatch(Action::SetWindow(window)),
                Err(error) => app.notify(Level::Error, error),
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
                        Level::Info,
                        format!(
                            "load the data again to use {size}x{size} (a MedMNIST file keeps its own size below {} px)",
                            crate::data::NPZ_SCALE_FROM
                        ),
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
                    Level::Info,
                    format!("load the data again to decode it in {}", colour.label()),
                );
            }
        })
    };
    let split_field = |field: &'static str| split_field(app.clone(), field);
    let split_group = split_field("group");
    let on_apply_split = apply_split(app.clone());
    let config = &state.data.split_config;
    let busy = state.data.loading.is_some();

    html! {
    <details class="settings" open=true>
        <summary>{"Image size, colour and split"}</summary>
        <div class="form-grid">
            <label>{"Image size"}
                <select onchange={on_size} aria-label="Image size" disabled={busy}>
                    for (size, note) in offered_sizes() {
                        <option value={size.to_string()} selected={size == state.data.shape.size()}>{format!("{size} x {size}{note}")}</option>
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
            <label>{"Seed"}<input type="number" min="0" max={crate::data::MAX_SEED.to_string()} step="1" value={config.seed.to_string()} onchange={split_field("seed")} /></label>
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
    }
}

/// The image sizes step 1 offers: every network's, then the larger ones only a pretrained
/// backbone is offered at (named, so nobody picks 224 px for a network trained from scratch).
fn offered_sizes() -> Vec<(u32, String)> {
    let mut sizes: Vec<(u32, String)> = SUPPORTED_SIZES
        .iter()
        .map(|&s| (s, String::new()))
        .collect();
    for backbone in crate::model::pretrained::BACKBONES {
        for &size in backbone.sizes {
            if !sizes.iter().any(|(s, _)| *s == size) {
                sizes.push((size, " (pretrained network only)".to_string()));
            }
        }
    }
    sizes.sort_by_key(|(s, _)| *s);
    sizes
}
