//! CubeCL's autotune results on disk, one folder per GPU: the native command's first epoch is
//! mostly kernel autotuning, and CubeCL can keep what it measured. By default it keeps it
//! under a `target/` folder found from the current directory, which an installed command run
//! from anywhere does not have; here it goes to MedClassify's cache folder instead, under a
//! key that names the adapter, its driver and the MedClassify and Burn versions, so that
//! another GPU, a driver update or a new release never reads results measured elsewhere.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// What identifies a GPU for its tuning results: the adapter as wgpu reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterFacts {
    /// Graphics API (`Vulkan`, `Metal`, `Dx12`).
    pub backend: String,
    /// PCI vendor id.
    pub vendor: u32,
    /// PCI device id.
    pub device: u32,
    /// Adapter name (`NVIDIA H200`, `llvmpipe (LLVM 19.1.7, 256 bits)`).
    pub name: String,
    /// Driver name.
    pub driver: String,
    /// Driver version and details.
    pub driver_info: String,
}

/// The cache's root: `$MEDCLASSIFY_CACHE_DIR`, else `$XDG_CACHE_HOME/medclassify`, else
/// `~/.cache/medclassify`; kernel results go to `kernels/` under it.
pub fn cache_root() -> PathBuf {
    root_from(|name| std::env::var_os(name))
}

fn root_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let var = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("MEDCLASSIFY_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("medclassify")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("medclassify")))
        .unwrap_or_else(|| std::env::temp_dir().join("medclassify-cache"))
        .join("kernels")
}

/// The folder for `adapter`'s results under `root`: a readable name and a hash of everything
/// that must match (`vulkan-nvidia-h200-3f2a9c01b7de`).
pub fn cache_dir(root: &Path, adapter: &AdapterFacts) -> PathBuf {
    let key = format!(
        "{}\n{:04x}:{:04x}\n{}\n{}\n{}\nmedclassify {}\nburn {}",
        adapter.backend,
        adapter.vendor,
        adapter.device,
        adapter.name,
        adapter.driver,
        adapter.driver_info,
        env!("CARGO_PKG_VERSION"),
        crate::storage::BURN_VERSION,
    );
    let hash = Sha256::digest(key.as_bytes());
    let hex: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
    let slug: String = format!("{}-{}", adapter.backend, adapter.name)
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .take(6)
        .collect::<Vec<_>>()
        .join("-");
    root.join(format!("{slug}-{hex}"))
}

/// Points CubeCL's autotune cache at `dir` (created, with a `device.txt` naming the adapter)
/// before any GPU work. `false` when CubeCL's configuration was already read (by an earlier
/// device in this process) and the cache stays where it was.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
pub fn use_cache_dir(dir: &Path, adapter: &AdapterFacts) -> bool {
    use cubecl::config::{CubeClRuntimeConfig, RuntimeConfig, cache::CacheConfig};
    if std::fs::create_dir_all(dir).is_ok() {
        let about = format!("{adapter:#?}\nmedclassify {}\n", env!("CARGO_PKG_VERSION"));
        let _ = super::write_atomic(&dir.join("device.txt"), about.as_bytes());
    }
    // A cubecl.toml the user keeps and CubeCL's variables (CUBECL_AUTOTUNE_LEVEL,
    // CUBECL_AUTOTUNE_CACHE=0, ...) are honoured; only where the results live is MedClassify's.
    let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
    config.environment.path = CacheConfig::Directory(dir.to_path_buf());
    // Compiled kernels too, where the runtime keeps them (CUDA's PTX; wgpu has none to keep).
    config.compilation.cache = true;
    CubeClRuntimeConfig::try_set(config)
}

/// The adapter wgpu picks for a default device (the high-performance one), without creating
/// a device: its facts key the cache before CubeCL starts.
#[cfg(feature = "wgpu")]
pub fn default_adapter() -> Option<AdapterFacts> {
    use burn::tensor::wgpu::wgpu;
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::PRIMARY,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        force_fallback_adapter: false,
        compatible_surface: None,
        ..Default::default()
    }))
    .ok()?;
    let info = adapter.get_info();
    Some(AdapterFacts {
        backend: format!("{:?}", info.backend),
        vendor: info.vendor,
        device: info.device,
        name: info.name,
        driver: info.driver,
        driver_info: info.driver_info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h200() -> AdapterFacts {
        AdapterFacts {
            backend: "Vulkan".into(),
            vendor: 0x10de,
            device: 0x2335,
            name: "NVIDIA H200".into(),
            driver: "NVIDIA".into(),
            driver_info: "570.86.15".into(),
        }
    }

    #[test]
    fn one_folder_per_adapter_and_driver() {
        let root = Path::new("/cache/kernels");
        let dir = cache_dir(root, &h200());
        assert_eq!(
            dir,
            cache_dir(root, &h200()),
            "the same GPU finds its results again"
        );
        let name = dir.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("vulkan-nvidia-h200-")
                && name.len() == "vulkan-nvidia-h200-".len() + 12,
            "{name}"
        );
        let driver = AdapterFacts {
            driver_info: "575.51.03".into(),
            ..h200()
        };
        let other = AdapterFacts {
            device: 0x2330,
            name: "NVIDIA H100".into(),
            ..h200()
        };
        let api = AdapterFacts {
            backend: "Dx12".into(),
            ..h200()
        };
        for changed in [driver, other, api] {
            assert_ne!(cache_dir(root, &changed), dir, "{changed:?}");
        }
    }

    #[test]
    fn the_root_follows_the_environment() {
        let with = |vars: &'static [(&'static str, &'static str)]| {
            root_from(move |name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            })
        };
        const ALL: [(&str, &str); 3] = [
            ("MEDCLASSIFY_CACHE_DIR", "/tmp/mc"),
            ("XDG_CACHE_HOME", "/tmp/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(with(&ALL[..]), Path::new("/tmp/mc/kernels"));
        assert_eq!(with(&ALL[1..]), Path::new("/tmp/xdg/medclassify/kernels"));
        assert_eq!(
            with(&ALL[2..]),
            Path::new("/home/u/.cache/medclassify/kernels")
        );
        assert_eq!(
            with(&[("MEDCLASSIFY_CACHE_DIR", ""), ("HOME", "/h")]),
            Path::new("/h/.cache/medclassify/kernels")
        );
    }
}
