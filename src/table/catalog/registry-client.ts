import { TributaryError, type ErrorCode } from '../../errors.js';

/**
 * A client of the Pravega schema registry's REST API (v1, as served by schemaregistry-server
 * 0.2.0): groups, schemas, encoding ids and compatibility. Every call has a deadline; an HTTP
 * failure becomes a TributaryError — 404 REGISTRY_NOT_FOUND, 409 REGISTRY_CONFLICT (the group
 * exists, or a schema is incompatible with the group's policy), 400/417 ILLEGAL_ARGUMENT (the
 * registry could not parse what it was given), 401/403 AUTH_FAILED, anything else SERVER_ERROR;
 * a registry that does not answer is CONNECTION_FAILED or TIMEOUT (retryable).
 *
 * Groups live in a namespace (the catalog uses the Pravega scope); schema text travels base64.
 */

export type SerializationFormat = 'Avro' | 'Json' | 'Protobuf' | 'Any' | 'Custom';
export type CompatibilityPolicy =
  | 'AllowAny'
  | 'DenyAll'
  | 'Backward'
  | 'Forward'
  | 'BackwardTransitive'
  | 'ForwardTransitive'
  | 'Full'
  | 'FullTransitive';

export interface GroupProperties {
  readonly serializationFormat: SerializationFormat;
  readonly compatibility: CompatibilityPolicy;
  readonly allowMultipleTypes: boolean;
  readonly properties: Readonly<Record<string, string>>;
}

export interface SchemaInfo {
  /** the object type: an Avro record's full name, a JSON schema's title or '' */
  readonly type: string;
  readonly serializationFormat: SerializationFormat;
  /** the schema's text (UTF-8) */
  readonly schema: string;
  readonly properties: Readonly<Record<string, string>>;
}

export interface VersionInfo {
  readonly type: string;
  readonly serializationFormat: SerializationFormat;
  readonly version: number;
  /** the schema's id within the group */
  readonly id: number;
}

export interface SchemaWithVersion {
  readonly schema: SchemaInfo;
  readonly version: VersionInfo;
}

export interface EncodingInfo {
  readonly schema: SchemaInfo;
  readonly version: VersionInfo;
  /** '' = no codec */
  readonly codecType: string;
}

export interface RegistryClientOptions {
  /** http(s)://host:port of the registry */
  readonly uri: string;
  /** the namespace of every group this client names (none = the default namespace) */
  readonly namespace?: string;
  /** `Authorization: <authType> <authToken>` (Pravega's convention, e.g. Basic + base64) */
  readonly authType?: string;
  readonly authToken?: string;
  /** deadline of one call (default 10 s) */
  readonly timeoutMs?: number;
}

interface RawSchemaInfo {
  type: string;
  serializationFormat: { serializationFormat: string; fullTypeName?: string };
  schemaData: string;
  properties?: Record<string, string>;
}
interface RawVersionInfo {
  type: string;
  serializationFormat: string;
  version: number;
  id: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function statusCode(status: number): ErrorCode {
  if (status === 404) return 'REGISTRY_NOT_FOUND';
  if (status === 409) return 'REGISTRY_CONFLICT';
  if (status === 400 || status === 417) return 'ILLEGAL_ARGUMENT';
  if (status === 401 || status === 403) return 'AUTH_FAILED';
  return 'SERVER_ERROR';
}

function toSchemaInfo(raw: RawSchemaInfo): SchemaInfo {
  return {
    type: raw.type,
    serializationFormat: raw.serializationFormat.serializationFormat as SerializationFormat,
    schema: Buffer.from(raw.schemaData, 'base64').toString('utf8'),
    properties: raw.properties ?? {},
  };
}

function fromSchemaInfo(info: SchemaInfo): RawSchemaInfo {
  return {
    type: info.type,
    serializationFormat: { serializationFormat: info.serializationFormat },
    schemaData: Buffer.from(info.schema, 'utf8').toString('base64'),
    properties: { ...info.properties },
  };
}

function toVersionInfo(raw: RawVersionInfo): VersionInfo {
  return {
    type: raw.type,
    serializationFormat: raw.serializationFormat as SerializationFormat,
    version: raw.version,
    id: raw.id,
  };
}

export class SchemaRegistryClient {
  readonly uri: string;
  readonly namespace: string | undefined;
  private readonly timeoutMs: number;
  private readonly authorization: string | undefined;

