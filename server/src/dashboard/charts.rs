//! Charts and maps as a small display list (rectangles, circles, lines, text) that renders to SVG
//! for the pages and to PDF drawing operators for the report's PDF, so both show the same picture.

use super::report::number;
use crate::store::reports::{AreaShape, MapPoint};
use std::fmt::Write;
use vaka_shared::model::Lang;

/// Where a text's x coordinate sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Left end.
    Start,
    /// Middle.
    Middle,
    /// Right end.
    End,
}

/// One thing drawn. Coordinates have y growing downwards, as in SVG.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A filled rectangle.
    Rect {
        /// Left.
        x: f64,
        /// Top.
        y: f64,
        /// Width.
        w: f64,
        /// Height.
        h: f64,
        /// `#rrggbb`.
        fill: &'static str,
    },
    /// A filled circle.
    Circle {
        /// Centre x.
        cx: f64,
        /// Centre y.
        cy: f64,
        /// Radius.
        r: f64,
        /// `#rrggbb`.
        fill: &'static str,
        /// 0–1.
        opacity: f64,
    },
    /// A line through points, closed into a polygon when `fill` is given.
    Line {
        /// Points.
        points: Vec<(f64, f64)>,
        /// `#rrggbb`.
        stroke: &'static str,
        /// Fill of a closed polygon.
        fill: Option<&'static str>,
        /// Line width.
        width: f64,
    },
    /// A line of text.
    Text {
        /// x of the anchor.
        x: f64,
        /// Baseline y.
        y: f64,
        /// Font size.
        size: f64,
        /// The text.
        text: String,
        /// Anchor.
        anchor: Anchor,
        /// `#rrggbb`.
        fill: &'static str,
    },
}

/// A picture of `width` × `height` units.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawing {
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
    /// What is drawn, in order.
    pub shapes: Vec<Shape>,
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Drawing {
    /// The drawing as an SVG element, named `title` for screen readers (its `<title>` and
    /// `aria-label`).
    pub fn svg(&self, title: &str) -> String {
        let mut s = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif"><title>{t}</title>"#,
            w = self.width,
            h = self.height,
            t = esc(title)
        );
        for shape in &self.shapes {
            let _ = match shape {
                Shape::Rect { x, y, w, h, fill } => write!(
                    s,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}"/>"#
                ),
                Shape::Circle {
                    cx,
                    cy,
                    r,
                    fill,
                    opacity,
                } => write!(
                    s,
                    r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="{fill}" fill-opacity="{opacity}"/>"#
                ),
                Shape::Line {
                    points,
                    stroke,
                    fill,
                    width,
                } => {
                    let pts: Vec<String> = points
                        .iter()
                        .map(|(x, y)| format!("{x:.1},{y:.1}"))
                        .collect();
                    match fill {
                        Some(fill) => write!(
                            s,
                            r#"<polygon points="{}" fill="{fill}" fill-opacity="0.35" stroke="{stroke}" stroke-width="{width}"/>"#,
                            pts.join(" ")
                        ),
                        None => write!(
                            s,
                            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width}"/>"#,
                            pts.join(" ")
                        ),
                    }
                }
                Shape::Text {
                    x,
                    y,
                    size,
                    text,
                    anchor,
                    fill,
                } => write!(
                    s,
                    r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{}" fill="{fill}">{}</text>"#,
                    match anchor {
                        Anchor::Start => "start",
                        Anchor::Middle => "middle",
                        Anchor::End => "end",
                    },
                    esc(text)
                ),
            };
        }
        s.push_str("</svg>");
        s
    }
}

const INK: &str = "#1b2430";
const MUTED: &str = "#5b6776";
const NOW: &str = "#1f4e8c";
const BEFORE: &str = "#b9c7d8";

fn text(x: f64, y: f64, size: f64, text: impl Into<String>, anchor: Anchor) -> Shape {
    Shape::Text {
        x,
        y,
        size,
        text: text.into(),
        anchor,
        fill: INK,
    }
}

fn fmt_value(v: f64, lang: Lang) -> String {
    if (v - v.round()).abs() < 0.05 {
        number(v, 0, lang)
    } else {
        number(v, 1, lang)
    }
}

