//! Fuzz the Dockerfile lexer and rewrite: never panic, tokens give every byte back,
//! fragments point at the bytes of their logical line, a rewrite keeps every newline
//! and is idempotent. The crate is a binary, so its pure modules are included by path.
#![no_main]
#![allow(dead_code)]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/dockerfile/mod.rs"]
mod dockerfile;
#[path = "../../src/endpoint.rs"]
mod endpoint;

fuzz_target!(|data: &[u8]| {
    let df = dockerfile::lexer::parse(data);
    let mut at = 0;
    for token in &df.tokens {
        assert_eq!(token.span.start, at, "tokens are contiguous");
        assert!(token.span.end > token.span.start, "no empty token");
        at = token.span.end;
    }
    assert_eq!(at, data.len(), "tokens cover the input");
    for inst in &df.instructions {
        for f in &inst.fragments {
            assert_eq!(
                &data[f.source..f.source + f.len],
                &inst.text[f.logical..f.logical + f.len]
            );
        }
    }

    let internal: endpoint::Endpoint = "192.168.0.1".parse().expect("endpoint");
    let external: endpoint::Endpoint = "192.168.1.50:5000".parse().expect("endpoint");
    for (from, to) in [(&internal, &external), (&external, &internal)] {
        let none = dockerfile::rewrite::BuildArgs::new();
        if let Some(out) = dockerfile::rewrite::retarget(data, from, to, &none).text {
            let newlines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
            assert_eq!(newlines(&out), newlines(data), "no line moves");
            assert!(
                dockerfile::rewrite::retarget(&out, from, to, &none).text.is_none(),
                "rewrite is idempotent"
            );
        }
    }
});
