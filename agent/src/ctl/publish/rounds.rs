//! Publishing once, or every `--interval` until SIGTERM/SIGINT: each round
//! re-signs with a fresh serial and expiry and logs one line; a failed
//! round keeps the published set as it was (and makes a one-shot run fail).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::{publish_once, PublishArgs, PublishKey};

/// `mfactl publish`.
pub fn run_publish(args: &PublishArgs) -> Result<ExitCode, String> {
    check_durations(args)?;
    let key = PublishKey::load(&args.signing_key)?;
    println!(
        "signing key (for agents' cluster.signing_keys): {}",
        key.public_line
    );
    let Some(interval) = args.interval else {
        let done = publish_once(args, &key, SystemTime::now())?;
        println!("{}", done.line());
        return Ok(ExitCode::SUCCESS);
    };
    if args.from.as_deref() == Some(std::path::Path::new("-")) {
        return Err("--interval cannot re-read standard input: give --from PATH or --tctl".into());
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(|e| e.to_string())?;
    }
    run_rounds(args, &key, interval, &stop);
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// The longest --valid-for: agents should hear from the cluster within a year.
const MAX_VALID_FOR: Duration = Duration::from_secs(366 * 24 * 3600);

fn check_durations(args: &PublishArgs) -> Result<(), String> {
    // Whole seconds: the manifest's times are written in whole seconds.
    if args.valid_for < Duration::from_secs(1) || args.valid_for > MAX_VALID_FOR {
        return Err("--valid-for: at least 1s and at most 8784h (366 days)".into());
    }
    if let Some(interval) = args.interval {
        if interval < Duration::from_secs(1) {
            return Err("--interval: at least 1s".into());
        }
        if interval >= args.valid_for {
            return Err(format!(
                "--interval ({interval:?}) must be shorter than --valid-for ({:?}): each manifest would expire before the next one",
                args.valid_for
            ));
        }
    }
    Ok(())
}

/// Rounds until `stop` is set; the first one at once.
fn run_rounds(args: &PublishArgs, key: &PublishKey, interval: Duration, stop: &AtomicBool) {
    use std::io::Write as _;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        match publish_once(args, key, SystemTime::now()) {
            Ok(done) => println!("{}", done.line()),
            Err(e) => {
                eprintln!("mfactl publish: this round failed, the published set is unchanged: {e}")
            }
        }
        let _ = std::io::stdout().flush();
        while !stop.load(Ordering::Relaxed) && started.elapsed() < interval {
            std::thread::sleep(Duration::from_millis(50).min(interval));
        }
    }
}
