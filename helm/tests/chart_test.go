package charttest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// variant is one set of values the chart is rendered with.
type variant struct {
	name       string
	sets       []string
	setStrings []string
}

var secretRefs = []string{
	"kafka.existingSecret=kafka-credentials",
	`kafka.secretProperties.sasl\.username=username`,
	`kafka.secretProperties.sasl\.password=password`,
	`kafka.config.security\.protocol=SASL_SSL`,
	`kafka.config.sasl\.mechanisms=SCRAM-SHA-512`,
	"postgres.existingSecret=pg-credentials",
	"postgres.passwordKey=pg-password",
	"analytics.enabled=true",
	"reset.enabled=true",
	"reset.onUninstall=true",
}

var variants = []variant{
	{name: "default"},
	{name: "serviceMonitor", sets: []string{"metrics.serviceMonitor.enabled=true"}},
	{name: "existingSecret", sets: secretRefs},
	{name: "replicas5", sets: []string{"replicaCount=5"}},
	{name: "keda", sets: []string{"keda.enabled=true"}},
	{name: "standbys", sets: []string{"streams.standbyReplicas=2"}},
	{name: "everything", sets: append([]string{
		"metrics.serviceMonitor.enabled=true", "replicaCount=5", "keda.enabled=true",
		"streams.standbyReplicas=1", "generator.enabled=true", "generator.seed=7",
		"streams.threads=2", "streams.partitions=6", "streams.topicPrefix=demo-",
		"dashboards.enabled=true",
	}, secretRefs...)},
}

func render(t *testing.T, v variant) *Rendered {
	t.Helper()
	text, err := Template(ChartDir(), v.sets, v.setStrings)
	if err != nil {
		t.Fatalf("%s: %v", v.name, err)
	}
	r, err := Decode(text)
	if err != nil {
		t.Fatalf("%s: %v", v.name, err)
	}
	return r
}

func TestLintStrict(t *testing.T) {
	for _, v := range variants {
		args := []string{"lint", "--strict", ChartDir(), "--kube-version", KubeVersion}
		for _, s := range v.sets {
			args = append(args, "--set", s)
		}
		if out, err := RunHelm(args...); err != nil {
			t.Errorf("%s: %v\n%s", v.name, err, out)
		}
	}
}

// The checks that hold for every variant.
func TestEveryVariantDecodesStrictlyAndHoldsTheInvariants(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			r := render(t, v)
			checkStreams(t, r)
			checkPodSecurity(t, r)
			checkLabels(t, r)
			checkNoSecretValues(t, r)
			checkPDB(t, r)
		})
	}
}

func theStatefulSet(t *testing.T, r *Rendered) appsv1.StatefulSet {
	t.Helper()
	if len(r.StatefulSets) != 1 {
		t.Fatalf("want one StatefulSet, got %d (%v)", len(r.StatefulSets), r.Objects)
	}
	return r.StatefulSets[0]
}

func container(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return corev1.Container{}
}

// argValue returns the value of "--flag=value" among args ("" and false when absent).
func argValue(args []string, flag string) (string, bool) {
	for _, a := range args {
		if strings.HasPrefix(a, flag+"=") {
			return strings.TrimPrefix(a, flag+"="), true
		}
	}
	return "", false
}

