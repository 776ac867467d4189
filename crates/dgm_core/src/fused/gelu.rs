//! GELU and its derivative in arithmetic the CPU runs eight lanes at a time.
//!
//! GELU(x) = x Phi(x), Phi the standard normal CDF. burn-flex computes Phi through libm's
//! `erff`, one element at a time with branches; in a transformer's MLP that was a sixth of a
//! training pass. Here Phi and the normal density come from one exponential and one rational
//! polynomial, without branches, so that the compiler runs the loop in SIMD lanes:
//!
//! Phi(x) = 1 - q(|x|) / 2 for x >= 0 and q(|x|) / 2 for x < 0, with
//! q(a) = 1 - erf(a / sqrt 2) = t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) e^(-a^2 / 2),
//! t = 1 / (1 + p a / sqrt 2)
//!
//! (Abramowitz and Stegun 7.1.26, |error of erf| < 1.5e-7), and e^(-x^2/2) by range reduction
//! to 2^n e^r, |r| <= ln(2) / 2, and a degree-7 polynomial for e^r. The derivative,
//! Phi(x) + x phi(x) with phi(x) = e^(-x^2/2) / sqrt(2 pi), reuses the same exponential.
//! Against libm's `erff` the values differ by at most a few units in the seventh digit (the
//! tests bound it), so models that use GELU move by rounding.

/// p and a1..a5 of Abramowitz and Stegun 7.1.26.
const P: f32 = 0.327_591_1;
const A: [f32; 5] = [
    0.254_829_6,
    -0.284_496_74,
    1.421_413_8,
    -1.453_152,
    1.061_405_4,
];

/// 1 / sqrt(2 pi), the normal density at 0.
const INVERSE_SQRT_2PI: f32 = 0.398_942_3;

/// e^x for x <= 0 (to -87.3, below which it returns e^-87.3, about 1e-38), to about two units
/// in the last place.
#[inline(always)]
fn exp_negative(x: f32) -> f32 {
    // 1.5 * 2^23: adding and subtracting it rounds an f32 of magnitude < 2^22 to an integer.
    const ROUND: f32 = 12_582_912.0;
    // ln 2 in two parts: n ln2_hi is exact for the n that occur.
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.max(-87.3);
    // n = round(x / ln 2)
    let n = (x * core::f32::consts::LOG2_E + ROUND) - ROUND;
    // r = x - n ln 2, |r| <= ln(2) / 2
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // e^r = sum_{k <= 7} r^k / k!, in Horner form
    let tail = 1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0));
    let e_r = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * tail)));
    // 2^n from its exponent bits (n >= -126)
    let two_n = f32::from_bits(((n as i32 + 127) as u32) << 23);
    e_r * two_n
}

/// Phi(x) and e^(-x^2 / 2).
#[inline(always)]
fn cdf_and_gaussian(x: f32) -> (f32, f32) {
    let a = x.abs();
    // t = 1 / (1 + p a / sqrt 2)
    let t = 1.0 / (1.0 + P * core::f32::consts::FRAC_1_SQRT_2 * a);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let gaussian = exp_negative(-0.5 * x * x);
    // q = 1 - erf(a / sqrt 2) = 2 (1 - Phi(a))
    let half_q = 0.5 * poly * gaussian;
    let cdf = if x < 0.0 { half_q } else { 1.0 - half_q };
    (cdf, gaussian)
}

/// GELU(x) = x Phi(x).
#[inline(always)]
pub(super) fn value(x: f32) -> f32 {
    x * cdf_and_gaussian(x).0
}

/// The gradient of GELU at x given the gradient g of its output: g (Phi(x) + x phi(x)).
#[inline(always)]
pub(super) fn gradient(x: f32, g: f32) -> f32 {
    let (cdf, gaussian) = cdf_and_gaussian(x);
    g * (cdf + x * INVERSE_SQRT_2PI * gaussian)
}

