//! A small A4 document writer on `pdf-writer`: headings, wrapped paragraphs, tables and
//! [`Drawing`]s (the same charts and maps the pages show as SVG), with page breaks. Text uses
//! the standard Helvetica fonts in WinAnsi encoding (Swedish letters included); content streams
//! are left uncompressed.

use super::charts::{Anchor, Drawing, Shape};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 48.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// `text` in WinAnsi (Windows-1252) bytes; what it cannot hold becomes `?`.
pub fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => c as u8,
            '–' => 0x96,
            '—' => 0x97,
            '…' => 0x85,
            '’' => 0x92,
            '‘' => 0x91,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '€' => 0x80,
            '→' => b'>',
            '←' => b'<',
            '↑' => b'+',
            '↓' => b'-',
            _ => b'?',
        })
        .collect()
}

/// Rough width of `text` in Helvetica at `size` (for wrapping and anchoring).
fn text_width(text: &str, size: f32) -> f32 {
    text.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '!' | '|' | '\'' | ' ' => 0.28,
            'm' | 'w' | 'M' | 'W' => 0.83,
            c if c.is_uppercase() => 0.67,
            c if c.is_ascii_digit() => 0.556,
            _ => 0.52,
        })
        .sum::<f32>()
        * size
}

fn rgb(hex: &str) -> (f32, f32, f32) {
    let channel = |i: usize| {
        u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0) as f32 / 255.0
    };
    (channel(1), channel(3), channel(5))
}

/// A document being written.
pub struct Document {
    pages: Vec<Content>,
    y: f32,
    title: String,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("pages", &self.pages.len())
            .field("title", &self.title)
            .finish()
    }
}

impl Document {
    /// An empty document with one page.
    pub fn new(title: &str) -> Self {
        Self {
            pages: vec![Content::new()],
            y: PAGE_H - MARGIN,
            title: title.to_owned(),
        }
    }