func checkStreams(t *testing.T, r *Rendered) {
	sts := theStatefulSet(t, r)
	spec := sts.Spec.Template.Spec
	c := container(t, spec, "eventflow")
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy %q", sts.Spec.PodManagementPolicy)
	}
	if len(c.Args) == 0 || c.Args[0] != "run" {
		t.Fatalf("args %v do not start with run", c.Args)
	}
	if got := strings.Join(c.Command, " "); got != "/usr/bin/tini -- /usr/local/bin/eventflow" {
		t.Errorf("command %q: tini must be PID 1", got)
	}

	// The state directory lives on the volumeClaimTemplates volume.
	if len(sts.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("volumeClaimTemplates: %d", len(sts.Spec.VolumeClaimTemplates))
	}
	pvc := sts.Spec.VolumeClaimTemplates[0]
	if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.IsZero() {
		t.Errorf("PVC template %s requests no storage", pvc.Name)
	}
	stateDir, ok := argValue(c.Args, "--state-dir")
	if !ok {
		t.Fatalf("no --state-dir in %v", c.Args)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		if m.Name == pvc.Name && (stateDir == m.MountPath || strings.HasPrefix(stateDir, m.MountPath+"/")) {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("--state-dir %s is not on the PVC template's volume %s (%v)", stateDir, pvc.Name, c.VolumeMounts)
	}
	for _, vol := range spec.Volumes {
		if vol.Name == pvc.Name {
			t.Errorf("volume %s shadows the PVC template", vol.Name)
		}
	}
	if p := sts.Spec.PersistentVolumeClaimRetentionPolicy; p == nil || p.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType || p.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		t.Errorf("PVCs must be kept on scale-down and delete: %+v", p)
	}

	// The pod name is the instance id (static membership).
	if id, _ := argValue(c.Args, "--instance-id"); id != "$(POD_NAME)" {
		t.Errorf("--instance-id %q, want $(POD_NAME)", id)
	}
	podName := false
	for _, e := range c.Env {
		if e.Name == "POD_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name" {
			podName = true
		}
	}
	if !podName {
		t.Errorf("POD_NAME is not the downward API's metadata.name: %+v", c.Env)
	}

	// The headless Service gives each pod the DNS name it advertises.
	var headless *corev1.Service
	for i := range r.Services {
		if r.Services[i].Name == sts.Spec.ServiceName {
			headless = &r.Services[i]
		}
	}
	if headless == nil {
		t.Fatalf("serviceName %q is not rendered", sts.Spec.ServiceName)
	}
	if headless.Spec.ClusterIP != corev1.ClusterIPNone || !headless.Spec.PublishNotReadyAddresses {
		t.Errorf("service %s: clusterIP %q publishNotReadyAddresses %v", headless.Name, headless.Spec.ClusterIP, headless.Spec.PublishNotReadyAddresses)
	}
	if !labels.SelectorFromSet(headless.Spec.Selector).Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Errorf("service %s does not select the pods", headless.Name)
	}
	httpPort, _ := argValue(c.Args, "--http-port")
	server, _ := argValue(c.Args, "--application-server")
	want := "$(POD_NAME)." + headless.Name + ".$(POD_NAMESPACE).svc.cluster.local:" + httpPort
	if server != want {
		t.Errorf("--application-server %q, want %q", server, want)
	}
	if addr, _ := argValue(c.Args, "--http-address"); addr != "0.0.0.0" {
		t.Errorf("--http-address %q: the kubelet and the other pods must reach it", addr)
	}

	// Probes: the right paths on the HTTP port.
	port, err := strconv.Atoi(httpPort)
	if err != nil {
		t.Fatalf("--http-port %q", httpPort)
	}
	checkProbe(t, c, "startup", c.StartupProbe, "/readyz", port)
	checkProbe(t, c, "liveness", c.LivenessProbe, "/healthz", port)
	checkProbe(t, c, "readiness", c.ReadinessProbe, "/readyz", port)
	if c.StartupProbe != nil && c.StartupProbe.FailureThreshold*c.StartupProbe.PeriodSeconds < 600 {
		t.Errorf("startup probe allows only %d s for a restore", c.StartupProbe.FailureThreshold*c.StartupProbe.PeriodSeconds)
	}
	if g := spec.TerminationGracePeriodSeconds; g == nil || *g < 60 {
		t.Errorf("terminationGracePeriodSeconds %v: too short for a clean close", g)
	}
	checkSvcPort(t, *headless, c)

	// Memory: the limit is the budget plus the overhead.
	budget, _ := argValue(c.Args, "--memory-budget")
	mib, err := strconv.Atoi(strings.TrimSuffix(budget, "MiB"))
	if err != nil || !strings.HasSuffix(budget, "MiB") {
		t.Fatalf("--memory-budget %q", budget)
	}
	limit := c.Resources.Limits[corev1.ResourceMemory]
	if limit.Value() != int64(mib+256)<<20 {
		t.Errorf("memory limit %s, want budget %d MiB + 256 MiB", limit.String(), mib)
	}
	if req := c.Resources.Requests[corev1.ResourceMemory]; req.Cmp(limit) != 0 {
		t.Errorf("memory request %s != limit %s", req.String(), limit.String())
	}
}

