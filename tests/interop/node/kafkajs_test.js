// kafkajs 2.2.4 against eddy-broker. Run by broker_harness.py, which starts a fresh broker
// and passes its address in EDDY_BOOTSTRAP:
//   broker_harness.py --broker PATH -- node kafkajs_test.js admin|produce|configs_records
// kafkajs consumers always use consumer groups, which are tested elsewhere once the
// group coordinator is done; here: admin and producer.
'use strict';
const assert = require('assert');
let kafkajs;
try {
  kafkajs = require('kafkajs');
} catch (e) {
  console.error('kafkajs is not installed: run scripts/install-deps.sh (npm ci in tests/interop/node)');
  process.exit(1);
}
const { Kafka, logLevel, CompressionTypes } = kafkajs;

const bootstrap = process.env.EDDY_BOOTSTRAP;
if (!bootstrap) {
  console.error('EDDY_BOOTSTRAP is not set (run through broker_harness.py)');
  process.exit(2);
}
const kafka = new Kafka({ clientId: 'eddy-interop', brokers: [bootstrap], logLevel: logLevel.ERROR,
                          retry: { retries: 3, initialRetryTime: 100 } });

async function admin() {
  const a = kafka.admin();
  await a.connect();
  try {
    const created = await a.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: 'js-a', numPartitions: 3, replicationFactor: 1,
          configEntries: [{ name: 'retention.ms', value: '7200000' }] },
        { topic: 'js-b', numPartitions: 1, replicationFactor: 1 },
      ],
    });
    assert.strictEqual(created, true, 'createTopics returns true when it created topics');
    // Creating an existing topic: kafkajs returns false (TOPIC_ALREADY_EXISTS is swallowed).
    assert.strictEqual(await a.createTopics({ topics: [{ topic: 'js-b' }] }), false, 'second createTopics');

    const listed = await a.listTopics();
    assert.ok(listed.includes('js-a') && listed.includes('js-b'), 'listTopics: ' + listed);

    const md = await a.fetchTopicMetadata({ topics: ['js-a', 'js-b'] });
    const byName = Object.fromEntries(md.topics.map((t) => [t.name, t]));
    assert.deepStrictEqual(byName['js-a'].partitions.map((p) => p.partitionId).sort(), [0, 1, 2]);
    for (const p of byName['js-a'].partitions) {
      assert.strictEqual(p.partitionErrorCode, 0);
      assert.deepStrictEqual(p.replicas, [p.leader]);
      assert.deepStrictEqual(p.isr, [p.leader]);
    }
    assert.strictEqual(byName['js-b'].partitions.length, 1);

    const cfg = await a.describeConfigs({ includeSynonyms: false,
                                          resources: [{ type: 2 /* TOPIC */, name: 'js-a', configNames: ['retention.ms'] }] });
    assert.strictEqual(cfg.resources[0].errorCode, 0);
    assert.deepStrictEqual(cfg.resources[0].configEntries.map((e) => [e.configName, e.configValue]),
                           [['retention.ms', '7200000']]);

    const offs = await a.fetchTopicOffsets('js-a');
    assert.deepStrictEqual(offs.map((o) => [o.partition, o.low, o.high]).sort(),
                           [[0, '0', '0'], [1, '0', '0'], [2, '0', '0']]);

    await a.createPartitions({ topicPartitions: [{ topic: 'js-b', count: 3 }] });
    const md2 = await a.fetchTopicMetadata({ topics: ['js-b'] });
    assert.strictEqual(md2.topics[0].partitions.length, 3, 'partitions after createPartitions');

    await a.deleteTopics({ topics: ['js-a'], timeout: 5000 });
    const after = await a.listTopics();
    assert.ok(!after.includes('js-a') && after.includes('js-b'), 'after deleteTopics: ' + after);
  } finally {
    await a.disconnect();
  }
}

async function produce() {
  const a = kafka.admin();
  await a.connect();
  const p = kafka.producer({ allowAutoTopicCreation: false });
  await p.connect();
  try {
    await a.createTopics({ waitForLeaders: true, topics: [{ topic: 'js-p', numPartitions: 2 }] });
    const codecs = [CompressionTypes.None, CompressionTypes.GZIP];
    let sent = 0;
    for (const compression of codecs) {
      for (let round = 0; round < 5; round++) {
        const messages = [];
        for (let i = 0; i < 50; i++, sent++) {
          messages.push({ key: 'k' + sent, value: 'v' + sent, partition: sent % 2, headers: { n: String(sent) } });
        }
        const res = await p.send({ topic: 'js-p', acks: -1, compression, messages });
        for (const r of res) assert.strictEqual(r.errorCode, 0);
      }
    }
    // Batches with acks=1 and a sendBatch over two topics.
    await a.createTopics({ waitForLeaders: true, topics: [{ topic: 'js-q', numPartitions: 1 }] });
    const rb = await p.sendBatch({ acks: 1, topicMessages: [
      { topic: 'js-p', messages: [{ value: 'x', partition: 0 }] },
      { topic: 'js-q', messages: [{ value: 'y' }, { value: 'z' }] },
    ] });
    assert.strictEqual(rb.length, 2);
    const offs = await a.fetchTopicOffsets('js-p');
    const high = Object.fromEntries(offs.map((o) => [o.partition, o.high]));
    assert.deepStrictEqual(high, { 0: String(sent / 2 + 1), 1: String(sent / 2) }, 'high watermarks after produce');
    const q = await a.fetchTopicOffsets('js-q');
    assert.deepStrictEqual(q.map((o) => [o.partition, o.low, o.high]), [[0, '0', '2']]);
    // fetchTopicOffsetsByTimestamp: a timestamp before everything gives offset 0.
    const byTs = await a.fetchTopicOffsetsByTimestamp('js-q', 1);
    assert.deepStrictEqual(byTs.map((o) => [o.partition, o.offset]), [[0, '0']]);
    // Producing to a topic that does not exist, with auto-creation off in the producer, fails.
    let failed = false;
    try {
      await p.send({ topic: 'js-missing-' + Date.now(), messages: [{ value: 'n' }] });
    } catch (e) {
      failed = true;
    }
    assert.ok(failed, 'send to a missing topic with allowAutoTopicCreation=false should fail');
  } finally {
    await p.disconnect();
    await a.disconnect();
  }
}

