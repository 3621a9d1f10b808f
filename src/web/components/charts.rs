//! Training and calibration charts, drawn with plotters into SVG strings.

use plotters::prelude::*;
use yew::prelude::*;

use crate::evaluation::Calibration;
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

fn axis_max(values: impl Iterator<Item = f64>, floor: f64) -> f64 {
    let max = values.filter(|v| v.is_finite()).fold(floor, f64::max);
    max * 1.08
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

/// Loss per epoch (training and validation) with the smoothed per-batch loss.
pub fn loss_svg(epochs: &[EpochMetrics], batches: &[BatchPoint]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let x_max = epochs_range(epochs, batches);
        let smoothed = smooth(batches, 0.8);
        let y_max = axis_max(
            epochs
                .iter()
                .flat_map(|e| [e.loss, e.val_loss])
                .chain(smoothed.iter().map(|p| p.1)),
            0.1,
        );
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption("Loss", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .light_line_style(GRID)
            .x_desc("epoch")
            .y_desc("cross-entropy")
            .draw();
        let _ = chart
            .draw_series(LineSeries::new(smoothed, BATCH_COLOR.stroke_width(1)))
            .map(|s| {
                s.label("batch loss (smoothed)")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BATCH_COLOR))
            });
        let train: Vec<(f64, f64)> = epochs.iter().map(|e| (e.epoch as f64, e.loss)).collect();
        let val: Vec<(f64, f64)> = epochs
            .iter()
            .map(|e| (e.epoch as f64, e.val_loss))
            .collect();
        let _ = chart
            .draw_series(LineSeries::new(train.clone(), TRAIN_COLOR.stroke_width(2)))
            .map(|s| {
                s.label("loss").legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], TRAIN_COLOR.stroke_width(2))
                })
            });
        let _ = chart.draw_series(
            train
                .iter()
                .map(|p| Circle::new(*p, 3, TRAIN_COLOR.filled())),
        );
        let _ = chart
            .draw_series(LineSeries::new(val.clone(), VAL_COLOR.stroke_width(2)))
            .map(|s| {
                s.label("val_loss").legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], VAL_COLOR.stroke_width(2))
                })
            });
        let _ = chart.draw_series(val.iter().map(|p| Circle::new(*p, 3, VAL_COLOR.filled())));
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(GRID)
            .position(SeriesLabelPosition::UpperRight)
            .draw();
        let _ = root.present();
    }
    svg
}

/// Accuracy per epoch (training and validation).
pub fn accuracy_svg(epochs: &[EpochMetrics]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let x_max = epochs_range(epochs, &[]);
        let y_min = epochs
            .iter()
            .flat_map(|e| [e.accuracy, e.val_accuracy])
            .filter(|v| v.is_finite())
            .fold(1.0f64, f64::min)
            .min(0.9)
            .max(0.0);
        let y_min = (y_min * 10.0).floor() / 10.0;
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption("Accuracy", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..x_max, y_min..1.0)
        else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .light_line_style(GRID)
            .x_desc("epoch")
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .draw();
        let train: Vec<(f64, f64)> = epochs
            .iter()
            .map(|e| (e.epoch as f64, e.accuracy))
            .collect();
        let val: Vec<(f64, f64)> = epochs
            .iter()
            .map(|e| (e.epoch as f64, e.val_accuracy))
            .collect();
        let _ = chart
            .draw_series(LineSeries::new(train.clone(), TRAIN_COLOR.stroke_width(2)))
            .map(|s| {
                s.label("accuracy").legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], TRAIN_COLOR.stroke_width(2))
                })
            });
        let _ = chart.draw_series(
            train
                .iter()
                .map(|p| Circle::new(*p, 3, TRAIN_COLOR.filled())),
        );
        let _ = chart
            .draw_series(LineSeries::new(val.clone(), VAL_COLOR.stroke_width(2)))
            .map(|s| {
                s.label("val_accuracy").legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], VAL_COLOR.stroke_width(2))
                })
            });
        let _ = chart.draw_series(val.iter().map(|p| Circle::new(*p, 3, VAL_COLOR.filled())));
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(GRID)
            .position(SeriesLabelPosition::LowerRight)
            .draw();
        let _ = root.present();
    }
    svg
}

