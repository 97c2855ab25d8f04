//! Reference kernels for PSNR: the sum of squared differences of a plane.
//!
//! Row sums are kept in 32 bits, as libvmaf does for 8-bit input; with
//! widths capped at `MAX_DIMENSION` (32768) a row of 8-bit differences
//! cannot exceed 32768 * 255^2 < 2^31. The loops are written so the compiler
//! can vectorise them (with the baseline SSE2 only: x86.rs has the AVX2
//! version).

use vmaf_core::Plane;

pub fn sse_u8(r: &Plane<u8>, d: &Plane<u8>) -> u64 {
    r.rows()
        .zip(d.rows())
        .map(|(r, d)| {
            r.iter()
                .zip(d)
                .map(|(&a, &b)| {
                    let e = a as i32 - b as i32;
                    (e * e) as u32
                })
                .sum::<u32>() as u64
        })
        .sum()
}

pub fn sse_u16(r: &Plane<u16>, d: &Plane<u16>) -> u64 {
    r.rows()
        .zip(d.rows())
        .map(|(r, d)| {
            r.iter()
                .zip(d)
                .map(|(&a, &b)| {
                    let e = (a as i32 - b as i32).unsigned_abs() as u64;
                    e * e
                })
                .sum::<u64>()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_small() {
        let r = Plane::from_vec(vec![0u8, 255, 10, 20, 99, 99], 2, 2, 3).unwrap();
        let d = Plane::from_vec(vec![255u8, 0, 77, 21, 99, 77], 2, 2, 3).unwrap();
        // padding sample (index 2 / 5) ignored
        assert_eq!(sse_u8(&r, &d), 2 * 255 * 255 + 1);
        let r = Plane::from_vec(vec![0u16, 65535], 2, 1, 2).unwrap();
        let d = Plane::from_vec(vec![65535u16, 0], 2, 1, 2).unwrap();
        assert_eq!(sse_u16(&r, &d), 2 * 65535u64 * 65535);
    }
}
