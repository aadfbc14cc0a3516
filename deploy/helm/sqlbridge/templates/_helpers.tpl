{{/* The chart's name, at most 63 characters (a DNS label). */}}
{{- define "sqlbridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The name of every object of the release: the release name, with the chart's name unless it holds it already. */}}
{{- define "sqlbridge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sqlbridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sqlbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sqlbridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" }}
{{ include "sqlbridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The Secret holding secret.files and secret.env: the chart's own, or secret.existingSecret. */}}
{{- define "sqlbridge.secretName" -}}
{{- default (include "sqlbridge.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}

{{/*
The configuration file: `config` from the values, with the demo environment when it names none, and the metrics
listener opened to Prometheus when metrics.enabled (off loopback it needs a token: sqlbridge reads it from
METRICS_TOKEN).
*/}}
{{- define "sqlbridge.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- if not $config.environments -}}
{{- $demo := dict "demo" (dict "description" "Demo data of an online retailer." "database" (dict "engine" "demo")) -}}
{{- $config = mergeOverwrite $config (dict "environments" $demo) -}}
{{- end -}}
{{- if .Values.metrics.enabled -}}
{{- $metrics := dict "enabled" true "host" "0.0.0.0" "port" .Values.metrics.port "token" "${METRICS_TOKEN}" -}}
{{- $config = mergeOverwrite $config (dict "metrics" $metrics) -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* Settings that cannot work together stop the render with a message naming the value to change. */}}
{{- define "sqlbridge.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.redis.url) -}}
{{- fail "replicaCount above 1 needs redis.url: replicas share OAuth clients, grants, keys and rate limits through Redis (docs/operations.md, \"Several replicas\")" -}}
{{- end -}}
{{- if and .Values.redis.url (not (or (hasPrefix "redis://" .Values.redis.url) (hasPrefix "rediss://" .Values.redis.url))) -}}
{{- fail "redis.url must start with redis:// or rediss://" -}}
{{- end -}}
{{- if and .Values.persistence.enabled (gt (int .Values.replicaCount) 1) -}}
{{- fail "persistence.enabled needs replicaCount 1: a ReadWriteOnce volume holds one pod's data directory; with several replicas the OAuth state is in Redis and each pod's data directory is an emptyDir" -}}
{{- end -}}
{{- if and .Values.metrics.enabled (not (hasKey .Values.secret.env "METRICS_TOKEN")) -}}
{{- fail "metrics.enabled needs secret.env.METRICS_TOKEN: the bearer token Prometheus sends, required when the metrics listener leaves loopback" -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.enabled) -}}
{{- fail "metrics.serviceMonitor.enabled needs metrics.enabled" -}}
{{- end -}}
{{- if and .Values.trustProxy (not .Values.publicUrl) -}}
{{- fail "trustProxy needs publicUrl: behind proxies, sqlbridge builds OAuth issuers and token audiences from the URL clients reach it at, never from forwarded headers" -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.publicUrl) -}}
{{- fail "ingress.enabled needs publicUrl: the https URL clients reach sqlbridge at, e.g. https://data.example.com" -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.hosts) -}}
{{- fail "ingress.enabled needs ingress.hosts: at least one host name" -}}
{{- end -}}
{{- range $key, $value := .Values.secret.env -}}
{{- if hasKey $.Values.secret.files $key -}}
{{- fail (printf "secret.env.%s and secret.files.%s: give a secret as a file or as a variable, not both" $key $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
