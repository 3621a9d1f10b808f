//! Step 2: settings, Start / Pause / Stop, live charts and the callback log.

use crate::page::protocol::Level;
use yew::prelude::*;

use super::settings::{Apply, number, setting};
use super::{
    CallbackFields, Chart, CrossValidationPanel, EstimatePanel, ModelPanel, accuracy_svg,
    learning_rate_svg, loss_svg, percent, use_app,
};
use crate::data::AugmentConfig;
use crate::model::{Preset, Transfer};
use crate::training::{ClassWeighting, MAX_BATCH_SIZE, Sampling, TrainingConfig};
use crate::web::platform::{download, time};
use crate::web::protocol::BackendPreference;
use crate::web::state::{Action, AppState, Step, TrainingStatus};
use crate::web::worker::protocol::{Control, Job};

/// History as CSV (`epoch,loss,accuracy,val_loss,val_accuracy,val_auc,learning_rate,seconds,
/// images_per_second`; `val_auc` is empty unless there are two classes).
pub fn history_csv(epochs: &[crate::training::EpochMetrics]) -> String {
    let header = [
        "epoch",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "val_auc",
        "learning_rate",
        "seconds",
        "images_per_second",
    ];
    crate::data::csv_table(
        header,
        epochs.iter().map(|e| {
            [
                e.epoch.to_string(),
                format!("{:.6}", e.loss),
                format!("{:.6}", e.accuracy),
                format!("{:.6}", e.val_loss),
                format!("{:.6}", e.val_accuracy),
                e.val_auc.map(|auc| format!("{auc:.6}")).unwrap_or_default(),
                format!("{:.3e}", e.learning_rate),
                format!("{:.3}", e.seconds),
                format!("{:.1}", e.images_per_second),
            ]
        }),
    )
}

