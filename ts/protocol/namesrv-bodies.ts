// JSON bodies of the name server protocol, shared by the name server (produces routes, reads
// registrations), the broker (registers) and the SDK (reads routes).
//
// Encoders write keys in fastjson's alphabetical order and always quote map keys (route
// `brokerAddrs` included): quoted keys are valid JSON and every client accepts them, while
// fastjson's unquoted form is only for old Java peers. Decoders accept both forms.

import { ProtocolError } from '../common/errors.js';
import {
  asArray, asBoolean, asInteger, asObject, asString, entriesOf, optionalField, type JsonObject,
} from './json-shape.js';
import { parseLenientJson } from './lenient-json.js';

/** Version of a broker's topic configuration; equal versions mean nothing changed. */
export interface DataVersion {
  counter: number;
  stateVersion: number;
  timestamp: number;
}

/** A topic as configured on a broker. */
export interface TopicConfig {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  /** Permission bits (Perm): 6 = read + write. */
  perm: number;
  topicFilterType: string;
  topicSysFlag: number;
  order: boolean;
  attributes: Record<string, string>;
}

/** Body of REGISTER_BROKER. */
export interface RegisterBrokerBody {
  topicConfigSerializeWrapper: {
    topicConfigTable: Record<string, TopicConfig>;
    dataVersion: DataVersion;
  };
  filterServerList: string[];
}

/** Queues of a topic on one broker group. */
export interface QueueData {
  brokerName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicSysFlag: number;
}

/** Addresses of one broker group: `brokerAddrs[brokerId] = "ip:port"`, id 0 is the master. */
export interface BrokerData {
  cluster: string;
  brokerName: string;
  brokerAddrs: Record<string, string>;
  enableActingMaster: boolean;
  zoneName?: string;
}

/** Body of a GET_ROUTEINFO_BY_TOPIC response. */
export interface TopicRouteData {
  queueDatas: QueueData[];
  brokerDatas: BrokerData[];
  filterServerTable: Record<string, string[]>;
  orderTopicConf?: string;
}

/** Body of a GET_BROKER_CLUSTER_INFO response. */
export interface ClusterInfo {
  brokerAddrTable: Record<string, BrokerData>;
  clusterAddrTable: Record<string, string[]>;
}

function textOf(body: Buffer | string): string {
  return typeof body === 'string' ? body : body.toString('utf8');
}

function parseObject(body: Buffer | string, what: string): JsonObject {
  if (body.length === 0) throw new ProtocolError('BODY_INVALID', `${what}: body is empty`);
  return asObject(parseLenientJson(textOf(body)), what);
}

function stringMap(value: unknown, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, entry] of entriesOf(asObject(value, path))) {
    out[key] = typeof entry === 'string' ? entry : String(asInteger(entry, `${path}.${key}`));
  }
  return out;
}

/** Decodes a DataVersion object (already parsed). */
export function dataVersionFromJson(value: unknown, path = 'dataVersion'): DataVersion {
  const object = asObject(value, path);
  return {
    counter: optionalField(object, 'counter', path, asInteger, 0),
    stateVersion: optionalField(object, 'stateVersion', path, asInteger, 0),
    timestamp: optionalField(object, 'timestamp', path, asInteger, 0),
  };
}

/** Decodes a DataVersion body (QUERY_DATA_VERSION request and response). */
export function decodeDataVersion(body: Buffer | string): DataVersion {
  return dataVersionFromJson(parseObject(body, 'DataVersion'), 'DataVersion');
}

export function encodeDataVersion(version: DataVersion): Buffer {
  return Buffer.from(JSON.stringify(dataVersionJson(version)), 'utf8');
}

function dataVersionJson(version: DataVersion): JsonObject {
  return { counter: version.counter, stateVersion: version.stateVersion, timestamp: version.timestamp };
}

/** True if both versions are the same (nothing to re-register). */
export function dataVersionEquals(left: DataVersion, right: DataVersion): boolean {
  return left.counter === right.counter
    && left.stateVersion === right.stateVersion
    && left.timestamp === right.timestamp;
}

