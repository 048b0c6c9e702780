//! A lossless Dockerfile lexer/parser (BuildKit grammar) and the reference rewrite on top of it.
