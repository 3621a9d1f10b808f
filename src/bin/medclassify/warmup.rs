//! `medclassify warmup`: fills the GPU kernel cache before real work.

use std::time::Instant;

use medclassify::data::{Colour, InputShape};
use medclassify::model::{ModelConfig, Preset};
use medclassify::native::{BackendChoice, active_kernel_cache, select_device};
use medclassify::training::{CheckpointSlot, TrainingEvent, TrainingHost, measure_step_ms};

use crate::args::check_size;

/// Runs one timed first step (the tuning) and a few steady ones for every preset and batch
/// size, printing both; the tuned results stay in the cache folder it names.
pub fn run(
    backend: &str,
    presets: &str,
    batches: &str,
    size: u32,
    colour: &str,
    classes: usize,
) -> Result<(), String> {
    check_size(size)?;
    let colour = Colour::parse(colour)
        .ok_or_else(|| format!("--colour {colour:?}: say grayscale or rgb"))?;
    let shape = InputShape::square(size).with_colour(colour);
    let presets: Vec<Preset> = presets
        .split(',')
        .map(|p| {
            Preset::parse(p)
                .ok_or_else(|| format!("--presets: unknown preset {p:?} (seed or strong)"))
        })
        .collect::<Result<_, _>>()?;
    let batches: Vec<usize> = batches
        .split(',')
        .map(|b| match b.trim().parse::<usize>() {
            Ok(n) if (1..=4096).contains(&n) => Ok(n),
            _ => Err(format!(
                "--batches: {b:?} is not a batch size from 1 to 4096"
            )),
        })
        .collect::<Result<_, _>>()?;
    let choice =
        BackendChoice::parse(backend).ok_or_else(|| format!("unknown backend {backend:?}"))?;
    let (device, description) = select_device(choice)?;
    eprintln!("{description}");
    match active_kernel_cache() {
        Some(dir) => eprintln!("kernel cache: {}", dir.display()),
        None => eprintln!(
            "no kernel cache (not a GPU, MEDCLASSIFY_KERNEL_CACHE=off, or CubeCL was configured earlier)"
        ),
    }
    let mut host = Clock(Instant::now());
    for &preset in &presets {
        let config = ModelConfig::new(preset, classes.clamp(2, 1000), shape);
        for &batch in &batches {
            let started = Instant::now();
            pollster::block_on(measure_step_ms(&config, batch, 0, 1, &device, &mut host))?;
            let first = started.elapsed().as_secs_f64();
            let steady =
                pollster::block_on(measure_step_ms(&config, batch, 1, 3, &device, &mut host))?;
            println!("{preset} batch {batch}: first step {first:.2} s, then {steady:.1} ms a step");
        }
    }
    Ok(())
}

/// The probe's host: a clock, and nothing to report or keep.
struct Clock(Instant);

impl TrainingHost for Clock {
    fn event(&mut self, _: TrainingEvent) {}

    async fn proceed(&mut self) -> bool {
        true
    }

    fn now_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1000.0
    }

    async fn store(&mut self, _: CheckpointSlot, _: &[u8]) -> Result<String, String> {
        Err("warmup keeps no checkpoints".into())
    }
}
