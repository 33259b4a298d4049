{{/* Object-name prefix: "spiderpool" unless global.nameOverride says otherwise. */}}
{{- define "spiderpool.name" -}}
{{- default "spiderpool" .Values.global.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "spiderpool.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "spiderpool.labels" -}}
helm.sh/chart: {{ include "spiderpool.chart" . }}
app.kubernetes.io/name: {{ include "spiderpool.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.global.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}


{{- define "spiderpool.agent.selector" -}}
app.kubernetes.io/name: {{ include "spiderpool.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Values.spiderpoolAgent.name }}
{{- end -}}

{{- define "spiderpool.controller.selector" -}}
app.kubernetes.io/name: {{ include "spiderpool.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Values.spiderpoolController.name }}
{{- end -}}

{{/* registry/repository[:tag|@digest] with the global overrides. Call with (dict "image" X "root" $). */}}
{{- define "spiderpool.image" -}}
{{- $registry := .root.Values.global.imageRegistryOverride | default .image.registry -}}
{{- $tag := .root.Values.global.imageTagOverride | default .image.tag | default .root.Chart.AppVersion -}}
{{- if .image.digest -}}
{{- printf "%s/%s@%s" $registry .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $registry .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Third-party images (Multus) keep their own tag; only the registry is overridable. */}}
{{- define "spiderpool.thirdPartyImage" -}}
{{- $registry := .root.Values.global.imageRegistryOverride | default .image.registry -}}
{{- printf "%s/%s:%s" $registry .image.repository .image.tag -}}
{{- end -}}

{{/* The directory of the agent's socket on the host. */}}
{{- define "spiderpool.socketDir" -}}
{{- dir .Values.global.ipamUNIXSocketHostPath -}}
{{- end -}}

{{/* Where the probes connect: the daemons bind one address for health and metrics. */}}
{{- define "spiderpool.probeHost" -}}
{{- if or (eq . "0.0.0.0") (eq . "::") -}}
{{- else -}}
host: {{ . | quote }}
{{- end -}}
{{- end -}}

{{/*
The auto method's CA and serving certificate, generated once per render whichever template
asks first (the Secret and both webhook configurations must carry the same CA), and reused
from the existing Secret on upgrade so the caBundle never drifts from what the controller
serves.
*/}}
{{- define "spiderpool.autoTls" -}}
{{- $c := .Values.spiderpoolController -}}
{{- if not (hasKey .Release "spiderpoolTls") -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $c.tls.secretName -}}
{{- $t := dict -}}
{{- if and $existing (index ($existing.data | default dict) "ca.crt") (index ($existing.data | default dict) "tls.crt") (index ($existing.data | default dict) "tls.key") -}}
{{- $_ := set $t "ca" (index $existing.data "ca.crt" | b64dec) -}}
{{- $_ := set $t "crt" (index $existing.data "tls.crt" | b64dec) -}}
{{- $_ := set $t "key" (index $existing.data "tls.key" | b64dec) -}}
{{- /* A Secret from before the controller renewed through it has no ca.key: the controller then makes a new CA and re-registers. */ -}}
{{- $_ := set $t "caKey" (index $existing.data "ca.key" | default "" | b64dec) -}}
{{- else -}}
{{- $svc := printf "%s.%s.svc" $c.name .Release.Namespace -}}
{{- $names := concat (list "spidernet.io" (printf "%s.%s" $svc .Values.global.clusterDnsDomain) $svc (printf "%s.%s" $c.name .Release.Namespace)) $c.tls.auto.extraDnsNames -}}
{{- /* The CA's name differs from the leaf's: a leaf whose issuer is its own subject is taken as self-signed by OpenSSL-based clients. */ -}}
{{- $ca := genCA "spiderpool-controller-webhook-ca" (int $c.tls.auto.caExpiration) -}}
{{- $cert := genSignedCert "spidernet.io" $c.tls.auto.extraIpAddresses $names (int $c.tls.auto.certExpiration) $ca -}}
{{- $_ := set $t "ca" $ca.Cert -}}
{{- $_ := set $t "caKey" $ca.Key -}}
{{- $_ := set $t "crt" $cert.Cert -}}
{{- $_ := set $t "key" $cert.Key -}}
{{- end -}}
{{- $_ := set .Release "spiderpoolTls" $t -}}
{{- end -}}
{{- toYaml .Release.spiderpoolTls -}}
{{- end -}}

{{/* base64 of the CA that signed the webhook's certificate (empty for certmanager, which injects it). */}}
{{- define "spiderpool.caBundle" -}}
{{- $c := .Values.spiderpoolController -}}
{{- if eq $c.tls.method "auto" -}}
{{- (include "spiderpool.autoTls" . | fromYaml).ca | b64enc -}}
{{- else if eq $c.tls.method "provided" -}}
{{- $c.tls.provided.tlsCa | b64enc -}}
{{- end -}}
{{- end -}}
