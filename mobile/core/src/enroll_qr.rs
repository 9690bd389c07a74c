//! Reading the enrolment QR code from a photo: the picture decoded with `image`, the QR code
//! found and read with `rqrr`, its text parsed as an [`EnrollLink`] (docs/protocol.md,
//! "Enrolment by QR code"). Pure and blocking: the app runs it on a blocking thread.

use image::ImageReader;
use image::imageops::FilterType;
use std::io::Cursor;
use vaka_shared::enroll_link::{EnrollLink, EnrollLinkError};

/// The longest side a photo is shrunk to before the QR code is looked for, in pixels. A phone's
/// camera takes 4000 px and more; a code held up to it is found as well at this size, much
/// faster. A picture where the code is not found at this size is searched at full size too.
pub const SCAN_SIDE: u32 = 1200;

/// Why a photo gave no enrolment link.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The bytes are not a picture (JPEG or PNG) that decodes.
    #[error("the picture could not be read: {0}")]
    NotAPicture(#[from] image::ImageError),
    /// The picture holds no QR code that could be read.
    #[error("no readable QR code in the picture")]
    NoQrCode,
    /// The QR code holds something other than a Vaka enrolment link.
    #[error("the QR code is not a Vaka enrolment link: {0}")]
    NotAVakaLink(#[source] EnrollLinkError),
}

/// The enrolment link in the QR code of a photo (JPEG or PNG). When the picture holds several
/// codes, the first that is a Vaka link counts.
pub fn read_enroll_link(photo: &[u8]) -> Result<EnrollLink, ScanError> {
    let picture = ImageReader::new(Cursor::new(photo))
        .with_guessed_format()
        .map_err(image::ImageError::IoError)?
        .decode()?;
    let full = picture.to_luma8();
    let texts = if full.width().max(full.height()) > SCAN_SIDE {
        let small = image::imageops::resize(
            &full,
            scaled(full.width(), full.height()),
            scaled(full.height(), full.width()),
            FilterType::Triangle,
        );
        let found = qr_texts(&small);
        if found.is_empty() {
            qr_texts(&full)
        } else {
            found
        }
    } else {
        qr_texts(&full)
    };
    let mut refusal = None;
    for text in &texts {
        match EnrollLink::parse(text) {
            Ok(link) => return Ok(link),
            Err(error) => refusal = refusal.or(Some(error)),
        }
    }
    Err(refusal.map_or(ScanError::NoQrCode, ScanError::NotAVakaLink))
}

/// `side` scaled so that the longer of `side` and `other` becomes [`SCAN_SIDE`].
fn scaled(side: u32, other: u32) -> u32 {
    let longer = u64::from(side.max(other)).max(1);
    let side = u64::from(side) * u64::from(SCAN_SIDE) / longer;
    u32::try_from(side).unwrap_or(SCAN_SIDE).max(1)
}

/// The texts of every QR code found in a greyscale picture.
fn qr_texts(picture: &image::GrayImage) -> Vec<String> {
    let (width, height) = (picture.width() as usize, picture.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        // x < width and y < height, both from u32.
        picture.get_pixel(x as u32, y as u32).0[0]
    });
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::qr_png;
    use image::{GrayImage, Luma};

    const LINK: &str = "vaka:enroll?server=https%3A%2F%2Fvaka.example.se&code=K7QM-2XNP-84RT";

    #[test]
    fn a_photo_of_the_dashboards_code_gives_its_server_and_code() {
        let link = read_enroll_link(&qr_png(LINK, 8)).expect("reads");
        assert_eq!(link.server, "https://vaka.example.se");
        assert_eq!(link.code, "K7QM-2XNP-84RT");
    }

    #[test]
    fn a_large_photo_is_read_after_shrinking() {
        // 37 modules × 70 px: 2590 px, above the scan size.
        let link = read_enroll_link(&qr_png(LINK, 70)).expect("reads");
        assert_eq!(link.code, "K7QM-2XNP-84RT");
    }

    #[test]
    fn a_picture_without_a_code_says_so() {
        let blank = GrayImage::from_pixel(300, 200, Luma([200]));
        let mut png = Cursor::new(Vec::new());
        blank
            .write_to(&mut png, image::ImageFormat::Png)
            .expect("encodes");
        assert!(matches!(
            read_enroll_link(&png.into_inner()),
            Err(ScanError::NoQrCode)
        ));
    }

    #[test]
    fn another_qr_code_is_not_a_vaka_link() {
        assert!(matches!(
            read_enroll_link(&qr_png("https://example.se/menu", 6)),
            Err(ScanError::NotAVakaLink(EnrollLinkError::NotALink))
        ));
    }

    #[test]
    fn bytes_that_are_no_picture_say_so() {
        assert!(matches!(
            read_enroll_link(b"not a picture"),
            Err(ScanError::NotAPicture(_))
        ));
    }
}
