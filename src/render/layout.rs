//! Imposition maths, pure: where each card of a sheet goes, front and back (mirrored for
//! duplex), with calibration offsets and a partly used first sheet, and where the crop marks
//! go. Millimetres, origin at the page's top-left corner, y downwards.

/// A card's size and bleed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CardGeometry {
    pub width: f64,
    pub height: f64,
    pub bleed: f64,
    pub radius: f64,
}

impl Default for CardGeometry {
    /// ISO/IEC 7810 ID-1 (CR80), 3 mm bleed.
    fn default() -> Self {
        CardGeometry {
            width: 85.60,
            height: 53.98,
            bleed: 3.0,
            radius: 3.18,
        }
    }
}

/// A sheet layout: page size, grid, first card origin and pitch.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub page_width: f64,
    pub page_height: f64,
    pub rows: usize,
    pub columns: usize,
    /// Top-left corner of the first card's trim box.
    pub origin_x: f64,
    pub origin_y: f64,
    /// Distance between the top-left corners of neighbouring cards.
    pub pitch_x: f64,
    pub pitch_y: f64,
    pub crop_marks: bool,
    /// Press output (single cards with bleed, press sheets: CMYK only, the scratch panel a
    /// plate) or an office sheet (card stock fed to an office printer).
    pub press: bool,
    /// The registered print condition press output is made for (its OutputIntent), by its
    /// identifier in the ICC registry: FOGRA39 (coated offset) unless the sheet says.
    pub output_condition: String,
    /// How the scratch panel prints unless the command line says otherwise.
    pub scratch: Scratch,
    /// The stock's own cards as its maker cuts them (width, height in mm), where they differ
    /// from the design's: the origin and pitch are the stock's, and the design is centred on
    /// each of its cards. `None`: the design's card.
    pub stock: Option<(f64, f64)>,
}

/// How far a design's card may differ from the stock's cards it is printed on, in mm per
/// dimension (ID-1 artwork on 85 x 54 mm business-card stock differs by 0.6 mm).
pub const STOCK_TOLERANCE: f64 = 1.0;

/// Rows or columns of a sheet at most (a press sheet of business cards has fewer than 20).
pub const MAX_GRID: usize = 50;
/// The largest page side, in mm (a B0 press sheet is 1414 mm).
pub const MAX_PAGE_MM: f64 = 2000.0;

/// The edge of the paper office printers cannot reach, in mm.
pub const OFFICE_MARGIN: f64 = 4.0;

/// How a design's scratch panel prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Scratch {
    /// Press: the panel in its spot colour, painted last and overprinting, a solid plate over
    /// the code and the QR, on its own layer.
    Plate,
    /// Office stock: a thin outline where a scratch-off sticker is applied by hand; the code
    /// prints plainly.
    Sticker,
    /// No panel at all (proofs, cards sealed some other way).
    None,
}

/// How backs are laid out against their fronts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Duplex {
    /// Backs mirrored left-right, each sheet's fronts then its backs: flip on the long edge.
    Long,
    /// Backs mirrored top-bottom: flip on the short edge.
    Short,
    /// Fronts and backs in two files; backs laid out for a long-edge flip.
    None,
}

/// Calibration offsets in mm, added after mirroring (a printer's own drift).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Offsets {
    pub front_x: f64,
    pub front_y: f64,
    pub back_x: f64,
    pub back_y: f64,
}

/// A rectangle in mm (top-left corner and size).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    pub fn right(&self) -> f64 {
        self.x + self.width
    }

    pub fn bottom(&self) -> f64 {
        self.y + self.height
    }

    pub fn contains(&self, other: &Rect) -> bool {
        const EPS: f64 = 1e-6;
        other.x >= self.x - EPS
            && other.y >= self.y - EPS
            && other.right() <= self.right() + EPS
            && other.bottom() <= self.bottom() + EPS
    }

    pub fn intersects(&self, other: &Rect) -> bool {
        self.x < other.right()
            && other.x < self.right()
            && self.y < other.bottom()
            && other.y < self.bottom()
    }

    pub fn grow(&self, dx: f64, dy: f64) -> Rect {
        Rect {
            x: self.x - dx,
            y: self.y - dy,
            width: self.width + 2.0 * dx,
            height: self.height + 2.0 * dy,
        }
    }
}

