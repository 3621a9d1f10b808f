//! The Evaluate step's two-class decision threshold: a slider on P(positive), 0.5 and
//! "Youden's J on validation" presets, and the confusion matrix and metrics at that threshold
//! (with Wilson 95 % intervals), recomputed as the slider moves.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::use_app;
use crate::data::csv_table;
use crate::evaluation::{Assessment, ThresholdMetrics, wilson_interval};
use crate::page::state::evaluate::Threshold;
use crate::web::platform::download;
use crate::web::state::Action;

/// The panel (nothing unless the assessment is of two classes).
#[component]
pub fn ThresholdPanel() -> Html {
    let app = use_app();
    let evaluate = app.state.evaluate.clone();
    let (Some(assessment), Some(at)) = (evaluate.assessment.clone(), evaluate.at_threshold())
    else {
        return html! {};
    };
    let classes = assessment.evaluation.classes.clone();
    let threshold = evaluate.threshold;
    let set = |make: fn(Threshold, &str) -> Threshold| {
        let app = app.clone();
        Callback::from(move |event: Event| {
            let value = match event.target_dyn_into::<HtmlSelectElement>() {
                Some(select) => select.value(),
                None => event.target_unchecked_into::<HtmlInputElement>().value(),
            };
            let current = app.state.evaluate.threshold;
            app.dispatch(Action::SetThreshold(make(current, &value)));
        })
    };
    let on_slide = {
        let app = app.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            if let Ok(value) = input.value().parse::<f32>() {
                let positive = app.state.evaluate.threshold.positive;
                app.dispatch(Action::SetThreshold(Threshold { positive, value }));
            }
        })
    };
    let preset = |value: Option<f32>| {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(value) = value {
                let positive = app.state.evaluate.threshold.positive;
                app.dispatch(Action::SetThreshold(Threshold { positive, value }));
            }
        })
    };
    let on_scores = {
        let assessment = assessment.clone();
        Callback::from(move |_: MouseEvent| {
            let _ =
                download::download_text("test-scores.csv", "text/csv", &scores_csv(&assessment));
        })
    };
    let youden = evaluate.youden();
    let positive = classes.get(threshold.positive).cloned().unwrap_or_default();
    let negative = classes
        .get(1 - threshold.positive.min(1))
        .cloned()
        .unwrap_or_default();
    html! {
        <section class="threshold" aria-labelledby="threshold-title" data-testid="threshold-panel" data-threshold={threshold.value.to_string()}>
            <h3 id="threshold-title">{"Decision threshold"}</h3>
            <p class="muted">{"Call the positive class when its probability is at least the threshold. Moving it trades sensitivity against specificity; the table and the matrix follow."}</p>
            <div class="actions">
                <label>{"Positive class "}
                    <select onchange={set(|t, v| Threshold { positive: v.parse().unwrap_or(1), ..t })} data-testid="threshold-positive">
                        for (i, name) in classes.iter().enumerate() {
                            <option value={i.to_string()} selected={i == threshold.positive}>{ name.clone() }</option>
                        }
                    </select>
                </label>
                <label>{"Threshold "}
                    <input type="range" min="0" max="1" step="0.001" value={threshold.value.to_string()} oninput={on_slide} data-testid="threshold-slider" aria-label="Decision threshold" />
                </label>
                <input type="number" min="0" max="1" step="0.001" value={format!("{:.3}", threshold.value)} onchange={set(|t, v| Threshold { value: v.parse().unwrap_or(t.value), ..t })} data-testid="threshold-value" aria-label="Threshold value" />
                <button type="button" class="button" onclick={preset(Some(0.5))}>{"0.5"}</button>
                <button type="button" class="button" onclick={preset(youden)} disabled={youden.is_none()} data-testid="threshold-youden"
                    title="The threshold with the largest sensitivity + specificity - 1 on the validation set (not the test set, which it would flatter)">
                    { match youden { Some(t) => format!("Youden's J on validation ({t:.3})"), None => "Youden's J: validation lacks a class".into() } }
                </button>
                <button type="button" class="link" onclick={on_scores} data-testid="test-scores">{"Download test scores (CSV)"}</button>
            </div>
            <div class="two-col">
                { matrix(&at, &positive, &negative) }
                { rates(&at) }
            </div>
        </section>
    }
}

/// Every test image's probabilities: `sample,true_class,p_<class 0>,p_<class 1>` (`sample`
/// is the image's row in the split manifest, which is in the same path order).
fn scores_csv(assessment: &Assessment) -> String {
    let Some(two) = &assessment.two_class else {
        return String::new();
    };
    let classes = &assessment.evaluation.classes;
    let header = [
        "sample".to_string(),
        "true_class".to_string(),
        format!("p_{}", classes[0]),
        format!("p_{}", classes[1]),
    ];
    let rows = assessment
        .predictions
        .iter()
        .zip(two.probabilities.chunks_exact(2))
        .zip(&two.labels)
        .map(|((prediction, p), &label)| {
            [
                prediction.sample.to_string(),
                classes[label].clone(),
                p[0].to_string(),
                p[1].to_string(),
            ]
        });
    csv_table(header, rows)
}

fn matrix(at: &ThresholdMetrics, positive: &str, negative: &str) -> Html {
    html! {
        <table class="confusion" data-testid="threshold-confusion" data-tp={at.true_positives.to_string()} data-fp={at.false_positives.to_string()}
            data-tn={at.true_negatives.to_string()} data-fn={at.false_negatives.to_string()}>
            <caption>{"Test set at this threshold (rows: truth)"}</caption>
            <thead><tr><th></th><th scope="col">{ format!("called {positive}") }</th><th scope="col">{ format!("called {negative}") }</th></tr></thead>
            <tbody>
                <tr><th scope="row">{ positive.to_string() }</th><td>{ at.true_positives }</td><td>{ at.false_negatives }</td></tr>
                <tr><th scope="row">{ negative.to_string() }</th><td>{ at.false_positives }</td><td>{ at.true_negatives }</td></tr>
            </tbody>
        </table>
    }
}

fn rates(at: &ThresholdMetrics) -> Html {
    let (tp, fp, tn, fn_) = (
        at.true_positives,
        at.false_positives,
        at.true_negatives,
        at.false_negatives,
    );
    let row = |name: &str, hits: usize, n: usize| {
        let i = wilson_interval(hits, n);
        html! {
            <tr><th scope="row">{ name.to_string() }</th>
                <td>{ if n == 0 { "n/a".to_string() } else { format!("{:.4}", i.estimate) } }</td>
                <td>{ if n == 0 { String::new() } else { format!("{:.4}-{:.4}", i.lo, i.hi) } }</td>
                <td>{ format!("{hits} / {n}") }</td></tr>
        }
    };
    html! {
        <table class="metrics" data-testid="threshold-metrics">
            <thead><tr><th scope="col">{"At this threshold"}</th><th scope="col">{"Value"}</th><th scope="col">{"95 % CI (Wilson)"}</th><th scope="col">{"Count"}</th></tr></thead>
            <tbody>
                { row("Sensitivity (recall)", tp, tp + fn_) }
                { row("Specificity", tn, tn + fp) }
                { row("Precision (PPV)", tp, tp + fp) }
                { row("NPV", tn, tn + fn_) }
                { row("Accuracy", tp + tn, tp + tn + fp + fn_) }
            </tbody>
        </table>
    }
}
