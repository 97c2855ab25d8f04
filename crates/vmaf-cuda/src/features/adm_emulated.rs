//! Host emulation of kernels/adm.cu, compared bit for bit with the CPU
//! scalar pipeline.
//!
//! The hosts that build this crate have no GPU, but they do have a C++
//! compiler (Rust links through it). The kernel source is compiled as
//! ordinary C++ behind a small shim that provides CUDA's built-in
//! variables, one OS thread per CUDA thread where the kernel synchronises
//! (the masking reduction: `__syncthreads`, warp shuffles, shared memory),
//! a plain loop over threads elsewhere, and 64-bit atomics. The extractor's
//! own launch plan ([`plan`], [`LevelLaunch::stages`]) drives it over host
//! buffers laid out by [`Layout`], and the per-level sums must equal
//! [`reference_sums`] exactly, on hostile pictures and every option that
//! changes the arithmetic.
//!
//! What this does not show: the GPU's own behaviour (NVRTC code
//! generation, real warp scheduling, device memory). The device_check
//! example covers those on a real device; this catches every arithmetic,
//! indexing and border mistake before one is needed.

use std::ffi::{c_char, c_int, CString};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use vmaf_core::{ChromaSampling, Geometry, Options, Picture, PictureData};
use vmaf_cpu::features::integer_adm::{reference_sums, AdmHost, LevelSums, OPTIONS};

use super::{plan, unpack_sums, AdmArgs, Layout, SUMS_PER_LEVEL};
use crate::kernels;
use crate::session::pack_luma;

/// CUDA's built-ins on the host. Blocks run one after another; within a
/// block, kernels that synchronise get one thread per CUDA thread.
const SHIM: &str = r#"
#include <cstring>
#include <ucontext.h>
#include <vector>

struct dim3 { unsigned int x, y, z; };
static dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __device__
#define __forceinline__ inline
#define __constant__ static const
#define __global__
#define __launch_bounds__(n)
#define __shared__ static

// Threads of a synchronising block are fibers, resumed round robin; each
// barrier is one yield. Every live thread of these kernels meets the same
// barriers in the same order (as CUDA requires), so after one round every
// thread has reached the barrier the first one yielded at.
static ucontext_t scheduler;
static std::vector<ucontext_t> fibers;
static unsigned int running;

static void yield_to_scheduler() { swapcontext(&fibers[running], &scheduler); }

static void __syncthreads() { yield_to_scheduler(); }

static unsigned long long shuffle_slots[1024];

static unsigned long long __shfl_down_sync(unsigned int, unsigned long long v, int offset)
{
    const unsigned int t = threadIdx.x, lane = t % 32;
    shuffle_slots[t] = v;
    yield_to_scheduler();
    const unsigned int src = lane + (unsigned int)offset;
    const unsigned long long r = src < 32 ? shuffle_slots[t - lane + src] : v;
    yield_to_scheduler();
    return r;
}

static int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned int)x); }

static unsigned long long atomicAdd(unsigned long long *p, unsigned long long v)
{
    const unsigned long long old = *p;
    *p = old + v;
    return old;
}
"#;

const LAUNCHER: &str = r#"
typedef void (*Kernel)(AdmArgs);

static Kernel fiber_kernel;
static AdmArgs fiber_args;
static std::vector<char> finished;

// A fiber's body; returning resumes the scheduler (uc_link).
static void fiber_main()
{
    fiber_kernel(fiber_args);
    finished[running] = 1;
}

