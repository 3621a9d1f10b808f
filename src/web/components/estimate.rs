//! Step 2's time estimate: before a run starts, about how long it will take on this device,
//! measured on the run's own first batches (`crate::training::estimate`), so that a user who
//! chose a pretrained network at 224 px on a CPU knows before waiting.

use crate::page::protocol::Level;
use yew::prelude::*;

use super::use_app;
use crate::training::duration_text;
use crate::web::state::{Action, EstimateView};
use crate::web::worker::protocol::{Control, Job};

/// The panel's inputs.
#[derive(Properties, PartialEq)]
pub struct EstimateProps {
    /// A run is under way.
    pub running: bool,
    /// The data has a usable split.
    pub has_split: bool,
}

/// The Estimate button and what it found.
#[component]
pub fn EstimatePanel(props: &EstimateProps) -> Html {
    let app = use_app();
    let view = app.state.train.estimate.clone();
    let measuring = view == EstimateView::Measuring;
    let on_estimate = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| {
            let config = app.state.train.train_config.clone();
            if let Err(error) = config.validate() {
                return app.notify(Level::Error, error);
            }
            app.dispatch(Action::EstimateRequested);
            app.engine.send(Job::Estimate {
                config,
                backend: app.state.train.backend_preference,
                resume: false,
            });
        })
    };
    let on_cancel = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| app.engine.send(Control::Stop))
    };
    html! {
        <div class="estimate" data-testid="estimate-panel">
            <button type="button" class="button" data-testid="estimate-time" onclick={on_estimate}
                disabled={props.running || !props.has_split || measuring}
                title="Runs the first batches of this run on this device, then stops: nothing is trained or kept">
                {"Estimate the time"}</button>
            { match view {
                EstimateView::None => html! {},
                EstimateView::Measuring => html! {
                    <p role="status" data-testid="estimate-measuring">
                        {"Timing the first batches of this run on this device (for a pretrained network at 224 px on a CPU, a minute or two)… "}
                        <button type="button" class="link" data-testid="estimate-cancel" onclick={on_cancel}>{"Cancel"}</button>
                    </p>
                },
                EstimateView::Ready { estimate, backend, replicas } => {
                    let cores = if replicas > 1 { format!(", {replicas} cores") } else { String::new() };
                    let timed = match estimate.rates.timed_batches {
                        0 => "on the first batch alone, its warm-up included, so probably high".to_string(),
                        n => format!("on {n} batch(es) after an untimed first one"),
                    };
                    html! {
                        <div role="status">
                            <p data-testid="estimate" data-seconds={format!("{:.1}", estimate.seconds)}>
                                <strong>{ format!("About {} on {backend}{cores}", duration_text(estimate.seconds)) }</strong>
                                { format!(" for {} epoch(s), if early stopping does not end the run sooner.", estimate.workload.epochs) }
                            </p>
                            <ul class="estimate-parts">
                                for part in estimate.parts.iter() {
                                    <li>{ format!("{}: {}", part.what, duration_text(part.seconds)) }</li>
                                }
                            </ul>
                            if let Some(why) = &estimate.rates.lost_replica {
                                <p class="callout" data-testid="estimate-one-core">{ format!("Timed on one core after the training helper failed: {why}. A run starts a new helper.") }</p>
                            }
                            <p class="muted">{ format!("Measured {timed}; nothing was trained or kept.") }</p>
                        </div>
                    }
                }
                EstimateView::Failed(message) => html! {
                    <p class="callout" role="alert" data-testid="estimate-failed">{ format!("No estimate: {message}") }</p>
                },
            } }
        </div>
    }
}
