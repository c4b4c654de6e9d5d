import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { parseAllDocuments, stringify } from 'yaml'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { githubPush, push } from '../support/http.ts'

/**
 * deploy/monitoring as users apply it (rendered by kustomize): the alert rules pass `promtool check rules`
 * and fire, under `promtool test rules`, on the series that should wake someone and on nothing else; the
 * dashboard's every query is valid PromQL over metrics a live replica really exports, and every metric the
 * service exports is on it.
 */
const skip =
  spawnSync('promtool', ['--version']).error === undefined ? false : "promtool is not installed (CI installs Debian's prometheus)"

type Manifest = { kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: any }
type Rule = { alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> }

const rendered = execFileSync('kubectl', ['kustomize', path.resolve(import.meta.dirname, '../../deploy/monitoring')], { encoding: 'utf8' })
const manifests = parseAllDocuments(rendered).map((doc) => doc.toJS() as Manifest)
const rule = manifests.find((m) => m.kind === 'PrometheusRule')!
const dashboardMap = manifests.find((m) => m.kind === 'ConfigMap')!
const rules: Rule[] = rule.spec.groups.flatMap((group: { rules: Rule[] }) => group.rules)
const dashboard = JSON.parse(dashboardMap.data['secret-vault.json'])
const work = mkdtempSync(path.join(tmpdir(), 'vault-monitoring-'))
const rulesFile = path.join(work, 'rules.yaml')
writeFileSync(rulesFile, stringify({ groups: rule.spec.groups }))

const promtool = (...args: string[]) => {
  const run = spawnSync('promtool', args, { encoding: 'utf8', cwd: work })
  return { status: run.status, output: `${run.stdout}${run.stderr}` }
}

t.test('the rendered manifests: one PrometheusRule, one dashboard ConfigMap for the Grafana sidecar', async (t) => {
  t.same(manifests.map((m) => m.kind).sort(), ['ConfigMap', 'PrometheusRule'])
  t.equal(dashboardMap.metadata.labels?.grafana_dashboard, '1')
  t.equal(dashboardMap.metadata.name, 'secret-vault-dashboard', 'a stable name, no hash suffix')
  for (const r of rules) {
    t.match(r.labels.severity, /^(critical|warning)$/, `${r.alert} has a severity`)
    t.ok(r.annotations.summary && r.annotations.runbook, `${r.alert} says what happened and what to do`)
  }
})

t.test('promtool check rules accepts the alert rules', { skip }, async (t) => {
  const checked = promtool('check', 'rules', rulesFile)
  t.equal(checked.status, 0, checked.output)
  t.match(checked.output, `SUCCESS: ${rules.length} rules found`)
})

/** A promtool unit test: the series, and for each alert whether it fires at `at`. */
interface Case {
  name: string
  series: Record<string, string>
  at: string
  firing: string[]
}

const healthyTraffic = {
  'secret_vault_build_info{version="1.0.0",node_version="v24.0.0",instance="a"}': '1+0x30',
  'secret_vault_key_provider_state{state="ok",instance="a"}': '1+0x30',
  'secret_vault_key_provider_state{state="unavailable",instance="a"}': '0+0x30',
  'secret_vault_key_provider_state{state="misconfigured",instance="a"}': '0+0x30',
  'secret_vault_http_request_duration_seconds_count{route="/v1/tenants/:tenantId/users/:userId/connections/:connectorType/:connectorId/access-token",status_code="200",instance="a"}':
    '0+6000x30',
  'secret_vault_http_request_duration_seconds_count{route="/v1/tenants/:tenantId/users/:userId/connections/:connectorType/:connectorId/access-token",status_code="500",instance="a"}':
    '0+6x30',
  'secret_vault_http_request_duration_seconds_bucket{route="/v1/tenants/:tenantId/users/:userId/connections/:connectorType/:connectorId/access-token",le="0.01",instance="a"}':
    '0+6000x30',
  'secret_vault_http_request_duration_seconds_bucket{route="/v1/tenants/:tenantId/users/:userId/connections/:connectorType/:connectorId/access-token",le="1",instance="a"}':
    '0+6006x30',
  'secret_vault_http_request_duration_seconds_bucket{route="/v1/tenants/:tenantId/users/:userId/connections/:connectorType/:connectorId/access-token",le="+Inf",instance="a"}':
    '0+6006x30',
  'secret_vault_errors_total{code="internal",instance="a"}': '0+6x30',
  'secret_vault_errors_total{code="mfa.code_invalid",instance="a"}': '0+3x30',
  'secret_vault_audit_write_failures_total{instance="a"}': '0+0x30',
  'secret_vault_token_refreshes_total{outcome="refreshed",instance="a"}': '0+60x30',
  'secret_vault_token_refreshes_total{outcome="provider_unavailable",instance="a"}': '0+1x30',
  'secret_vault_caller_refusals_total{reason="expired",instance="a"}': '0+6x30',
}
const toward = (series: Record<string, string>) => ({ ...healthyTraffic, ...series })

