//! Step 3: test-set accuracy, confusion matrix, per-class metrics, calibration, errors.

use yew::prelude::*;

use super::{
    Chart, ExplanationPanel, ThresholdPanel, Thumbnail, percent, precision_recall_svg,
    reliability_svg, roc_svg, use_app,
};
use crate::evaluation::{ClassRoc, ConfidenceIntervals, Evaluation, ExplainMethod, Interval};
use crate::storage::{ModelCard, model_card_markdown};
use crate::web::platform::download;
use crate::web::protocol::ExplainTarget;
use crate::web::state::Action;
use crate::web::state::evaluate::CELL_PURPOSE;
use crate::web::worker::protocol::Job;

fn cell_color(fraction: f64) -> String {
    // White to deep blue.
    let t = fraction.clamp(0.0, 1.0);
    let r = (255.0 - t * (255.0 - 30.0)) as u8;
    let g = (255.0 - t * (255.0 - 64.0)) as u8;
    let b = (255.0 - t * (255.0 - 175.0)) as u8;
    format!(
        "background-color: rgb({r},{g},{b}); color: {}",
        if t > 0.5 { "#ffffff" } else { "#0f172a" }
    )
}

/// The confusion matrix as a heatmap of buttons.
fn confusion(app: &super::AppContext, evaluation: &Evaluation, clickable: bool) -> Html {
    let k = evaluation.classes.len();
    html! {
        <table class="confusion" data-testid="confusion-matrix" tabindex="0">
            <caption>{"Confusion matrix (rows: true class, columns: predicted class). Click a cell to see its images."}</caption>
            <thead>
                <tr><th scope="col">{"true \\ predicted"}</th>
                    for name in evaluation.classes.iter() { <th scope="col">{ name.clone() }</th> }
                </tr>
            </thead>
            <tbody>
                for t in 0..k {
                    <tr>
                        <th scope="row">{ evaluation.classes[t].clone() }</th>
                        for p in 0..k {
                            { {
                                let count = evaluation.confusion[t][p];
                                let row: usize = evaluation.confusion[t].iter().sum();
                                let fraction = if row == 0 { 0.0 } else { count as f64 / row as f64 };
                                let label = format!("true {} predicted {}: {count} images", evaluation.classes[t], evaluation.classes[p]);
                                let onclick = {
                                    let app = app.clone();
                                    Callback::from(move |_: MouseEvent| {
                                        if let Some(assessment) = &app.state.evaluate.assessment {
                                            let samples: Vec<usize> = assessment.predictions.iter().filter(|x| x.label == t && x.predicted == p).map(|x| x.sample).collect();
                                            app.engine.send(Job::Images { purpose: format!("{CELL_PURPOSE}{t},{p}"), samples });
                                        }
                                    })
                                };
                                html! {
                                    <td style={cell_color(fraction)}>
                                        <button type="button" class="cell" aria-label={label} onclick={onclick} disabled={!clickable || count == 0}>{ count }</button>
                                    </td>
                                }
                            } }
                        }
                    </tr>
                }
            </tbody>
        </table>
    }
}

fn per_class(evaluation: &Evaluation) -> Html {
    html! {
        <table class="metrics" data-testid="per-class" tabindex="0">
            <caption>{"Per-class metrics on the test set"}</caption>
            <thead><tr><th scope="col">{"Class"}</th><th scope="col">{"Precision"}</th><th scope="col">{"Recall"}</th><th scope="col">{"F1"}</th><th scope="col">{"Support"}</th></tr></thead>
            <tbody>
                for m in evaluation.per_class.iter() {
                    <tr><th scope="row">{ m.class.clone() }</th><td>{ format!("{:.4}", m.precision) }</td><td>{ format!("{:.4}", m.recall) }</td><td>{ format!("{:.4}", m.f1) }</td><td>{ m.support }</td></tr>
                }
            </tbody>
            <tfoot data-testid="averages">
                <tr><th scope="row">{"macro F1 (classes equal)"}</th><td colspan="4">{ format!("{:.4}", evaluation.macro_f1) }</td></tr>
                <tr><th scope="row">{"weighted F1 (by support)"}</th><td colspan="4" data-testid="weighted-f1">{ format!("{:.4}", evaluation.weighted_f1()) }</td></tr>
                <tr><th scope="row">{"balanced accuracy"}</th><td colspan="4" data-testid="balanced-accuracy">{ format!("{:.4}", evaluation.balanced_accuracy()) }</td></tr>
            </tfoot>
        </table>
    }
}