/// The legend of bars with a previous period: what the thick and the thin bar stand for.
fn legend(shapes: &mut Vec<Shape>, x: f64, now: &str, before: &str) {
    shapes.push(Shape::Rect {
        x,
        y: 4.0,
        w: 14.0,
        h: 10.0,
        fill: NOW,
    });
    shapes.push(text(x + 19.0, 13.0, 10.0, now, Anchor::Start));
    let x2 = x + 30.0 + now.chars().count() as f64 * 6.0;
    shapes.push(Shape::Rect {
        x: x2,
        y: 7.0,
        w: 14.0,
        h: 4.0,
        fill: BEFORE,
    });
    shapes.push(text(x2 + 19.0, 13.0, 10.0, before, Anchor::Start));
}

/// Horizontal bars, one row per label: this period's value, and the previous period's as a thin
/// bar under it when given, with a legend naming both (`legend`: this period, previous period).
pub fn bars(
    rows: &[(String, f64, Option<f64>)],
    width: f64,
    lang: Lang,
    legend_texts: (&str, &str),
) -> Drawing {
    let row_h = 22.0;
    let label_w = 190.0;
    let bar_w = width - label_w - 50.0;
    let max = rows
        .iter()
        .map(|(_, a, b)| a.max(b.unwrap_or(0.0)))
        .fold(1.0, f64::max);
    let mut shapes = Vec::new();
    let with_before = rows.iter().any(|(_, _, b)| b.is_some());
    let top = if with_before {
        legend(&mut shapes, label_w, legend_texts.0, legend_texts.1);
        22.0
    } else {
        0.0
    };
    for (i, (label, now, before)) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h + 4.0;
        shapes.push(text(
            label_w - 6.0,
            y + 12.0,
            11.0,
            label.clone(),
            Anchor::End,
        ));
        shapes.push(Shape::Rect {
            x: label_w,
            y,
            w: (now / max * bar_w).max(0.5),
            h: 12.0,
            fill: NOW,
        });
        if let Some(before) = before {
            shapes.push(Shape::Rect {
                x: label_w,
                y: y + 13.0,
                w: (before / max * bar_w).max(0.5),
                h: 4.0,
                fill: BEFORE,
            });
        }
        shapes.push(text(
            label_w + (now / max * bar_w) + 4.0,
            y + 11.0,
            10.0,
            fmt_value(*now, lang),
            Anchor::Start,
        ));
    }
    Drawing {
        width,
        height: top + rows.len() as f64 * row_h + 8.0,
        shapes,
    }
}

/// Vertical columns with a label under each.
pub fn columns(labels: &[String], values: &[f64], width: f64, height: f64, lang: Lang) -> Drawing {
    let n = values.len().max(1) as f64;
    let slot = (width - 20.0) / n;
    let plot_h = height - 36.0;
    let max = values.iter().copied().fold(1.0, f64::max);
    let mut shapes = vec![Shape::Line {
        points: vec![(10.0, plot_h + 14.0), (width - 10.0, plot_h + 14.0)],
        stroke: MUTED,
        fill: None,
        width: 0.6,
    }];
    let every = if labels.len() > 16 { 2 } else { 1 };
    for (i, v) in values.iter().enumerate() {
        let h = v / max * plot_h;
        let x = 10.0 + i as f64 * slot;
        shapes.push(Shape::Rect {
            x: x + slot * 0.15,
            y: plot_h + 14.0 - h,
            w: slot * 0.7,
            h: h.max(0.0),
            fill: NOW,
        });
        if *v > 0.0 {
            shapes.push(text(
                x + slot / 2.0,
                plot_h + 11.0 - h,
                9.0,
                fmt_value(*v, lang),
                Anchor::Middle,
            ));
        }
        if i % every == 0
            && let Some(label) = labels.get(i)
        {
            shapes.push(text(
                x + slot / 2.0,
                height - 8.0,
                9.0,
                label.clone(),
                Anchor::Middle,
            ));
        }
    }
    Drawing {
        width,
        height,
        shapes,
    }
}

