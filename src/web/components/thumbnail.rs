//! Gray and colour images (and heatmaps over them) drawn from the decoded `u8` pixels.

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};
use yew::prelude::*;

/// Props of [`Thumbnail`].
#[derive(Properties, PartialEq)]
pub struct ThumbnailProps {
    /// One decoded image: `size * size` gray pixels, or three such planes (red, green, blue).
    pub pixels: Vec<u8>,
    /// Side in pixels.
    pub size: u32,
    /// Heatmap values 0..1 to blend over the image.
    #[prop_or_default]
    pub heat: Option<Vec<f32>>,
    /// Alternative text.
    pub alt: AttrValue,
    /// CSS class.
    #[prop_or_default]
    pub class: Classes,
}

/// A perceptual colour map (dark blue to yellow), for heatmaps.
pub fn heat_color(value: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 5] = [
        [13.0, 8.0, 135.0],
        [126.0, 3.0, 168.0],
        [204.0, 71.0, 120.0],
        [248.0, 149.0, 64.0],
        [240.0, 249.0, 33.0],
    ];
    let v = value.clamp(0.0, 1.0) * (STOPS.len() - 1) as f32;
    let i = (v.floor() as usize).min(STOPS.len() - 2);
    let f = v - i as f32;
    let mut out = [0u8; 3];
    for c in 0..3 {
        out[c] = (STOPS[i][c] * (1.0 - f) + STOPS[i + 1][c] * f) as u8;
    }
    out
}

/// The canvas's RGBA bytes for one image of `plane` pixels in `pixels.len() / plane` planes
/// (1: gray, 3: red, green, blue), with the heatmap blended over it.
fn rgba(pixels: &[u8], plane: usize, heat: Option<&[f32]>) -> Vec<u8> {
    let colour = pixels.len() == 3 * plane;
    let mut out = Vec::with_capacity(plane * 4);
    for i in 0..plane {
        let pixel = match colour {
            true => [pixels[i], pixels[plane + i], pixels[2 * plane + i]],
            false => [pixels[i]; 3],
        };
        match heat.and_then(|h| h.get(i)) {
            Some(&h) => {
                let color = heat_color(h);
                let alpha = 0.25 + 0.5 * h.clamp(0.0, 1.0);
                for (p, c) in pixel.into_iter().zip(color) {
                    out.push((f32::from(p) * (1.0 - alpha) + f32::from(c) * alpha) as u8);
                }
            }
            None => out.extend_from_slice(&pixel),
        }
        out.push(255);
    }
    out
}

/// A canvas showing one gray or colour image, scaled up without smoothing by CSS.
#[component]
pub fn Thumbnail(props: &ThumbnailProps) -> Html {
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        let pixels = props.pixels.clone();
        let heat = props.heat.clone();
        let size = props.size;
        use_effect_with((pixels, heat, size), move |(pixels, heat, size)| {
            if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                let plane = (*size * *size) as usize;
                if pixels.len() == plane || pixels.len() == 3 * plane {
                    let data = rgba(pixels, plane, heat.as_deref());
                    if let (Ok(Some(context)), Ok(image)) = (
                        canvas.get_context("2d"),
                        ImageData::new_with_u8_clamped_array_and_sh(Clamped(&data), *size, *size),
                    ) {
                        let context: CanvasRenderingContext2d = context.unchecked_into();
                        let _ = context.put_image_data(&image, 0.0, 0.0);
                    }
                }
            }
        });
    }
    html! {
        <canvas ref={canvas} width={props.size.to_string()} height={props.size.to_string()}
            class={classes!("thumb", props.class.clone())} role="img" aria-label={props.alt.clone()} />
    }
}
