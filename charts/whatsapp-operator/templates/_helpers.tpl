{{/*
Chart name, or nameOverride. Kubernetes names stop at 63 characters.
*/}}
{{- define "wao.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Prefix of every resource name. fullnameOverride wins; otherwise the release name, followed by
the chart name unless the release name already contains it (release "whatsapp-operator" gives
"whatsapp-operator", not "whatsapp-operator-whatsapp-operator").
*/}}
{{- define "wao.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "wao.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "wao.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Label values are quoted: a release named "n" or "on" would otherwise be read as a boolean.
*/}}
{{- define "wao.selector" -}}
app.kubernetes.io/name: {{ include "wao.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{- define "wao.labels" -}}
helm.sh/chart: {{ include "wao.chart" . | quote }}
{{ include "wao.selector" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/part-of: whatsapp-operator
{{- end -}}

{{- define "wao.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "wao.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "wao.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "wao.leaseName" -}}
{{- default (include "wao.fullname" .) .Values.leaderElection.leaseName -}}
{{- end -}}

{{/*
An integer value as a quoted string. Helm reads YAML numbers as float64, which a bare
{{ .Values.x }} or `quote` prints in scientific notation from a million up (1.048576e+06);
int64 first keeps every digit. Use for env values and args.
*/}}
{{- define "wao.intString" -}}
{{- . | int64 | toString | quote -}}
{{- end -}}

{{/*
A PodDisruptionBudget bound: a percentage string stays a string, a number becomes an integer.
*/}}
{{- define "wao.intOrPercent" -}}
{{- if kindIs "string" . -}}
{{- . | quote -}}
{{- else -}}
{{- . | int64 -}}
{{- end -}}
{{- end -}}

{{/*
The scheme, host and path Meta must be given as the callback URL, or nothing when no host is
known to the chart.
*/}}
{{- define "wao.callbackUrl" -}}
{{- $host := "" -}}
{{- if and .Values.ingress.enabled .Values.ingress.hosts -}}
{{- $host = first .Values.ingress.hosts -}}
{{- else if and .Values.httpRoute.enabled .Values.httpRoute.hostnames -}}
{{- $host = first .Values.httpRoute.hostnames -}}
{{- end -}}
{{- if $host -}}
{{- printf "https://%s%s" $host .Values.webhook.path -}}
{{- end -}}
{{- end -}}
