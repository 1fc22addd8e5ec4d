{{/*
The chart's alerts, as YAML: alert name -> group, scope, severity, for, expr, summary,
description. prometheusrule.yaml applies the overrides of metrics.prometheusRule.alerts and
renders them. Prometheus template expressions in annotations are written {{`{{ ... }}`}} so
Helm leaves them to Prometheus.

Every expression selects this release's series with metrics.prometheusRule.selector (the job
the ServiceMonitor gives them by default). Per-resource series carry the resource's own
`namespace` and `name` (serviceMonitor.honorLabels keeps them); the rules aggregate by those
two, so an alert names the channel, account or template, in its namespace, whichever replica
exports it.
Alerts with scope "operator" are about the operator as a whole and get the release namespace.

States that are normal while a number is onboarded never fire: the per-number alerts leave
out the onboarding phases (`channel_phase`), Meta statuses of numbers not registered yet
(PENDING, UNVERIFIED, UNKNOWN), and ObserveOnly numbers that are not registered on the Cloud
API (`channel_info{management="ObserveOnly"}` without `Registered` True). A state another alert
names (stalled, banned, restricted, flagged, blocked) is left out of the Not Ready alerts; the
same goes for templates: a Rejected or Disabled stall is the Rejected or Disabled alert, not a
second Stalled one, and a paused or disabled template's RED quality is the Paused or Disabled
alert (and a RED template edited back into Meta's review, PENDING, is being dealt with).

Every selection of an enum state (phase, Meta status, quality, health, condition) compares
`== 1`: with metrics.stateSets=full the other known values are exported as 0, and a selector
on the label alone would match them. tests/alerts/ has a case with those 0 series per alert.
docs/runbooks.md has a section per alert; keep both in step (hack/check-alerts.sh checks).
*/}}
{{- define "wao.alertSelector" -}}
{{- .Values.metrics.prometheusRule.selector | default (printf "job=%q" (include "wao.fullname" .)) -}}
{{- end -}}

{{- define "wao.alerts" -}}
{{- $s := include "wao.alertSelector" . -}}
{{- $onboarding := "PENDING|UNVERIFIED|UNKNOWN" -}}
{{- $onboardingPhases := "Pending|Adding|AwaitingDisplayName|AwaitingVerificationCode|Registering|Deleting" -}}
{{- $observedUnregistered := printf "(max by (namespace, name) (whatsapp_operator_channel_info{%s,management=\"ObserveOnly\"}) unless on (namespace, name) max by (namespace, name) (whatsapp_operator_channel_condition{%s,condition=\"Registered\",status=\"True\"}) == 1)" $s $s -}}
WhatsAppOperatorDown:
  group: operator
  scope: operator
  severity: critical
  for: 5m
  expr: |-
    absent(up{ {{- $s -}} } == 1)
  summary: "whatsapp-operator is down or not scraped"
  description: >-
    No whatsapp-operator target ({{ $s }}) has been up for 5 minutes. Nothing reconciles
    channels or accounts, Meta webhooks are not received, and the per-channel alerts are silent
    because their series are gone with the operator.
WhatsAppOperatorMetricsAbsent:
  group: operator
  scope: operator
  severity: warning
  for: 10m
  expr: |-
    absent(whatsapp_operator_leader{ {{- $s -}} })
    unless on ()
    absent(up{ {{- $s -}} } == 1)
  summary: "whatsapp-operator targets are up but export no operator metrics"
  description: >-
    Targets of {{ $s }} answer scrapes, but whatsapp_operator_leader, which every replica
    exports from its start, has been missing for 10 minutes: the scrape reaches something else
    or drops the operator's series, and every other alert of the operator is blind.
WhatsAppOperatorNoLeader:
  group: operator
  scope: operator
  severity: critical
  for: 5m
  expr: |-
    max(whatsapp_operator_leader{ {{- $s -}} }) < 1
  summary: "No whatsapp-operator replica is the leader"
  description: >-
    whatsapp-operator replicas are running but none has held the leader Lease for 5 minutes:
    no replica reconciles channels or accounts, and webhook facts are dropped.
WhatsAppOperatorReconcileErrors:
  group: operator
  scope: operator
  severity: warning
  for: 15m
  expr: |-
    sum by (controller) (rate(whatsapp_operator_reconciles_total{ {{- $s -}} ,result!="success"}[10m]))
    /
    sum by (controller) (rate(whatsapp_operator_reconciles_total{ {{- $s -}} }[10m]))
    > 0.1
  summary: "More than 10% of whatsapp-operator {{`{{ $labels.controller }}`}} reconciles fail"
  description: >-
    {{`{{ $value | humanizePercentage }}`}} of the {{`{{ $labels.controller }}`}} controller's
    reconciles failed over the last 10 minutes, for 15 minutes.
