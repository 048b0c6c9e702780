//! `build`: `docker build` with the Dockerfile's references pointed at the endpoint this
//! machine reaches, without editing the file.
//!
//! The arguments after our own flags belong to `docker build` and reach it unchanged; we
//! only read from them what we need (the Dockerfile, the context, `--build-arg`,
//! `--platform`) and swap the Dockerfile for a rewritten copy. The copy keeps the
//! original's file name inside a private temporary directory, next to a copy of its
//! per-Dockerfile ignore file (`<name>.dockerignore`, which BuildKit reads from the
//! Dockerfile's directory before the context's `.dockerignore`), so the build sends exactly
//! the same context. The base images that name an endpoint are pulled through the daemon
//! first: dockerd's embedded BuildKit only sees a certs.d directory that existed when the
//! daemon started, while `docker pull` reads certs.d on every pull, and BuildKit then uses
//! the local image. The `docker` run is the one that ran us (Docker tells plugins) or the
//! one on PATH, with the user's docker global options (`-H`, `--context`, …) and
//! `DOCKER_HOST` left to it.
//!
//! The copy may hold what the original's mode kept private (a 0600 Dockerfile on a shared
//! agent), so its directory is 0700 and its files 0600 from the moment they exist. It lives
//! exactly as long as the run: SIGINT, SIGTERM and SIGHUP are passed on to the docker child
//! that is running, and once it has ended the copy is removed and the exit status is 128 + the
//! signal's number, as a shell reports a command a signal ended.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use serde::Serialize;

use crate::cli::BuildArgs;
use crate::config::Config;
use crate::dockerfile::{endpoint_domain_len, pulled_images, retarget, BuildArgs as ArgValues};
use crate::endpoint::Endpoint;
use crate::exit::{ExitStatus, Stop};
use crate::output::Printer;
use crate::plugin;
use crate::text::shell_quote;

/// A Dockerfile larger than this is not a Dockerfile.
const MAX_DOCKERFILE: u64 = 16 << 20;

/// `docker build`'s long flags that take a value, as the next argument or after `=`: the
/// union of docker/cli's classic builder (`cli/command/image/build.go`, docker 20.10 to 28)
/// and buildx's `build` (`commands/build.go` and its root flags, 0.10 to now). pflag reads
/// them the same way in both.
const LONG_VALUE: &[&str] = &[
    "add-host",
    "allow",
    "annotation",
    "attest",
    "build-arg",
    "build-context",
    "builder",
    "cache-from",
    "cache-to",
    "call",
    "cgroup-parent",
    "cpu-period",
    "cpu-quota",
    "cpu-shares",
    "cpuset-cpus",
    "cpuset-mems",
    "file",
    "iidfile",
    "invoke",
    "isolation",
    "label",
    "memory",
    "memory-swap",
    "metadata-file",
    "network",
    "no-cache-filter",
    "output",
    "platform",
    "policy",
    "print",
    "progress",
    "provenance",
    "resource",
    "root",
    "sbom",
    "secret",
    "security-opt",
    "server-config",
    "shm-size",
    "ssh",
    "tag",
    "target",
    "ulimit",
];

/// Long flags that take no value unless it follows `=` (booleans, and buildx's `--check`,
/// whose value is optional).
const LONG_SWITCH: &[&str] = &[
    "check",
    "compress",
    "debug",
    "detach",
    "disable-content-trust",
    "force-rm",
    "help",
    "load",
    "no-cache",
    "pull",
    "push",
    "quiet",
    "rm",
    "squash",
    "stream",
];

/// This command's own long flags, and whether each takes a value: after `build`, the first
/// argument of docker's starts docker's arguments, so one of these found among them was
/// meant for us (neither `docker build` nor buildx has them) and is refused with the order
/// that works. `--root` is not here: buildx has a `--root` of its own.
const OURS: &[(&str, bool)] = &[
    ("to", true),
    ("dry-run", false),
    ("internal", true),
    ("external", true),
    ("timeout", true),
    ("fallback-delay", true),
    ("format", true),
    ("config", true),
];

/// Shorthands: `-f`, `-t`, `-c`, `-m`, `-o` take a value; `-q`, `-D` (buildx's debug) and
/// `-h` do not.
const SHORT_VALUE: &[u8] = b"ftcmo";
const SHORT_SWITCH: &[u8] = b"qDh";

/// How a flag reads its value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    Value,
    Switch,
    /// Not in the tables (a newer docker or buildx): passed on as given; see [`unknown_takes_next`].
    Unknown,
}

fn long_takes(name: &[u8]) -> Takes {
    if LONG_VALUE.iter().any(|f| f.as_bytes() == name) {
        Takes::Value
    } else if LONG_SWITCH.iter().any(|f| f.as_bytes() == name) {
        Takes::Switch
    } else {
        Takes::Unknown
    }
}

fn short_takes(c: u8) -> Takes {
    if SHORT_VALUE.contains(&c) {
        Takes::Value
    } else if SHORT_SWITCH.contains(&c) {
        Takes::Switch
    } else {
        Takes::Unknown
    }
}

/// Where the Dockerfile's name is in the arguments: argument `at`, after its first
/// `prefix` bytes (`-f X`: the `X` argument, 0; `--file=X`: 7; `-qfX`: 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileAt {
    at: usize,
    prefix: usize,
}

/// What we read from `docker build`'s arguments.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parsed {
    /// The last `-f`/`--file` (pflag keeps the last one) and its value.
    file_at: Option<FileAt>,
    file: Option<OsString>,
    /// Index and value of the context argument.
    context_at: Option<usize>,
    context: Option<OsString>,
    /// Index of `--`, when the context comes after it.
    dashdash_at: Option<usize>,
    /// `--build-arg` values as given (`NAME=value` or `NAME`).
    build_args: Vec<String>,
    platform: Option<String>,
    /// Our own flags found among docker's arguments: index and number of words.
    ours: Vec<(usize, usize)>,
}

