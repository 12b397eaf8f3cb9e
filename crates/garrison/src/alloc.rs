//! The process's allocator (mimalloc) and how each command tunes it.
//!
//! The server's ingest allocates and frees many short-lived strings per alert;
//! glibc's allocator spent a fifth of its CPU there (docs/benchmarks.md, "Server
//! ingest"), so the binary uses mimalloc, built without transparent huge pages
//! (`no_thp`: with them the agent's RSS rose from 31 to 44 MiB). The agent is
//! judged by its memory (issue: RSS ≤ 40 MB) rather than by allocation speed, so
//! it asks mimalloc to return freed memory to the OS at once
//! ([`purge_eagerly`]) instead of after mimalloc's default 1 s: under a
//! 200,000 events/s storm that keeps its peak RSS under 40 MB.

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_t` (the index of the
/// option in `mimalloc.h`; libmimalloc-sys only names the v2 options).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the OS immediately (purge delay 0).
pub fn purge_eagerly() {
    // SAFETY: mi_option_set stores an integer option; it reads and writes no
    // memory of ours and is safe to call at any time from any thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reading and writing an integer option of mimalloc.
        unsafe {
            let before = libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY);
            assert_eq!(before, 1000, "mimalloc v3's default purge delay is 1 s");
            purge_eagerly();
            assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), 0);
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, before);
        }
    }
}
