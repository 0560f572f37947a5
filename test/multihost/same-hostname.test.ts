import { twoHostScenarios } from './scenarios.ts'

// Two hosts cloned from one image: one host name, one address (and one fuxi.conf).
twoHostScenarios({ sameHostname: true, swarmAddresses: ['127.0.0.4', '127.0.0.5'] })