/// One card on a page: its trim box and the area it may paint (the bleed, cut back to half
/// the gap where neighbours are closer than two bleeds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub slot: usize,
    pub trim: Rect,
    pub clip: Rect,
    /// Drawn turned half a turn about its centre: a back for a short-edge flip, so that each
    /// cut card's back reads upright when the card is turned over like a page, as with a
    /// long-edge flip.
    pub turned: bool,
}

/// A crop mark: a line segment in mm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

const MARK_GAP: f64 = 1.0;
const MARK_LENGTH: f64 = 4.0;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayoutError {
    #[error("sheet {sheet}: {reason}")]
    Sheet { sheet: String, reason: String },
}

impl Sheet {
    pub fn per_sheet(&self) -> usize {
        self.rows * self.columns
    }

    /// The size of one card of the stock (the design's card unless the stock's differ).
    pub fn cell(&self, card: &CardGeometry) -> (f64, f64) {
        self.stock.unwrap_or((card.width, card.height))
    }

    /// How much of the design's card the stock's cut takes off each side (x, y), in mm: the
    /// design is centred on a smaller stock card. Content must keep clear of it.
    pub fn cut_off(&self, card: &CardGeometry) -> (f64, f64) {
        let (w, h) = self.cell(card);
        (
            ((card.width - w) / 2.0).max(0.0),
            ((card.height - h) / 2.0).max(0.0),
        )
    }

    /// The top-left corner of the design's trim box in the stock cell at (x, y).
    fn centred(&self, card: &CardGeometry, x: f64, y: f64) -> (f64, f64) {
        let (w, h) = self.cell(card);
        (x + (w - card.width) / 2.0, y + (h - card.height) / 2.0)
    }

    /// Checks that the grid fits the page and cards do not overlap.
    pub fn check(&self, card: &CardGeometry) -> Result<(), LayoutError> {
        let err = |reason: String| LayoutError::Sheet {
            sheet: self.name.clone(),
            reason,
        };
        if self.rows == 0 || self.columns == 0 {
            return Err(err("rows and columns must be at least 1".into()));
        }
        if self.rows > MAX_GRID || self.columns > MAX_GRID {
            return Err(err(format!(
                "rows = {}, columns = {}: at most {MAX_GRID} each",
                self.rows, self.columns
            )));
        }
        for (key, v) in [
            ("page_width", self.page_width),
            ("page_height", self.page_height),
        ] {
            if !v.is_finite() || v <= 0.0 || v > MAX_PAGE_MM {
                return Err(err(format!(
                    "{key} = {v}: a page is between 0 and {MAX_PAGE_MM} mm"
                )));
            }
        }
        let (cell_w, cell_h) = self.cell(card);
        if let Some((w, h)) = self.stock {
            for (key, stock, design) in [
                ("card_width", w, card.width),
                ("card_height", h, card.height),
            ] {
                if (stock - design).abs() > STOCK_TOLERANCE + 1e-9 {
                    let effect = if stock < design {
                        "the cut would run through the artwork"
                    } else {
                        "the artwork would leave a blank border"
                    };
                    return Err(err(format!(
                        "{key} = {stock}: the stock's cards differ from the design's \
                         ({design} mm) by more than {STOCK_TOLERANCE} mm, so {effect}: use \
                         stock made for {} x {} mm cards",
                        card.width, card.height
                    )));
                }
            }
        }
        if (self.columns > 1 && self.pitch_x + 1e-9 < cell_w)
            || (self.rows > 1 && self.pitch_y + 1e-9 < cell_h)
        {
            return Err(err(format!(
                "pitch {} x {} mm is smaller than the card ({} x {} mm): cards would overlap",
                self.pitch_x, self.pitch_y, cell_w, cell_h
            )));
        }
        let page = Rect {
            x: 0.0,
            y: 0.0,
            width: self.page_width,
            height: self.page_height,
        };
        let last = Rect {
            x: self.origin_x + self.pitch_x * (self.columns - 1) as f64,
            y: self.origin_y + self.pitch_y * (self.rows - 1) as f64,
            width: cell_w,
            height: cell_h,
        };
        let first = Rect {
            x: self.origin_x,
            y: self.origin_y,
            width: cell_w,
            height: cell_h,
        };
        if !page.contains(&first) || !page.contains(&last) {
            return Err(err(format!(
                "the {} x {} grid does not fit on the {} x {} mm page",
                self.columns, self.rows, self.page_width, self.page_height
            )));
        }
        if self.press {
            // A press sheet keeps every card's whole bleed: the guillotine cuts each card on
            // its own (double cuts), and the bleed must be on the paper.
            let b = card.bleed;
            for (key, pitch, size, n) in [
                ("pitch_x", self.pitch_x, card.width, self.columns),
                ("pitch_y", self.pitch_y, card.height, self.rows),
            ] {
                if n > 1 && pitch + 1e-9 < size + 2.0 * b {
                    return Err(err(format!(
                        "{key} = {pitch}: a press sheet keeps every card's {b} mm bleed, so \
                         neighbours need {} mm between them: make {key} at least {}",
                        2.0 * b,
                        size + 2.0 * b
                    )));
                }
            }
            if !page.contains(&first.grow(b, b)) || !page.contains(&last.grow(b, b)) {
                return Err(err(format!(
                    "the cards' {b} mm bleed runs off the page: move origin_x / origin_y in, or \
                     use a larger page_width / page_height"
                )));
            }
        }
        Ok(())
    }

