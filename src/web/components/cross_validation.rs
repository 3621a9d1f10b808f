//! Step 2's cross-validation panel: folds, keep or discard the fold models, start, progress
//! per fold (the fold's run shows in the step's charts; Pause and Stop act on it), and each
//! fold's held-out scores with their mean and standard deviation.

use crate::page::protocol::Level;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::use_app;
use crate::data::MAX_FOLDS;
use crate::evaluation::{CrossValidation, FoldScores, Spread};
use crate::web::platform::time;
use crate::web::state::Action;
use crate::web::worker::protocol::Job;

/// The panel; `running` is true while any run (training or cross-validation) is under way.
#[component]
pub fn CrossValidationPanel(props: &CrossValidationProps) -> Html {
    let app = use_app();
    let cv = app.state.train.cross_validation.clone();
    let on_folds = {
        let app = app.clone();
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            match input.value().trim().parse::<usize>() {
                Ok(k) if (3..=MAX_FOLDS).contains(&k) => app.dispatch(Action::SetFolds(k)),
                _ => app.notify(
                    Level::Error,
                    format!("folds: {:?}; use 3 to {MAX_FOLDS}", input.value()),
                ),
            }
        })
    };
    let on_keep = {
        let app = app.clone();
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            app.dispatch(Action::SetKeepFoldModels(input.checked()));
        })
    };
    let on_start = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| {
            let config = app.state.train.train_config.clone();
            if let Err(error) = config.validate() {
                return app.notify(Level::Error, error);
            }
            let cv = &app.state.train.cross_validation;
            let job = Job::CrossValidate {
                config,
                backend: app.state.train.backend_preference,
                folds: cv.folds,
                keep_models: cv.keep_models,
            };
            app.dispatch(Action::CrossValidationRequested {
                now_ms: time::now_ms(),
            });
            app.engine.send(job);
        })
    };
    let download = |fold: usize| {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| app.engine.send(Job::ExportFoldModel { fold }))
    };
    html! {
        <details class="cross-validation" open={cv.running || cv.summary.is_some()}>
            <summary><h3>{"Cross-validation"}</h3></summary>
            <p class="muted">{"Estimates how these settings do on this data: the images are divided into stratified folds (duplicates kept together); each fold is held out once while the others train (one of them validating). Mean and standard deviation over the folds."}</p>
            <div class="actions">
                <label>{"Folds "}<input type="number" min="3" max={MAX_FOLDS.to_string()} value={cv.folds.to_string()} onchange={on_folds} data-testid="cv-folds" disabled={props.running} /></label>
                <label><input type="checkbox" checked={cv.keep_models} onchange={on_keep} data-testid="cv-keep" disabled={props.running} />{" Keep each fold's model (to download)"}</label>
                <button type="button" class="button" data-testid="cv-start" onclick={on_start} disabled={props.running || !props.has_split}>{"Cross-validate"}</button>
            </div>
            if let Some(line) = cv.progress() {
                <p data-testid="cv-progress" aria-live="polite">{ line }</p>
            }
            if !cv.finished.is_empty() {
                { fold_table(&cv.finished, cv.summary.as_ref(), cv.kept, &download) }
            }
        </details>
    }
}

/// Props of [`CrossValidationPanel`].
#[derive(Properties, PartialEq)]
pub struct CrossValidationProps {
    /// A run is under way.
    pub running: bool,
    /// The data is loaded and split.
    pub has_split: bool,
}

fn fold_table(
    folds: &[FoldScores],
    summary: Option<&CrossValidation>,
    kept: bool,
    download: &dyn Fn(usize) -> Callback<MouseEvent>,
) -> Html {
    let spread = |s: Spread| format!("{:.4} ± {:.4}", s.mean, s.sd);
    html! {
        <table class="metrics" data-testid="cv-results">
            <caption>{ match summary {
                Some(s) if s.complete() => format!("{}-fold cross-validation (held-out scores)", s.k),
                Some(s) => format!("Stopped after {} of {} folds (held-out scores)", s.folds.len(), s.k),
                None => "Folds finished so far (held-out scores)".to_string(),
            } }</caption>
            <thead><tr><th scope="col">{"Fold"}</th><th scope="col">{"Images"}</th><th scope="col">{"Accuracy"}</th><th scope="col">{"Balanced accuracy"}</th><th scope="col">{"Macro F1"}</th><th scope="col">{"Macro AUC"}</th><th scope="col">{"Epochs"}</th>
                if kept { <th scope="col">{"Model"}</th> }</tr></thead>
            <tbody>
                for f in folds.iter() {
                    <tr data-accuracy={f.accuracy.to_string()}>
                        <th scope="row">{ f.fold + 1 }</th><td>{ f.images }</td><td>{ format!("{:.4}", f.accuracy) }</td><td>{ format!("{:.4}", f.balanced_accuracy) }</td><td>{ format!("{:.4}", f.macro_f1) }</td><td>{ format!("{:.4}", f.macro_auc) }</td><td>{ f.epochs }</td>
                        if kept { <td><button type="button" class="link" onclick={download(f.fold)} data-testid={format!("cv-download-{}", f.fold + 1)}>{"Download"}</button></td> }
                    </tr>
                }
            </tbody>
            if let Some(s) = summary {
                <tfoot><tr data-testid="cv-summary" data-mean={s.accuracy.mean.to_string()} data-sd={s.accuracy.sd.to_string()}>
                    <th scope="row">{"Mean ± SD"}</th><td>{ s.folds.iter().map(|f| f.images).sum::<usize>() }</td><td>{ spread(s.accuracy) }</td><td>{ spread(s.balanced_accuracy) }</td><td>{ spread(s.macro_f1) }</td><td>{ spread(s.macro_auc) }</td><td></td>
                    if kept { <td></td> }
                </tr></tfoot>
            }
        </table>
    }
}
