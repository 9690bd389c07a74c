//! Pictures from the webview's own file inputs (the camera on a phone): a photo for an entry,
//! or a picture of the enrolment QR code. The page reads the chosen files itself and hands their
//! bytes to the app, so taking a picture needs no native file dialog of the renderer (which on
//! Linux goes through a desktop portal that many machines lack, and does not exist on Android).
//! The app then stores a photo (shrunk and stripped) or reads the QR code in it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The `data-test` name of the photo input of the incident and observation forms.
pub const PHOTO_INPUT: &str = "photo-input";

/// The `data-test` name of the enrolment screen's input for a picture of the QR code.
pub const QR_INPUT: &str = "qr-input";

/// The script that keeps the renderer's own file dialog away from the two camera inputs (a
/// click on one goes to the webview, which opens the camera or the system's picker) and sends,
/// for each chosen file, the input's name and the file's bytes, base64-encoded.
pub const CAMERA_SCRIPT: &str = r#"
const cameraInputs = ["photo-input", "qr-input"];
const isCameraInput = (t) => t instanceof HTMLInputElement && cameraInputs.includes(t.dataset.test);
document.addEventListener("click", (e) => { if (isCameraInput(e.target)) e.stopPropagation(); }, true);
document.addEventListener("change", async (e) => {
  const input = e.target;
  if (!isCameraInput(input)) return;
  e.stopPropagation();
  for (const file of Array.from(input.files || [])) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    dioxus.send([input.dataset.test, btoa(text)]);
  }
  input.value = "";
}, true);
await new Promise(() => {});
"#;

/// A picture the page sent, by the input it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picture {
    /// A photo for the open form.
    Photo(Vec<u8>),
    /// A picture of an enrolment QR code.
    EnrollCode(Vec<u8>),
}

/// The picture the script sent as `(input, base64)`, if the input is known and the bytes decode.
pub fn picture(input: &str, sent: &str) -> Option<Picture> {
    let bytes = STANDARD
        .decode(sent)
        .ok()
        .filter(|bytes| !bytes.is_empty())?;
    match input {
        PHOTO_INPUT => Some(Picture::Photo(bytes)),
        QR_INPUT => Some(Picture::EnrollCode(bytes)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_and_the_inputs_agree_on_the_names() {
        assert!(CAMERA_SCRIPT.contains(&format!("\"{PHOTO_INPUT}\"")));
        assert!(CAMERA_SCRIPT.contains(&format!("\"{QR_INPUT}\"")));
    }

    #[test]
    fn sent_files_decode_by_their_input_and_nonsense_does_not() {
        let jpeg = vec![0xff, 0xd8, 0xff, 0xe0];
        assert_eq!(
            picture(PHOTO_INPUT, "/9j/4A=="),
            Some(Picture::Photo(jpeg.clone()))
        );
        assert_eq!(
            picture(QR_INPUT, "/9j/4A=="),
            Some(Picture::EnrollCode(jpeg))
        );
        assert_eq!(picture(PHOTO_INPUT, "not base64!"), None);
        assert_eq!(picture(PHOTO_INPUT, ""), None);
        assert_eq!(picture("other", "/9j/4A=="), None);
    }
}
