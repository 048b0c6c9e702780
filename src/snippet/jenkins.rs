//! `snippet jenkins`: agents the Jenkins master starts on demand are containers too; the
//! guide warns they hit "x509: certificate signed by unknown authority" unless they get the
//! host's certs.d. Three ways Jenkins starts them: the Mesos plugin (configured here as
//! JCasC, field names from the plugin's `MesosAgentSpecTemplate.ContainerInfo.Volume`),
//! the Kubernetes plugin (a pod template), and a plain `docker run` agent.

use super::{cred_helpers_json, quote, Context, Language, Section, Snippet, DOCKER_CERTS_D};

pub(super) fn build(context: &Context) -> Snippet {
    let certs_d = quote(DOCKER_CERTS_D);
    let mesos = format!(
        r#"# Merge into the mesos cloud of your jenkins.yaml (Configuration as Code).
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
              dockerImage: "jenkins/inbound-agent:latest"
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
    );
    let pod = format!(
        r#"# Kubernetes plugin: paste as the pod template's raw YAML (podTemplate(yaml: ...)).
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
    );
    let agent = format!(
        "# An inbound agent started by hand; JENKINS_URL, JENKINS_SECRET and JENKINS_AGENT_NAME\n\
         # come from the node's page in Jenkins.\n\
         docker run -d --name jenkins-agent \\\n  \
         -e JENKINS_URL -e JENKINS_SECRET -e JENKINS_AGENT_NAME \\\n  \
         -v /var/run/docker.sock:/var/run/docker.sock \\\n  \
         -v {DOCKER_CERTS_D}:{DOCKER_CERTS_D}:ro \\\n  \
         jenkins/inbound-agent\n"
    );
    let helpers = cred_helpers_json(context);
    let login = format!(
        "# Jenkinsfile: bind a \"Username with password\" credential (id dcos-registry) to the\n\
         # variables docker-credential-dcosreg reads; nothing is stored on the agent:\n\
         #   withCredentials([usernamePassword(credentialsId: 'dcos-registry',\n\
         #       usernameVariable: 'DCOSREG_USERNAME', passwordVariable: 'DCOSREG_PASSWORD')]) {{\n\
         #     sh(script: '...this script...')\n\
         #   }}\n\
         # The agent needs docker-credential-dcosreg on PATH (install.sh, or the binary copied\n\
         # under that name).\n\
         export DOCKER_CONFIG=\"${{WORKSPACE:-$PWD}}/.docker\"\n\
         mkdir -p \"$DOCKER_CONFIG\"\n\
         cat > \"$DOCKER_CONFIG/config.json\" <<'JSON'\n{helpers}JSON\n\
         docker pull {image}\n",
        image = super::shell_quote(&format!("{}/my-app:1", context.internal.reference_host())),
    );
    Snippet {
        kind: "jenkins",
        sections: vec![
            Section {
                id: "mesos-jcasc",
                title: "Jenkins Mesos plugin: agent volumes (JCasC)".into(),
                format: Language::Yaml,
                content: mesos,
            },
            Section {
                id: "kubernetes-pod",
                title: "Jenkins Kubernetes plugin: pod template with a DinD container".into(),
                format: Language::Yaml,
                content: pod,
            },
            Section {
                id: "agent",
                title: "docker run: a Jenkins agent".into(),
                format: Language::Shell,
                content: agent,
            },
            Section {
                id: "job-config",
                title: "CI job credentials: the job's config.json (credHelpers)".into(),
                format: Language::Json,
                content: helpers,
            },
            Section {
                id: "jenkinsfile",
                title: "CI job credentials: Jenkinsfile sh step with the login as secret variables".into(),
                format: Language::Shell,
                content: login,
            },
        ],
        notes: vec![
            "with the host's docker.sock the host daemon pulls and pushes (it already reads the host's certs.d); the certs.d mount serves tools in the agent that verify TLS themselves (buildx, skopeo, a DinD daemon)".into(),
        ],
    }
}
