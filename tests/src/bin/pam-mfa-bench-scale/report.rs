//! The Markdown tables of the Scale section, from the children's JSON lines.

use serde_json::Value;

use super::{Case, ROUNDS};
use pam_mfa_e2e::scale_bundle::NODE_NAME;

/// The targets (issue 14), on the full bundle in the publisher's form.
const RSS_TARGET_MIB: f64 = 150.0;
const LOAD_TARGET_MS: f64 = 1000.0;
const DECIDE_RATIO_TARGET: f64 = 1.3;
const STALL_RATIO_TARGET: f64 = 2.0;

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "not met"
    }
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn size(bytes: u64) -> String {
    if bytes < 1 << 20 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
    }
}

fn ms(v: &serde_json::Value) -> String {
    let x = v.as_f64().unwrap_or(f64::NAN);
    if x < 10.0 {
        format!("{x:.2} ms")
    } else if x < 10_000.0 {
        format!("{x:.0} ms")
    } else {
        format!("{:.1} s", x / 1e3)
    }
}

fn lat(v: &serde_json::Value) -> String {
    let a = |i: usize| v[i].as_f64().unwrap_or(f64::NAN);
    format!("{:.1} / {:.1} µs", a(0), a(1))
}

/// One dependent cold read's cost over blocks the size of the 1/100 and
/// the full bundle's live heap (`memory_latency`).
pub struct ColdReads {
    pub small_kib: u64,
    pub small_ns: f64,
    pub full_kib: u64,
    pub full_ns: f64,
}

pub fn print(cases: &[Case], results: &[Value], stall: &Value, decisions: usize, cold: &ColdReads) {
    load_table(cases, results);
    println!();
    latency_table(cases, results, decisions);
    let result_of = |label: &str| {
        let i = cases.iter().position(|c| c.label == label).expect(label);
        &results[i]
    };
    let p50 = |r: &Value, k: &str| r[k][0].as_f64().unwrap_or(f64::NAN);
    let ratios = |small: &Value, big: &Value| {
        format!(
            "`decide` {:.2}x, `handle_begin` {:.2}x, `lines_for_login` {:.2}x",
            p50(big, "decide") / p50(small, "decide"),
            p50(big, "begin") / p50(small, "begin"),
            p50(big, "lines") / p50(small, "lines"),
        )
    };
    let (small, full) = (result_of("1/100, JSON"), result_of("full, JSON"));
    let (small_yaml, full_yaml) = (result_of("1/100, YAML"), result_of("full, YAML"));
    let warm = result_of("full, JSON, asking about 1,000 users only");
    println!();
    println!(
        "p50 on the full bundle against 1/100 of it (1.00x: no growth; 100x: linear): JSON {}; YAML {}.",
        ratios(small, full),
        ratios(small_yaml, full_yaml)
    );
    println!(
        "Asking the full bundle about 1,000 users only, against 1/100 (JSON): {}.",
        ratios(small, warm)
    );
    cold_reads(cold, p50(small, "decide"));
    println!();
    stall_table(stall);
    let written: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            c.write
                .map(|w| format!("{} {:.1} s", c.label, w.as_secs_f64()))
        })
        .collect();
    println!();
    println!("Generating the files took {}.", written.join(", "));
    println!();
    let rss = full["rss_after_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0;
    let load = full["load_ms"].as_f64().unwrap_or(f64::NAN);
    let load_cpu = full["load_cpu_ms"].as_f64().unwrap_or(f64::NAN);
    let ratio = p50(full, "decide") / p50(small, "decide");
    let stall_ratio = stall["during"][1].as_f64().unwrap_or(f64::NAN)
        / stall["rest"][1].as_f64().unwrap_or(f64::NAN);
    println!(
        "Targets (full bundle, JSON as the publisher writes it): RSS after load at most {RSS_TARGET_MIB:.0} MiB: {} ({rss:.0} MiB); \
         load in at most 1 s: {} ({} wall; {}: {} CPU); `decide` p50 at most {DECIDE_RATIO_TARGET}x from 1/100 to full: {} ({ratio:.2}x); \
         p99 during a reload at most {STALL_RATIO_TARGET}x p99 at rest: {} ({stall_ratio:.2}x).",
        met(rss <= RSS_TARGET_MIB),
        met(load <= LOAD_TARGET_MS),
        ms(&full["load_ms"]),
        met(load_cpu <= LOAD_TARGET_MS),
        ms(&full["load_cpu_ms"]),
        met(ratio <= DECIDE_RATIO_TARGET),
        met(stall_ratio <= STALL_RATIO_TARGET),
    );
}

