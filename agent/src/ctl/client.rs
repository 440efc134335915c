//! mfactl's side of the socket: one request, one answer, with a deadline.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use pam_mfa_protocol::{
    read_frame, write_frame, FrameError, Request, RequestBody, Response, ResponseBody,
};

/// Sends `body` and waits for the answer, `timeout` at most in all
/// (connecting included: a frozen agent whose listen queue is full blocks
/// even `connect`).
pub fn ask(socket: &Path, body: RequestBody, timeout: Duration) -> Result<ResponseBody, String> {
    let (tx, rx) = mpsc::channel();
    let path = socket.to_path_buf();
    // The exchange runs on its own thread so the deadline holds whatever
    // blocks; mfactl exits right after, which ends a thread still stuck.
    std::thread::spawn(move || {
        let _ = tx.send(exchange(&path, body, timeout));
    });
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(no_answer(socket, timeout)),
    }
}

fn no_answer(socket: &Path, timeout: Duration) -> String {
    format!(
        "mfa-agent at {} did not answer within {} (is it hung or overloaded?)",
        socket.display(),
        words(timeout)
    )
}

/// `5s`, `1500ms`: as `--timeout` is written.
fn words(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

fn exchange(socket: &Path, body: RequestBody, timeout: Duration) -> Result<ResponseBody, String> {
    let mut s = UnixStream::connect(socket).map_err(|e| {
        format!(
            "cannot reach mfa-agent at {}: {e} (is it running?)",
            socket.display()
        )
    })?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let why = |e: FrameError| match e {
        FrameError::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            no_answer(socket, timeout)
        }
        other => format!("mfa-agent: {other}"),
    };
    write_frame(&mut s, &Request::new(body)).map_err(why)?;
    let resp: Response = read_frame(&mut s).map_err(why)?;
    Ok(resp.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_that_accepts_but_never_answers_is_reported_as_such() {
        let dir = std::env::temp_dir().join(format!("pam-mfa-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("agent.sock");
        let _ = std::fs::remove_file(&sock);
        // Listening, never accepting: what a hung (e.g. SIGSTOPped) agent looks like.
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let err = ask(
            &sock,
            RequestBody::AuthorizedKeys { login: "j".into() },
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(err.contains("did not answer within 300ms"), "{err}");
        assert!(err.contains(&sock.display().to_string()), "{err}");
        let gone = ask(
            &dir.join("none.sock"),
            RequestBody::Status,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(gone.contains("cannot reach mfa-agent"), "{gone}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
