//! pam_mfa's logic against a scripted PAM handle and an in-process fake
//! agent. The socket checks want root-owned sockets: run as root.

mod agent;
mod connect_order;
mod handle;
mod hooks;
mod layout;
mod malformed;
mod not_utf8;
mod root_socket;
mod steps;
mod unreachable;
mod waits_and_failures;
