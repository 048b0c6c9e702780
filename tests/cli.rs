//! The foundation: plugin handshake, the real docker CLI, configuration precedence,
//! endpoint parsing and exit statuses, driven through the built binary.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{assert_status, assert_status_for, dcosreg, stderr, stdout, Dcosreg};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn metadata_is_valid_and_matches_the_crate_version() {
    let out = dcosreg(&["docker-cli-plugin-metadata"]);
    assert_status(&out, 0);
    let meta = json(&stdout(&out));
    assert_eq!(meta["SchemaVersion"], "0.1.0");
    assert_eq!(meta["Version"], env!("CARGO_PKG_VERSION"));
    for key in ["Vendor", "ShortDescription"] {
        assert!(
            meta[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key} missing"
        );
    }
    // The project has no public home yet: name none rather than one that does not exist.
    assert!(
        meta.get("URL").is_none(),
        "URL names a repository that does not exist"
    );
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("plugin-metadata/metadata.json"),
    )
    .unwrap();
    assert_eq!(
        json(&source),
        meta,
        "the binary embeds plugin-metadata/metadata.json"
    );
}

#[test]
fn metadata_reads_no_config_and_ignores_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "internal = [oops\n").unwrap();
    let out = Dcosreg::new(["docker-cli-plugin-metadata"])
        .env("DCOSREG_CONFIG", &broken)
        .env("DCOSREG_INTERNAL", "http://nonsense")
        .env("DCOSREG_TIMEOUT", "never")
        .run();
    assert_status(&out, 0);
    assert!(stderr(&out).is_empty());
}

/// The handshake with stdout set up by `stdout` (a closed pipe, a full device…): its status.
fn metadata_status_with_stdout(stdout: Stdio) -> Option<i32> {
    let mut run = Dcosreg::new(["docker-cli-plugin-metadata"]);
    run.command().stdout(stdout).stderr(Stdio::null());
    let (mut child, _home) = run.spawn();
    support::wait_with_deadline(&mut child, Duration::from_secs(30))
        .status
        .code()
}

