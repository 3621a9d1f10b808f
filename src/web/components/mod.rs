//! The page's components. Each step reads the shared state from [`AppContext`].

mod about;
mod callback_fields;
mod charts;
mod cross_validation;
mod data_settings;
mod data_step;
mod estimate;
mod evaluate_step;
mod explanation;
mod model_panel;
mod notices;
mod predict_step;
mod settings;
mod threshold;
mod thumbnail;
mod train_step;

pub use about::About;
pub use callback_fields::CallbackFields;
pub use charts::{
    Chart, accuracy_svg, learning_rate_svg, loss_svg, precision_recall_svg, reliability_svg,
    roc_svg,
};
pub use cross_validation::CrossValidationPanel;
pub use data_settings::DataSettings;
pub use data_step::DataStep;
pub use estimate::EstimatePanel;
pub use evaluate_step::EvaluateStep;
pub use explanation::ExplanationPanel;
pub use model_panel::ModelPanel;
pub use notices::Notices;
pub use predict_step::PredictStep;
pub use threshold::ThresholdPanel;
pub use thumbnail::Thumbnail;
pub use train_step::TrainStep;

use crate::page::protocol::Level;
use yew::prelude::*;

use crate::web::hooks::EngineHandle;
use crate::web::state::{Action, AppState};

/// What every component can reach: the state, a way to change it, and the engine.
#[derive(Clone)]
pub struct AppContext {
    /// State and dispatcher.
    pub state: UseReducerHandle<AppState>,
    /// The engine worker.
    pub engine: EngineHandle,
    /// The state version this context was made at. The handle always reads the live
    /// state, so equality must compare this snapshot, not the handle.
    pub version: u64,
}

impl PartialEq for AppContext {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && self.engine == other.engine
    }
}

impl AppContext {
    /// Dispatches an action.
    pub fn dispatch(&self, action: Action) {
        self.state.dispatch(action);
    }

    /// Shows a message.
    pub fn notify(&self, level: Level, message: impl Into<String>) {
        self.state.dispatch(Action::Notify {
            level,
            message: message.into(),
        });
    }
}

/// The context, which [`crate::web::app::App`] always provides.
#[hook]
pub fn use_app() -> AppContext {
    use_context::<AppContext>().expect("AppContext is provided by App")
}

/// Formats a fraction as a percentage with two decimals (`99.12%`).
pub fn percent(value: f64) -> String {
    format!("{:.2}%", value * 100.0)
}

/// Formats a byte count.
pub fn bytes(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.1} MB", value / 1e6)
    } else {
        format!("{:.0} KB", value / 1e3)
    }
}

/// A file input's change: takes its one picked file (clearing the input, so the same file
/// can be picked again) and, once its bytes are read, hands `use_bytes` its name and bytes;
/// a file that cannot be read is named in an error notice.
pub fn on_picked_file(
    app: AppContext,
    use_bytes: fn(&AppContext, String, Vec<u8>),
) -> Callback<Event> {
    Callback::from(move |event: Event| {
        let input: web_sys::HtmlInputElement = event.target_unchecked_into();
        let Some(file) = input.files().and_then(|l| l.item(0)) else {
            return;
        };
        input.set_value("");
        let app = app.clone();
        yew::platform::spawn_local(async move {
            let name = file.name();
            let js = crate::web::platform::js::await_value(file.array_buffer().into());
            match js.await {
                Ok(buffer) => use_bytes(&app, name, js_sys::Uint8Array::new(&buffer).to_vec()),
                Err(error) => app.notify(
                    Level::Error,
                    format!(
                        "{name} could not be read: {}",
                        crate::web::platform::js::error_text(&error)
                    ),
                ),
            }
        });
    })
}
