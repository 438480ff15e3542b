//! Ingest body decoding (`POST /api/events`: one envelope or an array):
//! never a panic; a refusal is a 4xx with a JSON body naming the problem;
//! what is accepted is valid — each event's data decodes and validates again
//! (nothing invalid reaches a subscriber).
#![no_main]

use std::sync::OnceLock;

use continuum_runtime::Hub;
use libfuzzer_sys::fuzz_target;

fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(|| {
        Hub::builder()
            .register::<continuum_fuzz::TaskProgress>()
            .register::<continuum_fuzz::CartUpdated>()
            .register::<continuum_fuzz::Flushed>()
            .build()
            .expect("hub")
    })
}

fuzz_target!(|data: &[u8]| {
    let registry = hub().registry();
    match continuum_runtime::__fuzz::decode_ingest_body(registry, data) {
        Ok((single, events)) => {
            if single {
                assert_eq!(events.len(), 1);
            }
            for (type_name, _channel, json) in events {
                assert!(!type_name.starts_with("continuum"), "{type_name}");
                let reg = registry.get(type_name).expect("registered");
                let text = std::str::from_utf8(&json).expect("UTF-8 JSON");
                if let Err(e) = (reg.decode)(text) {
                    panic!("accepted {type_name} {text}, which does not decode again: {e:?}");
                }
            }
        }
        Err((status, body)) => {
            assert!(matches!(status, 400 | 413 | 422), "status {status}");
            assert!(body["error"].is_string(), "{body}");
            assert!(body["message"].is_string(), "{body}");
            if status == 422 && body["error"] == "invalid_event" {
                let issues = body["issues"].as_array().expect("issues");
                assert!(!issues.is_empty());
                for i in issues {
                    assert!(
                        i["path"].is_string() && i["code"].is_string() && i["message"].is_string(),
                        "{i}"
                    );
                }
            }
        }
    }
});
