//! A small A4 document writer on `pdf-writer`: headings, wrapped paragraphs, notes, tables with
//! coloured cells and [`Drawing`]s (the same charts and maps the pages show as SVG), with page
//! breaks and a footer on every page (title, organisation, who produced it and when, page
//! number).
//!
//! Text is set in DejaVu Sans and DejaVu Sans Bold (`server/fonts/`, licence beside them),
//! embedded as subsets of exactly the glyphs the document uses, so every character a report
//! holds — Swedish letters, −, –, ≤, … — prints as itself on any reader. Both fonts share one
//! character numbering (CID 1, 2, … in order of first use) and one `ToUnicode` map, so the text
//! can be copied and searched; each font maps the numbers to its own glyphs. Content streams
//! are left uncompressed.

use super::charts::{Anchor, Drawing, Shape};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Date, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::HashMap;
use ttf_parser::{Face, GlyphId};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 48.0;
/// The lowest a line of the body may sit: above the footer.
const BOTTOM: f32 = 60.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// DejaVu Sans, as shipped with DejaVu 2.37.
static REGULAR_TTF: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold, as shipped with DejaVu 2.37.
static BOLD_TTF: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold.ttf");

/// What writing a PDF can fail with (only a broken embedded font file could).
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The embedded font file could not be read.
    #[error("embedded font unreadable")]
    Font(#[from] ttf_parser::FaceParsingError),
    /// The font could not be cut down to the glyphs used.
    #[error("font subsetting failed: {0:?}")]
    Subset(subsetter::Error),
}

/// How a table cell's text is coloured: by what its value means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    /// Ink.
    #[default]
    Plain,
    /// A change for the better (green).
    Good,
    /// A change for the worse (red).
    Bad,
    /// Greyed: a figure that says little (no comparison possible).
    Muted,
}

impl Tone {
    fn rgb(self) -> (f32, f32, f32) {
        match self {
            Self::Plain => (0.0, 0.0, 0.0),
            Self::Good => (0.11, 0.42, 0.16),
            Self::Bad => (0.70, 0.15, 0.12),
            Self::Muted => (0.36, 0.40, 0.46),
        }
    }
}

/// One cell of a table.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    /// The text.
    pub text: String,
    /// Its colour.
    pub tone: Tone,
}

impl Cell {
    /// A cell with a tone.
    pub fn toned(text: impl Into<String>, tone: Tone) -> Self {
        Self {
            text: text.into(),
            tone,
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self {
            text,
            tone: Tone::Plain,
        }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::from(text.to_owned())
    }
}

/// What a document says about itself: in its properties and in every page's footer.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// The title (document properties; the footer's first words).
    pub title: String,
    /// Who produced it (document properties: author).
    pub author: String,
    /// The organisation (document properties: subject).
    pub subject: String,
    /// The footer's second line, e.g. who produced it and when.
    pub footer: String,
    /// Page numbers, with two `{}`: this page, all pages ("Sida {} av {}").
    pub page_of: String,
    /// The language of the text (`sv`, `en`).
    pub lang: String,
    /// When it was produced, local time: (year, month, day, hour, minute).
    pub produced: (u16, u8, u8, u8, u8),
}

/// One embedded font while the document is written: the glyphs used so far.
struct FontUse {
    face: Face<'static>,
    data: &'static [u8],
    /// Old glyph ids to the subset's.
    remapper: subsetter::GlyphRemapper,
    /// Indexed by CID: the subset's glyph id (0: not used by this font).
    gids: Vec<u16>,
    /// Indexed by CID: the advance width in thousandths of the font size.
    widths: Vec<f32>,
}

impl FontUse {
    fn new(data: &'static [u8]) -> Result<Self, PdfError> {
        Ok(Self {
            face: Face::parse(data, 0)?,
            data,
            remapper: subsetter::GlyphRemapper::new(),
            gids: vec![0],
            widths: vec![0.0],
        })
    }

    fn advance(&self, c: char) -> f32 {
        let glyph = self.face.glyph_index(c).unwrap_or(GlyphId(0));
        let advance = self.face.glyph_hor_advance(glyph).unwrap_or(0);
        f32::from(advance) * 1000.0 / f32::from(self.face.units_per_em().max(1))
    }

