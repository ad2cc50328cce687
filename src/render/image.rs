//! Artwork: PNG (decoded, re-compressed, alpha as a soft mask) and JPEG (passed through as
//! DCT data; only its header is read), and their conversion for press output.

use super::template::rgb_to_cmyk;

/// An image ready for a PDF image XObject.
#[derive(Debug, Clone)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub data: ImageData,
}

#[derive(Debug, Clone)]
pub enum ImageData {
    /// 8-bit samples: 1 (gray), 3 (RGB) or 4 (CMYK, made for press output) per pixel, and an
    /// optional 8-bit alpha plane.
    Raw {
        samples: Vec<u8>,
        components: u8,
        alpha: Option<Vec<u8>>,
    },
    /// A baseline or progressive JPEG with 1, 3 or 4 components.
    Jpeg { bytes: Vec<u8>, components: u8 },
}

impl Image {
    pub fn decode(bytes: &[u8]) -> Result<Image, String> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            decode_png(bytes)
        } else if bytes.starts_with(&[0xFF, 0xD8]) {
            jpeg_header(bytes)
        } else {
            Err("not a PNG or JPEG file".into())
        }
    }
}

impl Image {
    /// The image as press output prints it: gray stays gray, RGB becomes CMYK by the naive rule
    /// ([`rgb_to_cmyk`]), and transparency is flattened onto `backdrop`, the CMYK of what lies
    /// beneath (press output has no soft masks). An RGB JPEG is refused: cardmint does not
    /// decode JPEG data, so it cannot convert it.
    pub fn for_press(&self, backdrop: [f32; 4]) -> Result<Image, String> {
        let (samples, components, alpha) = match &self.data {
            ImageData::Jpeg { components: 3, .. } => {
                return Err(
                    "is an RGB JPEG: press output takes CMYK or gray JPEGs (convert it), \
                            or a PNG, which cardmint converts"
                        .into(),
                );
            }
            ImageData::Jpeg { .. } => return Ok(self.clone()),
            ImageData::Raw {
                components: 1,
                alpha: None,
                ..
            } => return Ok(self.clone()),
            ImageData::Raw {
                samples,
                components,
                alpha,
            } => (samples, *components as usize, alpha),
        };
        let pixels = (self.width as usize) * (self.height as usize);
        let mut cmyk = Vec::with_capacity(pixels * 4);
        for i in 0..pixels {
            let px = &samples[i * components..(i + 1) * components];
            let ink = match px {
                [g] => [0.0, 0.0, 0.0, 1.0 - f32::from(*g) / 255.0],
                [r, g, b] => rgb_to_cmyk(
                    f32::from(*r) / 255.0,
                    f32::from(*g) / 255.0,
                    f32::from(*b) / 255.0,
                ),
                _ => [
                    f32::from(px[0]) / 255.0,
                    f32::from(px[1]) / 255.0,
                    f32::from(px[2]) / 255.0,
                    f32::from(px[3]) / 255.0,
                ],
            };
            let a = alpha.as_ref().map_or(1.0, |a| f32::from(a[i]) / 255.0);
            for (c, under) in ink.iter().zip(backdrop) {
                cmyk.push(((a * c + (1.0 - a) * under) * 255.0).round() as u8);
            }
        }
        Ok(Image {
            width: self.width,
            height: self.height,
            data: ImageData::Raw {
                samples: cmyk,
                components: 4,
                alpha: None,
            },
        })
    }
}

