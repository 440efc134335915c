//! The allowlist: for each kind, which fields of `tctl get ... --with-secrets`
//! output are copied into the published bundle.
//!
//! Every field falls in one of four classes (see [`Shape`]): copied because
//! the agent uses it and it is public; a known secret, dropped; known and
//! public but unused, dropped; or unknown, dropped after it was checked for
//! key material (a field this table does not know that carries a key stops
//! the publication: Teleport's output changed, and this table must learn
//! the new field). Field names follow Teleport's `api/types/types.proto`
//! (`RoleV6`, `UserV2`/`LocalAuthSecrets`/`MFADevice`, `CertAuthorityV2`/
//! `CAKeySet`, `LockV2`, `AuthPreferenceV2`) and `api/types/userloginstate`
//! as tctl prints them; MFA devices are printed through jsonpb, hence their
//! camelCase names.

use super::device_shapes::LOCAL_AUTH;
use super::shape::Shape::{self, Drop, Each, Keep, KeepChecked, Map, Secret, Sha256As};
use super::shape::Unknown::{CheckAndDrop, CheckAndMask};

/// `metadata`: the name, and `expires` (a user, role or lock past it no
/// longer exists in Teleport).
const METADATA: Shape = Map(
    &[
        ("name", Keep),
        ("namespace", Drop),
        ("description", Drop),
        ("labels", Drop),
        ("expires", Keep),
        ("revision", Drop),
        ("id", Drop),
    ],
    CheckAndDrop,
);

/// One side of a role: what `policy::resources::role` reads.
const ROLE_CONDITIONS: Shape = Map(
    &[
        ("logins", Keep),
        ("node_labels", Keep),
        ("node_labels_expression", Keep),
        ("namespaces", Keep),
    ],
    CheckAndDrop,
);

const ROLE: Shape = Map(
    &[
        ("kind", Keep),
        ("version", Keep),
        ("metadata", METADATA),
        (
            "spec",
            Map(
                &[
                    (
                        "options",
                        Map(
                            &[
                                ("require_session_mfa", Keep),
                                ("lock", Keep),
                                ("device_trust_mode", Keep),
                                ("disconnect_expired_cert", Keep),
                                // The session's idle limit
                                // (policy/session_terms.rs).
                                ("client_idle_timeout", Keep),
                            ],
                            CheckAndDrop,
                        ),
                    ),
                    ("allow", ROLE_CONDITIONS),
                    ("deny", ROLE_CONDITIONS),
                ],
                CheckAndDrop,
            ),
        ),
    ],
    CheckAndDrop,
);

const USER: Shape = Map(
    &[
        ("kind", Keep),
        ("version", Keep),
        ("metadata", METADATA),
        (
            "spec",
            Map(
                &[
                    ("roles", Keep),
                    ("traits", Keep),
                    ("local_auth", LOCAL_AUTH),
                    ("recovery_codes", Secret),
                    ("created_by", Drop),
                    ("expires", Keep),
                    (
                        "status",
                        Map(
                            &[
                                ("is_locked", Keep),
                                ("lock_expires", Keep),
                                ("recovery_attempt_lock_expires", Keep),
                                ("locked_message", Drop),
                                ("locked_time", Drop),
                            ],
                            CheckAndDrop,
                        ),
                    ),
                    ("oidc_identities", Drop),
                    ("saml_identities", Drop),
                    ("github_identities", Drop),
                    ("trusted_device_ids", Drop),
                ],
                CheckAndDrop,
            ),
        ),
    ],
    CheckAndDrop,
);

/// `user_login_state` (api/types/userloginstate `UserLoginState`, as
/// `tctl get user_login_state` prints it): the roles and traits Teleport
/// builds the user's certificates from. The original roles and traits (the
/// user resource's, before Access Lists and login rules) and the user type
/// are not read; nothing in it is secret.
const USER_LOGIN_STATE: Shape = Map(
    &[
        ("kind", Keep),
        ("version", Keep),
        ("metadata", METADATA),
        (
            "spec",
            Map(
                &[
                    ("roles", Keep),
                    ("traits", Keep),
                    ("original_roles", Drop),
                    ("original_traits", Drop),
                    ("user_type", Drop),
                    ("github_identity", Drop),
                ],
                CheckAndDrop,
            ),
        ),
    ],
    CheckAndDrop,
);

/// `CAKeySet`: SSH public keys only.
const CA_KEY_SET: Shape = Map(
    &[
        (
            "ssh",
            Each(&Map(
                &[
                    ("public_key", Keep),
                    ("private_key", Secret),
                    ("private_key_type", Drop),
                ],
                CheckAndDrop,
            )),
        ),
        (
            "tls",
            Each(&Map(
                &[("cert", Drop), ("key", Secret), ("key_type", Drop)],
                CheckAndDrop,
            )),
        ),
        (
            "jwt",
            Each(&Map(
                &[
                    ("public_key", Drop),
                    ("private_key", Secret),
                    ("private_key_type", Drop),
                ],
                CheckAndDrop,
            )),
        ),
    ],
    CheckAndDrop,
);