/// On Linux/glibc the handshake is answered before Rust's start-up (src/plugin.rs); it keeps
/// what that start-up arranges: a write that fails is status 2 (not a SIGPIPE death), and a
/// closed stdout is /dev/null (status 0).
#[test]
fn metadata_keeps_its_exit_status_when_stdout_fails() {
    // The pipe's only reader is `true`, which has exited: the closed end of `| true`.
    let mut reader = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let writer = reader.stdin.take().unwrap();
    reader.wait().unwrap();
    assert_eq!(
        metadata_status_with_stdout(writer.into()),
        Some(2),
        "a closed pipe"
    );
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    assert_eq!(
        metadata_status_with_stdout(full.into()),
        Some(2),
        "/dev/full"
    );
    let mut sh = Command::new("sh");
    sh.args(["-c", r#"exec "$0" docker-cli-plugin-metadata >&-"#])
        .arg(support::bin_path());
    let out = Dcosreg::via(sh).run();
    assert_status(&out, 0);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

/// What makes the handshake cheap to start (build.rs; benches/metadata.sh times it): no
/// libgcc_s to map. The binary is a PIE all the same (tests/hardening.rs).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_binary_is_linked_to_start_fast() {
    let out = Command::new(support::require_tool("readelf"))
        .arg("-d")
        .arg(support::bin_path())
        .output()
        .unwrap();
    assert_status(&out, 0);
    let dynamic = stdout(&out);
    assert!(
        dynamic.contains("[libc.so.6]") && !dynamic.contains("libgcc_s"),
        "{dynamic}"
    );
}

/// A HOME whose ~/.docker/cli-plugins holds this build as `docker-dcosreg`.
fn docker_home_with_plugin() -> tempfile::TempDir {
    support::require_tool("docker");
    let home = tempfile::tempdir().unwrap();
    let plugins = home.path().join(".docker/cli-plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(support::bin_path(), plugins.join("docker-dcosreg")).unwrap();
    home
}

/// The real docker CLI, which runs the plugin.
fn docker(home: &Path, args: &[&str]) -> std::process::Output {
    Dcosreg::via(Command::new("docker"))
        .args(args)
        .home(home)
        .env_remove("DOCKER_CONFIG")
        .run()
}

#[test]
fn the_real_docker_cli_lists_and_runs_the_plugin() {
    let home = docker_home_with_plugin();
    let listing = docker(home.path(), &["--help"]);
    let text = stdout(&listing) + &stderr(&listing);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("dcosreg"))
        .unwrap_or_else(|| panic!("docker --help does not list dcosreg:\n{text}"));
    assert!(line.contains("DC/OS"), "{line}");

    for help in [
        &["dcosreg", "--help"][..],
        &["help", "dcosreg"],
        &["dcosreg", "-h"],
    ] {
        let out = docker(home.path(), help);
        assert_status_for(&out, 0, format_args!("docker {help:?}"));
        let text = stdout(&out);
        assert!(
            text.contains("Usage: docker dcosreg"),
            "docker {help:?} showed:\n{text}"
        );
        assert!(
            text.contains("rewrite"),
            "our command list is shown:\n{text}"
        );
    }

    let out = docker(
        home.path(),
        &[
            "dcosreg",
            "config",
            "--internal",
            "127.0.0.9",
            "--format",
            "json",
        ],
    );
    assert_status(&out, 0);
    let report = json(&stdout(&out));
    assert_eq!(report["settings"][0]["value"], "127.0.0.9");
    assert_eq!(report["settings"][0]["source"], "flag");

    let out = docker(
        home.path(),
        &["dcosreg", "--internal", "http://x", "config"],
    );
    assert_status(&out, 2);
}

/// `version` as `docker buildx version` has it: through the docker CLI too, in JSON, and
/// without reading a configuration that could be broken.
#[test]
fn version_prints_the_crate_version_through_docker_too() {
    let expected = format!("docker-dcosreg {}", env!("CARGO_PKG_VERSION"));
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "internal = [oops\n").unwrap();
    for args in [&["version"][..], &["dcosreg", "version"]] {
        let out = Dcosreg::new(args).env("DCOSREG_CONFIG", &broken).run();
        assert_status_for(&out, 0, format_args!("{args:?}"));
        let text = stdout(&out);
        assert!(text.starts_with(&expected), "{args:?}: {text}");
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    }
    let out = dcosreg(&["version", "--format", "json"]);
    assert_status(&out, 0);
    let report = json(&stdout(&out));
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));
    match report.get("commit") {
        None => {}
        Some(commit) => assert!(commit.as_str().is_some_and(|c| !c.is_empty()), "{report}"),
    }
    assert_status(&dcosreg(&["version", "--format", "prometheus"]), 2);

    let home = docker_home_with_plugin();
    let out = docker(home.path(), &["dcosreg", "version"]);
    assert_status(&out, 0);
    assert!(stdout(&out).starts_with(&expected), "{}", stdout(&out));
}

