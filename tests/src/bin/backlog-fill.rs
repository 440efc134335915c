//! `backlog-fill PUBLIC ROOT`: run as an unprivileged user, with the agent
//! stopped. Tries ROOT (the agent's socket only root may connect to) and
//! says how that went (`ROOT EACCES`, or `ROOT connected`), then fills
//! PUBLIC's listen queue with connections that send nothing until
//! `connect` says it is full (`EAGAIN`), says `FULL <n>`, and holds them
//! until its standard input closes (or it is killed).

use std::io::{Read, Write};
use std::process::ExitCode;

use rustix::io::Errno;
use rustix::net::{connect, socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType};

/// Connections made at most (a queue of `somaxconn`, 4096 by default, and
/// the one more Linux lets in).
const MAX: usize = 8000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [public, root] = args.as_slice() else {
        eprintln!("usage: backlog-fill PUBLIC ROOT");
        return ExitCode::from(2);
    };
    let stream = || {
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        socket_with(AddressFamily::UNIX, SocketType::STREAM, flags, None)
    };
    let (Ok(public), Ok(root)) = (SocketAddrUnix::new(public), SocketAddrUnix::new(root)) else {
        eprintln!("backlog-fill: a path too long");
        return ExitCode::from(2);
    };
    let tried = stream().and_then(|s| connect(&s, &root));
    println!(
        "ROOT {}",
        match tried {
            Ok(()) => "connected".to_string(),
            Err(Errno::ACCESS) => "EACCES".to_string(),
            Err(e) => format!("{e:?}"),
        }
    );
    let mut held = Vec::new();
    loop {
        let s = match stream() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("backlog-fill: socket: {e}");
                return ExitCode::FAILURE;
            }
        };
        match connect(&s, &public) {
            Ok(()) => held.push(s),
            Err(Errno::AGAIN) => break,
            Err(e) => {
                eprintln!("backlog-fill: connect {}: {e}", held.len() + 1);
                return ExitCode::FAILURE;
            }
        }
        if held.len() >= MAX {
            eprintln!("backlog-fill: the queue never filled");
            return ExitCode::FAILURE;
        }
    }
    println!("FULL {}", held.len());
    let _ = std::io::stdout().flush();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(held);
    ExitCode::SUCCESS
}
