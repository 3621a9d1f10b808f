//! Throwaway: backbone feature throughput at 224 px (not committed).
use burn::prelude::*;
use medclassify::model::pretrained::{BACKBONES, EfficientNetLiteConfig};
use medclassify::native::read_weights;
use std::time::Instant;

#[test]
#[ignore]
fn speed() {
    let device = Device::flex();
    let w = read_weights(&BACKBONES[0]).unwrap();
    let net = EfficientNetLiteConfig::new(6, 224)
        .with_channels(1)
        .init(&device)
        .load_backbone(&w)
        .unwrap()
        .prepare(medclassify::model::Transfer::Head);
    let n = 17;
    let x = Tensor::<4>::random(
        [n, 1, 224, 224],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let f = net.features(x.clone());
    let _ = f.into_data();
    let t = Instant::now();
    let reps = 4;
    let mut sum = 0.0f32;
    for _ in 0..reps {
        let f = net.features(x.clone());
        sum += f.sum().into_scalar::<f32>();
    }
    let s = t.elapsed().as_secs_f64();
    eprintln!("SPEED {:.2} images/s (sum {sum})", (n * reps) as f64 / s);
}

#[test]
#[ignore]
fn ops() {
    let device = Device::flex();
    let x = Tensor::<4>::random(
        [17, 96, 112, 112],
        burn::tensor::Distribution::Uniform(-3.0, 9.0),
        &device,
    );
    let time = |name: &str, f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
        let mut y = x.clone() * 1.0;
        let t = Instant::now();
        for _ in 0..5 {
            y = f(y);
        }
        let _ = y.slice([0..1, 0..1, 0..1, 0..1]).into_data();
        eprintln!("OP {name}: {:.1} ms", t.elapsed().as_secs_f64() * 200.0);
    };
    time("clamp", &|y| y.clamp(0.0, 6.0));
    time("relu", &|y| burn::tensor::activation::relu(y));
    time("clamp_max", &|y| y.clamp_max(6.0));
    time("mul_scalar", &|y| y * 1.0001);
    time("add_scalar", &|y| y + 0.0001);
}
