//! Photos from the webview's own file input (the camera on a phone). The page reads the chosen
//! files itself and hands their bytes to the app, so picking a photo needs no native file dialog
//! of the renderer (which on Linux goes through a desktop portal that many machines lack, and
//! does not exist on Android). The app then shrinks, strips and stores each one.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The `data-test` name of the photo input; the script below listens to it alone.
pub const PHOTO_INPUT: &str = "photo-input";

/// The script that keeps the renderer's own file dialog away from the photo input (a click on
/// it goes to the webview, which opens the camera or the system's picker) and sends the bytes of
/// each chosen file, base64-encoded.
pub const PHOTO_SCRIPT: &str = r#"
const isPhotoInput = (t) => t instanceof HTMLInputElement && t.dataset.test === "photo-input";
document.addEventListener("click", (e) => { if (isPhotoInput(e.target)) e.stopPropagation(); }, true);
document.addEventListener("change", async (e) => {
  const input = e.target;
  if (!isPhotoInput(input)) return;
  e.stopPropagation();
  for (const file of Array.from(input.files || [])) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    dioxus.send(btoa(text));
  }
  input.value = "";
}, true);
await new Promise(() => {});
"#;

/// The bytes of a file the script sent, if they decode.
pub fn photo_bytes(sent: &str) -> Option<Vec<u8>> {
    STANDARD.decode(sent).ok().filter(|bytes| !bytes.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_and_the_input_agree_on_the_name() {
        assert!(PHOTO_SCRIPT.contains(&format!("\"{PHOTO_INPUT}\"")));
    }

    #[test]
    fn sent_files_decode_and_nonsense_does_not() {
        assert_eq!(photo_bytes("/9j/4A=="), Some(vec![0xff, 0xd8, 0xff, 0xe0]));
        assert_eq!(photo_bytes("not base64!"), None);
        assert_eq!(photo_bytes(""), None);
    }
}