// AlterConfigs replaces a topic's overrides (describeConfigs shows it), validateOnly
// changes nothing and refuses bad values; deleteTopicRecords moves the low watermark.
async function configsRecords() {
  const a = kafka.admin();
  await a.connect();
  const p = kafka.producer({ allowAutoTopicCreation: false });
  await p.connect();
  const described = async (topic) => {
    const d = await a.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic,
      configNames: ['cleanup.policy', 'retention.ms', 'segment.bytes'] }] });
    assert.strictEqual(d.resources[0].errorCode, 0);
    return Object.fromEntries(d.resources[0].configEntries.map((e) => [e.configName, [e.configValue, e.isDefault]]));
  };
  const rejected = async (what, f) => {
    let err = null;
    try {
      await f();
    } catch (e) {
      err = e;
    }
    assert.ok(err, what + ' should fail');
    return err;
  };
  try {
    await a.createTopics({ waitForLeaders: true, topics: [
      { topic: 'js-c', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '7200000' }] },
      { topic: 'js-r', numPartitions: 2 },
    ] });
    const before = await described('js-c');
    assert.deepStrictEqual(before['retention.ms'], ['7200000', false]);

    // validateOnly: checked, not applied.
    await a.alterConfigs({ validateOnly: true, resources: [{ type: 2, name: 'js-c',
      configEntries: [{ name: 'segment.bytes', value: '1048576' }] }] });
    assert.deepStrictEqual(await described('js-c'), before, 'validateOnly changed nothing');
    const bad = await rejected('a bad value', () => a.alterConfigs({ validateOnly: true, resources: [
      { type: 2, name: 'js-c', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }));
    assert.strictEqual(bad.type, 'INVALID_CONFIG', String(bad));

    // The overrides become exactly what was sent: retention.ms goes back to the default.
    const res = await a.alterConfigs({ resources: [{ type: 2, name: 'js-c', configEntries: [
      { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '1048576' }] }] });
    assert.deepStrictEqual(res.resources.map((r) => [r.resourceName, r.errorCode]), [['js-c', 0]]);
    const after = await described('js-c');
    assert.deepStrictEqual(after['cleanup.policy'], ['compact', false]);
    assert.deepStrictEqual(after['segment.bytes'], ['1048576', false]);
    assert.deepStrictEqual(after['retention.ms'], ['604800000', true]);
    const missing = await rejected('an unknown topic', () => a.alterConfigs({ resources: [
      { type: 2, name: 'js-none', configEntries: [{ name: 'retention.ms', value: '1000' }] }] }));
    assert.strictEqual(missing.type, 'UNKNOWN_TOPIC_OR_PARTITION', String(missing));

    // deleteTopicRecords: partition 0 up to offset 4, partition 1 up to the high watermark.
    const messages = [];
    for (let i = 0; i < 20; i++) messages.push({ value: 'r' + i, partition: i % 2 });
    await p.send({ topic: 'js-r', acks: -1, messages });
    await a.deleteTopicRecords({ topic: 'js-r', partitions: [{ partition: 0, offset: '4' }, { partition: 1, offset: '-1' }] });
    const offs = await a.fetchTopicOffsets('js-r');
    assert.deepStrictEqual(offs.map((o) => [o.partition, o.low, o.high]).sort(), [[0, '4', '10'], [1, '10', '10']]);
    // Below the log start: nothing changes. Beyond the high watermark: OFFSET_OUT_OF_RANGE.
    await a.deleteTopicRecords({ topic: 'js-r', partitions: [{ partition: 0, offset: '2' }] });
    const beyond = await rejected('an offset beyond the high watermark', () =>
      a.deleteTopicRecords({ topic: 'js-r', partitions: [{ partition: 0, offset: '11' }] }));
    const perPartition = beyond.cause && beyond.cause.partitions;
    assert.ok(perPartition && perPartition[0].error.type === 'OFFSET_OUT_OF_RANGE', String(beyond));
    const offs2 = await a.fetchTopicOffsets('js-r');
    assert.deepStrictEqual(offs2.map((o) => [o.partition, o.low, o.high]).sort(), [[0, '4', '10'], [1, '10', '10']]);
  } finally {
    await p.disconnect();
    await a.disconnect();
  }
}

const cases = { admin, produce, configs_records: configsRecords };
const name = process.argv[2];
if (!cases[name]) {
  console.error('usage: kafkajs_test.js ' + Object.keys(cases).join('|'));
  process.exit(2);
}
const started = Date.now();
cases[name]().then(
  () => { console.log(`PASS ${name} (${(Date.now() - started) / 1000}s)`); process.exit(0); },
  (e) => { console.error(`FAIL ${name}:`, e); process.exit(1); });
