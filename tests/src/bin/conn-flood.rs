//! `conn-flood SOCKET COUNT`: opens COUNT plain connections to a Unix
//! socket, sends nothing on them, and holds them until its standard input
//! closes (or it is killed). A test tool for the agent's per-person budgets:
//! run it as the flooding user.
//!
//! Output: `HELD <n>` once every connection is made (a connect that stays
//! blocked on a full backlog keeps it from being printed).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(socket), Some(count)) = (args.first(), args.get(1).and_then(|c| c.parse().ok()))
    else {
        eprintln!("usage: conn-flood SOCKET COUNT");
        return ExitCode::from(2);
    };
    let count: usize = count;
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        match UnixStream::connect(socket) {
            Ok(s) => held.push(s),
            Err(e) => {
                eprintln!("conn-flood: connect {} failed: {e}", held.len() + 1);
                return ExitCode::FAILURE;
            }
        }
    }
    println!("HELD {}", held.len());
    let _ = std::io::stdout().flush();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(held);
    ExitCode::SUCCESS
}