extern "C" int emu_launch(const char *name, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                          const AdmArgs *args)
{
    struct Entry { const char *name; Kernel k; bool sync; };
    static const Entry table[] = {
        {"adm_dwt_vertical_u8", adm_dwt_vertical_u8, false},
        {"adm_dwt_vertical_u16", adm_dwt_vertical_u16, false},
        {"adm_dwt_vertical_s32", adm_dwt_vertical_s32, false},
        {"adm_dwt_horizontal", adm_dwt_horizontal, false},
        {"adm_decouple_csf", adm_decouple_csf, false},
        {"adm_masking", adm_masking, true},
    };
    const Entry *e = nullptr;
    for (const Entry &t : table)
        if (std::strcmp(t.name, name) == 0)
            e = &t;
    if (!e || bx == 0 || bx % 32 != 0 || bx > 1024)
        return 1;
    gridDim = {gx, gy, gz};
    blockDim = {bx, 1, 1};
    const size_t stack_bytes = 256 * 1024;
    static std::vector<char> stacks;
    if (e->sync) {
        stacks.resize(bx * stack_bytes);
        fibers.resize(bx);
        fiber_kernel = e->k;
        fiber_args = *args;
    }
    for (unsigned int z = 0; z < gz; z++)
        for (unsigned int y = 0; y < gy; y++)
            for (unsigned int x = 0; x < gx; x++) {
                blockIdx = {x, y, z};
                if (!e->sync) {
                    for (unsigned int t = 0; t < bx; t++) {
                        threadIdx = {t, 0, 0};
                        e->k(*args);
                    }
                    continue;
                }
                finished.assign(bx, 0);
                for (unsigned int t = 0; t < bx; t++) {
                    getcontext(&fibers[t]);
                    fibers[t].uc_stack.ss_sp = &stacks[t * stack_bytes];
                    fibers[t].uc_stack.ss_size = stack_bytes;
                    fibers[t].uc_link = &scheduler;
                    makecontext(&fibers[t], fiber_main, 0);
                }
                for (unsigned int live = bx; live > 0;) {
                    live = 0;
                    for (unsigned int t = 0; t < bx; t++) {
                        if (finished[t])
                            continue;
                        running = t;
                        threadIdx = {t, 0, 0};
                        swapcontext(&scheduler, &fibers[t]);
                        live += !finished[t];
                    }
                }
            }
    return 0;
}
"#;

type Launch = unsafe extern "C" fn(*const c_char, u32, u32, u32, u32, *const AdmArgs) -> c_int;

/// The emulator library, compiled once per test process.
fn emulator() -> &'static (libloading::Library, Launch) {
    static LIB: OnceLock<(libloading::Library, Launch)> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("vmaf-cuda-adm-emu-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let src = dir.join("adm_emu.cpp");
        std::fs::write(&src, format!("{SHIM}\n{}\n{LAUNCHER}", kernels::ADM.source)).expect("write emulator source");
        let lib: PathBuf = dir.join("libadm_emu.so");
        let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
        // No contraction of a*b+c, as NVRTC is told (--fmad=false).
        let out = Command::new(&cxx)
            .args(["-std=c++20", "-O2", "-ffp-contract=off", "-fno-fast-math", "-fPIC", "-shared", "-pthread"])
            .args(["-Wall", "-Wno-unused-function", "-o"])
            .arg(&lib)
            .arg(&src)
            .output()
            .unwrap_or_else(|e| panic!("running {cxx} (a C++ compiler is needed to emulate the kernels): {e}"));
        assert!(out.status.success(), "adm.cu does not compile as C++:\n{}", String::from_utf8_lossy(&out.stderr));
        // SAFETY: a library just built from our own source, with no
        // initialisers beyond the C++ runtime's.
        let l = unsafe { libloading::Library::new(&lib) }.expect("load emulator");
        // SAFETY: the symbol is `emu_launch` with the `Launch` signature.
        let f: Launch = unsafe { *l.get::<Launch>(b"emu_launch\0").expect("emu_launch") };
        let _ = std::fs::remove_dir_all(&dir);
        (l, f)
    })
}

