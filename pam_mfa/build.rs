//! Links pam_mfa.so with full RELRO (`-z relro -z now`), as distributions
//! harden PAM modules: the GOT is read-only once loaded, and every symbol
//! is bound at load time (in pam_start) instead of on first use inside
//! pam_authenticate.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,relro,-z,now");
}
