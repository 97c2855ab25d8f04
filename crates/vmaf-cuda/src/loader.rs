//! Finding the CUDA driver and NVRTC at run time.
//!
//! cudarc opens `libcuda` and `libnvrtc` lazily, on the first call into
//! them, and panics when neither of its candidate names loads or a symbol
//! is missing. A machine without an NVIDIA driver is an ordinary situation
//! for this library (the CPU backend is the default), so before anything
//! calls into cudarc we probe the same candidate names, in the same order,
//! ourselves: cudarc will then open the library we found, and every entry
//! point of this crate turns "no driver" into
//! [`Error::BackendUnavailable`] instead of a panic. The first driver call
//! (`cuInit`) additionally runs under `catch_unwind` as a last line of
//! defence against a library that loads but lacks a symbol we did not list.
//!
//! NVRTC often lives outside the loader's search path
//! (`/usr/local/cuda/lib64`). When no candidate name loads we look in the
//! usual toolkit folders and, if we find it there, load it by full path
//! with `RTLD_GLOBAL`: the dynamic loader then answers cudarc's later
//! open-by-name from the already loaded object (it matches the soname).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libloading::Library;
use vmaf_core::{Error, Result};

/// What the driver probe found.
#[derive(Debug, Clone)]
pub struct DriverInfo {
    /// The library name that loaded (as cudarc will open it).
    pub library: String,
    /// `cuDriverGetVersion`: 1000 * major + 10 * minor (13000 = CUDA 13.0).
    pub version: i32,
}

/// What the NVRTC probe found.
#[derive(Debug, Clone)]
pub struct NvrtcInfo {
    pub library: String,
    /// (major, minor) from `nvrtcVersion`.
    pub version: (i32, i32),
}

/// Driver symbols this crate calls. Checking them up front turns a driver
/// that is too old into an error message rather than a panic inside
/// cudarc's loader.
const DRIVER_SYMBOLS: &[&str] = &[
    "cuInit",
    "cuDriverGetVersion",
    "cuGetErrorName",
    "cuGetErrorString",
    "cuDeviceGetCount",
    "cuDeviceGet",
    "cuDeviceGetName",
    "cuDeviceGetAttribute",
    "cuDevicePrimaryCtxRetain",
    "cuDevicePrimaryCtxRelease_v2",
    "cuCtxGetCurrent",
    "cuCtxSetCurrent",
    "cuMemGetInfo_v2",
    "cuMemAlloc_v2",
    "cuMemFree_v2",
    "cuMemHostAlloc",
    "cuMemFreeHost",
    "cuMemcpyHtoDAsync_v2",
    "cuMemcpyDtoHAsync_v2",
    "cuMemcpy2DAsync_v2",
    "cuMemsetD8Async",
    "cuStreamCreate",
    "cuStreamSynchronize",
    "cuStreamDestroy_v2",
    "cuEventCreate",
    "cuEventRecord",
    "cuEventSynchronize",
    "cuEventDestroy_v2",
    "cuModuleLoadData",
    "cuModuleGetFunction",
    "cuModuleUnload",
    "cuLaunchKernel",
];

const NVRTC_SYMBOLS: &[&str] = &[
    "nvrtcVersion",
    "nvrtcGetNumSupportedArchs",
    "nvrtcGetSupportedArchs",
    "nvrtcCreateProgram",
    "nvrtcCompileProgram",
    "nvrtcGetProgramLogSize",
    "nvrtcGetProgramLog",
    "nvrtcGetCUBINSize",
    "nvrtcGetCUBIN",
    "nvrtcGetPTXSize",
    "nvrtcGetPTX",
    "nvrtcDestroyProgram",
];

/// Why a probe failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ProbeError {
    /// None of the candidate names loaded.
    NotFound,
    /// `library` loaded but has no `symbol`.
    MissingSymbol { library: String, symbol: String },
}

/// Opens the first of `candidates` that loads (the order cudarc uses) and
/// checks it exports every one of `symbols`. The handle is returned so the
/// library stays loaded for as long as the caller keeps it.
pub(crate) fn probe(candidates: &[String], symbols: &[&str]) -> Result<(Library, String), ProbeError> {
    for name in candidates {
        // SAFETY: loading a shared library runs its initialisers; the
        // candidates are the driver's and NVRTC's well-known names, the
        // same ones cudarc itself opens.
        let Ok(lib) = (unsafe { Library::new(name) }) else { continue };
        for sym in symbols {
            // SAFETY: only the symbol's presence is checked; it is not called.
            let found = unsafe { lib.get::<unsafe extern "C" fn()>(sym.as_bytes()) }.is_ok();
            if !found {
                return Err(ProbeError::MissingSymbol { library: name.clone(), symbol: (*sym).to_owned() });
            }
        }
        return Ok((lib, name.clone()));
    }
    Err(ProbeError::NotFound)
}