/// One frame through the emulated kernels, as `CudaAdm::enqueue` launches
/// them; returns the four levels' sums.
fn emulate(host: &AdmHost, reference: &Picture, distorted: &Picture) -> [LevelSums; 4] {
    let g = *reference.geometry();
    let (w, h) = (g.width as usize, g.height as usize);
    let bps = g.bytes_per_sample();
    let layout = Layout::new(w, &host.levels()[0]);
    // Garbage in the work buffer, as device memory has: nothing may read
    // a value no kernel wrote.
    let mut work = vec![0x5a5a_5a5a_i32; layout.total];
    let row = w * bps;
    let mut input = vec![0u8; 2 * row * h];
    let (r, d) = input.split_at_mut(row * h);
    pack_luma(reference, row, r);
    pack_luma(distorted, row, d);
    let mut sums = [0u64; 4 * SUMS_PER_LEVEL];
    let (args, launches) = plan(host, g, &layout, work.as_mut_ptr() as u64);
    let launch = emulator().1;
    // The emulator's state (grid, fibers) is global: one launch at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for (l, go) in launches.iter().enumerate() {
        let mut a = args[l];
        a.src = [input.as_ptr() as u64, input.as_ptr() as u64 + (row * h) as u64];
        a.src_pitch = [row as u64; 2];
        a.sums = sums.as_mut_ptr() as u64 + (l * SUMS_PER_LEVEL * 8) as u64;
        for (stage, grid, block) in go.stages() {
            assert_eq!((block.1, block.2), (1, 1));
            let name = CString::new(stage.function(l, bps)).unwrap();
            // SAFETY: the arguments address `work`, `input` and `sums`,
            // all alive and sized as the device buffers are.
            let rc = unsafe { launch(name.as_ptr(), grid.0, grid.1, grid.2, block.0, &a) };
            assert_eq!(rc, 0, "launch of {name:?} refused");
        }
    }
    unpack_sums(|i| sums[i])
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[derive(Clone, Copy, Debug)]
enum Content {
    Zero,
    Max,
    Noise,
    /// A smooth gradient with texture: most gradients agree between
    /// reference and a mildly distorted copy (the enhancement path).
    Texture,
}

fn luma(g: Geometry, content: Content, seed: u64) -> Picture {
    let mut pic = Picture::new(g);
    let max = (1u64 << g.bit_depth) - 1;
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let (w, h) = (g.width as u64, g.height as u64);
    let mut value = |x: u64, y: u64| match content {
        Content::Zero => 0,
        Content::Max => max,
        Content::Noise => rng.next() % (max + 1),
        Content::Texture => {
            let base = (x * max / w.max(1) + y * max / h.max(1)) / 2;
            let ripple = ((x * 7 + y * 3) % 16) * max / 64;
            (base + ripple + rng.next() % (max / 32 + 1)).min(max)
        }
    };
    match pic.data_mut() {
        PictureData::U8(p) => {
            let s = p[0].stride();
            for (i, v) in p[0].data_mut().iter_mut().enumerate() {
                *v = value((i % s) as u64, (i / s) as u64) as u8;
            }
        }
        PictureData::U16(p) => {
            let s = p[0].stride();
            for (i, v) in p[0].data_mut().iter_mut().enumerate() {
                *v = value((i % s) as u64, (i / s) as u64) as u16;
            }
        }
    }
    pic
}

/// `r` with small noise added (clamped), a typical distortion.
fn distort(r: &Picture, seed: u64, amount: u64) -> Picture {
    let max = (1i64 << r.geometry().bit_depth) - 1;
    let mut rng = Rng(seed | 1);
    let mut d = r.clone();
    let mut nudge = |v: i64| (v + (rng.next() % (2 * amount + 1)) as i64 - amount as i64).clamp(0, max);
    match d.data_mut() {
        PictureData::U8(p) => p[0].data_mut().iter_mut().for_each(|v| *v = nudge(*v as i64) as u8),
        PictureData::U16(p) => p[0].data_mut().iter_mut().for_each(|v| *v = nudge(*v as i64) as u16),
    }
    d
}

fn host(g: Geometry, opts: &[(&str, &str)]) -> AdmHost {
    let o = Options::parse("adm", OPTIONS, opts.iter().copied()).expect("valid adm options");
    AdmHost::new(&o, g).expect("adm host")
}