    /// Records that CID `cid` (character `c`) is drawn in this font.
    fn use_char(&mut self, cid: usize, c: char) {
        if self.gids.len() <= cid {
            self.gids.resize(cid + 1, 0);
            self.widths.resize(cid + 1, 0.0);
        }
        if self.gids[cid] == 0 {
            let glyph = self.face.glyph_index(c).unwrap_or(GlyphId(0));
            self.gids[cid] = self.remapper.remap(glyph.0);
            self.widths[cid] = self.advance(c);
        }
    }

    fn scaled(&self, v: i16) -> f32 {
        f32::from(v) * 1000.0 / f32::from(self.face.units_per_em().max(1))
    }
}

/// A document being written.
pub struct Document {
    pages: Vec<Content>,
    y: f32,
    meta: Meta,
    /// The characters used, in order of first use: CID = index + 1.
    chars: Vec<char>,
    cids: HashMap<char, u16>,
    regular: FontUse,
    bold: FontUse,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("pages", &self.pages.len())
            .field("title", &self.meta.title)
            .field("chars", &self.chars.len())
            .finish()
    }
}

fn rgb(hex: &str) -> (f32, f32, f32) {
    let channel = |i: usize| {
        u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0) as f32 / 255.0
    };
    (channel(1), channel(3), channel(5))
}

impl Document {
    /// An empty document with one page.
    pub fn new(meta: Meta) -> Result<Self, PdfError> {
        Ok(Self {
            pages: vec![Content::new()],
            y: PAGE_H - MARGIN,
            meta,
            chars: Vec::new(),
            cids: HashMap::new(),
            regular: FontUse::new(REGULAR_TTF)?,
            bold: FontUse::new(BOLD_TTF)?,
        })
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
        if self.y - needed < BOTTOM {
            self.pages.push(Content::new());
            self.y = PAGE_H - MARGIN;
        }
    }

