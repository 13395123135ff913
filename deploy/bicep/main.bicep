// signl4-sentinel on Azure, deployed into the resource group of the Sentinel workspace:
//  - the SIGNL4_CL table (the connector's audit trail: pages, deliveries, acknowledgements, notes,
//    escalations, closes, write-backs; one row each),
//  - the data collection endpoint and rule the connector writes it through (Logs Ingestion API,
//    stream Custom-SIGNL4_CL, microsoft-apis.md §5.2; the HTTP Data Collector API is retired, §5.1),
//  - the roles of the connector's identity: Microsoft Sentinel Responder (Reader with readOnly) and
//    Log Analytics Reader (or a custom role with the three Microsoft.OperationalInsights read
//    actions) on the workspace, Monitoring Metrics Publisher on the rule; the identity is a
//    user-assigned managed identity made here or an existing service principal (the app
//    registration of deploy/Register-Signl4Sentinel.ps1 or deploy/register-app.sh),
//  - the Sentinel workbook "SIGNL4 paging and response" (deploy/workbook),
//  - optionally the connector itself on Azure Container Apps, with that identity.
//
//   az deployment group create -g <workspace rg> -f deploy/bicep/main.bicep \
//     -p workspaceName=<workspace> principalKind=servicePrincipal servicePrincipalObjectId=<sp object id>
//
// Microsoft Graph application permissions cannot be granted from here: run
// deploy/Register-Signl4Sentinel.ps1 (-ManagedIdentityObjectId for the identity made here).
targetScope = 'resourceGroup'

@description('Name of the existing Log Analytics workspace (with Microsoft Sentinel) in this resource group.')
param workspaceName string

@description('Region of the new resources. The data collection endpoint and rule must be in the workspace\'s region.')
param location string = resourceGroup().location

@description('Prefix of the new resources\' names (lower case letters, digits and hyphens).')
@minLength(3)
@maxLength(24)
param namePrefix string = 'signl4-sentinel'

@description('Who gets the roles: a user-assigned managed identity made here (managedIdentity), an existing service principal such as the app registration made by the scripts (servicePrincipal), or nobody (none).')
@allowed([
  'managedIdentity'
  'servicePrincipal'
  'none'
])
param principalKind string = 'servicePrincipal'

@description('Object id of the service principal (Enterprise applications → the app → Object ID) for principalKind = servicePrincipal.')
param servicePrincipalObjectId string = ''

@description('Assign the Sentinel role and the query role on the workspace (off when the scripts did it).')
param assignWorkspaceRoles bool = true

@description('Paging without write-back: Microsoft Sentinel Reader instead of Microsoft Sentinel Responder.')
param readOnly bool = false

@description('Instead of Log Analytics Reader, a custom role with only the three Microsoft.OperationalInsights read actions (creating it needs User Access Administrator or Owner). The scripts\' -CustomQueryRole makes a role of the same name: use one or the other.')
param customQueryRole bool = false

@description('Retention of SIGNL4_CL in days; -1 = the workspace\'s retention.')
param retentionInDays int = -1

@description('AKS OIDC issuer URL (az aks show --query oidcIssuerProfile.issuerUrl): adds a federated credential for workload identity to the managed identity. Empty: none.')
param aksOidcIssuer string = ''

@description('The Kubernetes service account of the federated credential (deploy/kubernetes/serviceaccount.yaml).')
param kubernetesServiceAccount string = 'system:serviceaccount:signl4:signl4-sentinel'

@description('Add the workbook "SIGNL4 paging and response" (deploy/workbook/signl4-sentinel.workbook.json) to Sentinel\'s workbooks.')
param deployWorkbook bool = true

@description('Also run the connector on Azure Container Apps (needs image, configToml and databaseUrl).')
param deployContainerApp bool = false

@description('Container image of the connector, built from the repository\'s Dockerfile and pushed to your registry, e.g. myregistry.azurecr.io/signl4-sentinel:0.1.0.')
param image string = ''

@description('Registry server of the image (e.g. myregistry.azurecr.io), pulled with the managed identity made here. Empty: a public image.')
param registryServer string = ''

