//! The whole command line in one clap derive; the `///` comments are the help text.
//! The edge: only `lib` and `cmd` see clap. The global flags leave here as plain
//! [`config::Overrides`] (which `config` resolves into a `Config`), and the option structs
//! the lower layers take are made here (`CaSourceArgs::ca_source`,
//! `From<Prefer> for probe::Prefer`).

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::config;

use crate::plugin::Invocation;
use crate::probe;
use crate::trust::{CaSource, Confirmation};

/// Trust, check and use a private Docker registry inside a DC/OS cluster.
///
/// The registry is reached through its Layer-4 VIP inside the cluster (--internal) and
/// through Marathon-LB from outside (--external). Exit status: 0 success, 1 the answer is
/// "no" (untrusted, unreachable, changes found), 2 usage, input or operation error.
#[derive(Debug, Parser)]
#[command(version, propagate_version = true, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Settings every command shares (flag > env > config file > default). Listed under
/// their own heading in every command's help, after the command's own options.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// Internal endpoint, the Layer-4 VIP [default: 192.168.0.1]
    #[arg(long, global = true, env = "DCOSREG_INTERNAL", value_name = "EP")]
    pub(crate) internal: Option<String>,
    /// External endpoint, Marathon-LB on a public agent [default: 192.168.1.50:5000]
    #[arg(long, global = true, env = "DCOSREG_EXTERNAL", value_name = "EP")]
    pub(crate) external: Option<String>,
    /// Filesystem root that prefixes every host path read or written [default: /]
    #[arg(long, global = true, env = "DCOSREG_ROOT", value_name = "DIR")]
    pub(crate) root: Option<PathBuf>,
    /// Network deadline per command, e.g. 500ms or 2s [default: 3s]
    #[arg(long, global = true, env = "DCOSREG_TIMEOUT", value_name = "DUR")]
    pub(crate) timeout: Option<String>,
    /// How long `endpoint` and `--to auto` wait for the preferred endpoint's TCP connect once
    /// the other has answered, e.g. 250ms or 1s; also how long check, trust, login and doctor
    /// wait for a configured endpoint's before calling it not reachable from here [default:
    /// 250ms]
    #[arg(
        long,
        global = true,
        env = "DCOSREG_FALLBACK_DELAY",
        value_name = "DUR"
    )]
    pub(crate) fallback_delay: Option<String>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// Config file [default: $XDG_CONFIG_HOME/dcosreg/config.toml]
    #[arg(long, global = true, env = "DCOSREG_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    Text,
    Json,
    /// The Prometheus text format (`check` only)
    Prometheus,
}

/// `--format` for the layers below: the output module's own enum.
impl From<Format> for crate::output::Format {
    fn from(format: Format) -> crate::output::Format {
        match format {
            Format::Text => crate::output::Format::Text,
            Format::Json => crate::output::Format::Json,
            Format::Prometheus => crate::output::Format::Prometheus,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the resolved configuration and where each value came from.
    Config,
    /// Connect to each endpoint and judge its certificate chain exactly as Docker would.
    Check(CheckArgs),
    /// Fetch the registry CA and install it for Docker, containerd, podman, BuildKit, ...
    Trust(TrustArgs),
    /// Remove exactly what `trust` installed.
    Untrust(UntrustArgs),
    /// Print the registry endpoint this machine can reach (for REGISTRY=$(...)).
    Endpoint(EndpointArgs),
    /// Retarget Dockerfile image references between the internal and external endpoint.
    Rewrite(RewriteArgs),
    /// Issue a CA and a registry certificate that names every endpoint.
    Cert(CertArgs),
    /// Print ready-to-paste configuration (DinD, Jenkins, GitLab runner, Compose, Marathon).
    Snippet(SnippetArgs),
    /// Install trust on every agent of the cluster.
    Rollout(Box<RolloutArgs>),
    /// Inspect this host and the endpoints; print each problem with its fix.
    Doctor(DoctorArgs),
    /// `docker build` with the Dockerfile's references pointed at the endpoint that answers.
    ///
    /// The Dockerfile is never edited: a rewritten copy goes to `docker build -f`. Every
    /// argument after this command's own flags goes to `docker build` unchanged.
    #[command(
        after_help = "Example: docker dcosreg build --to auto -t app:1 --build-arg V=2 -f ci/Dockerfile ."
    )]
    Build(BuildArgs),
    /// Log in once for the registry at every endpoint (docker-credential-dcosreg).
    Login(LoginArgs),
    /// Remove the stored secret and exactly the credHelpers entries login added.
    Logout(LogoutArgs),
    /// Credentials for machines that cannot run a credential helper (DC/OS agents).
    Credentials(CredentialsArgs),
    /// List the registry's repositories, or a repository's tags, with the stored login.
    #[command(
        after_help = "Examples:\n  docker dcosreg catalog\n  docker dcosreg catalog team/app --endpoint 192.168.1.50:5000"
    )]
    Catalog(CatalogArgs),
    /// The Docker credential-helper protocol (run as docker-credential-dcosreg).
    #[command(hide = true)]
    CredentialHelper(CredentialHelperArgs),
    /// Print the version (and the commit it was built from, when the build recorded one).
    Version,
}

