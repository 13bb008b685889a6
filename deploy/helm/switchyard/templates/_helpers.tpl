{{- define "switchyard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "switchyard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "switchyard.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "switchyard.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "switchyard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchyard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "switchyard.labels" -}}
{{ include "switchyard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret holding admin-key and secret-key: the user's, or the chart's. */}}
{{- define "switchyard.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "switchyard.fullname" .) -}}
{{- end -}}

{{/* The chart makes a Secret when any key or URL comes from values rather than a Secret of the user's. */}}
{{- define "switchyard.createSecret" -}}
{{- if or (not .Values.secrets.existingSecret) (not .Values.postgresql.existingSecret) (not .Values.redis.existingSecret) -}}
true
{{- end -}}
{{- end -}}