/// The names cudarc tries for `lib`, in its order.
fn candidates(libs: &[&str]) -> Vec<String> {
    libs.iter().flat_map(|l| cudarc::get_lib_name_candidates(l)).collect()
}

fn unavailable(msg: impl Into<String>) -> Error {
    Error::BackendUnavailable { backend: "cuda".into(), msg: msg.into() }
}

/// The text of a probe failure, kept so later calls report the same cause.
fn message(e: Error) -> String {
    match e {
        Error::BackendUnavailable { msg, .. } => msg,
        e => e.to_string(),
    }
}

/// Runs `f`, turning a panic inside cudarc (a library that loads but
/// misbehaves) into an error.
pub(crate) fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let detail = p
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| p.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            Err(unavailable(format!("{what} failed inside the CUDA bindings: {detail}")))
        }
    }
}

struct Loaded<T> {
    info: T,
    // Kept so the libraries stay mapped for the life of the process, which
    // is what cudarc's own handles assume.
    _libs: Vec<Library>,
}

// SAFETY: `Library` handles are process-global and not tied to a thread;
// they are only held here, never used after the probe.
unsafe impl<T: Send> Send for Loaded<T> {}
unsafe impl<T: Sync> Sync for Loaded<T> {}

static DRIVER: OnceLock<std::result::Result<Loaded<DriverInfo>, String>> = OnceLock::new();
static NVRTC: OnceLock<std::result::Result<Loaded<NvrtcInfo>, String>> = OnceLock::new();

/// Loads and initialises the CUDA driver, once per process. Every entry
/// point of this crate calls this before touching cudarc.
pub fn driver() -> Result<&'static DriverInfo> {
    match DRIVER.get_or_init(|| load_driver().map_err(message)) {
        Ok(l) => Ok(&l.info),
        Err(msg) => Err(unavailable(msg.clone())),
    }
}

fn load_driver() -> Result<Loaded<DriverInfo>> {
    let names = candidates(&["cuda", "nvcuda"]);
    let (lib, library) = match probe(&names, DRIVER_SYMBOLS) {
        Ok(found) => found,
        Err(ProbeError::NotFound) => {
            return Err(unavailable("CUDA driver library libcuda.so.1 not found: no NVIDIA driver on this machine"))
        }
        Err(ProbeError::MissingSymbol { library, symbol }) => {
            return Err(unavailable(format!(
                "CUDA driver library {library} has no {symbol}: the NVIDIA driver is too old \
                 (this build needs CUDA 13.0, driver 580 or newer)"
            )))
        }
    };
    let version = guarded("cuInit", || {
        use cudarc::driver::sys;
        // SAFETY: plain driver calls with valid out-pointers.
        unsafe {
            let r = sys::cuInit(0);
            if r != sys::CUresult::CUDA_SUCCESS {
                return Err(unavailable(format!("cuInit failed: {}", crate::fault::driver_error_text(r))));
            }
            let mut v = 0;
            let r = sys::cuDriverGetVersion(&mut v);
            if r != sys::CUresult::CUDA_SUCCESS {
                return Err(unavailable(format!("cuDriverGetVersion failed: {}", crate::fault::driver_error_text(r))));
            }
            Ok(v)
        }
    })?;
    Ok(Loaded { info: DriverInfo { library, version }, _libs: vec![lib] })
}

/// Loads NVRTC, once per process.
pub fn nvrtc() -> Result<&'static NvrtcInfo> {
    match NVRTC.get_or_init(|| load_nvrtc().map_err(message)) {
        Ok(l) => Ok(&l.info),
        Err(msg) => Err(unavailable(msg.clone())),
    }
}

/// Folders a CUDA toolkit usually installs NVRTC in, for when it is not on
/// the loader's search path.
fn toolkit_dirs() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> =
        ["CUDA_PATH", "CUDA_HOME", "CUDA_ROOT"].iter().filter_map(|v| std::env::var_os(v).map(PathBuf::from)).collect();
    roots.push(PathBuf::from("/usr/local/cuda"));
    if let Ok(rd) = std::fs::read_dir("/usr/local") {
        let mut versioned: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("cuda-")))
            .collect();
        // Newest first.
        versioned.sort();
        versioned.reverse();
        roots.extend(versioned);
    }
    roots.push(PathBuf::from("/opt/cuda"));
    let mut dirs = Vec::new();
    for r in roots {
        for sub in ["lib64", "lib", "targets/x86_64-linux/lib", "targets/sbsa-linux/lib"] {
            dirs.push(r.join(sub));
        }
    }
    dirs
}

/// Files in `dir` whose name starts with `prefix` and continues with `.so`,
/// most specific version first.
fn shared_objects(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(prefix))
                .is_some_and(|rest| rest.starts_with(".so"))
        })
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    v
}