func checkProbe(t *testing.T, c corev1.Container, what string, p *corev1.Probe, path string, port int) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s probe: not an HTTP GET", what)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s probe path %q, want %q", what, p.HTTPGet.Path, path)
	}
	if resolvePort(c, p.HTTPGet.Port) != port {
		t.Errorf("%s probe port %s is not the HTTP port %d", what, p.HTTPGet.Port.String(), port)
	}
}

func resolvePort(c corev1.Container, p intstr.IntOrString) int {
	if p.Type == intstr.Int {
		return p.IntValue()
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort)
		}
	}
	return -1
}

func checkSvcPort(t *testing.T, svc corev1.Service, c corev1.Container) {
	t.Helper()
	for _, p := range svc.Spec.Ports {
		if resolvePort(c, p.TargetPort) < 0 {
			t.Errorf("service %s port %s targets no container port", svc.Name, p.Name)
		}
	}
}

func checkPodSecurity(t *testing.T, r *Rendered) {
	for name, tmpl := range r.PodTemplates() {
		spec := tmpl.Spec
		ps := spec.SecurityContext
		if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser == 0 ||
			ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod security context %+v", name, ps)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s: mounts a service account token", name)
		}
		for _, c := range append(spec.InitContainers, spec.Containers...) {
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.Privileged != nil && *sc.Privileged ||
				sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" ||
				len(sc.Capabilities.Add) != 0 ||
				sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s/%s: container security context %+v", name, c.Name, sc)
			}
			// A read-only root needs a writable /tmp.
			tmp := false
			for _, m := range c.VolumeMounts {
				if m.MountPath == "/tmp" {
					for _, v := range spec.Volumes {
						if v.Name == m.Name && v.EmptyDir != nil {
							tmp = true
						}
					}
				}
			}
			if !tmp {
				t.Errorf("%s/%s: no emptyDir on /tmp", name, c.Name)
			}
			if len(c.Command) < 3 || c.Command[0] != "/usr/bin/tini" || c.Command[1] != "--" {
				t.Errorf("%s/%s: command %v does not run under tini", name, c.Name, c.Command)
			}
		}
	}
}

var requiredLabels = []string{
	"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
	"app.kubernetes.io/managed-by", "app.kubernetes.io/component", "app.kubernetes.io/part-of",
	"helm.sh/chart",
}

func checkLabels(t *testing.T, r *Rendered) {
	for i, m := range r.Metas {
		for _, l := range requiredLabels {
			if m.Labels[l] == "" {
				t.Errorf("%s: no label %s", r.Objects[i], l)
			}
		}
	}
	for name, tmpl := range r.PodTemplates() {
		for _, l := range requiredLabels {
			if tmpl.Labels[l] == "" {
				t.Errorf("%s pods: no label %s", name, l)
			}
		}
		if _, ok := tmpl.Annotations["checksum/config"]; !ok && !strings.HasPrefix(name, "CronJob/") && !strings.HasPrefix(name, "Job/") {
			t.Errorf("%s: no checksum/config annotation", name)
		}
	}
	for _, d := range r.Deployments {
		sel := labels.SelectorFromSet(d.Spec.Selector.MatchLabels)
		if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Deployment %s: selector does not match its pods", d.Name)
		}
	}
	sts := theStatefulSet(t, r)
	if !labels.SelectorFromSet(sts.Spec.Selector.MatchLabels).Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Errorf("StatefulSet selector does not match its pods")
	}
}

