//! Training and calibration charts, drawn with plotters into SVG strings.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use yew::prelude::*;

use crate::evaluation::{Calibration, ClassRoc};
use crate::training::{CallbackEvent, EpochMetrics};
use crate::web::platform::download;
use crate::web::state::BatchPoint;

/// Chart size in CSS pixels.
pub const WIDTH: u32 = 520;
/// Chart size in CSS pixels.
pub const HEIGHT: u32 = 300;

const TRAIN_COLOR: RGBColor = RGBColor(37, 99, 235);
const VAL_COLOR: RGBColor = RGBColor(220, 38, 38);
const BATCH_COLOR: RGBColor = RGBColor(147, 197, 253);
const GRID: RGBColor = RGBColor(226, 232, 240);
const FONT: (&str, u32) = ("sans-serif", 14);

type Plot<'a> = ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The largest value an axis reaches: a diverged run (a loss of 1e308, say, from a crafted or
/// broken model file) is drawn at the top edge instead of sending the axis to infinity.
const AXIS_CAP: f64 = 1e6;

fn axis_max(values: impl Iterator<Item = f64>, floor: f64) -> f64 {
    let max = values.filter(|v| v.is_finite()).fold(floor, f64::max);
    max.min(AXIS_CAP) * 1.08
}

/// Exponential moving average (Keras-like smoothing of the batch loss).
pub fn smooth(points: &[BatchPoint], weight: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len());
    let mut value: Option<f64> = None;
    for p in points.iter().filter(|p| p.loss.is_finite()) {
        let v = match value {
            Some(v) => weight * v + (1.0 - weight) * p.loss,
            None => p.loss,
        };
        value = Some(v);
        out.push((p.x, v));
    }
    out
}

fn epochs_range(epochs: &[EpochMetrics], batches: &[BatchPoint]) -> f64 {
    let last_epoch = epochs.iter().map(|e| e.epoch as f64).fold(1.0, f64::max);
    let last_batch = batches.iter().map(|b| b.x).fold(0.0, f64::max);
    last_epoch.max(last_batch.ceil()).max(1.0)
}

/// A labelled line, with a dot at every point when `dots`.
fn line(
    chart: &mut Plot,
    points: Vec<(f64, f64)>,
    color: RGBColor,
    width: u32,
    label: &str,
    dots: bool,
) {
    if dots {
        let _ = chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())));
    }
    let _ = chart
        .draw_series(LineSeries::new(points, color.stroke_width(width)))
        .map(|s| {
            s.label(label).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(width))
            })
        });
}

fn legend(chart: &mut Plot, position: SeriesLabelPosition) {
    let _ = chart
        .configure_series_labels()
        .label_font(FONT)
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .position(position)
        .draw();
}

/// Draws one chart: a caption, axes over the given ranges and whatever `draw` adds.
fn render(
    caption: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    x_desc: &str,
    y_desc: &str,
    y_format: &dyn Fn(&f64) -> String,
    draw: impl FnOnce(&mut Plot),
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 17))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(x, y)
        else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .light_line_style(GRID)
            .label_style(FONT)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .y_label_formatter(y_format)
            .draw();
        draw(&mut chart);
        let _ = root.present();
    }
    svg
}

fn per_epoch(epochs: &[EpochMetrics], value: impl Fn(&EpochMetrics) -> f64) -> Vec<(f64, f64)> {
    epochs.iter().map(|e| (e.epoch as f64, value(e))).collect()
}

/// Loss per epoch (training and validation) with the smoothed per-batch loss.
pub fn loss_svg(epochs: &[EpochMetrics], batches: &[BatchPoint]) -> String {
    let smoothed = smooth(batches, 0.8);
    let y_max = axis_max(
        epochs
            .iter()
            .flat_map(|e| [e.loss, e.val_loss])
            .chain(smoothed.iter().map(|p| p.1)),
        0.1,
    );
    render(
        "Loss",
        0.0..epochs_range(epochs, batches),
        0.0..y_max,
        "epoch",
        "cross-entropy",
        &|v| format!("{v:.2}"),
        |chart| {
            line(
                chart,
                smoothed,
                BATCH_COLOR,
                1,
                "batch loss (smoothed)",
                false,
            );
            line(
                chart,
                per_epoch(epochs, |e| e.loss),
                TRAIN_COLOR,
                2,
                "loss",
                true,
            );
            line(
                chart,
                per_epoch(epochs, |e| e.val_loss),
                VAL_COLOR,
                2,
                "val_loss",
                true,
            );
            legend(chart, SeriesLabelPosition::UpperRight);
        },
    )
}

/// Accuracy per epoch (training and validation).
pub fn accuracy_svg(epochs: &[EpochMetrics]) -> String {
    let y_min = epochs
        .iter()
        .flat_map(|e| [e.accuracy, e.val_accuracy])
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::min)
        .clamp(0.0, 0.9);
    let y_min = (y_min * 10.0).floor() / 10.0;
    render(
        "Accuracy",
        0.0..epochs_range(epochs, &[]),
        y_min..1.0,
        "epoch",
        "",
        &|v| format!("{:.0}%", v * 100.0),
        |chart| {
            line(
                chart,
                per_epoch(epochs, |e| e.accuracy),
                TRAIN_COLOR,
                2,
                "accuracy",
                true,
            );
            line(
                chart,
                per_epoch(epochs, |e| e.val_accuracy),
                VAL_COLOR,
                2,
                "val_accuracy",
                true,
            );
            legend(chart, SeriesLabelPosition::LowerRight);
        },
    )
}

