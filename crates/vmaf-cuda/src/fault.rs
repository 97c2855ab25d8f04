//! The one door every fallible device call goes through.
//!
//! [`check`] runs a driver (or NVRTC) call and turns its status into a
//! typed [`Error`] that names the call. Because every fallible call in the
//! init and per-frame paths passes here, this is also where the test-only
//! fault injection lives (cargo feature `fault-injection`): a test arms the
//! hook to fail the k-th call made on its thread, and checks that the
//! error propagates, that `Drop` released everything built so far, and
//! that a fresh scorer on the same device works (LESSONS.md, lesson 2).
//! Release calls in `Drop` do not pass here: they cannot report an error,
//! and making them fail would only simulate a leak.
//!
//! The counting is thread-local so that scorers on other threads (and
//! tests running in parallel) are unaffected by an armed hook.

use cudarc::driver::sys;
use vmaf_core::{Error, Result};

/// The driver's name and description of a status code, without a second
/// failure if the driver cannot describe it.
pub(crate) fn driver_error_text(r: sys::CUresult) -> String {
    let mut name: *const std::ffi::c_char = std::ptr::null();
    let mut text: *const std::ffi::c_char = std::ptr::null();
    // SAFETY: out-pointers are valid; the driver returns static strings.
    unsafe {
        let named = sys::cuGetErrorName(r, &mut name) == sys::CUresult::CUDA_SUCCESS && !name.is_null();
        let texted = sys::cuGetErrorString(r, &mut text) == sys::CUresult::CUDA_SUCCESS && !text.is_null();
        let name = if named { std::ffi::CStr::from_ptr(name).to_string_lossy().into_owned() } else { format!("{r:?}") };
        if texted {
            format!("{name} ({})", std::ffi::CStr::from_ptr(text).to_string_lossy())
        } else {
            name
        }
    }
}

pub(crate) fn device_error(msg: String) -> Error {
    Error::Device { backend: "cuda".into(), msg }
}

/// Runs the driver call `call` (its CUDA name, for the message). Every
/// fallible driver call of the init and per-frame paths goes through here.
#[inline]
pub(crate) fn check(call: &'static str, f: impl FnOnce() -> sys::CUresult) -> Result<()> {
    inject(call)?;
    let r = f();
    if r == sys::CUresult::CUDA_SUCCESS {
        Ok(())
    } else {
        Err(device_error(format!("{call} failed: {}", driver_error_text(r))))
    }
}

/// [`check`] for NVRTC calls.
#[inline]
pub(crate) fn check_nvrtc(call: &'static str, f: impl FnOnce() -> cudarc::nvrtc::sys::nvrtcResult) -> Result<()> {
    inject(call)?;
    let r = f();
    if r == cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
        Ok(())
    } else {
        Err(device_error(format!("{call} failed: {r:?}")))
    }
}

/// When to fail: the pure counting logic of the injection hook, kept apart
/// from the thread-local so it is tested in every build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Calls seen since the plan was armed.
    pub calls: u64,
    /// Fail the call with this 1-based number (once).
    pub fail_at: Option<u64>,
    /// The name of the call that was failed, if one was.
    pub fired: Option<&'static str>,
}

impl FaultPlan {
    /// Counts one call; true when this is the call to fail.
    pub fn tick(&mut self, call: &'static str) -> bool {
        self.calls += 1;
        if self.fail_at == Some(self.calls) && self.fired.is_none() {
            self.fired = Some(call);
            true
        } else {
            false
        }
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
fn inject(_call: &'static str) -> Result<()> {
    Ok(())
}

#[cfg(feature = "fault-injection")]
fn inject(call: &'static str) -> Result<()> {
    let fire = injection::PLAN.with(|p| p.borrow_mut().tick(call));
    if fire {
        let n = injection::PLAN.with(|p| p.borrow().calls);
        Err(device_error(format!("{call} failed: injected fault (device call {n})")))
    } else {
        Ok(())
    }
}

/// The test-only hook (cargo feature `fault-injection`).
#[cfg(feature = "fault-injection")]
pub mod injection {
    use super::FaultPlan;
    use std::cell::RefCell;

    thread_local! {
        pub(super) static PLAN: RefCell<FaultPlan> = RefCell::new(FaultPlan::default());
    }

    /// Starts counting device calls made on this thread from zero and
    /// fails the `k`-th (1-based; `None`: count only).
    pub fn arm(k: Option<u64>) {
        PLAN.with(|p| *p.borrow_mut() = FaultPlan { calls: 0, fail_at: k, fired: None });
    }

    /// Stops injecting and returns what happened since [`arm`].
    pub fn disarm() -> FaultPlan {
        PLAN.with(|p| {
            let plan = *p.borrow();
            *p.borrow_mut() = FaultPlan::default();
            plan
        })
    }

    /// The plan as it stands.
    pub fn current() -> FaultPlan {
        PLAN.with(|p| *p.borrow())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_fires_once_on_the_kth_call() {
        let mut p = FaultPlan { fail_at: Some(3), ..Default::default() };
        let fired: Vec<bool> = ["a", "b", "c", "d", "e"].iter().map(|c| p.tick(c)).collect();
        assert_eq!(fired, [false, false, true, false, false]);
        assert_eq!(p.calls, 5);
        assert_eq!(p.fired, Some("c"));
        let mut idle = FaultPlan::default();
        assert!(!(0..100).any(|_| idle.tick("x")));
        assert_eq!(idle.calls, 100);
        assert_eq!(idle.fired, None);
    }

    #[cfg(feature = "fault-injection")]
    #[test]
    fn injected_failures_propagate_through_check() {
        // No driver is needed: an injected fault returns before the call.
        injection::arm(Some(2));
        let mut ran = Vec::new();
        let mut step = |name: &'static str| {
            check(name, || {
                ran.push(name);
                sys::CUresult::CUDA_SUCCESS
            })
        };
        assert!(step("cuOne").is_ok());
        let e = step("cuTwo").unwrap_err();
        assert!(step("cuThree").is_ok());
        assert_eq!(ran, ["cuOne", "cuThree"], "the failed call must not run");
        assert!(matches!(&e, Error::Device { msg, .. } if msg.contains("cuTwo") && msg.contains("injected")), "{e}");
        let plan = injection::disarm();
        assert_eq!((plan.calls, plan.fired), (3, Some("cuTwo")));
        assert_eq!(injection::current(), FaultPlan::default());
        // Other threads are not affected by this thread's plan.
        injection::arm(Some(1));
        std::thread::spawn(|| assert!(check("cuElsewhere", || sys::CUresult::CUDA_SUCCESS).is_ok())).join().unwrap();
        assert!(check_nvrtc("nvrtcHere", || cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS).is_err());
        injection::disarm();
    }
}
