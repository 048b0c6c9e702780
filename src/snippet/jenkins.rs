//! `snippet jenkins`: agents the Jenkins master starts on demand are containers too; the
//! guide warns they hit "x509: certificate signed by unknown authority" unless they get the
//! host's certs.d. Three ways Jenkins starts them: the Mesos plugin (configured here as
//! JCasC, field names from the plugin's `MesosAgentSpecTemplate.ContainerInfo.Volume`),
//! the Kubernetes plugin (a pod template), and a plain `docker run` agent.
//!
//! `jenkins/inbound-agent` (Debian, glibc) has no docker CLI, so the `agent` section builds
//! an agent image that adds the static one from `docker:cli` and this tool from the release
//! tarball (its glibc-2.17 build runs there), for the credential helper the `job-config`
//! section names. The Jenkinsfile needs only the docker CLI: `withCredentials` binds the
//! registry login for the one `sh` step that runs `docker login --password-stdin` for every
//! spelling of both endpoints.

use super::{
    cred_helpers_json, quote, shell_quote, Context, Language, Section, Snippet, DOCKER_CERTS_D,
};

/// The agent image the `agent` section builds and the Mesos template runs.
const AGENT_IMAGE: &str = "dcosreg-jenkins-agent";

/// The release tarball `./dist.sh` writes, and the directory it unpacks to.
fn release_dir() -> String {
    format!(
        "docker-dcosreg-{}-x86_64-linux-gnu",
        env!("CARGO_PKG_VERSION")
    )
}

pub(super) fn build(context: &Context) -> Snippet {
    Snippet {
        kind: "jenkins",
        sections: vec![
            Section {
                id: "mesos-jcasc",
                title: "Jenkins Mesos plugin: agent volumes (JCasC)".into(),
                format: Language::Yaml,
                content: mesos_jcasc(),
            },
            Section {
                id: "kubernetes-pod",
                title: "Jenkins Kubernetes plugin: pod template with a DinD container".into(),
                format: Language::Yaml,
                content: kubernetes_pod(context),
            },
            Section {
                id: "agent",
                title: "docker build and run: a Jenkins agent with the docker CLI and the credential helper".into(),
                format: Language::Shell,
                content: agent(context),
            },
            Section {
                id: "job-config",
                title: "Without docker login: the job's config.json (credHelpers) for the agent image, with withCredentials binding DCOSREG_USERNAME and DCOSREG_PASSWORD".into(),
                format: Language::Json,
                content: cred_helpers_json(context),
            },
            Section {
                id: "jenkinsfile",
                title: "Jenkinsfile: withCredentials and docker login --password-stdin for every spelling".into(),
                format: Language::Groovy,
                content: jenkinsfile(context),
            },
        ],
        notes: vec![
            "with the host's docker.sock the host daemon pulls and pushes (it already reads the host's certs.d); the certs.d mount serves tools in the agent that verify TLS themselves (buildx, skopeo, a DinD daemon)".into(),
            format!("images: {AGENT_IMAGE} is jenkins/inbound-agent plus the docker CLI of docker:cli and docker-dcosreg; the Kubernetes pod's docker:dind has the docker CLI itself"),
        ],
    }
}

/// The Mesos plugin's agent template (JCasC): the agent image, certs.d and docker.sock.
fn mesos_jcasc() -> String {
    let certs_d = quote(DOCKER_CERTS_D);
    format!(
        r#"# Merge into the mesos cloud of your jenkins.yaml (Configuration as Code).
# {AGENT_IMAGE}: the agent section's image (jenkins/inbound-agent has no docker CLI); build it
# on every agent, or push it where the agents pull from.
jenkins:
  clouds:
    - mesos:
        mesosAgentSpecTemplates:
          - label: "docker"
            mode: EXCLUSIVE
            cpus: "1.0"
            mem: "2048"
            disk: "0.0"
            idleTerminationMinutes: 3
            minExecutors: 1
            maxExecutors: 1
            agentCommandStyle: Linux
            containerInfo:
              type: "DOCKER"
              dockerImage: "{AGENT_IMAGE}"
              networking: HOST
              dockerPrivilegedMode: false
              dockerForcePullImage: false
              isDind: false
              volumes:
                - containerPath: {certs_d}
                  hostPath: {certs_d}
                  readOnly: true
                - containerPath: "/var/run/docker.sock"
                  hostPath: "/var/run/docker.sock"
                  readOnly: false
"#
    )
}