/// Learning rate per epoch, with a marker where ReduceLROnPlateau cut it.
pub fn learning_rate_svg(epochs: &[EpochMetrics], events: &[CallbackEvent]) -> String {
    let cuts: Vec<(f64, f64)> = events
        .iter()
        .filter(|e| e.action == "reduce_lr")
        .filter_map(|e| e.new_value.map(|v| (e.epoch as f64, v)))
        .collect();
    let y_max = axis_max(
        epochs
            .iter()
            .map(|e| e.learning_rate)
            .chain(cuts.iter().map(|c| c.1)),
        1e-4,
    );
    let mut steps: Vec<(f64, f64)> = Vec::new();
    for e in epochs {
        steps.push((e.epoch as f64 - 1.0, e.learning_rate));
        steps.push((e.epoch as f64, e.learning_rate));
    }
    render(
        "Learning rate",
        // Epoch e's rate spans [e - 1, e]: the axis ends with the last epoch.
        0.0..epochs_range(epochs, &[]),
        0.0..y_max,
        "epoch",
        "",
        &|v| format!("{v:.1e}"),
        |chart| {
            line(chart, steps, TRAIN_COLOR, 2, "learning rate", false);
            let _ = chart
                .draw_series(
                    cuts.iter()
                        .map(|p| TriangleMarker::new(*p, 7, VAL_COLOR.filled())),
                )
                .map(|s| {
                    s.label("ReduceLROnPlateau cut")
                        .legend(|(x, y)| TriangleMarker::new((x + 8, y), 6, VAL_COLOR.filled()))
                });
            legend(chart, SeriesLabelPosition::UpperRight);
        },
    )
}

/// Reliability diagram: accuracy against confidence per bin, before and after temperature
/// scaling.
pub fn reliability_svg(before: &Calibration, after: &Calibration) -> String {
    let points = |c: &Calibration| -> Vec<(f64, f64)> {
        c.bins
            .iter()
            .filter(|b| b.count > 0)
            .map(|b| (b.confidence, b.accuracy))
            .collect()
    };
    render(
        "Reliability diagram (test set)",
        0.0..1.0,
        0.0..1.0,
        "confidence",
        "accuracy",
        &|v| format!("{v:.1}"),
        |chart| {
            line(
                chart,
                vec![(0.0, 0.0), (1.0, 1.0)],
                RGBColor(100, 116, 139),
                1,
                "perfect calibration",
                false,
            );
            line(
                chart,
                points(before),
                VAL_COLOR,
                2,
                &format!("model (ECE {:.4})", before.ece),
                true,
            );
            line(
                chart,
                points(after),
                TRAIN_COLOR,
                2,
                &format!("temperature-scaled (ECE {:.4})", after.ece),
                true,
            );
            legend(chart, SeriesLabelPosition::UpperLeft);
        },
    )
}

/// Colours of one-vs-rest curves, one per class (cycled beyond ten classes).
const CLASS_COLORS: [RGBColor; 10] = [
    RGBColor(37, 99, 235),
    RGBColor(220, 38, 38),
    RGBColor(22, 163, 74),
    RGBColor(217, 119, 6),
    RGBColor(147, 51, 234),
    RGBColor(8, 145, 178),
    RGBColor(219, 39, 119),
    RGBColor(101, 163, 13),
    RGBColor(71, 85, 105),
    RGBColor(180, 83, 9),
];

/// One-vs-rest ROC curves of every class on the test set, with their AUCs.
pub fn roc_svg(curves: &[ClassRoc], classes: &[String]) -> String {
    render(
        "ROC curves, one class vs the rest (test set)",
        0.0..1.0,
        0.0..1.0,
        "false-positive rate (1 - specificity)",
        "sensitivity",
        &|v| format!("{v:.1}"),
        |chart| {
            line(
                chart,
                vec![(0.0, 0.0), (1.0, 1.0)],
                RGBColor(100, 116, 139),
                1,
                "chance",
                false,
            );
            for (curve, color) in curves.iter().zip(CLASS_COLORS.iter().cycle()) {
                let name = classes.get(curve.class).map_or("?", String::as_str);
                let label = format!("{name} (AUC {:.3})", curve.auc);
                line(chart, curve.points.clone(), *color, 2, &label, false);
            }
            legend(chart, SeriesLabelPosition::LowerRight);
        },
    )
}

/// Props of [`Chart`].
#[derive(Properties, PartialEq)]
pub struct ChartProps {
    /// The SVG.
    pub svg: AttrValue,
    /// File name stem for downloads.
    pub name: AttrValue,
    /// Accessible description.
    pub label: AttrValue,
    /// Test id.
    #[prop_or_default]
    pub testid: Option<AttrValue>,
}

/// An SVG chart with PNG and SVG download buttons.
#[component]
pub fn Chart(props: &ChartProps) -> Html {
    let svg_download = {
        let svg = props.svg.clone();
        let name = props.name.clone();
        Callback::from(move |_| {
            let _ = download::download_text(&format!("{name}.svg"), "image/svg+xml", &svg);
        })
    };
    let png_download = {
        let svg = props.svg.clone();
        let name = props.name.clone();
        Callback::from(move |_| {
            let _ = download::download_svg_as_png(&format!("{name}.png"), &svg, WIDTH, HEIGHT, 2.0);
        })
    };
    html! {
        <figure class="chart" data-testid={props.testid.clone()}>
            <div class="chart-svg" role="img" aria-label={props.label.clone()}>
                { Html::from_html_unchecked(props.svg.clone()) }
            </div>
            <figcaption class="chart-actions">
                <button type="button" class="link" onclick={png_download}>{"PNG"}</button>
                <button type="button" class="link" onclick={svg_download}>{"SVG"}</button>
            </figcaption>
        </figure>
    }
}