/// out = GELU(x), element by element.
pub(super) fn forward_slice(out: &mut [f32], x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked on the line above.
        return unsafe { forward_slice_avx2(out, x) };
    }
    forward_slice_portable(out, x)
}

/// out = gradient(x, g), element by element.
pub(super) fn backward_slice(out: &mut [f32], x: &[f32], g: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked on the line above.
        return unsafe { backward_slice_avx2(out, x, g) };
    }
    backward_slice_portable(out, x, g)
}

/// [`forward_slice_portable`] compiled for AVX2 (eight lanes). Without fused multiply-adds,
/// so every lane rounds as the portable loop does.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn forward_slice_avx2(out: &mut [f32], x: &[f32]) {
    forward_slice_portable(out, x)
}

/// [`backward_slice_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn backward_slice_avx2(out: &mut [f32], x: &[f32], g: &[f32]) {
    backward_slice_portable(out, x, g)
}

#[inline(always)]
fn forward_slice_portable(out: &mut [f32], x: &[f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = value(v);
    }
}

#[inline(always)]
fn backward_slice_portable(out: &mut [f32], x: &[f32], g: &[f32]) {
    for ((o, &v), &g) in out.iter_mut().zip(x).zip(g) {
        *o = gradient(v, g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// burn-flex's GELU and its derivative, through libm's erff.
    fn libm_value(x: f32) -> f32 {
        0.5 * x * (1.0 + libm::erff(x / core::f32::consts::SQRT_2))
    }

    fn libm_gradient(x: f32) -> f32 {
        let cdf = 0.5 * (1.0 + libm::erff(x / core::f32::consts::SQRT_2));
        cdf + x * INVERSE_SQRT_2PI * (-0.5 * x * x).exp()
    }

    /// Every 1/64 from -20 to 20, and the values around 0 and the far tails.
    fn grid() -> Vec<f32> {
        let mut xs: Vec<f32> = (-1280..=1280).map(|i| i as f32 / 64.0).collect();
        xs.extend([
            1e-30, -1e-30, 1e-7, -1e-7, 0.0, -0.0, 30.0, -30.0, 1e4, -1e4,
        ]);
        xs
    }

    #[test]
    fn the_exponential_is_within_two_units_in_the_last_place() {
        for i in 0..=87_000 {
            let x = -(i as f32) / 1000.0;
            let (ours, libm) = (exp_negative(x), x.exp());
            assert!(
                ((ours - libm) / libm).abs() <= 2.5e-7,
                "e^{x}: {ours} vs {libm}"
            );
        }
    }

    #[test]
    fn gelu_and_its_derivative_agree_with_libms_to_the_seventh_digit() {
        for x in grid() {
            let (ours, libm) = (value(x), libm_value(x));
            assert!(
                (ours - libm).abs() <= 2e-7 * (1.0 + x.abs()),
                "GELU({x}): {ours} vs {libm}"
            );
            let (ours, libm) = (gradient(x, 1.0), libm_gradient(x));
            assert!(
                (ours - libm).abs() <= 4e-7 * (1.0 + x.abs()),
                "GELU'({x}): {ours} vs {libm}"
            );
        }
    }

    #[test]
    fn the_simd_loop_gives_the_bits_of_the_element_function() {
        let xs = grid();
        let gs: Vec<f32> = xs.iter().map(|x| (x * 3.1).sin()).collect();
        let mut forward = vec![0.0; xs.len()];
        let mut backward = vec![0.0; xs.len()];
        forward_slice(&mut forward, &xs);
        backward_slice(&mut backward, &xs, &gs);
        for (i, &x) in xs.iter().enumerate() {
            assert_eq!(forward[i].to_bits(), value(x).to_bits(), "GELU({x})");
            assert_eq!(
                backward[i].to_bits(),
                gradient(x, gs[i]).to_bits(),
                "GELU'({x})"
            );
        }
    }
}
