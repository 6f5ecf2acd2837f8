{{/* Names, labels and the pieces every component shares. */}}

{{- define "eventflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's base name; components append "-sink", "-reset", ... (52
characters leave room for them and for a StatefulSet's pod ordinal). */}}
{{- define "eventflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "eventflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels of a component: (dict "root" $ "component" "streams"). */}}
{{- define "eventflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eventflow.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of a component's objects. */}}
{{- define "eventflow.labels" -}}
{{ include "eventflow.selectorLabels" . }}
helm.sh/chart: {{ include "eventflow.chart" .root }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: eventflow
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "eventflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "eventflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "eventflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "eventflow.headlessServiceName" -}}
{{- printf "%s-headless" (include "eventflow.fullname" .) }}
{{- end }}

{{/* Where mounted secrets live in every container. */}}
{{- define "eventflow.kafkaSecretDir" -}}/etc/eventflow/secrets/kafka{{- end }}
{{- define "eventflow.postgresSecretDir" -}}/etc/eventflow/secrets/postgres{{- end }}

{{/* The librdkafka arguments every Kafka client gets: the plain settings
(--kafka.<property>=<value>) and the secret ones read from their mounted
files (--kafka-file <property>=<path>), in a stable order. */}}
{{- define "eventflow.kafkaArgs" -}}
{{- range $key := keys .Values.kafka.config | sortAlpha }}
- {{ printf "--kafka.%s=%v" $key (index $.Values.kafka.config $key) | quote }}
{{- end }}
{{- range $property := keys .Values.kafka.secretProperties | sortAlpha }}
- --kafka-file
- {{ printf "%s=%s/%s" $property (include "eventflow.kafkaSecretDir" $) $property | quote }}
{{- end }}
{{- end }}

{{/* Refuses values that would put a secret where it does not belong. The
schema refuses most; this covers what JSON Schema cannot say. */}}
{{- define "eventflow.validate" -}}
{{- if and (gt (len .Values.kafka.secretProperties) 0) (not .Values.kafka.existingSecret) }}
{{- fail "kafka.secretProperties needs kafka.existingSecret: the Secret that holds them" }}
{{- end }}
{{- range $property := keys .Values.kafka.secretProperties }}
{{- if hasKey $.Values.kafka.config $property }}
{{- fail (printf "kafka.config.%s is also in kafka.secretProperties: give it once, by reference" $property) }}
{{- end }}
{{- end }}
{{- if and (or .Values.sink.enabled .Values.analytics.enabled) (not .Values.postgres.url) }}
{{- fail "postgres.url is required when sink.enabled or analytics.enabled" }}
{{- end }}
{{- end }}

{{/* Volumes holding the referenced Secrets (none when nothing is referenced). */}}
{{- define "eventflow.secretVolumes" -}}
{{- if .Values.kafka.existingSecret }}
- name: kafka-secrets
  secret:
    secretName: {{ .Values.kafka.existingSecret }}
    defaultMode: 0440
    items:
      {{- range $property := keys .Values.kafka.secretProperties | sortAlpha }}
      - key: {{ index $.Values.kafka.secretProperties $property }}
        path: {{ $property }}
      {{- end }}
{{- end }}
{{- end }}

{{- define "eventflow.postgresSecretVolume" -}}
{{- if .Values.postgres.existingSecret }}
- name: postgres-secret
  secret:
    secretName: {{ .Values.postgres.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.postgres.passwordKey }}
        path: password
{{- end }}
{{- end }}

{{- define "eventflow.kafkaSecretMount" -}}
{{- if .Values.kafka.existingSecret }}
- name: kafka-secrets
  mountPath: {{ include "eventflow.kafkaSecretDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "eventflow.postgresSecretMount" -}}
{{- if .Values.postgres.existingSecret }}
- name: postgres-secret
  mountPath: {{ include "eventflow.postgresSecretDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{/* The PostgreSQL environment of the sink and the analytics: the URL and
user from the ConfigMap, the password only as a file reference. */}}
{{- define "eventflow.postgresEnv" -}}
- name: POSTGRES_URL
  valueFrom:
    configMapKeyRef:
      name: {{ include "eventflow.fullname" . }}-config
      key: POSTGRES_URL
- name: POSTGRES_USER
  valueFrom:
    configMapKeyRef:
      name: {{ include "eventflow.fullname" . }}-config
      key: POSTGRES_USER
{{- if .Values.postgres.existingSecret }}
- name: POSTGRES_PASSWORD_FILE
  value: {{ include "eventflow.postgresSecretDir" . }}/password
{{- end }}
{{- end }}

{{/* Every component's environment from the ConfigMap. */}}
{{- define "eventflow.commonEnv" -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  valueFrom:
    configMapKeyRef:
      name: {{ include "eventflow.fullname" . }}-config
      key: KAFKA_BOOTSTRAP_SERVERS
{{- end }}

{{/* The checksum that rolls the pods when the configuration changes. */}}
{{- define "eventflow.configChecksum" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end }}

{{/* The scrape annotations of a component's pods: (dict "root" $ "port" 8080). */}}
{{- define "eventflow.scrapeAnnotations" -}}
{{- if .root.Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end }}

{{/* The tmp volume (the root filesystem is read-only). */}}
{{- define "eventflow.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end }}
