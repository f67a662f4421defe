//! The machine's nominal f32 rate, for reference beside each backend's
//! matmul peak: a measured loop of fused multiply-adds on independent
//! accumulators (no loads, no stores: only the FMA pipes limit it), on one
//! core and on every core at once, and the core clock measured with a
//! chain of dependent integer adds (one cycle each on every x86-64 core),
//! from which the FMA instructions retired per cycle follow.
//!
//! The loop uses the widest vectors this build has code for: AVX2 + FMA
//! (8 f32 lanes), detected at run time; without them, SSE2 multiplies and
//! adds (4 lanes, x86-64's baseline). AVX-512 intrinsics need Rust 1.89,
//! above this workspace's MSRV, so a CPU with AVX-512 is measured at 256
//! bits and says so ([`FmaPeak::widest`]). Other architectures report none.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The measured FMA rate of this machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FmaPeak {
    /// The instructions the loop ran, e.g. `avx2+fma`.
    pub isa: String,
    /// f32 lanes per instruction.
    pub lanes: usize,
    /// The widest vector extension the CPU reports (`avx512f`, `avx2`...).
    pub widest: String,
    /// One thread alone, GFLOP/s (an FMA is 2 FLOPs per lane).
    pub per_core_gflop_per_s: f64,
    /// `threads` threads at once, GFLOP/s in all.
    pub all_gflop_per_s: f64,
    pub threads: usize,
    /// Measured core clock while one thread runs, GHz.
    pub clock_ghz: Option<f64>,
}

impl FmaPeak {
    /// FMA (or multiply + add) instructions retired per cycle on one core:
    /// the number of FMA pipes the loop kept busy.
    pub fn fma_per_cycle(&self) -> Option<f64> {
        let clock = self.clock_ghz?;
        Some(self.per_core_gflop_per_s / (clock * self.lanes as f64 * 2.0))
    }

    /// The nominal rate from vector width × clock × the measured FMAs per
    /// cycle, per core, GFLOP/s: equal to the measured rate by
    /// construction, stated as the roofline's arithmetic.
    pub fn nominal_per_core(&self) -> Option<f64> {
        let per_cycle = self.fma_per_cycle()?.round().max(1.0);
        Some(self.clock_ghz? * self.lanes as f64 * 2.0 * per_cycle)
    }
}

/// Independent accumulators: enough to cover an FMA's latency (4-5
/// cycles) on two pipes, few enough to stay in the 16 vector registers.
const ACCUMULATORS: usize = 12;

/// Loop trips per timed call: 12 × 8 × 2 × 2^20 ≈ 0.2 GFLOP, a few ms.
const TRIPS: u64 = 1 << 20;

/// Runs `trips` trips of the loop (returns them, for `black_box`).
type Kernel = fn(u64) -> f64;

struct Loop {
    isa: &'static str,
    lanes: usize,
    kernel: Kernel,
}

#[cfg(target_arch = "x86_64")]
fn widest_loop() -> Option<Loop> {
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        Some(Loop {
            isa: "avx2+fma",
            lanes: 8,
            kernel: x86::fma_avx2,
        })
    } else {
        Some(Loop {
            isa: "sse2 mul+add",
            lanes: 4,
            kernel: x86::mul_add_sse2,
        })
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn widest_loop() -> Option<Loop> {
    None
}

fn widest_extension() -> String {
    #[cfg(target_arch = "x86_64")]
    for (name, present) in [
        ("avx512f", is_x86_feature_detected!("avx512f")),
        ("avx2", is_x86_feature_detected!("avx2")),
        ("avx", is_x86_feature_detected!("avx")),
    ] {
        if present {
            return name.to_string();
        }
    }
    std::env::consts::ARCH.to_string()
}

/// The best GFLOP/s of `repeats` timed calls of `kernel` on `threads`
/// threads started together: their FLOPs over the slowest one's time.
fn rate(kernel: Kernel, lanes: usize, threads: usize, repeats: usize) -> f64 {
    let flops = (ACCUMULATORS * lanes * 2) as f64 * TRIPS as f64 * threads as f64;
    (0..repeats)
        .map(|_| {
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| std::hint::black_box(kernel(TRIPS)));
                }
            });
            flops / start.elapsed().as_secs_f64() * 1e-9
        })
        .fold(0.0, f64::max)
}

/// Measures the FMA loop on 1 and on `threads` threads, `repeats` times
/// each (the best counts: a shared machine only ever slows it down).
pub fn measure(threads: usize, repeats: usize) -> Option<FmaPeak> {
    let Loop { isa, lanes, kernel } = widest_loop()?;
    // A first call wakes the core up from any low-power state.
    std::hint::black_box(kernel(TRIPS));
    let per_core = rate(kernel, lanes, 1, repeats);
    let all = rate(kernel, lanes, threads.max(1), repeats);
    Some(FmaPeak {
        isa: isa.to_string(),
        lanes,
        widest: widest_extension(),
        per_core_gflop_per_s: per_core,
        all_gflop_per_s: all,
        threads: threads.max(1),
        clock_ghz: clock_ghz(repeats),
    })
}

