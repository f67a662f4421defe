//! SIGINT and SIGTERM during a run: the first one is remembered rather than
//! ending the process, so the runner can stop the running worker (it is
//! forwarded the signal), remove its scratch folder, and the run can close
//! its folder as `interrupted` with the history lines of every finished
//! case. A second signal ends the process at once (`SA_RESETHAND`).

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal received, 0 while none.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn remember(signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    RECEIVED.store(signal, Ordering::SeqCst);
}

/// Installs the handler for SIGINT and SIGTERM.
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with a handler that only stores to an
        // atomic; sigaction is the documented way to install it.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = remember as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// The signal that asked the run to stop, if one did.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// `SIGINT`/`SIGTERM` by name, for messages.
pub fn name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// Sends `signal` to process `pid` (the running worker).
pub fn forward(pid: u32, signal: i32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a pid we spawned; failure (already gone) is fine.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}