// Names of settings that hold secrets (kafka::IsSecretProperty and the tools'
// environment).
var secretName = regexp.MustCompile(`(?i)(password|secret|token|sasl\.username|sasl\.oauthbearer\.client|ssl\.key|keystore|\.pem)`)

func checkNoSecretValues(t *testing.T, r *Rendered) {
	if len(r.Secrets) != 0 {
		t.Errorf("the chart renders Secrets: %d (secrets are only referenced)", len(r.Secrets))
	}
	for _, cm := range r.ConfigMaps {
		if cm.Labels["grafana_dashboard"] == "1" {
			continue
		}
		for k, v := range cm.Data {
			if secretName.MatchString(k) || regexp.MustCompile(`://[^/@]*:[^/@]*@|(?i)password=`).MatchString(v) {
				t.Errorf("ConfigMap %s holds %s=%q", cm.Name, k, v)
			}
		}
	}
	for name, tmpl := range r.PodTemplates() {
		mounts := map[string]corev1.Volume{}
		for _, v := range tmpl.Spec.Volumes {
			mounts[v.Name] = v
		}
		for _, c := range tmpl.Spec.Containers {
			for _, e := range c.Env {
				// A literal value under a secret's name is only ever a path to a mounted secret file.
				if e.Value != "" && secretName.MatchString(e.Name) {
					if !strings.HasSuffix(e.Name, "_FILE") || !onSecretVolume(c, mounts, e.Value) {
						t.Errorf("%s/%s: env %s=%q is a secret literal", name, c.Name, e.Name, e.Value)
					}
				}
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					t.Errorf("%s/%s: env %s from a Secret: secrets are mounted as files", name, c.Name, e.Name)
				}
			}
			for i, a := range c.Args {
				if strings.HasPrefix(a, "--kafka.") && secretName.MatchString(strings.SplitN(a, "=", 2)[0]) {
					t.Errorf("%s/%s: argument %q puts a secret on the command line", name, c.Name, a)
				}
				if a == "--kafka-file" && i+1 < len(c.Args) {
					path := strings.SplitN(c.Args[i+1], "=", 2)
					if len(path) != 2 || !onSecretVolume(c, mounts, path[1]) {
						t.Errorf("%s/%s: --kafka-file %q is not a mounted secret file", name, c.Name, c.Args[i+1])
					}
				}
			}
		}
	}
}

// onSecretVolume: `path` is an item of a Secret volume the container mounts.
func onSecretVolume(c corev1.Container, volumes map[string]corev1.Volume, path string) bool {
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok || v.Secret == nil {
			continue
		}
		for _, item := range v.Secret.Items {
			if filepath.Join(m.MountPath, item.Path) == path {
				return true
			}
		}
	}
	return false
}

func checkPDB(t *testing.T, r *Rendered) {
	if len(r.PDBs) != 1 {
		t.Fatalf("want one PodDisruptionBudget, got %d", len(r.PDBs))
	}
	pdb := r.PDBs[0]
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PDB %s: maxUnavailable %v minAvailable %v", pdb.Name, pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
	}
	sts := theStatefulSet(t, r)
	if !labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Errorf("PDB does not select the streams pods")
	}
	for _, d := range r.Deployments {
		if labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("PDB also selects Deployment %s", d.Name)
		}
	}
}