    /// What an office printer may not print: cards closer than [`OFFICE_MARGIN`] mm to the
    /// paper's edge (most cannot reach it). Empty for press sheets (the shop trims them).
    pub fn warnings(&self, card: &CardGeometry) -> Vec<String> {
        if self.press {
            return Vec::new();
        }
        let (cell_w, cell_h) = self.cell(card);
        let right =
            self.page_width - (self.origin_x + self.pitch_x * (self.columns - 1) as f64 + cell_w);
        let bottom =
            self.page_height - (self.origin_y + self.pitch_y * (self.rows - 1) as f64 + cell_h);
        let closest = self.origin_x.min(self.origin_y).min(right).min(bottom);
        if closest + 1e-9 < OFFICE_MARGIN && self.rows * self.columns > 1 {
            vec![format!(
                "warning: on {} the cards come within {closest:.2} mm of the paper's edge; most \
                 office printers cannot print the outer {OFFICE_MARGIN} mm, so check a proof",
                self.name
            )]
        } else {
            Vec::new()
        }
    }

    /// The bleed each card may paint, horizontally and vertically.
    pub fn bleed(&self, card: &CardGeometry) -> (f64, f64) {
        let half_gap = |pitch: f64, size: f64, count: usize| {
            if count > 1 {
                ((pitch - size) / 2.0).max(0.0)
            } else {
                f64::INFINITY
            }
        };
        (
            card.bleed
                .min(half_gap(self.pitch_x, card.width, self.columns)),
            card.bleed
                .min(half_gap(self.pitch_y, card.height, self.rows)),
        )
    }

    /// The card of `slot` with its trim box at (`x`, `y`); `mirrored` (x, y) when the page is
    /// the back of a sheet flipped on that axis. Between two cards the bleed is cut back to half
    /// the gap; on an edge of the grid with no card beyond it, the card keeps its whole bleed
    /// (within the page).
    fn placement(
        &self,
        card: &CardGeometry,
        slot: usize,
        (x, y): (f64, f64),
        mirrored: (bool, bool),
    ) -> Placement {
        let trim = Rect {
            x,
            y,
            width: card.width,
            height: card.height,
        };
        let (bx, by) = self.bleed(card);
        let (row, col) = (slot / self.columns, slot % self.columns);
        let first_col = col == 0;
        let last_col = col + 1 == self.columns;
        let first_row = row == 0;
        let last_row = row + 1 == self.rows;
        let (left_outer, right_outer) = if mirrored.0 {
            (last_col, first_col)
        } else {
            (first_col, last_col)
        };
        let (top_outer, bottom_outer) = if mirrored.1 {
            (last_row, first_row)
        } else {
            (first_row, last_row)
        };
        let side = |outer: bool, inner: f64, room: f64| {
            if outer {
                card.bleed.min(room.max(0.0)).max(inner)
            } else {
                inner
            }
        };
        let left = side(left_outer, bx, x);
        let right = side(right_outer, bx, self.page_width - trim.right());
        let top = side(top_outer, by, y);
        let bottom = side(bottom_outer, by, self.page_height - trim.bottom());
        Placement {
            slot,
            trim,
            clip: Rect {
                x: x - left,
                y: y - top,
                width: card.width + left + right,
                height: card.height + top + bottom,
            },
            turned: false,
        }
    }

