//! Compiling the embedded kernel sources with NVRTC, once per process.
//!
//! Each source is compiled for the device's own architecture into a CUBIN
//! (`--gpu-architecture=sm_XY`), which needs no JIT at load time and does
//! not depend on the driver accepting NVRTC's PTX version. A device newer
//! than this NVRTC knows gets PTX for the newest architecture NVRTC has,
//! which the driver JIT-compiles. Options keep IEEE semantics (no fast
//! math, no FMA contraction, precise division and square root, no flush
//! to zero): the CPU scalar code is the specification, and it has none of
//! those shortcuts.
//!
//! Results are cached by (source, compute capability) for the life of the
//! process; loading into a context is [`crate::device`]'s job.

use std::collections::HashMap;
use std::ffi::{c_char, CString};
use std::sync::{Arc, Mutex, PoisonError};

use cudarc::nvrtc::sys;
use vmaf_core::Result;

use crate::fault::{check_nvrtc, device_error};
use crate::kernels::KernelSource;
use crate::loader;

/// What to compile for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// Machine code for `sm_N` (N = 10 * major + minor).
    Cubin(i32),
    /// PTX for `compute_N`, JIT-compiled by the driver at load.
    Ptx(i32),
}

impl Target {
    fn arch(self) -> String {
        match self {
            Target::Cubin(n) => format!("sm_{n}"),
            Target::Ptx(n) => format!("compute_{n}"),
        }
    }
}

/// The target for a device of compute capability `cc`, given the
/// architectures NVRTC supports (as `nvrtcGetSupportedArchs` lists them).
pub(crate) fn choose_target(cc: (i32, i32), supported: &[i32]) -> Result<Target> {
    let want = cc.0 * 10 + cc.1;
    if supported.contains(&want) {
        return Ok(Target::Cubin(want));
    }
    supported.iter().copied().filter(|&a| a <= want).max().map(Target::Ptx).ok_or_else(|| {
        device_error(format!(
            "NVRTC cannot compile for compute capability {}.{} (it supports {supported:?})",
            cc.0, cc.1
        ))
    })
}

/// NVRTC options for `target`. Never fast math: see the module docs.
pub(crate) fn compile_options(target: Target) -> Vec<String> {
    vec![
        format!("--gpu-architecture={}", target.arch()),
        "--fmad=false".into(),
        "--prec-div=true".into(),
        "--prec-sqrt=true".into(),
        "--ftz=false".into(),
        "--std=c++17".into(),
    ]
}

/// An NVRTC program, destroyed on every path.
struct Program(sys::nvrtcProgram);

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: created by nvrtcCreateProgram, destroyed once.
        unsafe {
            let _ = sys::nvrtcDestroyProgram(&mut self.0);
        }
    }
}

impl Program {
    fn log(&self) -> String {
        let mut n = 0usize;
        // SAFETY: valid program and out-pointer; buffer sized by NVRTC.
        unsafe {
            if sys::nvrtcGetProgramLogSize(self.0, &mut n) != sys::nvrtcResult::NVRTC_SUCCESS || n == 0 {
                return String::new();
            }
            let mut buf = vec![0u8; n];
            if sys::nvrtcGetProgramLog(self.0, buf.as_mut_ptr() as *mut c_char) != sys::nvrtcResult::NVRTC_SUCCESS {
                return String::new();
            }
            String::from_utf8_lossy(&buf).trim_end_matches('\0').trim().to_owned()
        }
    }
}

fn supported_archs() -> Result<Vec<i32>> {
    let mut n = 0;
    // SAFETY: valid out-pointer.
    check_nvrtc("nvrtcGetNumSupportedArchs", || unsafe { sys::nvrtcGetNumSupportedArchs(&mut n) })?;
    let mut v = vec![0i32; n.max(0) as usize];
    // SAFETY: buffer holds the count NVRTC just reported.
    check_nvrtc("nvrtcGetSupportedArchs", || unsafe { sys::nvrtcGetSupportedArchs(v.as_mut_ptr()) })?;
    Ok(v)
}

fn compile(source: &KernelSource, target: Target) -> Result<Vec<u8>> {
    let src = CString::new(source.source)
        .map_err(|_| device_error(format!("kernel source {} contains a NUL byte", source.name)))?;
    let name = CString::new(format!("{}.cu", source.name)).expect("kernel names have no NUL");
    let mut raw: sys::nvrtcProgram = std::ptr::null_mut();
    // SAFETY: valid strings and out-pointer; no headers.
    check_nvrtc("nvrtcCreateProgram", || unsafe {
        sys::nvrtcCreateProgram(&mut raw, src.as_ptr(), name.as_ptr(), 0, std::ptr::null(), std::ptr::null())
    })?;
    let prog = Program(raw);
    let opts: Vec<CString> =
        compile_options(target).into_iter().map(|o| CString::new(o).expect("options have no NUL")).collect();
    let ptrs: Vec<*const c_char> = opts.iter().map(|o| o.as_ptr()).collect();
    // SAFETY: option pointers live until the call returns.
    let compiled = check_nvrtc("nvrtcCompileProgram", || unsafe {
        sys::nvrtcCompileProgram(prog.0, ptrs.len() as i32, ptrs.as_ptr())
    });
    if let Err(e) = compiled {
        return Err(device_error(format!(
            "compiling kernel {} for {}: {e}\n{}",
            source.name,
            target.arch(),
            prog.log()
        )));
    }
    let mut n = 0usize;
    let image = match target {
        Target::Cubin(_) => {
            // SAFETY: compiled program; buffer sized by NVRTC.
            check_nvrtc("nvrtcGetCUBINSize", || unsafe { sys::nvrtcGetCUBINSize(prog.0, &mut n) })?;
            let mut buf = vec![0u8; n];
            check_nvrtc("nvrtcGetCUBIN", || unsafe { sys::nvrtcGetCUBIN(prog.0, buf.as_mut_ptr() as *mut c_char) })?;
            buf
        }
        Target::Ptx(_) => {
            // SAFETY: as above; the size includes the terminating NUL,
            // which cuModuleLoadData needs to find the end of PTX text.
            check_nvrtc("nvrtcGetPTXSize", || unsafe { sys::nvrtcGetPTXSize(prog.0, &mut n) })?;
            let mut buf = vec![0u8; n];
            check_nvrtc("nvrtcGetPTX", || unsafe { sys::nvrtcGetPTX(prog.0, buf.as_mut_ptr() as *mut c_char) })?;
            buf
        }
    };
    if image.is_empty() {
        return Err(device_error(format!("NVRTC produced an empty image for kernel {}", source.name)));
    }
    Ok(image)
}

