// pam-mfa approval page. Reads the login to approve from the URL fragment
// (never sent to the web server), asks the browser for a WebAuthn assertion
// over the challenge, and shows the answer to paste at the ssh prompt:
//   wb1.<selector>.<authenticatorData>.<signature>.<origin>.<form>.<data>
// (agent/src/verify/webauthn_browser.rs is the other side; keep them equal).
// No request leaves this page: the answer travels through the person.
"use strict";

(function () {
  const MAX_ANSWER = 512; // PAM's response limit
  const CHROME_EXTRA_MEMBER =
    ',"other_keys_can_be_added_here":"do not compare clientDataJSON against a template. See https://goo.gl/yabPex"}';
  const CHALLENGE_RE = /^pmfa1:([^:]{1,255}):([^:]{1,255}):[A-Za-z0-9_-]{22}$/;
  const enc = new TextEncoder();
  const $ = (id) => document.getElementById(id);

  function b64url(bytes) {
    const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    let s = "";
    for (const b of u8) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function unb64url(text) {
    const s = text.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(s + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  async function deflateRaw(bytes) {
    if (typeof CompressionStream !== "function") return null;
    try {
      const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate-raw"));
      return new Uint8Array(await new Response(stream).arrayBuffer());
    } catch (_) {
      return null;
    }
  }

  function concat(a, b) {
    const out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }

  function startsWith(bytes, prefix) {
    if (bytes.length < prefix.length) return false;
    for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
    return true;
  }

  // What the agent rebuilds: clientDataJSON up to crossOrigin, as browsers
  // serialise it for a top-level navigator.credentials.get.
  function templatePrefix(challengeB64, origin) {
    return '{"type":"webauthn.get","challenge":"' + challengeB64 + '","origin":' +
      JSON.stringify(origin) + ',"crossOrigin":false';
  }

  // The shortest way to give the agent the browser's clientDataJSON.
  async function clientDataForm(clientData, challengeB64, origin) {
    const forms = [["w", clientData]];
    const whole = await deflateRaw(clientData);
    if (whole) forms.push(["wz", whole]);
    const prefix = enc.encode(templatePrefix(challengeB64, origin));
    if (startsWith(clientData, prefix)) {
      const rest = clientData.slice(prefix.length);
      if (new TextDecoder().decode(rest) === CHROME_EXTRA_MEMBER) forms.push(["c", new Uint8Array(0)]);
      forms.push(["t", rest]);
      const z = await deflateRaw(rest);
      if (z) forms.push(["tz", z]);
    }
    let best = null;
    for (const [form, data] of forms) {
      const text = form + "." + b64url(data);
      if (best === null || text.length < best.length) best = text;
    }
    return best;
  }

  function readRequest() {
    const p = new URLSearchParams(location.hash.slice(1));
    const challenge = p.get("c") || "";
    const m = CHALLENGE_RE.exec(challenge);
    const expires = Number(p.get("e"));
    const rpId = (p.get("r") || "").toLowerCase();
    if (!m || !Number.isSafeInteger(expires) || !rpId) return null;
    const ids = (p.get("k") || "").split(",").filter((s) => /^[A-Za-z0-9_-]+$/.test(s));
    return {
      challenge,
      node: m[1],
      login: m[2],
      // Not signed (only the challenge is): what the link says, shown as such.
      user: p.get("u") || "",
      service: p.get("s") || "",
      rhost: p.get("h") || "",
      expires,
      rpId,
      uv: p.get("uv") === "1",
      // The approval origin the agent accepts answers from (absent in
      // older links): an answer made anywhere else would be refused.
      origin: p.get("o") || "",
      ids,
    };
  }

  function showError(text) {
    const e = $("error");
    e.textContent = text;
    e.hidden = false;
    $("status").textContent = "";
  }

  function secondsLeft(req) {
    return Math.floor(req.expires - Date.now() / 1000);
  }

  function startCountdown(req, onExpired) {
    const el = $("countdown");
    const tick = () => {
      const left = secondsLeft(req);
      const at = new Date(req.expires * 1000).toLocaleTimeString();
      if (left <= 0) {
        el.textContent = "expired at " + at;
        clearInterval(timer);
        onExpired();
      } else {
        el.textContent = "in " + left + " s (" + at + ")";
      }
    };
    const timer = setInterval(tick, 1000);
    tick();
  }

  function explain(err, req) {
    const name = err && err.name;
    if (secondsLeft(req) <= 0) {
      return "The challenge expired. Start the login again to get a new link.";
    }
    if (name === "NotAllowedError") {
      return "No approval was given: the request was cancelled or timed out, or this key is not one " +
        "of the keys this link lists (" + req.ids.length + " for " + req.rpId + "). Try again, try another " +
        "key, or open the link of your own keys: the login prompt shows one per group of people.";
    }
    if (name === "SecurityError") {
      return "This browser refused the request for " + req.rpId + " on " + location.origin +
        ": the page is on a wrong origin.";
    }
    if (name === "InvalidStateError" || name === "NotSupportedError") {
      return "This security key cannot answer this request (" + name + "). Try another key.";
    }
    return "The browser could not ask your security key: " + (name || "error") + ".";
  }

  async function approve(req) {
    const button = $("approve");
    button.disabled = true;
    $("error").hidden = true;
    $("status").textContent = "Waiting for your security key, passkey or phone…";
    try {
      const challengeHash = await sha256(enc.encode(req.challenge));
      const cred = await navigator.credentials.get({
        publicKey: {
          challenge: challengeHash,
          rpId: req.rpId,
          allowCredentials: req.ids.map((id) => ({ type: "public-key", id: unb64url(id) })),
          userVerification: req.uv ? "required" : "discouraged",
          timeout: Math.max(1000, Math.min(secondsLeft(req) * 1000, 120000)),
        },
      });
      const r = cred.response;
      const clientData = new Uint8Array(r.clientDataJSON);
      const selector = (await sha256(new Uint8Array(cred.rawId))).slice(0, 8);
      const originTag = (await sha256(enc.encode(location.origin))).slice(0, 4);
      const form = await clientDataForm(clientData, b64url(challengeHash), location.origin);
      const answer = ["wb1", b64url(selector), b64url(r.authenticatorData), b64url(r.signature),
        b64url(originTag), form].join(".");
      if (answer.length > MAX_ANSWER) {
        showError("This browser's answer is " + answer.length + " bytes, more than a login prompt takes (" +
          MAX_ANSWER + "). Use mfactl tap instead.");
        button.disabled = false;
        return;
      }
      $("status").textContent = "Approved. Copy the answer below.";
      $("answer").value = answer;
      $("ask").hidden = true;
      $("done").hidden = false;
      $("copy").focus();
    } catch (err) {
      showError(explain(err, req));
      button.disabled = secondsLeft(req) <= 0;
      if (!button.disabled) button.focus();
    }
  }

  async function copy() {
    const text = $("answer").value;
    try {
      await navigator.clipboard.writeText(text);
      $("status").textContent = "Copied. Paste it at the answer: prompt.";
    } catch (_) {
      const a = $("answer");
      a.focus();
      a.select();
      $("status").textContent = "Select the answer and copy it (Ctrl+C or ⌘C).";
    }
  }

  function originFits(rpId) {
    const host = location.hostname.toLowerCase();
    return location.protocol === "https:" && (host === rpId || host.endsWith("." + rpId));
  }

  function main() {
    const req = readRequest();
    if (!req) {
      showError("This link is incomplete. Open the whole link shown at your login prompt.");
      return;
    }
    $("node").textContent = req.node;
    $("login").textContent = req.login;
    $("what").hidden = false;
    // Unsigned words of the link: shown apart, as what the link claims.
    $("user").textContent = req.user || "(not given)";
    $("service").textContent = req.service || "(not given)";
    $("rhost").textContent = req.rhost || "(not given)";
    $("claimed").hidden = false;
    document.title = "Approve " + req.login + "@" + req.node + " · pam-mfa";
    if (!originFits(req.rpId) || (req.origin && req.origin !== location.origin)) {
      showError("Wrong origin: this page is at " + location.origin + ", but the keys belong to " +
        req.rpId + (req.origin ? " and answers are accepted from " + req.origin + " only" : "") +
        ". Open the link shown at your login prompt, and nothing else.");
      return;
    }
    if (!window.isSecureContext || !window.PublicKeyCredential || !navigator.credentials) {
      showError("This browser cannot use security keys or passkeys (no WebAuthn). " +
        "Open the link in a current Chrome, Edge, Firefox or Safari, or use mfactl tap.");
      return;
    }
    let expired = false;
    startCountdown(req, () => {
      expired = true;
      $("approve").disabled = true;
      showError($("done").hidden
        ? "The challenge expired. Start the login again to get a new link."
        : "The challenge expired: this answer no longer works. Start the login again to get a new link.");
    });
    if (expired) return;
    $("ask").hidden = false;
    $("approve").addEventListener("click", () => approve(req));
    $("copy").addEventListener("click", copy);
    $("approve").focus();
  }

  // The fragment changes when a person pastes a new link into this tab.
  window.addEventListener("hashchange", () => location.reload());
  main();
})();