  constructor(options: RegistryClientOptions) {
    let url: URL;
    try {
      url = new URL(options.uri);
    } catch {
      url = new URL('invalid:');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TributaryError(
        'CONFIG_INVALID',
        `schema registry URI '${options.uri}' is not an http:// or https:// URL; give e.g. http://localhost:9092`,
      );
    }
    this.uri = options.uri.replace(/\/+$/, '');
    this.namespace = options.namespace;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.authorization =
      options.authType !== undefined && options.authToken !== undefined
        ? `${options.authType} ${options.authToken}`
        : undefined;
  }

  /** The same registry, another namespace. */
  withNamespace(namespace: string | undefined): SchemaRegistryClient {
    return new SchemaRegistryClient({
      uri: this.uri,
      ...(namespace !== undefined ? { namespace } : {}),
      timeoutMs: this.timeoutMs,
      ...(this.authorization !== undefined
        ? {
            authType: this.authorization.split(' ')[0]!,
            authToken: this.authorization.slice(this.authorization.indexOf(' ') + 1),
          }
        : {}),
    });
  }

  // ---- groups ----

  /**
   * Every group of the namespace with its properties, asked for `pageSize` at a time (follows the
   * continuation tokens).
   */
  async listGroups(pageSize = 100): Promise<Map<string, GroupProperties>> {
    const groups = new Map<string, GroupProperties>();
    let token: string | undefined;
    for (let page = 0; page < 100_000; page++) {
      const res = await this.call<{
        groups: Record<string, RawGroupProperties>;
        continuationToken?: string;
      }>('listGroups', 'GET', '/groups', undefined, {
        ...(token ? { continuationToken: token } : {}),
        limit: String(pageSize),
      });
      const entries = Object.entries(res.groups ?? {});
      for (const [name, props] of entries) groups.set(name, toGroupProperties(props));
      if (entries.length === 0 || !res.continuationToken || res.continuationToken === token) break;
      token = res.continuationToken;
    }
    return groups;
  }

  async getGroup(group: string): Promise<GroupProperties> {
    return toGroupProperties(
      await this.call<RawGroupProperties>('getGroup', 'GET', `/groups/${enc(group)}`),
    );
  }

  async groupExists(group: string): Promise<boolean> {
    try {
      await this.getGroup(group);
      return true;
    } catch (err) {
      if (TributaryError.is(err, 'REGISTRY_NOT_FOUND')) return false;
      throw err;
    }
  }

  /** Creates the group; false when it already exists (409). */
  async addGroup(group: string, properties: Partial<GroupProperties> = {}): Promise<boolean> {
    try {
      await this.call('addGroup', 'POST', '/groups', {
        groupName: group,
        groupProperties: {
          serializationFormat: { serializationFormat: properties.serializationFormat ?? 'Any' },
          compatibility: { policy: properties.compatibility ?? 'AllowAny' },
          allowMultipleTypes: properties.allowMultipleTypes ?? false,
          properties: { ...(properties.properties ?? {}) },
        },
      });
      return true;
    } catch (err) {
      if (TributaryError.is(err, 'REGISTRY_CONFLICT')) return false;
      throw err;
    }
  }

  /** Removes the group; false when there was none (the registry's DELETE itself says 204 either way). */
  async removeGroup(group: string): Promise<boolean> {
    if (!(await this.groupExists(group))) return false;
    try {
      await this.call('removeGroup', 'DELETE', `/groups/${enc(group)}`);
      return true;
    } catch (err) {
      if (TributaryError.is(err, 'REGISTRY_NOT_FOUND')) return false;
      throw err;
    }
  }