func TestDefaults(t *testing.T) {
	r := render(t, variants[0])
	sts := theStatefulSet(t, r)
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 3 {
		t.Errorf("replicas %v", sts.Spec.Replicas)
	}
	c := container(t, sts.Spec.Template.Spec, "eventflow")
	if _, ok := argValue(c.Args, "--standby-replicas"); ok {
		t.Errorf("--standby-replicas passed without streams.standbyReplicas")
	}
	if len(r.ServiceMonitors)+len(r.ScaledObjects)+len(r.CronJobs)+len(r.Jobs) != 0 {
		t.Errorf("optional objects rendered by default: %v", r.Objects)
	}
	if len(r.Deployments) != 1 || r.Deployments[0].Name != "rel-eventflow-sink" {
		t.Errorf("want the sink Deployment only: %v", r.Objects)
	}
	ann := sts.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" || ann["prometheus.io/port"] != "8080" {
		t.Errorf("scrape annotations %v", ann)
	}
	if q := sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("10Gi")) != 0 {
		t.Errorf("state volume %s", q.String())
	}
	for _, sa := range r.ServiceAccounts {
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			t.Errorf("service account %s mounts its token", sa.Name)
		}
	}
	sink := r.Deployments[0].Spec.Template.Spec.Containers[0]
	checkProbe(t, sink, "sink liveness", sink.LivenessProbe, "/healthz", 8081)
	checkProbe(t, sink, "sink readiness", sink.ReadinessProbe, "/readyz", 8081)
}

func TestReplicasAndStandbys(t *testing.T) {
	r := render(t, variant{name: "replicas5", sets: []string{"replicaCount=5"}})
	if s := theStatefulSet(t, r); s.Spec.Replicas == nil || *s.Spec.Replicas != 5 {
		t.Errorf("replicas %v, want 5", s.Spec.Replicas)
	}
	r = render(t, variant{name: "standbys", sets: []string{"streams.standbyReplicas=2"}})
	c := container(t, theStatefulSet(t, r).Spec.Template.Spec, "eventflow")
	if v, _ := argValue(c.Args, "--standby-replicas"); v != "2" {
		t.Errorf("--standby-replicas %q, want 2", v)
	}
	r = render(t, variant{name: "budget", sets: []string{"streams.memoryBudgetMiB=2048", "streams.memoryOverheadMiB=512"}})
	c = container(t, theStatefulSet(t, r).Spec.Template.Spec, "eventflow")
	if v, _ := argValue(c.Args, "--memory-budget"); v != "2048MiB" {
		t.Errorf("--memory-budget %q", v)
	}
	if l := c.Resources.Limits[corev1.ResourceMemory]; l.Value() != 2560<<20 {
		t.Errorf("memory limit %s, want 2560Mi", l.String())
	}
}

func TestServiceMonitorScrapesTheInstancesAndTheSink(t *testing.T) {
	r := render(t, variants[1])
	if len(r.ServiceMonitors) != 1 {
		t.Fatalf("ServiceMonitors: %d", len(r.ServiceMonitors))
	}
	sm := r.ServiceMonitors[0]
	sel := labels.SelectorFromSet(sm.Spec.Selector.MatchLabels)
	selected := map[string]bool{}
	for _, svc := range r.Services {
		if sel.Matches(labels.Set(svc.Labels)) {
			selected[svc.Name] = true
			for _, ep := range sm.Spec.Endpoints {
				found := false
				for _, p := range svc.Spec.Ports {
					found = found || p.Name == ep.Port
				}
				if !found {
					t.Errorf("service %s has no port %q", svc.Name, ep.Port)
				}
			}
		}
	}
	if !selected["rel-eventflow-headless"] || !selected["rel-eventflow-sink"] || len(selected) != 2 {
		t.Errorf("ServiceMonitor selects %v", selected)
	}
	for _, ep := range sm.Spec.Endpoints {
		if !ep.HonorLabels || ep.Path != "/metrics" {
			t.Errorf("endpoint %+v: want honorLabels and /metrics", ep)
		}
	}
}

