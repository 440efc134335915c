// Drives Debian's chromium (playwright-core, no downloaded browser) through
// pam-mfa's approval page, for tests/tests/approval_page.rs.
//
//   node approve.js '<json>'
//
// json: { url, hosts: [names to map to 127.0.0.1], spki: base64 SHA-256 of
// the server key's SPKI, mode, credential: { id (base64url), pkcs8 (base64),
// jwk, signCount, rpId }, counter, screenshot, viewport: {width, height} }
// mode:
//   "authenticator"  the DevTools virtual authenticator holds the credential
//   "chrome-extra"   navigator.credentials.get signs with the credential's
//                    key in the page and returns a clientDataJSON with
//                    Chrome's long other_keys_can_be_added_here member
//   "stranger"       the virtual authenticator holds another credential only
//   "no-webauthn"    the page runs without PublicKeyCredential
//   "look"           only load the page (error pages, screenshots)
// Prints one JSON line: what the page shows.
"use strict";

const { chromium } = require("playwright-core");

const CHROME_EXTRA =
  ',"other_keys_can_be_added_here":"do not compare clientDataJSON against a template. See https://goo.gl/yabPex"}';

// Runs in the page: a navigator.credentials.get that signs like an
// authenticator (ES256 over authenticatorData || SHA-256(clientDataJSON)).
async function installSigner(a) {
  const enc = new TextEncoder();
  const b64u = (buf) =>
    btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const unb64u = (t) => {
    const s = t.replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(s + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  };
  const derInt = (b) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v = Array.from(b.slice(i));
    if (v[0] & 0x80) v = [0, ...v];
    return [0x02, v.length, ...v];
  };
  navigator.credentials.get = async (opts) => {
    const pk = opts.publicKey;
    const key = await crypto.subtle.importKey("jwk", a.jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const cd = enc.encode('{"type":"webauthn.get","challenge":"' + b64u(pk.challenge) + '","origin":' +
      JSON.stringify(location.origin) + ',"crossOrigin":false' + a.extra);
    const ad = new Uint8Array(37);
    ad.set(new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(pk.rpId))), 0);
    ad[32] = 0x05; // UP | UV
    new DataView(ad.buffer).setUint32(33, a.counter);
    const signed = new Uint8Array(37 + 32);
    signed.set(ad, 0);
    signed.set(new Uint8Array(await crypto.subtle.digest("SHA-256", cd)), 37);
    const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, signed));
    const body = [...derInt(raw.slice(0, 32)), ...derInt(raw.slice(32))];
    const sig = new Uint8Array([0x30, body.length, ...body]);
    return { rawId: unb64u(a.id).buffer, response: { clientDataJSON: cd.buffer, authenticatorData: ad.buffer, signature: sig.buffer } };
  };
}

function b64urlToB64(t) {
  const s = t.replace(/-/g, "+").replace(/_/g, "/");
  return s + "===".slice((s.length + 3) % 4);
}

async function addAuthenticator(context, page, cred, holdIt) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "usb",
      hasResidentKey: false,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  if (holdIt) {
    await cdp.send("WebAuthn.addCredential", {
      authenticatorId,
      credential: {
        credentialId: b64urlToB64(cred.id),
        isResidentCredential: false,
        rpId: cred.rpId,
        privateKey: cred.pkcs8,
        signCount: cred.signCount || 0,
      },
    });
  }
}

async function pageState(page) {
  return page.evaluate(() => {
    const t = (id) => (document.getElementById(id) ? document.getElementById(id).textContent : "");
    const shown = (id) => !document.getElementById(id).hidden;
    return {
      title: document.title,
      node: t("node"),
      login: t("login"),
      user: t("user"),
      service: t("service"),
      rhost: t("rhost"),
      countdown: t("countdown"),
      error: shown("error") ? t("error") : "",
      status: t("status"),
      answer: shown("done") ? document.getElementById("answer").value : "",
      focused: document.activeElement ? document.activeElement.id : "",
    };
  });
}

async function main() {
  const a = JSON.parse(process.argv[2]);
  const rules = a.hosts.map((h) => "MAP " + h + " 127.0.0.1").join(", ");
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--host-resolver-rules=" + rules,
      "--ignore-certificate-errors-spki-list=" + a.spki,
    ],
  });
  try {
    const context = await browser.newContext({ viewport: a.viewport || { width: 900, height: 760 } });
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    // Resource errors are judged by their response (browsers ask for a
    // /favicon.ico the page does not have); every other console error counts.
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) pageErrors.push(m.text());
    });
    page.on("response", (r) => {
      if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) pageErrors.push(r.status() + " " + r.url());
    });
    if (a.mode === "authenticator" || a.mode === "stranger") {
      await addAuthenticator(context, page, a.credential, a.mode === "authenticator");
    }
    if (a.mode === "chrome-extra") {
      await page.addInitScript(installSigner, {
        jwk: a.credential.jwk, id: a.credential.id, counter: a.counter || 1, extra: CHROME_EXTRA,
      });
    }
    if (a.mode === "no-webauthn") {
      await page.addInitScript(() => { delete window.PublicKeyCredential; });
    }
    const response = await page.goto(a.url, { waitUntil: "load" });
    const csp = response ? response.headers()["content-security-policy"] || "" : "";
    const before = await pageState(page);
    let after = before;
    if (a.mode !== "look" && a.mode !== "no-webauthn" && before.focused === "approve") {
      // Keyboard only: the approve button has the focus; Enter presses it.
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => !document.getElementById("done").hidden || !document.getElementById("error").hidden,
        null, { timeout: 30000 });
      after = await pageState(page);
    }
    if (a.screenshot) await page.screenshot({ path: a.screenshot, fullPage: true });
    process.stdout.write(JSON.stringify({ before, after, pageErrors, csp }) + "\n");
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ crash: String(e && e.stack || e) }) + "\n");
  process.exit(1);
});