/** Decodes one TopicConfig object (already parsed); missing fields take Java's defaults. */
export function topicConfigFromJson(name: string, value: unknown, path: string): TopicConfig {
  const object = asObject(value, path);
  // Missing fields take Java TopicConfig's defaults.
  const attributes = object['attributes'];
  return {
    topicName: optionalField(object, 'topicName', path, asString, name),
    readQueueNums: optionalField(object, 'readQueueNums', path, asInteger, 16),
    writeQueueNums: optionalField(object, 'writeQueueNums', path, asInteger, 16),
    perm: optionalField(object, 'perm', path, asInteger, 6),
    topicFilterType: optionalField(object, 'topicFilterType', path, asString, 'SINGLE_TAG'),
    topicSysFlag: optionalField(object, 'topicSysFlag', path, asInteger, 0),
    order: optionalField(object, 'order', path, asBoolean, false),
    attributes: attributes === undefined || attributes === null ? {} : stringMap(attributes, `${path}.attributes`),
  };
}

/**
 * Decodes an uncompressed RegisterBrokerBody (fastjson unquoted keys accepted).
 * @throws ProtocolError `BODY_INVALID` naming the offending path.
 */
export function decodeRegisterBrokerBody(body: Buffer | string): RegisterBrokerBody {
  const root = parseObject(body, 'RegisterBrokerBody');
  const wrapperPath = 'RegisterBrokerBody.topicConfigSerializeWrapper';
  const wrapper = asObject(root['topicConfigSerializeWrapper'], wrapperPath);
  const tablePath = `${wrapperPath}.topicConfigTable`;
  const table = optionalField(wrapper, 'topicConfigTable', wrapperPath, asObject, {});
  const topicConfigTable: Record<string, TopicConfig> = {};
  for (const [name, config] of entriesOf(table)) {
    topicConfigTable[name] = topicConfigFromJson(name, config, `${tablePath}.${name}`);
  }
  const dataVersion = optionalField(wrapper, 'dataVersion', wrapperPath, dataVersionFromJson, {
    counter: 0, stateVersion: 0, timestamp: 0,
  });
  const filterServers = optionalField(root, 'filterServerList', 'RegisterBrokerBody', asArray, []);
  const filterServerList = filterServers.map((entry, index) =>
    asString(entry, `RegisterBrokerBody.filterServerList[${index}]`));
  return { topicConfigSerializeWrapper: { topicConfigTable, dataVersion }, filterServerList };
}

/** One TopicConfig as a JSON object, keys in fastjson's order. */
export function topicConfigToJson(config: TopicConfig): JsonObject {
  return {
    attributes: config.attributes,
    order: config.order,
    perm: config.perm,
    readQueueNums: config.readQueueNums,
    topicFilterType: config.topicFilterType,
    topicName: config.topicName,
    topicSysFlag: config.topicSysFlag,
    writeQueueNums: config.writeQueueNums,
  };
}

/** Encodes a RegisterBrokerBody (uncompressed form). */
export function encodeRegisterBrokerBody(body: RegisterBrokerBody): Buffer {
  const table: JsonObject = {};
  for (const [name, config] of Object.entries(body.topicConfigSerializeWrapper.topicConfigTable)) {
    table[name] = topicConfigToJson(config);
  }
  const json = {
    filterServerList: body.filterServerList,
    topicConfigSerializeWrapper: {
      dataVersion: dataVersionJson(body.topicConfigSerializeWrapper.dataVersion),
      topicConfigTable: table,
    },
  };
  return Buffer.from(JSON.stringify(json), 'utf8');
}

function brokerDataJson(data: BrokerData): JsonObject {
  const json: JsonObject = {
    brokerAddrs: { ...data.brokerAddrs },
    brokerName: data.brokerName,
    cluster: data.cluster,
    enableActingMaster: data.enableActingMaster,
  };
  if (data.zoneName !== undefined) json['zoneName'] = data.zoneName;
  return json;
}

function queueDataJson(data: QueueData): JsonObject {
  return {
    brokerName: data.brokerName,
    perm: data.perm,
    readQueueNums: data.readQueueNums,
    topicSysFlag: data.topicSysFlag,
    writeQueueNums: data.writeQueueNums,
  };
}

/** Encodes TopicRouteData with quoted broker-id keys. */
export function encodeTopicRouteData(route: TopicRouteData): Buffer {
  const json: JsonObject = {
    brokerDatas: route.brokerDatas.map(brokerDataJson),
    filterServerTable: route.filterServerTable,
  };
  if (route.orderTopicConf !== undefined) json['orderTopicConf'] = route.orderTopicConf;
  json['queueDatas'] = route.queueDatas.map(queueDataJson);
  return Buffer.from(JSON.stringify(json), 'utf8');
}