type Cache = HashMap<(&'static str, (i32, i32)), Arc<Vec<u8>>>;
static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// The compiled image of `source` for compute capability `cc`, compiled
/// on first request in the process.
pub(crate) fn compiled(source: &'static KernelSource, cc: (i32, i32)) -> Result<Arc<Vec<u8>>> {
    loader::nvrtc()?;
    // Held while compiling: concurrent first uses compile once.
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    let cache = cache.get_or_insert_with(HashMap::new);
    if let Some(img) = cache.get(&(source.name, cc)) {
        return Ok(img.clone());
    }
    let image = loader::guarded("NVRTC compilation", || {
        let target = choose_target(cc, &supported_archs()?)?;
        compile(source, target)
    })?;
    let image = Arc::new(image);
    cache.insert((source.name, cc), image.clone());
    Ok(image)
}

/// How many kernel images this process has compiled (for tests of the
/// compile-once invariant).
pub fn compiled_count() -> usize {
    CACHE.lock().unwrap_or_else(PoisonError::into_inner).as_ref().map_or(0, HashMap::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiling_without_nvrtc_is_a_typed_error() {
        // No NVRTC on this host: an error that says so. Where NVRTC exists
        // (even without a GPU) the kernels must compile, once.
        match compiled(&crate::kernels::PSNR, (9, 0)) {
            Err(vmaf_core::Error::BackendUnavailable { msg, .. }) => assert!(msg.contains("NVRTC"), "{msg}"),
            Err(e) => panic!("unexpected error: {e}"),
            Ok(image) => {
                // sm_90 is a real architecture: machine code, an ELF image.
                assert_eq!(&image[..4], b"\x7fELF", "not a CUBIN");
                eprintln!("compiled psnr.cu for sm_90 with {:?}: {} bytes", loader::nvrtc().unwrap(), image.len());
                let again = compiled(&crate::kernels::PSNR, (9, 0)).unwrap();
                assert!(Arc::ptr_eq(&image, &again), "compiled twice");
            }
        }
    }

    /// CI sets `VMAF_REQUIRE_NVRTC=1` after installing NVRTC from PyPI (it
    /// needs no GPU): there, a missing compiler is a failure, not a skip.
    fn nvrtc_required() -> bool {
        std::env::var("VMAF_REQUIRE_NVRTC").is_ok_and(|v| v == "1")
    }

    #[test]
    fn every_kernel_compiles_for_every_supported_architecture() {
        if let Err(e) = loader::nvrtc() {
            assert!(!nvrtc_required(), "VMAF_REQUIRE_NVRTC=1 but NVRTC cannot be loaded: {e}");
            eprintln!("NVRTC not found ({e}); kernel compilation not checked here");
            return;
        }
        // Turing (7.5) through Hopper and Blackwell: real machine
        // code where NVRTC knows the architecture, PTX beyond.
        for cc in [(7, 5), (8, 0), (8, 6), (8, 9), (9, 0), (10, 0), (12, 0)] {
            for k in crate::kernels::ALL {
                match compiled(k, cc) {
                    Ok(image) => assert!(!image.is_empty(), "{} for sm_{}{}: empty image", k.name, cc.0, cc.1),
                    Err(e) => panic!("{} does not compile for sm_{}{}: {e}", k.name, cc.0, cc.1),
                }
            }
        }
    }

    #[test]
    fn target_choice() {
        let nvrtc13 = [75, 80, 86, 87, 88, 89, 90, 100, 103, 110, 120, 121];
        assert_eq!(choose_target((9, 0), &nvrtc13).unwrap(), Target::Cubin(90));
        // A device newer than the compiler knows: PTX for the newest arch
        // below it, for the driver to JIT.
        assert_eq!(choose_target((13, 0), &nvrtc13).unwrap(), Target::Ptx(121));
        assert_eq!(choose_target((8, 5), &nvrtc13).unwrap(), Target::Ptx(80));
        assert!(choose_target((6, 1), &nvrtc13).is_err());
    }

    #[test]
    fn options_keep_ieee_semantics() {
        for t in [Target::Cubin(90), Target::Ptx(90)] {
            let o = compile_options(t);
            assert!(o.iter().all(|x| !x.contains("fast")), "{o:?}");
            assert!(o.contains(&"--fmad=false".to_owned()));
            assert!(o.contains(&"--ftz=false".to_owned()));
        }
        assert_eq!(compile_options(Target::Cubin(90))[0], "--gpu-architecture=sm_90");
        assert_eq!(compile_options(Target::Ptx(90))[0], "--gpu-architecture=compute_90");
    }
}
