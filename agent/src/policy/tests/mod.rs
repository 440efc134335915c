//! Tests across files: loading bundles and deciding, rule by rule.

mod bot_lock_targets;
mod bundle_directories;
mod bundle_loading;
mod bundle_resources;
mod decide_identity_and_locks;
mod decide_requirements;
mod decide_rules;
mod index_agreement;
mod json_arrays;
mod json_halves;
mod lock_targets;
mod managed_logins;
mod node_label_outcomes;
mod policy_file_rights;
mod seed_example;
mod support;
mod teleport_certificates;
mod teleport_check_access_to_server;
mod teleport_conformance;
mod teleport_device_and_expiry;
mod teleport_go_syntax;
mod teleport_local_auth;
mod teleport_role_refusals;
mod teleport_rules;
mod teleport_traits_and_locks;
mod templates;