/// `0.9920 (0.9890-0.9947)`.
fn with_interval(interval: &Interval) -> String {
    format!(
        "{:.4} ({:.4}-{:.4})",
        interval.estimate, interval.lo, interval.hi
    )
}

/// Each class's sensitivity and specificity (Wilson intervals) and one-vs-rest AUC (stratified
/// bootstrap), with the average precision when the curves are at hand.
fn intervals_table(
    intervals: &ConfidenceIntervals,
    classes: &[String],
    curves: Option<&[ClassRoc]>,
) -> Html {
    let ap = |class: usize| {
        curves
            .and_then(|c| c.iter().find(|c| c.class == class))
            .map_or("-".to_string(), |c| format!("{:.4}", c.average_precision))
    };
    html! {
        <table class="metrics" data-testid="intervals" tabindex="0">
            <caption>{ format!("95 % confidence intervals (Wilson for proportions; AUC: stratified bootstrap, {} resamples)", intervals.resamples) }</caption>
            <thead><tr><th scope="col">{"Class"}</th><th scope="col">{"Sensitivity"}</th><th scope="col">{"Specificity"}</th><th scope="col">{"AUC"}</th><th scope="col">{"Average precision"}</th></tr></thead>
            <tbody>
                for c in intervals.per_class.iter() {
                    <tr data-class={classes.get(c.class).cloned().unwrap_or_default()}>
                        <th scope="row">{ classes.get(c.class).cloned().unwrap_or_default() }</th>
                        <td>{ with_interval(&c.sensitivity_wilson) }</td>
                        <td>{ with_interval(&c.specificity_wilson) }</td>
                        <td data-auc={c.auc.estimate.to_string()} data-lo={c.auc.lo.to_string()} data-hi={c.auc.hi.to_string()}>{ with_interval(&c.auc) }</td>
                        <td>{ ap(c.class) }</td>
                    </tr>
                }
            </tbody>
        </table>
    }
}

/// Each class's share of the test set (the precision of a random ranking).
fn prevalence(evaluation: &crate::evaluation::Evaluation) -> Vec<f64> {
    let total = evaluation.total.max(1) as f64;
    evaluation
        .per_class
        .iter()
        .map(|m| m.support as f64 / total)
        .collect()
}