/// What the `decide` growth target leaves for cold reads on this machine.
fn cold_reads(cold: &ColdReads, small_decide_us: f64) {
    let budget_ns = (DECIDE_RATIO_TARGET - 1.0) * small_decide_us * 1e3;
    let (small_mib, full_mib) = (
        cold.small_kib as f64 / 1024.0,
        cold.full_kib as f64 / 1024.0,
    );
    println!();
    println!(
        "One cold read whose address comes from the read before (a pointer chase over a \
         random cycle, fixed seed): {:.1} ns over {small_mib:.1} MiB (the 1/100 bundle's live \
         heap), {:.1} ns over {full_mib:.0} MiB (the full one's). The {DECIDE_RATIO_TARGET}x \
         target leaves the full bundle {budget_ns:.0} ns over the 1/100 one's `decide`: {:.1} \
         such reads.",
        cold.small_ns,
        cold.full_ns,
        budget_ns / cold.full_ns,
    );
}

fn load_table(cases: &[Case], results: &[Value]) {
    println!("| bundle | roles / users / devices / locks | file | load: read, parse, index (wall; CPU) | index alone: time, memory | RSS before → after load | live heap after load | peak RSS (VmHWM) |");
    println!("|---|---|---|---|---|---|---|---|");
    for (c, r) in cases.iter().zip(results).filter(|(c, _)| c.pool.is_none()) {
        let n = |k: &str| r[k].as_u64().unwrap_or(0);
        println!(
            "| {} | {} / {} / {} / {} | {} | {}; {} | {}, {} | {} → {} | {} | {} |",
            c.label,
            n("roles"),
            n("users"),
            n("devices"),
            n("locks"),
            size(c.bytes),
            ms(&r["load_ms"]),
            ms(&r["load_cpu_ms"]),
            ms(&r["index_ms"]),
            mib(n("index_kib")),
            mib(n("rss_before_kib")),
            mib(n("rss_after_kib")),
            mib(n("heap_kib")),
            mib(n("hwm_kib")),
        );
    }
}

fn latency_table(cases: &[Case], results: &[Value], decisions: usize) {
    println!(
        "Latency per call, p50 / p99, for {decisions} random users (or registered keys) of each bundle on node {NODE_NAME}; the median of {ROUNDS} rounds, after a warm-up:",
    );
    println!();
    println!("| bundle | `policy::decide` by login | `handle_begin` (account, sk key) | `lines_for_login` (AuthorizedKeysCommand) | allowed | keys served per login | seed example's `decide` in the same process |");
    println!("|---|---|---|---|---|---|---|");
    for (c, r) in cases.iter().zip(results) {
        println!(
            "| {} | {} | {} | {} | {:.0}% / {:.0}% | {:.2} | {} |",
            c.label,
            lat(&r["decide"]),
            lat(&r["begin"]),
            lat(&r["lines"]),
            r["allowed_share"].as_f64().unwrap_or(0.0) * 100.0,
            r["begin_allowed_share"].as_f64().unwrap_or(0.0) * 100.0,
            r["lines_per_login"].as_f64().unwrap_or(0.0),
            lat(&r["seed_decide_after"]),
        );
    }
}

fn stall_table(stall: &Value) {
    println!("Reloading the full JSON bundle while deciding: one thread takes the store's current bundle and runs `policy::decide` for random users, again and again; another loads the file anew and installs it (the old bundle freed off the decision path). p50 / p99:");
    println!();
    println!("| decisions | runs | p50 / p99 | reload (load and install) |");
    println!("|---|---|---|---|");
    for (label, key, runs) in [
        ("at rest (2 s before the reload)", "rest", "rest_runs"),
        ("during the reload", "during", "during_runs"),
    ] {
        println!(
            "| {label} | {} | {} | {} |",
            stall[runs].as_u64().unwrap_or(0),
            lat(&stall[key]),
            if key == "during" {
                ms(&stall["reload_ms"])
            } else {
                String::new()
            },
        );
    }
}