WhatsAppOperatorGraphBudget:
  group: meta
  scope: operator
  severity: warning
  for: 10m
  expr: |-
    max by (waba_id, kind) (whatsapp_operator_graph_usage_ratio{ {{- $s -}} }) > 0.8
  summary: "WABA {{`{{ $labels.waba_id }}`}} uses over 80% of Meta's rate limit ({{`{{ $labels.kind }}`}})"
  description: >-
    Meta reports {{`{{ $value | humanizePercentage }}`}} of the {{`{{ $labels.kind }}`}} budget
    used for {{`{{ $labels.waba_id }}`}}; at 100% Meta throttles every call for that WABA, the
    operator's and those of whatever sends messages with the same app.
WhatsAppMetaAuthErrors:
  group: meta
  scope: operator
  severity: critical
  expr: |-
    sum by (endpoint) (
      (
        whatsapp_operator_graph_requests_total{ {{- $s -}} ,outcome="auth"}
        unless
        whatsapp_operator_graph_requests_total{ {{- $s -}} ,outcome="auth"} offset 15m
      )
      or
      increase(whatsapp_operator_graph_requests_total{ {{- $s -}} ,outcome="auth"}[15m])
    ) > 0
  summary: "Meta refused the access token ({{`{{ $labels.endpoint }}`}})"
  description: >-
    Graph calls to {{`{{ $labels.endpoint }}`}} failed with an authentication or permission
    error in the last 15 minutes: a token expired, was revoked or lacks
    whatsapp_business_management. The account stalls until its Secret changes.
WhatsAppMetaThrottled:
  group: meta
  scope: operator
  severity: warning
  for: 15m
  expr: |-
    sum(rate(whatsapp_operator_graph_requests_total{ {{- $s -}} ,outcome="throttled"}[15m]))
    /
    sum(rate(whatsapp_operator_graph_requests_total{ {{- $s -}} }[15m]))
    > 0.25
  summary: "Meta throttles {{`{{ $value | humanizePercentage }}`}} of whatsapp-operator's Graph calls"
  description: >-
    For 15 minutes more than a quarter of the operator's Graph calls were refused for rate or
    capacity limits (Meta's, or the operator's own hourly budget per WABA). Syncs wait for the
    limit to reset, so status and alerts lag behind Meta.
WhatsAppMetaUnavailable:
  group: meta
  scope: operator
  severity: warning
  for: 15m
  expr: |-
    sum(rate(whatsapp_operator_graph_requests_total{ {{- $s -}} ,outcome="transient"}[15m]))
    /
    sum(rate(whatsapp_operator_graph_requests_total{ {{- $s -}} }[15m]))
    > 0.5
  summary: "Meta's Graph API fails for most of whatsapp-operator's calls"
  description: >-
    For 15 minutes more than half of the operator's Graph calls failed with server errors,
    timeouts or connection errors: Meta has an outage, or the cluster cannot reach it (egress,
    proxy, DNS). Status of every channel is as old as the last successful sync.
WhatsAppWebhookSignatureFailures:
  group: webhook
  scope: operator
  severity: warning
  for: 5m
  expr: |-
    sum(increase(whatsapp_operator_webhook_signature_failures_total{ {{- $s -}} }[15m])) >= 5
    unless on ()
    sum(increase(whatsapp_operator_webhook_deliveries_total{ {{- $s -}} ,result=~"accepted|ignored"}[15m])) > 0
  summary: "Meta webhook deliveries are refused for a bad signature"
  description: >-
    {{`{{ $value | humanize }}`}} webhook deliveries in 15 minutes had a missing or wrong
    X-Hub-Signature-256 and none was accepted: the app secret in the webhook Secret is not the
    Meta app's (or someone else is calling the endpoint). Polling still syncs, but webhook
    facts arrive up to a sync interval late.
WhatsAppResourceStalled:
  group: resources
  severity: warning
  for: 10m
  expr: |-
    max by (namespace, name, kind, reason) (
      label_replace(whatsapp_operator_channel_stalled_info{ {{- $s -}} }, "kind", "WhatsAppChannel", "", "")
      or
      label_replace(whatsapp_operator_account_stalled_info{ {{- $s -}} }, "kind", "WhatsAppBusinessAccount", "", "")
      or
      label_replace(whatsapp_operator_template_stalled_info{ {{- $s -}} ,reason!~"Rejected|Disabled"}, "kind", "WhatsAppMessageTemplate", "", "")
    )
  summary: "{{`{{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }}`}} is stalled ({{`{{ $labels.reason }}`}}) and needs a person"
  description: >-
    {{`{{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }}`}} has been Stalled
    ({{`{{ $labels.reason }}`}}) for 10 minutes: the operator cannot make progress until
    someone acts, and the Stalled condition's message says what to do. The alert clears when
    the condition does.