func TestExistingSecretsAreMountedAsFiles(t *testing.T) {
	r := render(t, variants[2])
	for name, tmpl := range r.PodTemplates() {
		c := tmpl.Spec.Containers[0]
		files := map[string]bool{}
		for i, a := range c.Args {
			if a == "--kafka-file" {
				files[strings.SplitN(c.Args[i+1], "=", 2)[0]] = true
			}
		}
		usesKafka := !strings.Contains(name, "analytics")
		if usesKafka && (!files["sasl.username"] || !files["sasl.password"]) {
			t.Errorf("%s: --kafka-file for %v, want sasl.username and sasl.password", name, files)
		}
		if usesKafka {
			if v, _ := argValue(c.Args, "--kafka.security.protocol"); v != "SASL_SSL" {
				t.Errorf("%s: --kafka.security.protocol %q", name, v)
			}
		}
		for _, v := range tmpl.Spec.Volumes {
			if v.Secret == nil {
				continue
			}
			want := map[string]string{"kafka-credentials": "", "pg-credentials": ""}
			if _, ok := want[v.Secret.SecretName]; !ok {
				t.Errorf("%s: volume of unexpected secret %s", name, v.Secret.SecretName)
			}
			if v.Secret.SecretName == "pg-credentials" && (len(v.Secret.Items) != 1 || v.Secret.Items[0].Key != "pg-password") {
				t.Errorf("%s: postgres secret items %+v", name, v.Secret.Items)
			}
		}
		usesPostgres := strings.Contains(name, "sink") || strings.Contains(name, "analytics")
		file := ""
		for _, e := range c.Env {
			if e.Name == "POSTGRES_PASSWORD_FILE" {
				file = e.Value
			}
		}
		if usesPostgres != (file != "") {
			t.Errorf("%s: POSTGRES_PASSWORD_FILE %q", name, file)
		}
	}
}

func TestKedaScalesTheStatefulSetUpToThePartitions(t *testing.T) {
	r := render(t, variants[4])
	if len(r.ScaledObjects) != 1 {
		t.Fatalf("ScaledObjects: %d", len(r.ScaledObjects))
	}
	so := r.ScaledObjects[0]
	sts := theStatefulSet(t, r)
	if so.Spec.ScaleTargetRef == nil || so.Spec.ScaleTargetRef.Kind != "StatefulSet" || so.Spec.ScaleTargetRef.Name != sts.Name || so.Spec.ScaleTargetRef.APIVersion != "apps/v1" {
		t.Errorf("scaleTargetRef %+v", so.Spec.ScaleTargetRef)
	}
	if sts.Spec.Replicas != nil {
		t.Errorf("the StatefulSet keeps replicas %d under KEDA", *sts.Spec.Replicas)
	}
	c := container(t, sts.Spec.Template.Spec, "eventflow")
	partitions, _ := argValue(c.Args, "--partitions")
	if so.Spec.MaxReplicaCount == nil || strconv.Itoa(int(*so.Spec.MaxReplicaCount)) != partitions {
		t.Errorf("maxReplicaCount %v, want the partitions %s", so.Spec.MaxReplicaCount, partitions)
	}
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "kafka" {
		t.Fatalf("triggers %+v", so.Spec.Triggers)
	}
	md := so.Spec.Triggers[0].Metadata
	app, _ := argValue(c.Args, "--application-id")
	if md["consumerGroup"] != app || md["bootstrapServers"] == "" || md["lagThreshold"] == "" {
		t.Errorf("kafka trigger metadata %v", md)
	}
	// The kafka scaler's documented metadata keys only.
	known := map[string]bool{"bootstrapServers": true, "consumerGroup": true, "topic": true, "lagThreshold": true,
		"activationLagThreshold": true, "offsetResetPolicy": true, "allowIdleConsumers": true,
		"excludePersistentLag": true, "scaleToZeroOnInvalidOffset": true, "limitToPartitionsWithLag": true, "version": true}
	for k := range md {
		if !known[k] {
			t.Errorf("unknown kafka trigger metadata %q", k)
		}
	}
	// Two threads an instance: half as many instances can get work.
	r = render(t, variant{name: "keda-threads", sets: []string{"keda.enabled=true", "streams.threads=2", "streams.partitions=5"}})
	if m := r.ScaledObjects[0].Spec.MaxReplicaCount; m == nil || *m != 3 {
		t.Errorf("maxReplicaCount %v, want ceil(5/2) = 3", m)
	}
}

