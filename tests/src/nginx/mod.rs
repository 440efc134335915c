//! Debian's nginx serving a directory over HTTPS on loopback: its own `-c`
//! config and `-p` prefix in the test's work dir, `daemon off;`, a leaf
//! certificate from a test CA (rcgen), 127.0.0.1 and a free port. Static
//! files only, with nginx's own ETag and `If-None-Match` handling: what a
//! fleet already runs in front of `mfactl publish --out DIR`.
//! [`Nginx::serve`] takes any certificate and extra `server` lines (the
//! approval page's self-signed names and headers: `crate::approval_web`).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::https_server::TestPki;
use crate::process::{kill_tree, wait_until};
use crate::workdir::WorkDir;

/// Where Debian installs it.
pub const NGINX: &str = "/usr/sbin/nginx";

/// A running nginx; stopped (by its PID) when dropped.
pub struct Nginx {
    pub port: u16,
    /// The test CA, PEM, for the agents' `cluster.ca_file` ([`Nginx::start`]).
    pub ca_file: PathBuf,
    prefix: PathBuf,
    child: Option<Child>,
}

/// What [`Nginx::serve`] serves with: the certificate chain and key (PEM),
/// and lines added to the `server` block (headers, `index`).
pub struct Site<'a> {
    pub chain_pem: &'a str,
    pub key_pem: &'a str,
    pub server_lines: &'a str,
}

impl Nginx {
    /// Serves `root` at `https://127.0.0.1:PORT/` with a leaf of a fresh
    /// test CA (`ca_file`).
    pub fn start(work: &WorkDir, root: &Path) -> Nginx {
        let pki = TestPki::generate();
        let ca_file = work.write("nginx-ca.pem", &pki.ca_pem, 0o644);
        let site = Site {
            chain_pem: &pki.chain_pem(),
            key_pem: &pki.leaf_key_pem(),
            server_lines: "",
        };
        let mut n = Nginx::serve(work, root, &site);
        n.ca_file = ca_file;
        n
    }

    /// Serves `root` at `https://127.0.0.1:PORT/` as `site` says.
    pub fn serve(work: &WorkDir, root: &Path, site: &Site<'_>) -> Nginx {
        assert!(
            Path::new(NGINX).exists(),
            "{NGINX} is missing: run tests/install-deps.sh (Debian's nginx)"
        );
        let prefix = work.subdir("nginx", 0o755);
        std::fs::create_dir_all(prefix.join("tmp")).expect("nginx tmp");
        work.write("nginx/chain.pem", site.chain_pem, 0o644);
        work.write("nginx/key.pem", site.key_pem, 0o600);
        let port = crate::sshd::free_port();
        let conf = work.write(
            "nginx/nginx.conf",
            &config(&prefix, root, port, site.server_lines),
            0o644,
        );
        let log = std::fs::File::create(prefix.join("stderr.log")).expect("nginx log");
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {NGINX}: {e}"));
        let mut n = Nginx {
            port,
            ca_file: PathBuf::new(),
            prefix,
            child: Some(child),
        };
        let up = wait_until(Duration::from_secs(10), Duration::from_millis(25), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok() || n.exited()
        });
        assert!(
            up && !n.exited(),
            "nginx did not start on 127.0.0.1:{port}:\n{}",
            n.log()
        );
        n
    }

    /// `https://127.0.0.1:PORT/` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}/{path}", self.port)
    }

    /// nginx's error log and its standard error.
    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.prefix.join(f)).unwrap_or_default();
        format!("{}{}", read("stderr.log"), read("error.log"))
    }

    /// The access log: one line per request (method, path, status).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.prefix.join("access.log")).unwrap_or_default()
    }

    fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_tree(c.id() as i32, Duration::from_secs(3));
            let _ = c.wait();
        }
    }
}

fn config(prefix: &Path, root: &Path, port: u16, server_lines: &str) -> String {
    let p = prefix.display();
    format!(
        r#"daemon off;
master_process on;
worker_processes 1;
user root root;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {p}/access.log;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    types {{ application/json json; text/plain sig; text/html html; text/css css; text/javascript js; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {p}/chain.pem;
        ssl_certificate_key {p}/key.pem;
        root {root};
{server_lines}        location / {{ }}
    }}
}}
"#,
        root = root.display()
    )
}