/// `trust help` is the help of trust, never a DNS lookup of the host `help`. Run in a
/// network namespace of its own, so that a regression reaches no resolver.
/// Nothing configured: network commands say they use the built-in default endpoints (once,
/// naming the config file to set them in), and `trust --yes` refuses to pin whatever answers
/// there, before any connection (run without a network, so a regression could not reach a
/// real 192.168.x address either).
#[test]
fn builtin_defaults_are_announced_and_never_pinned_blindly() {
    let unshare = support::require_tool("unshare");
    let root = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut via = Command::new(&unshare);
        via.arg("-n").arg(support::bin_path());
        Dcosreg::via(via)
            .args(["--timeout", "300ms", "--root"])
            .arg(root.path())
            .args(args)
            .run()
    };
    let out = run(&["trust", "--yes"]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("built-in default endpoints 192.168.0.1 and 192.168.1.50:5000")
            && err.contains("nothing installed"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "the note and the refusal: {err}");
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);

    for args in [&["check"][..], &["endpoint"], &["doctor"]] {
        let out = run(args);
        let err = stderr(&out);
        let notes = err
            .lines()
            .filter(|l| l.starts_with("note: using the built-in default endpoints"))
            .count();
        assert_eq!(notes, 1, "{args:?}: {err}");
        assert!(err.contains("dcosreg/config.toml"), "{args:?}: {err}");
    }
    // Configured or named endpoints: no note, and --yes is not refused for that reason.
    let out = run(&[
        "--internal",
        "127.0.0.1:9",
        "--external",
        "127.0.0.1:10",
        "check",
    ]);
    assert!(
        !stderr(&out).contains("built-in default"),
        "{}",
        stderr(&out)
    );
    let out = run(&["trust", "127.0.0.1:9", "--yes", "--dry-run"]);
    assert!(
        !stderr(&out).contains("built-in default"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_positional_help_prints_the_commands_help() {
    let unshare = support::require_tool("unshare");
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    for (command, extra) in [
        ("check", &["127.0.0.1:9"][..]),
        ("trust", &["--dry-run"]),
        ("untrust", &["--dry-run"]),
        ("login", &[]),
        ("logout", &["--dry-run"]),
        ("rewrite", &["--to", "external"]),
    ] {
        for plugin in [false, true] {
            let mut via = Command::new(&unshare);
            via.arg("-n").arg(support::bin_path());
            if plugin {
                via.arg("dcosreg");
            }
            let out = Dcosreg::via(via)
                .args([command])
                .args(extra)
                .arg("help")
                .args(["--internal", "127.0.0.1:9", "--external", "127.0.0.1:10"])
                .args(["--timeout", "1s", "--root"])
                .arg(root.path())
                .current_dir(work.path())
                .run();
            assert_status_for(&out, 0, format_args!("{command} help"));
            let text = stdout(&out);
            let usage = if plugin {
                format!("Usage: docker dcosreg {command}")
            } else {
                format!("Usage: docker-dcosreg {command}")
            };
            assert!(text.contains(&usage), "{command} help:\n{text}");
            assert!(stderr(&out).is_empty(), "{command}: {}", stderr(&out));
        }
    }
    // A file named `help` is a path like any other.
    std::fs::write(work.path().join("help"), "FROM 127.0.0.1:9/base\n").unwrap();
    let out = Dcosreg::new(["rewrite", "--to", "external", "--check", "help"])
        .args(["--internal", "127.0.0.1:9", "--external", "127.0.0.1:10"])
        .current_dir(work.path())
        .run();
    assert_status(&out, 1);
    assert!(stdout(&out).contains("help:1:"), "{}", stdout(&out));
}

/// Error lines say each cause once and drop the HTTP stack's noise.
#[test]
fn error_lines_say_each_cause_once_without_transport_noise() {
    let out = dcosreg(&[
        "check",
        "--ca-file",
        "/nonexistent/ca.crt",
        "127.0.0.1:1",
        "--timeout",
        "1s",
    ]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/ca.crt"), "{err}");
    assert_eq!(
        err.matches("os error 2").count(),
        1,
        "the cause once: {err}"
    );

    let refused = |ip: &str| {
        let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("{ip}:{port}")
    };
    let out = Dcosreg::new(["login", "-u", "u", "--password-stdin"])
        .args(["--internal", &refused("127.0.0.1"), "--external"])
        .arg(refused("127.0.0.1"))
        .args(["--timeout", "1s"])
        .stdin("pw\n")
        .run();
    assert_status(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("Connection refused"), "{err}");
    assert!(!err.contains("client error (Connect)"), "{err}");
}

#[test]
fn standalone_and_plugin_argv_both_work() {
    for args in [&["config"][..], &["dcosreg", "config"]] {
        let out = dcosreg(args);
        assert_status_for(&out, 0, format_args!("{args:?}"));
        assert!(stdout(&out).contains("192.168.0.1"), "defaults shown");
    }
    let out = dcosreg(&["--help"]);
    assert!(stdout(&out).contains("Usage: docker-dcosreg"));
    let out = dcosreg(&["dcosreg", "--help"]);
    assert!(stdout(&out).contains("Usage: docker dcosreg"));
}

/// A command's help lists its own options first, then the shared ones under their own
/// heading, each once.
#[test]
fn command_help_keeps_global_options_under_their_own_heading() {
    for command in ["check", "trust", "rewrite", "doctor"] {
        let out = dcosreg(&[command, "--help"]);
        assert_status_for(&out, 0, format_args!("{command} --help"));
        let text = stdout(&out);
        let (own, global) = text
            .split_once("\nGlobal options:\n")
            .unwrap_or_else(|| panic!("{command} --help has no Global options heading:\n{text}"));
        for flag in [
            "--internal",
            "--external",
            "--root",
            "--timeout",
            "--format",
            "--config",
        ] {
            assert!(
                !own.contains(flag),
                "{command}: {flag} among the command's own options"
            );
            assert_eq!(
                global.matches(flag).count(),
                1,
                "{command}: {flag} once under Global"
            );
        }
        assert!(own.contains("--help"), "{command}: own options come first");
    }
}

fn settings(out: &std::process::Output) -> serde_json::Value {
    assert_status(out, 0);
    let report = json(&stdout(out));
    let mut by_key = serde_json::Map::new();
    for entry in report["settings"].as_array().unwrap() {
        by_key.insert(entry["key"].as_str().unwrap().to_string(), entry.clone());
    }
    serde_json::Value::Object(by_key)
}

#[test]
fn precedence_is_flag_then_env_then_file_then_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        "internal = \"127.0.0.11\"\nexternal = \"127.0.0.12:5000\"\ntimeout = \"700ms\"\n",
    )
    .unwrap();
    let file_arg = file.to_str().unwrap();

    // file only
    let s = settings(&dcosreg(&[
        "config", "--format", "json", "--config", file_arg,
    ]));
    assert_eq!(s["internal"]["value"], "127.0.0.11");
    assert_eq!(s["internal"]["source"], format!("file {file_arg}"));
    assert_eq!(s["timeout"]["value"], "700ms");
    // Durations print in one unit that --timeout reads back (not "1s 500ms").
    let s = settings(&dcosreg(&[
        "config",
        "--format",
        "json",
        "--timeout",
        "1500ms",
    ]));
    assert_eq!(s["timeout"]["value"], "1500ms");
    assert_eq!(s["root"]["source"], "default");

    // env beats file, flag beats env; global flags work before and after the command
    let out = Dcosreg::new([
        "--external",
        "127.0.0.14:6000",
        "config",
        "--format",
        "json",
        "--config",
        file_arg,
    ])
    .env("DCOSREG_INTERNAL", "127.0.0.13")
    .env("DCOSREG_EXTERNAL", "127.0.0.15:7000")
    .run();
    let s = settings(&out);
    assert_eq!(s["internal"]["value"], "127.0.0.13");
    assert_eq!(s["internal"]["source"], "env DCOSREG_INTERNAL");
    assert_eq!(s["external"]["value"], "127.0.0.14:6000");
    assert_eq!(s["external"]["source"], "flag");
    assert_eq!(s["timeout"]["source"], format!("file {file_arg}"));

    // the default config file comes from $XDG_CONFIG_HOME/dcosreg/config.toml
    let xdg = dir.path().join("xdg");
    std::fs::create_dir_all(xdg.join("dcosreg")).unwrap();
    std::fs::write(xdg.join("dcosreg/config.toml"), "root = \"/srv/stage\"\n").unwrap();
    let out = Dcosreg::new(["config", "--format", "json"])
        .env("XDG_CONFIG_HOME", &xdg)
        .run();
    let s = settings(&out);
    assert_eq!(s["root"]["value"], "/srv/stage");
    // No file there: the path looked for is named, in text and JSON.
    let empty = dir.path().join("empty-xdg");
    let out = Dcosreg::new(["config"])
        .env("XDG_CONFIG_HOME", &empty)
        .run();
    assert_status(&out, 0);
    let looked_for = empty.join("dcosreg/config.toml");
    assert!(
        stdout(&out).contains(&format!(
            "config file: none found (looked for {}; create it or give --config FILE)",
            looked_for.display()
        )),
        "{}",
        stdout(&out)
    );
    let out = Dcosreg::new(["config", "--format", "json"])
        .env("XDG_CONFIG_HOME", &empty)
        .run();
    let report = json(&stdout(&out));
    assert_eq!(report["config_file"], serde_json::Value::Null);
    assert_eq!(
        report["config_searched"],
        serde_json::json!([looked_for.display().to_string()])
    );
    assert!(s["root"]["source"]
        .as_str()
        .unwrap()
        .ends_with("dcosreg/config.toml"));
}

#[test]
fn malformed_config_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for (text, line) in [
        ("internal = \"127.0.0.1\"\n\nexternal = [broken\n", 3),
        ("timeout = \"1s\"\ncolour = \"blue\"\n", 2),
    ] {
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, text).unwrap();
        let out = dcosreg(&["config", "--config", file.to_str().unwrap()]);
        assert_status(&out, 2);
        let err = stderr(&out);
        assert!(err.contains(&format!("{}:{line}", file.display())), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
    let out = dcosreg(&["config", "--config", "/nonexistent/dcosreg.toml"]);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("/nonexistent/dcosreg.toml"));
}

