import { twoHostScenarios } from './scenarios.ts'

// Two hosts with names and addresses of their own.
twoHostScenarios({ sameHostname: false, swarmAddresses: ['127.0.0.2', '127.0.0.3'] })
