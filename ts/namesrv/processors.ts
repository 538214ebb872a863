// Request handlers of the name server. Each decodes its header through a schema (a missing or
// malformed field becomes a SYSTEM_ERROR naming the field, via the transport's handler-error
// path), acts on the route table or KV store, and answers in JSON.

import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { makeResponse, type RemotingCommand } from '../protocol/command.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { crc32Masked } from '../protocol/crc32.js';
import { decodeHeader, encodeHeader } from '../protocol/header-schema.js';
import {
  DeleteKVConfigRequestHeader, GetKVConfigRequestHeader, GetKVConfigResponseHeader, GetKVListByNamespaceRequestHeader,
  GetRouteInfoRequestHeader, PutKVConfigRequestHeader, QueryDataVersionRequestHeader, QueryDataVersionResponseHeader,
  RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnregisterBrokerRequestHeader,
} from '../protocol/headers-namesrv.js';
import {
  DeleteTopicFromNamesrvRequestHeader, GetTopicsByClusterRequestHeader, WipeWritePermOfBrokerRequestHeader,
  WipeWritePermOfBrokerResponseHeader,
} from '../protocol/headers-admin.js';
import {
  decodeDataVersion, decodeRegisterBrokerBody, encodeClusterInfo, encodeDataVersion, encodeKVTable, encodeTopicList,
  encodeTopicRouteData, type RegisterBrokerBody,
} from '../protocol/namesrv-bodies.js';
import type { RequestHandler } from '../remoting/processor-table.js';
import type { KvConfigStore } from './kv-config.js';
import type { RouteInfoManager } from './route-info-manager.js';

/** KV namespace holding per-topic order configuration ("brokerA:4;brokerB:4"). */
export const ORDER_TOPIC_CONFIG_NAMESPACE = 'ORDER_TOPIC_CONFIG';

/** Body assumed when a broker registers without one: no topics, version zero. */
const EMPTY_REGISTER_BODY: RegisterBrokerBody = {
  topicConfigSerializeWrapper: { topicConfigTable: {}, dataVersion: { counter: 0, stateVersion: 0, timestamp: 0 } },
  filterServerList: [],
};

/** What the handlers work on. */
export interface NamesrvState {
  routes: RouteInfoManager;
  kv: KvConfigStore;
  orderMessageEnable: boolean;
  logger: Logger;
  now: () => number;
}

function success(request: RemotingCommand, options: Parameters<typeof makeResponse>[2] = {}): RemotingCommand {
  return makeResponse(request, ResponseCode.SUCCESS, options);
}

function registerBroker(state: NamesrvState): RequestHandler {
  return (request, context) => {
    const header = decodeHeader(RegisterBrokerRequestHeader, request.extFields);
    const body = request.body;
    const expectedCrc = header.bodyCrc32 ?? 0;
    if (body !== undefined && expectedCrc !== 0 && crc32Masked(body) !== expectedCrc) {
      return makeResponse(request, ResponseCode.SYSTEM_ERROR, {
        remark: `register body CRC32 mismatch: header ${header.bodyCrc32}, body ${crc32Masked(body)}`,
      });
    }
    if (header.compressed === true) {
      return makeResponse(request, ResponseCode.SYSTEM_ERROR, {
        remark: 'compressed RegisterBrokerBody is not supported by this name server; '
          + 'set compressedRegister=false on the broker',
      });
    }
    let decoded: RegisterBrokerBody;
    try {
      decoded = body === undefined || body.length === 0 ? EMPTY_REGISTER_BODY : decodeRegisterBrokerBody(body);
    } catch (error) {
      const remark = `bad RegisterBrokerBody: ${errorMessage(error)}`;
      return makeResponse(request, ResponseCode.SYSTEM_ERROR, { remark });
    }
    const isNew = state.routes.liveBroker(header.brokerAddr) === undefined;
    const result = state.routes.registerBroker({
      clusterName: header.clusterName,
      brokerAddr: header.brokerAddr,
      brokerName: header.brokerName,
      brokerId: header.brokerId,
      haServerAddr: header.haServerAddr,
      enableActingMaster: header.enableActingMaster ?? false,
      topicConfigTable: decoded.topicConfigSerializeWrapper.topicConfigTable,
      dataVersion: decoded.topicConfigSerializeWrapper.dataVersion,
      connectionId: context.connection.id,
      nowMs: state.now(),
    });
    if (isNew) {
      state.logger.info('broker registered', {
        cluster: header.clusterName,
        brokerName: header.brokerName,
        brokerId: header.brokerId,
        brokerAddr: header.brokerAddr,
        topics: Object.keys(decoded.topicConfigSerializeWrapper.topicConfigTable).length,
      });
    }
    const orderConfig = state.kv.list(ORDER_TOPIC_CONFIG_NAMESPACE);
    return success(request, {
      extFields: encodeHeader(RegisterBrokerResponseHeader, result),
      ...(orderConfig === undefined ? {} : { body: encodeKVTable(orderConfig) }),
    });
  };
}