  async updateCompatibility(group: string, policy: CompatibilityPolicy): Promise<void> {
    await this.call('updateCompatibility', 'PUT', `/groups/${enc(group)}/compatibility`, {
      compatibility: { policy },
    });
  }

  // ---- schemas ----

  /**
   * Registers the schema (idempotent: an identical schema gets its existing version); a schema
   * the group's compatibility policy refuses is REGISTRY_CONFLICT.
   */
  async addSchema(group: string, schema: SchemaInfo): Promise<VersionInfo> {
    return toVersionInfo(
      await this.call<RawVersionInfo>(
        'addSchema',
        'POST',
        `/groups/${enc(group)}/schemas`,
        fromSchemaInfo(schema),
      ),
    );
  }

  /** Every schema of the group (latest version of each type first in registry order). */
  async getSchemas(group: string, type?: string): Promise<SchemaWithVersion[]> {
    const res = await this.call<{
      schemas: { schemaInfo: RawSchemaInfo; versionInfo: RawVersionInfo }[];
    }>('getSchemas', 'GET', `/groups/${enc(group)}/schemas`, undefined, type ? { type } : {});
    return res.schemas.map((s) => ({
      schema: toSchemaInfo(s.schemaInfo),
      version: toVersionInfo(s.versionInfo),
    }));
  }

  /** Every version of the group's schemas, oldest first. */
  async getSchemaVersions(group: string, type?: string): Promise<SchemaWithVersion[]> {
    const res = await this.call<{
      schemas: { schemaInfo: RawSchemaInfo; versionInfo: RawVersionInfo }[];
    }>(
      'getSchemaVersions',
      'GET',
      `/groups/${enc(group)}/schemas/versions`,
      undefined,
      type ? { type } : {},
    );
    return res.schemas
      .map((s) => ({ schema: toSchemaInfo(s.schemaInfo), version: toVersionInfo(s.versionInfo) }))
      .sort((a, b) => a.version.id - b.version.id);
  }

  /** The newest schema of the group (of `type` if given); REGISTRY_NOT_FOUND when it has none. */
  async getLatestSchema(group: string, type?: string): Promise<SchemaWithVersion> {
    const all = await this.getSchemaVersions(group, type);
    const latest = all[all.length - 1];
    if (latest === undefined) {
      throw new TributaryError(
        'REGISTRY_NOT_FOUND',
        `schema registry group '${this.qualified(group)}' has no schema${type ? ` of type '${type}'` : ''}; register one first`,
      );
    }
    return latest;
  }

  async getSchemaById(group: string, id: number): Promise<SchemaInfo> {
    return toSchemaInfo(
      await this.call<RawSchemaInfo>(
        'getSchemaById',
        'GET',
        `/groups/${enc(group)}/schemas/schema/${id}`,
      ),
    );
  }

  async getSchemaByVersion(
    group: string,
    format: SerializationFormat,
    type: string,
    version: number,
  ): Promise<SchemaInfo> {
    return toSchemaInfo(
      await this.call<RawSchemaInfo>(
        'getSchemaByVersion',
        'GET',
        `/groups/${enc(group)}/schemas/format/${enc(format)}/type/${enc(type)}/versions/${version}`,
      ),
    );
  }

  /** The version of an already registered schema; REGISTRY_NOT_FOUND when it is not registered. */
  async getVersionForSchema(group: string, schema: SchemaInfo): Promise<VersionInfo> {
    return toVersionInfo(
      await this.call<RawVersionInfo>(
        'getVersionForSchema',
        'POST',
        `/groups/${enc(group)}/schemas/versions/find`,
        fromSchemaInfo(schema),
      ),
    );
  }

