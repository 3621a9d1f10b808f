//! Saving bytes, text and charts to the user's disk (page only).

use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, HtmlCanvasElement, HtmlImageElement, Url};

use super::js;

fn blob(bytes: &[u8], mime: &str) -> Result<Blob, String> {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|e| js::error_text(&e))
}

fn save_blob(file_name: &str, blob: &Blob) -> Result<(), String> {
    let url = Url::create_object_url_with_blob(blob).map_err(|e| js::error_text(&e))?;
    let document = gloo::utils::document();
    let anchor: HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| js::error_text(&e))?
        .unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.set_hidden(true);
    let body = document.body().ok_or("no document body")?;
    let _ = body.append_child(&anchor);
    anchor.click();
    let _ = body.remove_child(&anchor);
    // Revoke after the download has started.
    let revoke = Closure::once_into_js(move || {
        let _ = Url::revoke_object_url(&url);
    });
    let _ = gloo::utils::window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 10_000);
    Ok(())
}

/// Offers `bytes` as a download named `file_name`.
pub fn download_bytes(file_name: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    save_blob(file_name, &blob(bytes, mime)?)
}

/// Offers `text` as a download.
pub fn download_text(file_name: &str, mime: &str, text: &str) -> Result<(), String> {
    download_bytes(file_name, mime, text.as_bytes())
}

/// Renders an SVG string to a PNG (scaled by `scale`) and offers it as a download.
pub fn download_svg_as_png(
    file_name: &str,
    svg: &str,
    width: u32,
    height: u32,
    scale: f64,
) -> Result<(), String> {
    let svg_blob = blob(svg.as_bytes(), "image/svg+xml")?;
    let url = Url::create_object_url_with_blob(&svg_blob).map_err(|e| js::error_text(&e))?;
    let image = HtmlImageElement::new().map_err(|e| js::error_text(&e))?;
    let name = file_name.to_string();
    let loaded = {
        let image = image.clone();
        let url = url.clone();
        Closure::once_into_js(move || {
            let result = (|| -> Result<(), String> {
                let canvas: HtmlCanvasElement = gloo::utils::document()
                    .create_element("canvas")
                    .map_err(|e| js::error_text(&e))?
                    .unchecked_into();
                canvas.set_width((width as f64 * scale) as u32);
                canvas.set_height((height as f64 * scale) as u32);
                let context: web_sys::CanvasRenderingContext2d = canvas
                    .get_context("2d")
                    .map_err(|e| js::error_text(&e))?
                    .ok_or("no 2d context")?
                    .unchecked_into();
                context.set_fill_style_str("#ffffff");
                context.fill_rect(0.0, 0.0, canvas.width() as f64, canvas.height() as f64);
                context
                    .draw_image_with_html_image_element_and_dw_and_dh(
                        &image,
                        0.0,
                        0.0,
                        canvas.width() as f64,
                        canvas.height() as f64,
                    )
                    .map_err(|e| js::error_text(&e))?;
                let data_url = canvas
                    .to_data_url_with_type("image/png")
                    .map_err(|e| js::error_text(&e))?;
                let anchor: HtmlAnchorElement = gloo::utils::document()
                    .create_element("a")
                    .map_err(|e| js::error_text(&e))?
                    .unchecked_into();
                anchor.set_href(&data_url);
                anchor.set_download(&name);
                anchor.click();
                Ok(())
            })();
            if let Err(error) = result {
                gloo::console::error!(format!("PNG export failed: {error}"));
            }
            let _ = Url::revoke_object_url(&url);
        })
    };
    image.set_onload(Some(loaded.unchecked_ref()));
    image.set_src(&url);
    Ok(())
}