function brokerDataFromJson(value: unknown, path: string): BrokerData {
  const object = asObject(value, path);
  const data: BrokerData = {
    cluster: optionalField(object, 'cluster', path, asString, ''),
    brokerName: asString(object['brokerName'], `${path}.brokerName`),
    brokerAddrs: stringMap(object['brokerAddrs'] ?? {}, `${path}.brokerAddrs`),
    enableActingMaster: optionalField(object, 'enableActingMaster', path, asBoolean, false),
  };
  const zoneName = object['zoneName'];
  if (typeof zoneName === 'string') data.zoneName = zoneName;
  return data;
}

function queueDataFromJson(value: unknown, path: string): QueueData {
  const object = asObject(value, path);
  return {
    brokerName: asString(object['brokerName'], `${path}.brokerName`),
    readQueueNums: asInteger(object['readQueueNums'], `${path}.readQueueNums`),
    writeQueueNums: asInteger(object['writeQueueNums'], `${path}.writeQueueNums`),
    perm: asInteger(object['perm'], `${path}.perm`),
    topicSysFlag: optionalField(object, 'topicSysFlag', path, asInteger, 0),
  };
}

/** Decodes TopicRouteData (quoted or fastjson unquoted broker ids). */
export function decodeTopicRouteData(body: Buffer | string): TopicRouteData {
  const root = parseObject(body, 'TopicRouteData');
  const route: TopicRouteData = {
    queueDatas: optionalField(root, 'queueDatas', 'TopicRouteData', asArray, []).map((entry, index) =>
      queueDataFromJson(entry, `TopicRouteData.queueDatas[${index}]`)),
    brokerDatas: optionalField(root, 'brokerDatas', 'TopicRouteData', asArray, []).map((entry, index) =>
      brokerDataFromJson(entry, `TopicRouteData.brokerDatas[${index}]`)),
    filterServerTable: {},
  };
  const filters = optionalField(root, 'filterServerTable', 'TopicRouteData', asObject, {});
  for (const [address, servers] of entriesOf(filters)) {
    const path = `TopicRouteData.filterServerTable.${address}`;
    route.filterServerTable[address] = asArray(servers, path).map((server, index) =>
      asString(server, `${path}[${index}]`));
  }
  const orderTopicConf = root['orderTopicConf'];
  if (typeof orderTopicConf === 'string') route.orderTopicConf = orderTopicConf;
  return route;
}

/** Encodes GET_BROKER_CLUSTER_INFO's body. */
export function encodeClusterInfo(info: ClusterInfo): Buffer {
  const brokerAddrTable: JsonObject = {};
  for (const [name, data] of Object.entries(info.brokerAddrTable)) brokerAddrTable[name] = brokerDataJson(data);
  return Buffer.from(JSON.stringify({ brokerAddrTable, clusterAddrTable: info.clusterAddrTable }), 'utf8');
}

/** Decodes GET_BROKER_CLUSTER_INFO's body. */
export function decodeClusterInfo(body: Buffer | string): ClusterInfo {
  const root = parseObject(body, 'ClusterInfo');
  const info: ClusterInfo = { brokerAddrTable: {}, clusterAddrTable: {} };
  for (const [name, data] of entriesOf(optionalField(root, 'brokerAddrTable', 'ClusterInfo', asObject, {}))) {
    info.brokerAddrTable[name] = brokerDataFromJson(data, `ClusterInfo.brokerAddrTable.${name}`);
  }
  for (const [cluster, names] of entriesOf(optionalField(root, 'clusterAddrTable', 'ClusterInfo', asObject, {}))) {
    const path = `ClusterInfo.clusterAddrTable.${cluster}`;
    info.clusterAddrTable[cluster] = asArray(names, path).map((name, index) => asString(name, `${path}[${index}]`));
  }
  return info;
}

/** Encodes a KVTable body: `{"table":{...}}`. */
export function encodeKVTable(table: Readonly<Record<string, string>>): Buffer {
  return Buffer.from(JSON.stringify({ table }), 'utf8');
}

/** Decodes a KVTable body. */
export function decodeKVTable(body: Buffer | string): Record<string, string> {
  const root = parseObject(body, 'KVTable');
  return stringMap(root['table'] ?? {}, 'KVTable.table');
}

/** Encodes a TopicList body: `{"topicList":[...]}`. */
export function encodeTopicList(topics: Iterable<string>): Buffer {
  return Buffer.from(JSON.stringify({ topicList: [...topics] }), 'utf8');
}

/** Decodes a TopicList body. */
export function decodeTopicList(body: Buffer | string): string[] {
  const root = parseObject(body, 'TopicList');
  return optionalField(root, 'topicList', 'TopicList', asArray, []).map((topic, index) =>
    asString(topic, `TopicList.topicList[${index}]`));
}