    /// Where the front of the card in `slot` goes (row-major, left to right, top to bottom).
    pub fn front(&self, card: &CardGeometry, slot: usize, offsets: &Offsets) -> Placement {
        let (row, col) = (slot / self.columns, slot % self.columns);
        let (x, y) = self.centred(
            card,
            self.origin_x + self.pitch_x * col as f64,
            self.origin_y + self.pitch_y * row as f64,
        );
        self.placement(
            card,
            slot,
            (x + offsets.front_x, y + offsets.front_y),
            (false, false),
        )
    }

    /// Where the back of the card in `slot` goes, so that it lands behind its own front.
    pub fn back(
        &self,
        card: &CardGeometry,
        slot: usize,
        duplex: Duplex,
        offsets: &Offsets,
    ) -> Placement {
        let (row, col) = (slot / self.columns, slot % self.columns);
        let (x, y) = self.centred(
            card,
            self.origin_x + self.pitch_x * col as f64,
            self.origin_y + self.pitch_y * row as f64,
        );
        let (x, y) = match duplex {
            Duplex::Long | Duplex::None => (self.page_width - x - card.width, y),
            Duplex::Short => (x, self.page_height - y - card.height),
        };
        let mirrored = match duplex {
            Duplex::Long | Duplex::None => (true, false),
            Duplex::Short => (false, true),
        };
        Placement {
            turned: duplex == Duplex::Short,
            ..self.placement(
                card,
                slot,
                (x + offsets.back_x, y + offsets.back_y),
                mirrored,
            )
        }
    }

    /// Crop marks outside the trim box at every card corner, short of the bleed, dropped where
    /// they would run into another card's printed area or off the page.
    pub fn crop_marks(&self, placements: &[Placement]) -> Vec<Mark> {
        if !self.crop_marks {
            return Vec::new();
        }
        let page = Rect {
            x: 0.0,
            y: 0.0,
            width: self.page_width,
            height: self.page_height,
        };
        let mut marks = Vec::new();
        for p in placements {
            let t = p.trim;
            // The bleed on each side (it may differ: whole on an outer edge).
            let (left, right) = (t.x - p.clip.x, p.clip.right() - t.right());
            let (top, bottom) = (t.y - p.clip.y, p.clip.bottom() - t.bottom());
            for (cx, cy, sx, sy) in [
                (t.x, t.y, -1.0, -1.0),
                (t.right(), t.y, 1.0, -1.0),
                (t.x, t.bottom(), -1.0, 1.0),
                (t.right(), t.bottom(), 1.0, 1.0),
            ] {
                let bx = if sx < 0.0 { left } else { right };
                let by = if sy < 0.0 { top } else { bottom };
                // Horizontal mark along the corner's horizontal trim line, outward in x.
                let h0 = cx + sx * (bx + MARK_GAP);
                let h1 = h0 + sx * MARK_LENGTH;
                // Vertical mark along the vertical trim line, outward in y.
                let v0 = cy + sy * (by + MARK_GAP);
                let v1 = v0 + sy * MARK_LENGTH;
                for m in [
                    Mark {
                        x1: h0,
                        y1: cy,
                        x2: h1,
                        y2: cy,
                    },
                    Mark {
                        x1: cx,
                        y1: v0,
                        x2: cx,
                        y2: v1,
                    },
                ] {
                    let bounds = Rect {
                        x: m.x1.min(m.x2),
                        y: m.y1.min(m.y2),
                        width: (m.x2 - m.x1).abs(),
                        height: (m.y2 - m.y1).abs(),
                    };
                    let hits_card = placements.iter().any(|o| {
                        o.clip
                            .grow(0.01, 0.01)
                            .intersects(&bounds.grow(0.001, 0.001))
                    });
                    if page.contains(&bounds) && !hits_card && !marks.contains(&m) {
                        marks.push(m);
                    }
                }
            }
        }
        marks
    }
}