@description('Resource id of that Azure Container Registry (/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ContainerRegistry/registries/<name>): the managed identity made here gets AcrPull on it before the Container App is created, so the first image pull works. Empty: give the identity AcrPull yourself before deploying the app.')
param registryResourceId string = ''

@description('Audience of the AKS federated credential. Empty: the one of this deployment\'s cloud (api://AzureADTokenExchange, …USGov, …China).')
param federatedAudience string = ''

@description('The whole configuration file (TOML), as printed by the scripts; mounted read-only at /etc/signl4-sentinel/signl4-sentinel.toml. Refer to secrets as env:NAME.')
@secure()
param configToml string = ''

@description('The secrets the configuration refers to as env:NAME, as an object NAME → value, e.g. {"CONTOSO_CLIENT_SECRET": "…", "SIGNL4_TEAM_SECRET": "…", "S4S_ADMIN_TOKEN": "…"}. Stored as Container Apps secrets. The app listens on 0.0.0.0:8080, so the configuration needs server.admin_token (e.g. "env:S4S_ADMIN_TOKEN").')
@secure()
param secrets object = {}

@description('PostgreSQL URL for the connector\'s state (postgres://user:password@host:5432/db?sslmode=require). Required on Container Apps: a container\'s own disk does not survive a restart, and a lost SQLite state would read the last 24 hours again.')
@secure()
param databaseUrl string = ''

@description('Replicas of the connector on Container Apps (several share the PostgreSQL state; one polls each tenant).')
@minValue(1)
@maxValue(3)
param replicas int = 1

@description('Expose the connector on a public HTTPS address (the SIGNL4 outbound webhook /signl4/<token> needs one for two-way sync). Off loopback /metrics and the details of /readyz need a bearer token (server.admin_token or server.metrics_token); /healthz and the bare /readyz status stay open for the probes.')
param externalIngress bool = true

@description('Tags for the new resources.')
param tags object = {}

// Built-in roles (the same ids in every tenant).
var roleSentinelResponder = '3e150937-b8fe-4cfb-8069-0eaf05ecd056'
var roleSentinelReader = '8d289c81-5878-46d4-8554-54e1e3d8b5cb'
var roleLogAnalyticsReader = '73c42c96-874c-492b-b04d-ab87d138a893'
var roleMonitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
// The three read actions of SIGNL4's own custom role (signl4.md §4.4).
var queryActions = [
  'Microsoft.OperationalInsights/workspaces/read'
  'Microsoft.OperationalInsights/workspaces/query/read'
  'Microsoft.OperationalInsights/workspaces/query/*/read'
]

var streamName = 'Custom-SIGNL4_CL'
// The SIGNL4_CL columns. deploy/check.sh compares this list with the one the connector writes.
var columns = [
  { name: 'TimeGenerated', type: 'datetime', description: 'When the action happened.' }
  { name: 'Tenant', type: 'string', description: 'The tenant\'s name in the connector\'s configuration.' }
  { name: 'Source', type: 'string', description: 'graph or sentinel.' }
  { name: 'AlertId', type: 'string', description: 'Graph alert id (alerts_v2) or Sentinel alert id.' }
  { name: 'IncidentId', type: 'string', description: 'Graph incident id or Sentinel incident name.' }
  { name: 'Title', type: 'string', description: 'Alert or incident title.' }
  { name: 'Severity', type: 'string', description: 'informational, low, medium or high.' }
  { name: 'Team', type: 'string', description: 'The SIGNL4 team (route) paged.' }
  { name: 'Signl4AlertId', type: 'string', description: 'The SIGNL4 alert id.' }
  { name: 'Signl4EventId', type: 'string', description: 'The SIGNL4 event id returned by the webhook.' }
  { name: 'Action', type: 'string', description: 'paged, delivered, acknowledged, annotated, escalated, closed, written_back, write_back_failed, held_back, routed or quarantined.' }
  { name: 'Actor', type: 'string', description: 'The SIGNL4 user, or connector.' }
  { name: 'Status', type: 'string', description: 'The status after the action.' }
  { name: 'LatencyMs', type: 'long', description: 'Milliseconds the action took or waited (see the documentation, Audit trail).' }
  { name: 'RecordId', type: 'string', description: 'Unique id of the row (retries can repeat a row; deduplicate on it).' }
  { name: 'Details', type: 'dynamic', description: 'More about the action (JSON).' }
]
var streamColumns = [for c in columns: {
  name: c.name
  type: c.type
}]
// Rows without an action are dropped; a missing TimeGenerated becomes the ingestion time.
var transformKql = 'source | where isnotempty(Action) | extend TimeGenerated = iif(isnull(TimeGenerated), now(), TimeGenerated) | project ${join(map(columns, c => c.name), ', ')}'

