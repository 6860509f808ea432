{{/*
Every component renders through the same helpers, from one "component context":
  dict "root" $ "component" "intake" "name" "<release>-intake-ir-23" "province" "IR-23"
       "binary" "pasokh-intake" "settings" <replicas, autoscaling, pdb, resources>
       "config" <the service's settings, rendered as JSON> "env" <extra env list> "extraVolumes" …
  and, for a component with listeners of its own (the web), "ports" <list of name + port> and
  "probePort" <the port name the probes use>; without them: http, grpc (and grpc-internal), probes on http.
*/}}

{{- define "pasokh.name" -}}
{{- printf "%s-%s" .Release.Name . | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* `<release>-<component>[-<province>]`, DNS-safe */}}
{{- define "pasokh.componentName" -}}
{{- $name := printf "%s-%s" .root.Release.Name .component -}}
{{- if .province -}}{{- $name = printf "%s-%s" $name (lower .province) -}}{{- end -}}
{{- $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: only labels that never change for the life of a Deployment. */}}
{{- define "pasokh.selectorLabels" -}}
app.kubernetes.io/name: pasokh
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- with .province }}
pasokh.mcls.gov.ir/province: {{ . }}
{{- end }}
{{- end -}}

{{- define "pasokh.labels" -}}
{{ include "pasokh.selectorLabels" . }}
app.kubernetes.io/part-of: pasokh
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "pasokh.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
Ports: HTTP 8080 (public API, ops endpoints), gRPC 9090 (partners' and officers' APIs), and the
internal gRPC 9091 that only intake and routing serve (IntakeInternal, CaseLookup) and only Pasokh's
own callers reach (templates/networkpolicy.yaml). The web has two HTTP listeners instead, each with
the ops endpoints: public 8086 (the citizen's site, through the Ingress) and staff 8087 (the desk
console, for the ministry's network only).
*/}}
{{- define "pasokh.internalGrpcPort" -}}9091{{- end -}}
{{- define "pasokh.webPorts" -}}
{{- toJson (dict "public" 8086 "staff" 8087) -}}
{{- end -}}

{{/* Components that produce or consume Kafka records (the web talks only to intake, notification and its own database) */}}
{{- define "pasokh.usesKafka" -}}
{{- if ne .component "web" }}true{{ end -}}
{{- end -}}

{{/* Components serving the internal gRPC listener */}}
{{- define "pasokh.hasInternalGrpc" -}}
{{- if has .component (list "intake" "routing") }}true{{ end -}}
{{- end -}}

{{/* Who calls whose internal gRPC: callee → callers (the NetworkPolicy and the allow-list checks) */}}
{{- define "pasokh.internalCallers" -}}
{{- toJson (dict "intake" (list "notification" "routing") "routing" (list "intake" "notification")) -}}
{{- end -}}

{{/* In-cluster addresses of the internal gRPC listeners: routing's, and all intakes' (they share one database) */}}
{{- define "pasokh.routingGrpc" -}}
{{- printf "http://%s-routing:%s" .Release.Name (include "pasokh.internalGrpcPort" .) -}}
{{- end -}}
{{- define "pasokh.intakeGrpc" -}}
{{- printf "http://%s-intake-internal:%s" .Release.Name (include "pasokh.internalGrpcPort" .) -}}
{{- end -}}

{{/* Every deployed province's intake HTTP base URL, by province code (the web's intake.urls) */}}
{{- define "pasokh.intakeHttpUrls" -}}
{{- $root := . -}}
{{- $urls := dict -}}
{{- range $province, $override := .Values.intake.provinces -}}
{{- $_ := set $urls $province (printf "http://%s:8080" (include "pasokh.componentName" (dict "root" $root "component" "intake" "province" $province))) -}}
{{- end -}}
{{- toJson $urls -}}
{{- end -}}

{{/* Notification's HTTP base URL (the web's notification_url: it has notification text one-time codes) */}}
{{- define "pasokh.notificationHttpUrl" -}}
{{- printf "http://%s:8080" (include "pasokh.componentName" (dict "root" . "component" "notification")) -}}
{{- end -}}

{{/*
Who may use the two HTTP endpoints that exist only for the citizen's site: notification's
POST /v1/one-time-codes (one_time_code_clients) and intake's POST /v1/citizens/petitions
(citizen_listing_clients). Both are the web's own service account, web.oidc.clientId, and nobody
else; without the web, nobody. Derived, not a value of its own, so it cannot miss the web's client
or admit another: a JSON list.
*/}}
{{- define "pasokh.webServiceClients" -}}
{{- if .Values.web.enabled -}}
{{- toJson (list .Values.web.oidc.clientId) -}}
{{- else -}}
{{- toJson list -}}
{{- end -}}
{{- end -}}

