//! Gray and colour images (and heatmaps over them) drawn from the decoded `u8` pixels.

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};
use yew::prelude::*;

use crate::evaluation::overlay_rgba;

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
                    let data = overlay_rgba(pixels, plane, heat.as_deref());
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
