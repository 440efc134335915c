//! The accept loop and the one-request-per-connection HTTP/1.1 responder.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Mode, Shared};

const TICK: Duration = Duration::from_millis(20);

pub(crate) fn spawn(
    listener: TcpListener,
    addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    shared: Arc<Shared>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut listener = Some(listener);
        while !shared.stop.load(Ordering::SeqCst) {
            let up = shared.up.load(Ordering::SeqCst);
            match (&listener, up) {
                (Some(_), false) => listener = None,
                (None, true) => listener = rebind(addr),
                _ => {}
            }
            let Some(l) = &listener else {
                std::thread::sleep(TICK);
                continue;
            };
            l.set_nonblocking(true).expect("nonblocking listener");
            match l.accept() {
                Ok((stream, _)) => {
                    let tls = Arc::clone(&tls);
                    let shared = Arc::clone(&shared);
                    std::thread::spawn(move || {
                        let _ = serve(stream, tls, &shared);
                    });
                }
                Err(_) => std::thread::sleep(TICK),
            }
        }
    })
}

fn rebind(addr: SocketAddr) -> Option<TcpListener> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(addr) {
            Ok(l) => return Some(l),
            Err(_) if Instant::now() < deadline => std::thread::sleep(TICK),
            Err(e) => panic!("cannot listen on {addr} again: {e}"),
        }
    }
}

fn serve(
    stream: TcpStream,
    tls: Arc<rustls::ServerConfig>,
    shared: &Shared,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let conn = rustls::ServerConnection::new(tls).map_err(std::io::Error::other)?;
    let mut s = rustls::StreamOwned::new(conn, stream);
    let head = read_head(&mut s)?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    let mut if_none_match = None;
    let mut authorization = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "if-none-match" => if_none_match = Some(v.trim().to_string()),
                "authorization" => authorization = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    let content = shared.content.lock().unwrap().clone();
    if let Mode::Slow(d) = content.mode {
        std::thread::sleep(d);
    }
    if let Some(t) = &content.token {
        if authorization.as_deref() != Some(format!("Bearer {t}").as_str()) {
            shared.counts.lock().unwrap().unauthorized += 1;
            return respond(&mut s, "401 Unauthorized", &[], b"no\n", None);
        }
    }
    let path = path.split('?').next().unwrap_or("").to_string();
    match path.as_str() {
        "/bundle.yaml" => {
            let matches = content.etag.is_some() && if_none_match == content.etag;
            let mut counts = shared.counts.lock().unwrap();
            counts.bundle_requests += 1;
            if matches {
                counts.not_modified += 1;
                drop(counts);
                let etag = content.etag.clone().unwrap_or_default();
                return respond(&mut s, "304 Not Modified", &[("ETag", &etag)], b"", None);
            }
            counts.full += 1;
            drop(counts);
            let etag_header = content.etag.clone().unwrap_or_default();
            let headers: Vec<(&str, &str)> = if content.etag.is_some() {
                vec![("ETag", etag_header.as_str())]
            } else {
                vec![]
            };
            if let Mode::Drip(every) = content.mode {
                return drip(&mut s, &headers, &content.body, every, shared);
            }
            let promised = (content.mode == Mode::Truncated).then(|| content.body.len() + 4096);
            respond(&mut s, "200 OK", &headers, &content.body, promised)
        }
        "/bundle.yaml.sig" => {
            shared.counts.lock().unwrap().signature_requests += 1;
            match &content.signature {
                Some(sig) => respond(&mut s, "200 OK", &[], sig.as_bytes(), None),
                None => respond(&mut s, "404 Not Found", &[], b"", None),
            }
        }
        _ => respond(&mut s, "404 Not Found", &[], b"", None),
    }
}

fn read_head(s: &mut impl Read) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 16 * 1024 {
            return Err(std::io::Error::other("request head too long"));
        }
        if s.read(&mut byte)? == 0 {
            return Err(std::io::Error::other("closed before the request head"));
        }
        buf.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// A 200 whose body comes one byte per `every`, never whole: until the
/// client gives up (a write fails) or the server stops.
fn drip<S: Read + Write>(
    s: &mut rustls::StreamOwned<rustls::ServerConnection, S>,
    headers: &[(&str, &str)],
    body: &[u8],
    every: Duration,
    shared: &Shared,
) -> std::io::Result<()> {
    let mut head = "HTTP/1.1 200 OK\r\nConnection: close\r\n".to_string();
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\n\r\n",
        body.len() + (1 << 20)
    ));
    s.write_all(head.as_bytes())?;
    s.flush()?;
    for &b in body.iter().chain(std::iter::repeat(&b'#')) {
        if shared.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        std::thread::sleep(every);
        s.write_all(&[b])?;
        s.flush()?;
    }
    Ok(())
}

/// Writes one response and closes; `content_length` overrides the true
/// length (to cut a body short).
fn respond<S: Read + Write>(
    s: &mut rustls::StreamOwned<rustls::ServerConnection, S>,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    content_length: Option<usize>,
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !status.starts_with("304") {
        head.push_str(&format!(
            "Content-Length: {}\r\n",
            content_length.unwrap_or(body.len())
        ));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    s.flush()?;
    s.conn.send_close_notify();
    s.flush()
}