func TestResetJobs(t *testing.T) {
	r := render(t, variants[2])
	if len(r.CronJobs) != 2 || len(r.Jobs) != 1 {
		t.Fatalf("CronJobs %d Jobs %d: %v", len(r.CronJobs), len(r.Jobs), r.Objects)
	}
	var reset *string
	for _, cj := range r.CronJobs {
		if cj.Name == "rel-eventflow-reset" {
			if cj.Spec.Suspend == nil || !*cj.Spec.Suspend {
				t.Errorf("the reset CronJob must be suspended (run by hand)")
			}
			n := cj.Name
			reset = &n
			c := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
			if c.Args[0] != "reset" {
				t.Errorf("reset args %v", c.Args)
			}
			if v, _ := argValue(c.Args, "--application-id"); v != "eventflow" {
				t.Errorf("reset --application-id %q", v)
			}
		}
	}
	if reset == nil {
		t.Errorf("no reset CronJob: %v", r.Objects)
	}
	job := r.Jobs[0]
	if job.Annotations["helm.sh/hook"] != "post-delete" {
		t.Errorf("reset hook annotations %v", job.Annotations)
	}
	// After an uninstall the ConfigMap and the service account are gone.
	spec := job.Spec.Template.Spec
	if spec.ServiceAccountName != "" {
		t.Errorf("the hook uses service account %s, deleted by the uninstall", spec.ServiceAccountName)
	}
	for _, e := range spec.Containers[0].Env {
		if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
			t.Errorf("the hook reads ConfigMap %s, deleted by the uninstall", e.ValueFrom.ConfigMapKeyRef.Name)
		}
	}
}

func TestChecksumFollowsTheConfiguration(t *testing.T) {
	checksum := func(sets ...string) string {
		r := render(t, variant{name: "checksum", sets: sets})
		return theStatefulSet(t, r).Spec.Template.Annotations["checksum/config"]
	}
	base := checksum()
	if base == "" {
		t.Fatal("no checksum/config")
	}
	if checksum("kafka.bootstrapServers=other:9092") == base {
		t.Errorf("changing the bootstrap servers leaves the checksum")
	}
	if checksum("replicaCount=7") != base {
		t.Errorf("scaling changes the checksum (it would restart every pod)")
	}
}

func TestBadValuesAreRefusedAtInstall(t *testing.T) {
	cases := []struct {
		set, want string
	}{
		{"streams.threads=0", "/streams/threads"},
		{"streams.processingGuarantee=exactly_once", "/streams/processingGuarantee"},
		{"streams.emit=sometimes", "/streams/emit"},
		{"replicaCount=-1", "/replicaCount"},
		{"streams.memoryBudgetMiB=8", "/streams/memoryBudgetMiB"},
		{"streams.httpPort=70000", "/streams/httpPort"},
		{"streams.standbyReplicas=-1", "/streams/standbyReplicas"},
		{"applicationId=has space", "/applicationId"},
		{"kafka.bootstrapServers=", "/kafka/bootstrapServers"},
		{`kafka.config.sasl\.password=hunter2`, "sasl.password"},
		{`kafka.config.ssl\.key\.password=hunter2`, "ssl.key.password"},
		{`kafka.config.sasl\.username=alice`, "sasl.username"},
		{"postgres.url=postgresql://analytics:hunter2@db:5432/analytics", "/postgres/url"},
		{"postgres.url=host=db password=hunter2", "/postgres/url"},
		{"reset.inputOffsets=middle", "/reset/inputOffsets"},
		{"analytics.format=xml", "/analytics/format"},
		{"sink.batchMs=soon", "/sink/batchMs"},
		{"keda.maxReplicaCount=0", "/keda/maxReplicaCount"},
		{"podDisruptionBudget.maxUnavailable=0", "/podDisruptionBudget/maxUnavailable"},
		{"streams.persistence.size=lots", "/streams/persistence/size"},
		{"strems.threads=2", "strems"},
		{`kafka.secretProperties.sasl\.password=password`, "kafka.secretProperties needs kafka.existingSecret"},
		{"postgres.url=", "postgres.url is required"},
	}
	for _, c := range cases {
		out, err := Template(ChartDir(), []string{c.set}, nil)
		if err == nil {
			t.Errorf("--set %s: accepted", c.set)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("--set %s: error does not name %q: %v", c.set, c.want, err)
		}
		if strings.Contains(out+err.Error(), "hunter2") && !strings.Contains(c.set, "hunter2") {
			t.Errorf("--set %s: secret in output", c.set)
		}
	}
}

