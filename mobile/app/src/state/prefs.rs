//! The user's settings on this phone, kept in the device's settings table.

use crate::theme::ThemeChoice;
use dioxus::prelude::*;
use vaka_device::{Device, DeviceError};
use vaka_shared::model::Lang;

/// The user's settings on this phone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prefs {
    /// Language.
    pub lang: Lang,
    /// Theme.
    pub theme: ThemeChoice,
    /// Whether the location service is used.
    pub location_on: bool,
    /// Whether photos wait for Wi-Fi.
    pub photos_wifi_only: bool,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            lang: Lang::Sv,
            theme: ThemeChoice::Auto,
            location_on: true,
            photos_wifi_only: false,
        }
    }
}

impl Prefs {
    /// Reads the settings stored on the device.
    pub fn load(device: &Device) -> Result<Self, DeviceError> {
        let mut prefs = Self::default();
        if let Some(lang) = device.setting("lang")? {
            prefs.lang = if lang == "en" { Lang::En } else { Lang::Sv };
        }
        if let Some(theme) = device.setting("theme")? {
            prefs.theme = ThemeChoice::parse(&theme);
        }
        if let Some(on) = device.setting("location")? {
            prefs.location_on = on == "on";
        }
        if let Some(wifi) = device.setting("photos_wifi_only")? {
            prefs.photos_wifi_only = wifi == "on";
        }
        Ok(prefs)
    }

    pub(super) fn store(&self, device: &Device) -> Result<(), DeviceError> {
        let on = |b: bool| if b { "on" } else { "off" };
        device.set_setting("lang", if self.lang == Lang::En { "en" } else { "sv" })?;
        device.set_setting("theme", self.theme.as_str())?;
        device.set_setting("location", on(self.location_on))?;
        device.set_setting("photos_wifi_only", on(self.photos_wifi_only))
    }
}
