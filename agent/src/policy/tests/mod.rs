//! Tests across files: loading bundles and deciding, rule by rule.

mod bundle_loading;
mod decide_rules;
mod index_agreement;
mod managed_logins;
mod seed_example;
mod support;
