//! Links pam_mfa.so with full RELRO (`-z relro -z now`), as distributions
//! harden PAM modules: the GOT is read-only once loaded, and every symbol
//! is bound at load time (in pam_start) instead of on first use inside
//! pam_authenticate.
//!
//! And with `hot-text.ld` (`make hot-text` writes it), which only moves the
//! functions a no-tap login runs to the start of the module's code, one
//! section before `.text` (an `INSERT` script: the linker's own layout
//! stays). sshd and sudo load the module afresh for every login, and each
//! first touch of a code page is then a page fault; grouped, those
//! functions fault in three 64 KiB windows instead of eight
//! (BENCHMARKS.md).
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,relro,-z,now");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let script = std::path::Path::new(&dir).join("hot-text.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    // Without it (being regenerated), the linker's layout alone.
    if script.exists() {
        // Through -Xlinker, not -Wl: a path with a comma stays one argument.
        println!("cargo:rustc-cdylib-link-arg=-Xlinker");
        println!("cargo:rustc-cdylib-link-arg=--script={}", script.display());
    }
}
