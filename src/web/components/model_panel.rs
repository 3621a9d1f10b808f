//! The current model: what it is, download, load a file, forget the saved one.

use yew::prelude::*;

use super::{bytes, on_picked_file, percent, use_app};
use crate::storage::EXTENSION;
use crate::web::protocol::ModelSource;
use crate::web::worker::protocol::Job;

/// Model files panel.
#[component]
pub fn ModelPanel() -> Html {
    let app = use_app();
    let model = app.state.model.clone();
    let on_download = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| app.engine.send(Job::ExportModel))
    };
    let on_onnx = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| app.engine.send(Job::ExportOnnx))
    };
    let on_upload = on_picked_file(app.clone(), |app, name, bytes| {
        app.engine.send(Job::ImportModel { name, bytes })
    });
    let on_forget = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| app.engine.send(Job::ForgetSaved))
    };
    html! {
        <section class="model-panel" aria-labelledby="model-title">
            <h3 id="model-title">{"Model"}</h3>
            if let Some(m) = model.clone() {
                <p data-testid="model-info">
                    { format!("{} preset · {} classes ({}) · {} input · {} · ",
                        m.meta.model.preset(), m.meta.classes.len(), m.meta.classes.join(", "), m.meta.shape(), bytes(m.file_bytes as f64)) }
                    { match m.source { ModelSource::Trained => "trained here", ModelSource::File => "loaded from a file", ModelSource::Bundled => "bundled ready model", ModelSource::Saved => "restored from this browser" } }
                    if let Some(test) = &m.meta.test { { format!(" · test accuracy {}", percent(test.accuracy)) } }
                    if let Some(r) = &m.meta.resume { { format!(" · {} epoch{}", r.epochs_completed, if r.epochs_completed == 1 { "" } else { "s" }) } }
                </p>
            } else {
                <p class="muted">{"No model yet."}</p>
            }
            <div class="actions">
                <button type="button" class="button" data-testid="model-download" onclick={on_download} disabled={model.is_none()}>{"Download model"}</button>
                <button type="button" class="button" data-testid="model-onnx" onclick={on_onnx} disabled={model.is_none()} title="A standard ONNX file (opset 13) for onnxruntime and other runtimes: raw 0..255 intensities in, probabilities out">{"Export ONNX"}</button>
                <label class="button" for="model-upload">{"Load model file…"}</label>
                <input id="model-upload" class="file-input" type="file" accept={format!(".{EXTENSION}")} data-testid="model-upload" aria-label="Load a model file" onchange={on_upload} />
                <button type="button" class="link" onclick={on_forget}>{"Forget the model saved in this browser"}</button>
            </div>
        </section>
    }
}