/// The Train step.
#[component]
pub fn TrainStep() -> Html {
    let app = use_app();
    let state = &app.state;
    let config = state.train.train_config.clone();
    let status = state.train.status;
    let running = matches!(
        status,
        TrainingStatus::Running | TrainingStatus::Paused | TrainingStatus::Loading
    );
    let has_split = state.data.split.as_ref().is_some_and(|s| s.error.is_none())
        && state.data.loading.is_none();

    let setter = |apply: Apply| setting(&app, apply);

    // The per-epoch charts change once an epoch, not with every batch report: drawn again only
    // then (a batch redraws the loss chart alone; each chart costs milliseconds of the main
    // thread to draw and lay out).
    let accuracy_chart = use_memo(state.train.epochs.clone(), |epochs| accuracy_svg(epochs));
    let learning_rate_chart = use_memo(
        (state.train.epochs.clone(), state.train.callback_log.clone()),
        |(epochs, events)| learning_rate_svg(epochs, events),
    );
    // A select that sets one training setting from its value.
    let choose = |apply: fn(&mut TrainingConfig, &str)| {
        let app = app.clone();
        Callback::from(move |event: Event| {
            let select: web_sys::HtmlSelectElement = event.target_unchecked_into();
            let mut config = app.state.train.train_config.clone();
            apply(&mut config, &select.value());
            app.dispatch(Action::SetTrainConfig(config));
        })
    };
    let on_preset = choose(|c, v| c.preset = Preset::parse(v).unwrap_or(Preset::Seed));
    let on_transfer = choose(|c, v| c.transfer = Transfer::parse(v).unwrap_or_default());
    let on_weighting = choose(|c, v| {
        c.class_weighting = match v {
            "balanced" => ClassWeighting::Balanced,
            _ => ClassWeighting::None,
        }
    });
    let on_sampling = choose(|c, v| {
        c.sampling = match v {
            "balanced" => Sampling::Balanced,
            _ => Sampling::Shuffle,
        }
    });
    let on_backend = {
        let app = app.clone();
        Callback::from(move |event: Event| {
            let select: web_sys::HtmlSelectElement = event.target_unchecked_into();
            let preference = match select.value().as_str() {
                "webgpu" => BackendPreference::Webgpu,
                "cpu" => BackendPreference::Cpu,
                "cpu1" => BackendPreference::CpuOneCore,
                "auto-probe" => BackendPreference::AutoProbe,
                _ => BackendPreference::Auto,
            };
            app.dispatch(Action::SetBackend(preference));
        })
    };
    let start = |resume: bool| {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| {
            let config = app.state.train.train_config.clone();
            if let Err(error) = config.validate() {
                return app.notify(Level::Error, error);
            }
            app.dispatch(Action::TrainingRequested {
                now_ms: time::now_ms(),
                resume,
            });
            app.engine.send(Job::Train {
                config,
                backend: app.state.train.backend_preference,
                resume,
            });
        })
    };
    let on_pause = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| {
            if app.state.train.status == TrainingStatus::Paused {
                app.engine.send(Control::Resume);
                app.dispatch(Action::Paused(false));
            } else {
                app.engine.send(Control::Pause);
                app.dispatch(Action::Paused(true));
            }
        })
    };
    let on_stop = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| {
            app.engine.send(Control::Resume);
            app.engine.send(Control::Stop);
        })
    };
    let on_history = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| {
            let _ = download::download_text(
                "training-history.csv",
                "text/csv",
                &history_csv(&app.state.train.epochs),
            );
        })
    };
    let resumable = state.resumable_after();

    html! {
        <section class="step" aria-labelledby="train-title">
            <h2 id="train-title">{"Train a classifier"}</h2>
            if !has_split {
                <p class="callout" data-testid="train-blocked">{ why_no_training(state) }
                    {" "}<button type="button" class="link" onclick={
                        let app = app.clone();
                        Callback::from(move |_| app.dispatch(Action::Show(Step::Data)))
                    }>{"Go to Data"}</button></p>
            }
            <form class="settings-form" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
                <fieldset disabled={running}>
                    <legend>{"Model and optimiser"}</legend>
                    <div class="form-grid">
                        <label>{"Preset"}
                            <select onchange={on_preset} data-testid="preset-select">
                                for preset in Preset::ALL {
                                    <option value={preset.name()} selected={config.preset == preset} title={preset.about()}>{ preset.label() }</option>
                                }
                            </select>
                        </label>
                        if config.preset.pretrained().is_some() {
                            <label>{"Train"}
                                <select onchange={on_transfer} data-testid="transfer-select">
                                    for mode in Transfer::ALL {
                                        <option value={mode.name()} selected={config.transfer == mode} title={mode.describe()}>{ mode.label() }</option>
                                    }
                                </select>
                            </label>
                        }
                        <label>{"Epochs"}<input type="number" min="1" max="500" data-testid="epochs-input" value={config.epochs.to_string()}
                            onchange={setter(|c, i| { c.epochs = number(i, "epochs")?; Ok(()) })} /></label>
                        <label>{"Batch size"}<input type="number" min="1" max={MAX_BATCH_SIZE.to_string()} value={config.batch_size.to_string()}
                            onchange={setter(|c, i| { c.batch_size = number(i, "batch size")?; Ok(()) })} /></label>
                        <label>{"Learning rate"}<input type="number" min="0" step="any" value={config.optimizer.learning_rate.to_string()}
                            onchange={setter(|c, i| { c.optimizer.learning_rate = number(i, "learning rate")?; Ok(()) })} /></label>
                        <label>{"Adam beta_1"}<input type="number" min="0" max="0.9999" step="any" value={config.optimizer.beta_1.to_string()}
                            onchange={setter(|c, i| { c.optimizer.beta_1 = number(i, "beta_1")?; Ok(()) })} /></label>
                        <label>{"Adam beta_2"}<input type="number" min="0" max="0.99999" step="any" value={config.optimizer.beta_2.to_string()}
                            onchange={setter(|c, i| { c.optimizer.beta_2 = number(i, "beta_2")?; Ok(()) })} /></label>
                        <label>{"Weight decay"}<input type="number" min="0" step="any" value={config.optimizer.weight_decay.to_string()}
                            onchange={setter(|c, i| { c.optimizer.weight_decay = number(i, "weight decay")?; Ok(()) })} /></label>
                        <label>{"Seed"}<input type="number" min="0" step="1" data-testid="seed-input" value={config.seed.to_string()}
                            onchange={setter(|c, i| { c.seed = crate::data::parse_seed(&i.value())?; Ok(()) })} /></label>
                        <label>{"Backend"}
                            <select onchange={on_backend} data-testid="backend-select">
                                <option value="auto" selected={state.train.backend_preference == BackendPreference::Auto}>{"auto (measure)"}</option>
                                <option value="webgpu" selected={state.train.backend_preference == BackendPreference::Webgpu}>{"WebGPU"}</option>
                                <option value="cpu" selected={state.train.backend_preference == BackendPreference::Cpu}>{"CPU"}</option>
                                <option value="cpu1" selected={state.train.backend_preference == BackendPreference::CpuOneCore}>{"CPU (one core)"}</option>
                                if crate::web::platform::address::debug_mode() {
                                    <option value="auto-probe" selected={state.train.backend_preference == BackendPreference::AutoProbe}>{"auto, probing even a software adapter (test hook)"}</option>
                                }
                            </select>
                        </label>
                        <label>{"Class weighting"}
                            <select onchange={on_weighting} data-testid="class-weighting">
                                <option value="none" selected={config.class_weighting == ClassWeighting::None}>{"none"}</option>
                                <option value="balanced" selected={config.class_weighting == ClassWeighting::Balanced}>{"balanced (inverse frequency)"}</option>
                            </select>
                        </label>
                        <label>{"Sampling"}
                            <select onchange={on_sampling} data-testid="sampling">
                                <option value="shuffle" selected={config.sampling == Sampling::Shuffle}>{"every image once"}</option>
                                <option value="balanced" selected={config.sampling == Sampling::Balanced}>{"balanced (as many per class)"}</option>
                            </select>
                        </label>
                        if config.preset.pretrained().is_some() && config.transfer != Transfer::Head {
                            <label title="The pretrained layers' learning rate as a fraction of the head's (0.1: a tenth). Pretrained weights need smaller steps than a new head.">{"Backbone learning rate (× the head's)"}
                                <input type="number" min="0" max="1" step="any" data-testid="backbone-lr" value={config.backbone_lr.to_string()}
                                    onchange={setter(|c, i| { c.backbone_lr = number(i, "backbone learning rate")?; Ok(()) })} /></label>
                        }
                        if config.preset.pretrained().is_some() && config.transfer != Transfer::Head {
                            <label class="check" title="A new head starts random: trained alone first, on the frozen backbone's features (computed once), it no longer pushes the pretrained layers around while it learns. Then the layers chosen above train from there (linear probing, then fine-tuning).">
                                <input type="checkbox" checked={config.head_first} data-testid="head-first"
                                    onchange={setter(|c, i| { c.head_first = i.checked(); Ok(()) })} />
                                {"Train the new head alone first (on the frozen features), then these layers"}</label>
                        }
                        if config.preset.pretrained().is_some() && config.transfer.fits_norm_statistics() {
                            <label class="check" title="The backbone's BatchNorm layers normalise with the statistics of ImageNet photographs. Before the first epoch, a pass over up to 128 of your training images (of a larger set, as many of each class) replaces them with your images' own (AdaBN); they stay frozen after that. Off (the default): ImageNet's are kept.">
                                <input type="checkbox" checked={config.adapt_norm} data-testid="adapt-norm"
                                    onchange={setter(|c, i| { c.adapt_norm = i.checked(); Ok(()) })} />
                                {"Fit the backbone's BatchNorm statistics to these images first"}</label>
                        }
                        <label class="check"><input type="checkbox" checked={config.augmentation.is_some()}
                            onchange={setter(|c, i| { c.augmentation = i.checked().then(AugmentConfig::default); Ok(()) })} />
                            {"Augment training images (rotation ±10°, zoom ±10%, shift ±10%)"}</label>
                    </div>
                    { pretrained_notes(&config, state.data.shape.size()) }
                </fieldset>
                <CallbackFields running={running} />
            </form>

            <div class="actions train-actions">
                <button type="button" class="button primary" data-testid="start-training" onclick={start(false)} disabled={running || !has_split}>{"Start training"}</button>
                <button type="button" class="button" data-testid="pause-training" onclick={on_pause}
                    disabled={!matches!(status, TrainingStatus::Running | TrainingStatus::Paused)}>
                    { if status == TrainingStatus::Paused { "Continue" } else { "Pause" } }
                </button>
                <button type="button" class="button danger" data-testid="stop-training" onclick={on_stop} disabled={!running}>{"Stop"}</button>
                if let Some(done) = resumable {
                    <button type="button" class="button" data-testid="resume-training" onclick={start(true)} disabled={running || !has_split}
                        title="Continue from the current model's last completed epoch">{ format!("Resume after epoch {done}") }</button>
                }
                <span class="status">{"Status: "}<strong data-testid="training-status">{ status.text() }</strong></span>
            </div>
            <EstimatePanel running={running} has_split={has_split} />
            { progress(&app) }

            <div class="charts" data-testid="charts">
                <Chart svg={AttrValue::from(loss_svg(&state.train.epochs, &state.train.batches))} name="loss" label="Loss per epoch and smoothed batch loss" testid={AttrValue::from("loss-chart")} />
                <Chart svg={AttrValue::from((*accuracy_chart).clone())} name="accuracy" label="Accuracy and validation accuracy per epoch" testid={AttrValue::from("accuracy-chart")} />
                <Chart svg={AttrValue::from((*learning_rate_chart).clone())} name="learning-rate" label="Learning rate per epoch with ReduceLROnPlateau cuts" />
            </div>
            <div class="history-actions">
                <button type="button" class="link" data-testid="history-download" onclick={on_history} disabled={state.train.epochs.is_empty()}>{"Download history (CSV)"}</button>
            </div>

            <CrossValidationPanel running={running} has_split={has_split} />

            <h3>{"Callback log"}</h3>
            <ol class="log" data-testid="callback-log">
                if state.train.callback_log.is_empty() { <li class="muted">{"No callback has fired yet."}</li> }
                for event in state.train.callback_log.iter() {
                    <li><span class="badge">{ event.callback.clone() }</span>{ format!(" epoch {}: {}", event.epoch, event.message) }</li>
                }
            </ol>
            if status == TrainingStatus::Done && !state.train.cross_validation.last_run {
                <div class="next"><button type="button" class="button primary" onclick={
                    let app = app.clone();
                    Callback::from(move |_| app.dispatch(Action::Show(Step::Evaluate)))
                }>{"Next: evaluate →"}</button></div>
            }
            <ModelPanel />
        </section>
    }
}

