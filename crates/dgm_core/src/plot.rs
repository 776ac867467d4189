//! Learning curves and other figures as PNG, always with a CSV of the same numbers beside them.
//!
//! The font ships inside the binary (DejaVu Sans, `assets/`), so plots draw the same on a
//! machine without fontconfig.

use std::fmt::Write as _;
use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
pub use plotters::style::RGBColor;

const FONT: &str = "sans-serif";
static REGISTER_FONT: Once = Once::new();

fn register_font() {
    REGISTER_FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        // The bytes are a valid TrueType font compiled into the binary.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, bytes);
    });
}

/// Appends CSV rows `label,value,value,...` to `csv`: each label with the next `row_len` of
/// `values`.
fn write_labelled_rows(
    csv: &mut String,
    labels: &[String],
    values: &[f32],
    row_len: usize,
) -> std::fmt::Result {
    for (label, row) in labels.iter().zip(values.chunks(row_len)) {
        let row: Vec<String> = row.iter().map(f32::to_string).collect();
        writeln!(csv, "{label},{}", row.join(","))?;
    }
    Ok(())
}

/// The whole picture of a PNG, to draw on.
type Canvas<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// What can go wrong while drawing on a [`Canvas`].
type DrawError = DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>;

/// A chart with real-valued axes drawn on a [`Canvas`].
type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Writes a `size` (width, height) PNG to `path`: `picture` draws on a white canvas, which is
/// then saved. A drawing error names the file.
fn draw_png(
    path: &std::path::Path,
    size: (u32, u32),
    picture: impl FnOnce(&Canvas) -> Result<(), DrawError>,
) -> Result<()> {
    register_font();
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)
        .and_then(|()| picture(&root))
        .and_then(|()| root.present())
        .map_err(|e| anyhow!("cannot draw {}: {e}", path.display()))
}

/// Draws the legend of `chart`'s labelled series halfway down its right edge: a white, slightly
/// see-through box with a black border and labels `font_size` pixels high.
fn draw_legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, font_size: u32) -> Result<(), DrawError> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font((FONT, font_size))
        .draw()
}

/// Draws the axes of a square panel: tick labels 12 pixels high and the major grid lines, no
/// minor ones.
fn draw_plain_mesh(chart: &mut Chart) -> Result<(), DrawError> {
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .label_style((FONT, 12))
        .draw()
}

/// Draws named series of (x, y) points as lines in an 800 x 500 PNG.
pub fn line_plot(
    path: &std::path::Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, &[(f64, f64)])],
) -> Result<()> {
    let finite = |v: &f64| v.is_finite();
    let xs = series.iter().flat_map(|(_, s)| s.iter().map(|p| p.0));
    // The y range leaves out each series' first point once there are a few: an untrained model's
    // first loss can be ten times the rest and would flatten the whole curve (it is drawn off
    // the top instead).
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|(_, s)| s.iter().skip(usize::from(s.len() > 5)).map(|p| p.1))
        .filter(finite)
        .collect();
    let x_max = xs.fold(1.0f64, f64::max);
    let (y_min, y_max) = ys
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &y| {
            (lo.min(y), hi.max(y))
        });
    let (y_min, y_max) = if y_min.is_finite() {
        let pad = ((y_max - y_min) * 0.05).max(1e-6);
        (y_min - pad, y_max + pad)
    } else {
        (0.0, 1.0)
    };

    draw_png(path, (800, 500), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, y_min..y_max)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style((FONT, 14))
            .draw()?;
        let colours = [BLUE, RED, GREEN, MAGENTA, BLACK];
        for (i, (name, points)) in series.iter().enumerate() {
            let colour = colours[i % colours.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied().filter(|p| p.1.is_finite()),
                    colour.stroke_width(2),
                ))?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        }
        draw_legend(&mut chart, 14)
    })
}

/// One panel of a scatter figure: a title, its points and their colour.
pub struct ScatterPanel<'a> {
    pub title: &'a str,
    pub points: &'a [(f64, f64)],
    pub colour: RGBColor,
}

