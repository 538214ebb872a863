import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../ts/config/conf-file.js';
import { brokerConfigSchema, ignoredBrokerKeys, type BrokerConfig } from '../../../ts/config/broker-config.js';
import { tempDir } from '../../support/temp.js';

function load(t: import('ava').ExecutionContext, text: string, args: string[] = []) {
  const file = join(tempDir(t), 'broker.conf');
  writeFileSync(file, text);
  return { file, ...loadConfig<BrokerConfig>(brokerConfigSchema, ignoredBrokerKeys, { file, args }) };
}

test('a RocketMQ broker.conf is read with its types and defaults', (t) => {
  const { config, warnings } = load(
    t,
    ['# sample', 'brokerClusterName = DefaultCluster', 'brokerName=broker-b', 'brokerId = 0', 'deleteWhen = 04',
      'fileReservedTime = 48', 'brokerRole = ASYNC_MASTER', 'flushDiskType = SYNC_FLUSH',
      'namesrvAddr = 127.0.0.1:9876;127.0.0.1:9877', 'autoCreateTopicEnable=false'].join('\n'),
  );
  t.deepEqual(warnings, []);
  t.is(config.brokerName, 'broker-b');
  t.is(config.fileReservedTime, 48);
  t.is(config.flushDiskType, 'SYNC_FLUSH');
  t.deepEqual(config.namesrvAddr, ['127.0.0.1:9876', '127.0.0.1:9877']);
  t.false(config.autoCreateTopicEnable);
  t.is(config.listenPort, 10911, 'unset keys keep RocketMQ defaults');
});

test('command-line overrides win over the file', (t) => {
  const { config } = load(t, 'listenPort = 10911\n', ['--listenPort=10921', '--brokerName', 'broker-c']);
  t.is(config.listenPort, 10921);
  t.is(config.brokerName, 'broker-c');
});

test('keys RocketMQ knows but Bolide ignores produce a warning naming them', (t) => {
  const { warnings, file } = load(t, 'sendMessageThreadPoolNums = 16\n');
  t.deepEqual(warnings, [`${file}:1: sendMessageThreadPoolNums is a RocketMQ setting Bolide ignores`]);
});

test('unknown keys and invalid values fail with the key and the file line', (t) => {
  const unknown = t.throws(() => load(t, '\nbrokerNmae = x\n'), { instanceOf: ConfigError });
  t.regex(unknown?.message ?? '', /broker\.conf:2: unknown config key brokerNmae/);
  const badNumber = t.throws(() => load(t, 'listenPort = ten\n'), { instanceOf: ConfigError });
  t.regex(badNumber?.message ?? '', /broker\.conf:1: listenPort must be a whole number/);
  const badEnum = t.throws(() => load(t, 'flushDiskType = SOMETIMES\n'), { instanceOf: ConfigError });
  t.regex(badEnum?.message ?? '', /flushDiskType must be one of ASYNC_FLUSH, SYNC_FLUSH/);
  const badRange = t.throws(() => load(t, 'listenPort = 70000\n'), { instanceOf: ConfigError });
  t.regex(badRange?.message ?? '', /listenPort must be <= 65535/);
  const badLine = t.throws(() => load(t, 'just words\n'), { instanceOf: ConfigError });
  t.regex(badLine?.message ?? '', /expected "key = value"/);
});