fn progress(app: &super::AppContext) -> Html {
    let state = &app.state.train;
    if let Some(download) = &state.download {
        return html! {
            <div class="progress-block" role="status">
                <progress max={download.total.max(1).to_string()} value={download.received.to_string()} aria-label="Download progress"></progress>
                <span data-testid="download-progress">{ format!("Downloading {} from this page's server: {} of {} (once; this browser keeps them)",
                    download.what, super::bytes(download.received as f64), super::bytes(download.total as f64)) }</span>
            </div>
        };
    }
    let Some((first, last, batches)) = state.run_plan else {
        return html! {
            <div class="progress-block"><span data-testid="epoch-progress">{"Not started"}</span>
            if let Some((backend, reason)) = &state.backend_in_use { <span class="muted">{ format!("{backend}: {reason}") }</span> }</div>
        };
    };
    let (epoch, batch) = state
        .last_batch
        .as_ref()
        .map(|b| (b.epoch, b.batch))
        .unwrap_or((first, 0));
    let total_batches = (last + 1 - first) * batches;
    let done_batches = (epoch - first) * batches + batch;
    let elapsed = (time::now_ms() - state.run_started_ms) / 1000.0;
    let left = if done_batches > 0 {
        elapsed / done_batches as f64 * (total_batches - done_batches) as f64
    } else {
        f64::NAN
    };
    let rate = state
        .last_batch
        .as_ref()
        .map(|b| b.images_per_second)
        .unwrap_or(0.0);
    let last_epoch = state.epochs.last();
    html! {
        <div class="progress-block" role="status">
            <progress max={total_batches.max(1).to_string()} value={done_batches.to_string()} aria-label="Training progress"></progress>
            if let Some((done, total, seconds)) = state.features {
                <span data-testid="features-progress">{ format!("Computing the frozen backbone's features once: {done} of {total} images{} (each epoch then trains the head alone on them)",
                    if done > 0 { format!(", about {:.0} s left", seconds / done as f64 * (total - done) as f64) } else { String::new() }) }</span>
            } else {
                <span data-testid="epoch-progress">{ format!("Epoch {epoch} / {last} · batch {batch} / {batches}") }</span>
            }
            if left.is_finite() && state.status == TrainingStatus::Running { <span>{ format!("about {left:.0} s left") }</span> }
            <span>{ format!("{rate:.0} images/s") }</span>
            if let Some((backend, reason)) = &state.backend_in_use { <span title={reason.clone()} data-testid="training-backend">{ format!("on {backend}{} ({reason})", if state.replicas > 1 { format!(", {} cores", state.replicas) } else { String::new() }) }</span> }
            if let Some(e) = last_epoch { <span>{ format!("last epoch: val_accuracy {}{}", percent(e.val_accuracy), e.val_auc.map(|auc| format!(", val_auc {auc:.4}")).unwrap_or_default()) }</span> }
            if state.engine_memory > 0.0 { <span data-testid="engine-memory">{ format!("engine memory {}", super::bytes(state.engine_memory)) }</span> }
        </div>
    }
}

