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
//! process, and on disk across processes: compiling the three VMAF modules
//! takes NVRTC about a second, which the `vmaf` command would otherwise pay
//! on every run (libvmaf's CUDA build compiles its kernels at build time).
//! A disk entry is named by a hash of everything that determines the image
//! (source text, options, target, NVRTC version), written atomically, and
//! checked before use; `VMAF_KERNEL_CACHE` chooses the folder (`off`
//! disables it). Loading into a context is [`crate::device`]'s job.

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

/// A compiled image, and whether it was read from the disk cache (so a
/// load failure can discard it and compile afresh).
#[derive(Clone)]
pub(crate) struct Image {
    pub bytes: Arc<Vec<u8>>,
    pub from_disk: bool,
}

type Cache = HashMap<(&'static str, (i32, i32)), Image>;
static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// The compiled image of `source` for compute capability `cc`: from this
/// process's cache, else from the disk cache, else compiled (and stored in
/// both).
#[cfg(test)]
pub(crate) fn compiled(source: &'static KernelSource, cc: (i32, i32)) -> Result<Arc<Vec<u8>>> {
    image(source, cc).map(|i| i.bytes)
}

pub(crate) fn image(source: &'static KernelSource, cc: (i32, i32)) -> Result<Image> {
    loader::nvrtc()?;
    // Held while compiling: concurrent first uses compile once.
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    let cache = cache.get_or_insert_with(HashMap::new);
    if let Some(img) = cache.get(&(source.name, cc)) {
        return Ok(img.clone());
    }
    let image = loader::guarded("NVRTC compilation", || {
        let target = choose_target(cc, &supported_archs()?)?;
        let path = disk::path(source, target);
        if let Some(bytes) = path.as_deref().and_then(|p| disk::read(p, target)) {
            return Ok(Image { bytes: Arc::new(bytes), from_disk: true });
        }
        let bytes = compile(source, target)?;
        if let Some(p) = &path {
            disk::write(p, &bytes);
        }
        Ok(Image { bytes: Arc::new(bytes), from_disk: false })
    })?;
    cache.insert((source.name, cc), image.clone());
    Ok(image)
}

/// Forgets the image of `source` for `cc`, here and on disk: the driver
/// refused a cached image (damaged, or from another driver's era).
pub(crate) fn discard(source: &'static KernelSource, cc: (i32, i32)) {
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = cache.as_mut() {
        c.remove(&(source.name, cc));
    }
    if let Ok(supported) = supported_archs() {
        if let Ok(target) = choose_target(cc, &supported) {
            if let Some(p) = disk::path(source, target) {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// The on-disk cache. Every failure here only means compiling again.
mod disk {
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use super::{compile_options, Target};
    use crate::kernels::KernelSource;

    /// The cache folder: `$VMAF_KERNEL_CACHE`, else the user's cache
    /// folder; `None` when disabled or unknown.
    fn dir() -> Option<PathBuf> {
        match std::env::var_os("VMAF_KERNEL_CACHE") {
            Some(v) if v == "off" || v.is_empty() => None,
            Some(v) => Some(PathBuf::from(v)),
            None => std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|c| c.join("vmaf-rs").join("kernels")),
        }
    }

    /// FNV-1a, 64 bits: a stable name for the inputs (not a security
    /// measure: the image is checked again by the driver when loaded).
    fn fnv(parts: &[&[u8]]) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for p in parts {
            for &b in p.iter().chain(&[0xff]) {
                h ^= b as u64;
                h = h.wrapping_mul(0x100_0000_01b3);
            }
        }
        h
    }

    pub(super) fn path(source: &KernelSource, target: Target) -> Option<PathBuf> {
        let nvrtc = crate::loader::nvrtc().ok()?;
        let version = format!("{:?}", nvrtc.version);
        let options = compile_options(target).join(" ");
        let h = fnv(&[
            source.source.as_bytes(),
            options.as_bytes(),
            version.as_bytes(),
            env!("CARGO_PKG_VERSION").as_bytes(),
        ]);
        let ext = match target {
            Target::Cubin(_) => "cubin",
            Target::Ptx(_) => "ptx",
        };
        Some(dir()?.join(format!("{}-{}-{h:016x}.{ext}", source.name, target.arch())))
    }

    /// A cached image, if it is there and looks whole: a CUBIN is an ELF
    /// file, PTX text ends with the NUL the driver needs.
    pub(super) fn read(path: &Path, target: Target) -> Option<Vec<u8>> {
        let bytes = std::fs::read(path).ok()?;
        let ok = match target {
            Target::Cubin(_) => bytes.len() > 64 && bytes.starts_with(b"\x7fELF"),
            Target::Ptx(_) => bytes.len() > 1 && bytes.last() == Some(&0),
        };
        ok.then_some(bytes)
    }

    /// Stores an image: written to a temporary file in the same folder and
    /// renamed, so a reader never sees half a file.
    pub(super) fn write(path: &Path, bytes: &[u8]) {
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = dir.join(format!(".{}.{}.tmp", std::process::id(), path.file_name().and_then(|n| n.to_str()).unwrap_or("k")));
        let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
        if written.is_err() || std::fs::rename(&tmp, path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn names_change_with_every_input() {
            let a = fnv(&[b"source", b"opts"]);
            assert_ne!(a, fnv(&[b"source", b"opts2"]));
            assert_ne!(a, fnv(&[b"sourceo", b"pts"]), "parts are delimited");
            assert_eq!(a, fnv(&[b"source", b"opts"]));
        }

        #[test]
        fn damaged_entries_are_not_used_and_writes_are_whole() {
            let dir = std::env::temp_dir().join(format!("vmaf-kcache-{}", std::process::id()));
            let p = dir.join("k.cubin");
            let mut elf = b"\x7fELF".to_vec();
            elf.resize(100, 7);
            write(&p, &elf);
            assert_eq!(read(&p, Target::Cubin(90)).as_deref(), Some(&elf[..]));
            write(&p, b"\x7fELF short");
            assert_eq!(read(&p, Target::Cubin(90)), None, "truncated");
            write(&p, b"not an ELF file, but long enough to pass the length check only ......................");
            assert_eq!(read(&p, Target::Cubin(90)), None);
            write(&p, b".version 8.0\0");
            assert!(read(&p, Target::Ptx(90)).is_some());
            write(&p, b".version 8.0");
            assert_eq!(read(&p, Target::Ptx(90)), None, "PTX needs its NUL");
            assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp")));
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
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
        let supported = supported_archs().unwrap();
        for cc in [(7, 5), (8, 0), (8, 6), (8, 9), (9, 0), (10, 0), (12, 0)] {
            for k in crate::kernels::ALL {
                // Really compiled: not from this process's or the disk cache.
                match choose_target(cc, &supported).and_then(|t| compile(k, t)) {
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