WhatsAppCredentialsExpiringSoon:
  group: resources
  severity: warning
  expr: |-
    min by (namespace, name) (whatsapp_operator_account_credentials_expiry_timestamp_seconds{ {{- $s -}} }) - time() < 7 * 86400
  summary: "The access token of WhatsApp Business account {{`{{ $labels.namespace }}/{{ $labels.name }}`}} expires within a week"
  description: >-
    The Graph token of WhatsAppBusinessAccount {{`{{ $labels.namespace }}/{{ $labels.name }}`}}
    expires within 7 days or has expired (Meta's debug_token). Once it expires the account
    stalls and its channels' status stops following Meta.
WhatsAppChannelNotReady:
  group: resources
  severity: warning
  for: 15m
  expr: |-
    max by (namespace, name) (whatsapp_operator_channel_condition{ {{- $s -}} ,condition="Ready",status="True"}) == 0
    unless on (namespace, name)
    max by (namespace, name) (whatsapp_operator_channel_phase{ {{- $s -}} ,phase=~"{{ $onboardingPhases }}|Stalled"}) == 1
    unless on (namespace, name)
    max by (namespace, name) (whatsapp_operator_channel_status{ {{- $s -}} ,status=~"{{ $onboarding }}|BANNED|RESTRICTED|FLAGGED"}) == 1
    unless on (namespace, name)
    max by (namespace, name) (whatsapp_operator_channel_health{ {{- $s -}} ,can_send_message="BLOCKED"}) == 1
    unless on (namespace, name)
    {{ $observedUnregistered }}
  summary: "WhatsApp channel {{`{{ $labels.namespace }}/{{ $labels.name }}`}} is not Ready"
  description: >-
    WhatsAppChannel {{`{{ $labels.namespace }}/{{ $labels.name }}`}} is past onboarding but
    has not been Ready for 15 minutes (disconnected, rate limited, deleted at Meta, not in the
    WABA, or its syncs fail).
WhatsAppChannelBlocked:
  group: resources
  severity: critical
  for: 5m
  expr: |-
    max by (namespace, name) (whatsapp_operator_channel_health{ {{- $s -}} ,can_send_message="BLOCKED"}) == 1
    unless on (namespace, name)
    max by (namespace, name) (whatsapp_operator_channel_status{ {{- $s -}} ,status=~"{{ $onboarding }}|BANNED"}) == 1
    unless on (namespace, name)
    {{ $observedUnregistered }}
  summary: "WhatsApp channel {{`{{ $labels.namespace }}/{{ $labels.name }}`}} cannot send messages"
  description: >-
    Meta's health of WhatsAppChannel {{`{{ $labels.namespace }}/{{ $labels.name }}`}} is
    BLOCKED (the number, its WABA, the business portfolio or the app). Messages are not
    delivered.
WhatsAppChannelBanned:
  group: resources
  severity: critical
  expr: |-
    max by (namespace, name) (whatsapp_operator_channel_status{ {{- $s -}} ,status="BANNED"}) == 1
  summary: "Meta banned WhatsApp channel {{`{{ $labels.namespace }}/{{ $labels.name }}`}}"
  description: >-
    Meta reports the number of WhatsAppChannel {{`{{ $labels.namespace }}/{{ $labels.name }}`}}
    as BANNED: it cannot send or receive messages.
WhatsAppChannelRestricted:
  group: resources
  severity: critical
  expr: |-
    max by (namespace, name) (whatsapp_operator_channel_status{ {{- $s -}} ,status="RESTRICTED"}) == 1
  summary: "Meta restricted WhatsApp channel {{`{{ $labels.namespace }}/{{ $labels.name }}`}}"
  description: >-
    Meta reports the number of WhatsAppChannel {{`{{ $labels.namespace }}/{{ $labels.name }}`}}
    as RESTRICTED: it can answer customers but cannot start conversations.
WhatsAppChannelFlagged:
  group: resources
  severity: warning
  expr: |-
    max by (namespace, name) (whatsapp_operator_channel_status{ {{- $s -}} ,status="FLAGGED"}) == 1
  summary: "Meta flagged WhatsApp channel {{`{{ $labels.namespace }}/{{ $labels.name }}`}}"
  description: >-
    Meta reports the number of WhatsAppChannel {{`{{ $labels.namespace }}/{{ $labels.name }}`}}
    as FLAGGED for low quality; without improvement its messaging limit goes down.
WhatsAppChannelQualityLow:
  group: resources
  severity: warning
  for: 30m
  expr: |-
    min by (namespace, name) (
      (whatsapp_operator_channel_quality{ {{- $s -}} ,rating="YELLOW"} == 1) * 2
      or
      (whatsapp_operator_channel_quality{ {{- $s -}} ,rating="RED"} == 1)
    )
  summary: "Quality of WhatsApp channel {{`{{ $labels.namespace }}/{{ $labels.name }}`}} is below GREEN"
  description: >-
    Meta's quality rating of WhatsAppChannel {{`{{ $labels.namespace }}/{{ $labels.name }}`}}
    has been {{`{{ $value }}`}} (2 YELLOW, 1 RED) for 30 minutes: customers block or report
    its messages.
WhatsAppAccountBlocked:
  group: resources
  severity: critical
  for: 5m
  expr: |-
    max by (namespace, name) (whatsapp_operator_account_health{ {{- $s -}} ,can_send_message="BLOCKED"}) == 1
  summary: "WhatsApp Business account {{`{{ $labels.namespace }}/{{ $labels.name }}`}} cannot send messages"
  description: >-
    Meta's health of WhatsAppBusinessAccount {{`{{ $labels.namespace }}/{{ $labels.name }}`}}
    is BLOCKED (the WABA, its business portfolio or the app): none of its numbers can send.
WhatsAppAccountNotReady:
  group: resources
  severity: warning
  for: 15m
  expr: |-
    max by (namespace, name) (whatsapp_operator_account_condition{ {{- $s -}} ,condition="Ready",status="True"}) == 0
    unless on (namespace, name)
    max by (namespace, name) (whatsapp_operator_account_health{ {{- $s -}} ,can_send_message="BLOCKED"}) == 1
    unless on (namespace, name)
    max by (namespace, name) (whatsapp_operator_account_stalled_info{ {{- $s -}} })
  summary: "WhatsApp Business account {{`{{ $labels.namespace }}/{{ $labels.name }}`}} is not Ready"
  description: >-
    WhatsAppBusinessAccount {{`{{ $labels.namespace }}/{{ $labels.name }}`}} has not been
    Ready for 15 minutes: Meta rejected its review or disabled it, or its syncs fail. Its
    channels' status no longer follows Meta.
WhatsAppTemplateRejected:
  group: resources
  severity: warning
  for: 15m
  expr: |-
    max by (namespace, name) (whatsapp_operator_template_status{ {{- $s -}} ,status="REJECTED"}) == 1
  summary: "Meta rejected WhatsApp message template {{`{{ $labels.namespace }}/{{ $labels.name }}`}}"
  description: >-
    Meta's status of WhatsAppMessageTemplate {{`{{ $labels.namespace }}/{{ $labels.name }}`}}
    has been REJECTED for 15 minutes: it cannot be sent. Its Ready condition gives Meta's
    reason; a Managed template is submitted again when its spec changes, which clears the
    alert (PENDING).
WhatsAppTemplatePaused:
  group: resources
  severity: warning
  expr: |-
    max by (namespace, name) (whatsapp_operator_template_status{ {{- $s -}} ,status="PAUSED"}) == 1
  summary: "Meta paused WhatsApp message template {{`{{ $labels.namespace }}/{{ $labels.name }}`}}"
  description: >-
    Meta paused WhatsAppMessageTemplate {{`{{ $labels.namespace }}/{{ $labels.name }}`}} for
    low quality: messages with it fail until Meta unpauses it (3 hours after a first pause, 6
    hours after a second); a further pause disables it.
WhatsAppTemplateDisabled:
  group: resources
  severity: critical
  expr: |-
    max by (namespace, name) (whatsapp_operator_template_status{ {{- $s -}} ,status="DISABLED"}) == 1
  summary: "Meta disabled WhatsApp message template {{`{{ $labels.namespace }}/{{ $labels.name }}`}}"
  description: >-
    Meta disabled WhatsAppMessageTemplate {{`{{ $labels.namespace }}/{{ $labels.name }}`}}
    after repeated pauses for low quality: it can no longer be sent, edited or deleted.
    Messages need a template with another name.
WhatsAppTemplateQualityRed:
  group: resources
  severity: warning
  for: 10m
  expr: |-
    max by (namespace, name) (whatsapp_operator_template_quality{ {{- $s -}} ,score="RED"}) == 1
    unless on (namespace, name)
    max by (namespace, name) (whatsapp_operator_template_status{ {{- $s -}} ,status=~"PAUSED|DISABLED|PENDING"}) == 1
  summary: "Quality of WhatsApp message template {{`{{ $labels.namespace }}/{{ $labels.name }}`}} is RED"
  description: >-
    Meta's quality score of WhatsAppMessageTemplate {{`{{ $labels.namespace }}/{{ $labels.name }}`}}
    has been RED for 10 minutes: recipients block or report its messages, and Meta pauses a
    template whose quality stays low.
{{- end -}}