const cases: Case[] = [
  { name: 'healthy traffic wakes nobody', series: healthyTraffic, at: '25m', firing: [] },
  { name: 'no replica scraped', series: {}, at: '6m', firing: ['SecretVaultAbsent'] },
  {
    name: 'KMS unreachable for more than two minutes',
    series: toward({
      'secret_vault_key_provider_state{state="ok",instance="a"}': '1 1 1 1 1 0+0x25',
      'secret_vault_key_provider_state{state="unavailable",instance="a"}': '0 0 0 0 0 1+0x25',
    }),
    at: '10m',
    firing: ['SecretVaultKeyProviderUnavailable'],
  },
  {
    name: 'KMS unreachable for one minute is not yet an alert',
    series: toward({ 'secret_vault_key_provider_state{state="unavailable",instance="a"}': '0+0x9 1 1 0+0x19' }),
    at: '11m',
    firing: [],
  },
  {
    name: 'one integrity failure',
    series: toward({ 'secret_vault_errors_total{code="crypto.integrity",instance="a"}': '0+0x10 1+0x20' }),
    at: '12m',
    firing: ['SecretVaultIntegrityFailure'],
  },
  {
    name: 'audit events that cannot be written',
    series: toward({ 'secret_vault_audit_write_failures_total{instance="a"}': '0+0x10 3+0x20' }),
    at: '12m',
    firing: ['SecretVaultAuditWriteFailures'],
  },
  {
    name: 'a tenth of the requests fail for a quarter of an hour',
    series: toward({
      'secret_vault_http_request_duration_seconds_count{route="/v1/tenants/:tenantId/users/:userId/connections/:connectorType/:connectorId/access-token",status_code="500",instance="a"}':
        '0+600x30',
    }),
    at: '20m',
    firing: ['SecretVaultHighErrorRate'],
  },
  {
    name: 'access-token reads slower than half a second at p99',
    series: toward({
      'secret_vault_http_request_duration_seconds_bucket{route="/v1/tenants/:tenantId/users/:userId/connections/:connectorType/:connectorId/access-token",le="0.01",instance="a"}':
        '0+5000x30',
      'secret_vault_http_request_duration_seconds_bucket{route="/v1/tenants/:tenantId/users/:userId/connections/:connectorType/:connectorId/access-token",le="+Inf",instance="a"}':
        '0+6006x30',
    }),
    at: '20m',
    firing: ['SecretVaultSlowAccessTokenReads'],
  },
  {
    name: 'a third of the refreshes fail at the providers',
    series: toward({ 'secret_vault_token_refreshes_total{outcome="provider_rejected",instance="a"}': '0+30x30' }),
    at: '29m',
    firing: ['SecretVaultRefreshFailures'],
  },
  {
    name: 'a webhook endpoint down past the retry period',
    series: toward({ 'secret_vault_webhook_deliveries_total{outcome="dead",instance="a"}': '0+0x10 2+0x20' }),
    at: '12m',
    firing: ['SecretVaultWebhookDeliveriesDead'],
  },
  {
    name: 'a revocation given up',
    series: toward({ 'secret_vault_token_revocations_total{outcome="given_up",instance="a"}': '0+0x10 1+0x20' }),
    at: '12m',
    firing: ['SecretVaultRevocationsGivenUp'],
  },
  {
    name: 'audit sealing failing for a quarter of an hour',
    series: toward({ 'secret_vault_audit_seals_total{outcome="failed",instance="a"}': '0+2x30' }),
    at: '25m',
    firing: ['SecretVaultAuditSealingFailing'],
  },
  {
    name: 'someone guessing MFA codes for many users',
    series: toward({ 'secret_vault_errors_total{code="mfa.locked",instance="a"}': '0+120x30' }),
    at: '20m',
    firing: ['SecretVaultMfaLockouts'],
  },
]

t.test('promtool test rules: each alert fires on its cause and on nothing else', { skip }, async (t) => {
  const tests = cases.map((c) => ({
    name: c.name,
    interval: '1m',
    input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
    alert_rule_test: rules.map((r) => ({
      eval_time: c.at,
      alertname: r.alert,
      exp_alerts: c.firing.includes(r.alert) ? [{ exp_labels: r.labels, exp_annotations: r.annotations }] : [],
    })),
  }))
  for (const c of cases)
    for (const name of c.firing)
      t.ok(
        rules.some((r) => r.alert === name),
        `${name} is a rule`,
      )
  const testFile = path.join(work, 'rules.test.yaml')
  writeFileSync(testFile, stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }))
  const run = promtool('test', 'rules', testFile)
  t.equal(run.status, 0, run.output)
})

t.test('every dashboard query is valid PromQL over metrics a replica exports, and every metric is shown', { skip }, async (t) => {
  const panels = dashboard.panels.filter((panel: { type: string }) => panel.type !== 'row')
  t.equal(new Set(dashboard.panels.map((panel: { id: number }) => panel.id)).size, dashboard.panels.length, 'panel ids are unique')
  const expressions: string[] = panels.flatMap((panel: { targets: Array<{ expr: string }> }) => panel.targets.map((target) => target.expr))
  // Grafana's variables as a query sees them.
  const concrete = expressions.map((expr) =>
    expr.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1h').replaceAll('$job', '.*'),
  )
  const asRules = path.join(work, 'dashboard-queries.yaml')
  writeFileSync(
    asRules,
    stringify({ groups: [{ name: 'dashboard', rules: concrete.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] }),
  )
  const checked = promtool('check', 'rules', asRules)
  t.equal(checked.status, 0, checked.output)

  const database = await openTestDatabase(t)
  const { app } = await buildTestApp(t, database)
  await push(app, { tenant: uniqueTenant('dashboard') }, githubPush('gho_dashboard'))
  const scrape = (await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: '' } })).body
  const exported = new Set([...scrape.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!))
  const used = new Set(
    [...expressions.join('\n').matchAll(/\b((?:secret_vault|process|nodejs)_[a-z0-9_]+)/g)].map((m) =>
      m[1]!.replace(/_(bucket|count|sum)$/, ''),
    ),
  )
  for (const name of used) t.ok(exported.has(name), `${name} is a metric the service exports`)
  for (const name of [...exported].filter((n) => n.startsWith('secret_vault_'))) t.ok(used.has(name), `${name} is on the dashboard`)
})
