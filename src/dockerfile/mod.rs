//! A lossless Dockerfile lexer/parser (BuildKit grammar) and the reference rewrite on top of it.
//!
//! [`lexer`] cuts a file into tokens that give every byte back and into BuildKit's logical
//! lines; [`words`] reproduces how BuildKit cuts those lines into a command, flags and
//! arguments; [`shell`] is the one port of BuildKit's shell lexer (`ProcessWord` and
//! `ProcessWords`, with [`pattern`] for `${X#p}` and `${X/p/r}`, both over [`value`]'s words
//! and Go's rune classes): [`lexer`] finds heredocs
//! with it and [`resolve`] resolves values with it, keeping the source offset of every byte;
//! [`reference`] decides whether a registry host is an endpoint; [`rewrite`] turns that into
//! byte edits; [`files`] finds the Dockerfiles `rewrite` works on. Only [`files`] touches the
//! file system (it lists directories; contents are read by the caller).
//!
//! # API (for `rewrite` and `build`)
//! ```text
//! retarget(src: &[u8], from: &Endpoint, to: &Endpoint, &BuildArgs) -> Retarget
//! Retarget { text: Option<Vec<u8>>,          // None: no byte changes
//!            skipped: Vec<Skipped> }         // references BuildKit pulls from `from`, left alone
//! BuildArgs                                  // --build-arg NAME=VALUE, as BuildKit takes them
//! pulled_images(src: &[u8], &BuildArgs) -> Vec<String>   // every image BuildKit would pull
//! endpoint_domain_len(reference: &[u8], &Endpoint) -> Option<usize>  // names the endpoint?
//! inputs(paths: &[PathBuf]) -> Result<Vec<Input>>       // named files + Dockerfiles in dirs
//! Input { display: String, path: Option<PathBuf> }       // None: stdin (`-`, STDIN)
//! ```
//! Nothing here prints; `Skipped` carries text from the file: sanitize it before printing.

mod files;
mod lexer;
mod pattern;
mod reference;
mod resolve;
mod rewrite;
mod shell;
mod text;
mod value;
mod words;

pub(crate) use files::{inputs, Input, STDIN};
pub(crate) use reference::endpoint_domain_len;
pub(crate) use rewrite::{pulled_images, retarget, BuildArgs, Skipped};

/// The fuzz target's properties, which reach the submodules' internals.
#[cfg(any(test, fuzzing))]
pub(crate) mod fuzz;

#[cfg(test)]
mod props;
