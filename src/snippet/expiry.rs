//! `snippet expiry`: watch the registry certificate's expiry on every agent. A systemd
//! timer (or a cron line where there is none) runs `check --textfile` into node_exporter's
//! textfile directory, and a Prometheus alerting rule fires a month before the earliest
//! notAfter of the chain Docker uses, as blackbox_exporter's
//! `probe_ssl_earliest_cert_expiry` rules do.

use super::{shell_quote, Context, Language, Section, Snippet};

/// node_exporter's textfile directory in Debian's `prometheus-node-exporter` package.
const TEXTFILE_DIR: &str = "/var/lib/prometheus/node-exporter";
const METRICS_FILE: &str = "dcosreg.prom";

pub(super) fn build(context: &Context) -> Snippet {
    let check = format!(
        "/usr/bin/env docker-dcosreg --internal {} --external {} check --textfile {TEXTFILE_DIR}/{METRICS_FILE}",
        shell_quote(&context.internal.to_string()),
        shell_quote(&context.external.to_string()),
    );
    Snippet {
        kind: "expiry",
        sections: vec![
            Section {
                id: "systemd",
                title: "systemd service and timer".into(),
                format: Language::Shell,
                content: systemd(&check),
            },
            Section {
                id: "cron",
                title: "cron, where there is no systemd".into(),
                format: Language::Shell,
                content: cron(&check),
            },
            Section {
                id: "alert-rules",
                title: "Prometheus alerting rules".into(),
                format: Language::Yaml,
                content: ALERT_RULES.to_string(),
            },
        ],
        notes: vec![format!(
            "node_exporter reads {TEXTFILE_DIR} in Debian's package; elsewhere give its --collector.textfile.directory to --textfile"
        )],
    }
}

/// The service and its timer, running `check` every 15 minutes.
fn systemd(check: &str) -> String {
    format!(
        r#"# As root on each agent: run the check every 15 minutes into node_exporter's textfile directory.
cat > /etc/systemd/system/dcosreg-expiry.service <<'EOF'
[Unit]
Description=docker-dcosreg: registry certificate expiry and trust, for node_exporter

[Service]
Type=oneshot
# Exit 1 means "untrusted, unreachable or expiring": the metrics say which.
SuccessExitStatus=1
ExecStart={check}
EOF
cat > /etc/systemd/system/dcosreg-expiry.timer <<'EOF'
[Unit]
Description=docker-dcosreg: check the registry certificate every 15 minutes

[Timer]
OnBootSec=2min
OnUnitActiveSec=15min

[Install]
WantedBy=timers.target
EOF
systemctl daemon-reload
systemctl enable --now dcosreg-expiry.timer
"#
    )
}

/// The same check from cron, where there is no systemd.
fn cron(check: &str) -> String {
    format!(
        "# Where there is no systemd: the same check from cron, every 15 minutes.\n\
         echo {} > /etc/cron.d/dcosreg-expiry\n",
        shell_quote(&format!("*/15 * * * * root {check} >/dev/null 2>&1"))
    )
}

/// Alerts a month before the earliest notAfter, and when Docker stops trusting the registry.
const ALERT_RULES: &str = r#"groups:
  - name: dcosreg
    rules:
      - alert: RegistryCertificateExpiresSoon
        expr: dcosreg_endpoint_earliest_expiry_timestamp_seconds - time() < 30 * 86400
        for: 1h
        labels:
          severity: warning
        annotations:
          summary: "The registry certificate chain for {{ $labels.endpoint }} expires within 30 days"
          description: "Renew it with docker dcosreg cert renew; rotate an expiring CA with trust --add."
      - alert: RegistryUntrusted
        expr: dcosreg_endpoint_up == 1 and dcosreg_endpoint_trusted == 0
        for: 15m
        labels:
          severity: critical
        annotations:
          summary: "Docker on {{ $labels.instance }} does not trust the registry at {{ $labels.endpoint }}"
          description: "Run docker dcosreg doctor on that agent."
"#;