var useIdentity = principalKind == 'managedIdentity'
// Entra ID's token exchange audience differs per cloud (microsoft-apis.md §1; AKS workload identity).
var tokenExchangeAudiences = {
  AzureCloud: 'api://AzureADTokenExchange'
  AzureUSGovernment: 'api://AzureADTokenExchangeUSGov'
  AzureChinaCloud: 'api://AzureADTokenExchangeChina'
}
var ficAudience = !empty(federatedAudience)
  ? federatedAudience
  : contains(tokenExchangeAudiences, environment().name)
      ? tokenExchangeAudiences[environment().name]
      : 'api://AzureADTokenExchange'
var acrPull = deployContainerApp && useIdentity && !empty(registryResourceId)
var identityName = '${namePrefix}-id'
// Known before the deployment starts (role assignment names must be).
var principalKey = useIdentity ? resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', identityName) : servicePrincipalObjectId
var grantRoles = principalKind != 'none'
var sentinelRole = readOnly ? roleSentinelReader : roleSentinelResponder
var inputError = principalKind == 'servicePrincipal' && empty(servicePrincipalObjectId)
  ? 'principalKind = servicePrincipal needs servicePrincipalObjectId (or use principalKind = managedIdentity or none)'
  : deployContainerApp && empty(image)
      ? 'deployContainerApp needs image (build the repository\'s Dockerfile and push it to your registry)'
      : deployContainerApp && empty(configToml)
          ? 'deployContainerApp needs configToml (the configuration printed by the scripts)'
          : deployContainerApp && empty(databaseUrl)
              ? 'deployContainerApp needs databaseUrl: a container\'s disk does not survive a restart, so the state must be in PostgreSQL'
              : ''
var inputsValid = empty(inputError) ? true : fail(inputError)
var containerApp = inputsValid && deployContainerApp
var appName = take(replace(toLower(namePrefix), '_', '-'), 32)