function unregisterBroker(state: NamesrvState): RequestHandler {
  return (request) => {
    const header = decodeHeader(UnregisterBrokerRequestHeader, request.extFields);
    if (state.routes.unregisterBroker(header)) {
      state.logger.info('broker unregistered', { brokerName: header.brokerName, brokerAddr: header.brokerAddr });
    }
    return success(request);
  };
}

function getRouteInfo(state: NamesrvState): RequestHandler {
  return (request) => {
    const { topic } = decodeHeader(GetRouteInfoRequestHeader, request.extFields);
    const route = state.routes.getTopicRoute(topic);
    if (route === null) {
      return makeResponse(request, ResponseCode.TOPIC_NOT_EXIST, {
        remark: `No topic route info in name server for the topic: ${topic}`,
      });
    }
    if (state.orderMessageEnable) {
      const orderTopicConf = state.kv.get(ORDER_TOPIC_CONFIG_NAMESPACE, topic);
      if (orderTopicConf !== undefined) route.orderTopicConf = orderTopicConf;
    }
    // Broker-id keys are always quoted: valid JSON, accepted by every client version.
    return success(request, { body: encodeTopicRouteData(route) });
  };
}

function queryDataVersion(state: NamesrvState): RequestHandler {
  return (request) => {
    const header = decodeHeader(QueryDataVersionRequestHeader, request.extFields);
    if (request.body === undefined) {
      const remark = 'QUERY_DATA_VERSION without a DataVersion body';
      return makeResponse(request, ResponseCode.SYSTEM_ERROR, { remark });
    }
    const dataVersion = decodeDataVersion(request.body);
    const changed = state.routes.isBrokerTopicConfigChanged(header.brokerAddr, dataVersion);
    // A broker that asks instead of re-registering is alive: refresh it unless it must re-register.
    if (!changed) state.routes.touchBroker(header.brokerAddr, state.now());
    const known = state.routes.liveBroker(header.brokerAddr)?.dataVersion;
    return success(request, {
      extFields: encodeHeader(QueryDataVersionResponseHeader, { changed }),
      ...(known === undefined ? {} : { body: encodeDataVersion(known) }),
    });
  };
}

function putKvConfig(state: NamesrvState): RequestHandler {
  return async (request) => {
    const { namespace, key, value } = decodeHeader(PutKVConfigRequestHeader, request.extFields);
    await state.kv.put(namespace, key, value);
    return success(request);
  };
}

function getKvConfig(state: NamesrvState): RequestHandler {
  return (request) => {
    const { namespace, key } = decodeHeader(GetKVConfigRequestHeader, request.extFields);
    const value = state.kv.get(namespace, key);
    if (value === undefined) {
      const remark = `No config item, Namespace: ${namespace} Key: ${key}`;
      return makeResponse(request, ResponseCode.QUERY_NOT_FOUND, { remark });
    }
    return success(request, { extFields: encodeHeader(GetKVConfigResponseHeader, { value }) });
  };
}

