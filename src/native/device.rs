//! Choosing the compute device natively: wgpu (Vulkan/Metal/DX12) on a real GPU, else Flex.

use burn::prelude::*;

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// A hardware GPU when there is one, else the CPU.
    Auto,
    /// Burn's Flex CPU backend.
    Cpu,
    /// wgpu; fails when no adapter is found.
    Wgpu,
}

impl BackendChoice {
    /// Parses `auto`, `cpu` or `wgpu`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "auto" => Some(BackendChoice::Auto),
            "cpu" | "flex" => Some(BackendChoice::Cpu),
            "wgpu" | "gpu" | "vulkan" => Some(BackendChoice::Wgpu),
            _ => None,
        }
    }
}

/// The device for `choice`, and a description of it (for logs and the model file).
pub fn select_device(choice: BackendChoice) -> Result<(Device, String), String> {
    let cpu = || (Device::flex(), "CPU (Burn Flex)".to_string());
    match choice {
        BackendChoice::Cpu => Ok(cpu()),
        #[cfg(not(feature = "wgpu"))]
        BackendChoice::Auto => Ok((
            Device::flex(),
            "CPU (Burn Flex; built without the wgpu feature)".to_string(),
        )),
        #[cfg(not(feature = "wgpu"))]
        BackendChoice::Wgpu => Err(
            "this medclassify was built without GPU support: rebuild with `--features wgpu`"
                .to_string(),
        ),
        #[cfg(feature = "wgpu")]
        BackendChoice::Wgpu | BackendChoice::Auto => match Device::wgpu_options().init_with_setup()
        {
            Ok((device, setup)) => {
                let _errors = crate::compute::watch_gpu_errors(&setup.device);
                let info = setup.adapter.get_info();
                let software = info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu;
                let description = format!(
                    "wgpu {:?} on {} ({:?})",
                    info.backend, info.name, info.device_type
                );
                if software && choice == BackendChoice::Auto {
                    Ok((
                        Device::flex(),
                        format!(
                            "CPU (Burn Flex; the only GPU adapter, {}, is software)",
                            info.name
                        ),
                    ))
                } else {
                    Ok((device, description))
                }
            }
            Err(error) if choice == BackendChoice::Auto => {
                let (device, _) = cpu();
                Ok((device, format!("CPU (Burn Flex; no GPU adapter: {error})")))
            }
            Err(error) => Err(format!("no wgpu adapter: {error}")),
        },
    }
}