resource workspace 'Microsoft.OperationalInsights/workspaces@2022-10-01' existing = {
  name: workspaceName
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = if (inputsValid && useIdentity) {
  name: identityName
  location: location
  tags: tags
}

resource federated 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = if (inputsValid && useIdentity && !empty(aksOidcIssuer)) {
  parent: identity
  name: 'aks-signl4-sentinel'
  properties: {
    issuer: aksOidcIssuer
    subject: kubernetesServiceAccount
    audiences: [
      ficAudience
    ]
  }
}

resource table 'Microsoft.OperationalInsights/workspaces/tables@2022-10-01' = if (inputsValid) {
  parent: workspace
  name: 'SIGNL4_CL'
  properties: {
    plan: 'Analytics'
    retentionInDays: retentionInDays
    schema: {
      name: 'SIGNL4_CL'
      description: 'signl4-sentinel audit trail: one row per page, delivery, acknowledgement, note, escalation, close and write-back.'
      columns: columns
    }
  }
}

// The data collection rule (and its endpoint) must be in the workspace's region, which need not
// be the resource group's.
resource dce 'Microsoft.Insights/dataCollectionEndpoints@2023-03-11' = if (inputsValid) {
  name: '${namePrefix}-dce'
  location: workspace.location
  tags: tags
  properties: {
    description: 'signl4-sentinel: Logs Ingestion endpoint for SIGNL4_CL'
    networkAcls: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

resource dcr 'Microsoft.Insights/dataCollectionRules@2023-03-11' = if (inputsValid) {
  name: '${namePrefix}-dcr'
  location: workspace.location
  tags: tags
  dependsOn: [
    table
  ]
  properties: {
    description: 'signl4-sentinel: the audit trail stream Custom-SIGNL4_CL into SIGNL4_CL'
    dataCollectionEndpointId: dce.id
    streamDeclarations: {
      '${streamName}': {
        columns: streamColumns
      }
    }
    destinations: {
      logAnalytics: [
        {
          name: 'sentinel'
          workspaceResourceId: workspace.id
        }
      ]
    }
    dataFlows: [
      {
        streams: [
          streamName
        ]
        destinations: [
          'sentinel'
        ]
        transformKql: transformKql
        outputStream: streamName
      }
    ]
  }
}

resource queryRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (inputsValid && grantRoles && assignWorkspaceRoles && customQueryRole) {
  name: guid(resourceGroup().id, 'signl4-sentinel Log Analytics query')
  properties: {
    roleName: 'signl4-sentinel Log Analytics query - ${resourceGroup().name} (${take(subscription().subscriptionId, 8)})'
    description: 'signl4-sentinel: read Log Analytics workspaces and run queries (rule-query enrichment)'
    type: 'CustomRole'
    permissions: [
      {
        actions: queryActions
        notActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource sentinelAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (inputsValid && grantRoles && assignWorkspaceRoles) {
  name: guid(workspace.id, principalKey, sentinelRole)
  scope: workspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', sentinelRole)
    principalId: useIdentity ? identity!.properties.principalId : servicePrincipalObjectId
    principalType: 'ServicePrincipal'
  }
}

resource queryAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (inputsValid && grantRoles && assignWorkspaceRoles) {
  name: guid(workspace.id, principalKey, customQueryRole ? 'custom query role' : roleLogAnalyticsReader)
  scope: workspace
  properties: {
    roleDefinitionId: customQueryRole ? queryRole.id : subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleLogAnalyticsReader)
    principalId: useIdentity ? identity!.properties.principalId : servicePrincipalObjectId
    principalType: 'ServicePrincipal'
  }
}

resource publisherAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (inputsValid && grantRoles) {
  name: guid(dcr.id, principalKey, roleMonitoringMetricsPublisher)
  scope: dcr
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleMonitoringMetricsPublisher)
    principalId: useIdentity ? identity!.properties.principalId : servicePrincipalObjectId
    principalType: 'ServicePrincipal'
  }
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = if (inputsValid && deployWorkbook) {
  name: guid(workspace.id, 'signl4-sentinel workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'SIGNL4 paging and response'
    category: 'sentinel'
    sourceId: workspace.id
    serializedData: loadTextContent('../workbook/signl4-sentinel.workbook.json')
  }
}

// --- the connector on Azure Container Apps (optional) ---------------------------------------------

// Container Apps secret names: lower case letters, digits and '-'.
var userSecrets = [for s in items(secrets): {
  name: toLower(replace(s.key, '_', '-'))
  value: s.value
}]
var userEnv = [for s in items(secrets): {
  name: s.key
  secretRef: toLower(replace(s.key, '_', '-'))
}]
var baseEnv = [
  {
    name: 'SIGNL4_SENTINEL_CONFIG'
    value: '/etc/signl4-sentinel/signl4-sentinel.toml'
  }
  {
    name: 'SIGNL4_SENTINEL_LOG_FORMAT'
    value: 'json'
  }
  {
    name: 'SIGNL4_SENTINEL__SERVER__LISTEN'
    value: '0.0.0.0:8080'
  }
  {
    name: 'SIGNL4_SENTINEL__STORAGE__BACKEND'
    value: 'postgres'
  }
  {
    name: 'SIGNL4_SENTINEL__STORAGE__URL'
    secretRef: 'database-url'
  }
]
// For credential = "managed_identity": which identity the connector signs in with.
var identityEnv = useIdentity
  ? [
      {
        name: 'AZURE_CLIENT_ID'
        value: identity!.properties.clientId
      }
    ]
  : []

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = if (containerApp) {
  name: '${namePrefix}-env'
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
  }
}

// AcrPull for the identity made here, on the registry (in its own resource group: a module),
// before the app exists: otherwise its first image pull fails.
module registryPull 'modules/acr-pull.bicep' = if (inputsValid && acrPull) {
  name: '${take(namePrefix, 40)}-acr-pull'
  scope: resourceGroup(split(registryResourceId, '/')[2], split(registryResourceId, '/')[4])
  params: {
    registryName: last(split(registryResourceId, '/'))
    principalId: identity!.properties.principalId
    principalKey: principalKey
  }
}

resource app 'Microsoft.App/containerApps@2024-03-01' = if (containerApp) {
  name: appName
  location: location
  tags: tags
  dependsOn: [
    registryPull
  ]
  identity: useIdentity
    ? {
        type: 'UserAssigned'
        userAssignedIdentities: {
          '${identity.id}': {}
        }
      }
    : {
        type: 'None'
      }
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: externalIngress
        targetPort: 8080
        transport: 'http'
        allowInsecure: false
      }
      registries: empty(registryServer) || !useIdentity
        ? []
        : [
            {
              server: registryServer
              identity: identity.id
            }
          ]
      secrets: concat(
        [
          {
            name: 'config-toml'
            value: configToml
          }
          {
            name: 'database-url'
            value: databaseUrl
          }
        ],
        userSecrets
      )
    }
    template: {
      // SIGTERM lets in-flight deliveries finish (delivery.shutdown_timeout, 20 s).
      terminationGracePeriodSeconds: 40
      containers: [
        {
          name: 'signl4-sentinel'
          image: image
          env: concat(baseEnv, identityEnv, userEnv)
          resources: {
            cpu: json('0.25')
            memory: '0.5Gi'
          }
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              periodSeconds: 6
              failureThreshold: 10
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              periodSeconds: 15
              failureThreshold: 3
            }
            {
              // The status code only: this process can work (database, server). One tenant's
              // health is in the body (with a token), not here (server.strict_readiness).
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 8080
              }
              periodSeconds: 15
              failureThreshold: 2
            }
          ]
          volumeMounts: [
            {
              volumeName: 'config'
              mountPath: '/etc/signl4-sentinel'
            }
          ]
        }
      ]
      scale: {
        minReplicas: replicas
        maxReplicas: replicas
      }
      volumes: [
        {
          name: 'config'
          storageType: 'Secret'
          secrets: [
            {
              secretRef: 'config-toml'
              path: 'signl4-sentinel.toml'
            }
          ]
        }
      ]
    }
  }
}

