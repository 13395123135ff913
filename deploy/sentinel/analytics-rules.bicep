// Microsoft Sentinel content for signl4-sentinel: three scheduled analytics rules and the hunting
// queries over the SIGNL4_CL audit trail (deploy/bicep/main.bicep creates the table). The KQL
// lives in queries/*.kql and hunting/*.kql (deploy/check.sh checks it with the Kusto parser).
//
//   az deployment group create -g <workspace rg> -f deploy/sentinel/analytics-rules.bicep \
//     -p workspaceName=<workspace> ackWithinMinutes=15
//
// The workspace must have Microsoft Sentinel enabled. The rules create incidents in Sentinel
// (which, if the connector reads that workspace, also page: give them a route of their own, or
// set createIncidents=false and use them as alerts only).

@description('Name of the Log Analytics workspace with Microsoft Sentinel (in this resource group).')
param workspaceName string

@description('"Paged, not acknowledged": minutes after the page without an acknowledgement or close.')
@minValue(1)
@maxValue(1440)
param ackWithinMinutes int = 15

@description('"Audit trail silent": hours without a SIGNL4_CL record while new High / Medium incidents arrive.')
@minValue(1)
@maxValue(48)
param silentForHours int = 2

@description('Create a Sentinel incident for each alert of these rules.')
param createIncidents bool = true

@description('Turn the rules on at once.')
param enabled bool = true

@description('Also add the hunting queries (saved searches, category "Hunting Queries").')
param deployHuntingQueries bool = true

resource workspace 'Microsoft.OperationalInsights/workspaces@2022-10-01' existing = {
  name: workspaceName
}

var pagedNotAcknowledged = replace(
  loadTextContent('queries/paged-not-acknowledged.kql'),
  'let AckWithin = 15m;',
  'let AckWithin = ${ackWithinMinutes}m;'
)
var auditSilent = replace(
  loadTextContent('queries/audit-trail-silent.kql'),
  'let SilentFor = 2h;',
  'let SilentFor = ${silentForHours}h;'
)

var rules = [
  {
    key: 'paged-not-acknowledged'
    displayName: 'SIGNL4: paged, not acknowledged within ${ackWithinMinutes} minutes'
    description: 'An alert or incident was paged through SIGNL4 (signl4-sentinel) and nobody acknowledged or closed it within ${ackWithinMinutes} minutes. Check the team\'s duty schedule and escalation in SIGNL4.'
    severity: 'Medium'
    query: pagedNotAcknowledged
    queryFrequency: 'PT5M'
    queryPeriod: 'PT${ackWithinMinutes + 65}M'
    tactics: []
  }
  {
    key: 'write-back-failed'
    displayName: 'SIGNL4: a response could not be written back to Defender / Sentinel'
    description: 'signl4-sentinel gave up writing an acknowledgement, note or close from SIGNL4 back to the alert or incident (permissions, a deleted alert). The portal does not show what the responder did. See Details.error, and `signl4-sentinel jobs --dead`.'
    severity: 'Low'
    query: loadTextContent('queries/write-back-failed.kql')
    queryFrequency: 'PT10M'
    queryPeriod: 'PT10M'
    tactics: []
  }
  {
    key: 'audit-trail-silent'
    displayName: 'SIGNL4: the connector stopped writing audit records'
    description: 'New High / Medium incidents arrived, but signl4-sentinel wrote no SIGNL4_CL record for ${silentForHours} hours: the connector may be stopped, unable to upload (Monitoring Metrics Publisher on the DCR), or paging nothing. Check its /readyz and status page.'
    severity: 'High'
    query: auditSilent
    queryFrequency: 'PT1H'
    queryPeriod: 'PT${silentForHours}H'
    tactics: []
  }
]

resource alertRules 'Microsoft.SecurityInsights/alertRules@2023-11-01' = [for r in rules: {
  scope: workspace
  name: guid(workspace.id, 'signl4-sentinel', r.key)
  kind: 'Scheduled'
  properties: {
    displayName: r.displayName
    description: r.description
    severity: r.severity
    enabled: enabled
    query: r.query
    queryFrequency: r.queryFrequency
    queryPeriod: r.queryPeriod
    triggerOperator: 'GreaterThan'
    triggerThreshold: 0
    suppressionDuration: 'PT1H'
    suppressionEnabled: false
    tactics: r.tactics
    eventGroupingSettings: {
      aggregationKind: 'AlertPerResult'
    }
    incidentConfiguration: {
      createIncident: createIncidents
      groupingConfiguration: {
        enabled: false
        reopenClosedIncident: false
        lookbackDuration: 'PT5H'
        matchingMethod: 'AllEntities'
      }
    }
  }
}]

var hunting = [
  {
    key: 'unacknowledged-high-severity'
    displayName: 'SIGNL4: high-severity pages nobody acknowledged (24 h)'
    query: loadTextContent('hunting/unacknowledged-high-severity.kql')
  }
  {
    key: 'responders'
    displayName: 'SIGNL4: who answered pages, how fast (30 d)'
    query: loadTextContent('hunting/responders.kql')
  }
  {
    key: 'storms-and-holds'
    displayName: 'SIGNL4: alerts held back by storm budgets and quiet hours (7 d)'
    query: loadTextContent('hunting/storms-and-holds.kql')
  }
  {
    key: 'delivery-problems'
    displayName: 'SIGNL4: pages that reached nobody (7 d)'
    query: loadTextContent('hunting/delivery-problems.kql')
  }
  {
    key: 'duplicate-records'
    displayName: 'SIGNL4: audit rows that arrived twice (7 d)'
    query: loadTextContent('hunting/duplicate-records.kql')
  }
]

resource huntingQueries 'Microsoft.OperationalInsights/workspaces/savedSearches@2020-08-01' = [for h in hunting: if (deployHuntingQueries) {
  parent: workspace
  name: 'signl4-sentinel-${h.key}'
  properties: {
    category: 'Hunting Queries'
    displayName: h.displayName
    query: h.query
    version: 2
    tags: [
      {
        name: 'description'
        value: 'signl4-sentinel audit trail (SIGNL4_CL)'
      }
    ]
  }
}]

output ruleNames array = [for r in rules: guid(workspace.id, 'signl4-sentinel', r.key)]
