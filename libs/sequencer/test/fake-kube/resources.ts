/**
 * The resources the fake serves and the discovery documents that describe them (legacy discovery: /api, /apis,
 * /api/v1, /apis/batch/v1), as the real API server writes them.
 */

export interface ResourceDef {
  plural: string;
  singular: string;
  kind: string;
  group: '' | 'batch';
  version: 'v1';
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: string[];
  /** Field selectors the resource supports (besides metadata.name / metadata.namespace). */
  fields: string[];
  subresources: { name: string; kind: string; verbs: string[] }[];
}

const META_FIELDS = ['metadata.name', 'metadata.namespace'];

export const RESOURCES: ResourceDef[] = [
  {
    plural: 'pods',
    singular: 'pod',
    kind: 'Pod',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    verbs: ['create', 'delete', 'get', 'list', 'watch'],
    fields: [...META_FIELDS, 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
    subresources: [
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'status', kind: 'Pod', verbs: ['get'] },
    ],
  },
  {
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: ['ev'],
    verbs: ['get', 'list', 'watch'],
    fields: [
      ...META_FIELDS,
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
    subresources: [],
  },
  {
    plural: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    group: '',
    version: 'v1',
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['create', 'get', 'list', 'watch'],
    fields: [...META_FIELDS, 'status.phase'],
    subresources: [],
  },
  {
    plural: 'jobs',
    singular: 'job',
    kind: 'Job',
    group: 'batch',
    version: 'v1',
    namespaced: true,
    categories: ['all'],
    verbs: ['create', 'delete', 'get', 'list', 'watch'],
    fields: [...META_FIELDS, 'status.successful'],
    subresources: [{ name: 'status', kind: 'Job', verbs: ['get'] }],
  },
];

export function apiVersionOf(def: ResourceDef): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

export function findResource(group: string, plural: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.plural === plural);
}

export function resourceList(group: string): object {
  const defs = RESOURCES.filter((r) => r.group === group);
  const resources: object[] = [];
  for (const r of defs) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      ...(r.categories ? { categories: r.categories } : {}),
      storageVersionHash: Buffer.from(`${r.group}/${r.plural}`).toString('base64').slice(0, 11),
    });
    for (const s of r.subresources) {
      resources.push({ name: `${r.plural}/${s.name}`, singularName: '', namespaced: r.namespaced, kind: s.kind, verbs: s.verbs });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/v1` : 'v1', resources };
}

export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

const BATCH_GROUP = {
  name: 'batch',
  versions: [{ groupVersion: 'batch/v1', version: 'v1' }],
  preferredVersion: { groupVersion: 'batch/v1', version: 'v1' },
};

export function apiGroupList(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [BATCH_GROUP] };
}

export function apiGroup(name: string): object | undefined {
  return name === 'batch' ? { kind: 'APIGroup', apiVersion: 'v1', ...BATCH_GROUP } : undefined;
}

export const VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-genome-fake',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};