  /**
   * Whether a compatibility policy (default: the group's own) would accept the schema as a new
   * version of the group.
   */
  async validateSchema(
    group: string,
    schema: SchemaInfo,
    policy?: CompatibilityPolicy,
  ): Promise<boolean> {
    const compatibility = policy ?? (await this.getGroup(group)).compatibility;
    const res = await this.call<{ valid: boolean }>(
      'validateSchema',
      'POST',
      `/groups/${enc(group)}/schemas/versions/validate`,
      { schemaInfo: fromSchemaInfo(schema), compatibility: { policy: compatibility } },
    );
    return res.valid;
  }

  // ---- encodings (what the serializers' header names) ----

  /** The encoding id of (schema version, codec): created on first use, stable afterwards. */
  async getEncodingId(group: string, version: VersionInfo, codecType = ''): Promise<number> {
    const res = await this.call<{ encodingId: number }>(
      'getEncodingId',
      'PUT',
      `/groups/${enc(group)}/encodings`,
      { versionInfo: version, codecType },
    );
    return res.encodingId;
  }

  async getEncodingInfo(group: string, encodingId: number): Promise<EncodingInfo> {
    const res = await this.call<{
      schemaInfo: RawSchemaInfo;
      versionInfo: RawVersionInfo;
      codecType: { name: string };
    }>('getEncodingInfo', 'GET', `/groups/${enc(group)}/encodings/${encodingId}`);
    return {
      schema: toSchemaInfo(res.schemaInfo),
      version: toVersionInfo(res.versionInfo),
      codecType: res.codecType.name,
    };
  }

  // ---- plumbing ----

  private qualified(group: string): string {
    return this.namespace ? `${this.namespace}/${group}` : group;
  }

  private async call<T>(
    what: string,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    query: Record<string, string> = {},
  ): Promise<T> {
    const params = new URLSearchParams(query);
    if (this.namespace !== undefined) params.set('namespace', this.namespace);
    const qs = params.toString();
    const url = `${this.uri}/v1${path}${qs ? `?${qs}` : ''}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.authorization !== undefined) headers['authorization'] = this.authorization;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      throw new TributaryError(
        timedOut ? 'TIMEOUT' : 'CONNECTION_FAILED',
        timedOut
          ? `schema registry ${what} (${method} ${url}) got no answer within ${this.timeoutMs} ms; check that the registry at ${this.uri} is up`
          : `schema registry ${what}: cannot reach ${this.uri} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : String(err)}); check 'schema-registry-uri' and that the registry runs`,
        { cause: err, details: { url } },
      );
    }
    if (!res.ok) {
      const code = statusCode(res.status);
      const hint =
        code === 'REGISTRY_NOT_FOUND'
          ? 'it does not exist'
          : code === 'REGISTRY_CONFLICT'
            ? 'it already exists or is incompatible with the group'
            : (text.trim().split('\n')[0] ?? '').slice(0, 300) || 'no details';
      throw new TributaryError(
        code,
        `schema registry ${what} of '${this.qualified(pathSubject(path))}' failed with HTTP ${res.status}: ${hint}`,
        { details: { status: res.status, url, body: text.slice(0, 2000) } },
      );
    }
    if (text.trim() === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new TributaryError(
        'PROTOCOL_ERROR',
        `schema registry ${what} answered HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`,
        { cause: err },
      );
    }
  }
}

interface RawGroupProperties {
  serializationFormat: { serializationFormat: string };
  compatibility: { policy: string };
  allowMultipleTypes: boolean;
  properties?: Record<string, string>;
}

function toGroupProperties(raw: RawGroupProperties): GroupProperties {
  return {
    serializationFormat: raw.serializationFormat.serializationFormat as SerializationFormat,
    compatibility: raw.compatibility.policy as CompatibilityPolicy,
    allowMultipleTypes: raw.allowMultipleTypes,
    properties: raw.properties ?? {},
  };
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** `/groups/<g>/...` → `<g>` for messages */
function pathSubject(path: string): string {
  const match = /^\/groups\/([^/]+)/.exec(path);
  return match ? decodeURIComponent(match[1]!) : '(groups)';
}