/// Emulated and reference sums of one pair must be equal, and so must the
/// scores the host makes of them.
fn check(label: &str, host: &AdmHost, r: &Picture, d: &Picture) {
    let want = reference_sums(host, r, d).expect("reference");
    let got = emulate(host, r, d);
    for l in 0..4 {
        assert_eq!(got[l], want[l], "{label}: level {l} sums differ (emulated vs CPU scalar)");
    }
    let (a, b) = (host.scores(&got), host.scores(&want));
    assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "{label}");
}

#[test]
fn emulated_kernels_equal_the_cpu_on_hostile_pictures() {
    let sizes = [(33u32, 33u32), (34, 35), (47, 61), (65, 40), (96, 54)];
    let mut cases = 0;
    for bpc in [8u8, 10, 12, 16] {
        // Every size at 8 and 16 bits, two at 10 and 12, to keep it quick.
        let n = if bpc == 8 || bpc == 16 { sizes.len() } else { 2 };
        for (k, &(w, h)) in sizes.iter().enumerate().take(n) {
            let g = Geometry::new(w, h, ChromaSampling::Cs420, bpc).unwrap();
            let hst = host(g, &[]);
            let seed = (w * 131 + h * 7 + bpc as u32) as u64;
            let noise = luma(g, Content::Noise, seed);
            let texture = luma(g, Content::Texture, seed + 1);
            let pairs = [
                ("noise/noise", noise.clone(), luma(g, Content::Noise, seed + 2)),
                ("texture/distorted", texture.clone(), distort(&texture, seed + 3, 3)),
                ("zero/zero", luma(g, Content::Zero, 0), luma(g, Content::Zero, 0)),
                ("max/zero", luma(g, Content::Max, 0), luma(g, Content::Zero, 0)),
                ("noise/max", noise.clone(), luma(g, Content::Max, 0)),
                ("identical", texture.clone(), texture.clone()),
            ];
            // The smallest size runs every pair; the others two each, to
            // keep the test quick.
            for (label, r, d) in pairs.iter().filter(|p| k == 0 || p.0.starts_with('n') || p.0.starts_with('t')) {
                check(&format!("{w}x{h} {bpc}-bit {label}"), &hst, r, d);
                cases += 1;
            }
        }
    }
    assert!(cases >= 30, "{cases}");
}

#[test]
fn emulated_kernels_equal_the_cpu_with_every_option_that_changes_the_arithmetic() {
    let sets: &[&[(&str, &str)]] = &[
        &[("adm_enhn_gain_limit", "1")],
        &[("adm_enhn_gain_limit", "1.2"), ("adm_skip_aim", "true")],
        // The v1.0.16 models' options.
        &[
            ("adm_dlm_weight", "0.7"),
            ("adm_enhn_gain_limit", "1.0"),
            ("adm_noise_weight", "0.02"),
            ("adm_norm_view_dist", "1.5"),
            ("adm_ref_display_height", "2160"),
            ("adm_min_val", "0.5"),
            ("adm_csf_mode", "2"),
        ],
        &[("adm_csf_mode", "1"), ("adm_csf_scale", "1.3"), ("adm_csf_diag_scale", "0.7")],
        &[("adm_csf_mode", "3"), ("adm_norm_view_dist", "5"), ("adm_skip_scale0", "true")],
        &[("adm_norm_view_dist", "4"), ("adm_ref_display_height", "2160"), ("debug", "true")],
    ];
    for opts in sets {
        for (w, h, bpc) in [(57u32, 45u32, 8u8), (40, 66, 10)] {
            let g = Geometry::new(w, h, ChromaSampling::Cs400, bpc).unwrap();
            let hst = host(g, opts);
            let r = luma(g, Content::Texture, w as u64);
            check(&format!("{w}x{h} {bpc}-bit {opts:?}"), &hst, &r, &distort(&r, 9, 5));
            check(&format!("{w}x{h} {bpc}-bit {opts:?} noise"), &hst, &r, &luma(g, Content::Noise, 3));
        }
    }
}
