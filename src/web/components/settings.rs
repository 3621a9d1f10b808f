//! Settings fields of the Train step: one input sets one training setting, through the same
//! validation the engine and the command line use.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::AppContext;
use crate::page::protocol::Level;
use crate::training::{Monitor, TrainingConfig};
use crate::web::state::Action;

/// How one field puts its value into the settings.
pub type Apply = fn(&mut TrainingConfig, &HtmlInputElement) -> Result<(), String>;

/// A setter for one setting: `apply` parses the input into the settings; the settings as a
/// whole are then checked, and either become the page's or an error notice says what is wrong.
pub fn setting(app: &AppContext, apply: Apply) -> Callback<Event> {
    let app = app.clone();
    Callback::from(move |event: Event| {
        let input: HtmlInputElement = event.target_unchecked_into();
        let mut config = app.state.train.train_config.clone();
        match apply(&mut config, &input).and_then(|()| config.validate()) {
            Ok(()) => app.dispatch(Action::SetTrainConfig(config)),
            Err(message) => app.notify(Level::Error, message),
        }
    })
}

/// The input's value as a number, or a message naming `what`.
pub fn number<T: std::str::FromStr>(input: &HtmlInputElement, what: &str) -> Result<T, String> {
    input
        .value()
        .trim()
        .parse::<T>()
        .map_err(|_| format!("{what}: {:?} is not a valid number", input.value()))
}

/// The metric a select names.
pub fn monitor(input: &HtmlInputElement) -> Result<Monitor, String> {
    Monitor::parse(&input.value()).ok_or_else(|| format!("unknown metric {:?}", input.value()))
}