    /// The width of `text` at `size` points.
    fn text_width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let font = if bold { &self.bold } else { &self.regular };
        text.chars().map(|c| font.advance(c)).sum::<f32>() * size / 1000.0
    }

    /// `text` as the document's two-byte character numbers, the characters recorded as used in
    /// the font. Control characters are left out.
    fn encode(&mut self, text: &str, bold: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars().filter(|c| !c.is_control()) {
            let cid = match self.cids.get(&c) {
                Some(cid) => *cid,
                None => {
                    // More distinct characters than a report can hold share the last number.
                    let cid = u16::try_from(self.chars.len() + 1).unwrap_or(u16::MAX);
                    if cid < u16::MAX {
                        self.chars.push(c);
                        self.cids.insert(c, cid);
                    }
                    cid
                }
            };
            let font = if bold {
                &mut self.bold
            } else {
                &mut self.regular
            };
            font.use_char(usize::from(cid), c);
            out.extend_from_slice(&cid.to_be_bytes());
        }
        out
    }

    fn text_at(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        let bytes = self.encode(text, bold);
        self.content()
            .begin_text()
            .set_font(if bold { BOLD } else { REGULAR }, size)
            .set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y])
            .show(Str(&bytes))
            .end_text();
    }

    /// A heading.
    pub fn heading(&mut self, text: &str, size: f32) {
        // Never alone at the foot of a page: room for what follows it too.
        self.ensure(size * 2.5 + 110.0);
        self.y -= size * 1.4;
        let y = self.y;
        self.content().set_fill_rgb(0.08, 0.15, 0.25);
        self.text_at(MARGIN, y, size, true, text);
        self.content().set_fill_rgb(0.0, 0.0, 0.0);
        self.y -= size * 0.5;
    }

    /// The lines of `text` wrapped to `max` points at `size`.
    fn wrap(&self, text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for source_line in text.lines() {
            let mut line = String::new();
            for word in source_line.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.text_width(&candidate, size, bold) > max && !line.is_empty() {
                    lines.push(std::mem::replace(&mut line, word.to_owned()));
                } else {
                    line = candidate;
                }
            }
            lines.push(line);
        }
        lines
    }

    /// A paragraph wrapped to the page width.
    pub fn paragraph(&mut self, text: &str, size: f32) {
        self.toned_paragraph(text, size, Tone::Plain);
    }

    /// A paragraph in a colour.
    pub fn toned_paragraph(&mut self, text: &str, size: f32, tone: Tone) {
        let (r, g, b) = tone.rgb();
        self.content().set_fill_rgb(r, g, b);
        for line in self.wrap(text, size, false, PAGE_W - 2.0 * MARGIN) {
            self.ensure(size * 1.4);
            self.y -= size * 1.35;
            let y = self.y;
            self.text_at(MARGIN, y, size, false, &line);
        }
        self.content().set_fill_rgb(0.0, 0.0, 0.0);
        self.y -= size * 0.4;
    }

    /// A note in a framed box, for what a reader must not miss.
    pub fn note(&mut self, text: &str) {
        let size = 9.0;
        let lines = self.wrap(text, size, false, PAGE_W - 2.0 * MARGIN - 16.0);
        let height = lines.len() as f32 * size * 1.35 + 10.0;
        self.ensure(height + 6.0);
        let top = self.y - 4.0;
        self.content()
            .set_fill_rgb(1.0, 0.957, 0.878)
            .set_stroke_rgb(0.88, 0.63, 0.25)
            .set_line_width(0.8)
            .rect(MARGIN, top - height, PAGE_W - 2.0 * MARGIN, height)
            .fill_nonzero_and_stroke()
            .set_fill_rgb(0.42, 0.23, 0.0);
        let mut y = top - 4.0;
        for line in lines {
            y -= size * 1.35;
            self.text_at(MARGIN + 8.0, y, size, false, &line);
        }
        self.content().set_fill_rgb(0.0, 0.0, 0.0);
        self.y = top - height - 8.0;
    }

    /// A table: a bold header row and rows; `widths` are fractions of the page width, and
    /// columns are right-aligned where `numeric` says so. A cell too wide for its column ends
    /// in "…".
    pub fn table(&mut self, header: &[&str], rows: &[Vec<Cell>], widths: &[f32], numeric: &[bool]) {
        let size = 9.0;
        let full = PAGE_W - 2.0 * MARGIN;
        let draw_row = |doc: &mut Self, cells: &[Cell], bold: bool| {
            doc.ensure(size * 1.6);
            doc.y -= size * 1.5;
            let y = doc.y;
            let mut x = MARGIN;
            for (i, cell) in cells.iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0.1) * full;
                let mut text = cell.text.clone();
                if doc.text_width(&text, size, bold) > w - 4.0 {
                    while doc.text_width(&format!("{text}…"), size, bold) > w - 4.0
                        && text.chars().count() > 1
                    {
                        text.pop();
                    }
                    text.push('…');
                }
                let tx = if numeric.get(i).copied().unwrap_or(false) {
                    x + w - 4.0 - doc.text_width(&text, size, bold)
                } else {
                    x
                };
                let (r, g, b) = cell.tone.rgb();
                doc.content().set_fill_rgb(r, g, b);
                doc.text_at(tx, y, size, bold, &text);
                x += w;
            }
            doc.content().set_fill_rgb(0.0, 0.0, 0.0);
        };
        // A short table is kept on one page; a long one keeps its header with two rows.
        let whole = (rows.len() + 1) as f32 * size * 1.5 + size;
        self.ensure(if whole < PAGE_H / 3.0 {
            whole
        } else {
            size * 4.6
        });
        let header: Vec<Cell> = header.iter().map(|h| Cell::from(*h)).collect();
        draw_row(self, &header, true);
        let rule = self.y - size * 0.45;
        self.content()
            .set_stroke_rgb(0.6, 0.65, 0.7)
            .set_line_width(0.5)
            .move_to(MARGIN, rule)
            .line_to(PAGE_W - MARGIN, rule)
            .stroke();
        for row in rows {
            draw_row(self, row, false);
        }
        self.y -= size * 0.8;
    }

    /// A heading kept on one page with the drawing under it, and an optional line of legend
    /// between them.
    pub fn figure(&mut self, title: &str, legend: Option<&str>, drawing: &Drawing, width: f32) {
        let width = width.min(PAGE_W - 2.0 * MARGIN);
        let height = drawing.height as f32 * width / drawing.width as f32;
        self.ensure(13.0 * 2.5 + if legend.is_some() { 14.0 } else { 0.0 } + height + 12.0);
        self.heading(title, 13.0);
        if let Some(legend) = legend {
            self.paragraph(legend, 8.0);
        }
        self.drawing(drawing, width);
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
                    let w = self.text_width(text, size, false);
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

    /// Every page's footer: title and organisation, who produced it and when, page number.
    fn footers(&mut self) {
        let count = self.pages.len();
        let size = 7.5;
        for i in 0..count {
            let number = self
                .meta
                .page_of
                .replacen("{}", &(i + 1).to_string(), 1)
                .replacen("{}", &count.to_string(), 1);
            let first = format!("{} · {}", self.meta.title, self.meta.subject);
            let second = self.meta.footer.clone();
            let number_w = self.text_width(&number, size, false);
            let texts = [
                (MARGIN, 34.0, first),
                (MARGIN, 24.0, second),
                (PAGE_W - MARGIN - number_w, 34.0, number),
            ];
            let encoded: Vec<(f32, f32, Vec<u8>)> = texts
                .into_iter()
                .map(|(x, y, text)| (x, y, self.encode(&text, false)))
                .collect();
            let content = &mut self.pages[i];
            content
                .set_stroke_rgb(0.75, 0.78, 0.82)
                .set_line_width(0.5)
                .move_to(MARGIN, 44.0)
                .line_to(PAGE_W - MARGIN, 44.0)
                .stroke()
                .set_fill_rgb(0.36, 0.40, 0.46);
            for (x, y, bytes) in &encoded {
                content
                    .begin_text()
                    .set_font(REGULAR, size)
                    .set_text_matrix([1.0, 0.0, 0.0, 1.0, *x, *y])
                    .show(Str(bytes))
                    .end_text();
            }
        }
    }

    /// The finished PDF file.
    pub fn finish(mut self) -> Result<Vec<u8>, PdfError> {
        self.footers();
        let mut pdf = Pdf::new();
        let mut next = 0;
        let mut alloc = || {
            next += 1;
            Ref::new(next)
        };
        let catalog = alloc();
        let tree = alloc();
        let info = alloc();
        let to_unicode = alloc();
        let fonts = [(REGULAR, alloc()), (BOLD, alloc())];
        let font_parts: Vec<[Ref; 5]> = (0..2)
            .map(|_| [alloc(), alloc(), alloc(), alloc(), alloc()])
            .collect();
        let ids: Vec<(Ref, Ref)> = self.pages.iter().map(|_| (alloc(), alloc())).collect();

        pdf.catalog(catalog)
            .pages(tree)
            .lang(TextStr(&self.meta.lang));
        pdf.pages(tree)
            .kids(ids.iter().map(|(page, _)| *page))
            .count(ids.len() as i32);
        let (year, month, day, hour, minute) = self.meta.produced;
        let date = Date::new(year)
            .month(month)
            .day(day)
            .hour(hour)
            .minute(minute);
        pdf.document_info(info)
            .title(TextStr(&self.meta.title))
            .author(TextStr(&self.meta.author))
            .subject(TextStr(&self.meta.subject))
            .creator(TextStr("Vaka"))
            .producer(TextStr("Vaka"))
            .creation_date(date);

        let system_info = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };
        let mut cmap = UnicodeCmap::new(Name(b"Vaka-UTF16"), system_info);
        for (i, c) in self.chars.iter().enumerate() {
            if let Ok(cid) = u16::try_from(i + 1) {
                cmap.pair(cid, *c);
            }
        }
        pdf.cmap(to_unicode, &cmap.finish());

        for (((_, font_ref), parts), (font, base)) in fonts.iter().zip(&font_parts).zip([
            (&self.regular, "VAKARG+DejaVuSans"),
            (&self.bold, "VAKABD+DejaVuSans-Bold"),
        ]) {
            let [cid_ref, descriptor_ref, file_ref, gid_map_ref, _] = *parts;
            let base = Name(base.as_bytes());
            pdf.type0_font(*font_ref)
                .base_font(base)
                .encoding_predefined(Name(b"Identity-H"))
                .descendant_font(cid_ref)
                .to_unicode(to_unicode);
            let mut widths = font.widths.clone();
            widths.resize(self.chars.len() + 1, 0.0);
            let mut cid_font = pdf.cid_font(cid_ref);
            cid_font
                .subtype(CidFontType::Type2)
                .base_font(base)
                .system_info(system_info)
                .font_descriptor(descriptor_ref)
                .default_width(0.0)
                .cid_to_gid_map_stream(gid_map_ref);
            cid_font.widths().consecutive(0, widths);
            cid_font.finish();
            let bbox = font.face.global_bounding_box();
            let ascent = font.scaled(font.face.ascender());
            pdf.font_descriptor(descriptor_ref)
                .name(base)
                .flags(FontFlags::NON_SYMBOLIC)
                .bbox(Rect::new(
                    font.scaled(bbox.x_min),
                    font.scaled(bbox.y_min),
                    font.scaled(bbox.x_max),
                    font.scaled(bbox.y_max),
                ))
                .italic_angle(0.0)
                .ascent(ascent)
                .descent(font.scaled(font.face.descender()))
                .cap_height(
                    font.face
                        .capital_height()
                        .map_or(ascent, |h| font.scaled(h)),
                )
                .stem_v(if font.data == BOLD_TTF { 140.0 } else { 80.0 })
                .font_file2(file_ref);
            let subset =
                subsetter::subset(font.data, 0, &font.remapper).map_err(PdfError::Subset)?;
            pdf.stream(file_ref, &subset)
                .pair(Name(b"Length1"), subset.len() as i32);
            let mut gid_map = Vec::with_capacity((self.chars.len() + 1) * 2);
            for cid in 0..=self.chars.len() {
                let gid = font.gids.get(cid).copied().unwrap_or(0);
                gid_map.extend_from_slice(&gid.to_be_bytes());
            }
            pdf.stream(gid_map_ref, &gid_map);
        }

        for (content, (page_id, content_id)) in self.pages.into_iter().zip(&ids) {
            let mut page = pdf.page(*page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
            page.parent(tree);
            page.contents(*content_id);
            let mut resources = page.resources();
            let mut font_dict = resources.fonts();
            for (name, id) in &fonts {
                font_dict.pair(*name, *id);
            }
            font_dict.finish();
            resources.finish();
            page.finish();
            pdf.stream(*content_id, &content.finish());
        }
        Ok(pdf.finish())
    }
}

