import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { configSchema, loadConfig, loadDatabaseConfig } from '../../src/config.ts'
import { parseLocalRootKeys } from '../../src/keys/local-root-keys.ts'

/**
 * The Kubernetes manifests as users apply them: rendered by kustomize (`kubectl kustomize`), then checked
 * against the service's own configuration schema and routes. Raw files can look right and render wrong (a
 * labels transformer rewriting a NetworkPolicy's peers), so nothing here reads them unrendered.
 */
const deployDir = path.resolve(import.meta.dirname, '../../deploy')

type Manifest = {
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  [key: string]: any
}

function render(dir: string): Manifest[] {
  const text = execFileSync('kubectl', ['kustomize', path.join(deployDir, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  return parseAllDocuments(text).map((doc) => doc.toJS() as Manifest)
}

const knownVariables = new Set(Object.keys(configSchema.shape))
/** Whether every label of `selector` is on `labels` (how Kubernetes matches matchLabels). */
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value)

for (const variant of ['base', 'overlays/example']) {
  const manifests = render(variant)
  const only = (kind: string) => {
    const found = manifests.filter((manifest) => manifest.kind === kind)
    if (found.length !== 1) throw new Error(`${variant}: expected one ${kind}, rendered ${found.length}`)
    return found[0]!
  }
  const deployment = only('Deployment')
  const job = only('Job')
  const configMap = only('ConfigMap')
  const secret = only('Secret')
  const pod = deployment.spec.template.spec
  const container = pod.containers[0]
  const podLabels: Record<string, string> = deployment.spec.template.metadata.labels

  /** The environment a container receives, with Secret values resolved. */
  const environmentOf = (spec: any): Record<string, string> => {
    const env: Record<string, string> = {}
    for (const source of spec.envFrom ?? []) if (source.configMapRef?.name === configMap.metadata.name) Object.assign(env, configMap.data)
    for (const variable of spec.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef
      env[variable.name] = ref === undefined ? variable.value : secret.stringData[ref.key]
    }
    return env
  }
  /** The root-keys file comes from the Secret through a volume; checked here with a real, valid key. */
  const withValidRootKeys = (env: Record<string, string>) => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'vault-deploy-')), 'root-keys')
    writeFileSync(file, `k1=${Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64')}\n`)
    return { ...env, VAULT_LOCAL_ROOT_KEYS_FILE: file }
  }

  t.test(`${variant}, rendered: the service's configuration is known, valid and complete`, async (t) => {
    const env = environmentOf(container)
    t.same(
      Object.keys(env).filter((variable) => !knownVariables.has(variable)),
      [],
      'no unknown variable',
    )
    const config = loadConfig(withValidRootKeys(env))
    t.equal(config.database.kind, 'postgres')
    t.ok(config.auth.issuer, 'an external token issuer')
    const mount = container.volumeMounts.find((m: any) => m.name === 'root-keys')
    t.equal(
      path.posix.join(mount.mountPath, 'root-keys'),
      env.VAULT_LOCAL_ROOT_KEYS_FILE,
      'root keys are mounted where the configuration looks',
    )
    t.same(pod.volumes.find((v: any) => v.name === 'root-keys').secret.items, [{ key: 'root-keys', path: 'root-keys' }])
  })

  t.test(`${variant}, rendered: the example Secret's root key is a placeholder the service refuses`, async (t) => {
    t.throws(() => parseLocalRootKeys(secret.stringData['root-keys'], 'root-keys'), { message: /base64 of exactly 32 bytes|placeholder/ })
  })

  t.test(`${variant}, rendered: the migration Job needs only the owner's database URL and can run again`, async (t) => {
    const spec = job.spec.template.spec
    const migrate = spec.containers[0]
    t.same(migrate.command, ['bin/secret-vault', 'migrate'])
    t.same(Object.keys(environmentOf(migrate)), ['DATABASE_URL'], 'no key provider, no issuer')
    t.equal(migrate.env[0].valueFrom.secretKeyRef.key, 'MIGRATION_DATABASE_URL', "as the tables' owner, not the service login")
    t.equal(loadDatabaseConfig(environmentOf(migrate)).database.kind, 'postgres')
    t.notOk(
      spec.volumes?.some((v: any) => v.secret !== undefined),
      'no root keys mounted',
    )
    t.ok(job.spec.ttlSecondsAfterFinished > 0, 'a finished Job removes itself, so the next release can apply it again')
    t.equal(job.metadata.annotations?.['argocd.argoproj.io/hook-delete-policy'], 'BeforeHookCreation')
  })

  t.test(`${variant}, rendered: ports, probes and selectors match the service`, async (t) => {
    const port = container.ports.find((p: any) => p.name === 'http')
    t.equal(port.containerPort, loadConfig(withValidRootKeys(environmentOf(container))).port)
    t.same(container.readinessProbe.httpGet, { path: '/readyz', port: 'http' })
    t.same(container.livenessProbe.httpGet, { path: '/healthz', port: 'http' })
    t.ok(selects(deployment.spec.selector.matchLabels, podLabels), 'the Deployment selects its own pods')
    const service = only('Service')
    t.equal(service.spec.ports[0].targetPort, 'http')
    t.ok(selects(service.spec.selector, podLabels), 'the Service selects the pods')
    t.notOk(selects(service.spec.selector, job.spec.template.metadata.labels), 'and not the migration Job')
    t.ok(selects(only('PodDisruptionBudget').spec.selector.matchLabels, podLabels))
    t.equal(only('HorizontalPodAutoscaler').spec.scaleTargetRef.name, deployment.metadata.name)
  })

  t.test(`${variant}, rendered: the NetworkPolicy admits exactly the identity core, the account API and Prometheus`, async (t) => {
    const policy = only('NetworkPolicy')
    t.ok(selects(policy.spec.podSelector.matchLabels, podLabels), 'it applies to the vault pods')
    t.same(policy.spec.policyTypes, ['Ingress'])
    t.equal(policy.spec.ingress.length, 1)
    const peers = policy.spec.ingress[0].from.map((peer: any) => peer.podSelector.matchLabels)
    t.same(
      peers.sort((a: any, b: any) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      [
        { 'app.kubernetes.io/name': 'account-api' },
        { 'app.kubernetes.io/name': 'identity-core' },
        { 'app.kubernetes.io/name': 'prometheus' },
      ],
      'each peer by its own name label, nothing added',
    )
    const caller = (name: string) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': 'api' })
    for (const name of ['identity-core', 'account-api', 'prometheus'])
      t.ok(
        peers.some((peer: any) => selects(peer, caller(name))),
        `${name} is admitted`,
      )
    t.notOk(
      peers.some((peer: any) => selects(peer, caller('some-other-app'))),
      'anyone else is not',
    )
    t.same(policy.spec.ingress[0].ports, [{ port: 'http' }])
  })

  t.test(`${variant}, rendered: hardened, highly available, drained before it stops`, async (t) => {
    t.ok(deployment.spec.replicas >= 2)
    t.equal(pod.securityContext.runAsNonRoot, true)
    t.same(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })
    t.ok(container.resources.requests.cpu && container.resources.limits.memory)
    const pause = Number(container.lifecycle.preStop.exec.command.at(-1))
    t.same(container.lifecycle.preStop.exec.command.slice(0, 1), ['sleep'])
    t.ok(pause >= 5, 'endpoints drain before SIGTERM')
    t.ok(
      pod.terminationGracePeriodSeconds * 1000 > pause * 1000 + Number(configMap.data.VAULT_SHUTDOWN_DEADLINE_MS),
      'the grace period outlasts the pause and the shutdown deadline',
    )
    t.ok(only('HorizontalPodAutoscaler').spec.minReplicas >= 2)
    t.equal(only('ServiceAccount').metadata.name, pod.serviceAccountName)
    t.ok(
      manifests.every((m) => m.metadata.labels?.['app.kubernetes.io/name'] === 'secret-vault'),
      'every object carries the name label',
    )
  })
}

t.test('the example overlay: its namespace, a pinned image, its settings', async (t) => {
  const manifests = render('overlays/example')
  t.ok(manifests.every((m) => m.metadata.namespace === 'identity'))
  const deployment = manifests.find((m) => m.kind === 'Deployment')!
  t.equal(deployment.spec.template.spec.containers[0].image, 'registry.example.com/secret-vault:1.0.0')
  t.equal(deployment.spec.replicas, 3)
  t.equal(manifests.find((m) => m.kind === 'ConfigMap')!.data.DATABASE_POOL_MAX, '20')
  t.match(manifests.find((m) => m.kind === 'ServiceAccount')!.metadata.annotations, { 'eks.amazonaws.com/role-arn': /^arn:aws:iam::/ })
})
