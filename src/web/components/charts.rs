//! Training and calibration charts, drawn with plotters into SVG strings.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
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

/// How a series is drawn.
#[derive(Clone, Copy)]
enum Mark {
    /// A line of this width, with a dot at every point when `dots`.
    Line { width: u32, dots: bool },
    /// A triangle at every point (events, not a curve).
    Triangles,
}

/// One labelled series of a chart.
struct Series {
    label: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    mark: Mark,
}

impl Series {
    fn line(
        label: impl Into<String>,
        color: RGBColor,
        width: u32,
        points: Vec<(f64, f64)>,
    ) -> Self {
        Self {
            label: label.into(),
            color,
            points,
            mark: Mark::Line { width, dots: false },
        }
    }

    /// A line with a dot at every point (per-epoch values).
    fn dotted(label: impl Into<String>, color: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Self {
            mark: Mark::Line {
                width: 2,
                dots: true,
            },
            ..Self::line(label, color, 2, points)
        }
    }

    fn draw(&self, chart: &mut Plot) {
        match self.mark {
            Mark::Line { width, dots } => {
                if dots {
                    let dots = self
                        .points
                        .iter()
                        .map(|p| Circle::new(*p, 3, self.color.filled()));
                    let _ = chart.draw_series(dots);
                }
                let style = self.color.stroke_width(width);
                let _ = chart.draw_series(LineSeries::new(self.points.clone(), style));
            }
            Mark::Triangles => {
                let marks = self
                    .points
                    .iter()
                    .map(|p| TriangleMarker::new(*p, 7, self.color.filled()));
                let _ = chart.draw_series(marks);
            }
        }
    }

    /// The legend's sample of this series at (x, y) (the middle of the row's left edge).
    fn swatch(&self, area: &DrawingArea<SVGBackend, plotters::coord::Shift>, x: i32, y: i32) {
        let _ = match self.mark {
            Mark::Line { width, .. } => area.draw(&PathElement::new(
                vec![(x, y), (x + SWATCH, y)],
                self.color.stroke_width(width.max(2)),
            )),
            Mark::Triangles => area.draw(&TriangleMarker::new(
                (x + SWATCH / 2, y),
                6,
                self.color.filled(),
            )),
        };
    }
}

/// Width of a legend sample, and the gaps around an entry.
const SWATCH: i32 = 18;
const LEGEND_ROW: i32 = 20;
/// A legend text's width, estimated from its length (the page's sans-serif at 14 px averages
/// under 7.5 px a character), so entries are laid out without measuring text.
fn text_width(text: &str) -> i32 {
    (text.chars().count() as f64 * 7.5).ceil() as i32
}

/// The legend laid out in rows across the chart's width: (series, x, row) for each entry.
fn legend_layout(series: &[Series]) -> (Vec<(usize, i32, i32)>, i32) {
    let (mut placed, mut x, mut row) = (Vec::new(), 10, 0);
    // A series without a label (a reference line explained in the caption) has no entry.
    for (i, s) in series
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.label.is_empty())
    {
        let width = SWATCH + 6 + text_width(&s.label) + 18;
        if x > 10 && x + width > WIDTH as i32 - 10 {
            (x, row) = (10, row + 1);
        }
        placed.push((i, x, row));
        x += width;
    }
    let rows = if placed.is_empty() { 0 } else { row + 1 };
    (placed, rows)
}