/// Draws scatter panels side by side in rows of `columns` on the same square axes
/// [-extent, extent]^2 (each panel 400 x 400 pixels), and writes the points as
/// `panel,x,y` rows to the same path with the extension `.csv`.
pub fn scatter_panels(
    path: &std::path::Path,
    panels: &[ScatterPanel],
    columns: usize,
    extent: f64,
) -> Result<()> {
    let mut csv = String::from("panel,x,y\n");
    for panel in panels {
        for (x, y) in panel.points {
            writeln!(csv, "{},{x},{y}", panel.title)?;
        }
    }
    std::fs::write(path.with_extension("csv"), csv)?;

    let columns = columns.clamp(1, panels.len().max(1));
    let rows = panels.len().div_ceil(columns);
    let size = (400 * columns as u32, 400 * rows as u32);
    draw_png(path, size, |root| {
        for (area, panel) in root.split_evenly((rows, columns)).iter().zip(panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(panel.title, (FONT, 18))
                .margin(10)
                .x_label_area_size(25)
                .y_label_area_size(35)
                .build_cartesian_2d(-extent..extent, -extent..extent)?;
            draw_plain_mesh(&mut chart)?;
            chart.draw_series(
                panel
                    .points
                    .iter()
                    .filter(|(x, y)| x.abs() <= extent && y.abs() <= extent)
                    .map(|&p| Circle::new(p, 1, panel.colour.mix(0.5).filled())),
            )?;
        }
        Ok(())
    })
}

/// Draws grey images (values 0..=`max`, `side` x `side` pixels each, row-major) in rows of
/// `columns`, each with its caption above it, every pixel a `scale` x `scale` square. Writes
/// `caption,pixel values...` rows to the same path with the extension `.csv`.
pub fn captioned_images(
    path: &std::path::Path,
    images: &[f32],
    captions: &[String],
    side: usize,
    max: f32,
    columns: usize,
) -> Result<()> {
    let image_len = side * side;
    let mut csv = String::new();
    write_labelled_rows(&mut csv, captions, images, image_len)?;
    std::fs::write(path.with_extension("csv"), csv)?;

    const SCALE: i32 = 12;
    const CAPTION: i32 = 22;
    const GAP: i32 = 8;
    let columns = columns.clamp(1, captions.len().max(1));
    let rows = captions.len().div_ceil(columns);
    let cell_w = side as i32 * SCALE + GAP;
    let cell_h = side as i32 * SCALE + CAPTION + GAP;
    let size = (
        (cell_w * columns as i32 + GAP) as u32,
        (cell_h * rows as i32 + GAP) as u32,
    );
    draw_png(path, size, |root| {
        for (i, (caption, image)) in captions.iter().zip(images.chunks(image_len)).enumerate() {
            let left = GAP + (i % columns) as i32 * cell_w;
            let top = GAP + (i / columns) as i32 * cell_h;
            root.draw(&Text::new(caption.as_str(), (left, top), (FONT, 16)))?;
            for (p, &v) in image.iter().enumerate() {
                let grey = (255.0 * (v / max).clamp(0.0, 1.0)).round() as u8;
                let x = left + (p % side) as i32 * SCALE;
                let y = top + CAPTION + (p / side) as i32 * SCALE;
                let square = Rectangle::new(
                    [(x, y), (x + SCALE, y + SCALE)],
                    RGBColor(grey, grey, grey).filled(),
                );
                root.draw(&square)?;
            }
        }
        Ok(())
    })
}

