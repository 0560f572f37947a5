import { writeFileSync } from 'node:fs'
import { renderSample } from '../src/config/sample.ts'

writeFileSync(new URL('../etc/fuxi.conf.sample', import.meta.url), renderSample())
console.log('wrote etc/fuxi.conf.sample')
