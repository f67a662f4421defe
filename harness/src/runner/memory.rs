//! Peak memory of the current process, and whether a case's model fits in
//! the memory this machine has free.

use crate::scenario::Case;

/// Peak resident set size in bytes: `VmHWM` of `/proc/self/status` (Linux).
/// `None` where that file is missing or unreadable.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    kib_field(status, "VmHWM:")
}

/// A `Name:   N kB` line of /proc/self/status or /proc/meminfo, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line
        .trim_start_matches(name)
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Memory the kernel could give without swapping (`MemAvailable`).
fn available_bytes() -> Option<u64> {
    kib_field(
        &std::fs::read_to_string("/proc/meminfo").ok()?,
        "MemAvailable:",
    )
}

/// Bytes a worker needs to generate and load the synthetic GPT: the f32
/// weights are held three times while they are drawn and written (the
/// values, their bytes, the serialized file), and once more by the backend.
fn synthetic_need_bytes(case: &Case) -> Option<u64> {
    if case.model.file.is_some() {
        return None;
    }
    Some(case.model.spec.parameter_count().saturating_mul(4 * 4))
}

/// Why the case cannot run here, when its model needs more memory than is
/// available: an `error` row instead of a worker killed by the kernel (or,
/// before weights moved into the worker, the whole run aborted).
pub fn too_large_for_memory(case: &Case) -> Option<String> {
    check_fits(synthetic_need_bytes(case)?, available_bytes()?)
}

fn check_fits(need: u64, available: u64) -> Option<String> {
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    (need > available).then(|| {
        format!(
            "the synthetic model needs about {:.1} GiB to generate and load (4 × its f32 \
             weights) and only {:.1} GiB of memory is available; use a smaller `hidden` or `layers`",
            gib(need),
            gib(available)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_status_line() {
        assert_eq!(
            parse_vm_hwm("Name:\tx\nVmHWM:\t   2048 kB\nVmRSS:\t1 kB\n"),
            Some(2048 * 1024)
        );
        assert_eq!(parse_vm_hwm("Name:\tx\n"), None);
    }

    fn resident_bytes() -> u64 {
        kib_field(
            &std::fs::read_to_string("/proc/self/status").unwrap(),
            "VmRSS:",
        )
        .unwrap()
    }

    /// VmHWM never decreases, so growing past 64 MiB proves nothing once
    /// the test binary has been there: memory is touched here until the
    /// resident set stands 64 MiB above the peak seen before. Other tests'
    /// threads free memory meanwhile, so the growth is driven by what is
    /// resident, in 16 MiB steps (bounded), not by one precomputed block.
    #[test]
    fn grows_past_the_previous_peak_when_memory_is_touched() {
        let before = peak_rss_bytes().unwrap();
        let target = before + (64 << 20);
        let mut blocks = Vec::new();
        while resident_bytes() < target && blocks.len() < 256 {
            blocks.push(std::hint::black_box(vec![1u8; 16 << 20]));
        }
        let resident = resident_bytes();
        assert!(resident >= target, "RSS {resident} never passed {target}");
        let after = peak_rss_bytes().unwrap();
        assert!(
            after >= resident,
            "peak {before} → {after}, resident {resident}"
        );
    }

    #[test]
    fn a_model_larger_than_free_memory_is_refused_with_both_sizes() {
        let message = check_fits(40 << 30, 8 << 30).unwrap();
        assert!(
            message.contains("40.0 GiB") && message.contains("8.0 GiB"),
            "{message}"
        );
        assert_eq!(check_fits(1 << 30, 8 << 30), None);
        assert!(available_bytes().unwrap() > 0);
    }
}
