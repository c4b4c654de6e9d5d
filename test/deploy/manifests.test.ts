import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { configSchema, loadConfig } from '../../src/config.ts'

/** The Kubernetes manifests, checked against the service's own configuration schema and routes. */
const deployDir = path.resolve(import.meta.dirname, '../../deploy')

type Manifest = { kind: string; metadata: { name: string }; [key: string]: any }

function readManifests(dir: string): Manifest[] {
  const kustomization = parseAllDocuments(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS()
  return (kustomization.resources as string[])
    .filter((resource) => resource.endsWith('.yaml'))
    .flatMap((resource) => parseAllDocuments(readFileSync(path.join(dir, resource), 'utf8')).map((doc) => doc.toJS() as Manifest))
}

const base = readManifests(path.join(deployDir, 'base'))
const byKind = (kind: string) => base.filter((manifest) => manifest.kind === kind)
const deployment = byKind('Deployment')[0]!
const job = byKind('Job')[0]!
const configMap = byKind('ConfigMap')[0]!
const secret = byKind('Secret')[0]!
const knownVariables = new Set(Object.keys(configSchema.shape))

/** The environment a container of the given pod spec receives, with Secret values and mounted files resolved. */
function environmentOf(container: any, configData: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef?.name === configMap.metadata.name) Object.assign(env, configData)
  }
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef
    env[variable.name] = ref === undefined ? variable.value : secret.stringData[ref.key]
  }
  return env
}

function withMountedRootKeys(env: Record<string, string>): Record<string, string> {
  // The root-keys file comes from the Secret through a volume; check it with a real, valid key.
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'vault-deploy-')), 'root-keys')
  writeFileSync(file, `k1=${Buffer.alloc(32, 1).toString('base64')}\n`)
  return { ...env, VAULT_LOCAL_ROOT_KEYS_FILE: file }
}

for (const [name, workload] of [['Deployment', deployment], ['migration Job', job]] as const) {
  t.test(`${name}: every variable it sets is known, and together they make a valid configuration`, async (t) => {
    const container = workload.spec.template.spec.containers[0]
    const env = environmentOf(container, configMap.data)
    const unknown = Object.keys(env).filter((variable) => !knownVariables.has(variable))
    t.same(unknown, [], 'no unknown variable')
    t.ok(env.DATABASE_URL, 'a database server is configured')
    const config = loadConfig(withMountedRootKeys(env))
    t.equal(config.database.kind, 'postgres')
    t.ok(config.auth.issuer, 'an external token issuer')
  })
}

t.test('the root-key secret is mounted where the configuration looks for it', async (t) => {
  const container = deployment.spec.template.spec.containers[0]
  const mount = container.volumeMounts.find((m: any) => m.name === 'root-keys')
  t.equal(path.posix.join(mount.mountPath, 'root-keys'), configMap.data.VAULT_LOCAL_ROOT_KEYS_FILE)
  const volume = deployment.spec.template.spec.volumes.find((v: any) => v.name === 'root-keys')
  t.same(volume.secret.items, [{ key: 'root-keys', path: 'root-keys' }])
  t.ok(secret.stringData['root-keys'])
})

t.test('ports and probes match the service', async (t) => {
  const container = deployment.spec.template.spec.containers[0]
  const port = container.ports.find((p: any) => p.name === 'http')
  t.equal(port.containerPort, loadConfig(withMountedRootKeys(environmentOf(container, configMap.data))).port)
  t.same(container.readinessProbe.httpGet, { path: '/readyz', port: 'http' })
  t.same(container.livenessProbe.httpGet, { path: '/healthz', port: 'http' })
  const service = byKind('Service')[0]!
  t.equal(service.spec.ports[0].targetPort, 'http')
  t.same(service.spec.selector, deployment.spec.template.metadata.labels)
})

t.test('hardened and highly available', async (t) => {
  const pod = deployment.spec.template.spec
  const container = pod.containers[0]
  t.ok(deployment.spec.replicas >= 2)
  t.equal(pod.securityContext.runAsNonRoot, true)
  t.same(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })
  t.ok(container.resources.requests.cpu && container.resources.limits.memory)
  t.ok(pod.terminationGracePeriodSeconds * 1000 > Number(configMap.data.VAULT_SHUTDOWN_DEADLINE_MS), 'grace period outlasts the shutdown deadline')
  const pdb = byKind('PodDisruptionBudget')[0]!
  t.same(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels)
  const hpa = byKind('HorizontalPodAutoscaler')[0]!
  t.ok(hpa.spec.minReplicas >= 2)
  t.equal(hpa.spec.scaleTargetRef.name, deployment.metadata.name)
  const policy = byKind('NetworkPolicy')[0]!
  const callers = policy.spec.ingress[0].from.map((peer: any) => peer.podSelector.matchLabels['app.kubernetes.io/name'])
  t.same(callers.sort(), ['account-api', 'identity-core', 'prometheus'])
  t.equal(byKind('ServiceAccount')[0]!.metadata.name, pod.serviceAccountName)
  t.same(job.spec.template.spec.containers[0].command, ['bin/secret-vault', 'migrate'])
})

t.test('the example overlay patches existing resources with known settings', async (t) => {
  const overlayDir = path.join(deployDir, 'overlays/example')
  const overlay = parseAllDocuments(readFileSync(path.join(overlayDir, 'kustomization.yaml'), 'utf8'))[0]!.toJS()
  t.same(overlay.resources, ['../../base'])
  for (const patch of overlay.patches as Array<{ path: string }>) {
    t.ok(existsSync(path.join(overlayDir, patch.path)), patch.path)
    const document = parseAllDocuments(readFileSync(path.join(overlayDir, patch.path), 'utf8'))[0]!.toJS()
    t.ok(base.some((m) => m.kind === document.kind && m.metadata.name === document.metadata.name), `${patch.path} patches a base resource`)
    if (document.kind === 'ConfigMap') {
      const merged = { ...configMap.data, ...document.data }
      t.same(Object.keys(document.data).filter((v) => !knownVariables.has(v)), [], 'overlay variables are known')
      const env = environmentOf(deployment.spec.template.spec.containers[0], merged)
      t.ok(loadConfig(withMountedRootKeys(env)), 'the overlay configuration is valid')
    }
  }
})
