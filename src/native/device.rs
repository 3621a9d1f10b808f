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
    /// CUDA (the `cuda` feature); fails when the NVIDIA libraries are missing.
    Cuda,
}

impl BackendChoice {
    /// Parses `auto`, `cpu` or `wgpu`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "auto" => Some(BackendChoice::Auto),
            "cpu" | "flex" => Some(BackendChoice::Cpu),
            "wgpu" | "gpu" | "vulkan" => Some(BackendChoice::Wgpu),
            "cuda" => Some(BackendChoice::Cuda),
            _ => None,
        }
    }
}

/// The device for `choice`, and a description of it (for logs and the model file).
pub fn select_device(choice: BackendChoice) -> Result<(Device, String), String> {
    let cpu = || (Device::flex(), "CPU (Burn Flex)".to_string());
    if choice == BackendChoice::Cuda || (choice == BackendChoice::Auto && cuda_available()) {
        return cuda_device();
    }
    match choice {
        BackendChoice::Cpu => Ok(cpu()),
        BackendChoice::Cuda => unreachable!("answered above"),
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
        BackendChoice::Wgpu | BackendChoice::Auto => match {
            kernel_cache();
            Device::wgpu_options().init_with_setup()
        } {
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

/// Before the first GPU device: CubeCL's autotune results go to this adapter's folder of
/// MedClassify's cache (`super::kernel_cache`), so a second run starts tuned. Set
/// `MEDCLASSIFY_KERNEL_CACHE=off` to leave CubeCL's own settings alone.
#[cfg(feature = "wgpu")]
fn kernel_cache() -> Option<std::path::PathBuf> {
    if std::env::var("MEDCLASSIFY_KERNEL_CACHE").as_deref() == Ok("off") {
        return None;
    }
    let adapter = super::kernel_cache::default_adapter()?;
    let dir = super::kernel_cache::cache_dir(&super::kernel_cache::cache_root(), &adapter);
    let used = super::kernel_cache::use_cache_dir(&dir, &adapter);
    used.then(|| {
        let _ = KERNEL_CACHE.set(dir.clone());
        dir
    })
}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
static KERNEL_CACHE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// The folder CubeCL keeps this process's autotune results in, once a GPU device was chosen
/// with MedClassify's cache (`None` on the CPU, or without the `wgpu` feature).
pub fn active_kernel_cache() -> Option<std::path::PathBuf> {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    return KERNEL_CACHE.get().cloned();
    #[cfg(not(any(feature = "wgpu", feature = "cuda")))]
    None
}

/// Whether Burn's CUDA backend can start here: built with the `cuda` feature, and the CUDA
/// driver and NVRTC libraries load (without them the backend would panic on first use).
fn cuda_available() -> bool {
    #[cfg(feature = "cuda")]
    {
        // SAFETY: both only try to open the shared library and report whether it loaded.
        unsafe { cudarc::driver::sys::is_culib_present() && cudarc::nvrtc::sys::is_culib_present() }
    }
    #[cfg(not(feature = "cuda"))]
    false
}

/// The first CUDA device, or why there is none.
fn cuda_device() -> Result<(Device, String), String> {
    #[cfg(feature = "cuda")]
    {
        if !cuda_available() {
            return Err("no CUDA: the NVIDIA driver (libcuda) or NVRTC (libnvrtc) library cannot be loaded; install the driver and the CUDA toolkit, or use --backend wgpu".into());
        }
        cuda_kernel_cache();
        Ok((Device::cuda(0), "CUDA device 0 (Burn CUDA)".to_string()))
    }
    #[cfg(not(feature = "cuda"))]
    Err("this medclassify was built without CUDA: rebuild with `cargo build --release --features cuda`".into())
}

/// CUDA's compiled kernels and autotune results go to MedClassify's cache too, keyed by the
/// driver version (CUDA kernels are compiled for the GPU at run time, so the driver decides).
#[cfg(feature = "cuda")]
fn cuda_kernel_cache() {
    if std::env::var("MEDCLASSIFY_KERNEL_CACHE").as_deref() == Ok("off") {
        return;
    }
    let mut version = 0;
    // SAFETY: cuDriverGetVersion only writes the version number.
    let _ = unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut version) };
    let adapter = super::kernel_cache::AdapterFacts {
        backend: "Cuda".into(),
        vendor: 0x10de,
        device: 0,
        name: "CUDA device 0".into(),
        driver: "NVIDIA".into(),
        driver_info: version.to_string(),
    };
    let dir = super::kernel_cache::cache_dir(&super::kernel_cache::cache_root(), &adapter);
    if super::kernel_cache::use_cache_dir(&dir, &adapter) {
        let _ = KERNEL_CACHE.set(dir);
    }
}