#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// Endpoints to log in to [default: the internal and external endpoints]
    #[arg(value_name = "EP")]
    pub(crate) endpoints: Vec<String>,
    /// User name [default: asked on a terminal]
    #[arg(long, short = 'u', value_name = "USER")]
    pub(crate) username: Option<String>,
    /// Read the password from stdin (one line)
    #[arg(long)]
    pub(crate) password_stdin: bool,
    /// Password, as docker login takes it — insecure: every user sees it in the process
    /// list, and it stays in shell history; use --password-stdin
    #[arg(
        long,
        short = 'p',
        value_name = "PASSWORD",
        conflicts_with = "password_stdin",
        allow_hyphen_values = true,
        value_parser = parse_password
    )]
    pub(crate) password: Option<Password>,
    /// Check the credentials and print what would change; store and write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `login -p`'s value: never shown by `{:?}` (the parsed command line is Debug).
#[derive(Clone)]
pub(crate) struct Password(pub(crate) String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

fn parse_password(text: &str) -> Result<Password, std::convert::Infallible> {
    Ok(Password(text.to_string()))
}

#[derive(Debug, Args)]
pub(crate) struct CatalogArgs {
    /// List this repository's tags instead of the repositories, e.g. team/app
    #[arg(value_name = "REPO")]
    pub(crate) repository: Option<String>,
    /// Registry endpoint to ask [default: the one `endpoint` picks]
    #[arg(long, value_name = "EP")]
    pub(crate) endpoint: Option<String>,
    /// Entries to ask for per page (the registry's `n`); every page is read all the same
    #[arg(long, value_name = "N")]
    pub(crate) page_size: Option<u32>,
}

#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    /// Endpoints to log out of [default: the internal and external endpoints]
    #[arg(value_name = "EP")]
    pub(crate) endpoints: Vec<String>,
    /// Print what would be removed; change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CredentialsArgs {
    #[command(subcommand)]
    pub(crate) command: CredentialsCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CredentialsCommand {
    /// Write the stored credentials as a DC/OS archive or a config.json (never to a terminal).
    Export(ExportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportForm {
    /// .tar.gz holding .docker/config.json, for a Marathon fetch of file:///etc/docker.tar.gz
    DcosArchive,
    /// config.json alone, for a pullConfig secret or a Kubernetes .dockerconfigjson
    DockerConfig,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// What to write
    #[arg(long = "as", value_enum, value_name = "FORM")]
    pub(crate) form: ExportForm,
    /// File to write (mode 0600) [default: stdout, refused on a terminal]
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CredentialHelperArgs {
    /// store, get, erase, list or version
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ACTION"
    )]
    pub(crate) args: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Endpoints to check [default: the internal and external endpoints]
    #[arg(value_name = "EP")]
    pub(crate) endpoints: Vec<String>,
    /// Trust only the CA certificates in this PEM (or DER) file
    #[arg(long, value_name = "PEM", conflicts_with = "cert_dir")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Trust only this directory, with Docker certs.d semantics (*.crt)
    #[arg(long, value_name = "DIR")]
    pub(crate) cert_dir: Option<PathBuf>,
    /// Judge the chain in this file for --host instead of connecting; without --host, show
    /// what the file holds
    #[arg(long, value_name = "PEM")]
    pub(crate) cert: Option<PathBuf>,
    /// The endpoint the --cert chain is meant for
    #[arg(long, value_name = "EP", requires = "cert")]
    pub(crate) host: Option<String>,
    /// Exit 1 when a certificate of the chain Docker uses expires within DUR, e.g. 30d
    #[arg(long, value_name = "DUR", value_parser = parse_days_duration)]
    pub(crate) expires_within: Option<std::time::Duration>,
    /// Also write the Prometheus text format to FILE, atomically (node_exporter's textfile
    /// collector)
    #[arg(long, value_name = "FILE")]
    pub(crate) textfile: Option<PathBuf>,
}

/// A duration such as `30d`, `12h` or `90m` (days allowed, at most ten years).
fn parse_days_duration(text: &str) -> Result<std::time::Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("{e} — use a duration such as 30d, 12h or 90m"))?;
    if duration > std::time::Duration::from_secs(10 * 366 * 86_400) {
        return Err("more than ten years — use a duration such as 30d".into());
    }
    Ok(duration)
}

