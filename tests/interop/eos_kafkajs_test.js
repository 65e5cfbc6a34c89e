// kafkajs 2.2.4 idempotence, transactions and read_committed groups against eddy-broker.
// Run by broker_harness.py, which starts a fresh broker and sets EDDY_BOOTSTRAP:
//   broker_harness.py --broker PATH -- node eos_kafkajs_test.js idempotent|transactions|ctp
// kafkajs sends its first InitProducerId to the controller named in Metadata (the broker itself)
// and never uses flexible versions.
'use strict';
const assert = require('assert');
const path = require('path');
let kafkajs;
try {
  kafkajs = require(path.join(__dirname, 'node', 'node_modules', 'kafkajs'));
} catch (e) {
  console.error('kafkajs is not installed: run scripts/install-deps.sh (npm ci in tests/interop/node)');
  process.exit(1);
}
const { Kafka, logLevel } = kafkajs;

const bootstrap = process.env.EDDY_BOOTSTRAP;
if (!bootstrap) {
  console.error('EDDY_BOOTSTRAP is not set (run through broker_harness.py)');
  process.exit(2);
}
const kafka = new Kafka({ clientId: 'eddy-eos', brokers: [bootstrap], logLevel: logLevel.ERROR,
                          retry: { retries: 5, initialRetryTime: 100 } });

async function createTopic(topic, numPartitions) {
  const a = kafka.admin();
  await a.connect();
  try {
    await a.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions, replicationFactor: 1 }] });
  } finally {
    await a.disconnect();
  }
}

// Consumes `topic` in a fresh group until `want` records arrived and then `settleMs` passed
// without more; returns [{partition, offset, value}] in arrival order.
async function consumeGroup(groupId, topic, want, { readUncommitted = false, settleMs = 1000, timeoutMs = 30000 } = {}) {
  const c = kafka.consumer({ groupId, readUncommitted, sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
  await c.connect();
  const got = [];
  try {
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: async ({ partition, message }) => {
      got.push({ partition, offset: Number(message.offset), value: message.value.toString() });
    } });
    const deadline = Date.now() + timeoutMs;
    while (got.length < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    await c.disconnect();
  }
  return got;
}

async function idempotent() {
  await createTopic('js-idem', 2);
  const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await p.connect();
  const want = { 0: [], 1: [] };
  try {
    for (let batch = 0; batch < 40; ++batch) {
      const messages = [];
      for (let i = 0; i < 50; ++i) {
        const n = batch * 50 + i;
        const partition = n % 2;
        const value = `i${partition}-${String(n).padStart(6, '0')}`;
        want[partition].push(value);
        messages.push({ partition, value });
      }
      const res = await p.send({ topic: 'js-idem', acks: -1, messages });
      for (const r of res) assert.strictEqual(r.errorCode, 0);
    }
  } finally {
    await p.disconnect();
  }
  const got = await consumeGroup('js-idem-g', 'js-idem', 2000);
  for (const part of [0, 1]) {
    const mine = got.filter((r) => r.partition === part);
    assert.deepStrictEqual(mine.map((r) => r.value), want[part], `partition ${part}: all, once, in order`);
    assert.deepStrictEqual(mine.map((r) => r.offset), want[part].map((_, i) => i), `partition ${part}: dense offsets`);
  }
}

async function transactions() {
  await createTopic('js-tx', 2);
  const p = kafka.producer({ transactionalId: 'js-tx-id', idempotent: true, maxInFlightRequests: 1,
                             allowAutoTopicCreation: false });
  await p.connect();
  const committed = [];
  const aborted = [];
  try {
    for (let t = 0; t < 6; ++t) {
      const commit = t % 3 !== 1;
      const tx = await p.transaction();
      const messages = [];
      for (let i = 0; i < 10; ++i) messages.push({ partition: i % 2, value: `t${t}-${i}` });
      await tx.send({ topic: 'js-tx', messages });
      if (commit) {
        await tx.commit();
        committed.push(...messages.map((m) => m.value));
      } else {
        await tx.abort();
        aborted.push(...messages.map((m) => m.value));
      }
    }
  } finally {
    await p.disconnect();
  }
  // read_committed group (kafkajs's default): committed records only, in order per partition.
  const rc = await consumeGroup('js-tx-rc', 'js-tx', committed.length);
  assert.deepStrictEqual(rc.map((r) => r.value).sort(), [...committed].sort(), 'read_committed sees committed only');
  for (const part of [0, 1]) {
    const vals = rc.filter((r) => r.partition === part).map((r) => r.value);
    assert.deepStrictEqual(vals, committed.filter((v) => Number(v.split('-')[1]) % 2 === part), 'order per partition');
  }
  // read_uncommitted sees the aborted records too.
  const ru = await consumeGroup('js-tx-ru', 'js-tx', committed.length + aborted.length, { readUncommitted: true });
  assert.deepStrictEqual(ru.map((r) => r.value).sort(), [...committed, ...aborted].sort(), 'read_uncommitted sees all');
}

// Consume-transform-produce: a transaction carrying the consumer group's offsets (sendOffsets).
async function ctp() {
  await createTopic('js-in', 1);
  await createTopic('js-out', 1);
  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic: 'js-in', acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ value: `in-${i}` })) });
  await plain.disconnect();

  const p = kafka.producer({ transactionalId: 'js-ctp', idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const [n, commit] of [[0, true], [1, false]]) {
      const tx = await p.transaction();
      const start = n === 0 ? 0 : 10;  // the aborted round redoes nothing committed
      const values = Array.from({ length: 10 }, (_, i) => `out-in-${start + i}`);
      await tx.send({ topic: 'js-out', messages: values.map((value) => ({ value })) });
      await tx.sendOffsets({ consumerGroupId: 'js-ctp-g',
                             topics: [{ topic: 'js-in', partitions: [{ partition: 0, offset: String(start + 10) }] }] });
      if (commit) await tx.commit(); else await tx.abort();
    }
    const offs = await admin.fetchOffsets({ groupId: 'js-ctp-g', topics: ['js-in'] });
    assert.deepStrictEqual(offs[0].partitions.map((x) => [x.partition, x.offset]), [[0, '10']],
                           'only the committed transaction moved the group offset');
  } finally {
    await admin.disconnect();
    await p.disconnect();
  }
  const out = await consumeGroup('js-out-rc', 'js-out', 10);
  assert.deepStrictEqual(out.map((r) => r.value), Array.from({ length: 10 }, (_, i) => `out-in-${i}`));
  // A member of the group resumes at offset 10.
  const resumed = await consumeGroup('js-ctp-g', 'js-in', 10);
  assert.deepStrictEqual(resumed.map((r) => r.value), Array.from({ length: 10 }, (_, i) => `in-${10 + i}`));
}

const cases = { idempotent, transactions, ctp };
const name = process.argv[2];
if (!cases[name]) {
  console.error('usage: eos_kafkajs_test.js ' + Object.keys(cases).join('|'));
  process.exit(2);
}
const t0 = Date.now();
cases[name]().then(() => {
  console.log(`PASS ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  process.exit(0);
}, (e) => {
  console.error(`FAIL ${name}:`, e);
  process.exit(1);
});
