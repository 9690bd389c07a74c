//! Photos as the phone keeps them: decoded, shrunk so the longer side is at most
//! [`MAX_SIDE`] pixels and encoded again as JPEG. Re-encoding from pixels keeps no metadata, so
//! EXIF (with GPS position, camera serial and time) never leaves the phone.

use image::ImageReader;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use std::io::Cursor;

/// The longest side of a stored photo, in pixels.
pub const MAX_SIDE: u32 = 1600;

/// JPEG quality of stored photos.
const QUALITY: u8 = 82;

/// A photo could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the photo could not be read: {0}")]
pub struct PhotoError(#[from] image::ImageError);

/// A photo ready to store: JPEG bytes without metadata, and its size in pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedPhoto {
    /// The JPEG.
    pub jpeg: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Decodes a photo (JPEG or PNG), shrinks it to at most [`MAX_SIDE`] on its longer side and
/// encodes it as a JPEG with no metadata.
pub fn prepare(raw: &[u8]) -> Result<PreparedPhoto, PhotoError> {
    let image = ImageReader::new(Cursor::new(raw))
        .with_guessed_format()
        .map_err(image::ImageError::IoError)?
        .decode()?;
    let image = if image.width().max(image.height()) > MAX_SIDE {
        image.resize(MAX_SIDE, MAX_SIDE, FilterType::Triangle)
    } else {
        image
    };
    let rgb = image.to_rgb8();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, QUALITY).encode_image(&rgb)?;
    Ok(PreparedPhoto {
        jpeg,
        width: rgb.width(),
        height: rgb.height(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb};

    /// A JPEG of `width`×`height` with an EXIF segment holding a GPS marker.
    pub(crate) fn jpeg_with_exif(width: u32, height: u32) -> Vec<u8> {
        let pixels = ImageBuffer::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut plain = Vec::new();
        JpegEncoder::new_with_quality(&mut plain, 80)
            .encode_image(&pixels)
            .expect("encodes");
        // Insert an APP1 "Exif" segment right after the SOI marker.
        let payload = b"Exif\0\0MM\0*GPSLatitude 59.3293 N";
        let len = u16::try_from(payload.len() + 2).expect("small");
        let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1];
        with_exif.extend_from_slice(&len.to_be_bytes());
        with_exif.extend_from_slice(payload);
        with_exif.extend_from_slice(&plain[2..]);
        with_exif
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_large_photo_is_shrunk_to_1600_pixels_on_its_longer_side() {
        let photo = prepare(&jpeg_with_exif(2400, 1800)).expect("prepares");
        assert_eq!((photo.width, photo.height), (1600, 1200));
        let decoded = image::load_from_memory(&photo.jpeg).expect("a JPEG");
        assert_eq!((decoded.width(), decoded.height()), (1600, 1200));
    }

    #[test]
    fn a_small_photo_keeps_its_size() {
        let photo = prepare(&jpeg_with_exif(640, 480)).expect("prepares");
        assert_eq!((photo.width, photo.height), (640, 480));
    }

    #[test]
    fn exif_and_gps_are_stripped() {
        let raw = jpeg_with_exif(800, 600);
        assert!(contains(&raw, b"Exif") && contains(&raw, b"GPSLatitude"));
        let photo = prepare(&raw).expect("prepares");
        assert!(!contains(&photo.jpeg, b"Exif"));
        assert!(!contains(&photo.jpeg, b"GPSLatitude"));
    }

    #[test]
    fn something_that_is_not_a_photo_is_refused() {
        assert!(prepare(b"not a photo").is_err());
    }
}
