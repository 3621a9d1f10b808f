//! The heatmap drawn over its image: one colour map and one blend, for the page's canvas and
//! the command's PNG files alike, so that both show the same picture of the same values.

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

/// The RGBA bytes (the page's canvas, the command's PNG) for one image of `plane` pixels in `pixels.len() / plane` planes
/// (1: gray, 3: red, green, blue), with the heatmap blended over it.
pub fn overlay_rgba(pixels: &[u8], plane: usize, heat: Option<&[f32]>) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blend_keeps_the_image_where_the_map_is_absent_and_tints_it_where_it_is_hot() {
        // Two gray pixels, two colour pixels (planes red, green, blue).
        assert_eq!(
            overlay_rgba(&[10, 200], 2, None),
            [10, 10, 10, 255, 200, 200, 200, 255]
        );
        assert_eq!(
            overlay_rgba(&[1, 2, 3, 4, 5, 6], 2, None),
            [1, 3, 5, 255, 2, 4, 6, 255]
        );
        // Cold (0) is a quarter of the colour map's dark blue; hot (1) three quarters of its
        // yellow: on black, (13, 8, 135) * 0.25 and (240, 249, 33) * 0.75, truncated.
        let hot_and_cold = overlay_rgba(&[0, 0], 2, Some(&[0.0, 1.0]));
        assert_eq!(hot_and_cold, [3, 2, 33, 255, 180, 186, 24, 255]);
    }
}