const CERT_AUTHORITY: Shape = Map(
    &[
        ("kind", Keep),
        ("sub_kind", Keep),
        ("version", Keep),
        ("metadata", METADATA),
        (
            "spec",
            Map(
                &[
                    ("type", Keep),
                    ("cluster_name", Keep),
                    ("active_keys", CA_KEY_SET),
                    ("additional_trusted_keys", CA_KEY_SET),
                    // Before Teleport 7: public keys, and the private ones.
                    ("checking_keys", Keep),
                    ("signing_keys", Secret),
                    ("tls_key_pairs", Secret),
                    ("jwt_key_pairs", Secret),
                    ("rotation", Drop),
                    ("signing_alg_type", Drop),
                    ("roles", Drop),
                    ("role_map", Drop),
                ],
                CheckAndDrop,
            ),
        ),
    ],
    CheckAndDrop,
);

const LOCK: Shape = Map(
    &[
        ("kind", Keep),
        ("version", Keep),
        ("metadata", METADATA),
        (
            "spec",
            Map(
                &[
                    // Target fields hosts cannot judge still matter (a lock
                    // naming only them is not empty): that they are set is
                    // copied, never their value (it may be a secret).
                    (
                        "target",
                        Map(
                            &[
                                ("user", Keep),
                                ("role", Keep),
                                ("login", Keep),
                                ("node", Keep),
                                ("server_id", Keep),
                                ("mfa_device", Keep),
                                // A trusted device id: certificate logins
                                // from it are held.
                                ("device", KeepChecked),
                                // An access request id: certificate logins
                                // of that request are held.
                                ("access_request", KeepChecked),
                                // A bot instance (a UUID): bot certificate
                                // logins of that instance are held.
                                ("bot_instance_id", KeepChecked),
                                // A join token's name is, for the `token`
                                // join method, the secret itself: only its
                                // SHA-256 is published (the agent keeps no
                                // more of it; see policy::resources::lock).
                                ("join_token", Sha256As("join_token_sha256")),
                                // Already a SHA-256: 64 hex digits, which
                                // the key-material check would take for a
                                // raw key. Kept as it is; the agent refuses
                                // any other form (policy::resources::lock).
                                ("join_token_sha256", Keep),
                            ],
                            CheckAndMask,
                        ),
                    ),
                    ("message", Keep),
                    ("expires", Keep),
                    ("created_at", Drop),
                    ("created_by", Drop),
                ],
                CheckAndDrop,
            ),
        ),
    ],
    CheckAndDrop,
);

const CAP: Shape = Map(
    &[
        ("kind", Keep),
        ("version", Keep),
        ("metadata", METADATA),
        (
            "spec",
            Map(
                &[
                    ("require_session_mfa", Keep),
                    ("second_factor", Keep),
                    ("second_factors", Keep),
                    // What the agent checks as Teleport's CheckAndSetDefaults
                    // does (policy/resources/cap_checks.rs): without them a
                    // valid cap (SSO-only MFA with local auth off) would be
                    // read with Teleport's defaults and refused.
                    ("type", Keep),
                    ("allow_local_auth", Keep),
                    ("allow_passwordless", Keep),
                    ("allow_headless", Keep),
                    ("connector_name", Keep),
                    ("locking_mode", Keep),
                    ("disconnect_expired_cert", Keep),
                    // rp_id and the attestation CAs (certificates): the
                    // agent keeps the block as written.
                    ("webauthn", Keep),
                    (
                        "u2f",
                        Map(
                            &[
                                ("app_id", Keep),
                                ("facets", Keep),
                                ("device_attestation_cas", Keep),
                            ],
                            CheckAndDrop,
                        ),
                    ),
                    ("hardware_key", KeepChecked),
                    (
                        "device_trust",
                        Map(
                            &[
                                ("mode", Keep),
                                ("auto_enroll", Drop),
                                ("ekcert_allowed_cas", Drop),
                            ],
                            CheckAndDrop,
                        ),
                    ),
                ],
                CheckAndDrop,
            ),
        ),
    ],
    CheckAndDrop,
);

/// Our own `mfa_device` documents (`--devices`): their public forms.
const DEVICE: Shape = Map(
    &[
        ("kind", Keep),
        ("version", Keep),
        ("metadata", METADATA),
        (
            "spec",
            Map(
                &[
                    ("id", Keep),
                    ("user", Keep),
                    ("ssh_sk", Map(&[("public_key", Keep)], CheckAndDrop)),
                    ("webauthn", Keep),
                    ("piv", Keep),
                    ("totp", Secret),
                    ("u2f", Drop),
                    ("sso", Drop),
                ],
                CheckAndDrop,
            ),
        ),
    ],
    CheckAndDrop,
);

/// `cluster_networking_config`: only the cluster-wide idle timeout, which
/// hosts enforce; the proxy's settings are dropped.
const NETWORKING: Shape = Map(
    &[
        ("kind", Keep),
        ("version", Keep),
        ("metadata", METADATA),
        ("spec", Map(&[("client_idle_timeout", Keep)], CheckAndDrop)),
    ],
    CheckAndDrop,
);

/// The shape of a kind the agent reads; `None`: the agent skips the kind,
/// and the publisher leaves the whole resource out.
pub(crate) fn shape_of(kind: &str) -> Option<&'static Shape> {
    Some(match kind {
        "role" => &ROLE,
        "user" => &USER,
        "user_login_state" => &USER_LOGIN_STATE,
        "cluster_auth_preference" => &CAP,
        "lock" => &LOCK,
        "cert_authority" => &CERT_AUTHORITY,
        "mfa_device" => &DEVICE,
        "cluster_networking_config" => &NETWORKING,
        _ => return None,
    })
}
