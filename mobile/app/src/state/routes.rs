//! The screens the app shows.

/// The screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// First start: enrol with a code.
    Enroll,
    /// Start patrol, log, sync state.
    Home,
    /// Choose kind and walkers, then start.
    StartPatrol,
    /// The patrol under way.
    Patrol,
    /// Summary and "all home safe".
    EndPatrol,
    /// The incident form.
    Incident,
    /// The observation form.
    Observation,
    /// My entries with status and comments.
    Entries,
    /// Settings.
    Settings,
}