/// The bytes of the PDF string starting at `pdf[start]` (`(` or `<`) and the index after it.
fn read_string(pdf: &[u8], start: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut i = start + 1;
    if pdf[start] == b'<' {
        let end = pdf[i..]
            .iter()
            .position(|b| *b == b'>')
            .map_or(pdf.len(), |p| i + p);
        let hex: Vec<u8> = pdf[i..end]
            .iter()
            .copied()
            .filter(u8::is_ascii_hexdigit)
            .collect();
        for pair in hex.chunks(2) {
            let text = std::str::from_utf8(pair).unwrap_or("0");
            let padded = if text.len() == 1 {
                format!("{text}0")
            } else {
                text.to_owned()
            };
            out.push(u8::from_str_radix(&padded, 16).unwrap_or(0));
        }
        return (out, end + 1);
    }
    let mut depth = 1;
    while i < pdf.len() {
        match pdf[i] {
            b'\\' if i + 1 < pdf.len() => {
                i += 1;
                if (b'0'..=b'7').contains(&pdf[i]) {
                    let mut value: u32 = 0;
                    let mut n = 0;
                    while n < 3 && i < pdf.len() && (b'0'..=b'7').contains(&pdf[i]) {
                        value = value * 8 + u32::from(pdf[i] - b'0');
                        i += 1;
                        n += 1;
                    }
                    out.push((value & 0xff) as u8);
                    continue;
                }
                match pdf[i] {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'\n' | b'\r' => {}
                    other => out.push(other),
                }
            }
            b'(' => {
                depth += 1;
                out.push(b'(');
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return (out, i + 1);
                }
                out.push(b')');
            }
            other => out.push(other),
        }
        i += 1;
    }
    (out, i)
}

