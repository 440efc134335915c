//! mfactl's side of the socket: one request, one answer, with a deadline.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use pam_mfa_protocol::{read_frame, write_frame, Request, RequestBody, Response, ResponseBody};

pub fn ask(socket: &Path, body: RequestBody, timeout: Duration) -> Result<ResponseBody, String> {
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
    write_frame(&mut s, &Request::new(body)).map_err(|e| format!("mfa-agent: {e}"))?;
    let resp: Response = read_frame(&mut s).map_err(|e| format!("mfa-agent: {e}"))?;
    Ok(resp.body)
}