impl Parsed {
    fn value(&mut self, name: &[u8], value: &[u8], at: FileAt) {
        match name {
            b"f" | b"file" => {
                self.file = Some(OsString::from_vec(value.to_vec()));
                self.file_at = Some(at);
            }
            b"build-arg" => self
                .build_args
                .push(String::from_utf8_lossy(value).into_owned()),
            b"platform" => self.platform = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {}
        }
    }
}

/// A flag we do not know, without `=value`: does it take the next word? Not when that word
/// is a flag, or reads as the build context (an existing directory, `.`, `-`, a URL), or is
/// the last word while no context has been seen (it can only be the context then).
fn unknown_takes_next(next: &OsStr, is_last: bool, context_seen: bool) -> bool {
    let bytes = next.as_bytes();
    if bytes.len() > 1 && bytes[0] == b'-' {
        return false;
    }
    if is_last && !context_seen {
        return false;
    }
    let text = next.to_string_lossy();
    !(bytes == b"-"
        || bytes == b"."
        || bytes == b".."
        || is_remote_context(&text)
        || Path::new(next).is_dir())
}

/// Find `-f`, the context and the build args the way pflag (docker's and buildx's flag
/// parser) reads them: flags anywhere (before or after the context), `--` ends them,
/// `--name value` and `--name=value`, shorthands alone (`-t x`, `-tx`, `-t=x`) or combined
/// (`-qt x`, `-qfX`), `-` and the empty word are positional.
fn parse_docker_args(args: &[OsString]) -> anyhow::Result<Parsed> {
    let mut parsed = Parsed::default();
    let mut dashdash = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_bytes();
        if dashdash.is_some() || arg.len() < 2 || arg[0] != b'-' {
            parsed.positional(args, i, dashdash)?;
            i += 1;
            continue;
        }
        if arg == b"--" {
            dashdash = Some(i);
            i += 1;
            continue;
        }
        let next = args.get(i + 1);
        let is_last = i + 2 == args.len();
        // Whether the flag in this argument takes the next one as its value.
        let takes_next = match arg.strip_prefix(b"--") {
            Some(body) => match parsed.long_flag(i, body, next, is_last) {
                Long::Ours(words) => {
                    i += words;
                    continue;
                }
                Long::TakesNext(name) => Some(name),
                Long::Done => None,
            },
            None => parsed.short_flags(i, arg, next, is_last),
        };
        match takes_next {
            None => i += 1,
            Some(name) => {
                let Some(value) = next else {
                    return Err(anyhow!(
                        "docker build option {} needs a value",
                        args[i].to_string_lossy()
                    ));
                };
                let at = FileAt {
                    at: i + 1,
                    prefix: 0,
                };
                parsed.value(name, value.as_bytes(), at);
                i += 2;
            }
        }
    }
    parsed.finish(args)
}

/// What one `--long` argument is.
enum Long<'a> {
    /// One of ours, of this many words.
    Ours(usize),
    /// A flag whose value is the next word (its name; empty for an unknown flag).
    TakesNext(&'a [u8]),
    /// Read whole (a switch, `--name=value`).
    Done,
}

impl Parsed {
    /// The context, the one positional argument.
    fn positional(
        &mut self,
        args: &[OsString],
        i: usize,
        dashdash: Option<usize>,
    ) -> anyhow::Result<()> {
        if let Some(first) = &self.context {
            return Err(anyhow!(
                "docker build takes one context, got {} and {} — quote paths with spaces",
                first.to_string_lossy(),
                args[i].to_string_lossy()
            ));
        }
        self.context_at = Some(i);
        self.context = Some(args[i].clone());
        self.dashdash_at = dashdash;
        Ok(())
    }

    /// `--name`, `--name=value` or one of our own flags, at argument `i`.
    fn long_flag<'a>(
        &mut self,
        i: usize,
        body: &'a [u8],
        next: Option<&OsString>,
        is_last: bool,
    ) -> Long<'a> {
        let (name, inline) = match body.iter().position(|&b| b == b'=') {
            Some(eq) => (&body[..eq], Some(eq + 1)),
            None => (body, None),
        };
        if let Some(&(_, value)) = OURS.iter().find(|(ours, _)| ours.as_bytes() == name) {
            let words = if value && inline.is_none() && next.is_some() {
                2
            } else {
                1
            };
            self.ours.push((i, words));
            return Long::Ours(words);
        }
        match (long_takes(name), inline) {
            (Takes::Value, Some(eq)) => {
                let at = FileAt {
                    at: i,
                    prefix: 2 + eq,
                };
                self.value(name, &body[eq..], at);
                Long::Done
            }
            (Takes::Value, None) => Long::TakesNext(name),
            (Takes::Unknown, None)
                if next.is_some_and(|n| unknown_takes_next(n, is_last, self.context.is_some())) =>
            {
                Long::TakesNext(b"")
            }
            _ => Long::Done,
        }
    }

    /// pflag's parseSingleShortArg, letter by letter, on argument `i`: the name of the
    /// flag that takes the next word, if one does.
    fn short_flags<'a>(
        &mut self,
        i: usize,
        arg: &'a [u8],
        next: Option<&OsString>,
        is_last: bool,
    ) -> Option<&'a [u8]> {
        let mut j = 1;
        while j < arg.len() {
            let c = arg[j];
            let rest = &arg[j + 1..];
            match short_takes(c) {
                // `-q=false` is one flag and its value.
                Takes::Switch if rest.len() >= 2 && rest[0] == b'=' => return None,
                Takes::Switch => j += 1,
                Takes::Value => {
                    let name = &arg[j..=j];
                    if rest.len() >= 2 && rest[0] == b'=' {
                        let at = FileAt {
                            at: i,
                            prefix: j + 2,
                        };
                        self.value(name, &rest[1..], at);
                    } else if !rest.is_empty() {
                        let at = FileAt {
                            at: i,
                            prefix: j + 1,
                        };
                        self.value(name, rest, at);
                    } else {
                        return Some(name);
                    }
                    return None;
                }
                Takes::Unknown => {
                    // What follows in the word is its value or more switches: either way
                    // not ours. At the word's end it may take the next word.
                    let takes = rest.is_empty()
                        && next.is_some_and(|n| {
                            unknown_takes_next(n, is_last, self.context.is_some())
                        });
                    return takes.then_some(b"".as_slice());
                }
            }
        }
        None
    }

    /// The whole command line read: our flags among docker's are a mistake to name, and
    /// a context is required.
    fn finish(self, args: &[OsString]) -> anyhow::Result<Parsed> {
        if !self.ours.is_empty() {
            return Err(misplaced(args, &self.ours));
        }
        if self.context.is_none() {
            return Err(anyhow!(
                "docker build needs a context, e.g. `{} build -t app .`",
                plugin::bin_name()
            ));
        }
        Ok(self)
    }
}