/// Ten distinguishable colours, one per digit class.
pub const CLASS_COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A 2-D density drawn as filled contours (eight bands of equal height between 0 and its
/// maximum, darker where it is higher) with labelled points on top, coloured by class; the
/// points go to the same path with the extension `.csv` as `x,y,label` rows.
///
/// `log_density` holds `resolution x resolution` values on the square [-extent, extent]^2,
/// row by row from the bottom (y = -extent) and, within a row, from the left.
pub fn density_with_points(
    path: &std::path::Path,
    title: &str,
    log_density: &[f64],
    resolution: usize,
    extent: f64,
    points: &[(f64, f64, u8)],
) -> Result<()> {
    let mut csv = String::from("x,y,label\n");
    for (x, y, label) in points {
        writeln!(csv, "{x},{y},{label}")?;
    }
    std::fs::write(path.with_extension("csv"), csv)?;

    let max = log_density
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let cell = 2.0 * extent / resolution as f64;
    draw_png(path, (700, 760), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(-extent..extent, -extent..extent)?;
        draw_plain_mesh(&mut chart)?;
        chart.draw_series(log_density.iter().enumerate().map(|(i, &log_p)| {
            let (row, col) = (i / resolution, i % resolution);
            let (x, y) = (-extent + col as f64 * cell, -extent + row as f64 * cell);
            // The band of p / max p in eighths: 0 (white) .. 7 (darkest).
            let band = ((log_p - max).exp() * 8.0).floor().min(7.0);
            let shade = (255.0 - band * 22.0) as u8;
            Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                RGBColor(shade, shade, 255).filled(),
            )
        }))?;
        for (label, colour) in CLASS_COLOURS.iter().enumerate() {
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|p| p.2 as usize == label)
                        .map(|&(x, y, _)| Circle::new((x, y), 3, colour.filled())),
                )?
                .label(label.to_string())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
        }
        draw_legend(&mut chart, 13)
    })
}

// ANCHOR: attention_map
/// Draws one head's attention weights over a sequence as a square of cells: row t is the query
/// at position t, column s the key at position s, and the darker the cell, the larger the weight
/// w_ts against the largest weight of its row. The tokens label the rows (left) and the columns
/// (top).
/// Writes the weights beside the picture as CSV, one row per query.
pub fn attention_map(
    path: &std::path::Path,
    weights: &[f32],
    tokens: &[String],
    title: &str,
) -> Result<()> {
    let n = tokens.len();
    assert_eq!(weights.len(), n * n, "one weight per query and key");
    // A token that is a comma or a quote is written quoted, its quotes doubled (RFC 4180).
    let field = |token: &String| {
        if token.contains([',', '"']) {
            format!("\"{}\"", token.replace('"', "\"\""))
        } else {
            token.clone()
        }
    };
    let labels: Vec<String> = tokens.iter().map(field).collect();
    let mut csv = format!("query,{}\n", labels.join(","));
    write_labelled_rows(&mut csv, &labels, weights, n)?;
    std::fs::write(path.with_extension("csv"), csv)?;

    const CELL: i32 = 14;
    const MARGIN: i32 = 24;
    const TITLE: i32 = 28;
    let side = n as i32 * CELL;
    let size = (
        (side + 2 * MARGIN) as u32,
        (side + MARGIN + TITLE + MARGIN) as u32,
    );
    draw_png(path, size, |root| {
        root.draw(&Text::new(title, (MARGIN, 4), (FONT, 16)))?;
        let (left, top) = (MARGIN, TITLE + MARGIN);
        for (i, token) in tokens.iter().enumerate() {
            let offset = i as i32 * CELL + 2;
            root.draw(&Text::new(
                token.as_str(),
                (left + offset, top - 16),
                (FONT, 12),
            ))?;
            root.draw(&Text::new(
                token.as_str(),
                (left - 14, top + offset - 2),
                (FONT, 12),
            ))?;
        }
        for (k, &w) in weights.iter().enumerate() {
            let (t, s) = ((k / n) as i32, (k % n) as i32);
            let row = &weights[k / n * n..(k / n + 1) * n];
            let largest = row.iter().copied().fold(f32::MIN_POSITIVE, f32::max);
            // white at weight 0, dark blue at the row's largest weight
            let shade = 1.0 - (w / largest).clamp(0.0, 1.0);
            let colour = RGBColor(
                (20.0 + 235.0 * shade) as u8,
                (40.0 + 215.0 * shade) as u8,
                (120.0 + 135.0 * shade) as u8,
            );
            let (x, y) = (left + s * CELL, top + t * CELL);
            root.draw(&Rectangle::new(
                [(x, y), (x + CELL, y + CELL)],
                colour.filled(),
            ))?;
        }
        Ok(())
    })
}
// ANCHOR_END: attention_map