/// Where the CA comes from, shared by `trust` and `rollout`.
#[derive(Debug, Args)]
pub(crate) struct CaSourceArgs {
    /// Install the CA certificates in this PEM file instead of the handshake's
    #[arg(long, value_name = "PEM", conflicts_with = "ca_url")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Download the CA from this URL, e.g. https://master.mesos/ca/dcos-ca.crt
    #[arg(long, value_name = "URL")]
    pub(crate) ca_url: Option<String>,
    /// Install only if the CA's SHA-256 fingerprint is this (hex, colons optional)
    #[arg(long, value_name = "SHA256")]
    pub(crate) fingerprint: Option<String>,
    /// Install without asking (trust on first use)
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
}

impl CaSourceArgs {
    /// Where `trust::obtain_ca` takes the CA from.
    pub(crate) fn ca_source(&self) -> CaSource {
        match (&self.ca_file, &self.ca_url) {
            (Some(path), _) => CaSource::File(path.clone()),
            (None, Some(url)) => CaSource::Url(url.clone()),
            (None, None) => CaSource::Handshake,
        }
    }

    /// How `trust::confirm_ca` may approve what is offered.
    pub(crate) fn confirmation(&self) -> Confirmation {
        Confirmation {
            fingerprint: self.fingerprint.clone(),
            yes: self.yes,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct TrustArgs {
    /// Endpoints to trust [default: the internal and external endpoints]
    #[arg(value_name = "EP")]
    pub(crate) endpoints: Vec<String>,
    #[command(flatten)]
    pub(crate) source: CaSourceArgs,
    /// Comma-separated targets: docker,containerd,containers,buildkit,mesos,system
    /// [default: those present on this host, always docker]
    #[arg(long, value_name = "LIST", value_delimiter = ',', ignore_case = true)]
    pub(crate) target: Vec<crate::trust::Target>,
    /// Replace a different CA file already installed
    #[arg(long, conflicts_with = "add")]
    pub(crate) force: bool,
    /// Install the CA beside a different one already trusted (a CA rotation: both stay
    /// trusted until `untrust --fingerprint` removes the old one)
    #[arg(long)]
    pub(crate) add: bool,
    /// Print every path and action; write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Do not connect afterwards to check that the endpoints are now trusted
    #[arg(long)]
    pub(crate) no_verify: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UntrustArgs {
    /// Endpoints to untrust [default: the internal and external endpoints]
    #[arg(value_name = "EP")]
    pub(crate) endpoints: Vec<String>,
    /// Comma-separated targets [default: all that trust installed]
    #[arg(long, value_name = "LIST", value_delimiter = ',', ignore_case = true)]
    pub(crate) target: Vec<crate::trust::Target>,
    /// Remove only the CA certificates in this PEM (or DER) file (the old CA of a rotation)
    #[arg(long, value_name = "PEM", conflicts_with = "fingerprint")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Remove only the CA with this SHA-256 fingerprint (hex, colons optional; comma-separated)
    #[arg(long, value_name = "SHA256")]
    pub(crate) fingerprint: Option<String>,
    /// Print every path and action; write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Prefer {
    Internal,
    External,
}

impl From<Prefer> for probe::Prefer {
    fn from(prefer: Prefer) -> probe::Prefer {
        match prefer {
            Prefer::Internal => probe::Prefer::Internal,
            Prefer::External => probe::Prefer::External,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct EndpointArgs {
    /// Which endpoint wins when both answer
    #[arg(long, value_enum, default_value_t = Prefer::Internal)]
    pub(crate) prefer: Prefer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RewriteTarget {
    Internal,
    External,
    /// Whichever endpoint answers (as `endpoint` decides)
    Auto,
}

#[derive(Debug, Args)]
pub(crate) struct RewriteArgs {
    /// Files or directories; `-` or none: stdin to stdout
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    /// Endpoint the references should name
    #[arg(long, value_enum, default_value_t = RewriteTarget::Auto)]
    pub(crate) to: RewriteTarget,
    /// Change nothing; exit 1 and list file:line of each change that would be made
    #[arg(long)]
    pub(crate) check: bool,
    /// Print a unified diff of the changes instead of writing them
    #[arg(long)]
    pub(crate) diff: bool,
    /// List the changes that would be made; write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// Endpoint the references should name
    #[arg(long, value_enum, default_value_t = RewriteTarget::Auto)]
    pub(crate) to: RewriteTarget,
    /// Print the rewritten Dockerfile's changes and the docker commands; run nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Arguments for `docker build` (options, -f/--file, the context), passed unchanged
    #[arg(
        value_name = "DOCKER_BUILD_ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        num_args = 0..
    )]
    pub(crate) docker_args: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct CertArgs {
    #[command(subcommand)]
    pub(crate) action: Option<CertAction>,
    /// Directory for ca.crt, ca.key, domain.crt and domain.key
    #[arg(long, value_name = "DIR", required = true)]
    pub(crate) out: Option<PathBuf>,
    /// Extra DNS name for the registry certificate (repeatable)
    #[arg(long = "name", value_name = "DNS")]
    pub(crate) names: Vec<String>,
    /// Extra IP address for the registry certificate (repeatable)
    #[arg(long = "ip", value_name = "IP")]
    pub(crate) ips: Vec<String>,
    /// Add the usual DC/OS names of a registry app
    #[arg(long)]
    pub(crate) dcos_names: bool,
    /// Validity of the registry certificate in days
    #[arg(long, default_value_t = 365)]
    pub(crate) days: u32,
    /// Key algorithm: ECDSA P-256, or RSA 2048 for old clients
    #[arg(long, value_enum, default_value_t = KeyType::EcdsaP256)]
    pub(crate) key_type: KeyType,
    /// Sign with this existing CA certificate (with --ca-key) instead of issuing a CA
    #[arg(long, value_name = "PEM", requires = "ca_key")]
    pub(crate) ca_cert: Option<PathBuf>,
    /// Private key of --ca-cert
    #[arg(long, value_name = "PEM", requires = "ca_cert")]
    pub(crate) ca_key: Option<PathBuf>,
    /// Overwrite existing files
    #[arg(long)]
    pub(crate) force: bool,
    /// Print what would be issued and written; write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CertAction {
    /// Re-issue DIR/domain.crt from DIR/ca.crt and ca.key, keeping its subject and names.
    ///
    /// Clients that trust the CA trust the renewed certificate: no trust change. The
    /// previous pair is kept as domain.crt.prev and domain.key.prev; ca.* are never written.
    Renew(CertRenewArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CertRenewArgs {
    /// Directory holding ca.crt, ca.key, domain.crt and domain.key (as `cert --out` wrote it)
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// Validity of the renewed certificate in days [default: that of the current one]
    #[arg(long, value_name = "N")]
    pub(crate) days: Option<u32>,
    /// Keep the current private key (domain.key) instead of making a new one
    #[arg(long)]
    pub(crate) keep_key: bool,
    /// Another DNS name for the certificate, besides the ones it has (repeatable)
    #[arg(long = "name", value_name = "DNS")]
    pub(crate) names: Vec<String>,
    /// Another IP address for the certificate, besides the ones it has (repeatable)
    #[arg(long = "ip", value_name = "IP")]
    pub(crate) ips: Vec<String>,
    /// The CA's private key, when it is kept outside DIR [default: DIR/ca.key]
    #[arg(long, value_name = "PEM")]
    pub(crate) ca_key: Option<PathBuf>,
    /// Print what would be renewed and written; write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeyType {
    #[value(alias = "ecdsa")]
    EcdsaP256,
    #[value(alias = "rsa")]
    Rsa2048,
}

#[derive(Debug, Args)]
pub(crate) struct SnippetArgs {
    /// What to print: dind, jenkins, gitlab-runner, compose, marathon, kaniko, buildx,
    /// dcos-credentials, expiry
    #[arg(
        value_name = "KIND",
        required_unless_present = "list",
        ignore_case = true,
        value_parser = snippet_kind()
    )]
    pub(crate) kind: Option<&'static crate::snippet::Kind>,
    /// One section of KIND alone, raw, as its format parses it (see --list)
    #[arg(value_name = "ID")]
    pub(crate) id: Option<String>,
    /// List the kinds, or with KIND its section ids
    #[arg(long)]
    pub(crate) list: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Via {
    Ssh,
    Marathon,
    Kubernetes,
}

#[derive(Debug, Args)]
pub(crate) struct RolloutArgs {
    /// Mesos master to list agents from [default: http://master.mesos:5050, or
    /// https://master.mesos/mesos (Admin Router) with a token]
    #[arg(long, value_name = "URL", conflicts_with_all = ["agents_file", "agents"])]
    pub(crate) mesos_url: Option<String>,
    /// CA that signs the master's and Marathon's https certificate (DC/OS: the cluster CA,
    /// https://<master>/ca/dcos-ca.crt) [default: the system roots]
    #[arg(long, value_name = "PEM")]
    pub(crate) cluster_ca: Option<PathBuf>,
    /// DC/OS auth token for the Mesos master and Marathon; sent over verified https only
    #[arg(
        long,
        env = "DCOS_ACS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub(crate) auth_token: Option<String>,
    /// File with one agent host per line
    #[arg(long, value_name = "FILE", conflicts_with = "agents")]
    pub(crate) agents_file: Option<PathBuf>,
    /// Agent host (repeatable)
    #[arg(long = "agent", value_name = "HOST")]
    pub(crate) agents: Vec<String>,
    /// How to reach the agents
    #[arg(long, value_enum, default_value_t = Via::Ssh)]
    pub(crate) via: Via,
    /// Agents handled at once
    #[arg(long, default_value_t = 16)]
    pub(crate) parallel: usize,
    /// Remote user for ssh
    #[arg(long, value_name = "USER")]
    pub(crate) ssh_user: Option<String>,
    /// Remote port for ssh
    #[arg(long, value_name = "PORT")]
    pub(crate) ssh_port: Option<u16>,
    /// Extra ssh option, passed as -o OPT (repeatable)
    #[arg(long = "ssh-option", value_name = "OPT")]
    pub(crate) ssh_options: Vec<String>,
    /// ssh identity (private key) file, passed as -i FILE
    #[arg(long, value_name = "FILE")]
    pub(crate) ssh_identity: Option<PathBuf>,
    /// Deadline for one agent, connection and install together; its ssh is killed after it
    #[arg(long, value_name = "DUR", default_value = "60s", value_parser = crate::config::parse_timeout)]
    pub(crate) agent_timeout: std::time::Duration,
    /// Prefix for every path on the agents (for tests); %h is replaced by the agent host
    #[arg(long, value_name = "DIR")]
    pub(crate) remote_root: Option<String>,
    /// Replace a different ca.crt already installed on an agent
    #[arg(long, conflicts_with = "add")]
    pub(crate) force: bool,
    /// Install the CA beside a different one already on an agent (a CA rotation, as
    /// `trust --add`)
    #[arg(long)]
    pub(crate) add: bool,
    /// Image of the --via kubernetes DaemonSet (needs sh and sleep)
    #[arg(long, value_name = "IMAGE", default_value = "busybox:1.36")]
    pub(crate) image: String,
    #[command(flatten)]
    pub(crate) source: CaSourceArgs,
    /// PUT the Marathon app to this Marathon (creates or updates it) instead of printing it
    #[arg(long, value_name = "URL")]
    pub(crate) marathon_url: Option<String>,
    /// Also set and persist net.netfilter.nf_conntrack_tcp_be_liberal=1
    #[arg(long)]
    pub(crate) conntrack_liberal: bool,
    /// Also copy this archive (credentials export --as dcos-archive) to every agent as
    /// /etc/docker.tar.gz, mode 0600 (--via ssh only)
    #[arg(long, value_name = "FILE")]
    pub(crate) credentials_archive: Option<PathBuf>,
    /// Also copy DIR/domain.crt (0644) and DIR/domain.key (0600), the registry's own pair, to
    /// every agent (--via ssh only)
    #[arg(long, value_name = "DIR")]
    pub(crate) server_cert: Option<PathBuf>,
    /// Where --server-cert puts the pair on the agents
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/etc/privateregistry/certs",
        requires = "server_cert"
    )]
    pub(crate) server_cert_path: String,
    /// The docker-dcosreg binary run on each agent (--via ssh) [default: this one]
    #[arg(long, value_name = "FILE")]
    pub(crate) agent_binary: Option<PathBuf>,
    /// Comma-separated targets trust installs on each agent, as trust's --target
    /// (--via ssh) [default: what each agent has, always docker]
    #[arg(long, value_name = "LIST", value_delimiter = ',', ignore_case = true)]
    pub(crate) target: Vec<crate::trust::Target>,
    /// Undo trust on every agent through its own manifest (--via ssh)
    #[arg(long, conflicts_with_all = [
        "force", "add", "conntrack_liberal", "credentials_archive", "server_cert",
        "ca_file", "ca_url", "fingerprint", "yes",
    ])]
    pub(crate) untrust: bool,
    /// List agents and actions; change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Inspect only this host's files; do not connect to the endpoints
    #[arg(long)]
    pub(crate) offline: bool,
}

/// `snippet KIND`: one of the KINDS table's names (clap lists them, with their
/// descriptions), parsed into the kind itself.
fn snippet_kind() -> impl clap::builder::TypedValueParser<Value = &'static crate::snippet::Kind> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        crate::snippet::KINDS
            .iter()
            .map(|kind| PossibleValue::new(kind.name).help(kind.description)),
    )
    // With ignore_case, clap hands back the word as typed: `MARATHON` is `marathon`.
    .try_map(|name| crate::snippet::find(&name.to_ascii_lowercase()).ok_or("not a snippet kind"))
}

/// A value clap refused (`--target dockerd`, `snippet nope`, `--agent-timeout soon`) as one
/// line naming the flag and what it takes; other usage errors keep clap's own form.
pub(crate) fn one_line_error(err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let rendered = err.render().to_string();
    let first = rendered
        .lines()
        .next()?
        .trim_start_matches("error: ")
        .trim_end();
    let mut line = first.to_string();
    if let Some(ContextValue::Strings(valid)) = err.get(ContextKind::ValidValue) {
        line.push_str(&format!(" — choose one of: {}", valid.join(", ")));
    }
    if let Some(ContextValue::String(near)) = err.get(ContextKind::SuggestedValue) {
        line.push_str(&format!(" (did you mean '{near}'?)"));
    }
    Some(line)
}

/// Parse the command line; the matches are kept to tell flags from env values.
pub(crate) fn parse(invocation: &Invocation) -> Result<(Cli, config::Overrides), clap::Error> {
    let command = Cli::command()
        .name(invocation.bin_name)
        .bin_name(invocation.bin_name);
    let matches = command.try_get_matches_from(&invocation.args)?;
    let cli = Cli::from_arg_matches(&matches)?;
    if let Some(name) = cli.command.asks_for_help() {
        // `trust help` is `trust --help` (clap's own error, rendered and exiting as help).
        let again = [invocation.args[0].clone(), name.into(), "--help".into()];
        Cli::command()
            .name(invocation.bin_name)
            .bin_name(invocation.bin_name)
            .try_get_matches_from(again)?;
    }
    let overrides = cli.global.overrides(&matches);
    Ok((cli, overrides))
}

impl Command {
    /// The command's name when a positional `help` asks for its help: `help` is never a
    /// host (it would be looked up in DNS), and a path `help` only when such a file exists.
    fn asks_for_help(&self) -> Option<&'static str> {
        let help = |words: &[String]| words.iter().any(|w| w == "help");
        match self {
            Command::Check(args) if help(&args.endpoints) => Some("check"),
            Command::Trust(args) if help(&args.endpoints) => Some("trust"),
            Command::Untrust(args) if help(&args.endpoints) => Some("untrust"),
            Command::Login(args) if help(&args.endpoints) => Some("login"),
            Command::Logout(args) if help(&args.endpoints) => Some("logout"),
            Command::Rewrite(args)
                if args
                    .paths
                    .iter()
                    .any(|p| p.as_os_str() == "help" && !named_file_exists(p)) =>
            {
                Some("rewrite")
            }
            _ => None,
        }
    }
}