#[test]
fn nonsense_endpoints_and_durations_exit_2_with_one_line() {
    for args in [
        &["--internal", "http://192.168.0.1", "config"][..],
        &["--external", "192.168.1.50:99999", "config"],
        &["--internal", "", "config"],
        &["--internal", "host/path", "config"],
        &["--timeout", "soon", "config"],
        &["--timeout", "0ms", "config"],
        &["--format", "yaml", "config"],
        &["no-such-command"],
    ] {
        let out = dcosreg(args);
        assert_status_for(&out, 2, format_args!("{args:?}"));
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.is_empty());
    }
    let out = dcosreg(&["--internal", "http://192.168.0.1", "config"]);
    let err = stderr(&out);
    assert!(err.starts_with("docker-dcosreg: "), "{err}");
    assert!(err.contains('—'), "says what to do: {err}");
    assert_eq!(err.trim_end().lines().count(), 1);
}

#[test]
fn install_script_fails_clearly_without_cargo() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir.path())
        .env("CARGO_HOME", dir.path().join("no-cargo"))
        .output()
        .unwrap();
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("cargo is not installed"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join(".docker").exists(), "nothing installed");
}

#[test]
fn install_script_installs_a_prebuilt_binary_or_tarball_without_cargo() {
    let dir = tempfile::tempdir().unwrap();
    let install = |from: &Path| {
        Command::new("sh")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
            .arg("--from")
            .arg(from)
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", dir.path())
            .env("CARGO_HOME", dir.path().join("no-cargo"))
            .env("DOCKER_CONFIG", dir.path().join("docker"))
            .env("PREFIX", dir.path().join("prefix"))
            .output()
            .unwrap()
    };
    let plugin = dir.path().join("docker/cli-plugins/docker-dcosreg");
    let command = dir.path().join("prefix/bin/docker-dcosreg");
    let built = std::fs::read(support::bin_path()).unwrap();

    // Not a file, then not a binary for this machine: exit 2, nothing installed.
    let out = install(&dir.path().join("missing"));
    assert_status(&out, 2);
    let junk = dir.path().join("junk");
    std::fs::write(&junk, "not a program").unwrap();
    let out = install(&junk);
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("does not run on this machine"),
        "{}",
        stderr(&out)
    );
    assert!(!plugin.exists() && !command.exists(), "nothing installed");

    // The binary, twice (idempotent), then a tarball laid out as ./dist.sh writes it.
    let tarball = dir
        .path()
        .join("docker-dcosreg-0.0.0-x86_64-linux-gnu.tar.gz");
    let top = dir.path().join("docker-dcosreg-0.0.0-x86_64-linux-gnu");
    std::fs::create_dir(&top).unwrap();
    std::fs::copy(support::bin_path(), top.join("docker-dcosreg")).unwrap();
    // The bash completion has the binary's name: install.sh must not take it for the binary.
    let completions = top.join("share/bash-completion/completions");
    std::fs::create_dir_all(&completions).unwrap();
    std::fs::write(completions.join("docker-dcosreg"), "# bash completion\n").unwrap();
    let out = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir.path())
        .arg(top.file_name().unwrap())
        .output()
        .unwrap();
    assert_status(&out, 0);
    for from in [support::bin_path(), support::bin_path(), tarball] {
        let out = install(&from);
        assert_status(&out, 0);
        assert!(stdout(&out).contains("installed"), "{}", stdout(&out));
        for path in [&plugin, &command] {
            assert_eq!(std::fs::read(path).unwrap(), built, "{}", path.display());
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(path).unwrap().permissions(),
            );
            assert_eq!(mode & 0o777, 0o755, "{}", path.display());
        }
    }
    // As root, also Docker's system plugin directory (under PREFIX): sudo docker finds it.
    let system = dir
        .path()
        .join("prefix/lib/docker/cli-plugins/docker-dcosreg");
    assert_eq!(
        std::fs::read(&system).unwrap(),
        built,
        "{}",
        system.display()
    );
    let helper = dir.path().join("prefix/bin/docker-credential-dcosreg");
    assert_eq!(
        std::fs::read_link(&helper).unwrap(),
        Path::new("docker-dcosreg"),
        "the credential helper links to the command"
    );
    // What it installed runs.
    let out = Command::new(&command).arg("--version").output().unwrap();
    assert_status(&out, 0);

    // As a user: the user's directories only, and a note that sudo docker will not find it.
    let user_home = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(user_home.path(), Some(65534), Some(65534)).unwrap();
    let copy = user_home.path().join("docker-dcosreg");
    std::fs::copy(support::bin_path(), &copy).unwrap();
    let out = Command::new(support::require_tool("setpriv"))
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "sh"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
        .arg("--from")
        .arg(&copy)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", user_home.path())
        .output()
        .unwrap();
    assert_status(&out, 0);
    assert!(
        stdout(&out).contains("'sudo docker dcosreg' will not find the plugin")
            && stdout(&out).contains("sudo ")
            && stdout(&out).contains(".local/bin/docker-dcosreg"),
        "{}",
        stdout(&out)
    );
    assert!(user_home
        .path()
        .join(".docker/cli-plugins/docker-dcosreg")
        .is_file());
    assert!(user_home
        .path()
        .join(".local/share/man/man1/docker-dcosreg.1")
        .is_file());

    // The man pages it generated: man finds and renders them.
    let share = dir.path().join("prefix/share");
    for (page, says) in [
        ("docker-dcosreg", "docker-dcosreg-trust(1)"),
        ("docker-dcosreg-trust", "--target"),
        ("docker-credential-dcosreg", "credHelpers"),
    ] {
        let out = Command::new("man")
            .args(["-P", "cat", page])
            .env("MANPATH", share.join("man"))
            .env("MANWIDTH", "200")
            .env("LANG", "C.UTF-8")
            .output()
            .unwrap();
        assert_status(&out, 0);
        assert!(stdout(&out).contains(says), "man {page}:\n{}", stdout(&out));
    }
    // The bash completion it installed completes the commands and a flag's values.
    let script = share.join("bash-completion/completions/docker-dcosreg");
    let complete = |line: &str| {
        let out = Command::new("bash")
            .arg("-c")
            .arg(
                r#"source "$1"; read -ra COMP_WORDS <<<"$2"; [[ $2 == *" " ]] && COMP_WORDS+=("");
                   COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE=$2; COMP_POINT=${#2};
                   fn=$(complete -p docker-dcosreg | sed -n 's/.* -F \([^ ]*\) .*/\1/p');
                   "$fn" docker-dcosreg "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}";
                   printf '%s\n' "${COMPREPLY[@]}""#,
            )
            .arg("bash")
            .arg(&script)
            .arg(line)
            .output()
            .unwrap();
        assert_status(&out, 0);
        stdout(&out)
    };
    let commands = complete("docker-dcosreg tr");
    assert_eq!(commands.trim(), "trust", "{commands}");
    // After a command too (clap_complete's bash script alone completes nothing there).
    let formats = complete("docker-dcosreg check --format ");
    assert_eq!(
        formats.split_whitespace().collect::<Vec<_>>(),
        ["text", "json", "prometheus"],
        "{formats}"
    );
    assert!(share.join("zsh/site-functions/_docker-dcosreg").is_file());
    assert!(share
        .join("fish/vendor_completions.d/docker-dcosreg.fish")
        .is_file());
}

