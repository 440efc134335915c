//! pam-mfa agent library.
