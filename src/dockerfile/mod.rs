//! A lossless Dockerfile lexer/parser (BuildKit grammar) and the reference rewrite on top of it.
//!
//! [`lexer`] cuts a file into tokens that give every byte back and into BuildKit's logical
//! lines; [`words`] and [`shell`] reproduce how BuildKit splits and processes those lines;
//! [`reference`] decides whether a registry host is an endpoint; [`rewrite`] turns that
//! into byte edits. Nothing here does I/O, so the fuzz target can build it on its own
//! (it needs only `crate::endpoint`).
//!
//! # API
//!
//! [`rewrite::retarget`] (with [`rewrite::BuildArgs`] for `--build-arg` values) returns the
//! rewritten text and the references it had to leave alone ([`rewrite::Skipped`]).

pub(crate) mod expand;
pub(crate) mod lexer;
pub(crate) mod reference;
pub(crate) mod resolve;
pub(crate) mod rewrite;
pub(crate) mod shell;
pub(crate) mod text;
pub(crate) mod words;

#[cfg(test)]
mod props;