/// Draws one chart: a caption, the legend in rows under it (outside the plot, so it never
/// hides a line), and the axes over the given ranges with every series.
fn render(
    caption: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    x_desc: &str,
    y_desc: &str,
    y_format: &dyn Fn(&f64) -> String,
    series: &[Series],
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let (placed, rows) = legend_layout(series);
        let top_height = 28 + rows * LEGEND_ROW;
        let (top, body) = root.split_vertically(top_height);
        let title = ("sans-serif", 17).into_font().color(&BLACK);
        let centred = title.pos(Pos::new(HPos::Center, VPos::Top));
        let _ = top.draw(&Text::new(caption, (WIDTH as i32 / 2, 6), centred));
        for (i, x0, row) in placed {
            let y0 = 28 + row * LEGEND_ROW + LEGEND_ROW / 2;
            series[i].swatch(&top, x0, y0);
            let label = FONT
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center));
            let _ = top.draw(&Text::new(
                series[i].label.clone(),
                (x0 + SWATCH + 6, y0),
                label,
            ));
        }
        let Ok(mut chart) = ChartBuilder::on(&body)
            .margin(10)
            .margin_top(4)
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
        for s in series {
            s.draw(&mut chart);
        }
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
        &[
            Series::line("batch loss (smoothed)", BATCH_COLOR, 1, smoothed),
            Series::dotted("loss", TRAIN_COLOR, per_epoch(epochs, |e| e.loss)),
            Series::dotted("val_loss", VAL_COLOR, per_epoch(epochs, |e| e.val_loss)),
        ],
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
        &[
            Series::dotted("accuracy", TRAIN_COLOR, per_epoch(epochs, |e| e.accuracy)),
            Series::dotted(
                "val_accuracy",
                VAL_COLOR,
                per_epoch(epochs, |e| e.val_accuracy),
            ),
        ],
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
        &[
            Series::line("learning rate", TRAIN_COLOR, 2, steps),
            Series {
                mark: Mark::Triangles,
                ..Series::line("ReduceLROnPlateau cut", VAL_COLOR, 2, cuts)
            },
        ],
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
        &[
            Series::line("perfect calibration", CHANCE_COLOR, 1, diagonal()),
            Series::dotted(
                format!("model (ECE {:.4})", before.ece),
                VAL_COLOR,
                points(before),
            ),
            Series::dotted(
                format!("temperature-scaled (ECE {:.4})", after.ece),
                TRAIN_COLOR,
                points(after),
            ),
        ],
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
    let mut series = vec![Series::line("chance", CHANCE_COLOR, 1, diagonal())];
    for (curve, color) in curves.iter().zip(CLASS_COLORS.iter().cycle()) {
        let name = classes.get(curve.class).map_or("?", String::as_str);
        let label = format!("{name} (AUC {:.3})", curve.auc);
        series.push(Series::line(label, *color, 2, curve.points.clone()));
    }
    render(
        "ROC curves, one class vs the rest (test set)",
        0.0..1.0,
        0.0..1.0,
        "false-positive rate (1 - specificity)",
        "sensitivity",
        &|v| format!("{v:.1}"),
        &series,
    )
}

/// One-vs-rest precision-recall curves on the test set, with each class's average precision
/// and, as a pale line in its colour, its prevalence (the precision of a random ranking).
pub fn precision_recall_svg(curves: &[ClassRoc], classes: &[String], prevalence: &[f64]) -> String {
    let mut series = Vec::new();
    for (curve, color) in curves.iter().zip(CLASS_COLORS.iter().cycle()) {
        let name = classes.get(curve.class).map_or("?", String::as_str);
        let label = format!("{name} (AP {:.3})", curve.average_precision);
        series.push(Series::line(label, *color, 2, curve.pr_points.clone()));
    }
    for (curve, color) in curves.iter().zip(CLASS_COLORS.iter().cycle()) {
        if let Some(&p) = prevalence.get(curve.class) {
            let tint = |c: u8| ((u16::from(c) + 255) / 2) as u8;
            let light = RGBColor(tint(color.0), tint(color.1), tint(color.2));
            let chance = Series::line(String::new(), light, 1, vec![(0.0, p), (1.0, p)]);
            series.push(chance);
        }
    }
    render(
        "Precision-recall, one class vs the rest (test set)",
        0.0..1.0,
        0.0..1.0,
        "recall (sensitivity)",
        "precision",
        &|v| format!("{v:.1}"),
        &series,
    )
}

/// The grey diagonal of ROC and reliability charts.
const CHANCE_COLOR: RGBColor = RGBColor(100, 116, 139);

fn diagonal() -> Vec<(f64, f64)> {
    vec![(0.0, 0.0), (1.0, 1.0)]
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
