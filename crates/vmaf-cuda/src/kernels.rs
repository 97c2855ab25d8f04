//! The CUDA kernel sources, embedded in the binary.
//!
//! One `.cu` file per feature under `kernels/`, compiled by NVRTC at run
//! time (see [`crate::nvrtc`]) so the crate builds without a CUDA toolkit.
//! Each file is one module; its entry points are `extern "C"` so they are
//! found by their plain names.

/// One kernel source file and the entry points it defines.
#[derive(Debug)]
pub struct KernelSource {
    /// Module name (the file name without `.cu`); the key of the module
    /// and compile caches.
    pub name: &'static str,
    pub source: &'static str,
    pub functions: &'static [&'static str],
}

pub static PSNR: KernelSource = KernelSource {
    name: "psnr",
    source: include_str!("../kernels/psnr.cu"),
    functions: &["psnr_sse_u8", "psnr_sse_u16"],
};

pub static VIF: KernelSource = KernelSource {
    name: "vif",
    source: include_str!("../kernels/vif.cu"),
    functions: &[
        "vif_stat0_u8",
        "vif_stat0_u16",
        "vif_stat1",
        "vif_stat2",
        "vif_stat3",
        "vif_sub0_u8",
        "vif_sub0_u16",
        "vif_sub1",
        "vif_sub2",
    ],
};

pub static ADM: KernelSource = KernelSource {
    name: "adm",
    source: include_str!("../kernels/adm.cu"),
    functions: &[
        "adm_dwt_vertical_u8",
        "adm_dwt_vertical_u16",
        "adm_dwt_vertical_s32",
        "adm_dwt_horizontal",
        "adm_decouple_csf",
        "adm_masking",
    ],
};

pub static MOTION: KernelSource = KernelSource {
    name: "motion",
    source: include_str!("../kernels/motion.cu"),
    functions: &["motion_sad_u8", "motion_sad_u16", "motion_keep_rows"],
};

/// Every kernel source of the crate.
pub static ALL: &[&KernelSource] = &[&PSNR, &VIF, &ADM, &MOTION];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_embedded_and_define_their_entry_points() {
        let mut names: Vec<&str> = ALL.iter().map(|k| k.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "module names must be unique");
        for k in ALL {
            assert!(k.source.len() > 100, "{} is empty", k.name);
            assert!(!k.source.contains('\0'), "{} has a NUL byte (NVRTC takes a C string)", k.name);
            // NVRTC runs without include paths.
            assert!(!k.source.contains("#include"), "{} includes a header", k.name);
            assert!(!k.functions.is_empty());
            for f in k.functions {
                let decl = k.source.find(&format!("\n{f}(")).or_else(|| k.source.find(&format!(" {f}(")));
                assert!(decl.is_some(), "{}: no definition of {f}", k.name);
                let before = &k.source[..decl.unwrap()];
                let line_start =
                    before.rfind("extern \"C\" __global__").expect("entry points are extern \"C\" __global__");
                assert!(decl.unwrap() - line_start < 80, "{}: {f} is not declared extern \"C\" __global__", k.name);
            }
        }
    }
}