fn decode_png(bytes: &[u8]) -> Result<Image, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader.output_buffer_size().ok_or("image too large")?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    buf.truncate(info.buffer_size());
    let (components, has_alpha) = match info.color_type {
        png::ColorType::Grayscale => (1, false),
        png::ColorType::GrayscaleAlpha => (1, true),
        png::ColorType::Rgb => (3, false),
        png::ColorType::Rgba => (3, true),
        png::ColorType::Indexed => return Err("palette PNG was not expanded".into()),
    };
    let (samples, alpha) = if has_alpha {
        let stride = components + 1;
        let mut samples = Vec::with_capacity(buf.len() / stride * components);
        let mut alpha = Vec::with_capacity(buf.len() / stride);
        for px in buf.chunks_exact(stride) {
            samples.extend_from_slice(&px[..components]);
            alpha.push(px[components]);
        }
        (samples, Some(alpha))
    } else {
        (buf, None)
    };
    Ok(Image {
        width: info.width,
        height: info.height,
        data: ImageData::Raw {
            samples,
            components: components as u8,
            alpha,
        },
    })
}

/// Reads a JPEG's size and components from its start-of-frame segment.
fn jpeg_header(bytes: &[u8]) -> Result<Image, String> {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return Err("malformed JPEG".into());
        }
        let marker = bytes[i + 1];
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let seg = bytes.get(i + 4..i + 2 + len).ok_or("truncated JPEG")?;
            if seg.len() < 6 {
                return Err("truncated JPEG".into());
            }
            let height = u16::from_be_bytes([seg[1], seg[2]]) as u32;
            let width = u16::from_be_bytes([seg[3], seg[4]]) as u32;
            let components = seg[5];
            if !matches!(components, 1 | 3 | 4) || width == 0 || height == 0 {
                return Err(format!(
                    "unsupported JPEG ({components} components, {width} x {height})"
                ));
            }
            return Ok(Image {
                width,
                height,
                data: ImageData::Jpeg {
                    bytes: bytes.to_vec(),
                    components,
                },
            });
        }
        i += 2 + len;
    }
    Err("JPEG without a frame header".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_logo_decodes_with_alpha() {
        let img = Image::decode(include_bytes!("../../templates/images/logo.png")).unwrap();
        assert_eq!((img.width, img.height), (96, 96));
        let ImageData::Raw {
            samples,
            components,
            alpha,
        } = img.data
        else {
            panic!()
        };
        assert_eq!(components, 3);
        assert_eq!(samples.len(), 96 * 96 * 3);
        assert_eq!(alpha.unwrap()[0], 0, "the corner is transparent");
    }

    #[test]
    fn press_images_are_cmyk_with_their_transparency_flattened_onto_the_backdrop() {
        let img = Image {
            width: 3,
            height: 1,
            data: ImageData::Raw {
                // Red, opaque; white, half transparent; black, fully transparent.
                samples: vec![255, 0, 0, 255, 255, 255, 0, 0, 0],
                components: 3,
                alpha: Some(vec![255, 128, 0]),
            },
        };
        let navy = [0.67, 0.39, 0.0, 0.66];
        let p = img.for_press(navy).unwrap();
        let ImageData::Raw {
            samples,
            components: 4,
            alpha: None,
        } = p.data
        else {
            panic!("{p:?}")
        };
        assert_eq!(&samples[0..4], &[0, 255, 255, 0], "red is M + Y");
        // Half white over navy: half the navy's inks.
        let half = |v: f32| (0.4980 * v * 255.0).round() as u8;
        assert_eq!(
            &samples[4..8],
            &[half(0.67), half(0.39), 0, half(0.66)],
            "{samples:?}"
        );
        assert_eq!(
            &samples[8..12],
            &[171, 99, 0, 168],
            "the backdrop shows through"
        );
        let jpeg = Image {
            width: 1,
            height: 1,
            data: ImageData::Jpeg {
                bytes: Vec::new(),
                components: 3,
            },
        };
        assert!(jpeg.for_press([0.0; 4]).unwrap_err().contains("RGB JPEG"));
    }

    #[test]
    fn jpeg_headers_and_junk() {
        // SOI, APP0 (len 4), SOF0: len 11, precision 8, height 2, width 3, 3 components.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8, 0, 2, 0, 3, 3, 1, 0x11, 0,
        ];
        let img = Image::decode(&jpeg).unwrap();
        assert_eq!((img.width, img.height), (3, 2));
        assert!(Image::decode(b"GIF89a").is_err());
    }
}