/// Our flags after docker's arguments: name them, and give the command line with them
/// moved in front, which runs as printed.
fn misplaced(args: &[OsString], ours: &[(usize, usize)]) -> anyhow::Error {
    let quote = |arg: &OsString| shell_quote(&arg.to_string_lossy());
    let is_ours = |i: usize| ours.iter().any(|&(at, n)| (at..at + n).contains(&i));
    let moved: Vec<String> = ours
        .iter()
        .flat_map(|&(at, n)| args[at..at + n].iter().map(quote))
        .collect();
    let rest = args
        .iter()
        .enumerate()
        .filter(|&(i, _)| !is_ours(i))
        .map(|(_, arg)| quote(arg));
    let command: Vec<String> = [plugin::bin_name().to_string(), "build".into()]
        .into_iter()
        .chain(moved.iter().cloned())
        .chain(rest)
        .collect();
    anyhow!(
        "{} came after docker build's arguments, where it would go to docker — this command's own flags (--to, --dry-run, the global ones) come first: {}",
        moved.join(" "),
        command.join(" ")
    )
}

/// Where the Dockerfile comes from.
#[derive(Debug, PartialEq, Eq)]
enum Source {
    Path(PathBuf),
    Stdin,
}

/// docker/cli `build.GetContextFromLocalDir`: `-f` is relative to the working directory;
/// without it, `Dockerfile` (or `dockerfile`) in the context directory.
fn dockerfile_source(parsed: &Parsed) -> anyhow::Result<Source> {
    let context = parsed.context.as_deref().unwrap_or_default();
    if let Some(file) = &parsed.file {
        if file == "-" {
            if context == "-" {
                return Err(anyhow!(
                    "the Dockerfile and the context cannot both come from stdin"
                ));
            }
            return Ok(Source::Stdin);
        }
    }
    let ctx = context.to_string_lossy();
    if context == "-" || is_remote_context(&ctx) {
        return Err(anyhow!(
            "the Dockerfile is inside the context {ctx}, which this command cannot rewrite — build from a local checkout, or run `docker dcosreg rewrite` on it first"
        ));
    }
    // `--file=` is docker's default, the context's Dockerfile.
    if let Some(file) = parsed.file.as_ref().filter(|f| !f.is_empty()) {
        return Ok(Source::Path(PathBuf::from(file)));
    }
    let dir = Path::new(context);
    let upper = dir.join("Dockerfile");
    let lower = dir.join("dockerfile");
    Ok(Source::Path(if !upper.exists() && lower.exists() {
        lower
    } else {
        upper
    }))
}

/// docker/cli `urlutil.IsGitURL`/`IsURL`: contexts fetched by the daemon or BuildKit.
fn is_remote_context(context: &str) -> bool {
    context.starts_with("http://")
        || context.starts_with("https://")
        || context.starts_with("git://")
        || context.starts_with("git@")
        || context.starts_with("github.com/")
}

fn read_dockerfile(source: &Source) -> anyhow::Result<Vec<u8>> {
    let mut data = Vec::new();
    match source {
        Source::Stdin => {
            std::io::stdin()
                .lock()
                .take(MAX_DOCKERFILE + 1)
                .read_to_end(&mut data)
                .context("cannot read the Dockerfile from stdin")?;
        }
        Source::Path(path) => {
            let meta = fs::metadata(path).map_err(|e| {
                anyhow!(
                    "cannot read the Dockerfile {}: {} — check -f/--file and the context",
                    path.display(),
                    match e.kind() {
                        std::io::ErrorKind::NotFound => "no such file".to_string(),
                        _ => e.to_string(),
                    }
                )
            })?;
            if !meta.is_file() {
                return Err(anyhow!(
                    "the Dockerfile {} is not a regular file — name a file with -f",
                    path.display()
                ));
            }
            fs::File::open(path)
                .and_then(|f| f.take(MAX_DOCKERFILE + 1).read_to_end(&mut data))
                .with_context(|| format!("cannot read the Dockerfile {}", path.display()))?;
        }
    }
    if data.len() as u64 > MAX_DOCKERFILE {
        return Err(anyhow!(
            "the Dockerfile is larger than {} MiB — is -f the right file?",
            MAX_DOCKERFILE >> 20
        ));
    }
    Ok(data)
}

