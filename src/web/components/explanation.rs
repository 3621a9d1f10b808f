//! A heatmap over an image: which pixels drove the prediction.

use yew::prelude::*;

use super::{Thumbnail, use_app};
use crate::evaluation::{ExplainMethod, heat_color};
use crate::web::platform::download;
use crate::web::state::ExplanationView;
use crate::web::worker::protocol::Job;

/// Props of [`ExplanationPanel`].
#[derive(Properties, PartialEq)]
pub struct ExplanationProps {
    /// What to show.
    pub explanation: ExplanationView,
    /// Class names.
    pub classes: Vec<String>,
}

/// The image, the heatmap over it, and a switch between Grad-CAM and saliency.
#[component]
pub fn ExplanationPanel(props: &ExplanationProps) -> Html {
    let app = use_app();
    let e = &props.explanation;
    let size = e.heatmap.shape.size();
    let other = match e.heatmap.method {
        ExplainMethod::GradCam => ExplainMethod::Saliency,
        ExplainMethod::Saliency => ExplainMethod::GradCam,
    };
    let switch = {
        let app = app.clone();
        let target = e.target;
        let class = e.heatmap.class;
        Callback::from(move |_: MouseEvent| {
            app.engine.send(Job::Explain {
                target,
                class: Some(class),
                method: other,
            })
        })
    };
    // The values themselves, in the command's JSON form (`predict --explain`), for a user who
    // analyses them elsewhere (and for the e2e test, which compares them with the command's).
    let on_download = {
        let heatmap = e.heatmap.clone();
        Callback::from(move |_: MouseEvent| {
            let json = serde_json::to_string(&heatmap).unwrap_or_default();
            let name = match heatmap.method {
                ExplainMethod::GradCam => "heatmap-grad-cam.json",
                ExplainMethod::Saliency => "heatmap-saliency.json",
            };
            let _ = download::download_text(name, "application/json", &json);
        })
    };
    let method_name = |m: ExplainMethod| match m {
        ExplainMethod::GradCam => "Grad-CAM (last convolutional layer)",
        ExplainMethod::Saliency => "input-gradient saliency",
    };
    let legend: String = (0..=10)
        .map(|i| {
            let c = heat_color(i as f32 / 10.0);
            format!("rgb({},{},{}) {}%", c[0], c[1], c[2], i * 10)
        })
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        <div class="explanation" data-testid="explanation">
            <h3>{ format!("Why \"{}\"? {}", props.classes.get(e.heatmap.class).cloned().unwrap_or_default(), method_name(e.heatmap.method)) }</h3>
            <div class="explanation-images">
                <figure><Thumbnail class="large" pixels={e.pixels.clone()} size={size} alt="the image" /><figcaption>{"image"}</figcaption></figure>
                <figure><Thumbnail class="large" pixels={e.pixels.clone()} size={size} heat={Some(e.heatmap.values.clone())} alt="heatmap over the image: bright areas drove the prediction" /><figcaption>{"heatmap (bright = important)"}</figcaption></figure>
            </div>
            <div class="legend" style={format!("background: linear-gradient(to right, {legend})")} aria-hidden="true"></div>
            if let Some(coarse) = e.heatmap.coarseness() {
                <p class="muted" data-testid="heatmap-coarse">{ coarse }</p>
            }
            <button type="button" class="link" onclick={switch}>{ format!("Show {}", method_name(other)) }</button>
            {" "}<button type="button" class="link" data-testid="heatmap-download" onclick={on_download}>{"Download the heatmap's values (JSON)"}</button>
        </div>
    }
}
