//! The page: header with the compute backend, four steps, messages, About.

use yew::prelude::*;

use super::components::{
    About, AppContext, DataStep, EvaluateStep, Notices, PredictStep, TrainStep,
};
use super::hooks::use_engine;
use super::platform::address::debug_mode;
use super::state::{Action, AppState, Step};
use crate::web::worker::protocol::Control;

/// The root component.
#[component]
pub fn App() -> Html {
    let state = use_reducer(AppState::default);
    let engine = use_engine(state.dispatcher());
    let context = AppContext {
        state: state.clone(),
        engine: engine.clone(),
        version: state.version,
    };
    let backend_text = match (&state.notices.gpu, &state.notices.engine_crashed) {
        (Some(gpu), _) => gpu.label(),
        (None, Some(_)) => "engine stopped".to_string(),
        (None, None) => "starting…".to_string(),
    };
    let backend_title = state.notices.gpu.as_ref().map(|g| match &g.problem {
        Some(problem) => problem.clone(),
        None => format!("{} {} {}", g.vendor, g.architecture, g.description),
    });
    let tab = |step: Step| {
        let state = state.clone();
        let selected = state.step == step;
        html! {
            <button type="button" role="tab" id={format!("tab-{}", step.id())} aria-selected={selected.to_string()}
                aria-controls="step-panel" class={classes!("tab", selected.then_some("selected"))}
                onclick={Callback::from(move |_| state.dispatch(Action::Show(step)))}>{ step.label() }</button>
        }
    };
    html! {
        <ContextProvider<AppContext> context={context}>
            <header class="top">
                <div class="brand">
                    <img src="icons/logo.svg" alt="" width="32" height="32" />
                    <div><h1>{"MedClassify"}</h1><p class="tagline">{"Train a medical-image classifier in your browser. Nothing is uploaded."}</p></div>
                </div>
                <div class="backend" title={backend_title}>
                    <span class="muted">{"Compute: "}</span><span data-testid="backend">{ backend_text }</span>
                </div>
            </header>
            <nav class="tabs" role="tablist" aria-label="Steps">
                { for Step::ALL.into_iter().map(tab) }
            </nav>
            <Notices />
            <main id="step-panel" role="tabpanel" aria-labelledby={format!("tab-{}", state.step.id())}>
                { match state.step {
                    Step::Data => html! { <DataStep /> },
                    Step::Train => html! { <TrainStep /> },
                    Step::Evaluate => html! { <EvaluateStep /> },
                    Step::Predict => html! { <PredictStep /> },
                } }
            </main>
            <footer>
                <About />
                if debug_mode() {
                    <button type="button" class="link" data-testid="simulate-gpu-loss"
                        onclick={{ let engine = engine.clone(); Callback::from(move |_| engine.send(Control::SimulateDeviceLoss)) }}>{"Test: simulate a GPU device loss"}</button>
                    <TuningTestHookSelect engine={engine.clone()} />
                }
                <p class="muted small">{"Sample data: MedNIST (CC BY-SA 4.0), TCIA, RSNA Bone Age Challenge, NIH Chest X-ray; made available by Dr. Bradley J. Erickson, Mayo Clinic."}</p>
            </footer>
        </ContextProvider<AppContext>>
    }
}

/// Mounts the app and registers the service worker.
pub fn start() {
    console_error_panic_hook::set_once();
    register_service_worker();
    yew::Renderer::<App>::new().render();
}

fn register_service_worker() {
    let container = gloo::utils::window().navigator().service_worker();
    // Missing outside secure contexts (the typed getter then hands back `undefined`).
    if container.is_undefined() {
        return;
    }
    let url = super::platform::js::asset_url("sw.js");
    let promise = container.register(&url);
    yew::platform::spawn_local(async move {
        if let Err(error) = wasm_bindgen_futures::JsFuture::from(promise).await {
            gloo::console::warn!(format!(
                "offline mode unavailable: {}",
                super::platform::js::error_text(&error)
            ));
        }
    });
}

/// The `?debug` kernel-tuning test hook: SwiftShader, the only adapter the tests have, is not
/// tuned unless this says to treat it as a GPU (and, for the refusal test, to have it refuse
/// every candidate at an odd index). Read when the WebGPU device starts.
#[component]
fn TuningTestHookSelect(props: &TuningTestHookProps) -> Html {
    use crate::tuning::TuningTestHook;
    let engine = props.engine.clone();
    let onchange = Callback::from(move |event: Event| {
        let value = event
            .target_unchecked_into::<web_sys::HtmlSelectElement>()
            .value();
        let hook = match value.as_str() {
            "hardware" => TuningTestHook::TreatAsHardware,
            "hardware-refuse" => TuningTestHook::TreatAsHardwareAndRefuse,
            _ => TuningTestHook::Normal,
        };
        engine.send(Control::TuningTestHook(hook));
    });
    html! {
        <label class="small">{"Test: kernel tuning "}
            <select data-testid="tuning-test-hook" {onchange}>
                <option value="normal" selected=true>{"as the adapter warrants"}</option>
                <option value="hardware">{"treat the adapter as a GPU"}</option>
                <option value="hardware-refuse">{"treat it as a GPU and refuse odd candidates"}</option>
            </select>
        </label>
    }
}

/// The engine to send the hook to.
#[derive(Properties, PartialEq)]
struct TuningTestHookProps {
    engine: super::hooks::EngineHandle,
}
