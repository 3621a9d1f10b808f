//! Messages for the user, announced to screen readers.

use crate::page::protocol::Level;
use yew::prelude::*;

use super::use_app;
use crate::web::state::Action;

/// The message list.
#[component]
pub fn Notices() -> Html {
    let app = use_app();
    html! {
        <div class="notices" aria-live="polite">
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
    }
}