/// The Evaluate step.
#[component]
pub fn EvaluateStep() -> Html {
    let app = use_app();
    let state = &app.state;
    let model = state.model.clone();
    let live = state.evaluate.assessment.clone();
    let stored = model.as_ref().and_then(|m| m.meta.test.clone());
    let evaluation = live.as_ref().map(|a| a.evaluation.clone()).or(stored);
    let calibration = live
        .as_ref()
        .map(|a| a.calibration.clone())
        .or_else(|| model.as_ref().and_then(|m| m.meta.calibration.clone()));
    let size = model
        .as_ref()
        .map_or(state.data.shape, |m| m.meta.shape())
        .size();
    let intervals = live
        .as_ref()
        .map(|a| a.intervals.clone())
        .or_else(|| model.as_ref().and_then(|m| m.meta.intervals.clone()));
    let curves = live.as_ref().map(|a| a.curves.clone());

    let card_md = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(m) = &app.state.model {
                let _ = download::download_text(
                    "model-card.md",
                    "text/markdown",
                    &model_card_markdown(&m.meta),
                );
            }
        })
    };
    let card_json = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(m) = &app.state.model {
                let json =
                    serde_json::to_string_pretty(&ModelCard::new(&m.meta)).unwrap_or_default();
                let _ = download::download_text("model-card.json", "application/json", &json);
            }
        })
    };

    let Some(evaluation) = evaluation else {
        return html! {
            <section class="step" aria-labelledby="eval-title">
                <h2 id="eval-title">{"Evaluate on the test set"}</h2>
                <p class="callout">{"Train a model (step 2) to see its accuracy, confusion matrix and errors on the held-out test images."}</p>
            </section>
        };
    };
    let class_name = |i: usize| evaluation.classes.get(i).cloned().unwrap_or_default();
    html! {
        <section class="step" aria-labelledby="eval-title">
            <h2 id="eval-title">{"Evaluate on the test set"}</h2>
            <p class="big-metric">{"Test accuracy "}<strong data-testid="test-accuracy">{ percent(evaluation.accuracy) }</strong>
                if let Some(i) = &intervals {
                    <span data-testid="accuracy-interval">{ format!(" (95 % CI {:.2}-{:.2}%)", i.accuracy_wilson.lo * 100.0, i.accuracy_wilson.hi * 100.0) }</span>
                }
                <span class="muted">{ format!(" ({} of {} test images; mean loss {:.4})", evaluation.correct, evaluation.total, evaluation.loss) }</span></p>
            if live.is_none() {
                <p class="muted">{"These are the scores recorded in the model file; load the data and train to inspect individual images."}</p>
            }
            <div class="two-col">
                { confusion(&app, &evaluation, live.is_some()) }
                { per_class(&evaluation) }
            </div>
            if let Some((t, p, images)) = state.evaluate.cell_images.clone() {
                <div class="cell-gallery" data-testid="cell-gallery">
                    <h3>{ format!("True {} predicted {}: {} images", class_name(t), class_name(p), images.len()) }
                        <button type="button" class="link" onclick={
                            let app = app.clone();
                            Callback::from(move |_| app.dispatch(Action::CloseCell))
                        }>{"close"}</button></h3>
                    <div class="thumbs">
                        for image in images.iter() {
                            <figure class="thumb-figure" key={image.sample}>
                                <Thumbnail pixels={image.pixels.clone()} size={size} alt={image.path.clone()} />
                                <figcaption class="path">{ image.path.clone() }</figcaption>
                            </figure>
                        }
                    </div>
                </div>
            }
            if live.is_some() {
                <ThresholdPanel />
            }
            if let Some(intervals) = &intervals {
                { intervals_table(intervals, &evaluation.classes, curves.as_deref()) }
            }
            if let Some(cal) = &calibration {
                <h3>{"Calibration"}</h3>
                <p data-testid="calibration">{ format!("Expected calibration error (15 bins): {:.4}. {}.",
                    cal.before.ece, capitalised(&cal.temperature_sentence())) }</p>
            }
            // The same grid as the training charts, so every chart is drawn at one scale.
            <div class="charts">
                if let Some(curves) = &curves {
                    <Chart svg={AttrValue::from(roc_svg(curves, &evaluation.classes))} name="roc" label="ROC curves, one class against the rest, on the test set" testid="roc-chart" />
                    <Chart svg={AttrValue::from(precision_recall_svg(curves, &evaluation.classes, &prevalence(&evaluation)))} name="precision-recall" label="Precision-recall curves, one class against the rest, on the test set" testid="pr-chart" />
                }
                if let Some(cal) = &calibration {
                    <Chart svg={AttrValue::from(reliability_svg(&cal.before, &cal.after))} name="reliability" label="Reliability diagram before and after temperature scaling" />
                }
            </div>
            if live.is_some() {
                <h3>{ state.evaluate.misclassified_heading() }</h3>
                if state.evaluate.misclassified.is_empty() { <p class="muted">{"None: every test image was classified correctly."}</p> }
                <div class="gallery" data-testid="misclassified">
                    for image in state.evaluate.misclassified.iter() {
                        { {
                            let prediction = live.as_ref().and_then(|a| a.predictions.iter().find(|p| p.sample == image.sample).cloned());
                            // The class the caption names (no second scoring in the engine).
                            let explain = {
                                let app = app.clone();
                                let sample = image.sample;
                                let class = prediction.as_ref().map(|p| p.predicted);
                                Callback::from(move |_: MouseEvent| app.engine.send(Job::Explain { target: ExplainTarget::Sample { sample }, class, method: ExplainMethod::GradCam }))
                            };
                            html! {
                                <figure class="thumb-figure" key={image.sample}>
                                    <Thumbnail pixels={image.pixels.clone()} size={size} alt={image.path.clone()} />
                                    <figcaption>
                                        if let Some(p) = prediction {
                                            <span>{ format!("true {} → {} ({:.1}%)", class_name(p.label), class_name(p.predicted), p.confidence * 100.0) }</span>
                                        }
                                        <button type="button" class="link" onclick={explain}>{"Why?"}</button>
                                    </figcaption>
                                </figure>
                            }
                        } }
                    }
                </div>
                if let Some(explanation) = state.predict.explanation.clone() {
                    if matches!(explanation.target, ExplainTarget::Sample { .. }) {
                        <ExplanationPanel explanation={explanation} classes={evaluation.classes.clone()} />
                    }
                }
            }
            <div class="actions">
                <button type="button" class="button" onclick={card_md} disabled={model.is_none()} data-testid="card-markdown">{"Export model card (Markdown)"}</button>
                <button type="button" class="button" onclick={card_json} disabled={model.is_none()}>{"Export model card (JSON)"}</button>
            </div>
        </section>
    }
}

/// `text` with its first letter in upper case (a sentence made of a clause).
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