/// `--build-arg` as the docker CLI sends them: `NAME=value`, or `NAME` with the value
/// from the environment (left out when the environment has none).
fn arg_values(build_args: &[String]) -> ArgValues {
    build_args
        .iter()
        .filter_map(|arg| match arg.split_once('=') {
            Some((name, value)) => Some((name.to_string(), value.to_string())),
            None => std::env::var(arg).ok().map(|value| (arg.clone(), value)),
        })
        .collect()
}

/// The images the build pulls that name `endpoint`, resolved as BuildKit does with the
/// build args (`# syntax=`, `FROM`, `COPY --from`, `--mount from=`).
fn images_naming(src: &[u8], build_args: &[String], endpoint: &Endpoint) -> Vec<String> {
    pulled_images(src, &arg_values(build_args))
        .into_iter()
        .filter(|image| endpoint_domain_len(image.as_bytes(), endpoint).is_some())
        .collect()
}

/// The Dockerfile handed to docker build: same name, private directory, its ignore file.
struct Copy {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

/// The copy keeps the original's file name: BuildKit finds `<name>.dockerignore` by it.
fn copy_name(source: &Source) -> OsString {
    match source {
        Source::Path(path) => path
            .file_name()
            .map_or_else(|| OsString::from("Dockerfile"), OsStr::to_os_string),
        Source::Stdin => OsString::from("Dockerfile"),
    }
}

fn write_copy(source: &Source, content: &[u8]) -> anyhow::Result<Copy> {
    // 0700 as mkdir(2) creates it, not chmod'ed afterwards: no moment where another user
    // can open the directory.
    let dir = tempfile::Builder::new()
        .prefix("dcosreg-build-")
        .permissions(fs::Permissions::from_mode(0o700))
        .tempdir()
        .context(
            "cannot create a temporary directory for the rewritten Dockerfile — check TMPDIR",
        )?;
    let name = copy_name(source);
    let path = dir.path().join(&name);
    write_private(&path, &mut &content[..])
        .with_context(|| format!("cannot write the rewritten Dockerfile {}", path.display()))?;
    if let Source::Path(original) = source {
        let mut ignore_name = name.clone();
        ignore_name.push(".dockerignore");
        let ignore = original.with_file_name(&ignore_name);
        if ignore.is_file() {
            fs::File::open(&ignore)
                .and_then(|mut from| write_private(&dir.path().join(&ignore_name), &mut from))
                .with_context(|| format!("cannot copy {}", ignore.display()))?;
        }
    }
    Ok(Copy { _dir: dir, path })
}

/// A new file at `path`, mode 0600 from its creation (`fs::copy` would take the source's
/// mode), holding what `from` reads.
fn write_private(path: &Path, from: &mut impl Read) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    std::io::copy(from, &mut file)?;
    file.flush()
}

/// How a docker child run under [`Forwarder`] ended.
enum Ended {
    Exited(std::process::ExitStatus),
    /// We caught this signal (and passed it on to the child, if one was running).
    Signalled(i32),
}