/// The Kubernetes plugin's pod template: a DinD container reading the node's certs.d.
fn kubernetes_pod(context: &Context) -> String {
    let certs_d = quote(DOCKER_CERTS_D);
    format!(
        r#"# Kubernetes plugin: paste as the pod template's raw YAML (podTemplate(yaml: ...)).
# Run the docker steps in this container (container('docker') {{ sh ... }}): docker:dind
# has the docker CLI and its own daemon, which reads the node's certs.d mounted below.
apiVersion: v1
kind: Pod
spec:
  containers:
    - name: docker
      image: docker:dind
      securityContext:
        privileged: true
      env:
        - name: DOCKER_TLS_CERTDIR
          value: ""
        - name: REGISTRY
          value: {registry}
      volumeMounts:
        - name: registry-certs
          mountPath: {certs_d}
          readOnly: true
  volumes:
    - name: registry-certs
      hostPath:
        path: {certs_d}
        type: Directory
"#,
        registry = quote(&context.internal.reference_host()),
    )
}

/// Build the agent image (docker CLI and this tool) and run an inbound agent.
fn agent(context: &Context) -> String {
    let release = release_dir();
    format!(
        "# jenkins/inbound-agent (Debian, glibc) has no docker CLI: this agent image adds the static\n\
         # one from docker:cli, and docker-dcosreg with its credential-helper link from the release\n\
         # tarball (glibc 2.17 and newer), configured for this registry. Run it where\n\
         # {release}.tar.gz is.\n\
         docker build -t {AGENT_IMAGE} -f - . <<'DOCKERFILE'\n\
         FROM docker:cli AS docker-cli\n\
         FROM jenkins/inbound-agent\n\
         COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker\n\
         ADD {release}.tar.gz /opt/\n\
         ENV PATH=/opt/{release}:$PATH \\\n    \
         DCOSREG_INTERNAL={internal} DCOSREG_EXTERNAL={external}\n\
         DOCKERFILE\n\
         # An inbound agent started by hand; JENKINS_URL, JENKINS_SECRET and JENKINS_AGENT_NAME\n\
         # come from the node's page in Jenkins. It runs as the user jenkins: --group-add gives\n\
         # it the host's docker.sock.\n\
         docker run -d --name jenkins-agent \\\n  \
         -e JENKINS_URL -e JENKINS_SECRET -e JENKINS_AGENT_NAME \\\n  \
         --group-add \"$(stat -c %g /var/run/docker.sock)\" \\\n  \
         -v /var/run/docker.sock:/var/run/docker.sock \\\n  \
         -v {DOCKER_CERTS_D}:{DOCKER_CERTS_D}:ro \\\n  \
         {AGENT_IMAGE}\n",
        internal = context.internal.host_port(),
        external = context.external.host_port(),
    )
}

/// The declarative Jenkinsfile: `withCredentials`, then a login for every spelling.
fn jenkinsfile(context: &Context) -> String {
    let logins: String = context
        .registry_names()
        .into_iter()
        .map(|(name, _)| {
            format!(
                "            printf '%s' \"$REGISTRY_PASSWORD\" | docker login --username \"$REGISTRY_USER\" --password-stdin {}\n",
                shell_quote(&name)
            )
        })
        .collect();
    format!(
        r#"// Jenkinsfile (declarative). The login is a "Username with password" credential with the
// id dcos-registry (Manage Jenkins > Credentials), bound for the login step only; the agent
// (label docker: the mesos-jcasc or agent section's image) has the docker CLI.
pipeline {{
  agent {{ label 'docker' }}
  environment {{
    REGISTRY = {registry}
    // docker login writes this build's config.json in its workspace, not in ~/.docker.
    DOCKER_CONFIG = "${{env.WORKSPACE}}/.docker"
  }}
  stages {{
    stage('Registry login') {{
      steps {{
        withCredentials([usernamePassword(credentialsId: 'dcos-registry',
            usernameVariable: 'REGISTRY_USER', passwordVariable: 'REGISTRY_PASSWORD')]) {{
          // Single quotes: the shell reads the secret from its environment, Groovy never
          // interpolates it. Every spelling of both endpoints: Docker looks credentials up
          // by the name the image reference uses.
          sh '''
{logins}          '''
        }}
      }}
    }}
    stage('Pull') {{
      steps {{
        sh 'docker pull "$REGISTRY/my-app:1"'
      }}
    }}
  }}
  post {{
    always {{
      sh 'rm -rf "$DOCKER_CONFIG"'
    }}
  }}
}}
"#,
        registry = groovy_quote(&context.internal.reference_host()),
    )
}

/// A Groovy single-quoted string (no interpolation): `\` and `'` escaped.
fn groovy_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groovy_strings_escape_quotes_and_backslashes() {
        assert_eq!(groovy_quote("192.168.0.1"), "'192.168.0.1'");
        assert_eq!(groovy_quote(r"it's a\b"), r"'it\'s a\\b'");
    }
}
