//! Percentiles, the table, and the ratios to the floor against the targets.

use std::time::Duration;

pub struct Figures {
    pub rate: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub n: usize,
}

pub fn percentiles(mut v: Vec<Duration>, seconds: f64) -> Figures {
    v.sort_unstable();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    Figures {
        rate: v.len() as f64 / seconds,
        p50: at(0.50),
        p99: at(0.99),
        n: v.len(),
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

pub const FLOOR: usize = 0;
pub const AGENT_1: usize = 1;
pub const AGENT_2: usize = 2;
pub const PERMIT_FRESH: usize = 3;
pub const MFA_FRESH: usize = 4;
pub const PERMIT_REUSED: usize = 5;
pub const MFA_REUSED: usize = 6;
pub const FLOOR_GAPPED: usize = 7;
pub const NAMES: [&str; 8] = [
    "floor: bare Unix-socket exchange (listener thread, 300-byte frame, reply, close)",
    "agent decision over the socket, 1 client thread",
    "agent decision over the socket, 2 client threads",
    "pam_authenticate, pam_permit.so only, fresh handle",
    "pam_authenticate, pam_mfa.so (no tap needed), fresh handle",
    "pam_authenticate, pam_permit.so only, reused handle",
    "pam_authenticate, pam_mfa.so (no tap needed), reused handle",
    "floor again, each exchange after a pam_start and pam_end of the pam_mfa.so stack (untimed: the fresh-handle row's pause)",
];

pub fn print_table(rounds: &[Vec<Figures>]) {
    println!("| measurement | runs | per second | p50 | p99 | p50 range | p99 range |");
    println!("|---|---|---|---|---|---|---|");
    for (name, r) in NAMES.iter().zip(rounds) {
        let runs: usize = r.iter().map(|f| f.n).sum();
        let rate = median(r.iter().map(|f| f.rate).collect());
        let p50: Vec<Duration> = r.iter().map(|f| f.p50).collect();
        let p99: Vec<Duration> = r.iter().map(|f| f.p99).collect();
        println!(
            "| {name} | {runs} | {rate:.0} | {} | {} | {} | {} |",
            us(median(p50.clone())),
            us(median(p99.clone())),
            range(&p50),
            range(&p99)
        );
    }
    println!();
}

/// The ratios to the floor, round by round; the median round's is printed.
pub fn print_ratios(rounds: &[Vec<Figures>]) {
    let ratio = |row: usize, q: fn(&Figures) -> Duration| -> Vec<f64> {
        rounds[row]
            .iter()
            .zip(&rounds[FLOOR])
            .map(|(a, f)| q(a).as_secs_f64() / q(f).as_secs_f64())
            .collect()
    };
    let p50 = |f: &Figures| f.p50;
    let p99 = |f: &Figures| f.p99;
    let module50 = ratio(MFA_FRESH, p50);
    let module99 = ratio(MFA_FRESH, p99);
    let agent50 = ratio(AGENT_1, p50);
    let (m50, m99, a50) = (
        median(module50.clone()),
        median(module99.clone()),
        median(agent50.clone()),
    );
    println!("Floor ratio: module p50 {m50:.2}x, p99 {m99:.2}x; agent p50 {a50:.2}x");
    println!();
    let spread = |v: &[f64]| {
        let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = v.iter().cloned().fold(0.0, f64::max);
        format!("{lo:.2}x–{hi:.2}x")
    };
    println!(
        "Over the {} rounds: module p50 {}, p99 {}; agent p50 {}.",
        module50.len(),
        spread(&module50),
        spread(&module99),
        spread(&agent50)
    );
    println!();
    let gapped50 = median(
        rounds[MFA_FRESH]
            .iter()
            .zip(&rounds[FLOOR_GAPPED])
            .map(|(a, f)| a.p50.as_secs_f64() / f.p50.as_secs_f64())
            .collect(),
    );
    println!(
        "Against the floor with the same pause between exchanges as the fresh-handle row: module p50 {gapped50:.2}x."
    );
    println!();
    let module_p99 = median(rounds[MFA_FRESH].iter().map(|f| f.p99).collect());
    let rate = median(rounds[AGENT_2].iter().map(|f| f.rate).collect())
        .max(median(rounds[AGENT_1].iter().map(|f| f.rate).collect()));
    println!("Targets (2 cores), on the medians above:");
    println!();
    println!(
        "- module p50 ≤ 1.5x the floor: {} ({m50:.2}x)",
        met(m50 <= 1.5)
    );
    println!(
        "- module p99 under 250 µs: {} ({})",
        met(module_p99 < Duration::from_micros(250)),
        us(module_p99)
    );
    println!(
        "- agent p50 ≤ 1.2x the floor: {} ({a50:.2}x)",
        met(a50 <= 1.2)
    );
    println!(
        "- at least 20,000 decisions/s: {} ({rate:.0}/s)",
        met(rate >= 20_000.0)
    );
}

fn median<T: PartialOrd + Copy>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn range(v: &[Duration]) -> String {
    let lo = v.iter().min().copied().unwrap_or_default();
    let hi = v.iter().max().copied().unwrap_or_default();
    format!(
        "{:.0}–{:.0} µs",
        lo.as_secs_f64() * 1e6,
        hi.as_secs_f64() * 1e6
    )
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}
