//! Sample grids as PNG.
//!
//! An 8x8 digit shown at 1:1 is a smudge; grids are upscaled with nearest-neighbour sampling so
//! every pixel stays a crisp square, and a grey gap of half an image pixel separates the images.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use image::{GrayImage, Luma};

use crate::data::{DIGITS_LEVELS, DIGITS_SIDE};

/// How to lay out and scale a grid of grey images.
#[derive(Clone, Copy, Debug)]
pub struct GridSpec {
    /// Image height and width in pixels.
    pub side: usize,
    /// Images per row of the grid.
    pub columns: usize,
    /// Each image pixel becomes a `scale x scale` square.
    pub scale: u32,
    /// The pixel value shown as black.
    pub black: f32,
    /// The pixel value shown as white.
    pub white: f32,
}

/// Digits on their 0..16 scale, eight to a row, each pixel drawn as an 8x8 square (64x64 per digit).
pub const DIGITS_GRID: GridSpec = GridSpec {
    side: DIGITS_SIDE,
    columns: 8,
    scale: 8,
    black: 0.0,
    white: (DIGITS_LEVELS - 1) as f32,
};

/// Rows of `columns` images taken in turn from `first` and `second` (an original row, its
/// reconstruction, the next original row, ...), for a grid with `columns` columns.
pub fn alternate_rows(first: &[f32], second: &[f32], columns: usize, image_len: usize) -> Vec<f32> {
    let row = columns * image_len;
    first
        .chunks(row)
        .zip(second.chunks(row))
        .flat_map(|(a, b)| a.iter().chain(b).copied())
        .collect()
}

/// Arranges `images` (row-major, `side * side` values each) in a grid and writes a PNG.
///
/// Values are mapped linearly from [`GridSpec::black`, `GridSpec::white`] to 0..255 and clamped.
pub fn save_grid(path: &Path, images: &[f32], spec: GridSpec) -> Result<()> {
    let grid = render_grid(images, spec)?;
    grid.save(path)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The grid as an image (see [`save_grid`]).
pub fn render_grid(images: &[f32], spec: GridSpec) -> Result<GrayImage> {
    let pixels = spec.side * spec.side;
    ensure!(
        !images.is_empty() && images.len().is_multiple_of(pixels),
        "a grid needs whole images of {pixels} values, got {} values",
        images.len()
    );
    let count = images.len() / pixels;
    let columns = spec.columns.min(count);
    let rows = count.div_ceil(columns);
    let cell = spec.side as u32 * spec.scale;
    // Half an image pixel, so that digits whose strokes touch their edges stay apart.
    let gap = (spec.scale / 2).max(1);
    let width = columns as u32 * (cell + gap) + gap;
    let height = rows as u32 * (cell + gap) + gap;
    // The gap is mid-grey so that black and white images both stand out from it.
    let mut grid = GrayImage::from_pixel(width, height, Luma([128]));
    for (k, image) in images.chunks(pixels).enumerate() {
        let x0 = gap + (k % columns) as u32 * (cell + gap);
        let y0 = gap + (k / columns) as u32 * (cell + gap);
        for (i, &v) in image.iter().enumerate() {
            let t = ((v - spec.black) / (spec.white - spec.black)).clamp(0.0, 1.0);
            let grey = Luma([(t * 255.0).round() as u8]);
            let (r, c) = ((i / spec.side) as u32, (i % spec.side) as u32);
            for dy in 0..spec.scale {
                for dx in 0..spec.scale {
                    grid.put_pixel(x0 + c * spec.scale + dx, y0 + r * spec.scale + dy, grey);
                }
            }
        }
    }
    Ok(grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternate_rows_interleave_whole_rows() {
        // Images of one value each, two per row.
        let first = [1.0, 2.0, 3.0, 4.0];
        let second = [10.0, 20.0, 30.0, 40.0];
        assert_eq!(
            alternate_rows(&first, &second, 2, 1),
            vec![1.0, 2.0, 10.0, 20.0, 3.0, 4.0, 30.0, 40.0]
        );
    }

    #[test]
    fn grid_upscales_each_pixel_to_a_square_and_maps_the_range() {
        // Two 2x2 images: a diagonal, and all white.
        let images = [16.0, 0.0, 0.0, 16.0, 16.0, 16.0, 16.0, 16.0];
        let spec = GridSpec {
            side: 2,
            columns: 2,
            scale: 3,
            black: 0.0,
            white: 16.0,
        };
        let grid = render_grid(&images, spec).unwrap();
        // 2 cells of 6 pixels plus 3 one-pixel gaps.
        assert_eq!(grid.dimensions(), (15, 8));
        assert_eq!(grid.get_pixel(1, 1).0, [255]); // top-left of image 0
        assert_eq!(grid.get_pixel(3, 3).0, [255]); // still the same source pixel
        assert_eq!(grid.get_pixel(4, 1).0, [0]); // pixel (0, 1) of image 0
        assert_eq!(grid.get_pixel(0, 0).0, [128]); // gap
        assert_eq!(grid.get_pixel(12, 6).0, [255]); // image 1
    }

    #[test]
    fn grid_refuses_partial_images() {
        let spec = GridSpec {
            side: 8,
            columns: 8,
            scale: 1,
            black: 0.0,
            white: 1.0,
        };
        assert!(render_grid(&[0.0; 65], spec).is_err());
    }
}
