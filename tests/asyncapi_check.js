const fs = require('fs');
const { Parser } = require('@asyncapi/parser');
const { AvroSchemaParser } = require('@asyncapi/avro-schema-parser');
(async () => {
  const parser = new Parser();
  parser.registerSchemaParser(AvroSchemaParser());
  const { document, diagnostics } = await parser.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const errors = diagnostics.filter(d => d.severity === 0);
  const out = { errors: errors.map(e => ({ message: e.message, path: e.path })), warnings: diagnostics.filter(d => d.severity === 1).length };
  if (document) {
    out.channels = document.channels().all().map(c => ({ id: c.id(), address: c.address(), messages: c.messages().all().map(m => m.id()) }));
    out.operations = document.operations().all().map(o => ({ id: o.id(), action: o.action(), channel: o.channels().all().map(c => c.id()) }));
  }
  console.log(JSON.stringify(out));
  process.exit(errors.length ? 1 : 0);
})().catch(e => { console.error(e); process.exit(2); });
