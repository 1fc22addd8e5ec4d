{{- define "wao.name" -}}whatsapp-operator{{- end -}}
{{- define "wao.fullname" -}}{{ .Release.Name }}-whatsapp-operator{{- end -}}
{{- define "wao.labels" -}}
app.kubernetes.io/name: {{ include "wao.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "wao.selector" -}}
app.kubernetes.io/name: {{ include "wao.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
