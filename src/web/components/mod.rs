//! The page's components. Each step reads the shared state from [`AppContext`].

mod about;
mod charts;
mod data_step;
mod evaluate_step;
mod explanation;
mod model_panel;
mod notices;
mod predict_step;
mod thumbnail;
mod train_step;

pub use about::About;
pub use charts::{Chart, accuracy_svg, learning_rate_svg, loss_svg, reliability_svg, roc_svg};
pub use data_step::DataStep;
pub use evaluate_step::EvaluateStep;
pub use explanation::ExplanationPanel;
pub use model_panel::ModelPanel;
pub use notices::Notices;
pub use predict_step::PredictStep;
pub use thumbnail::{Thumbnail, heat_color};
pub use train_step::TrainStep;

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
    pub fn notify(&self, level: &str, message: impl Into<String>) {
        self.state.dispatch(Action::Notify {
            level: level.into(),
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