#[cfg(unix)]
fn open_global(path: &Path) -> Option<Library> {
    use libloading::os::unix::{Library as UnixLibrary, RTLD_GLOBAL, RTLD_NOW};
    // SAFETY: as in `probe`: a toolkit library found in a toolkit folder.
    unsafe { UnixLibrary::open(Some(path), RTLD_NOW | RTLD_GLOBAL) }.ok().map(Library::from)
}

#[cfg(not(unix))]
fn open_global(path: &Path) -> Option<Library> {
    // SAFETY: as in `probe`.
    unsafe { Library::new(path) }.ok()
}

fn load_nvrtc() -> Result<Loaded<NvrtcInfo>> {
    let names = candidates(&["nvrtc"]);
    let mut libs = Vec::new();
    let mut found = probe(&names, NVRTC_SYMBOLS);
    if matches!(found, Err(ProbeError::NotFound)) {
        // Not on the search path: preload from a toolkit folder, builtins
        // first (NVRTC opens them by name while compiling).
        'dirs: for dir in toolkit_dirs() {
            for path in shared_objects(&dir, "libnvrtc") {
                let Some(lib) = open_global(&path) else { continue };
                libs.push(lib);
                for b in shared_objects(&dir, "libnvrtc-builtins") {
                    if let Some(l) = open_global(&b) {
                        libs.push(l);
                        break;
                    }
                }
                found = probe(&names, NVRTC_SYMBOLS);
                if found.is_ok() {
                    break 'dirs;
                }
            }
        }
    }
    let (lib, library) = match found {
        Ok(f) => f,
        Err(ProbeError::NotFound) => {
            return Err(unavailable(
                "NVRTC library libnvrtc.so not found: the CUDA kernels are compiled at run time and need \
                 the CUDA runtime compiler (install cuda-nvrtc, or add its folder to LD_LIBRARY_PATH)",
            ))
        }
        Err(ProbeError::MissingSymbol { library, symbol }) => {
            return Err(unavailable(format!("NVRTC library {library} has no {symbol}: NVRTC is too old")))
        }
    };
    libs.push(lib);
    let version = guarded("nvrtcVersion", || {
        let (mut major, mut minor) = (0, 0);
        // SAFETY: valid out-pointers.
        let r = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
        if r != cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
            return Err(unavailable(format!("nvrtcVersion failed: {r:?}")));
        }
        Ok((major, minor))
    })?;
    Ok(Loaded { info: NvrtcInfo { library, version }, _libs: libs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_reports_missing_library() {
        let names = vec!["libvmaf-no-such-library.so.1".to_owned()];
        assert_eq!(probe(&names, &["cuInit"]).err(), Some(ProbeError::NotFound));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn probe_checks_symbols() {
        // The C library loads everywhere and has no CUDA symbols: the probe
        // must name the first one missing, and accept symbols it has.
        let names = vec!["libvmaf-no-such-library.so".to_owned(), "libc.so.6".to_owned()];
        assert_eq!(
            probe(&names, &["malloc", "cuInit"]).err(),
            Some(ProbeError::MissingSymbol { library: "libc.so.6".into(), symbol: "cuInit".into() })
        );
        let (_lib, name) = probe(&names, &["malloc", "free"]).unwrap();
        assert_eq!(name, "libc.so.6");
    }

    #[test]
    fn candidate_names_are_cudarcs() {
        let c = candidates(&["cuda"]);
        assert!(c.iter().any(|n| n == "libcuda.so.1") || cfg!(not(target_os = "linux")), "{c:?}");
        assert!(candidates(&["nvrtc"]).iter().all(|n| n.contains("nvrtc")));
    }

    #[test]
    fn guarded_turns_panics_into_errors() {
        let e = guarded::<()>("test call", || panic!("symbol gone")).unwrap_err();
        assert!(
            matches!(&e, Error::BackendUnavailable { msg, .. } if msg.contains("test call") && msg.contains("symbol gone")),
            "{e}"
        );
        assert_eq!(guarded("ok", || Ok(7)).unwrap(), 7);
    }

    #[test]
    fn shared_object_listing() {
        let d = std::env::temp_dir().join(format!("vmaf-cuda-loader-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        for n in ["libnvrtc.so.13", "libnvrtc.so.13.0.48", "libnvrtc-builtins.so.13.0", "libnvrtcx.so", "readme"] {
            std::fs::write(d.join(n), b"").unwrap();
        }
        let got: Vec<String> = shared_objects(&d, "libnvrtc")
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, ["libnvrtc.so.13.0.48", "libnvrtc.so.13"]);
        let b = shared_objects(&d, "libnvrtc-builtins");
        assert_eq!(b.len(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
