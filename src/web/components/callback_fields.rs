//! The Train step's callbacks: EarlyStopping, ReduceLROnPlateau and ModelCheckpoint, each
//! switched on or off and set as in Keras.

use yew::prelude::*;

use super::settings::{Apply, monitor, number, setting};
use super::use_app;
use crate::training::{CheckpointConfig, EarlyStoppingConfig, Monitor, ReduceLrConfig};

/// What a callback can watch, in the order the lists offer them.
const MONITORS: [Monitor; 5] = [
    Monitor::ValLoss,
    Monitor::ValAccuracy,
    Monitor::ValAuc,
    Monitor::Loss,
    Monitor::Accuracy,
];

/// Whether a run is under way (the fields are then locked).
#[derive(Properties, PartialEq)]
pub struct CallbackFieldsProps {
    /// A run is under way.
    pub running: bool,
}

/// The callbacks' fieldset of the Train step's settings form.
#[component]
pub fn CallbackFields(props: &CallbackFieldsProps) -> Html {
    let app = use_app();
    let running = props.running;
    let callbacks = &app.state.train.train_config.callbacks;
    let (es, lr, ck) = (
        callbacks.early_stopping.clone(),
        callbacks.reduce_lr.clone(),
        callbacks.checkpoint.clone(),
    );
    let setter = |apply: Apply| setting(&app, apply);
    let monitor_options = |current: Monitor| -> Html {
        html! { for m in MONITORS { <option value={m.name()} selected={m == current}>{ m.name() }</option> } }
    };
    html! {
        <fieldset disabled={running} class="callbacks">
            <legend>{"Callbacks"}</legend>
            <div class="callback">
                <label class="check"><input type="checkbox" checked={es.is_some()}
                    onchange={setter(|c, i| { c.callbacks.early_stopping = i.checked().then(EarlyStoppingConfig::default); Ok(()) })} /><strong>{"EarlyStopping"}</strong></label>
                if let Some(es) = es.clone() {
                    <div class="form-grid small">
                        <label>{"monitor"}<select onchange={setter(|c, i| { let m = monitor(i)?; if let Some(e) = c.callbacks.early_stopping.as_mut() { e.monitor = m } Ok(()) })}>{ monitor_options(es.monitor) }</select></label>
                        <label>{"patience"}<input type="number" min="1" value={es.patience.to_string()} onchange={setter(|c, i| { let v = number(i, "patience")?; if let Some(e) = c.callbacks.early_stopping.as_mut() { e.patience = v } Ok(()) })} /></label>
                        <label>{"min_delta"}<input type="number" min="0" step="any" value={es.min_delta.to_string()} onchange={setter(|c, i| { let v = number(i, "min_delta")?; if let Some(e) = c.callbacks.early_stopping.as_mut() { e.min_delta = v } Ok(()) })} /></label>
                        <label title="Epochs to train before EarlyStopping watches: a network from scratch on a few images a class can sit at chance for several epochs before it learns">{"start_from_epoch"}<input type="number" min="0" value={es.start_from_epoch.to_string()} onchange={setter(|c, i| { let v = number(i, "start_from_epoch")?; if let Some(e) = c.callbacks.early_stopping.as_mut() { e.start_from_epoch = v } Ok(()) })} /></label>
                        <label class="check"><input type="checkbox" checked={es.restore_best_weights} onchange={setter(|c, i| { if let Some(e) = c.callbacks.early_stopping.as_mut() { e.restore_best_weights = i.checked() } Ok(()) })} />{"restore_best_weights"}</label>
                    </div>
                }
            </div>
            <div class="callback">
                <label class="check"><input type="checkbox" checked={lr.is_some()}
                    onchange={setter(|c, i| { c.callbacks.reduce_lr = i.checked().then(ReduceLrConfig::default); Ok(()) })} /><strong>{"ReduceLROnPlateau"}</strong></label>
                if let Some(lr) = lr.clone() {
                    <div class="form-grid small">
                        <label>{"monitor"}<select onchange={setter(|c, i| { let m = monitor(i)?; if let Some(r) = c.callbacks.reduce_lr.as_mut() { r.monitor = m } Ok(()) })}>{ monitor_options(lr.monitor) }</select></label>
                        <label>{"factor"}<input type="number" min="0.01" max="0.99" step="any" value={lr.factor.to_string()} onchange={setter(|c, i| { let v = number(i, "factor")?; if let Some(r) = c.callbacks.reduce_lr.as_mut() { r.factor = v } Ok(()) })} /></label>
                        <label>{"patience"}<input type="number" min="1" value={lr.patience.to_string()} onchange={setter(|c, i| { let v = number(i, "patience")?; if let Some(r) = c.callbacks.reduce_lr.as_mut() { r.patience = v } Ok(()) })} /></label>
                        <label>{"min_delta"}<input type="number" min="0" step="any" value={lr.min_delta.to_string()} onchange={setter(|c, i| { let v = number(i, "min_delta")?; if let Some(r) = c.callbacks.reduce_lr.as_mut() { r.min_delta = v } Ok(()) })} /></label>
                        <label>{"cooldown"}<input type="number" min="0" value={lr.cooldown.to_string()} onchange={setter(|c, i| { let v = number(i, "cooldown")?; if let Some(r) = c.callbacks.reduce_lr.as_mut() { r.cooldown = v } Ok(()) })} /></label>
                        <label>{"min_lr"}<input type="number" min="0" step="any" value={lr.min_lr.to_string()} onchange={setter(|c, i| { let v = number(i, "min_lr")?; if let Some(r) = c.callbacks.reduce_lr.as_mut() { r.min_lr = v } Ok(()) })} /></label>
                    </div>
                }
            </div>
            <div class="callback">
                <label class="check"><input type="checkbox" checked={ck.is_some()}
                    onchange={setter(|c, i| { c.callbacks.checkpoint = i.checked().then(CheckpointConfig::default); Ok(()) })} /><strong>{"ModelCheckpoint"}</strong>{" (saved in this browser, IndexedDB)"}</label>
                if let Some(ck) = ck.clone() {
                    <div class="form-grid small">
                        <label>{"monitor"}<select onchange={setter(|c, i| { let m = monitor(i)?; if let Some(k) = c.callbacks.checkpoint.as_mut() { k.monitor = m } Ok(()) })}>{ monitor_options(ck.monitor) }</select></label>
                        <label class="check"><input type="checkbox" checked={ck.save_best_only} onchange={setter(|c, i| { if let Some(k) = c.callbacks.checkpoint.as_mut() { k.save_best_only = i.checked() } Ok(()) })} />{"save_best_only"}</label>
                    </div>
                }
            </div>
        </fieldset>
    }
}