/// Assigns `count` cards to (sheet, slot), starting at position `start` (1-based) of the first
/// sheet; positions before it stay empty.
pub fn assign(count: usize, start: usize, per_sheet: usize) -> Vec<(usize, usize)> {
    let skip = start.saturating_sub(1);
    (0..count)
        .map(|i| ((i + skip) / per_sheet, (i + skip) % per_sheet))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a4() -> Sheet {
        Sheet {
            name: "a4".into(),
            page_width: 210.0,
            page_height: 297.0,
            rows: 5,
            columns: 2,
            origin_x: 14.4,
            origin_y: 11.51,
            pitch_x: 95.6,
            pitch_y: 55.0,
            crop_marks: true,
            press: false,
            output_condition: "FOGRA39".into(),
            scratch: Scratch::Sticker,
            stock: None,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_press_sheet_keeps_whole_bleeds_and_an_office_sheet_warns_near_the_edge() {
        let c = CardGeometry::default();
        let press = Sheet {
            press: true,
            ..a4()
        };
        // 55 mm rows leave 1.02 mm between cards: no room for two 3 mm bleeds.
        let e = press.check(&c).unwrap_err().to_string();
        assert!(
            e.contains("pitch_y = 55") && e.contains("at least 59.98"),
            "{e}"
        );
        let off = Sheet {
            pitch_y: 59.98,
            origin_y: 1.0,
            rows: 4,
            ..press.clone()
        };
        assert!(
            off.check(&c)
                .unwrap_err()
                .to_string()
                .contains("bleed runs off the page")
        );
        // The office A4 sheet is fine; one 3 mm from the edge is warned about.
        assert!(a4().warnings(&c).is_empty());
        let near = Sheet {
            origin_y: 3.0,
            ..a4()
        };
        near.check(&c).unwrap();
        assert!(
            near.warnings(&c)[0].contains("within 3.00 mm"),
            "{:?}",
            near.warnings(&c)
        );
    }

    #[test]
    fn fronts_go_row_major_and_backs_land_behind_their_fronts() {
        let s = a4();
        let c = CardGeometry::default();
        let o = Offsets::default();
        s.check(&c).unwrap();
        let f = s.front(&c, 3, &o); // row 1, column 1
        assert!(close(f.trim.x, 14.4 + 95.6) && close(f.trim.y, 11.51 + 55.0));
        // Long edge: same row, mirrored column, so x' = W - x - w.
        let b = s.back(&c, 3, Duplex::Long, &o);
        assert!(close(b.trim.x, 210.0 - f.trim.x - 85.6), "{b:?}");
        assert!(close(b.trim.y, f.trim.y));
        assert!(
            close(b.trim.x, s.front(&c, 2, &o).trim.x),
            "lands on column 0"
        );
        // Short edge: same column, mirrored row.
        let b = s.back(&c, 3, Duplex::Short, &o);
        assert!(close(b.trim.x, f.trim.x) && close(b.trim.y, 297.0 - f.trim.y - 53.98));
        assert!(close(b.trim.y, s.front(&c, 7, &o).trim.y), "lands on row 3");
    }

    #[test]
    fn offsets_apply_per_side_after_mirroring() {
        let s = a4();
        let c = CardGeometry::default();
        let o = Offsets {
            front_x: 0.5,
            front_y: -0.25,
            back_x: -1.0,
            back_y: 2.0,
        };
        let plain = Offsets::default();
        let f = s.front(&c, 0, &o);
        let f0 = s.front(&c, 0, &plain);
        assert!(close(f.trim.x - f0.trim.x, 0.5) && close(f.trim.y - f0.trim.y, -0.25));
        let b = s.back(&c, 0, Duplex::Long, &o);
        let b0 = s.back(&c, 0, Duplex::Long, &plain);
        assert!(close(b.trim.x - b0.trim.x, -1.0) && close(b.trim.y - b0.trim.y, 2.0));
    }

    #[test]
    fn bleed_is_cut_back_to_half_the_gap() {
        let s = a4();
        let c = CardGeometry::default();
        let (bx, by) = s.bleed(&c);
        assert!(close(bx, 3.0));
        assert!(close(by, (55.0 - 53.98) / 2.0));
        // The first row keeps its whole bleed on top (no card above), half the gap below; the
        // last row the other way round (both were cut back to half the gap on both sides).
        let p = s.front(&c, 0, &Offsets::default());
        assert!(close(p.clip.x, p.trim.x - 3.0) && close(p.clip.y, p.trim.y - 3.0));
        assert!(close(p.clip.bottom(), p.trim.bottom() + by));
        let last = s.front(&c, 9, &Offsets::default());
        assert!(close(last.clip.y, last.trim.y - by));
        assert!(close(last.clip.bottom(), last.trim.bottom() + 3.0));
        // A back flipped on the long edge: its outer columns are mirrored.
        let b = s.back(&c, 0, Duplex::Long, &Offsets::default());
        assert!(close(b.clip.right(), b.trim.right() + 3.0));
        assert!(close(b.clip.y, b.trim.y - 3.0) && close(b.clip.bottom(), b.trim.bottom() + by));
        // Flipped on the short edge, its rows are.
        let b = s.back(&c, 0, Duplex::Short, &Offsets::default());
        assert!(close(b.clip.y, b.trim.y - by) && close(b.clip.bottom(), b.trim.bottom() + 3.0));
    }

    #[test]
    fn start_position_skips_used_slots() {
        assert_eq!(assign(3, 9, 10), vec![(0, 8), (0, 9), (1, 0)]);
        assert_eq!(assign(2, 1, 10), vec![(0, 0), (0, 1)]);
        assert_eq!(assign(1, 0, 10), vec![(0, 0)]);
    }

    #[test]
    fn crop_marks_stay_outside_every_card_and_on_the_page() {
        let s = a4();
        let c = CardGeometry::default();
        let placements: Vec<Placement> = (0..10)
            .map(|i| s.front(&c, i, &Offsets::default()))
            .collect();
        let marks = s.crop_marks(&placements);
        assert!(!marks.is_empty());
        for m in &marks {
            for p in &placements {
                let inside = |x: f64, y: f64| {
                    x > p.clip.x && x < p.clip.right() && y > p.clip.y && y < p.clip.bottom()
                };
                assert!(!inside(m.x1, m.y1) && !inside(m.x2, m.y2), "{m:?} in {p:?}");
            }
            assert!(
                m.x1.min(m.x2) >= 0.0
                    && m.x1.max(m.x2) <= 210.0
                    && m.y1.min(m.y2) >= 0.0
                    && m.y1.max(m.y2) <= 297.0
            );
        }
        // Every cut line gets marks: the outer corners of the top-left card carry both.
        let tl = placements[0].trim;
        assert!(marks.iter().any(|m| m.y1 == tl.y && m.x2 < tl.x));
        assert!(marks.iter().any(|m| m.x1 == tl.x && m.y2 < tl.y));
    }

    #[test]
    fn id1_artwork_is_centred_on_smaller_stock_whose_rows_share_their_cut_lines() {
        // Avery C32011: 85 x 54 mm cards, 15 / 13.5 mm margins, pitch 95 x 54 mm.
        let s = Sheet {
            origin_x: 15.0,
            origin_y: 13.5,
            pitch_x: 95.0,
            pitch_y: 54.0,
            crop_marks: false,
            stock: Some((85.0, 54.0)),
            ..a4()
        };
        let c = CardGeometry::default();
        s.check(&c).unwrap();
        assert!(s.warnings(&c).is_empty());
        let f = s.front(&c, 3, &Offsets::default()); // row 1, column 1
        assert!(close(f.trim.x, 15.0 + 95.0 - 0.3), "{f:?}");
        assert!(close(f.trim.y, 13.5 + 54.0 + 0.01), "{f:?}");
        // Rows abut: the bleed stops at the shared cut; columns keep 3 mm.
        let (bx, by) = s.bleed(&c);
        assert!(close(bx, 3.0) && close(by, 0.01), "{bx} {by}");
        let (cx, cy) = s.cut_off(&c);
        assert!(close(cx, 0.3) && close(cy, 0.0));
        // Backs land behind their fronts on the stock's cards.
        let b = s.back(&c, 3, Duplex::Long, &Offsets::default());
        assert!(close(b.trim.x, s.front(&c, 2, &Offsets::default()).trim.x));
        // Business cards of 88.9 x 50.8 mm would cut through ID-1 artwork.
        let us = Sheet {
            stock: Some((88.9, 50.8)),
            pitch_x: 95.0,
            pitch_y: 50.8,
            origin_y: 20.0,
            ..s.clone()
        };
        let e = us.check(&c).unwrap_err().to_string();
        assert!(
            e.contains("card_width = 88.9") && e.contains("blank border"),
            "{e}"
        );
    }

    #[test]
    fn a_grid_of_absurd_size_is_refused_before_anything_is_allocated() {
        let mut s = a4();
        s.rows = 4_000_000_000;
        let e = s.check(&CardGeometry::default()).unwrap_err().to_string();
        assert!(e.contains("at most 50"), "{e}");
        let mut s = a4();
        s.page_width = 1e12;
        assert!(s.check(&CardGeometry::default()).is_err());
    }

    #[test]
    fn a_grid_that_does_not_fit_is_refused() {
        let mut s = a4();
        s.rows = 6;
        assert!(s.check(&CardGeometry::default()).is_err());
        let mut s = a4();
        s.pitch_x = 80.0;
        assert!(s.check(&CardGeometry::default()).is_err());
    }
}
