//! pam_mfa.so
