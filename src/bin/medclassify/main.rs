//! `medclassify`: the native command on the same core as the page.
//!
//! ```text
//! medclassify inspect <DIR> [--size N] [--seed S] --json
//! medclassify train <DIR> [--preset seed|strong] [--epochs N] [--batch B] [--lr X] [--size N]
//!                   [--seed S] [--backend auto|cpu|wgpu|cuda] --out MODEL [--json]
//! medclassify evaluate --model MODEL <DIR> [--json]
//! medclassify predict --model MODEL <IMAGE>... [--json]
//! medclassify cv <DIR> [--folds K] [training options] [--keep-models DIR] [--json]
//! medclassify export-onnx --model MODEL --out MODEL.onnx
//! medclassify card --model MODEL [--json]
//! medclassify warmup [--backend wgpu] [--presets seed,strong] [--batches 64,256] [--size N]
//! ```

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    // Rust ignores SIGPIPE, so a closed pipe (`medclassify inspect ... --json | head`) made
    // every print panic; with the default action the command ends there, as `cat` does.
    #[cfg(unix)]
    // SAFETY: called before any thread starts; SIG_DFL is a valid action for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(cli::run());
}

#[cfg(not(target_arch = "wasm32"))]
mod args;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
mod commands;
#[cfg(not(target_arch = "wasm32"))]
mod cv;
#[cfg(not(target_arch = "wasm32"))]
mod progress;
#[cfg(not(target_arch = "wasm32"))]
mod train;
#[cfg(not(target_arch = "wasm32"))]
mod warmup;
