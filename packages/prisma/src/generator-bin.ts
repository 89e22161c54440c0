#!/usr/bin/env node
import helper from '@prisma/generator-helper'
import { DEFAULT_OUTPUT, type GeneratorInput, generateMetadata } from './generator.ts'

helper.generatorHandler({
  onManifest() {
    return { prettyName: 'freshkey metadata', defaultOutput: DEFAULT_OUTPUT, requiresGenerators: [] }
  },
  async onGenerate(options) {
    await generateMetadata(options as unknown as GeneratorInput)
  },
})
