# Sourced by scripts/deps and scripts/chart (and read by helm/CMakeLists.txt):
# the Go toolchain and the project-local Go directories. Every Go download and
# build (helm, the chart tests' modules) stays under <repo>/.cache/go.
#
# eventflow_go_env <repo>: exports GOPATH, GOMODCACHE, GOCACHE, GOBIN and
# GOFLAGS=-modcacherw for <repo>/.cache/go, and puts a Go on PATH
# (PATH's go, else /usr/local/go/bin/go).
eventflow_go_env() {
  local root="$1/.cache/go"
  export GOPATH="$root" GOMODCACHE="$root/mod" GOCACHE="$root/build" GOBIN="$root/bin"
  export GOFLAGS=-modcacherw
  if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  fi
}

# The Helm the chart tests use. v3.22.0 is served by the module proxy but not
# approved for use here; v3.21.4 is the newest that is.
EVENTFLOW_HELM_VERSION=v3.21.4
# Helm's default Kubernetes version (for `helm template` and `lint` without a
# cluster) comes from ldflags its Makefile sets from client-go (v0.36 -> 1.36);
# `go install` alone leaves 1.20, below the chart's kubeVersion.
EVENTFLOW_HELM_LDFLAGS="-X helm.sh/helm/v3/internal/version.version=$EVENTFLOW_HELM_VERSION \
-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=36 \
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=36"
