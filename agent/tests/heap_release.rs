//! `heap::release_free_memory` gives freed memory back under the agent's
//! allocator (jemalloc keeps freed pages for seconds on its own).

#[global_allocator]
static HEAP: mfa_agent::heap::Allocator = mfa_agent::heap::Allocator {};
mfa_agent::jemalloc_options!();

#[test]
fn the_agents_options_reach_jemalloc() {
    let mut value: usize = usize::MAX;
    let mut len = std::mem::size_of::<usize>();
    // SAFETY: a NUL-terminated name; `value` and `len` describe a size_t,
    // which is what opt.oversize_threshold is.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"opt.oversize_threshold".as_ptr(),
            (&mut value as *mut usize).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    assert_eq!(rc, 0);
    assert_eq!(
        value, 0,
        "jemalloc did not read mfa_agent::heap::MALLOC_CONF"
    );
}

/// This process's resident memory, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[test]
fn freed_small_allocations_are_given_back_after_a_release() {
    // 128 MiB in 100-byte blocks, as a bundle's strings are, all touched.
    let blocks: Vec<Box<[u8]>> = (0..1_300_000u32)
        .map(|i| vec![i as u8; 100].into_boxed_slice())
        .collect();
    let full = rss_kib();
    drop(blocks);
    mfa_agent::heap::release_free_memory();
    let after = rss_kib();
    assert!(
        after + 64 * 1024 < full,
        "RSS {full} KiB with the blocks, {after} KiB after freeing them and releasing"
    );
}
