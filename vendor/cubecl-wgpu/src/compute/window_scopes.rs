//! Error scopes around a profiled window in the browser (MedClassify's patch; see
//! `vendor/README.md` in MedClassify).
//!
//! Natively a device's refusal of a kernel is caught where the kernel is created, by blocking on
//! error scopes (`validated` in `backend/base.rs`). A browser cannot block, so there the creation
//! goes unchecked: a candidate the device refuses, launched while autotune measures it, would
//! reach the uncaptured-error handler (which panics) or, with its command buffer dropped, be
//! timed as the fastest because it did nothing. Autotune measures each candidate in its own
//! profiled windows, and a window opens with a flush that submits the real work before it; so
//! scopes pushed when a window opens and popped when it closes hold that candidate's errors
//! alone. A window whose scopes caught an error resolves unmeasured, which disqualifies the
//! candidate, and the refusal is reported to the embedder.

use cubecl_common::profile::ProfileDuration;
use cubecl_core::server::ProfileError;

/// The scopes of the windows now open, innermost last (always none natively). Windows nest: a
/// tuned operation can launch another that is tuned in turn.
#[derive(Default, Debug)]
pub(crate) struct WindowScopes {
    #[cfg(target_family = "wasm")]
    open: Vec<Vec<wgpu::ErrorScopeGuard>>,
}

// SAFETY: wasm32 runs this crate on one thread (CubeCL's `multi_threading` is off there and wgpu's
// web objects never leave the worker that made them); the guards are `!Send` only because
// wgpu's error-scope stack is per thread natively.
#[cfg(target_family = "wasm")]
unsafe impl Send for WindowScopes {}
#[cfg(target_family = "wasm")]
unsafe impl Sync for WindowScopes {}

#[cfg(target_family = "wasm")]
const FILTERS: [wgpu::ErrorFilter; 3] = [
    wgpu::ErrorFilter::Validation,
    wgpu::ErrorFilter::OutOfMemory,
    wgpu::ErrorFilter::Internal,
];

impl WindowScopes {
    /// Opens the scopes, after the flush that starts a window.
    pub(crate) fn open(&mut self, device: &wgpu::Device) {
        #[cfg(target_family = "wasm")]
        {
            let scopes = FILTERS
                .iter()
                .map(|filter| device.push_error_scope(*filter))
                .collect();
            self.open.push(scopes);
        }
        #[cfg(not(target_family = "wasm"))]
        let _ = device;
    }

    /// Closes the scopes after the flush that ends a window: the window's profile resolves
    /// unmeasured when they caught an error.
    pub(crate) fn close(
        &mut self,
        profile: Result<ProfileDuration, ProfileError>,
    ) -> Result<ProfileDuration, ProfileError> {
        #[cfg(target_family = "wasm")]
        {
            let Some(scopes) = self.open.pop() else {
                return profile;
            };
            // Popped innermost first, as they were pushed.
            let caught: Vec<_> = scopes.into_iter().rev().map(|guard| guard.pop()).collect();
            let profile = profile?;
            let method = profile.timing_method();
            let resolve = async move {
                let mut refusal = None;
                for error in caught {
                    if let Some(error) = error.await {
                        refusal.get_or_insert(error.to_string());
                    }
                }
                let ticks = profile.resolve().await;
                match refusal {
                    Some(reason) => {
                        log::warn!(
                            "[cubecl-wgpu] the device refused a measured candidate: {reason}"
                        );
                        cubecl_core::tune::device_refused(&reason);
                        None
                    }
                    None => ticks,
                }
            };
            Ok(ProfileDuration::new(Box::pin(resolve), method))
        }
        #[cfg(not(target_family = "wasm"))]
        profile
    }

    /// Closes the scopes of a window that is abandoned, innermost first.
    pub(crate) fn abandon(&mut self) {
        #[cfg(target_family = "wasm")]
        if let Some(scopes) = self.open.pop() {
            for guard in scopes.into_iter().rev() {
                drop(guard.pop());
            }
        }
    }
}
