// Package charttest renders the helm/eventflow chart with the helm binary and
// decodes every rendered object strictly into its Kubernetes API type (an
// unknown or misspelt field fails the decode), for the assertions in
// chart_test.go.
package charttest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// KubeVersion is the cluster version the chart is rendered for (Chart.yaml
// asks for >= 1.27: persistentVolumeClaimRetentionPolicy).
const KubeVersion = "1.30.0"

// ScaledObject mirrors KEDA's keda.sh/v1alpha1 ScaledObject (the fields of
// kedacore/keda apis/keda/v1alpha1/scaledobject_types.go that a ScaledObject
// may set), so that it too is decoded strictly. KEDA's Go module is not a
// dependency: it brings a controller runtime with it.
type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ScaledObjectSpec `json:"spec"`
}

// ScaledObjectSpec mirrors KEDA's ScaledObjectSpec.
type ScaledObjectSpec struct {
	ScaleTargetRef        *ScaleTarget    `json:"scaleTargetRef"`
	PollingInterval       *int32          `json:"pollingInterval,omitempty"`
	InitialCooldownPeriod *int32          `json:"initialCooldownPeriod,omitempty"`
	CooldownPeriod        *int32          `json:"cooldownPeriod,omitempty"`
	IdleReplicaCount      *int32          `json:"idleReplicaCount,omitempty"`
	MinReplicaCount       *int32          `json:"minReplicaCount,omitempty"`
	MaxReplicaCount       *int32          `json:"maxReplicaCount,omitempty"`
	Triggers              []ScaleTriggers `json:"triggers"`
}

// ScaleTarget mirrors KEDA's ScaleTarget.
type ScaleTarget struct {
	Name                   string `json:"name"`
	APIVersion             string `json:"apiVersion,omitempty"`
	Kind                   string `json:"kind,omitempty"`
	EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
}

// ScaleTriggers mirrors KEDA's ScaleTriggers.
type ScaleTriggers struct {
	Type              string             `json:"type"`
	Name              string             `json:"name,omitempty"`
	UseCachedMetrics  bool               `json:"useCachedMetrics,omitempty"`
	Metadata          map[string]string  `json:"metadata"`
	AuthenticationRef *AuthenticationRef `json:"authenticationRef,omitempty"`
	MetricType        string             `json:"metricType,omitempty"`
}

// AuthenticationRef mirrors KEDA's AuthenticationRef.
type AuthenticationRef struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

// Rendered holds every object of one rendering, by kind, decoded strictly.
type Rendered struct {
	Text            string
	ConfigMaps      []corev1.ConfigMap
	Secrets         []corev1.Secret
	Services        []corev1.Service
	ServiceAccounts []corev1.ServiceAccount
	StatefulSets    []appsv1.StatefulSet
	Deployments     []appsv1.Deployment
	CronJobs        []batchv1.CronJob
	Jobs            []batchv1.Job
	PDBs            []policyv1.PodDisruptionBudget
	ServiceMonitors []monitoringv1.ServiceMonitor
	ScaledObjects   []ScaledObject
	// Objects lists "Kind/name" of every object in rendering order.
	Objects []string
	// Metas holds every object's metadata, in the order of Objects.
	Metas []metav1.ObjectMeta
}

// Helm returns the helm binary: $HELM, else the one scripts/deps installs.
func Helm() string {
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	return filepath.Join(RepoDir(), ".cache", "go", "bin", "helm")
}

// RepoDir returns the repository's root ($EVENTFLOW_SOURCE_DIR, else two
// folders above this package).
func RepoDir() string {
	if d := os.Getenv("EVENTFLOW_SOURCE_DIR"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// ChartDir returns helm/eventflow.
func ChartDir() string { return filepath.Join(RepoDir(), "helm", "eventflow") }

// RunHelm runs helm with args; returns stdout, and stderr in the error.
func RunHelm(args ...string) (string, error) {
	cmd := exec.Command(Helm(), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("helm %s: %v: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

// Template renders `chart` as release "rel" in namespace "ns" with the
// --set values (and --set-string values) given.
func Template(chart string, sets []string, setStrings []string) (string, error) {
	args := []string{"template", "rel", chart, "--namespace", "ns", "--kube-version", KubeVersion}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	for _, s := range setStrings {
		args = append(args, "--set-string", s)
	}
	return RunHelm(args...)
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// decodeStrict decodes one YAML document into out, refusing unknown fields.
func decodeStrict(doc []byte, out any) error {
	return yaml.UnmarshalStrict(doc, out)
}

// Decode splits a rendering into documents and decodes each strictly into
// the type of its kind; an unexpected kind is an error.
func Decode(text string) (*Rendered, error) {
	r := &Rendered{Text: text}
	for _, doc := range docSeparator.Split(text, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var head struct {
			APIVersion string            `json:"apiVersion"`
			Kind       string            `json:"kind"`
			Metadata   metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			return nil, fmt.Errorf("not YAML: %v\n%s", err, doc)
		}
		var err error
		switch head.APIVersion + " " + head.Kind {
		case "v1 ConfigMap":
			err = decodeInto(doc, &r.ConfigMaps)
		case "v1 Secret":
			err = decodeInto(doc, &r.Secrets)
		case "v1 Service":
			err = decodeInto(doc, &r.Services)
		case "v1 ServiceAccount":
			err = decodeInto(doc, &r.ServiceAccounts)
		case "apps/v1 StatefulSet":
			err = decodeInto(doc, &r.StatefulSets)
		case "apps/v1 Deployment":
			err = decodeInto(doc, &r.Deployments)
		case "batch/v1 CronJob":
			err = decodeInto(doc, &r.CronJobs)
		case "batch/v1 Job":
			err = decodeInto(doc, &r.Jobs)
		case "policy/v1 PodDisruptionBudget":
			err = decodeInto(doc, &r.PDBs)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			err = decodeInto(doc, &r.ServiceMonitors)
		case "keda.sh/v1alpha1 ScaledObject":
			err = decodeInto(doc, &r.ScaledObjects)
		default:
			return nil, fmt.Errorf("unexpected object %s %s/%s", head.APIVersion, head.Kind, head.Metadata.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: strict decode: %v", head.Kind, head.Metadata.Name, err)
		}
		r.Objects = append(r.Objects, head.Kind+"/"+head.Metadata.Name)
		r.Metas = append(r.Metas, head.Metadata)
	}
	return r, nil
}

func decodeInto[T any](doc string, list *[]T) error {
	var v T
	if err := decodeStrict([]byte(doc), &v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// PodTemplates returns every pod template of the rendering with the name of
// its workload ("StatefulSet/rel-eventflow", ...), sorted by name.
func (r *Rendered) PodTemplates() map[string]corev1.PodTemplateSpec {
	out := map[string]corev1.PodTemplateSpec{}
	for _, s := range r.StatefulSets {
		out["StatefulSet/"+s.Name] = s.Spec.Template
	}
	for _, d := range r.Deployments {
		out["Deployment/"+d.Name] = d.Spec.Template
	}
	for _, c := range r.CronJobs {
		out["CronJob/"+c.Name] = c.Spec.JobTemplate.Spec.Template
	}
	for _, j := range r.Jobs {
		out["Job/"+j.Name] = j.Spec.Template
	}
	return out
}

// SortedKeys returns the keys of m in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
