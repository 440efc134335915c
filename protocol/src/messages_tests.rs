//! The wire form of the messages.

use super::*;

#[test]
fn wire_form_is_flat_and_tagged() {
    let req = Request::new(RequestBody::Begin {
        hook: PamHook::Auth,
        context: PamContext {
            service: "sshd".into(),
            user: "jerry".into(),
            ..Default::default()
        },
    });
    let json = serde_json::to_value(&req).unwrap();
    assert_eq!(json["v"], 1);
    assert_eq!(json["type"], "begin");
    assert_eq!(json["hook"], "auth");
    assert_eq!(json["context"]["user"], "jerry");
    let back: Request = serde_json::from_value(json).unwrap();
    assert_eq!(back, req);

    let resp = Response::new(ResponseBody::Prompt {
        prompts: vec![Prompt {
            style: PromptStyle::EchoOff,
            text: "x".into(),
        }],
    });
    let json = serde_json::to_string(&resp).unwrap();
    assert_eq!(
        json,
        r#"{"v":1,"type":"prompt","prompts":[{"style":"echo_off","text":"x"}]}"#
    );
}

/// `ssh_connection_env` is new in version 1: a module without it is
/// read as "not set", and it is sent only when set, so that an agent
/// without it (which ignores fields it does not know, as this one
/// does) reads a module with it.
#[test]
fn ssh_connection_env_is_optional_both_ways() {
    let old: PamContext = serde_json::from_str(r#"{"service":"sudo","user":"j"}"#).unwrap();
    assert!(!old.ssh_connection_env);
    let json = serde_json::to_value(&old).unwrap();
    assert!(json.get("ssh_connection_env").is_none(), "{json}");
    let set = PamContext {
        ssh_connection_env: true,
        ..old
    };
    let json = serde_json::to_value(&set).unwrap();
    assert_eq!(json["ssh_connection_env"], true);
    let newer = r#"{"service":"sudo","user":"j","ssh_connection_env":true,"later":1}"#;
    let back: PamContext = serde_json::from_str(newer).unwrap();
    assert_eq!(back, set);
}

/// `tries_spent` is new in version 1: a deny without it (an older agent) is
/// read as "not spent", a plain deny is sent without it, and a module that
/// does not know it ignores it as any unknown field.
#[test]
fn tries_spent_is_optional_both_ways() {
    let old: Response = serde_json::from_str(r#"{"v":1,"type":"deny","message":"no"}"#).unwrap();
    let plain = ResponseBody::Deny {
        message: "no".into(),
        tries_spent: false,
    };
    assert_eq!(old.body, plain);
    let json = serde_json::to_string(&Response::new(plain)).unwrap();
    assert_eq!(json, r#"{"v":1,"type":"deny","message":"no"}"#);

    let spent = ResponseBody::Deny {
        message: "no".into(),
        tries_spent: true,
    };
    let json = serde_json::to_string(&Response::new(spent.clone())).unwrap();
    assert_eq!(
        json,
        r#"{"v":1,"type":"deny","message":"no","tries_spent":true}"#
    );
    let back: Response = serde_json::from_str(&json).unwrap();
    assert_eq!(back.body, spent);
    let newer = r#"{"v":1,"type":"deny","message":"no","tries_spent":true,"later":1}"#;
    let back: Response = serde_json::from_str(newer).unwrap();
    assert_eq!(back.body, spent);
}