/// Why Start training is disabled, with what to do about it.
fn why_no_training(state: &AppState) -> String {
    let split_error = state.data.split.as_ref().and_then(|s| s.error.as_deref());
    match (split_error, state.data.loading.is_some()) {
        (_, true) => "The data is still loading.".into(),
        (Some(error), false) => format!(
            "Training needs a valid split, and this one failed: {error}. Change the data or the split settings in step 1."
        ),
        (None, false) => "Load a folder (or the sample data) in step 1 first.".into(),
    }
}

/// What a pretrained network's run does, said before it starts: which layers train, what
/// augmentation does there, where the weights come from, and whether the image size suits it.
fn pretrained_notes(config: &TrainingConfig, size: u32) -> Html {
    let Some(backbone) = config.preset.pretrained() else {
        return Html::default();
    };
    let augmentation = match (config.augmentation.is_some(), config.transfer) {
        (false, _) => "Augmentation is off: every epoch shows the network the same images.",
        (true, Transfer::Head) => {
            "Augmentation varies each training image before the frozen backbone, so the head sees new features every epoch (each epoch then runs the whole backbone)."
        }
        (true, _) => {
            "Augmentation varies each training image every epoch, before every layer that trains."
        }
    };
    let head_first = match config.head_first && config.transfer != Transfer::Head {
        true => {
            "First the new head trains alone, on the frozen backbone's features computed once (without augmentation, as a head-only run would); then these layers train from that head. "
        }
        false => "",
    };
    let norm = match (config.transfer.fits_norm_statistics(), config.adapt_norm) {
        (true, true) => {
            "Before the first epoch, its BatchNorm layers take their statistics from up to 128 of your training images instead of ImageNet's (one forward pass over them); they stay frozen after that. Measured: this helped where the classes were different kinds of scan (MedNIST: the head alone at 5, 20 and 100 images a class, test error 3.0 to 0.4 % at 5; fine-tuning at 5, level at 20) and did worse on chest radiographs with and without pneumonia, either way. Both come from one thing: features that barely vary on your images become louder (on grey images some sixty-fold). Its first epochs can score lower (below 224 px its features come out smaller than with ImageNet's statistics, a quarter at 64 px, so the new head learns more slowly at the same learning rate): give it more of them. "
        }
        (true, false) => {
            "Its BatchNorm layers keep ImageNet's statistics (the box below fits them to your images instead: that helped where the classes were different kinds of scan, MedNIST's, and did worse on chest radiographs with and without pneumonia). "
        }
        _ => "Its BatchNorm layers keep ImageNet's statistics. ",
    };
    let size_note = if backbone.sizes.contains(&size) {
        format!(
            "Images are {size} x {size} px; it was pretrained at {} px.",
            backbone.sizes[0]
        )
    } else {
        let offered: Vec<String> = backbone.sizes.iter().map(u32::to_string).collect();
        format!(
            "Images are {size} x {size} px; {} was pretrained at {} px and is offered at {} px: choose one of these under Image size in step 1 and load the data again.",
            backbone.label,
            backbone.sizes[0],
            offered.join(", ")
        )
    };
    html! {
        <div class="callout" data-testid="pretrained-notes">
            <p>{ format!("{}: {}.", backbone.label, config.transfer.describe()) }{" "}{ head_first }{ norm }{ augmentation }</p>
            <p>{ size_note }{" On a CPU, larger images take much longer: Estimate the time measures this run's first batches here and says how long the whole run will take, before you start."}</p>
            <p class="muted">{ format!("Weights: {} (licence {}), served by this page and checked against SHA-256 {}…", backbone.origin, backbone.licence, &backbone.weights_sha256[..16]) }</p>
        </div>
    }
}
