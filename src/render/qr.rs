//! QR codes as vector geometry: the module matrix, merged into horizontal runs so a symbol is
//! a few dozen rectangles rather than hundreds.

use fast_qr::{ECL, QRBuilder};

/// Light modules around the symbol, as the standard asks.
pub const QUIET_ZONE: usize = 4;

/// A QR symbol's dark modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub width: usize,
    pub dark: Vec<bool>,
}

impl Matrix {
    /// Encodes `payload` with medium error correction.
    pub fn encode(payload: &str) -> Result<Matrix, String> {
        let code = QRBuilder::new(payload.as_bytes())
            .ecl(ECL::M)
            .build()
            .map_err(|e| {
                format!(
                    "QR payload of {} bytes cannot be encoded: {e:?}",
                    payload.len()
                )
            })?;
        let width = code.size;
        Ok(Matrix {
            width,
            dark: code.data[..width * width]
                .iter()
                .map(|m| m.value())
                .collect(),
        })
    }

    /// Horizontal runs of dark modules: (column, row, length).
    pub fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for y in 0..self.width {
            let row = &self.dark[y * self.width..(y + 1) * self.width];
            let mut x = 0;
            while x < self.width {
                if row[x] {
                    let start = x;
                    while x < self.width && row[x] {
                        x += 1;
                    }
                    runs.push((start, y, x - start));
                } else {
                    x += 1;
                }
            }
        }
        runs
    }

    /// Modules across, quiet zone included.
    pub fn span(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rasterises the runs (not the matrix) at 4 px per module and decodes the picture.
    fn decode_runs(m: &Matrix) -> String {
        let scale = 4;
        let size = m.span() * scale;
        let mut dark = vec![false; size * size];
        for (x, y, len) in m.runs() {
            for py in (y + QUIET_ZONE) * scale..(y + QUIET_ZONE + 1) * scale {
                for px in (x + QUIET_ZONE) * scale..(x + QUIET_ZONE + len) * scale {
                    dark[py * size + px] = true;
                }
            }
        }
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(size, size, |x, y| {
            if dark[y * size + x] { 0 } else { 255 }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn runs_decode_back_to_the_payload() {
        for payload in [
            "tel:+442079460000,,123456789012%23",
            "tel:+33123456789,,900000000001%23",
            "x",
        ] {
            let m = Matrix::encode(payload).unwrap();
            assert_eq!(decode_runs(&m), payload);
            let modules = m.dark.iter().filter(|d| **d).count();
            let covered: usize = m.runs().iter().map(|r| r.2).sum();
            assert_eq!(modules, covered);
            assert!(m.runs().len() < modules, "runs merge modules");
        }
    }
}
