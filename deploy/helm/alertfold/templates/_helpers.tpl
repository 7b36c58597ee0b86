{{/* The release's name for every object, cut to Kubernetes' 63 characters. */}}
{{- define "alertfold.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "alertfold.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Pods of one part: `include "alertfold.selector" (list $ "worker")`. */}}
{{- define "alertfold.selector" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "alertfold.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "alertfold.fullname" .)) -}}
{{- end -}}

{{- define "alertfold.kafkaTlsSecretName" -}}
{{- .Values.kafkaTls.existingSecret | default (printf "%s-kafka-tls" (include "alertfold.fullname" .)) -}}
{{- end -}}

{{- define "alertfold.kafkaTls" -}}
{{- if or .Values.kafkaTls.existingSecret .Values.kafkaTls.files }}true{{ end -}}
{{- end -}}

{{- define "alertfold.apiPort" -}}
{{- (.Values.config.api | default dict).port | default 8080 -}}
{{- end -}}