// --- outputs ----------------------------------------------------------------------------------
output workspaceId string = workspace.properties.customerId
output dcrId string = dcr.id
output dcrImmutableId string = dcr!.properties.immutableId
output logsIngestionEndpoint string = dce!.properties.logsIngestion.endpoint
output stream string = streamName
output identityClientId string = useIdentity ? identity!.properties.clientId : ''
output identityPrincipalId string = useIdentity ? identity!.properties.principalId : ''
output containerAppUrl string = containerApp ? 'https://${app!.properties.configuration.ingress.fqdn}' : ''
output sentinelConfig string = '[[tenant.sentinel]]\nname = "${workspaceName}"\nsubscription_id = "${subscription().subscriptionId}"\nresource_group = "${resourceGroup().name}"\nworkspace_name = "${workspaceName}"\nworkspace_id = "${workspace.properties.customerId}"\n'
output auditConfig string = '[tenant.audit]\nendpoint = "${dce!.properties.logsIngestion.endpoint}"\ndcr_immutable_id = "${dcr!.properties.immutableId}"\nstream = "${streamName}"\n'
output nextStep string = useIdentity
  ? 'Grant the Microsoft Graph permissions to the identity: deploy/Register-Signl4Sentinel.ps1 -TenantId ${tenant().tenantId} -ManagedIdentityObjectId ${identity!.properties.principalId} (or deploy/register-app.sh --managed-identity ...).'
  : 'Graph permissions: deploy/Register-Signl4Sentinel.ps1 -TenantId ${tenant().tenantId} (or deploy/register-app.sh).'