// The dashboards in the chart's dashboards/ folder become ConfigMaps for
// Grafana's sidecar: on a copy of the chart, with the repository's dashboards
// (when there are any) and a stand-in file.
func TestDashboardsBecomeLabelledConfigMaps(t *testing.T) {
	dir := t.TempDir()
	chart := filepath.Join(dir, "eventflow")
	if err := copyTree(ChartDir(), chart); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	entries, _ := filepath.Glob(filepath.Join(RepoDir(), "dashboards", "*.json"))
	for _, src := range entries {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		want[filepath.Base(src)] = string(b)
	}
	standIn := "{\n  \"uid\": \"chart-test\",\n  \"title\": \"stand-in\",\n  \"panels\": []\n}"
	want["chart_test.json"] = standIn
	for name, content := range want {
		if err := os.WriteFile(filepath.Join(chart, "dashboards", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text, err := Template(chart, []string{"dashboards.enabled=true"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, cm := range r.ConfigMaps {
		if cm.Labels["grafana_dashboard"] != "1" {
			continue
		}
		if len(cm.Data) != 1 {
			t.Errorf("ConfigMap %s holds %d entries", cm.Name, len(cm.Data))
		}
		for k, v := range cm.Data {
			got[k] = v
		}
	}
	for name, content := range want {
		// A block scalar (|-) cannot keep a file's final newline; the JSON is
		// the same either way.
		if strings.TrimRight(got[name], "\n") != strings.TrimRight(content, "\n") {
			t.Errorf("dashboard %s: ConfigMap content differs (%d bytes, want %d)", name, len(got[name]), len(content))
		}
	}
	if len(got) != len(want) {
		t.Errorf("dashboard ConfigMaps %v, want %v", SortedKeys(got), SortedKeys(want))
	}
	// Off: none.
	text, err = Template(chart, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "grafana_dashboard") {
		t.Errorf("dashboards rendered while disabled")
	}
}

func copyTree(src, dst string) error {
	return filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if filepath.Dir(rel) == "dashboards" && filepath.Ext(rel) == ".json" {
			return nil // the test decides which dashboards there are
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// NOTES.txt as `helm install` prints it. `helm template` does not render it
// and `helm install --dry-run` wants a cluster, so a copy of the chart
// renders it into a ConfigMap: NOTES.txt becomes a named template.
func TestNotesSayHowToScaleAndWhereMetricsAre(t *testing.T) {
	chart := filepath.Join(t.TempDir(), "eventflow")
	if err := copyTree(ChartDir(), chart); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(chart, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(chart, "templates", "NOTES.txt")); err != nil {
		t.Fatal(err)
	}
	wrapped := "{{- define \"charttest.notes\" -}}\n" + string(notes) + "\n{{- end }}\n"
	render := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include \"charttest.notes\" . | quote }}\n"
	if err := os.WriteFile(filepath.Join(chart, "templates", "_charttest_notes.tpl"), []byte(wrapped), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(chart, "templates", "charttest-notes.yaml"), []byte(render), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range []variant{variants[0], variants[len(variants)-1]} {
		text, err := Template(chart, v.sets, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Decode(text)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, cm := range r.ConfigMaps {
			if cm.Name == "notes" {
				out = cm.Data["notes"]
			}
		}
		for _, want := range []string{"kubectl -n ns scale statefulset rel-eventflow --replicas=N",
			"--set replicaCount=N", "/metrics", "/readyz", "keeps the state volumes"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: NOTES lack %q:\n%s", v.name, want, out)
			}
		}
	}
}
