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

/// `docker build` options that take a value as the next argument (docker CLI 20.10 to
/// 28 and buildx). Anything else starting with `-` is a switch or carries `=value`.
const VALUE_FLAGS: &[&str] = &[
    "--add-host",
    "--allow",
    "--annotation",
    "--attest",
    "--build-arg",
    "--build-context",
    "--builder",
    "--cache-from",
    "--cache-to",
    "--call",
    "--cgroup-parent",
    "--cpu-period",
    "--cpu-quota",
    "-c",
    "--cpu-shares",
    "--cpuset-cpus",
    "--cpuset-mems",
    "-f",
    "--file",
    "--iidfile",
    "--isolation",
    "--label",
    "-m",
    "--memory",
    "--memory-swap",
    "--metadata-file",
    "--network",
    "-o",
    "--output",
    "--platform",
    "--progress",
    "--provenance",
    "--sbom",
    "--secret",
    "--security-opt",
    "--shm-size",
    "--ssh",
    "-t",
    "--tag",
    "--target",
    "--ulimit",
];

/// What we read from `docker build`'s arguments.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parsed {
    /// Index in the arguments of the `-f` value, or of the `-f=…`/`-fX`/`--file=…`
    /// argument, and the text before the value in that argument.
    file_at: Option<(usize, String)>,
    file: Option<OsString>,
    /// Index and value of the context argument.
    context_at: Option<usize>,
    context: Option<OsString>,
    /// `--build-arg` values as given (`NAME=value` or `NAME`).
    build_args: Vec<String>,
    platform: Option<String>,
}

/// Find `-f`, the context and the build args, the way pflag reads them.
fn parse_docker_args(args: &[OsString]) -> anyhow::Result<Parsed> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    let mut flags_done = false;
    while i < args.len() {
        let arg = args[i].to_string_lossy();
        if flags_done || arg == "-" || !arg.starts_with('-') {
            if parsed.context.is_some() {
                return Err(anyhow!(
                    "docker build takes one context, got {} and {} — quote paths with spaces",
                    parsed
                        .context
                        .as_deref()
                        .unwrap_or_default()
                        .to_string_lossy(),
                    arg
                ));
            }
            parsed.context_at = Some(i);
            parsed.context = Some(args[i].clone());
            i += 1;
            continue;
        }
        if arg == "--" {
            flags_done = true;
            i += 1;
            continue;
        }
        // The flag name and, when in the same argument, its value.
        let (name, inline): (String, Option<(usize, String)>) = if arg.starts_with("--") {
            match arg.split_once('=') {
                Some((n, v)) => (n.to_string(), Some((i, v.to_string()))),
                None => (arg.to_string(), None),
            }
        } else {
            // Short flags: `-t x`, `-tx`, `-t=x`; a cluster of switches (`-q`) has no value.
            let name = arg.chars().take(2).collect::<String>();
            let rest = &arg[name.len()..];
            if rest.is_empty() || !VALUE_FLAGS.contains(&name.as_str()) {
                (name, None)
            } else {
                let rest = rest.strip_prefix('=').unwrap_or(rest);
                (name, Some((i, rest.to_string())))
            }
        };
        if !VALUE_FLAGS.contains(&name.as_str()) {
            i += 1;
            continue;
        }
        let (at, value) = match inline {
            Some(pair) => {
                i += 1;
                pair
            }
            None => {
                let Some(value) = args.get(i + 1) else {
                    return Err(anyhow!("docker build option {name} needs a value"));
                };
                i += 2;
                (i - 1, value.to_string_lossy().into_owned())
            }
        };
        match name.as_str() {
            "-f" | "--file" => {
                let whole = args[at].to_string_lossy();
                let prefix = whole[..whole.len() - value.len()].to_string();
                parsed.file = Some(if prefix.is_empty() {
                    args[at].clone()
                } else {
                    OsString::from(&value)
                });
                parsed.file_at = Some((at, prefix));
            }
            "--build-arg" => parsed.build_args.push(value),
            "--platform" => parsed.platform = Some(value),
            _ => {}
        }
    }
    if parsed.context.is_none() {
        return Err(anyhow!(
            "docker build needs a context, e.g. `docker dcosreg build -t app .`"
        ));
    }
    Ok(parsed)
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
    if let Some(file) = &parsed.file {
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

fn docker() -> Command {
    let mut cmd = Command::new(docker_program());
    cmd.args(plugin::docker_global_flags());
    cmd
}

/// Fail early, in one line, when there is no docker CLI or no daemon behind it.
fn check_daemon(limit: Duration) -> anyhow::Result<()> {
    let program = docker_program();
    let mut child = docker()
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
                humantime::format_duration(limit)
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
        check_daemon(config.timeout.value)?;
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

/// `docker build`'s arguments with the Dockerfile swapped for the copy, if there is one.
fn docker_build_args(given: &[OsString], parsed: &Parsed, copy: Option<&Path>) -> Vec<OsString> {
    let mut build_args: Vec<OsString> = given.to_vec();
    if let Some(path) = copy {
        match &parsed.file_at {
            Some((at, prefix)) => {
                let mut arg = OsString::from(prefix);
                arg.push(path);
                build_args[*at] = arg;
            }
            None => {
                let at = parsed.context_at.unwrap_or(build_args.len());
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
    let globals: Vec<String> = plugin::docker_global_flags()
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
            .status(docker().args(pull).stdin(Stdio::null()))
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
        .status(docker().arg("build").args(build_args))
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
        assert_eq!(p.file_at, Some((6, String::new())));
        assert_eq!(
            (p.context_at, p.context.as_deref()),
            (Some(9), Some(OsStr::new("ctx")))
        );
        assert_eq!(p.build_args, ["A=1", "B"]);
        assert_eq!(p.platform.as_deref(), Some("linux/amd64"));

        let p = parse_docker_args(&os(&["-fX.df", "-q", "."])).unwrap();
        assert_eq!(p.file.as_deref(), Some(OsStr::new("X.df")));
        assert_eq!(p.file_at, Some((0, "-f".to_string())));
        let p = parse_docker_args(&os(&["--file=Y", "-"])).unwrap();
        assert_eq!(p.file.as_deref(), Some(OsStr::new("Y")));
        assert_eq!(p.context.as_deref(), Some(OsStr::new("-")));

        assert!(parse_docker_args(&os(&["-t", "x"])).is_err());
        assert!(parse_docker_args(&os(&["a", "b"])).is_err());
        assert!(parse_docker_args(&os(&["--tag"])).is_err());
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