{{/*
A component's settings, into .into (a dict; renders nothing): its own values (intake: intake.defaults,
then the province's entry), and for every key they leave out, componentDefaults' — by key and one level
down, so a false or a 0 the component sets stands (mustMergeOverwrite would skip those).
*/}}
{{- define "pasokh.settings" -}}
{{- $values := .root.Values -}}
{{- $own := index $values .component -}}
{{- if eq .component "intake" -}}
{{- $own = mustMergeOverwrite (deepCopy $values.intake.defaults) (deepCopy (default dict (index $values.intake.provinces .province))) -}}
{{- end -}}
{{- $into := .into -}}
{{- range $key, $value := deepCopy $own }}{{ $_ := set $into $key $value }}{{ end -}}
{{- range $key, $default := $values.componentDefaults -}}
{{- if not (hasKey $into $key) -}}
{{- $_ := set $into $key (deepCopy $default) -}}
{{- else if and (kindIs "map" $default) (kindIs "map" (index $into $key)) -}}
{{- $mine := index $into $key -}}
{{- range $inner, $value := $default -}}
{{- if not (hasKey $mine $inner) }}{{ $_ := set $mine $inner (deepCopy $value) }}{{ end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The key of a service's PostgreSQL URL in secrets.database.name: <service>-url unless its database.secretKey says */}}
{{- define "pasokh.databaseSecretKey" -}}
{{- $database := default dict (index .root.Values .component).database -}}
{{- default (printf "%s-url" .component) $database.secretKey -}}
{{- end -}}

{{/* Settings every service shares, as its config file spells them (.settings: pasokh.settings') */}}
{{- define "pasokh.commonConfig" -}}
{{- $root := .root -}}
{{- range $key, $_ := $root.Values.kafka.properties -}}
{{- if regexMatch "(?i)password|secret|jaas|token" $key -}}
{{- fail (printf "kafka.properties.%s looks like a credential: it would sit in the ConfigMap; use kafka.secretProperties (from a Secret)" $key) -}}
{{- end -}}
{{- end -}}
{{- $properties := deepCopy $root.Values.kafka.properties -}}
{{- if $root.Values.kafka.tls.enabled -}}
{{- $_ := set $properties "security.protocol" "ssl" -}}
{{- $_ := set $properties "ssl.ca.location" "/etc/pasokh/kafka/ca/ca.crt" -}}
{{- $_ := set $properties "ssl.certificate.location" "/etc/pasokh/kafka/client/user.crt" -}}
{{- $_ := set $properties "ssl.key.location" "/etc/pasokh/kafka/client/user.key" -}}
{{- end -}}
{{- $kafka := dict "bootstrap_servers" $root.Values.kafka.bootstrapServers "lifecycle_topic" $root.Values.kafka.lifecycleTopic "delivery_topic" $root.Values.kafka.deliveryTopic "desk_topic" $root.Values.kafka.deskTopic "consumer_group" (printf "pasokh-%s" .component) "properties" $properties -}}
{{- $database := dict "max_connections" .settings.database.maxConnections -}}
{{- $telemetry := dict "log_filter" $root.Values.telemetry.logFilter "log_format" "json" "otlp_endpoint" $root.Values.telemetry.otlpEndpoint -}}
{{- $listen := dict "host" "0.0.0.0" "http_port" 8080 "grpc_port" 9090 -}}
{{- if include "pasokh.hasInternalGrpc" . -}}
{{- $_ := set $listen "internal_grpc_port" (include "pasokh.internalGrpcPort" . | int) -}}
{{- end -}}
{{- if eq .component "web" -}}
{{- $ports := include "pasokh.webPorts" . | fromJson -}}
{{- $listen = dict "host" "0.0.0.0" "public_port" $ports.public "staff_port" $ports.staff -}}
{{- end -}}
{{- $common := dict "listen" $listen "telemetry" $telemetry "database" $database "shutdown_drain_secs" $root.Values.pod.drainSeconds -}}
{{- if include "pasokh.usesKafka" . -}}
{{- $_ := set $common "kafka" $kafka -}}
{{- end -}}
{{- if has .component (list "intake" "routing" "notification" "reporting" "web") -}}
{{- /* always production: a production start refuses every development credential, and the chart turns none on */ -}}
{{- $_ := set $common "environment" "production" -}}
{{- end -}}
{{- if has .component (list "intake" "routing" "notification" "reporting") -}}
{{- $_ := set $common "auth" (include "pasokh.authConfig" . | fromYaml) -}}
{{- end -}}
{{- toYaml $common -}}
{{- end -}}

{{/*
A service's `auth` settings: the provider chart-wide, the audience and own client per service.
The client's secret comes from the environment (pasokh.secretEnv); development tokens stay off.
*/}}
{{- define "pasokh.authConfig" -}}
{{- $values := .root.Values -}}
{{- $own := index $values .component "auth" -}}
{{- $client := dict "id" $own.client.id "token_url" $values.auth.tokenUrl "scope_template" $values.auth.scopeTemplate -}}
{{- toYaml (dict
  "issuer" $values.auth.issuer
  "jwks_url" $values.auth.jwksUrl
  "audience" $own.audience
  "leeway_secs" $values.auth.leewaySecs
  "max_lifetime_secs" $values.auth.maxLifetimeSecs
  "jwks_cache_secs" $values.auth.jwksCacheSecs
  "jwks_min_refresh_secs" $values.auth.jwksMinRefreshSecs
  "dev_tokens" (dict "enabled" false)
  "client" $client) -}}
{{- end -}}

{{/*
The allow-lists must admit the chart's own callers, or internal calls fail with PERMISSION_DENIED
(petitions would not be routed, SMS not sent): refuse to render such values.
*/}}
{{- define "pasokh.checkIdentity" -}}
{{- $values := .Values -}}
{{- range $callee, $callers := include "pasokh.internalCallers" . | fromJson -}}
{{- range $caller := $callers -}}
{{- $id := (index $values $caller "auth").client.id -}}
{{- if not (has $id (index $values $callee "internalClients")) -}}
{{- fail (printf "%s.internalClients must list %s's client id %q (%s.auth.client.id): %s calls %s's internal gRPC" $callee $caller $id $caller $caller $callee) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Secrets as environment: the database URL always; the service's own OIDC client secret where it calls other
       services, and the web's (its staff sign-in client, web.oidc.clientSecret) */}}
{{- define "pasokh.secretEnv" -}}
{{- $root := .root -}}
- name: PASOKH__DATABASE__URL
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.secrets.database.name }}
      key: {{ include "pasokh.databaseSecretKey" . }}
{{- if has .component (list "intake" "routing" "notification") }}
{{- $client := (index $root.Values .component "auth").client }}
- name: PASOKH__AUTH__CLIENT__SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $client.existingSecret }}
      key: {{ $client.secretKey }}
{{- end }}
{{- if include "pasokh.usesKafka" . }}
{{- range $property, $from := $root.Values.kafka.secretProperties }}
- name: PASOKH__KAFKA__SECRET_PROPERTIES__{{ $property | replace "." "_" | upper }}
  valueFrom:
    secretKeyRef:
      name: {{ $from.secret }}
      key: {{ $from.key }}
{{- end }}
{{- end }}
{{- if and (eq .component "notification") $root.Values.notification.smsCredential.existingSecret }}
- name: PASOKH__SMS__GATEWAY_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.notification.smsCredential.existingSecret }}
      key: {{ $root.Values.notification.smsCredential.secretKey }}
{{- end }}
{{- if eq .component "web" }}
- name: PASOKH__OIDC__CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.web.oidc.clientSecret.name }}
      key: {{ $root.Values.web.oidc.clientSecret.key }}
{{- end }}
{{- end -}}

