//! Messages for the user and what the page knows of the engine worker (answered, crashed,
//! which WebGPU adapter it found): the part of the state every step shows.

use crate::page::protocol::{GpuReport, Level};

/// Most messages on screen at once; the oldest goes first.
const MAX_NOTICES: usize = 6;

/// A message for the user.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    /// Unique id.
    pub id: u32,
    /// How it is shown.
    pub level: Level,
    /// Text.
    pub message: String,
}

/// The messages on screen and the engine's status.
#[derive(Clone, Debug, PartialEq)]
pub struct NoticeState {
    /// Messages, oldest first.
    pub notices: Vec<Notice>,
    next_notice: u32,
    /// The worker answered.
    pub engine_ready: bool,
    /// The worker died.
    pub engine_crashed: Option<String>,
    /// WebGPU adapter.
    pub gpu: Option<GpuReport>,
    /// The message saying which model is current, while it is on screen.
    model_notice: Option<u32>,
}

impl Default for NoticeState {
    fn default() -> Self {
        Self {
            notices: Vec::new(),
            next_notice: 1,
            engine_ready: false,
            engine_crashed: None,
            gpu: None,
            model_notice: None,
        }
    }
}

impl NoticeState {
    /// Shows a message. A message already on screen moves to the end instead of showing twice.
    pub fn notify(&mut self, level: Level, message: String) {
        self.notices.retain(|n| n.message != message);
        self.notices.push(Notice {
            id: self.next_notice,
            level,
            message,
        });
        self.next_notice += 1;
        if self.notices.len() > MAX_NOTICES {
            self.notices.remove(0);
        }
    }

    /// Closes a message.
    pub fn dismiss(&mut self, id: u32) {
        self.notices.retain(|n| n.id != id);
        if self.model_notice == Some(id) {
            self.model_notice = None;
        }
    }

    /// Closes every message at once (the page's *Dismiss all*), the one saying which model is
    /// current too.
    pub fn dismiss_all(&mut self) {
        self.notices.clear();
        self.model_notice = None;
    }

    /// A model became current: the message about the one before it is withdrawn (it would now
    /// be wrong), and `message`, when there is one, says which model this is.
    pub fn current_model(&mut self, message: Option<String>) {
        if let Some(id) = self.model_notice.take() {
            self.dismiss(id);
        }
        if let Some(message) = message {
            self.notify(Level::Info, message);
            self.model_notice = self.notices.last().map(|n| n.id);
        }
    }

    /// Whether a message saying which model is current is on screen.
    pub fn says_current_model(&self) -> bool {
        self.model_notice.is_some()
    }

    /// The engine answered and reported its adapter.
    pub fn ready(&mut self, gpu: GpuReport) {
        self.engine_ready = true;
        self.gpu = Some(gpu);
    }

    /// The engine lost its WebGPU device for good.
    pub fn gpu_lost(&mut self) {
        self.gpu.get_or_insert_with(GpuReport::default).mark_lost();
    }

    /// The engine died: remember why and say so.
    pub fn crashed(&mut self, message: String) {
        self.engine_crashed = Some(message.clone());
        self.notify(Level::Error, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_messages_show_once_and_at_most_six_stay() {
        let mut state = NoticeState::default();
        state.notify(Level::Info, "a".into());
        state.notify(Level::Warning, "b".into());
        state.notify(Level::Error, "a".into());
        let shown: Vec<(&str, &str, u32)> = state
            .notices
            .iter()
            .map(|n| (n.level.as_str(), n.message.as_str(), n.id))
            .collect();
        assert_eq!(shown, [("warning", "b", 2), ("error", "a", 3)]);
        for i in 0..10 {
            state.notify(Level::Info, format!("n{i}"));
        }
        assert_eq!(state.notices.len(), MAX_NOTICES);
        assert_eq!(state.notices[0].message, "n4");
        assert_eq!(state.notices.last().unwrap().id, 13);
        let id = state.notices[1].id;
        state.dismiss(id);
        assert!(state.notices.iter().all(|n| n.id != id));
    }

    #[test]
    fn dismiss_all_closes_every_message_and_forgets_the_model_one() {
        let mut state = NoticeState::default();
        state.notify(Level::Warning, "w".into());
        state.current_model(Some("model m".into()));
        state.notify(Level::Error, "e".into());
        assert!(state.says_current_model());
        state.dismiss_all();
        assert!(state.notices.is_empty());
        assert!(!state.says_current_model());
        // A later model's message is shown, and withdrawn when the next model comes.
        state.current_model(Some("model n".into()));
        state.current_model(None);
        assert!(state.notices.is_empty());
    }

    #[test]
    fn engine_status_follows_ready_and_crash() {
        let mut state = NoticeState::default();
        assert!(!state.engine_ready);
        state.ready(GpuReport::default());
        assert!(state.engine_ready);
        assert_eq!(
            state.gpu.as_ref().map(GpuReport::label).as_deref(),
            Some("CPU (WebGPU unavailable)")
        );
        state.crashed("out of memory".into());
        assert_eq!(state.engine_crashed.as_deref(), Some("out of memory"));
        assert_eq!(
            state.notices.last().map(|n| n.level.as_str()),
            Some("error")
        );
    }
}