/// The text a PDF written by [`Document`] shows, one line per string drawn: each string's
/// character numbers read through the file's `ToUnicode` map. What a reader of the file sees,
/// for tests.
pub fn shown_text(pdf: &[u8]) -> String {
    // The ToUnicode map: `<cid> <utf-16be>` pairs between beginbfchar and endbfchar.
    let mut map: HashMap<u16, String> = HashMap::new();
    let text = String::from_utf8_lossy(pdf);
    for block in text.split("beginbfchar").skip(1) {
        let block = block.split("endbfchar").next().unwrap_or_default();
        for line in block.lines() {
            let parts: Vec<&str> = line
                .split(['<', '>', ' '])
                .filter(|p| !p.is_empty())
                .collect();
            if let [cid, unicode] = parts[..] {
                let units: Vec<u16> = (0..unicode.len() / 4)
                    .filter_map(|k| u16::from_str_radix(&unicode[k * 4..k * 4 + 4], 16).ok())
                    .collect();
                if let Ok(cid) = u16::from_str_radix(cid, 16) {
                    map.insert(cid, String::from_utf16_lossy(&units));
                }
            }
        }
    }
    let mut out = String::new();
    // Content streams are plain ASCII (strings escaped or in hex); font files are not.
    let mut rest = pdf;
    while let Some(start) = find(rest, b"stream\n") {
        let body = &rest[start + 7..];
        let end = find(body, b"endstream").unwrap_or(body.len());
        let stream = &body[..end];
        rest = &body[end..];
        if stream.is_ascii() && find(stream, b"Tj").is_some() {
            shown_in(stream, &map, &mut out);
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The strings drawn with `Tj` in one content stream, decoded through `map`.
fn shown_in(pdf: &[u8], map: &HashMap<u16, String>, out: &mut String) {
    let mut i = 0;
    while i < pdf.len() {
        let is_string =
            pdf[i] == b'(' || (pdf[i] == b'<' && pdf.get(i + 1).is_some_and(u8::is_ascii_hexdigit));
        if !is_string {
            i += 1;
            continue;
        }
        let (bytes, end) = read_string(pdf, i);
        let rest = &pdf[end.min(pdf.len())..];
        let after = rest
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map_or(rest, |p| &rest[p..]);
        if after.starts_with(b"Tj") {
            for pair in bytes.chunks(2) {
                let cid = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
                out.push_str(map.get(&cid).map_or("\u{fffd}", String::as_str));
            }
            out.push('\n');
        }
        i = end.max(i + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            title: "Lägesbild".into(),
            author: "Sara".into(),
            subject: "Nattvandrarna".into(),
            footer: "Framtagen av Sara".into(),
            page_of: "Sida {} av {}".into(),
            lang: "sv".into(),
            produced: (2026, 11, 21, 14, 5),
        }
    }

    #[test]
    fn every_character_a_report_uses_reads_back_as_itself() {
        let mut doc = Document::new(meta()).expect("fonts");
        doc.heading("Lägesbild åäö ÅÄÖ", 18.0);
        doc.paragraph("−4 · 62,4 timmar · 1–3 · ≤ 5 · «citat» … é ü", 10.0);
        doc.table(
            &["Område", "Förändring"],
            &[vec!["Centrum".into(), Cell::toned("−2", Tone::Good)]],
            &[0.5, 0.5],
            &[false, true],
        );
        let bytes = doc.finish().expect("pdf");
        assert!(bytes.starts_with(b"%PDF-"));
        let shown = shown_text(&bytes);
        for line in [
            "Lägesbild åäö ÅÄÖ",
            "−4 · 62,4 timmar · 1–3 · ≤ 5 · «citat» … é ü",
            "−2",
            "Lägesbild · Nattvandrarna",
            "Sida 1 av 1",
        ] {
            assert!(shown.lines().any(|l| l == line), "{line} in {shown}");
        }
        assert!(!shown.contains('\u{fffd}'), "{shown}");
        let raw = String::from_utf8_lossy(&bytes);
        assert!(raw.contains("/FontFile2"), "the font is embedded");
        assert!(raw.contains("+DejaVuSans"), "as a subset");
        assert!(!raw.contains("Helvetica"));
    }

    #[test]
    fn the_subset_is_far_smaller_than_the_font() {
        let mut doc = Document::new(meta()).expect("fonts");
        doc.paragraph(&"ord ".repeat(400), 10.0);
        let bytes = doc.finish().expect("pdf");
        assert!(bytes.len() < REGULAR_TTF.len() / 4, "{} bytes", bytes.len());
        assert!(shown_text(&bytes).contains("ord ord"));
    }
}
