// KQL check for deploy/: parses and analyses every query of the Sentinel workbook and every
// ```kql block of the given Markdown files with Microsoft's own Kusto parser
// (@kusto/language-service-next, Kusto.Language compiled to JavaScript), against the schemas of
// SIGNL4_CL (taken from deploy/bicep/main.bicep by lint.py) and SecurityIncident. Errors name the
// file, the query and the position; exit 1 when there is any.
//
//   NODE_PATH=<dir with node_modules> node kql.js --schema "(TimeGenerated:datetime, ...)" FILE...
'use strict';
const fs = require('fs');

global.Bridge = require('@kusto/language-service-next/bridge.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.js');
/* global Kusto */
const K = Kusto.Language;

// Sentinel's SecurityIncident table (the columns the queries may use).
const SECURITY_INCIDENT =
  '(TenantId:string, TimeGenerated:datetime, IncidentName:string, Title:string, Description:string, ' +
  'Severity:string, Status:string, Classification:string, ClassificationComment:string, ' +
  'ClassificationReason:string, Owner:dynamic, ProviderName:string, ProviderIncidentId:string, ' +
  'FirstActivityTime:datetime, LastActivityTime:datetime, FirstModifiedTime:datetime, ' +
  'LastModifiedTime:datetime, CreatedTime:datetime, ClosedTime:datetime, IncidentNumber:int, ' +
  'RelatedAnalyticRuleIds:dynamic, AlertIds:dynamic, BookmarkIds:dynamic, Comments:dynamic, ' +
  'Tasks:dynamic, Labels:dynamic, IncidentUrl:string, AdditionalData:dynamic, ModifiedBy:string, ' +
  'SourceSystem:string, Type:string)';

const args = process.argv.slice(2);
const at = args.indexOf('--schema');
if (at < 0 || !args[at + 1]) {
  console.error('usage: kql.js --schema "(Column:type, ...)" FILE...');
  process.exit(2);
}
const schema = args[at + 1];
const files = args.filter((_, i) => i !== at && i !== at + 1);

const db = new K.Symbols.DatabaseSymbol.$ctor1('workspace', [
  new K.Symbols.TableSymbol.$ctor7('SIGNL4_CL', schema, 'signl4-sentinel audit trail'),
  new K.Symbols.TableSymbol.$ctor7('SecurityIncident', SECURITY_INCIDENT, 'Microsoft Sentinel incidents'),
], false);
const globals = K.GlobalState.Default.WithDatabase(db);

// Workbook parameters are text substitutions done by the portal before the query runs.
function substitute(query) {
  return query
    .replace(/\{(\w+):label\}/g, 'All')
    .replace(/\{TimeRange(:\w+)?\}/g, '1d')
    .replace(/\{(\w+)\}/g, "'value'");
}

function queriesOf(file) {
  const text = fs.readFileSync(file, 'utf8');
  const out = [];
  if (file.endsWith('.json')) {
    const walk = (node, path) => {
      if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${path}[${i}]`));
      else if (node && typeof node === 'object') {
        if (typeof node.query === 'string' && (node.version === 'KqlItem/1.0' || node.version === 'KqlParameterItem/1.0')) {
          out.push({ where: `${path} "${node.title || node.name || ''}"`, query: substitute(node.query) });
        }
        for (const [k, v] of Object.entries(node)) if (k !== 'query') walk(v, `${path}.${k}`);
      }
    };
    walk(JSON.parse(text), '$');
  } else if (file.endsWith('.kql')) {
    // One query per file (the Sentinel analytics rules and hunting queries); `//` comments allowed.
    out.push({ where: 'query', query: text });
  } else {
    const re = /^```kql\n([\s\S]*?)^```/gm;
    let m;
    while ((m = re.exec(text)) !== null) {
      const line = text.slice(0, m.index).split('\n').length;
      out.push({ where: `line ${line}`, query: m[1] });
    }
  }
  return out;
}

let errors = 0;
let checked = 0;
for (const file of files) {
  const queries = queriesOf(file);
  if (queries.length === 0) {
    console.error(`${file}: no KQL found`);
    errors++;
  }
  for (const { where, query } of queries) {
    checked++;
    const code = K.KustoCode.ParseAndAnalyze(query, globals);
    for (const d of Bridge.toArray(code.GetDiagnostics())) {
      if (String(d.Severity) !== 'Error') continue;
      const before = query.slice(0, d.Start).split('\n');
      console.error(`${file}: ${where}: ${before.length}:${before[before.length - 1].length + 1}: ${d.Message}`);
      errors++;
    }
  }
}
console.log(`KQL: ${checked} queries analysed, ${errors} errors`);
process.exit(errors ? 1 : 0);