/// The core clock, GHz: a chain of dependent adds retires one per cycle.
fn clock_ghz(repeats: usize) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        const TRIPS: u64 = 1 << 22;
        let best = (0..repeats.max(1))
            .map(|_| {
                let start = Instant::now();
                x86::dependent_adds(TRIPS);
                start.elapsed()
            })
            .min()
            .unwrap_or(Duration::MAX);
        let cycles = (TRIPS * x86::ADDS_PER_TRIP) as f64;
        Some(cycles / best.as_secs_f64() * 1e-9)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (repeats, Duration::ZERO);
        None
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The loops in assembly, so that what runs is exactly the stated
    //! instructions whatever the build's optimization level (the harness
    //! is unoptimized in debug builds). Each loop trip runs
    //! `ACCUMULATORS` independent chains of `acc = acc × m + a`
    //! (m = 0.999999, a = 1e-6), which settle at a / (1 − m) = 1: no
    //! overflow, no subnormals.

    use std::arch::asm;

    const M: f32 = 0.999_999;
    const A: f32 = 1e-6;

    /// The loop both kernels run, written once so that they differ only in
    /// their instructions, which `$isa!` spells: it broadcasts `m` and `a`
    /// into registers 14 and 15, zeroes the accumulators 0 to 11, then
    /// each of `trips` trips steps every accumulator; `after` runs last.
    /// `$class` is the registers' (`xmm`, `ymm`); every register named is
    /// declared clobbered.
    macro_rules! chains {
        ($isa:ident, ymm, after: [$($after:tt),*], trips: $trips:expr) => {
            chains!(@emit $isa, [$($after),*], $trips,
                ["ymm0", "ymm1", "ymm2", "ymm3", "ymm4", "ymm5",
                 "ymm6", "ymm7", "ymm8", "ymm9", "ymm10", "ymm11"], "ymm14", "ymm15")
        };
        ($isa:ident, xmm, after: [$($after:tt),*], trips: $trips:expr) => {
            chains!(@emit $isa, [$($after),*], $trips,
                ["xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
                 "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11"], "xmm14", "xmm15")
        };
        (@emit $isa:ident, [$($after:tt),*], $trips:expr, [$($acc:tt),*], $m:tt, $a:tt) => {
            asm!(
                $isa!(broadcast $m, "{m}"),
                $isa!(broadcast $a, "{a}"),
                $($isa!(zero $acc),)*
                "2:",
                $($isa!(step $acc, $m, $a),)*
                "dec {n}",
                "jnz 2b",
                $($after,)*
                m = in(reg) &M,
                a = in(reg) &A,
                n = inout(reg) $trips => _,
                $(out($acc) _,)*
                out($m) _,
                out($a) _,
                options(nostack, readonly),
            )
        };
    }

    /// AVX2 + FMA, 8 lanes: `r = r × m + a` in one rounding.
    macro_rules! avx2_fma {
        (broadcast $r:tt, $src:tt) => {
            concat!("vbroadcastss ", $r, ", dword ptr [", $src, "]")
        };
        (zero $r:tt) => {
            concat!("vxorps ", $r, ", ", $r, ", ", $r)
        };
        (step $r:tt, $m:tt, $a:tt) => {
            concat!("vfmadd213ps ", $r, ", ", $m, ", ", $a)
        };
    }

    /// SSE2, 4 lanes: `r = r × m`, then `r = r + a`; the broadcast loads
    /// one lane and copies it to the others (`splat`).
    macro_rules! sse2 {
        (broadcast $r:tt, $src:tt) => {
            concat!("movss ", $r, ", dword ptr [", $src, "]\n", sse2!(splat $r))
        };
        (splat $r:tt) => {
            concat!("shufps ", $r, ", ", $r, ", 0")
        };
        (zero $r:tt) => {
            concat!("xorps ", $r, ", ", $r)
        };
        (step $r:tt, $m:tt, $a:tt) => {
            concat!("mulps ", $r, ", ", $m, "\naddps ", $r, ", ", $a)
        };
    }

    /// One FMA per chain per trip on 8 lanes (`vfmadd213ps`).
    pub fn fma_avx2(trips: u64) -> f64 {
        // SAFETY: chosen only after `is_x86_feature_detected!` found both.
        unsafe { fma_avx2_loop(trips) };
        trips as f64
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn fma_avx2_loop(trips: u64) {
        // SAFETY: reads the two constants, writes only the registers it
        // declares; `vzeroupper` leaves no dirty upper halves behind.
        unsafe {
            chains!(avx2_fma, ymm, after: ["vzeroupper"], trips: trips);
        }
    }

    /// The same chains as separate multiplies and adds on 4 lanes (SSE2,
    /// x86-64's baseline).
    pub fn mul_add_sse2(trips: u64) -> f64 {
        // SAFETY: as above; SSE2 is part of every x86-64 CPU.
        unsafe {
            chains!(sse2, xmm, after: [], trips: trips);
        }
        trips as f64
    }

    pub const ADDS_PER_TRIP: u64 = 8;

    /// `trips` × 8 adds, each waiting for the one before; the loop
    /// counter runs on its own chain beside them.
    pub fn dependent_adds(trips: u64) {
        // SAFETY: touches only the two registers it declares.
        unsafe {
            asm!(
                "2:",
                "add {x}, 1",
                "add {x}, 1",
                "add {x}, 1",
                "add {x}, 1",
                "add {x}, 1",
                "add {x}, 1",
                "add {x}, 1",
                "add {x}, 1",
                "dec {n}",
                "jnz 2b",
                n = inout(reg) trips => _,
                x = inout(reg) 0u64 => _,
                options(nomem, nostack),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_loop_runs_at_a_plausible_rate_and_clock() {
        let peak = measure(2, 2).expect("x86-64 has a loop");
        // A core of the last 20 years: 0.5-7 GHz, 1-4 vector FMAs a cycle.
        let clock = peak.clock_ghz.unwrap();
        assert!((0.5..7.0).contains(&clock), "{peak:?}");
        let per_cycle = peak.fma_per_cycle().unwrap();
        assert!((0.3..4.5).contains(&per_cycle), "{peak:?}");
        assert!(peak.all_gflop_per_s > 0.5 * peak.per_core_gflop_per_s);
        let nominal = peak.nominal_per_core().unwrap();
        assert!(nominal >= peak.lanes as f64 * 2.0 * clock);
    }
}
