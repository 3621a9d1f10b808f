//! Step 4: classify new images with the current model.

use web_sys::{DragEvent, HtmlInputElement};
use yew::prelude::*;

use super::{ExplanationPanel, ModelPanel, Thumbnail, use_app};
use crate::data::csv_table;
use crate::evaluation::ExplainMethod;
use crate::web::platform::{download, files};
use crate::web::protocol::{ExplainTarget, PredictionRow};
use crate::web::worker::protocol::Job;

/// Predictions as CSV: file, predicted class, its probability, then one column per class.
pub fn predictions_csv(rows: &[PredictionRow], classes: &[String]) -> String {
    let header = ["file", "predicted", "probability"]
        .into_iter()
        .map(String::from)
        .chain(classes.iter().cloned())
        .chain(["error".to_string()]);
    csv_table(
        header,
        rows.iter().map(|row| {
            let best = crate::evaluation::argmax(&row.probabilities);
            let (name, p) = match row.probabilities.get(best) {
                None => (String::new(), String::new()),
                Some(p) => (
                    classes.get(best).cloned().unwrap_or_default(),
                    format!("{p:.6}"),
                ),
            };
            let per_class = (0..classes.len()).map(|i| {
                row.probabilities
                    .get(i)
                    .map(|v| format!("{v:.6}"))
                    .unwrap_or_default()
            });
            [row.name.clone(), name, p]
                .into_iter()
                .chain(per_class)
                .chain([row.error.clone().unwrap_or_default()])
                .collect::<Vec<_>>()
        }),
    )
}

/// The Predict step.
#[component]
pub fn PredictStep() -> Html {
    let app = use_app();
    let state = &app.state;
    let classes: Vec<String> = state
        .model
        .as_ref()
        .map(|m| m.meta.classes.clone())
        .unwrap_or_default();
    let size = state
        .model
        .as_ref()
        .map(|m| m.meta.shape())
        .unwrap_or_default()
        .size();
    let send = {
        let app = app.clone();
        Callback::from(move |files: Vec<crate::web::protocol::InputFile>| {
            if !files.is_empty() {
                let backend = app.state.train.backend_preference;
                app.engine.send(Job::Predict { files, backend });
            }
        })
    };
    let on_pick = {
        let send = send.clone();
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            if let Some(list) = input.files() {
                send.emit(files::plain_files(&list));
            }
            input.set_value("");
        })
    };
    let on_drop = {
        let send = send.clone();
        Callback::from(move |event: DragEvent| {
            event.prevent_default();
            let Some(transfer) = event.data_transfer() else {
                return;
            };
            let (entries, loose) = files::drop_entries(&transfer);
            let send = send.clone();
            yew::platform::spawn_local(async move {
                let mut errors = Vec::new();
                send.emit(files::walk_drop(entries, loose, &mut errors).await);
            });
        })
    };
    let on_csv = {
        let app = app.clone();
        let classes = classes.clone();
        Callback::from(move |_: MouseEvent| {
            let _ = download::download_text(
                "predictions.csv",
                "text/csv",
                &predictions_csv(&app.state.predict.predictions, &classes),
            );
        })
    };
    html! {
        <section class="step" aria-labelledby="predict-title">
            <h2 id="predict-title">{"Classify new images"}</h2>
            <ModelPanel />
            <div class="drop-zone" ondrop={on_drop} ondragover={Callback::from(|e: DragEvent| e.prevent_default())}>
                <p class="drop-hint">{"Drop images here, or"}</p>
                <label class="button primary" for="predict-input">{"Choose images…"}</label>
                <input id="predict-input" class="file-input" type="file" multiple=true accept="image/*,.dcm,application/dicom" data-testid="predict-input"
                    aria-label="Choose images to classify" onchange={on_pick} disabled={state.model.is_none()} />
            </div>
            if let Some((done, total)) = state.predict.progress {
                <div class="progress-block" role="status" data-testid="predict-progress">
                    <progress max={total.max(1).to_string()} value={done.to_string()} aria-label="Images classified"></progress>
                    <span>{ format!("Classifying: {done} of {total} files done") }</span>
                </div>
            }
            if !state.predict.predictions.is_empty() {
                <div class="results" data-testid="prediction-result" tabindex="0" role="region" aria-label="Prediction results">
                    <table class="predictions">
                        <caption>{ format!("{} images", state.predict.predictions.len()) }
                            {" "}<button type="button" class="link" onclick={on_csv}>{"Download results (CSV)"}</button></caption>
                        <thead><tr><th scope="col">{"Image"}</th><th scope="col">{"File"}</th><th scope="col">{"Top classes"}</th><th scope="col">{"Explain"}</th></tr></thead>
                        <tbody>
                            for (index, row) in state.predict.predictions.iter().enumerate() {
                                { prediction_row(&app, index, row, &classes, size) }
                            }
                        </tbody>
                    </table>
                </div>
            }
            if let Some(explanation) = state.predict.explanation.clone() {
                if matches!(explanation.target, ExplainTarget::Upload { .. }) {
                    <ExplanationPanel explanation={explanation} classes={classes.clone()} />
                }
            }
        </section>
    }
}

fn prediction_row(
    app: &super::AppContext,
    index: usize,
    row: &PredictionRow,
    classes: &[String],
    size: u32,
) -> Html {
    if let Some(error) = &row.error {
        return html! {
            <tr class="bad-file"><td>{"–"}</td><td class="path">{ row.name.clone() }</td><td colspan="2" class="error-text">{ format!("cannot classify: {error}") }</td></tr>
        };
    }
    let mut ranked: Vec<(usize, f32)> = row.probabilities.iter().cloned().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    // The class the row shows first, named, not left for the engine to score again: alone, an
    // image's near-tie could fall the other way (`predict --explain` does the same).
    let top = crate::evaluation::argmax(&row.probabilities);
    let explain = |method: ExplainMethod| {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| {
            app.engine.send(Job::Explain {
                target: ExplainTarget::Upload { index },
                class: Some(top),
                method,
            })
        })
    };
    html! {
        <tr>
            <td><Thumbnail pixels={row.pixels.clone()} size={size} alt={row.name.clone()} /></td>
            <td class="path">{ row.name.clone() }</td>
            <td>
                for (class, p) in ranked.into_iter().take(3) {
                    <div class="bar-row">
                        <span class="bar-label">{ classes.get(class).cloned().unwrap_or_default() }</span>
                        <span class="bar" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow={format!("{:.1}", p * 100.0)}
                            aria-label={format!("{} probability", classes.get(class).cloned().unwrap_or_default())}>
                            <span class="bar-fill" style={format!("width: {:.1}%", p * 100.0)}></span>
                        </span>
                        <span class="bar-value">{ format!("{:.1}%", p * 100.0) }</span>
                    </div>
                }
            </td>
            <td><button type="button" class="link" onclick={explain(ExplainMethod::GradCam)}>{"Grad-CAM"}</button>{" "}
                <button type="button" class="link" onclick={explain(ExplainMethod::Saliency)}>{"Saliency"}</button></td>
        </tr>
    }
}
