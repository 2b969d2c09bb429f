// The transport conformance suite against a real Kafka broker (scripts/services/kafka.sh), plus Kafka-only behaviour.
import { beforeAll } from 'vitest';
import { createBus } from '../../core/bus/index.ts';
import { runBusConformance } from '../unit/bus/conformance.ts';
import { BROKERS, ensureKafka, uniquePrefix } from './helpers/kafka.ts';

beforeAll(() => ensureKafka());

// One partition per topic: the suite checks the global publish order the embedded transports keep; Kafka orders per
// partition only (per key across partitions — see bus-kafka-partitions.test.ts).
runBusConformance('kafka', async () => createBus({ transport: 'kafka', brokers: BROKERS, topicPrefix: uniquePrefix('conf'), partitions: 1 }));
