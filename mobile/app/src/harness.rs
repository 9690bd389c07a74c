//! Driving the app's real webview from a harness (the window test and the benchmark): run
//! script in the page, tap and type into elements by their `data-test` name, read text, wait
//! with a deadline. The app itself does not use this.

use dioxus::prelude::*;
use std::time::{Duration, Instant};

/// A step that did not work out.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The script could not run or answer.
    #[error("script in the webview failed: {0}")]
    Script(String),
    /// Something did not appear in time.
    #[error("{what} did not happen within {within:?}")]
    Timeout {
        /// What was waited for.
        what: String,
        /// How long.
        within: Duration,
    },
    /// The element cannot be tapped.
    #[error("{0} is disabled")]
    Disabled(String),
}

/// Runs `body` (the body of an async JavaScript function) in the webview and returns what it
/// returned. The script waits for the answer to be taken before it ends: a script that ended
/// before its answer was read would take the answer with it.
pub async fn run(body: &str) -> Result<serde_json::Value, HarnessError> {
    let script = format!(
        "const answer = await (async () => {{ {body} }})(); dioxus.send(answer === undefined ? null : answer); await dioxus.recv();"
    );
    let mut eval = document::eval(&script);
    let answer = eval
        .recv::<serde_json::Value>()
        .await
        .map_err(|e| HarnessError::Script(format!("{e:?}")))?;
    let _ = eval.send(true);
    Ok(answer)
}

/// The CSS selector of a `data-test` name.
pub fn test_id(name: &str) -> String {
    format!("[data-test=\"{name}\"]")
}

/// Whether an element matches `selector`.
pub async fn exists(selector: &str) -> Result<bool, HarnessError> {
    let body = format!(
        "return document.querySelector({}) !== null",
        serde_json::Value::String(selector.into())
    );
    Ok(run(&body).await? == serde_json::Value::Bool(true))
}

/// Waits until an element matches `selector`, polling every `every`.
pub async fn wait_for(
    selector: &str,
    within: Duration,
    every: Duration,
) -> Result<(), HarnessError> {
    let deadline = Instant::now() + within;
    loop {
        if exists(selector).await? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(HarnessError::Timeout {
                what: format!("{selector} appearing"),
                within,
            });
        }
        tokio::time::sleep(every).await;
    }
}

/// Taps the element named `name` (once it exists), as a finger would. One script in the
/// webview finds and taps it when it is there already, so a tap costs one trip.
pub async fn tap(name: &str, within: Duration) -> Result<(), HarnessError> {
    let body = format!(
        "const el = document.querySelector({}); if (el === null) return 'missing'; if (el.disabled) return 'disabled'; el.click(); return 'tapped'",
        serde_json::Value::String(test_id(name))
    );
    let deadline = Instant::now() + within;
    loop {
        match run(&body).await?.as_str() {
            Some("tapped") => return Ok(()),
            Some("disabled") => return Err(HarnessError::Disabled(name.into())),
            _ => {}
        }
        if Instant::now() > deadline {
            return Err(HarnessError::Timeout {
                what: format!("{} appearing", test_id(name)),
                within,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Taps the element named `name` (it must be there) and waits, inside the page, until an
/// element matches each of `shown` and the next frame after it has been drawn; returns, for
/// each, the milliseconds from the tap to then, as the page's own clock counts them. The times
/// are the page's, so the trips of the harness's scripts are not in them: what a finger on the
/// screen would wait.
pub async fn tap_until_shown(
    name: &str,
    shown: &[&str],
    within: Duration,
) -> Result<Vec<f64>, HarnessError> {
    let body = format!(
        "const el = document.querySelector({name}); if (el === null) return 'missing'; if (el.disabled) return 'disabled';
         const wanted = {shown};
         const drawn = wanted.map(() => null);
         const seen = wanted.map(() => false);
         const start = performance.now();
         el.click();
         const all = await new Promise((resolve) => {{
           const look = () => {{
             wanted.forEach((selector, i) => {{
               if (!seen[i] && document.querySelector(selector) !== null) {{
                 seen[i] = true;
                 requestAnimationFrame(() => setTimeout(() => {{
                   drawn[i] = performance.now() - start;
                   if (drawn.every((t) => t !== null)) {{ observer.disconnect(); resolve(true); }}
                 }}, 0));
               }}
             }});
           }};
           const observer = new MutationObserver(look);
           observer.observe(document.body, {{ childList: true, subtree: true, attributes: true }});
           look();
           setTimeout(() => {{ observer.disconnect(); resolve(false); }}, {within});
         }});
         return all ? drawn : 'timeout';",
        name = serde_json::Value::String(test_id(name)),
        shown = serde_json::Value::from(shown.to_vec()),
        within = within.as_millis(),
    );
    let answer = run(&body).await?;
    if let Some(times) = answer.as_array() {
        return Ok(times.iter().filter_map(serde_json::Value::as_f64).collect());
    }
    match answer.as_str() {
        Some("disabled") => Err(HarnessError::Disabled(name.into())),
        Some("timeout") => Err(HarnessError::Timeout {
            what: format!("{shown:?} appearing after tapping {name}"),
            within,
        }),
        _ => Err(HarnessError::Script(format!(
            "{name} is not there: {answer}"
        ))),
    }
}

/// Types `text` into the input named `name`.
pub async fn type_into(name: &str, text: &str, within: Duration) -> Result<(), HarnessError> {
    let selector = test_id(name);
    wait_for(&selector, within, Duration::from_millis(20)).await?;
    let body = format!(
        "const el = document.querySelector({}); el.value = {}; el.dispatchEvent(new Event('input', {{ bubbles: true }})); return true",
        serde_json::Value::String(selector),
        serde_json::Value::String(text.into())
    );
    run(&body).await.map(|_| ())
}

/// The visible text of the element named `name` (empty when there is none).
pub async fn text_of(name: &str) -> Result<String, HarnessError> {
    let body = format!(
        "const el = document.querySelector({}); return el ? el.innerText : ''",
        serde_json::Value::String(test_id(name))
    );
    Ok(run(&body).await?.as_str().unwrap_or_default().to_owned())
}

/// Waits until the text of the element named `name` contains `needle`.
pub async fn wait_text(name: &str, needle: &str, within: Duration) -> Result<(), HarnessError> {
    let deadline = Instant::now() + within;
    loop {
        if text_of(name).await?.contains(needle) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(HarnessError::Timeout {
                what: format!("{name} saying {needle:?}"),
                within,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