/// TAB after `docker dcosreg`: the real docker CLI asks the plugin (`__complete`) and
/// passes cobra's answer through: commands, then `--target`'s stores, then the snippet kinds.
#[test]
fn docker_completes_the_plugin_s_commands_and_values() {
    let home = docker_home_with_plugin();
    let complete = |words: &[&str]| {
        let mut args = vec!["__complete", "dcosreg"];
        args.extend_from_slice(words);
        let out = docker(home.path(), &args);
        assert_status(&out, 0);
        stdout(&out)
    };
    let top = complete(&[""]);
    for command in ["trust", "check", "rewrite", "snippet", "catalog"] {
        assert!(
            top.lines().any(|l| l.starts_with(&format!("{command}\t"))),
            "{command} missing:\n{top}"
        );
    }
    assert!(top.lines().last() == Some(":4"), "{top}");
    let targets = complete(&["trust", "--target", ""]);
    let values: Vec<&str> = targets.lines().collect();
    assert_eq!(
        values,
        [
            "docker",
            "containerd",
            "containers",
            "buildkit",
            "mesos",
            "system",
            ":4"
        ],
        "{targets}"
    );
    let kinds = complete(&["snippet", ""]);
    assert!(
        kinds.contains("gitlab-runner\t") && kinds.contains("expiry\t"),
        "{kinds}"
    );
    // A path flag leaves it to the shell's file names.
    assert_eq!(complete(&["check", "--ca-file", ""]).trim(), ":0");
}