    fn content(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Starts a new page when less than `needed` points are left.
    pub fn ensure(&mut self, needed: f32) {
        if self.y - needed < MARGIN {
            self.pages.push(Content::new());
            self.y = PAGE_H - MARGIN;
        }
    }

    fn text_at(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        let bytes = win_ansi(text);
        let content = self.content();
        content
            .begin_text()
            .set_font(if bold { BOLD } else { REGULAR }, size)
            .set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y])
            .show(Str(&bytes))
            .end_text();
    }

    /// A heading.
    pub fn heading(&mut self, text: &str, size: f32) {
        self.ensure(size * 2.5);
        self.y -= size * 1.4;
        let y = self.y;
        self.content().set_fill_rgb(0.08, 0.15, 0.25);
        self.text_at(MARGIN, y, size, true, text);
        self.content().set_fill_rgb(0.0, 0.0, 0.0);
        self.y -= size * 0.5;
    }

    /// A paragraph wrapped to the page width.
    pub fn paragraph(&mut self, text: &str, size: f32) {
        let max = PAGE_W - 2.0 * MARGIN;
        for source_line in text.lines() {
            let mut line = String::new();
            for word in source_line.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if text_width(&candidate, size) > max && !line.is_empty() {
                    self.line(&line, size);
                    line = word.to_owned();
                } else {
                    line = candidate;
                }
            }
            self.line(&line, size);
        }
        self.y -= size * 0.4;
    }

    fn line(&mut self, text: &str, size: f32) {
        self.ensure(size * 1.4);
        self.y -= size * 1.35;
        let y = self.y;
        self.text_at(MARGIN, y, size, false, text);
    }

    /// A table: a bold header row and rows; `widths` are fractions of the page width, and
    /// columns after the first are right-aligned when `numeric` says so.
    pub fn table(
        &mut self,
        header: &[&str],
        rows: &[Vec<String>],
        widths: &[f32],
        numeric: &[bool],
    ) {
        let size = 9.0;
        let full = PAGE_W - 2.0 * MARGIN;
        let draw_row = |doc: &mut Self, cells: &[String], bold: bool| {
            doc.ensure(size * 1.6);
            doc.y -= size * 1.5;
            let y = doc.y;
            let mut x = MARGIN;
            for (i, cell) in cells.iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0.1) * full;
                let mut text = cell.clone();
                while text_width(&text, size) > w - 4.0 && text.chars().count() > 3 {
                    text.pop();
                }
                let tx = if numeric.get(i).copied().unwrap_or(false) {
                    x + w - 4.0 - text_width(&text, size)
                } else {
                    x
                };
                doc.text_at(tx, y, size, bold, &text);
                x += w;
            }
        };
        let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        draw_row(self, &header, true);
        for row in rows {
            draw_row(self, row, false);
        }
        self.y -= size * 0.8;
    }

    /// A drawing scaled to `width` points (at most the page width), on the current page if it
    /// fits.
    pub fn drawing(&mut self, drawing: &Drawing, width: f32) {
        let width = width.min(PAGE_W - 2.0 * MARGIN);
        let scale = width / drawing.width as f32;
        let height = drawing.height as f32 * scale;
        self.ensure(height + 8.0);
        let top = self.y - 4.0;
        let map = |x: f64, y: f64| (MARGIN + x as f32 * scale, top - y as f32 * scale);
        for shape in &drawing.shapes {
            match shape {
                Shape::Rect { x, y, w, h, fill } => {
                    let (r, g, b) = rgb(fill);
                    let (px, py) = map(*x, *y + *h);
                    self.content()
                        .set_fill_rgb(r, g, b)
                        .rect(px, py, *w as f32 * scale, *h as f32 * scale)
                        .fill_nonzero();
                }
                Shape::Circle {
                    cx, cy, r, fill, ..
                } => {
                    let (cr, cg, cb) = rgb(fill);
                    let (px, py) = map(*cx, *cy);
                    let rr = *r as f32 * scale;
                    // A circle from four Bézier curves.
                    let k = 0.5523 * rr;
                    self.content()
                        .set_fill_rgb(cr, cg, cb)
                        .move_to(px + rr, py)
                        .cubic_to(px + rr, py + k, px + k, py + rr, px, py + rr)
                        .cubic_to(px - k, py + rr, px - rr, py + k, px - rr, py)
                        .cubic_to(px - rr, py - k, px - k, py - rr, px, py - rr)
                        .cubic_to(px + k, py - rr, px + rr, py - k, px + rr, py)
                        .fill_nonzero();
                }
                Shape::Line {
                    points,
                    stroke,
                    fill,
                    width,
                } => {
                    let Some(first) = points.first() else {
                        continue;
                    };
                    let (sr, sg, sb) = rgb(stroke);
                    let (fx, fy) = map(first.0, first.1);
                    let content = self.content();
                    content
                        .set_stroke_rgb(sr, sg, sb)
                        .set_line_width(*width as f32 * scale)
                        .move_to(fx, fy);
                    for p in &points[1..] {
                        let (x, y) = map(p.0, p.1);
                        content.line_to(x, y);
                    }
                    match fill {
                        Some(fill) => {
                            let (r, g, b) = rgb(fill);
                            content
                                .close_path()
                                .set_fill_rgb(r, g, b)
                                .fill_nonzero_and_stroke();
                        }
                        None => {
                            content.stroke();
                        }
                    }
                }
                Shape::Text {
                    x,
                    y,
                    size,
                    text,
                    anchor,
                    fill,
                } => {
                    let size = *size as f32 * scale;
                    let w = text_width(text, size);
                    let (px, py) = map(*x, *y);
                    let px = match anchor {
                        Anchor::Start => px,
                        Anchor::Middle => px - w / 2.0,
                        Anchor::End => px - w,
                    };
                    let (r, g, b) = rgb(fill);
                    self.content().set_fill_rgb(r, g, b);
                    self.text_at(px, py, size, false, text);
                }
            }
        }
        self.content().set_fill_rgb(0.0, 0.0, 0.0);
        self.y = top - height - 8.0;
    }

    /// The finished PDF file.
    pub fn finish(self) -> Vec<u8> {
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let regular = Ref::new(3);
        let bold = Ref::new(4);
        let info = Ref::new(5);
        let mut next = 6;
        let mut ids = Vec::new();
        for _ in &self.pages {
            ids.push((Ref::new(next), Ref::new(next + 1)));
            next += 2;
        }
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(ids.iter().map(|(page, _)| *page))
            .count(ids.len() as i32);
        pdf.type1_font(regular)
            .base_font(Name(b"Helvetica"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.type1_font(bold)
            .base_font(Name(b"Helvetica-Bold"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.document_info(info)
            .title(TextStr(&self.title))
            .creator(TextStr("Vaka"));
        let count = self.pages.len();
        for (i, content) in self.pages.into_iter().enumerate() {
            let (page_id, content_id) = ids[i];
            let mut page = pdf.page(page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
            page.parent(tree);
            page.contents(content_id);
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            fonts.pair(REGULAR, regular);
            fonts.pair(BOLD, bold);
            fonts.finish();
            resources.finish();
            page.finish();
            let mut content = content;
            let footer = win_ansi(&format!("{} · {}/{}", self.title, i + 1, count));
            content
                .set_fill_rgb(0.4, 0.4, 0.4)
                .begin_text()
                .set_font(REGULAR, 8.0)
                .set_text_matrix([1.0, 0.0, 0.0, 1.0, MARGIN, 24.0])
                .show(Str(&footer))
                .end_text();
            pdf.stream(content_id, &content.finish());
        }
        pdf.finish()
    }
}

/// The strings shown in a PDF written by [`Document`] (literal and hex strings, decoded from
/// WinAnsi), one per line: what a reader of the file sees, for tests.
pub fn shown_text(pdf: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < pdf.len() {
        match pdf[i] {
            b'(' => {
                i += 1;
                while i < pdf.len() && pdf[i] != b')' {
                    if pdf[i] == b'\\' && i + 1 < pdf.len() {
                        i += 1;
                        if pdf[i].is_ascii_digit() {
                            let end = (i + 3).min(pdf.len());
                            let digits = std::str::from_utf8(&pdf[i..end]).unwrap_or("0");
                            out.push(char::from(u8::from_str_radix(digits, 8).unwrap_or(b'?')));
                            i = end;
                            continue;
                        }
                        out.push(match pdf[i] {
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            other => char::from(other),
                        });
                    } else {
                        out.push(char::from(pdf[i]));
                    }
                    i += 1;
                }
                out.push('\n');
            }
            b'<' if pdf.get(i + 1).is_some_and(u8::is_ascii_hexdigit) => {
                let end = pdf[i..]
                    .iter()
                    .position(|b| *b == b'>')
                    .map_or(pdf.len(), |p| i + p);
                let hex: Vec<u8> = pdf[i + 1..end]
                    .iter()
                    .copied()
                    .filter(u8::is_ascii_hexdigit)
                    .collect();
                for pair in hex.chunks(2) {
                    let text = std::str::from_utf8(pair).unwrap_or("3f");
                    out.push(char::from(u8::from_str_radix(text, 16).unwrap_or(b'?')));
                }
                out.push('\n');
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_letters_survive_in_win_ansi() {
        assert_eq!(
            win_ansi("Lägesbild åäö – ok"),
            b"L\xe4gesbild \xe5\xe4\xf6 \x96 ok"
        );
    }

    #[test]
    fn a_document_has_its_text_in_the_content_stream() {
        let mut doc = Document::new("Test");
        doc.heading("Lägesbild", 18.0);
        doc.paragraph(&"ord ".repeat(400), 10.0);
        let bytes = doc.finish();
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("Helvetica"));
        assert!(shown_text(&bytes).lines().any(|l| l == "Lägesbild"));
    }
}
