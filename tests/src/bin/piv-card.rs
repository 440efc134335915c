//! piv-card: a software PIV card (YubiKey-flavoured) served to pcscd through
//! vsmartcard's vpcd driver until killed. For tests only: its keys live in memory
//! and its attestation chain ends at a test root.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use pam_mfa_e2e::piv_card::attest::{Authority, DeviceInfo};
use pam_mfa_e2e::piv_card::mgmt::ManagementKey;
use pam_mfa_e2e::piv_card::piv::{Piv, PivConfig};
use pam_mfa_e2e::piv_card::touch::{Touch, TouchAnswer};
use pam_mfa_e2e::piv_card::{vpcd, Card};

#[derive(Parser)]
#[command(about = "A software PIV card for vsmartcard's vpcd (tests only)")]
struct Args {
    /// vpcd's address
    #[arg(long, env = "PIV_CARD_VPCD_HOST", default_value = "127.0.0.1")]
    vpcd_host: IpAddr,
    /// vpcd's port (35963 is the first virtual reader)
    #[arg(long, env = "PIV_CARD_VPCD_PORT", default_value_t = vpcd::DEFAULT_PORT)]
    vpcd_port: u16,
    #[arg(long, env = "PIV_CARD_PIN", default_value = "123456")]
    pin: String,
    #[arg(long, env = "PIV_CARD_PUK", default_value = "12345678")]
    puk: String,
    /// `3des:HEX`, `aes192:HEX` or HEX (3DES); default: the well-known 0102..08 x3
    #[arg(long, env = "PIV_CARD_MANAGEMENT_KEY")]
    management_key: Option<String>,
    #[arg(long, env = "PIV_CARD_PIN_RETRIES", default_value_t = 3)]
    pin_retries: u8,
    #[arg(long, env = "PIV_CARD_SERIAL", default_value_t = 10_000_001)]
    serial: u32,
    /// Firmware version, `MAJOR.MINOR.PATCH`
    #[arg(long, env = "PIV_CARD_FIRMWARE", default_value = "5.4.3")]
    firmware: String,
    /// Form factor byte of the attestation extension 1.3.6.1.4.1.41482.3.9
    #[arg(long, env = "PIV_CARD_FORM_FACTOR", default_value_t = 1)]
    form_factor: u8,
    /// Touch answer: `touched`, `not touched` or `delay N ms`
    #[arg(long, env = "PIV_CARD_TOUCH", default_value = "touched")]
    touch: String,
    /// File read at every touch; its content, when not empty, overrides --touch
    #[arg(long, env = "PIV_CARD_TOUCH_FILE")]
    touch_file: Option<PathBuf>,
    /// Root certificate (PEM) the card's F9 attestation certificate is issued under
    #[arg(
        long,
        env = "PIV_CARD_ATTESTATION_ROOT_CERT",
        requires = "attestation_root_key"
    )]
    attestation_root_cert: Option<PathBuf>,
    /// The root's P-256 key (PKCS#8 PEM)
    #[arg(
        long,
        env = "PIV_CARD_ATTESTATION_ROOT_KEY",
        requires = "attestation_root_cert"
    )]
    attestation_root_key: Option<PathBuf>,
    /// Without a root given: the seed of a deterministic test root
    #[arg(
        long,
        env = "PIV_CARD_ATTESTATION_SEED",
        default_value = "pam-mfa-tests"
    )]
    attestation_seed: String,
    /// Write the test root certificate (PEM) here and continue
    #[arg(long)]
    write_root: Option<PathBuf>,
    /// Log each command's header and status word (never its data)
    #[arg(long)]
    trace: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("piv-card: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: Args) -> Result<(), String> {
    let root = match (&a.attestation_root_cert, &a.attestation_root_key) {
        (Some(c), Some(k)) => {
            let read = |p: &PathBuf| {
                std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
            };
            Authority::from_pem(&read(c)?, &read(k)?)
                .map_err(|e| format!("{} / {}: {e}", c.display(), k.display()))?
        }
        _ => Authority::test_root(&a.attestation_seed),
    };
    if let Some(p) = &a.write_root {
        std::fs::write(p, root.cert_pem()).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let firmware = parse_firmware(&a.firmware)?;
    for (name, v) in [("PIN", &a.pin), ("PUK", &a.puk)] {
        if !(6..=8).contains(&v.len()) {
            return Err(format!("{name} must be 6 to 8 characters"));
        }
    }
    let cfg = PivConfig {
        pin: a.pin.into_bytes(),
        puk: a.puk.into_bytes(),
        management_key: match &a.management_key {
            Some(k) => ManagementKey::parse(k)?,
            None => ManagementKey::default(),
        },
        pin_retries: a.pin_retries,
        puk_retries: 3,
        info: DeviceInfo {
            firmware,
            serial: a.serial,
            form_factor: a.form_factor,
        },
    };
    let touch = Touch::new(TouchAnswer::parse(&a.touch)?, a.touch_file);
    let f9 = root.issue_attestation_ca(a.serial);
    let mut card = Card::new(Piv::new(cfg, f9, touch));
    card.trace = a.trace;
    let addr = SocketAddr::new(a.vpcd_host, a.vpcd_port);
    // Serve until killed; reconnect when vpcd goes away (pcscd restarted).
    loop {
        let mut stream = vpcd::connect(addr, Duration::from_secs(3600))
            .map_err(|e| format!("connect to vpcd at {addr}: {e}"))?;
        eprintln!("piv-card: connected to vpcd at {addr}");
        if let Err(e) = vpcd::serve(&mut stream, &mut card) {
            eprintln!("piv-card: vpcd connection: {e}");
        }
        eprintln!("piv-card: vpcd closed the connection; reconnecting");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn parse_firmware(s: &str) -> Result<[u8; 3], String> {
    let parts: Vec<u8> = s
        .split('.')
        .map(|p| p.parse::<u8>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("firmware {s:?}: want MAJOR.MINOR.PATCH"))?;
    <[u8; 3]>::try_from(parts).map_err(|_| format!("firmware {s:?}: want MAJOR.MINOR.PATCH"))
}