/// A map of areas and points in an equirectangular projection corrected for latitude.
pub fn map(shapes: &[AreaShape], points: &[MapPoint], width: f64, height: f64) -> Drawing {
    let mut lons: Vec<f64> = points.iter().map(|p| p.lon).collect();
    let mut lats: Vec<f64> = points.iter().map(|p| p.lat).collect();
    for shape in shapes {
        for ring in &shape.rings {
            lons.extend(ring.iter().map(|p| p.0));
            lats.extend(ring.iter().map(|p| p.1));
        }
    }
    let (min_lon, max_lon) = bounds(&lons);
    let (min_lat, max_lat) = bounds(&lats);
    let k = ((min_lat + max_lat) / 2.0).to_radians().cos().max(0.1);
    let span_x = ((max_lon - min_lon) * k).max(1e-4);
    let span_y = (max_lat - min_lat).max(1e-4);
    let pad = 16.0;
    let scale = ((width - 2.0 * pad) / span_x).min((height - 2.0 * pad) / span_y);
    let off_x = (width - span_x * scale) / 2.0;
    let off_y = (height - span_y * scale) / 2.0;
    let project = |lon: f64, lat: f64| {
        (
            off_x + (lon - min_lon) * k * scale,
            off_y + (max_lat - lat) * scale,
        )
    };
    let mut out = vec![Shape::Rect {
        x: 0.0,
        y: 0.0,
        w: width,
        h: height,
        fill: "#f3f5f2",
    }];
    for shape in shapes {
        for ring in &shape.rings {
            out.push(Shape::Line {
                points: ring.iter().map(|(lon, lat)| project(*lon, *lat)).collect(),
                stroke: "#6b7c93",
                fill: Some("#dfe7f1"),
                width: 1.0,
            });
        }
    }
    for p in points {
        let (x, y) = project(p.lon, p.lat);
        let (fill, r) = match (p.kind.as_str(), p.severity.unwrap_or(1)) {
            ("observation", _) => ("#2a6fdb", 3.5),
            (_, s) if s >= 3 => ("#c62828", 5.0),
            _ => ("#ef8a17", 4.0),
        };
        out.push(Shape::Circle {
            cx: x,
            cy: y,
            r,
            fill,
            opacity: 0.6,
        });
    }
    for shape in shapes {
        if let Some(ring) = shape.rings.first().filter(|r| !r.is_empty()) {
            let (sx, sy) = ring.iter().fold((0.0, 0.0), |(a, b), (lon, lat)| {
                let (x, y) = project(*lon, *lat);
                (a + x, b + y)
            });
            let n = ring.len() as f64;
            out.push(text(
                sx / n,
                sy / n,
                11.0,
                shape.name.clone(),
                Anchor::Middle,
            ));
        }
    }
    Drawing {
        width,
        height,
        shapes: out,
    }
}

fn bounds(values: &[f64]) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if min.is_finite() && max.is_finite() {
        (min, max)
    } else {
        (0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_draw_every_row_with_its_value_and_escape_labels() {
        let d = bars(
            &[
                ("Våld & hot".into(), 4.0, Some(2.0)),
                ("Stöld".into(), 1.5, None),
            ],
            500.0,
            Lang::Sv,
            ("Denna period", "Föregående period"),
        );
        let svg = d.svg("Händelser per kategori");
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<title>Händelser per kategori</title>"));
        assert!(svg.contains("Våld &amp; hot"));
        assert_eq!(
            svg.matches("<rect").count(),
            5,
            "two legend swatches and three bars"
        );
        assert!(
            svg.contains(">Föregående period</text>"),
            "the thin bar is named"
        );
        assert!(svg.contains(">4</text>"));
        assert!(svg.contains(">1,5</text>"), "a Swedish decimal comma");
    }

    #[test]
    fn the_map_puts_points_inside_the_drawing() {
        let shape = AreaShape {
            id: vaka_shared::AreaId::new(),
            name: "Centrum".into(),
            rings: vec![vec![(16.5, 59.6), (16.6, 59.6), (16.6, 59.7), (16.5, 59.6)]],
        };
        let point = MapPoint {
            lat: 59.65,
            lon: 16.55,
            kind: "incident".into(),
            severity: Some(4),
        };
        let d = map(&[shape], &[point], 400.0, 300.0);
        for s in &d.shapes {
            if let Shape::Circle { cx, cy, .. } = s {
                assert!((0.0..=400.0).contains(cx) && (0.0..=300.0).contains(cy));
            }
        }
        assert!(d.svg("Karta").contains("Centrum"));
    }
}