/// Learning rate per epoch, with a marker where ReduceLROnPlateau cut it.
pub fn learning_rate_svg(epochs: &[EpochMetrics], events: &[CallbackEvent]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let x_max = epochs_range(epochs, &[]) + 1.0;
        let cuts: Vec<(f64, f64)> = events
            .iter()
            .filter(|e| e.action == "reduce_lr")
            .filter_map(|e| e.new_value.map(|v| (e.epoch as f64 + 1.0, v)))
            .collect();
        let y_max = axis_max(
            epochs
                .iter()
                .map(|e| e.learning_rate)
                .chain(cuts.iter().map(|c| c.1)),
            1e-4,
        );
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption("Learning rate", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .light_line_style(GRID)
            .x_desc("epoch")
            .y_label_formatter(&|v| format!("{v:.1e}"))
            .draw();
        let mut steps: Vec<(f64, f64)> = Vec::new();
        for e in epochs {
            steps.push((e.epoch as f64 - 1.0, e.learning_rate));
            steps.push((e.epoch as f64, e.learning_rate));
        }
        let _ = chart
            .draw_series(LineSeries::new(steps, TRAIN_COLOR.stroke_width(2)))
            .map(|s| {
                s.label("learning rate").legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], TRAIN_COLOR.stroke_width(2))
                })
            });
        let _ = chart
            .draw_series(
                cuts.iter()
                    .map(|p| TriangleMarker::new(*p, 7, VAL_COLOR.filled())),
            )
            .map(|s| {
                s.label("ReduceLROnPlateau")
                    .legend(|(x, y)| TriangleMarker::new((x + 8, y), 6, VAL_COLOR.filled()))
            });
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(GRID)
            .position(SeriesLabelPosition::UpperRight)
            .draw();
        let _ = root.present();
    }
    svg
}

/// Reliability diagram: accuracy against confidence per bin, before and after temperature
/// scaling.
pub fn reliability_svg(before: &Calibration, after: &Calibration) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption("Reliability diagram (test set)", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .light_line_style(GRID)
            .x_desc("confidence")
            .y_desc("accuracy")
            .draw();
        let _ = chart
            .draw_series(LineSeries::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                BLACK.mix(0.4),
            ))
            .map(|s| {
                s.label("perfect calibration")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.mix(0.4)))
            });
        let points = |c: &Calibration| -> Vec<(f64, f64)> {
            c.bins
                .iter()
                .filter(|b| b.count > 0)
                .map(|b| (b.confidence, b.accuracy))
                .collect()
        };
        let raw = points(before);
        let scaled = points(after);
        let _ = chart
            .draw_series(LineSeries::new(raw.clone(), VAL_COLOR.stroke_width(2)))
            .map(|s| {
                s.label(format!("model (ECE {:.4})", before.ece))
                    .legend(|(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], VAL_COLOR.stroke_width(2))
                    })
            });
        let _ = chart.draw_series(raw.iter().map(|p| Circle::new(*p, 3, VAL_COLOR.filled())));
        let _ = chart
            .draw_series(LineSeries::new(scaled.clone(), TRAIN_COLOR.stroke_width(2)))
            .map(|s| {
                s.label(format!("temperature-scaled (ECE {:.4})", after.ece))
                    .legend(|(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], TRAIN_COLOR.stroke_width(2))
                    })
            });
        let _ = chart.draw_series(
            scaled
                .iter()
                .map(|p| Circle::new(*p, 3, TRAIN_COLOR.filled())),
        );
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(GRID)
            .position(SeriesLabelPosition::UpperLeft)
            .draw();
        let _ = root.present();
    }
    svg
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
