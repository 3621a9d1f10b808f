//! The page's state as Yew holds it: the plain state and reducer of [`crate::page::state`]
//! (compiled and tested natively) behind Yew's `Reducible`, which only the browser build has.

use std::rc::Rc;

use yew::Reducible;

pub use crate::page::state::*;

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        // Cheap: the state is a few `Rc`s; `reduce` copies only the parts the action changes.
        Rc::new(crate::page::state::reduce(
            Rc::unwrap_or_clone(self),
            action,
        ))
    }
}
