//! The engine worker (wasm32 only; natively this binary does nothing).
fn main() {
    #[cfg(target_arch = "wasm32")]
    medclassify::web::worker::run();
}