{{- define "pasokh.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "pasokh.componentName" . }}
  labels:
    {{- include "pasokh.labels" . | nindent 4 }}
data:
  # the service's settings (JSON keeps whole numbers whole); secrets come from the environment
  config.json: |
    {{- .config | toPrettyJson | nindent 4 }}
  {{- range $file, $text := .files }}
  {{ $file }}: |
    {{- $text | nindent 4 }}
  {{- end }}
{{- end -}}

{{- define "pasokh.deployment" -}}
{{- $root := .root -}}
{{- $pod := $root.Values.pod -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "pasokh.componentName" . }}
  labels:
    {{- include "pasokh.labels" . | nindent 4 }}
spec:
  {{- if not .settings.autoscaling.enabled }}
  replicas: {{ .settings.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "pasokh.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        {{- include "pasokh.labels" . | nindent 8 }}
      annotations:
        checksum/config: {{ toJson (dict "config" .config "files" .files) | sha256sum }}
    spec:
      automountServiceAccountToken: false
      enableServiceLinks: false
      # the pre-stop pause, the services' own drain, and a margin
      terminationGracePeriodSeconds: {{ add $pod.preStopSleepSeconds $pod.drainSeconds 10 }}
      securityContext:
        {{- toYaml $pod.securityContext | nindent 8 }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $pod.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with $pod.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $pod.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if $pod.topologySpread.enabled }}
      topologySpreadConstraints:
        {{- range list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
        - maxSkew: {{ $pod.topologySpread.maxSkew }}
          topologyKey: {{ . }}
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "pasokh.selectorLabels" $ | nindent 14 }}
        {{- end }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "pasokh.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["/usr/local/bin/{{ .binary }}"]
          args: ["serve", "--config", "/etc/pasokh/config/config.json"]
          ports:
            {{- range .ports }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: TCP
            {{- else }}
            - name: http
              containerPort: 8080
              protocol: TCP
            - name: grpc
              containerPort: 9090
              protocol: TCP
            {{- if include "pasokh.hasInternalGrpc" . }}
            - name: grpc-internal
              containerPort: {{ include "pasokh.internalGrpcPort" . }}
              protocol: TCP
            {{- end }}
            {{- end }}
          env:
            {{- include "pasokh.secretEnv" . | nindent 12 }}
            {{- with .env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          startupProbe:
            httpGet:
              path: /healthz
              port: {{ default "http" .probePort }}
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet:
              path: /healthz
              port: {{ default "http" .probePort }}
            periodSeconds: 10
            timeoutSeconds: 2
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /readyz
              port: {{ default "http" .probePort }}
            periodSeconds: 5
            timeoutSeconds: 2
            failureThreshold: 2
          lifecycle:
            preStop:
              sleep:
                seconds: {{ $pod.preStopSleepSeconds }}
          resources:
            {{- toYaml .settings.resources | nindent 12 }}
          securityContext:
            {{- toYaml $pod.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - name: config
              mountPath: /etc/pasokh/config
              readOnly: true
            {{- if and $root.Values.kafka.tls.enabled (include "pasokh.usesKafka" .) }}
            - name: kafka-ca
              mountPath: /etc/pasokh/kafka/ca
              readOnly: true
            - name: kafka-client
              mountPath: /etc/pasokh/kafka/client
              readOnly: true
            {{- end }}
      volumes:
        - name: config
          configMap:
            name: {{ include "pasokh.componentName" . }}
        {{- if and $root.Values.kafka.tls.enabled (include "pasokh.usesKafka" .) }}
        - name: kafka-ca
          secret:
            secretName: {{ $root.Values.kafka.tls.caSecret }}
            items:
              - key: ca.crt
                path: ca.crt
        - name: kafka-client
          secret:
            secretName: {{ printf "%s%s" $root.Values.kafka.tls.clientSecretPrefix .component }}
            items:
              - key: user.crt
                path: user.crt
              - key: user.key
                path: user.key
        {{- end }}
{{- end -}}

{{- define "pasokh.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "pasokh.componentName" . }}
  labels:
    {{- include "pasokh.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "pasokh.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: 8080
      targetPort: http
      protocol: TCP
    - name: grpc
      port: 9090
      targetPort: grpc
      protocol: TCP
      appProtocol: grpc
    {{- if include "pasokh.hasInternalGrpc" . }}
    - name: grpc-internal
      port: {{ include "pasokh.internalGrpcPort" . }}
      targetPort: grpc-internal
      protocol: TCP
      appProtocol: grpc
    {{- end }}
{{- end -}}

{{- define "pasokh.hpa" -}}
{{- if .settings.autoscaling.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "pasokh.componentName" . }}
  labels:
    {{- include "pasokh.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "pasokh.componentName" . }}
  minReplicas: {{ .settings.autoscaling.minReplicas }}
  maxReplicas: {{ .settings.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .settings.autoscaling.targetCPUUtilizationPercentage }}
  behavior:
    # scale up at once for a crowd; scale down slowly so a lull does not drop capacity
    scaleUp:
      stabilizationWindowSeconds: 0
    scaleDown:
      stabilizationWindowSeconds: 300
{{- end }}
{{- end -}}

{{- define "pasokh.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "pasokh.componentName" . }}
  labels:
    {{- include "pasokh.labels" . | nindent 4 }}
spec:
  minAvailable: {{ .settings.pdb.minAvailable }}
  selector:
    matchLabels:
      {{- include "pasokh.selectorLabels" . | nindent 6 }}
{{- end -}}

{{/* All of a component: ConfigMap, Deployment, Service, HPA (when autoscaling), PDB (the web: templates/web.yaml, two Services) */}}
{{- define "pasokh.component" -}}
{{ include "pasokh.configMap" . }}
---
{{ include "pasokh.deployment" . }}
---
{{ include "pasokh.service" . }}
---
{{ include "pasokh.pdb" . }}
{{- if .settings.autoscaling.enabled }}
---
{{ include "pasokh.hpa" . }}
{{- end }}
{{- end -}}