/// Whether a file named on the command line (relative to the working directory, not under
/// --root: rewrite reads it as given) exists.
#[allow(clippy::disallowed_methods)] // a command-line path, deliberately not confined
fn named_file_exists(path: &std::path::Path) -> bool {
    path.symlink_metadata().is_ok()
}

impl GlobalArgs {
    /// The global flags for `config`, as plain values, with the ones that came from their
    /// environment variable named.
    fn overrides(&self, matches: &ArgMatches) -> config::Overrides {
        let ids = [
            "internal",
            "external",
            "root",
            "timeout",
            "fallback_delay",
            "config",
        ];
        config::Overrides {
            internal: self.internal.clone(),
            external: self.external.clone(),
            root: self.root.clone(),
            timeout: self.timeout.clone(),
            fallback_delay: self.fallback_delay.clone(),
            format: self.format.into(),
            config: self.config.clone(),
            from_env: ids
                .into_iter()
                .filter(|id| matches.value_source(id) == Some(ValueSource::EnvVariable))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_password_given_with_p_is_never_shown_by_debug() {
        let cli = Cli::try_parse_from(["x", "login", "-u", "u", "-p", "s3cr3t-pw"]).unwrap();
        let Command::Login(args) = &cli.command else {
            panic!("not login: {cli:?}")
        };
        assert_eq!(
            args.password.as_ref().map(|p| p.0.as_str()),
            Some("s3cr3t-pw")
        );
        assert!(!format!("{cli:?}").contains("s3cr3t-pw"), "{cli:?}");
        let err = Cli::try_parse_from(["x", "login", "-p", "s3cr3t-pw", "--password-stdin"])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cr3t-pw"), "{err}");
    }
}
