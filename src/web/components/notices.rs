//! Messages for the user, announced to screen readers.

use crate::page::protocol::Level;
use yew::prelude::*;

use super::use_app;
use crate::web::state::Action;

/// The message list, and with two or more messages one button that closes them all (they
/// stack above the steps and push them down).
#[component]
pub fn Notices() -> Html {
    let app = use_app();
    let several = app.state.notices.notices.len() >= 2;
    let dismiss_all = {
        let app = app.clone();
        Callback::from(move |_| app.dispatch(Action::DismissAll))
    };
    html! {
        <div class="notices">
            <div class="notice-list" aria-live="polite">
                for notice in app.state.notices.notices.iter().cloned() {
                    <div key={notice.id} class={classes!("notice", notice.level.as_str())} role={if notice.level == Level::Error { "alert" } else { "status" }}>
                        <span>{ notice.message.clone() }</span>
                        <button type="button" class="link" aria-label="Dismiss message" onclick={
                            let app = app.clone();
                            Callback::from(move |_| app.dispatch(Action::Dismiss(notice.id)))
                        }>{"×"}</button>
                    </div>
                }
            </div>
            if several {
                <button type="button" class="link dismiss-all" data-testid="dismiss-all" onclick={dismiss_all}>{"Dismiss all messages"}</button>
            }
        </div>
    }
}