impl Ended {
    /// A caught signal is reported as a shell would: 128 + its number.
    fn status(&self) -> ExitStatus {
        match self {
            Ended::Exited(status) => exit_of(*status),
            Ended::Signalled(signal) => ExitStatus::Child(u8::try_from(128 + signal).unwrap_or(1)),
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP while the docker children run: caught (their default action
/// would end us and leave the copy behind), passed on to the running child, and
/// remembered, so that no further child starts. The first one caught decides the status.
/// A Ctrl-C on a terminal reaches docker twice (the terminal signals the whole foreground
/// process group, and we pass it on): the docker CLI cancels on the first and exits at once
/// only on a third, so that costs nothing a second Ctrl-C would not.
struct Forwarder {
    state: Arc<Mutex<Forwarding>>,
    handle: signal_hook::iterator::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Forwarding {
    /// The running child, not yet reaped (so its pid cannot belong to anyone else).
    child: Option<rustix::process::Pid>,
    caught: Option<i32>,
}

impl Forwarder {
    fn start() -> anyhow::Result<Forwarder> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            .context("cannot catch SIGINT/SIGTERM/SIGHUP for docker build")?;
        let handle = signals.handle();
        let state = Arc::new(Mutex::new(Forwarding::default()));
        let shared = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            for signal in signals.forever() {
                let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
                state.caught.get_or_insert(signal);
                let named = rustix::process::Signal::from_named_raw(signal);
                if let (Some(pid), Some(named)) = (state.child, named) {
                    // It may have exited already (a zombie until reaped): nothing to do then.
                    let _ = rustix::process::kill_process(pid, named);
                }
            }
        });
        Ok(Forwarder {
            state,
            handle,
            thread: Some(thread),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Forwarding> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run `command` to its end; a signal caught before it starts means it does not.
    fn status(&self, command: &mut Command) -> std::io::Result<Ended> {
        let mut child = {
            let mut state = self.lock();
            if let Some(signal) = state.caught {
                return Ok(Ended::Signalled(signal));
            }
            let child = command.spawn()?;
            state.child = Some(rustix::process::Pid::from_child(&child));
            child
        };
        // Wait for its end without reaping it: its pid stays its own until no signal can be
        // sent to it any more.
        let pid = rustix::process::Pid::from_child(&child);
        loop {
            match rustix::process::waitid(
                rustix::process::WaitId::Pid(pid),
                rustix::process::WaitIdOptions::EXITED | rustix::process::WaitIdOptions::NOWAIT,
            ) {
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
                Ok(_) => break,
            }
        }
        let caught = {
            let mut state = self.lock();
            state.child = None;
            state.caught
        };
        let status = child.wait()?;
        Ok(match caught {
            Some(signal) => Ended::Signalled(signal),
            None => Ended::Exited(status),
        })
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The docker CLI to run: the one that ran us as a plugin, else `docker` on PATH.
fn docker_program() -> OsString {
    std::env::var_os("DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| OsString::from("docker"))
}

/// The docker CLI with docker's own global options (`docker -H … dcosreg build`), so it
/// talks to the daemon the user chose.
fn docker(flags: &[OsString]) -> Command {
    let mut cmd = Command::new(docker_program());
    cmd.args(flags);
    cmd
}

/// Fail early, in one line, when there is no docker CLI or no daemon behind it.
fn check_daemon(flags: &[OsString], limit: Duration) -> anyhow::Result<()> {
    let program = docker_program();
    let mut child = docker(flags)
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => anyhow!(
                "no docker CLI: `{}` is not on PATH — install the Docker CLI",
                program.to_string_lossy()
            ),
            _ => anyhow!("cannot run {}: {e}", program.to_string_lossy()),
        })?;
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(anyhow!(
                "the Docker daemon did not answer `docker version` within {} — is dockerd running? (DOCKER_HOST, --host, docker context)",
                crate::text::duration(limit)
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if status.success() {
        return Ok(());
    }
    let mut err = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.by_ref().take(64 << 10).read_to_string(&mut err);
    }
    let reason = err
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("docker version failed");
    Err(anyhow!(
        // main says it through the printer's sanitising.
        "the Docker daemon is not reachable: {reason} — start dockerd or point DOCKER_HOST/--host at it"
    ))
}

/// `build --dry-run --format json`.
#[derive(Serialize)]
struct Plan {
    from: String,
    to: String,
    /// Whether the Dockerfile names `from` (and a rewritten copy is used).
    rewritten: bool,
    pulls: Vec<Vec<String>>,
    build: Vec<String>,
    /// Docker's global options, in front of every docker command.
    #[serde(skip)]
    docker_flags: Vec<OsString>,
}

pub(crate) fn run(
    config: &Config,
    args: &BuildArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    if printer.is_json() && !args.dry_run {
        return Err(anyhow!(
            "build --format json needs --dry-run: docker build's output is text"
        ));
    }
    let parsed = parse_docker_args(&args.docker_args)?;
    let source = dockerfile_source(&parsed)?;
    let original = read_dockerfile(&source)?;
    if !args.dry_run {
        check_daemon(&config.docker_flags, config.timeout.value)?;
    }
    let (from, to) = super::rewrite::direction(config, args.to, printer)?;
    let outcome = retarget(&original, &from, &to, &arg_values(&parsed.build_args));
    for skipped in &outcome.skipped {
        printer.warn(format!(
            "line {}: {} still names {from}: {}",
            skipped.line, skipped.reference, skipped.reason
        ));
    }
    // A build that would pull from the endpoint this machine should not use is not started.
    if !outcome.skipped.is_empty() {
        return Err(Stop::new(
            ExitStatus::No,
            format!(
                "build not started: {} reference(s) would still pull from {from} (see above) — write them with the {to} spelling by hand, then build again",
                outcome.skipped.len()
            ),
        )
        .into());
    }
    let rewritten = outcome.text;
    let content = rewritten.as_deref().unwrap_or(&original);
    for image in images_naming(content, &parsed.build_args, &from) {
        printer.warn(format!(
            "{image} names {from} through a --build-arg, which is passed to docker build unchanged — pass the {to} spelling"
        ));
    }
    let images = images_naming(content, &parsed.build_args, &to);

    // A copy is needed when the file changed, or when docker would read it from stdin
    // (stdin was consumed above).
    let needs_copy = rewritten.is_some() || source == Source::Stdin;
    // Caught from before the copy exists until it is removed.
    let forwarder = if args.dry_run {
        None
    } else {
        Some(Forwarder::start()?)
    };
    // --dry-run writes nothing: it shows where the copy would go.
    let copy = if needs_copy && !args.dry_run {
        Some(write_copy(&source, content)?)
    } else {
        None
    };
    let copy_path = match &copy {
        Some(copy) => Some(copy.path.clone()),
        None if needs_copy => Some(
            std::env::temp_dir()
                .join("dcosreg-build-XXXXXX")
                .join(copy_name(&source)),
        ),
        None => None,
    };
    let build_args = docker_build_args(&args.docker_args, &parsed, copy_path.as_deref());
    let plan = Plan {
        from: from.reference_host(),
        to: to.reference_host(),
        rewritten: rewritten.is_some(),
        pulls: images.iter().map(|i| pull_args(&parsed, i)).collect(),
        build: std::iter::once("build".to_string())
            .chain(build_args.iter().map(|a| a.to_string_lossy().into_owned()))
            .collect(),
        docker_flags: config.docker_flags.clone(),
    };
    let Some(forwarder) = forwarder else {
        printer.report(&plan, |printer| {
            print_plan(printer, &plan, &original, rewritten.as_deref())
        })?;
        return Ok(ExitStatus::Success);
    };
    let status = pull_and_build(printer, &forwarder, &plan, &images, &build_args);
    drop(copy);
    status
}

/// `docker build`'s arguments with the Dockerfile swapped for the copy, if there is one:
/// the `-f` value replaced where it is, or `--file <copy>` added before the context (before
/// `--` when the context follows it). Nothing else changes.
fn docker_build_args(given: &[OsString], parsed: &Parsed, copy: Option<&Path>) -> Vec<OsString> {
    let mut build_args: Vec<OsString> = given.to_vec();
    if let Some(path) = copy {
        match parsed.file_at {
            Some(FileAt { at, prefix }) => {
                let mut arg = given[at].as_bytes()[..prefix].to_vec();
                arg.extend_from_slice(path.as_os_str().as_bytes());
                build_args[at] = OsString::from_vec(arg);
            }
            None => {
                let at = parsed
                    .dashdash_at
                    .or(parsed.context_at)
                    .unwrap_or(build_args.len());
                build_args.insert(at, path.as_os_str().to_owned());
                build_args.insert(at, OsString::from("--file"));
            }
        }
    }
    build_args
}

/// `docker pull` for one base image, on the build's platform when it names only one.
fn pull_args(parsed: &Parsed, image: &str) -> Vec<String> {
    let mut v = vec!["pull".to_string()];
    if let Some(platform) = &parsed.platform {
        if !platform.contains(',') {
            v.push(format!("--platform={platform}"));
        }
    }
    v.push(image.to_string());
    v
}

/// `--dry-run`: the changed lines as comments, then the commands that would run.
fn print_plan(
    printer: &Printer,
    plan: &Plan,
    original: &[u8],
    rewritten: Option<&[u8]>,
) -> std::io::Result<()> {
    let program = docker_program().to_string_lossy().into_owned();
    let globals: Vec<String> = plan
        .docker_flags
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let render = |args: &[String]| {
        std::iter::once(&program)
            .chain(globals.iter())
            .chain(args.iter())
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if let Some(new) = rewritten {
        for (line, (old, new)) in original
            .split(|&b| b == b'\n')
            .zip(new.split(|&b| b == b'\n'))
            .enumerate()
        {
            if old != new {
                printer.line(format!(
                    "# line {}: {} -> {}",
                    line + 1,
                    String::from_utf8_lossy(old).trim(),
                    String::from_utf8_lossy(new).trim()
                ))?;
            }
        }
    }
    // Commands to paste: shell-quoted words keep what they hold (Printer::block).
    for pull in &plan.pulls {
        printer.block(render(pull))?;
    }
    printer.block(render(&plan.build))
}

/// Pull each base image through the daemon, then run `docker build`; the status is the
/// failed pull's or the build's.
fn pull_and_build(
    printer: &Printer,
    forwarder: &Forwarder,
    plan: &Plan,
    images: &[String],
    build_args: &[OsString],
) -> anyhow::Result<ExitStatus> {
    for (image, pull) in images.iter().zip(&plan.pulls) {
        printer.say(format!("pulling base image {image} through the daemon"));
        let ended = forwarder
            .status(docker(&plan.docker_flags).args(pull).stdin(Stdio::null()))
            .with_context(|| format!("cannot run {}", docker_program().to_string_lossy()))?;
        let status = match ended {
            Ended::Exited(status) => status,
            Ended::Signalled(_) => return Ok(ended.status()),
        };
        if !status.success() {
            return Err(Stop::new(
                exit_of(status),
                format!(
                    "docker pull {image} failed — is the endpoint trusted? run `docker dcosreg check {}`",
                    plan.to
                ),
            )
            .into());
        }
    }
    let ended = forwarder
        .status(docker(&plan.docker_flags).arg("build").args(build_args))
        .with_context(|| format!("cannot run {}", docker_program().to_string_lossy()))?;
    Ok(ended.status())
}

/// The child's exit code; a child killed by a signal exits as a shell would show it.
fn exit_of(status: std::process::ExitStatus) -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitStatus::Child(u8::try_from(code).unwrap_or(1)),
        (None, Some(signal)) => ExitStatus::Child(u8::try_from(128 + signal).unwrap_or(1)),
        (None, None) => ExitStatus::Child(1),
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn finds_file_context_and_build_args_like_pflag() {
        let p = parse_docker_args(&os(&[
            "-t",
            "app:1",
            "--build-arg",
            "A=1",
            "--build-arg=B",
            "-f",
            "ci/Dockerfile",
            "--no-cache",
            "--platform=linux/amd64",
            "ctx",
        ]))
        .unwrap();
        assert_eq!(p.file.as_deref(), Some(OsStr::new("ci/Dockerfile")));
        assert_eq!(p.file_at, Some(FileAt { at: 6, prefix: 0 }));
        assert_eq!(
            (p.context_at, p.context.as_deref()),
            (Some(9), Some(OsStr::new("ctx")))
        );
        assert_eq!(p.build_args, ["A=1", "B"]);
        assert_eq!(p.platform.as_deref(), Some("linux/amd64"));

        let p = parse_docker_args(&os(&["-fX.df", "-q", "."])).unwrap();
        assert_eq!(p.file.as_deref(), Some(OsStr::new("X.df")));
        assert_eq!(p.file_at, Some(FileAt { at: 0, prefix: 2 }));
        let p = parse_docker_args(&os(&["--file=Y", "-"])).unwrap();
        assert_eq!(p.file.as_deref(), Some(OsStr::new("Y")));
        assert_eq!(p.context.as_deref(), Some(OsStr::new("-")));

        assert!(parse_docker_args(&os(&["-t", "x"])).is_err());
        // Our own flags after docker's: named, with the order that works.
        for (given, moved, fixed) in [
            (
                &["-t", "app", "--to", "external", "."][..],
                "--to external",
                "build --to external -t app .",
            ),
            (
                &["-t", "app", ".", "--dry-run", "--to=internal"],
                "--dry-run --to=internal",
                "build --dry-run --to=internal -t app .",
            ),
            (
                &["--label", "--to", "--internal", "127.0.0.1", "."],
                "--internal 127.0.0.1",
                "build --internal 127.0.0.1 --label --to .",
            ),
        ] {
            let err = parse_docker_args(&os(given)).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("{moved} came after docker build's arguments")),
                "{given:?}: {err}"
            );
            assert!(
                err.ends_with(&format!("come first: docker-dcosreg {fixed}")),
                "{err}"
            );
        }
        // After `--` every word is docker's.
        assert!(parse_docker_args(&os(&["--", "--to"])).is_ok());
        assert!(parse_docker_args(&os(&["a", "b"])).is_err());
        assert!(parse_docker_args(&os(&["--tag"])).is_err());
    }

    /// What `docker build` would get with the copy at `/tmp/copy/Dockerfile`, as strings.
    fn passed(args: &[&str]) -> Vec<String> {
        let given = os(args);
        let parsed = parse_docker_args(&given).unwrap();
        docker_build_args(&given, &parsed, Some(Path::new("/tmp/copy/Dockerfile")))
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn combined_shorthands_dashdash_and_unknown_flags_read_as_pflag_does() {
        // Was: `-q` read alone and `t`'s value taken for the context (exit 2).
        assert_eq!(
            passed(&["-qt", "app", "ctx"]),
            ["-qt", "app", "--file", "/tmp/copy/Dockerfile", "ctx"]
        );
        // Was: `--file` after `--`, where docker reads it as a second context.
        assert_eq!(
            passed(&["-t", "x", "--", "ctx"]),
            ["-t", "x", "--file", "/tmp/copy/Dockerfile", "--", "ctx"]
        );
        // Was: buildx's --no-cache-filter read as a switch, its value as the context.
        assert_eq!(
            passed(&["--no-cache-filter", "base", "ctx"]),
            [
                "--no-cache-filter",
                "base",
                "--file",
                "/tmp/copy/Dockerfile",
                "ctx"
            ]
        );
        assert_eq!(passed(&["-qfX", "ctx"]), ["-qf/tmp/copy/Dockerfile", "ctx"]);
        assert_eq!(
            passed(&["-qf=X", "ctx"]),
            ["-qf=/tmp/copy/Dockerfile", "ctx"]
        );
        assert_eq!(
            passed(&["--file=X", "--file", "Y", "ctx"]),
            ["--file=X", "--file", "/tmp/copy/Dockerfile", "ctx"],
            "the last -f is the one docker reads"
        );
        // `-q=false` is one switch with its value; `-tapp` a tag.
        let p = parse_docker_args(&os(&["-q=false", "-tapp", "ctx"])).unwrap();
        assert_eq!(p.context_at, Some(2));
        // Unknown flags: the next word is their value unless it is a flag, the only word
        // left for the context, or reads as a context (an existing directory, `.`, a URL).
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        for (args, context_at) in [
            (vec!["--future", "v", "ctx"], 2),
            (vec!["--future", "ctx"], 1),
            (vec!["--future", d, "-t", "x"], 1),
            (vec!["--future", ".", "-t", "x"], 1),
            (vec!["ctx", "--future", "v"], 0),
            (vec!["--future", "--no-cache", "ctx"], 2),
            (vec!["-X", "v", "ctx"], 2),
            (vec!["-Xv", "ctx"], 1),
            (vec!["--future=v", "ctx"], 1),
        ] {
            let p = parse_docker_args(&os(&args)).unwrap();
            assert_eq!(p.context_at, Some(context_at), "{args:?}");
        }
        // `-` and the empty word are positional; `--` makes flags of nothing after it.
        assert_eq!(parse_docker_args(&os(&["-"])).unwrap().context_at, Some(0));
        assert_eq!(parse_docker_args(&os(&[""])).unwrap().context_at, Some(0));
        let p = parse_docker_args(&os(&["--", "-weird"])).unwrap();
        assert_eq!(p.context.as_deref(), Some(OsStr::new("-weird")));
        assert!(parse_docker_args(&os(&["-qt"])).is_err());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// A flag's value: anything pflag would hand back whole in every spelling.
        fn value() -> impl Strategy<Value = String> {
            "[a-zA-Z0-9:/._,][a-zA-Z0-9=:/._,-]{0,8}"
        }

        /// One flag in one of the spellings docker accepts, with what it carries:
        /// (words, a build arg, a Dockerfile).
        fn flag() -> impl Strategy<Value = (Vec<String>, Option<String>, Option<String>)> {
            prop_oneof![
                prop::sample::select(vec![
                    "--no-cache",
                    "--rm=false",
                    "--check",
                    "-q",
                    "--pull",
                    "-D",
                    "--load"
                ])
                .prop_map(|f| (vec![f.to_string()], None, None)),
                (
                    prop::sample::select(vec![
                        "tag",
                        "no-cache-filter",
                        "label",
                        "platform",
                        "target",
                        "cpu-shares",
                        "future=x"
                    ]),
                    value()
                )
                    .prop_map(|(f, v)| (vec![format!("--{f}={v}")], None, None)),
                (
                    prop::sample::select(vec!["tag", "no-cache-filter", "secret", "builder"]),
                    value()
                )
                    .prop_map(|(f, v)| (vec![format!("--{f}"), v], None, None)),
                (
                    prop::sample::select(vec!["-t", "-qt", "-c", "-m", "-o", "-Dqo"]),
                    value(),
                    0..3usize
                )
                    .prop_map(|(f, v, form)| match form {
                        0 => (vec![f.to_string(), v], None, None),
                        1 => (vec![format!("{f}{v}")], None, None),
                        _ => (vec![format!("{f}={v}")], None, None),
                    }),
                (value(), any::<bool>()).prop_map(|(v, inline)| {
                    let words = if inline {
                        vec![format!("--build-arg={v}")]
                    } else {
                        vec!["--build-arg".to_string(), v.clone()]
                    };
                    (words, Some(v), None)
                }),
                (
                    prop::sample::select(vec!["-f", "--file", "-qf"]),
                    value(),
                    0..3usize
                )
                    .prop_map(|(f, v, form)| {
                        let words = match (form, f) {
                            (0, _) => vec![f.to_string(), v.clone()],
                            (1, "--file") => vec![format!("--file={v}")],
                            (1, _) => vec![format!("{f}{v}")],
                            _ if f == "--file" => vec![format!("--file={v}")],
                            _ => vec![format!("{f}={v}")],
                        };
                        (words, None, Some(v))
                    }),
            ]
        }

        proptest! {
            // Any command line docker accepts: we find the context, the build args and the
            // last -f; the arguments we pass on differ from it only in the Dockerfile, and
            // read back the same with the copy as the Dockerfile.
            #[test]
            fn only_the_dockerfile_changes_and_it_round_trips(
                flags in prop::collection::vec(flag(), 0..8),
                at in 0..9usize,
                dashdash in any::<bool>(),
                context in prop::sample::select(vec!["ctx", "-", "some dir", "a=b"]),
            ) {
                let mut words: Vec<String> = Vec::new();
                let mut build_args = Vec::new();
                let mut file = None;
                let at = at.min(flags.len());
                for (n, (flag, arg, f)) in flags.iter().enumerate() {
                    if n == at && !dashdash {
                        words.push(context.to_string());
                    }
                    words.extend(flag.iter().cloned());
                    build_args.extend(arg.clone());
                    if f.is_some() {
                        file.clone_from(f);
                    }
                }
                if dashdash {
                    words.push("--".to_string());
                }
                if dashdash || at == flags.len() {
                    words.push(context.to_string());
                }
                let given: Vec<OsString> = words.iter().map(OsString::from).collect();
                let parsed = parse_docker_args(&given).unwrap();
                prop_assert_eq!(parsed.context.as_deref(), Some(OsStr::new(context)));
                prop_assert_eq!(&parsed.build_args, &build_args);
                prop_assert_eq!(parsed.file.as_ref().map(|f| f.to_string_lossy()), file.as_deref().map(Into::into));

                let copy = Path::new("/tmp/dcosreg-build-x/Dockerfile");
                let out = docker_build_args(&given, &parsed, Some(copy));
                if file.is_some() {
                    prop_assert_eq!(out.len(), given.len());
                    let changed: Vec<usize> = (0..out.len()).filter(|&k| out[k] != given[k]).collect();
                    prop_assert!(changed.len() <= 1, "{:?} -> {:?}", given, out);
                } else {
                    let insert = out.iter().position(|a| a == "--file").unwrap();
                    let mut back = out.clone();
                    back.drain(insert..insert + 2);
                    prop_assert_eq!(&back, &given);
                    prop_assert_eq!(&out[insert + 1], copy.as_os_str());
                    // Right before the context, or before the `--` that precedes it.
                    let next = out[insert + 2].to_string_lossy();
                    prop_assert!(next == "--" || next == context, "{:?}", out);
                }
                let again = parse_docker_args(&out).unwrap();
                prop_assert_eq!(again.file.as_deref(), Some(copy.as_os_str()));
                prop_assert_eq!(again.context, parsed.context);
                prop_assert_eq!(again.build_args, parsed.build_args);
            }

            // Whatever the words: no panic, and when they are read, the only change is the
            // Dockerfile's value replaced or `--file <copy>` added.
            #[test]
            fn any_words_change_only_in_the_dockerfile(
                words in prop::collection::vec("(-{0,2}[a-zA-Z=-]{0,6})|([a-z./]{0,4})", 0..8),
            ) {
                let given: Vec<OsString> = words.iter().map(OsString::from).collect();
                if let Ok(parsed) = parse_docker_args(&given) {
                    let copy = Path::new("/c/Dockerfile");
                    let out = docker_build_args(&given, &parsed, Some(copy));
                    if out.len() == given.len() {
                        let changed: Vec<usize> = (0..out.len()).filter(|&k| out[k] != given[k]).collect();
                        prop_assert!(changed.len() <= 1, "{:?} -> {:?}", given, out);
                        prop_assert!(parsed.file_at.is_some());
                    } else {
                        let insert = out.iter().position(|a| a == "--file" ).unwrap();
                        let mut back = out.clone();
                        back.drain(insert..insert + 2);
                        prop_assert_eq!(back, given);
                    }
                }
            }
        }
    }

    #[test]
    fn remote_and_stdin_contexts_are_refused_with_a_reason() {
        let p = parse_docker_args(&os(&["https://example.invalid/repo.git"])).unwrap();
        assert!(dockerfile_source(&p)
            .unwrap_err()
            .to_string()
            .contains("cannot rewrite"));
        let p = parse_docker_args(&os(&["-f", "-", "-"])).unwrap();
        assert!(dockerfile_source(&p).is_err());
        let p = parse_docker_args(&os(&["-f", "-", "."])).unwrap();
        assert_eq!(dockerfile_source(&p).unwrap(), Source::Stdin);
    }

    #[test]
    fn base_images_follow_args_and_build_args() {
        let lb: Endpoint = "10.0.0.3:5000".parse().unwrap();
        let src = b"ARG REG=10.0.0.3:5000\nARG TAG\nFROM ${REG}/base/a:${TAG:-1} AS one\n\
FROM one\nFROM 10.0.0.3:5000/b\nCOPY --from=10.0.0.3:5000/c:2 /x /y\nFROM $UNDECLARED/x\nFROM busybox\n";
        assert_eq!(
            images_naming(src, &[], &lb),
            [
                "10.0.0.3:5000/base/a:1",
                "10.0.0.3:5000/b",
                "10.0.0.3:5000/c:2"
            ]
        );
        assert_eq!(
            images_naming(src, &["TAG=7".into(), "REG=docker.io".into()], &lb),
            ["10.0.0.3:5000/b", "10.0.0.3:5000/c:2"]
        );
        assert_eq!(
            images_naming(src, &["TAG=7".into()], &lb)[0],
            "10.0.0.3:5000/base/a:7"
        );
    }
}