function deleteKvConfig(state: NamesrvState): RequestHandler {
  return async (request) => {
    const { namespace, key } = decodeHeader(DeleteKVConfigRequestHeader, request.extFields);
    await state.kv.delete(namespace, key);
    return success(request);
  };
}

function getKvList(state: NamesrvState): RequestHandler {
  return (request) => {
    const { namespace } = decodeHeader(GetKVListByNamespaceRequestHeader, request.extFields);
    const table = state.kv.list(namespace);
    if (table === undefined) {
      return makeResponse(request, ResponseCode.QUERY_NOT_FOUND, { remark: `No config item, Namespace: ${namespace}` });
    }
    return success(request, { body: encodeKVTable(table) });
  };
}

function deleteTopic(state: NamesrvState): RequestHandler {
  return (request) => {
    const { topic, clusterName } = decodeHeader(DeleteTopicFromNamesrvRequestHeader, request.extFields);
    if (state.routes.deleteTopic(topic, clusterName)) state.logger.info('topic deleted', { topic, clusterName });
    return success(request);
  };
}

function writePerm(state: NamesrvState, add: boolean): RequestHandler {
  return (request) => {
    const { brokerName } = decodeHeader(WipeWritePermOfBrokerRequestHeader, request.extFields);
    const wipeTopicCount = state.routes.updateWritePerm(brokerName, add);
    state.logger.info(add ? 'write permission added' : 'write permission wiped', { brokerName, topics: wipeTopicCount });
    // ADD_WRITE_PERM_OF_BROKER answers with `addTopicCount`; both are read by name.
    const extFields = add ? { addTopicCount: String(wipeTopicCount) }
      : encodeHeader(WipeWritePermOfBrokerResponseHeader, { wipeTopicCount });
    return success(request, { extFields });
  };
}

/** Every name server handler by request code. */
export function namesrvProcessors(state: NamesrvState): ReadonlyMap<number, RequestHandler> {
  return new Map<number, RequestHandler>([
    [RequestCode.REGISTER_BROKER, registerBroker(state)],
    [RequestCode.UNREGISTER_BROKER, unregisterBroker(state)],
    [RequestCode.GET_ROUTEINFO_BY_TOPIC, getRouteInfo(state)],
    [RequestCode.GET_BROKER_CLUSTER_INFO, (request) =>
      success(request, { body: encodeClusterInfo(state.routes.getClusterInfo()) })],
    [RequestCode.QUERY_DATA_VERSION, queryDataVersion(state)],
    [RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, (request) =>
      success(request, { body: encodeTopicList(state.routes.getAllTopics()) })],
    [RequestCode.DELETE_TOPIC_IN_NAMESRV, deleteTopic(state)],
    [RequestCode.GET_TOPICS_BY_CLUSTER, (request) => {
      const { cluster } = decodeHeader(GetTopicsByClusterRequestHeader, request.extFields);
      return success(request, { body: encodeTopicList(state.routes.getTopicsByCluster(cluster)) });
    }],
    [RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_NS, (request) => {
      const { topics, brokerAddr } = state.routes.getSystemTopics();
      const body = Buffer.from(JSON.stringify(brokerAddr === undefined ? { topicList: topics } : { brokerAddr, topicList: topics }));
      return success(request, { body });
    }],
    [RequestCode.WIPE_WRITE_PERM_OF_BROKER, writePerm(state, false)],
    [RequestCode.ADD_WRITE_PERM_OF_BROKER, writePerm(state, true)],
    [RequestCode.PUT_KV_CONFIG, putKvConfig(state)],
    [RequestCode.GET_KV_CONFIG, getKvConfig(state)],
    [RequestCode.DELETE_KV_CONFIG, deleteKvConfig(state)],
    [RequestCode.GET_KVLIST_BY_NAMESPACE, getKvList(state)],
  ]);
}
