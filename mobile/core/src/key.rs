//! The key of the device's encrypted database (SQLCipher): a random 256-bit key, used raw (no
//! passphrase, so no key derivation on every open). On the desktop build it lives in a key file
//! beside the database that only the user may read (mode 0600); a platform keystore can hand
//! one in with [`KeySource::Key`] instead.

use super::error::{DeviceError, Result};
use rand::RngCore;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bytes in a key.
const KEY_BYTES: usize = 32;

/// A database key. Its bytes never appear in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct DbKey([u8; KEY_BYTES]);

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(<secret>)")
    }
}

impl DbKey {
    /// A new random key from the operating system's generator (through `rand`'s thread-local
    /// cryptographic generator, seeded from it).
    pub fn random() -> Self {
        let mut bytes = [0; KEY_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A key from its 64 hexadecimal digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != KEY_BYTES * 2 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0; KEY_BYTES];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// The key as 64 lower-case hexadecimal digits.
    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The key in the form SQLCipher takes a raw key in (`x'…'`), for `PRAGMA key` and
    /// `ATTACH … KEY`.
    pub(crate) fn sqlcipher_literal(&self) -> String {
        format!("x'{}'", self.hex())
    }
}

/// Where the device's database key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A key file (created with a new random key when missing), readable only by the user.
    File(PathBuf),
    /// A key the caller holds (e.g. from a platform keystore).
    Key(DbKey),
}

impl KeySource {
    /// The key file beside a database file: `device.db` has `device.db.key`.
    pub fn beside(db: &Path) -> Self {
        Self::File(key_file_beside(db))
    }

    /// The key: read from the file (or made and written there), or the one given.
    pub(crate) fn key(&self) -> Result<DbKey> {
        match self {
            Self::Key(key) => Ok(key.clone()),
            Self::File(path) => load_or_create(path),
        }
    }
}

/// The key file of the database file `db`: `device.db` has `device.db.key`.
pub(crate) fn key_file_beside(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".key");
    db.with_file_name(name)
}

/// Reads the key file at `path`; a missing one is an error.
pub(crate) fn load_existing(path: &Path) -> Result<DbKey> {
    let text = std::fs::read_to_string(path).map_err(|source| DeviceError::KeyFile {
        path: path.to_owned(),
        source,
    })?;
    DbKey::from_hex(&text).ok_or_else(|| DeviceError::damaged("key file", "not a key"))
}

/// Reads the key file at `path`, or writes a new random key there when there is none.
fn load_or_create(path: &Path) -> Result<DbKey> {
    let key_error = |source| DeviceError::KeyFile {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            only_the_user_may_read(path).map_err(key_error)?;
            DbKey::from_hex(&text).ok_or_else(|| DeviceError::damaged("key file", "not a key"))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = DbKey::random();
            write_new(path, &key).map_err(key_error)?;
            Ok(key)
        }
        Err(error) => Err(key_error(error)),
    }
}

/// Writes `key` to a new file beside `path` (mode 0600 from the start), syncs it, and renames
/// it to `path`, so a crash leaves either no key file or a whole one.
fn write_new(path: &Path, key: &DbKey) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    let temporary = path.with_file_name(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary)?;
    file.write_all(key.hex().as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename is durable once the folder is synced (not possible on every platform).
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// Takes away any access of the group and others that a key file was given by hand.
fn only_the_user_may_read(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!("the device's key file was readable by others; now by the user only");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_its_hex_form_and_hides_in_debug_output() {
        let key = DbKey::random();
        assert_eq!(DbKey::from_hex(&key.hex()), Some(key.clone()));
        assert_ne!(key, DbKey::random());
        assert_eq!(format!("{key:?}"), "DbKey(<secret>)");
        assert!(DbKey::from_hex("abc").is_none());
        assert!(DbKey::from_hex(&"zz".repeat(32)).is_none());
        assert!(key.sqlcipher_literal().starts_with("x'"));
    }

    #[test]
    fn the_key_file_is_made_once_and_readable_only_by_the_user() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = KeySource::beside(&dir.path().join("device.db"));
        let KeySource::File(path) = &source else {
            panic!("a key file");
        };
        assert_eq!(
            path.file_name().and_then(|n| n.to_str()),
            Some("device.db.key")
        );
        let first = source.key().expect("made");
        assert_eq!(source.key().expect("read"), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
                .expect("loosened");
            assert_eq!(source.key().expect("read"), first);
            let mode = std::fs::metadata(path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "tightened again");
        }
    }
}
